use std::future::Future;

use chrono::{DateTime, Utc};
use monetro_domain::{
    AuthSession, OutboxEvent, RefreshTokenHash, RequestOrigin, SessionId, SignInMethod, UserId,
};

use crate::{Journal, StoreError};

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It was the current token of an active session, which now holds the
    /// new one.
    Rotated(AuthSession),
    /// Its session had already replaced it: the session is now revoked
    /// (reuse of a rotated token means it was copied).
    Reused(AuthSession),
    /// No session holds or held it, or its session has ended.
    Refused,
}

/// A session to store: the session and the hash of its first refresh
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub session: AuthSession,
    pub token: RefreshTokenHash,
}

/// The events that report the end of a session, made by the store once it
/// knows which session ended (its owner and id): a revocation by refresh
/// token, by reuse, or of all of a user's sessions learns that only inside
/// its transaction.
pub trait EndedSessionEvents: Fn(UserId, SessionId) -> Vec<OutboxEvent> + Send + 'static {}

impl<F: Fn(UserId, SessionId) -> Vec<OutboxEvent> + Send + 'static> EndedSessionEvents for F {}

/// Sessions and their refresh tokens, which are known only by their
/// SHA-256 ([`RefreshTokenHash`]).
///
/// Calls that start or end a session take the events that report it to
/// other systems (see [`crate::Outbox`]): they MUST be written in the same
/// transaction as the change, and only when it applies.
pub trait SessionRepository: Clone + Send + Sync + 'static {
    /// Stores a new session (its current refresh token is `new.token`)
    /// with its `journal`.
    fn create_session(
        &self,
        new: NewSession,
        journal: Journal,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces `presented` by `next` if, and only if, `presented` is the
    /// current token of a session active at `now`, in one atomic step
    /// (compare-and-swap on the current token): the session is then seen
    /// `now` from `origin` and lasts until `expires_at`, and `presented`
    /// counts as rotated out. A rotated-out token MUST answer `Reused` and
    /// revoke its session, writing `on_reuse`'s events when that revocation
    /// applies (the session was still active); so of racing calls with one
    /// token exactly one answers `Rotated` and the others `Reused`.
    fn rotate_session(
        &self,
        presented: RefreshTokenHash,
        next: RefreshTokenHash,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        origin: &RequestOrigin,
        on_reuse: impl EndedSessionEvents,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// Records a new authentication (`method`, `now`) in the user's session
    /// `id` if it is active at `now`, and replaces its refresh token by
    /// `next` (the previous one counts as rotated out), in one atomic step.
    /// `None` when it is not the user's or not active.
    fn reauthenticate_session(
        &self,
        user: UserId,
        id: SessionId,
        method: SignInMethod,
        next: RefreshTokenHash,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<AuthSession>, StoreError>> + Send;

    /// The session, active or not.
    fn find_session(
        &self,
        id: SessionId,
    ) -> impl Future<Output = Result<Option<AuthSession>, StoreError>> + Send;

    /// The user's sessions active at `now`, most recently seen first.
    fn list_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<AuthSession>, StoreError>> + Send;

    /// Revokes the user's session `id` if it is active at `now`; `false`
    /// when it is not theirs, unknown or already ended.
    fn revoke_session(
        &self,
        user: UserId,
        id: SessionId,
        now: DateTime<Utc>,
        outbox: Vec<OutboxEvent>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes the session that holds, or held, `token` (the whole family),
    /// with `events` of it; `false` when there is none or it was no longer
    /// active.
    fn revoke_session_by_token(
        &self,
        token: RefreshTokenHash,
        now: DateTime<Utc>,
        events: impl EndedSessionEvents,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every session of the user active at `now`, each with
    /// `events` of it, in one transaction; how many.
    fn revoke_all_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        events: impl EndedSessionEvents,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes sessions that ended (expired or revoked) before `cutoff`,
    /// and rotated-out tokens that would have expired before it; the
    /// number of sessions deleted.
    fn purge_sessions(
        &self,
        cutoff: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
