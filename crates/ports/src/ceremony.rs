use std::future::Future;

use chrono::{DateTime, Utc};
use monetro_domain::UserId;

use crate::StoreError;

/// The random handle the client's session cookie carries; the state itself
/// stays on the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CeremonyHandle(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    Registration,
    Authentication,
    /// Sign-up with a passkey: creating an account and its first passkey.
    Signup,
}

impl CeremonyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Authentication => "authentication",
            Self::Signup => "signup",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "registration" => Some(Self::Registration),
            "authentication" => Some(Self::Authentication),
            "signup" => Some(Self::Signup),
            _ => None,
        }
    }
}

/// A WebAuthn ceremony between its options call and its finish call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub handle: CeremonyHandle,
    pub kind: CeremonyKind,
    /// The signed-in user a registration belongs to; `None` for sign-in
    /// and sign-up.
    pub user_id: Option<UserId>,
    /// Serialised ceremony state, opaque to the store.
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

/// Server-side ceremony state, shared by every instance of the service.
pub trait ChallengeStore: Clone + Send + Sync + 'static {
    /// Stores a new ceremony. Handles are unique random values.
    fn put(&self, ceremony: Ceremony) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes and returns the ceremony under `handle` if, and only if, it
    /// is of `kind` and belongs to `user_id` (`None` matching `None`).
    ///
    /// MUST be atomic: of any number of concurrent calls for one handle, at
    /// most one gets `Some`. A ceremony of another kind or user MUST be left
    /// in place. Expiry is not checked here: the caller compares
    /// `expires_at` with its clock, so an expired ceremony is still returned.
    fn take(
        &self,
        handle: &CeremonyHandle,
        kind: CeremonyKind,
        user_id: Option<UserId>,
    ) -> impl Future<Output = Result<Option<Ceremony>, StoreError>> + Send;

    /// Deletes ceremonies that expired before `cutoff`; returns how many.
    fn purge_expired(
        &self,
        cutoff: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
