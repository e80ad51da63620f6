//! Sessions: what a sign-in starts and a refresh token keeps alive.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Error, RequestOrigin, UserId};

/// A session's id: the `sid` claim of its access tokens, and the id its
/// refresh tokens (one after the other) share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub Uuid);

impl SessionId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        Uuid::try_parse(raw)
            .map(Self)
            .map_err(|_| Error::validation("session id must be a UUID"))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How the person last proved who they are in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    Password,
    Passkey,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Passkey => "passkey",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Password, Self::Passkey]
            .into_iter()
            .find(|method| method.as_str() == raw)
    }

    /// The token's `amr` (RFC 8176) for this method.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Self::Password => &["pwd"],
            Self::Passkey => &["webauthn"],
        }
    }
}

/// The SHA-256 of a refresh token: all the store ever sees of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash(pub [u8; 32]);

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSession {
    pub id: SessionId,
    pub user_id: UserId,
    /// How the person last authenticated (sign-in or re-authentication).
    pub method: SignInMethod,
    /// When they last authenticated; refreshes keep it.
    pub auth_time: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The last sign-in, refresh or re-authentication.
    pub last_seen_at: DateTime<Utc>,
    /// When the current refresh token stops working.
    pub expires_at: DateTime<Utc>,
    /// Where it was last seen from.
    pub origin: RequestOrigin,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl AuthSession {
    /// Neither revoked nor past its refresh token's expiry.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_round_trip_and_map_to_amr() {
        for method in [SignInMethod::Password, SignInMethod::Passkey] {
            assert_eq!(SignInMethod::parse(method.as_str()), Some(method));
        }
        assert_eq!(SignInMethod::parse("sms"), None);
        assert_eq!(SignInMethod::Password.amr(), ["pwd"]);
        assert_eq!(SignInMethod::Passkey.amr(), ["webauthn"]);
    }

    #[test]
    fn a_session_ends_when_revoked_or_expired() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let session = AuthSession {
            id: SessionId::random(),
            user_id: UserId::random(),
            method: SignInMethod::Passkey,
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            expires_at: now + chrono::Duration::seconds(10),
            origin: RequestOrigin::default(),
            revoked_at: None,
        };
        assert!(session.is_active(now));
        assert!(!session.is_active(session.expires_at));
        let revoked = AuthSession {
            revoked_at: Some(now),
            ..session
        };
        assert!(!revoked.is_active(now));
        assert!(SessionId::parse("nope").is_err());
    }
}
