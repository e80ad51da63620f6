//! The Monetro passkey service's entities, value objects and errors.
//!
//! Everything here is plain data and pure rules: no I/O, no async runtime, no
//! web framework and no database. Value objects validate on construction, so a
//! value that exists is a valid one.

mod audit;
mod authenticators;
mod error;
mod event;
mod hint;
mod passkey;
mod session;
mod text;
mod user;

pub use audit::{AuditEvent, AuditKind, RequestOrigin};
pub use authenticators::authenticator_name;
pub use error::{Error, ErrorCode};
pub use event::{EventType, OutboxDelivery, OutboxEvent};
pub use hint::PasskeyHint;
pub use passkey::{CredentialId, NewPasskey, Passkey, PasskeyId, PasskeyName, PasskeyUse};
pub use session::{AuthSession, RefreshTokenHash, SessionId, SignInMethod};
pub use user::{DisplayName, Email, NewUser, Password, User, UserHandle, UserId};
