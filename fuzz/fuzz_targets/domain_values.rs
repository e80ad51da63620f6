//! The domain's validators of human-entered values (`Email`, `Password`,
//! `DisplayName`, `PasskeyName`, `CredentialId`, `PasskeyId`): never panic,
//! refuse with `VALIDATION_FAILED`, and whatever they accept satisfies the
//! rules of API.md and parses again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use monetro_domain::{
    CredentialId, DisplayName, Email, Error, ErrorCode, PasskeyId, PasskeyName, Password,
    authenticator_name,
};

fuzz_target!(|data: &[u8]| {
    check_credential_id(data);
    check_authenticator_name(data);
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    check_email(raw);
    check_password(raw);
    check_name("displayName", raw, |s| {
        DisplayName::parse(s).map(|n| n.map(|n| n.as_str().to_owned()))
    });
    check_name("name", raw, |s| {
        PasskeyName::parse(s).map(|n| n.map(|n| n.as_str().to_owned()))
    });
    check_fallback_name(raw);
    check_passkey_id(raw);
});

fn refused(error: &Error) {
    assert_eq!(error.code(), ErrorCode::ValidationFailed, "{error:?}");
}

fn check_email(raw: &str) {
    match Email::parse(raw) {
        Ok(email) => {
            let s = email.as_str();
            assert_eq!(s, raw.trim().to_lowercase());
            assert!(s.len() <= Email::MAX_LEN, "{s:?} is too long");
            assert!(
                !s.chars().any(|c| c.is_whitespace() || c.is_control()),
                "{s:?} has white space or control characters"
            );
            let (local, domain) = s.split_once('@').unwrap_or_default();
            assert!(
                !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
                "{s:?} is not local@domain"
            );
            assert_eq!(Email::parse(s).ok(), Some(email.clone()), "not idempotent");
        }
        Err(error) => refused(&error),
    }
}

fn check_password(raw: &str) {
    let chars = raw.chars().count();
    match Password::new(raw.to_owned()) {
        Ok(password) => {
            assert!((8..=256).contains(&chars), "{chars} characters accepted");
            assert_eq!(password.expose(), raw);
        }
        Err(error) => {
            refused(&error);
            assert!(!(8..=256).contains(&chars), "{chars} characters refused");
        }
    }
    match Password::attempt(raw.to_owned()) {
        Ok(password) => {
            assert!(chars <= 256, "login attempt of {chars} characters accepted");
            assert_eq!(password.expose(), raw);
        }
        Err(error) => {
            refused(&error);
            assert!(chars > 256, "login attempt of {chars} characters refused");
        }
    }
}

/// A name: 1–64 characters after trimming, no control characters; blank
/// means absent.
fn check_name(what: &str, raw: &str, parse: impl Fn(&str) -> Result<Option<String>, Error>) {
    let trimmed = raw.trim();
    match parse(raw) {
        Ok(Some(name)) => {
            assert_eq!(name, trimmed, "{what} is not the trimmed input");
            let chars = name.chars().count();
            assert!((1..=64).contains(&chars), "{what} of {chars} characters");
            assert!(!name.chars().any(char::is_control), "{what} {name:?}");
            assert_eq!(
                parse(&name).ok(),
                Some(Some(name.clone())),
                "not idempotent"
            );
        }
        Ok(None) => assert!(trimmed.is_empty(), "{what} {raw:?} taken for blank"),
        Err(error) => {
            refused(&error);
            assert!(
                trimmed.chars().count() > 64 || trimmed.chars().any(char::is_control),
                "{what} {raw:?} refused"
            );
        }
    }
}

/// The name the service gives a passkey itself is cut to the limit.
fn check_fallback_name(raw: &str) {
    let name = PasskeyName::fallback(raw);
    assert!(name.as_str().chars().count() <= PasskeyName::MAX_CHARS);
    assert!(raw.starts_with(name.as_str()));
}

fn check_credential_id(data: &[u8]) {
    match CredentialId::new(data.to_vec()) {
        Ok(id) => {
            assert!((1..=1023).contains(&data.len()), "{} bytes", data.len());
            assert_eq!(id.as_bytes(), data);
        }
        Err(error) => {
            refused(&error);
            assert!(data.is_empty() || data.len() > 1023, "{} bytes", data.len());
        }
    }
}

fn check_passkey_id(raw: &str) {
    match PasskeyId::parse(raw) {
        Ok(id) => {
            let shown = id.to_string();
            assert_eq!(
                PasskeyId::parse(&shown).ok(),
                Some(id),
                "{shown} does not parse back"
            );
        }
        Err(error) => refused(&error),
    }
}

fn check_authenticator_name(data: &[u8]) {
    let Some(bytes) = data.first_chunk::<16>() else {
        return;
    };
    let aaguid = uuid::Uuid::from_bytes(*bytes);
    if aaguid.is_nil() {
        assert_eq!(authenticator_name(&aaguid), None);
    }
}
