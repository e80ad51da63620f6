//! Passkeys: the WebAuthn credentials a user registered.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Error, UserId, text::short_text};

/// The passkey's own id, as shown in the list and used in paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasskeyId(pub Uuid);

impl PasskeyId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        Uuid::try_parse(raw)
            .map(Self)
            .map_err(|_| Error::validation("passkey id must be a UUID"))
    }
}

impl fmt::Display for PasskeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A WebAuthn credential id: 1–1023 bytes (WebAuthn Level 3, §5.1
/// "credential ID").
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CredentialId(Vec<u8>);

impl CredentialId {
    pub const MAX_LEN: usize = 1023;

    pub fn new(bytes: Vec<u8>) -> Result<Self, Error> {
        if bytes.is_empty() || bytes.len() > Self::MAX_LEN {
            return Err(Error::validation("credential id must be 1–1023 bytes"));
        }
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialId({} bytes)", self.0.len())
    }
}

/// A passkey's name: 1–64 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub const MAX_CHARS: usize = 64;

    /// `None` for a blank name, which counts as absent.
    pub fn parse(raw: &str) -> Result<Option<Self>, Error> {
        short_text(raw, Self::MAX_CHARS)
            .map(|name| name.map(Self))
            .map_err(|why| Error::validation(format!("name {why} (1–64 characters)")))
    }

    /// A name the service chose itself (e.g. the authenticator's), cut to
    /// the limit.
    pub fn fallback(name: &str) -> Self {
        Self(name.chars().take(Self::MAX_CHARS).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored passkey.
///
/// `sign_count`, `backed_up` and `last_used_at` change on every sign-in; the
/// rest is fixed at registration. `verifier` is the serialised public key
/// material the WebAuthn library needs, opaque to everything but the use case
/// that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    pub id: PasskeyId,
    pub user_id: UserId,
    pub name: PasskeyName,
    pub credential_id: CredentialId,
    pub verifier: String,
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub transports: Vec<String>,
    pub aaguid: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A passkey about to be stored.
pub type NewPasskey = Passkey;

/// What a successful sign-in changes on a passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUse {
    pub id: PasskeyId,
    pub sign_count: u32,
    pub backed_up: bool,
    pub used_at: DateTime<Utc>,
}

impl PasskeyUse {
    /// WebAuthn Level 3 §7.2 step 22: a sign count that is not above the
    /// stored one is a possible clone, unless both are zero (authenticators
    /// that do not count, such as synced passkeys).
    pub fn counter_acceptable(stored: u32, presented: u32) -> bool {
        presented > stored || (presented == 0 && stored == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_id_length_bounds() {
        assert!(CredentialId::new(vec![]).is_err());
        assert!(CredentialId::new(vec![0; 1023]).is_ok());
        assert!(CredentialId::new(vec![0; 1024]).is_err());
    }

    #[test]
    fn passkey_id_must_be_a_uuid() {
        assert!(PasskeyId::parse("not-a-uuid").is_err());
        assert!(PasskeyId::parse("6f1c1b5e-9a7e-4c3a-9d55-2f7d3f1c2a10").is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PasskeyName::parse(" MacBook ").unwrap().unwrap().as_str(),
            "MacBook"
        );
        assert_eq!(PasskeyName::parse("\t ").unwrap(), None);
        assert!(PasskeyName::parse(&"x".repeat(65)).is_err());
        assert_eq!(PasskeyName::fallback(&"y".repeat(80)).as_str().len(), 64);
    }

    #[test]
    fn counter_rule() {
        assert!(PasskeyUse::counter_acceptable(0, 0));
        assert!(PasskeyUse::counter_acceptable(4, 5));
        assert!(!PasskeyUse::counter_acceptable(5, 5));
        assert!(!PasskeyUse::counter_acceptable(5, 0));
        assert!(!PasskeyUse::counter_acceptable(5, 3));
    }
}
