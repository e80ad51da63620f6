//! What an operator does through the admin API: look accounts up, see
//! their passkeys, sessions and security log, remove a passkey and end
//! sessions.
//!
//! The caller is trusted (the HTTP layer checked the admin token); every
//! id arrives as the raw text of the request and is parsed here, so a
//! malformed one is `Validation` and an unknown account `UserNotFound`.

use monetro_domain::{
    AuditEvent, AuditKind, AuthSession, Email, Error, EventType, PasskeyId, RequestOrigin,
    SessionId, User, UserId,
};
use monetro_ports::{
    Clock as _, CredentialRepository as _, SessionRepository as _, UserRepository as _,
};
use serde_json::json;
use uuid::Uuid;

use crate::sessions::SessionEnd;
use crate::webhooks::event_data;
use crate::{App, Deps, PasskeyList};

/// An account as an operator sees it.
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub user: User,
    /// Whether password login is possible; without one, the account's
    /// last passkey is its last way to sign in.
    pub has_password: bool,
    pub passkey_count: u64,
}

/// How the admin API removes a passkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// As the user would: the last way to sign in stays (`LastCredential`).
    Guarded,
    /// Even the last way to sign in (the account then needs recovery).
    Forced,
}

impl<D: Deps> App<D> {
    /// The account with this email (trimmed and lower-cased first).
    pub async fn admin_find_user(&self, email: &str) -> Result<AdminUser, Error> {
        let email = Email::parse(email)?;
        let stored = self
            .store
            .find_user_by_email(&email)
            .await?
            .ok_or(Error::UserNotFound)?;
        let passkey_count = self.store.count_passkeys(stored.user.id).await?;
        Ok(AdminUser {
            has_password: stored.password_hash.is_some(),
            user: stored.user,
            passkey_count,
        })
    }

    /// The account with this id.
    pub async fn admin_user(&self, id: &str) -> Result<AdminUser, Error> {
        let id = parse_user_id(id)?;
        let user = self.existing_user(id).await?;
        self.admin_find_user(user.email.as_str()).await
    }

    /// The account's passkeys, newest first, as the user's own list shows
    /// them.
    pub async fn admin_passkeys(&self, id: &str) -> Result<PasskeyList, Error> {
        let id = parse_user_id(id)?;
        self.existing_user(id).await?;
        self.list_passkeys(id).await.map_err(account_gone)
    }

    /// Removes one of the account's passkeys and records
    /// `passkey.removed_by_admin` in its security log, with the operator's
    /// request origin.
    pub async fn admin_remove_passkey(
        &self,
        user_id: &str,
        passkey_id: &str,
        removal: Removal,
        origin: &RequestOrigin,
    ) -> Result<(), Error> {
        let user_id = parse_user_id(user_id)?;
        let id = PasskeyId::parse(passkey_id)?;
        self.existing_user(user_id).await?;
        let events = self.outbox_event(
            EventType::PasskeyRemoved,
            event_data(
                Some(user_id),
                origin,
                json!({ "passkeyId": id.0, "by": "admin", "forced": removal == Removal::Forced }),
            ),
        );
        let journal = self.journal(
            user_id,
            AuditKind::PasskeyRemovedByAdmin,
            Some(id),
            origin,
            events,
        );
        let removed = match removal {
            Removal::Guarded => self.store.delete_passkey(user_id, id, journal).await?,
            Removal::Forced => {
                self.store
                    .delete_passkey_forced(user_id, id, journal)
                    .await?
            }
        };
        if !removed {
            return Err(Error::PasskeyNotFound);
        }
        Ok(())
    }

    /// The account's active sessions, most recently seen first.
    pub async fn admin_sessions(&self, id: &str) -> Result<Vec<AuthSession>, Error> {
        let id = parse_user_id(id)?;
        self.existing_user(id).await?;
        Ok(self.store.list_sessions(id, self.clock.now()).await?)
    }

    /// Ends one of the account's active sessions (`session.revoked`,
    /// reason `admin`); `SESSION_NOT_FOUND` when it is not one of them.
    pub async fn admin_end_session(
        &self,
        user_id: &str,
        session_id: &str,
        origin: &RequestOrigin,
    ) -> Result<(), Error> {
        let user_id = parse_user_id(user_id)?;
        let id = SessionId::parse(session_id)?;
        self.existing_user(user_id).await?;
        if !self.revoke(user_id, id, SessionEnd::Admin, origin).await? {
            return Err(Error::SessionNotFound);
        }
        Ok(())
    }

    /// Ends every active session of the account, each with its
    /// `session.revoked` event; how many ended.
    pub async fn admin_end_sessions(
        &self,
        user_id: &str,
        origin: &RequestOrigin,
    ) -> Result<u64, Error> {
        let user_id = parse_user_id(user_id)?;
        self.existing_user(user_id).await?;
        let events = self.ended_events(SessionEnd::Admin, origin);
        Ok(self
            .store
            .revoke_all_sessions(user_id, self.clock.now(), events)
            .await?)
    }

    /// The account's security log, paged as the user's own
    /// ([`App::audit_events`]).
    pub async fn admin_audit_events(
        &self,
        id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, Error> {
        let id = parse_user_id(id)?;
        self.audit_events(id, before, limit)
            .await
            .map_err(account_gone)
    }

    async fn existing_user(&self, id: UserId) -> Result<User, Error> {
        self.store.find_user(id).await?.ok_or(Error::UserNotFound)
    }
}

fn parse_user_id(raw: &str) -> Result<UserId, Error> {
    Uuid::try_parse(raw)
        .map(UserId)
        .map_err(|_| Error::validation("user id must be a UUID"))
}

/// The user's own calls answer `Unauthorized` for an account that is gone
/// (its token no longer counts); to an operator it is an unknown user.
fn account_gone(error: Error) -> Error {
    match error {
        Error::Unauthorized => Error::UserNotFound,
        other => other,
    }
}
