//! The traits the Monetro core needs from the outside world.
//!
//! Every adapter (in-memory fake, SQLite, PostgreSQL, …) implements these and
//! passes the same contract test suite. Methods that do I/O return futures
//! that are `Send`, so use cases can run on any executor.

mod audit;
mod ceremony;
mod clock;
mod error;
mod hasher;
mod journal;
mod outbox;
mod repositories;
mod sessions;
mod tokens;

pub use audit::AuditLog;
pub use ceremony::{Ceremony, CeremonyHandle, CeremonyKind, ChallengeStore};
pub use clock::Clock;
pub use error::StoreError;
pub use hasher::PasswordHasher;
pub use journal::Journal;
pub use outbox::{DeliveryError, Notifier, NotifyError, Outbox, WebhookTransport};
pub use repositories::{CredentialRepository, PoolStats, Readiness, StoredUser, UserRepository};
pub use sessions::{EndedSessionEvents, NewSession, Rotation, SessionRepository};
pub use tokens::{AccessGrant, IssuedToken, TokenError, TokenIssuer, VerifiedToken};

#[cfg(feature = "contract")]
pub mod contract;
#[cfg(feature = "memory")]
pub mod memory;
