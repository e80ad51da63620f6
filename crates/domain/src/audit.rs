//! The account's security log: what happened, from where, when.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::UserId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    AccountCreated,
    PasswordLogin,
    PasswordLoginFailed,
    PasswordChanged,
    PasskeyRegistered,
    PasskeyRenamed,
    PasskeyRemoved,
    PasskeyUsed,
    PasskeySignInFailed,
    PasskeyRemovedByAdmin,
}

impl AuditKind {
    pub const ALL: [AuditKind; 10] = [
        Self::AccountCreated,
        Self::PasswordLogin,
        Self::PasswordLoginFailed,
        Self::PasswordChanged,
        Self::PasskeyRegistered,
        Self::PasskeyRenamed,
        Self::PasskeyRemoved,
        Self::PasskeyUsed,
        Self::PasskeySignInFailed,
        Self::PasskeyRemovedByAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountCreated => "account.created",
            Self::PasswordLogin => "password.login",
            Self::PasswordLoginFailed => "password.login_failed",
            Self::PasswordChanged => "password.changed",
            Self::PasskeyRegistered => "passkey.registered",
            Self::PasskeyRenamed => "passkey.renamed",
            Self::PasskeyRemoved => "passkey.removed",
            Self::PasskeyUsed => "passkey.used",
            Self::PasskeySignInFailed => "passkey.sign_in_failed",
            Self::PasskeyRemovedByAdmin => "passkey.removed_by_admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }
}

/// Where a request came from, as far as the service can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestOrigin {
    /// User agents are kept to this many characters.
    pub const MAX_USER_AGENT: usize = 256;

    pub fn new(client_ip: Option<String>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent.map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(Self::MAX_USER_AGENT)
                .collect()
        });
        Self {
            client_ip,
            user_agent,
        }
    }
}

/// One entry of a user's security log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub user_id: UserId,
    pub kind: AuditKind,
    /// The error code of a failed attempt.
    pub code: Option<String>,
    /// The passkey concerned, if any.
    pub passkey_id: Option<Uuid>,
    pub origin: RequestOrigin,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AuditKind::parse("nonsense"), None);
    }

    #[test]
    fn user_agents_are_bounded_and_cleaned() {
        let origin = RequestOrigin::new(None, Some(&format!("Mozilla\n{}", "x".repeat(500))));
        let ua = origin.user_agent.unwrap();
        assert_eq!(ua.chars().count(), RequestOrigin::MAX_USER_AGENT);
        assert!(!ua.contains('\n'));
    }
}
