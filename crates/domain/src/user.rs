//! Accounts: who signs in.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Error, text::short_text};

/// The account's primary key; the JWT `sub`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub Uuid);

impl UserId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The WebAuthn user handle (`user.id`): random and opaque, never the email
/// and distinct from [`UserId`], so nothing about the account leaks into
/// authenticators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserHandle(pub Uuid);

impl UserHandle {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

/// A normalised email address: trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Error> {
        let email = raw.trim().to_lowercase();
        let invalid = || Error::validation("email must be an address such as ann@example.com");
        if email.len() > Self::MAX_LEN {
            return Err(Error::validation("email is longer than 254 characters"));
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let well_formed = !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's display name: 1–64 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 64;

    /// `None` for a blank name, which counts as absent.
    pub fn parse(raw: &str) -> Result<Option<Self>, Error> {
        short_text(raw, Self::MAX_CHARS)
            .map(|name| name.map(Self))
            .map_err(|why| Error::validation(format!("displayName {why} (1–64 characters)")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed, 8–256 characters. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 256;

    /// For a new password (signup): both bounds apply.
    pub fn new(raw: String) -> Result<Self, Error> {
        let chars = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(Error::validation("password must be 8–256 characters"));
        }
        Ok(Self(raw))
    }

    /// For a login attempt: only the upper bound, checked before any hashing,
    /// so a huge password cannot buy expensive work.
    pub fn attempt(raw: String) -> Result<Self, Error> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(Error::validation("password must be at most 256 characters"));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// An account as the rest of the service sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: Option<DisplayName>,
    pub handle: UserHandle,
    pub created_at: DateTime<Utc>,
}

/// An account about to be stored, with its password hash (PHC string).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub user: User,
    pub password_hash: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for raw in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn password_bounds() {
        assert!(Password::new("short".into()).is_err());
        assert!(Password::new("eight888".into()).is_ok());
        assert!(Password::new("x".repeat(257)).is_err());
        assert!(Password::attempt("short".into()).is_ok());
        assert!(Password::attempt("x".repeat(257)).is_err());
    }

    #[test]
    fn password_debug_hides_it() {
        let pw = Password::new("correct horse".into()).unwrap();
        assert!(!format!("{pw:?}").contains("horse"));
    }

    #[test]
    fn blank_display_name_is_absent() {
        assert_eq!(DisplayName::parse("  ").unwrap(), None);
        assert!(DisplayName::parse(&"n".repeat(65)).is_err());
    }
}
