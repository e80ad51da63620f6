use std::future::Future;

use monetro_domain::{
    AuditEvent, CredentialId, Email, NewPasskey, NewUser, OutboxEvent, Passkey, PasskeyId,
    PasskeyName, PasskeyUse, User, UserHandle, UserId,
};

use crate::{Journal, NewSession, StoreError};

/// An account with its password hash, for login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub user: User,
    pub password_hash: Option<String>,
}

/// Accounts.
///
/// Every call that writes a change takes its [`Journal`], written in the
/// same transaction as the change, and only when the change applies.
pub trait UserRepository: Clone + Send + Sync + 'static {
    /// Stores a new account. MUST return `EmailTaken` (and store nothing)
    /// when the email is in use.
    fn create_user(
        &self,
        user: NewUser,
        journal: Journal,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a new account and its first passkey in one transaction: both
    /// or neither. MUST return `EmailTaken` when the email is in use and
    /// `CredentialTaken` when the credential id is stored, storing nothing
    /// in either case; of racing calls for one email, one succeeds.
    fn create_user_with_passkey(
        &self,
        user: NewUser,
        passkey: NewPasskey,
        journal: Journal,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces the account's password hash with `new_hash` if, and only
    /// if, the stored hash is still `expected` (`None`: the account has no
    /// password), in one atomic step. `false` when it did not apply (the
    /// password changed meanwhile, or the account is gone).
    fn replace_password_hash(
        &self,
        user: UserId,
        expected: Option<String>,
        new_hash: String,
        journal: Journal,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn find_user_by_email(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<StoredUser>, StoreError>> + Send;

    fn find_user(
        &self,
        id: UserId,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    fn find_user_by_handle(
        &self,
        handle: UserHandle,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}

/// Passkeys. Calls that write a change take its [`Journal`], written as
/// for [`UserRepository`]: in the change's transaction, only when it applies.
pub trait CredentialRepository: Clone + Send + Sync + 'static {
    /// Stores a passkey. MUST return `CredentialTaken` (and store nothing)
    /// when its credential id is already stored, for any user, and
    /// `PasskeyLimitReached` (storing nothing) when its owner already holds
    /// `limit` passkeys or more; the count and the insert are one atomic
    /// step, so racing inserts cannot take the owner past `limit`.
    fn insert_passkey(
        &self,
        passkey: NewPasskey,
        limit: u32,
        journal: Journal,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user's passkeys, newest first.
    fn list_passkeys(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<Passkey>, StoreError>> + Send;

    fn count_passkeys(&self, user: UserId) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The passkey with this credential id and the account it belongs to,
    /// in one lookup (sign-in needs both).
    fn find_passkey_with_owner(
        &self,
        credential_id: &CredentialId,
    ) -> impl Future<Output = Result<Option<(Passkey, User)>, StoreError>> + Send;

    /// Records a sign-in: sign count, backup state and last use, and the
    /// security-log `event` of it, in one atomic step that MUST apply only
    /// while [`PasskeyUse::counter_acceptable`] holds against the stored
    /// count (so two racing sign-ins cannot both move it). `false`, with
    /// nothing written, when it did not apply (counter regression or
    /// passkey gone). One step rather than two calls: a sign-in's writes
    /// cost one round trip to the store, and the log cannot miss a use.
    ///
    /// `session`, the session a sign-in starts, MUST be stored in the same
    /// step when it applies, and not at all when it does not: one commit
    /// per sign-in instead of two, and no session for a refused use.
    fn record_passkey_use(
        &self,
        usage: PasskeyUse,
        event: AuditEvent,
        session: Option<NewSession>,
        outbox: Vec<OutboxEvent>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Renames the user's passkey; `None` when it is not theirs or unknown.
    fn rename_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
        name: PasskeyName,
        journal: Journal,
    ) -> impl Future<Output = Result<Option<Passkey>, StoreError>> + Send;

    /// Deletes the user's passkey; `false` when it is not theirs or unknown.
    /// MUST return `LastCredential` (deleting nothing) when it is the only
    /// passkey of an account without a password; the check and the delete
    /// are one atomic step, so of racing deletes of the last two passkeys
    /// of such an account one succeeds.
    fn delete_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
        journal: Journal,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the user's passkey even when it is the account's last way
    /// to sign in (an operator's decision, through the admin API); `false`
    /// when it is not theirs or unknown. `journal` as for
    /// [`CredentialRepository::delete_passkey`].
    fn delete_passkey_forced(
        &self,
        user: UserId,
        id: PasskeyId,
        journal: Journal,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Whether the backing store answers, for `/readyz`.
pub trait Readiness: Clone + Send + Sync + 'static {
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The connection pool right now, for metrics (no I/O).
    fn pool_stats(&self) -> PoolStats;
}

/// Connection pool figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (idle or lent out).
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}
