//! Events for other systems (webhooks), waiting in the transactional outbox
//! until they are delivered.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What other systems can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    AccountCreated,
    PasswordLogin,
    PasswordChanged,
    PasskeyRegistered,
    PasskeyRenamed,
    PasskeyRemoved,
    PasskeyUsed,
    /// A sign-in presented a credential id the service does not know.
    UnknownCredentialSeen,
    /// A sign-in started a session.
    SessionCreated,
    /// A session ended before its expiry (sign-out, ended from another
    /// device or by an operator, refresh-token reuse).
    SessionRevoked,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        Self::AccountCreated,
        Self::PasswordLogin,
        Self::PasswordChanged,
        Self::PasskeyRegistered,
        Self::PasskeyRenamed,
        Self::PasskeyRemoved,
        Self::PasskeyUsed,
        Self::UnknownCredentialSeen,
        Self::SessionCreated,
        Self::SessionRevoked,
    ];

    /// The `type` of the webhook body.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountCreated => "account.created",
            Self::PasswordLogin => "password.login",
            Self::PasswordChanged => "password.changed",
            Self::PasskeyRegistered => "passkey.registered",
            Self::PasskeyRenamed => "passkey.renamed",
            Self::PasskeyRemoved => "passkey.removed",
            Self::PasskeyUsed => "passkey.used",
            Self::UnknownCredentialSeen => "passkey.unknown_credential_seen",
            Self::SessionCreated => "session.created",
            Self::SessionRevoked => "session.revoked",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }
}

/// One event to write into the outbox with the change it reports: its
/// body, rendered once so every attempt sends the same bytes, and the
/// endpoints (by URL) that subscribe to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    /// The JSON body.
    pub payload: String,
    /// One delivery per endpoint; never empty.
    pub endpoints: Vec<String>,
}

/// One delivery of an event to one endpoint, claimed from the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxDelivery {
    /// This delivery (event × endpoint).
    pub id: Uuid,
    pub event_id: Uuid,
    pub endpoint: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_through_their_names() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventType::parse("passkey.eaten"), None);
    }
}
