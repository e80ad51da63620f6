//! Sessions: started by every sign-in, kept going by single-use refresh
//! tokens, ended by signing out, by the user from another device, or by a
//! rotated-out refresh token presented again (reuse means it was copied).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use monetro_domain::{
    AuthSession, Error, EventType, OutboxEvent, RefreshTokenHash, RequestOrigin, SessionId,
    SignInMethod, User, UserId,
};
use monetro_ports::{
    AccessGrant, Clock, EndedSessionEvents, Journal, NewSession, Rotation, SessionRepository,
    TokenIssuer, VerifiedToken,
};
use rand::RngCore as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::webhooks::event_data;
use crate::{App, Deps, Session};

/// Why a session ended before its expiry: the `reason` of the
/// `session.revoked` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Signed out (`POST /api/auth/logout`).
    Logout,
    /// Ended by its owner from a session (`DELETE /api/auth/sessions/{id}`).
    Ended,
    /// Ended by an operator through the admin API.
    Admin,
    /// A rotated-out refresh token of it was presented again.
    Reuse,
}

impl SessionEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Ended => "ended",
            Self::Admin => "admin",
            Self::Reuse => "reuse",
        }
    }
}

/// Bytes of randomness in a refresh token (256 bits).
const REFRESH_TOKEN_BYTES: usize = 32;

/// How long an ended session (and a rotated-out token) is kept, so that a
/// copied token presented soon after still counts as reuse.
const ENDED_SESSION_RETENTION: chrono::Duration = chrono::Duration::days(1);

/// A new refresh token and its hash.
pub(crate) fn new_refresh_token() -> (String, RefreshTokenHash) {
    let mut bytes = [0u8; REFRESH_TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    (URL_SAFE_NO_PAD.encode(bytes), hash_of(&bytes))
}

fn hash_of(bytes: &[u8]) -> RefreshTokenHash {
    RefreshTokenHash(Sha256::digest(bytes).into())
}

/// The hash of a presented refresh token; one that is not 32 bytes of
/// unpadded base64url is a body error.
fn presented_hash(token: &str) -> Result<RefreshTokenHash, Error> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .filter(|bytes| bytes.len() == REFRESH_TOKEN_BYTES)
        .map(|bytes| hash_of(&bytes))
        .ok_or_else(|| Error::validation("refreshToken is not a refresh token"))
}

/// A session about to start: what the store writes (the session, its
/// token's hash and its `session.created` events) and the refresh token
/// that is handed out once it is written.
pub(crate) struct PendingSession {
    pub(crate) new: NewSession,
    pub(crate) events: Vec<OutboxEvent>,
    refresh_token: String,
}

impl PendingSession {
    /// `journal` of the change that starts this session, with the session
    /// and its events: stored in the change's transaction.
    pub(crate) fn started_with(&self, mut journal: Journal) -> Journal {
        journal.outbox.extend(self.events.iter().cloned());
        journal.session = Some(self.new.clone());
        journal
    }
}

impl<D: Deps> App<D> {
    /// Starts a session for a person who just signed in with `method`,
    /// stored with the sign-in's `journal`.
    pub(crate) async fn start_session(
        &self,
        user: User,
        method: SignInMethod,
        origin: &RequestOrigin,
        mut journal: Journal,
    ) -> Result<Session, Error> {
        let pending = self.pending_session(user.id, method, origin);
        journal.outbox.extend(pending.events.iter().cloned());
        self.store
            .create_session(pending.new.clone(), journal)
            .await?;
        self.started_session(user, pending)
    }

    /// A new session for `user`, not stored yet: a passkey sign-in stores it
    /// with the passkey's use, in one step.
    pub(crate) fn pending_session(
        &self,
        user: UserId,
        method: SignInMethod,
        origin: &RequestOrigin,
    ) -> PendingSession {
        let now = self.clock.now();
        let (refresh_token, token) = new_refresh_token();
        let session = AuthSession {
            id: SessionId::random(),
            user_id: user,
            method,
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            expires_at: self.refresh_expiry(now),
            origin: origin.clone(),
            revoked_at: None,
        };
        let events = self.outbox_event(
            EventType::SessionCreated,
            event_data(
                Some(user),
                origin,
                json!({ "sessionId": session.id.0, "method": method.as_str() }),
            ),
        );
        PendingSession {
            new: NewSession { session, token },
            events,
            refresh_token,
        }
    }

    /// The session body of a session the store has just written.
    pub(crate) fn started_session(
        &self,
        user: User,
        pending: PendingSession,
    ) -> Result<Session, Error> {
        let session = &pending.new.session;
        tracing::info!(user = %user.id, session = %session.id, method = session.method.as_str(), "session started");
        self.session_body(user, session, pending.refresh_token, session.created_at)
    }

    /// The `session.revoked` events of sessions ended for `reason` by a
    /// request from `origin`.
    pub(crate) fn ended_events(
        &self,
        reason: SessionEnd,
        origin: &RequestOrigin,
    ) -> impl EndedSessionEvents + use<D> {
        let factory = self.event_factory(EventType::SessionRevoked);
        let origin = origin.clone();
        move |user: UserId, session: SessionId| {
            factory.event(event_data(
                Some(user),
                &origin,
                json!({ "sessionId": session.0, "reason": reason.as_str() }),
            ))
        }
    }

    /// Revokes the user's session `id` for `reason`, with its event;
    /// whether it was active.
    pub(crate) async fn revoke(
        &self,
        user: UserId,
        id: SessionId,
        reason: SessionEnd,
        origin: &RequestOrigin,
    ) -> Result<bool, Error> {
        let events = self.ended_events(reason, origin)(user, id);
        Ok(self
            .store
            .revoke_session(user, id, self.clock.now(), events)
            .await?)
    }

    pub(crate) fn refresh_expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.settings.refresh_ttl
    }

    /// An access token for `session` and the body that hands it out.
    pub(crate) fn session_body(
        &self,
        user: User,
        session: &AuthSession,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> Result<Session, Error> {
        let grant = AccessGrant {
            user: user.id,
            session: session.id,
            amr: session.method.amr(),
            auth_time: session.auth_time,
        };
        let token = self
            .tokens
            .issue(&grant, now)
            .map_err(|e| Error::Unexpected(e.to_string()))?;
        let refresh_expires_in =
            u64::try_from((session.expires_at - now).num_seconds()).unwrap_or_default();
        Ok(Session {
            token,
            user,
            session_id: session.id,
            refresh_token,
            refresh_expires_in,
        })
    }

    /// Trades a refresh token for a new access token and the next refresh
    /// token. A token its session already replaced ends that session.
    pub async fn refresh(&self, token: &str, origin: &RequestOrigin) -> Result<Session, Error> {
        let presented = presented_hash(token)?;
        let now = self.clock.now();
        let (refresh_token, next) = new_refresh_token();
        let rotation = self
            .store
            .rotate_session(
                presented,
                next,
                now,
                self.refresh_expiry(now),
                origin,
                self.ended_events(SessionEnd::Reuse, origin),
            )
            .await?;
        let session = match rotation {
            Rotation::Rotated(session) => session,
            Rotation::Reused(session) => {
                tracing::warn!(user = %session.user_id, session = %session.id,
                    "a rotated-out refresh token was presented again: session revoked");
                return Err(Error::Unauthorized);
            }
            Rotation::Refused => return Err(Error::Unauthorized),
        };
        let user = self.signed_in_user(session.user_id).await?;
        self.session_body(user, &session, refresh_token, now)
    }

    /// Checks a bearer token and that its session (`sid`) has not ended.
    pub async fn authenticate(&self, token: &str) -> Result<VerifiedToken, Error> {
        let verified = self.verify_bearer(token)?;
        if let Some(id) = verified.session_id {
            let session = self.store.find_session(id).await?;
            let live =
                session.is_some_and(|s| s.user_id == verified.user_id && s.revoked_at.is_none());
            if !live {
                return Err(Error::Unauthorized);
            }
        }
        Ok(verified)
    }

    /// Ends the session of a bearer token.
    pub async fn logout(&self, token: &VerifiedToken, origin: &RequestOrigin) -> Result<(), Error> {
        if let Some(id) = token.session_id {
            self.revoke(token.user_id, id, SessionEnd::Logout, origin)
                .await?;
            tracing::info!(user = %token.user_id, session = %id, "signed out");
        }
        Ok(())
    }

    /// Ends the session a refresh token belongs to (its current one or
    /// one it replaced); an unknown token ends nothing and is no error.
    pub async fn logout_with_refresh_token(
        &self,
        token: &str,
        origin: &RequestOrigin,
    ) -> Result<(), Error> {
        let presented = presented_hash(token)?;
        let events = self.ended_events(SessionEnd::Logout, origin);
        if self
            .store
            .revoke_session_by_token(presented, self.clock.now(), events)
            .await?
        {
            tracing::info!("signed out with a refresh token");
        }
        Ok(())
    }

    /// The user's active sessions, most recently seen first.
    pub async fn sessions(&self, user_id: UserId) -> Result<Vec<AuthSession>, Error> {
        self.signed_in_user(user_id).await?;
        Ok(self.store.list_sessions(user_id, self.clock.now()).await?)
    }

    /// Ends one of the user's sessions; `SESSION_NOT_FOUND` when it is not
    /// one of their active ones.
    pub async fn end_session(
        &self,
        user_id: UserId,
        id: &str,
        origin: &RequestOrigin,
    ) -> Result<(), Error> {
        let id = SessionId::parse(id)?;
        self.signed_in_user(user_id).await?;
        if !self.revoke(user_id, id, SessionEnd::Ended, origin).await? {
            return Err(Error::SessionNotFound);
        }
        tracing::info!(user = %user_id, session = %id, "session ended");
        Ok(())
    }

    /// Deletes sessions that ended more than a day ago.
    pub async fn purge_ended_sessions(&self) -> Result<u64, Error> {
        let cutoff = self.clock.now() - ENDED_SESSION_RETENTION;
        Ok(self.store.purge_sessions(cutoff).await?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use monetro_domain::{Error, RequestOrigin};

    use crate::testing::{TestApp, signup};

    #[tokio::test]
    async fn a_refresh_rotates_and_a_reused_token_ends_the_session() {
        let t = TestApp::new();
        let first = signup(&t.app, "ann@example.com").await;
        t.clock.advance(Duration::seconds(60));
        let second = t
            .app
            .refresh(&first.refresh_token, &RequestOrigin::default())
            .await
            .unwrap();
        assert_eq!(second.session_id, first.session_id);
        assert_ne!(second.refresh_token, first.refresh_token);
        let verified = t.app.authenticate(&second.token.token).await.unwrap();
        assert_eq!(
            verified.auth_time,
            t.app.verify_bearer(&first.token.token).unwrap().auth_time,
            "auth_time survives the refresh"
        );
        assert!(verified.issued_at > verified.auth_time);

        let reused = t
            .app
            .refresh(&first.refresh_token, &RequestOrigin::default())
            .await;
        assert_eq!(reused.unwrap_err(), Error::Unauthorized);
        assert_eq!(
            t.app.authenticate(&second.token.token).await.unwrap_err(),
            Error::Unauthorized,
            "the session's access tokens end with it"
        );
        let after = t
            .app
            .refresh(&second.refresh_token, &RequestOrigin::default())
            .await;
        assert_eq!(after.unwrap_err(), Error::Unauthorized);
    }

    #[tokio::test]
    async fn refresh_tokens_expire_and_malformed_ones_are_body_errors() {
        let t = TestApp::with(|s| s.refresh_ttl = std::time::Duration::from_secs(3600));
        let session = signup(&t.app, "ann@example.com").await;
        assert_eq!(session.refresh_expires_in, 3600);
        assert!(matches!(
            t.app.refresh("short", &RequestOrigin::default()).await,
            Err(Error::Validation(_))
        ));
        t.clock.advance(Duration::seconds(3600));
        assert_eq!(
            t.app
                .refresh(&session.refresh_token, &RequestOrigin::default())
                .await
                .unwrap_err(),
            Error::Unauthorized
        );
    }

    #[tokio::test]
    async fn sessions_are_listed_and_ended_only_by_their_owner() {
        let t = TestApp::new();
        let ann = signup(&t.app, "ann@example.com").await;
        let bob = signup(&t.app, "bob@example.com").await;
        let listed = t.app.sessions(ann.user.id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, ann.session_id);
        let id = ann.session_id.to_string();
        assert_eq!(
            t.app
                .end_session(bob.user.id, &id, &RequestOrigin::default())
                .await
                .unwrap_err(),
            Error::SessionNotFound
        );
        t.app
            .end_session(ann.user.id, &id, &RequestOrigin::default())
            .await
            .unwrap();
        assert!(t.app.sessions(ann.user.id).await.unwrap().is_empty());
        assert!(matches!(
            t.app
                .end_session(ann.user.id, "nope", &RequestOrigin::default())
                .await,
            Err(Error::Validation(_))
        ));
    }

    #[tokio::test]
    async fn logout_ends_the_session_by_bearer_or_refresh_token() {
        let t = TestApp::new();
        let first = signup(&t.app, "ann@example.com").await;
        let verified = t.app.authenticate(&first.token.token).await.unwrap();
        t.app
            .logout(&verified, &RequestOrigin::default())
            .await
            .unwrap();
        assert_eq!(
            t.app.authenticate(&first.token.token).await.unwrap_err(),
            Error::Unauthorized
        );
        let second = t
            .app
            .login(
                "ann@example.com",
                "correct horse".into(),
                &RequestOrigin::default(),
            )
            .await
            .unwrap();
        t.app
            .logout_with_refresh_token(&second.refresh_token, &RequestOrigin::default())
            .await
            .unwrap();
        assert_eq!(
            t.app
                .refresh(&second.refresh_token, &RequestOrigin::default())
                .await
                .unwrap_err(),
            Error::Unauthorized
        );
    }
}
