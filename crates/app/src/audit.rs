//! The security log: recording events and reading a user's own.

use monetro_domain::{
    AuditEvent, AuditKind, Error, ErrorCode, OutboxEvent, PasskeyId, RequestOrigin, UserId,
};
use monetro_ports::{AuditLog as _, Clock, Journal};
use uuid::Uuid;

use crate::{App, Deps};

/// The most events one page of the log holds.
pub const MAX_AUDIT_PAGE: u32 = 100;

impl<D: Deps> App<D> {
    /// What a change writes beside itself: its security-log event of
    /// `kind` and its `outbox` events.
    pub(crate) fn journal(
        &self,
        user_id: UserId,
        kind: AuditKind,
        passkey: Option<PasskeyId>,
        origin: &RequestOrigin,
        outbox: Vec<OutboxEvent>,
    ) -> Journal {
        Journal {
            audit: vec![self.audit_event(user_id, kind, None, passkey, origin)],
            outbox,
            session: None,
        }
    }

    /// Records an event of a failed attempt, which changes nothing else.
    /// Best effort: a log entry that cannot be written is reported in the
    /// service log but does not fail the answer.
    pub(crate) async fn audit(
        &self,
        user_id: UserId,
        kind: AuditKind,
        code: Option<ErrorCode>,
        passkey: Option<PasskeyId>,
        origin: &RequestOrigin,
    ) {
        let event = self.audit_event(user_id, kind, code, passkey, origin);
        if let Err(error) = self.store.record(event).await {
            tracing::error!(%error, user = %user_id, kind = kind.as_str(), "audit event not recorded");
        }
    }

    /// An event of now, for [`Self::audit`] or for a store call that writes
    /// it with its change.
    pub(crate) fn audit_event(
        &self,
        user_id: UserId,
        kind: AuditKind,
        code: Option<ErrorCode>,
        passkey: Option<PasskeyId>,
        origin: &RequestOrigin,
    ) -> AuditEvent {
        AuditEvent {
            // Time-ordered, so events of the same instant keep their order.
            id: Uuid::now_v7(),
            user_id,
            kind,
            code: code.map(|c| c.as_str().to_owned()),
            passkey_id: passkey.map(|p| p.0),
            origin: origin.clone(),
            at: self.clock.now(),
        }
    }

    /// The signed-in user's events, newest first; `before` is the id of the
    /// last event of the previous page.
    pub async fn audit_events(
        &self,
        user_id: UserId,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, Error> {
        if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
            return Err(Error::validation(format!(
                "limit must be 1–{MAX_AUDIT_PAGE}"
            )));
        }
        let before = before
            .map(|raw| {
                Uuid::try_parse(raw).map_err(|_| Error::validation("before must be an event id"))
            })
            .transpose()?;
        self.signed_in_user(user_id).await?;
        Ok(self.store.recent(user_id, before, limit).await?)
    }
}
