use monetro_domain::{AuditEvent, OutboxEvent};

use crate::NewSession;

/// What a change writes beside itself: its security-log events, the events
/// that report it to other systems (see [`crate::Outbox`]), and the session
/// it starts. A store call that takes a journal MUST write all of it in the
/// change's transaction, and none of it when the change does not apply: a
/// request's writes are one commit, so a failure between two of them
/// cannot leave an account without its session or a passkey without its
/// log entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journal {
    pub audit: Vec<AuditEvent>,
    pub outbox: Vec<OutboxEvent>,
    pub session: Option<NewSession>,
}

impl Journal {
    /// Only outbox events.
    pub fn outbox(events: Vec<OutboxEvent>) -> Self {
        Self {
            outbox: events,
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.audit.is_empty() && self.outbox.is_empty() && self.session.is_none()
    }
}
