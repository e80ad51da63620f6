use std::future::Future;

use monetro_domain::{AuditEvent, UserId};
use uuid::Uuid;

use crate::StoreError;

/// The security log.
pub trait AuditLog: Clone + Send + Sync + 'static {
    fn record(&self, event: AuditEvent) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user's events, newest first, at most `limit`; with `before`, only
    /// those older than that event of theirs (an id of another user's event,
    /// or an unknown id, gives an empty page).
    fn recent(
        &self,
        user: UserId,
        before: Option<Uuid>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send;
}
