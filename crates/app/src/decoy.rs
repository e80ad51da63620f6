//! Decoy `allowCredentials` for email-scoped sign-in options, so that the
//! options for an unknown email (or a user without passkeys) look like a
//! real user's and the endpoint does not reveal who has an account.

use hmac::{Hmac, Mac};
use monetro_domain::Email;
use sha2::Sha256;

/// Credential id lengths real platform authenticators produce.
const PLAUSIBLE_LENGTHS: [usize; 3] = [16, 20, 32];

/// One credential id derived from `email` with the server's secret `key`:
/// the same every time for one email, unpredictable without the key.
pub(crate) fn decoy_credential_id(key: &[u8], email: &Email) -> Vec<u8> {
    let (Some(length_choice), Some(id)) = (
        digest(key, "decoy-length", email),
        digest(key, "decoy-id", email),
    ) else {
        return Vec::new();
    };
    let choice = usize::from(length_choice.first().copied().unwrap_or(0));
    let length = PLAUSIBLE_LENGTHS
        .get(choice % PLAUSIBLE_LENGTHS.len())
        .copied()
        .unwrap_or(32);
    id.into_iter().take(length).collect()
}

/// HMAC-SHA256 over a label and the email; `None` only if the key were
/// refused, which HMAC never does.
fn digest(key: &[u8], label: &str, email: &Email) -> Option<Vec<u8>> {
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).ok()?;
    mac.update(label.as_bytes());
    mac.update(&[0]);
    mac.update(email.as_str().as_bytes());
    Some(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_email_and_distinct_between_emails() {
        let ann = Email::parse("ann@example.com").unwrap();
        let bob = Email::parse("bob@example.com").unwrap();
        let key = b"server secret";
        assert_eq!(
            decoy_credential_id(key, &ann),
            decoy_credential_id(key, &ann)
        );
        assert_ne!(
            decoy_credential_id(key, &ann),
            decoy_credential_id(key, &bob)
        );
        assert_ne!(
            decoy_credential_id(key, &ann),
            decoy_credential_id(b"other key", &ann)
        );
    }

    #[test]
    fn lengths_are_plausible() {
        for n in 0..50 {
            let email = Email::parse(&format!("user{n}@example.com")).unwrap();
            assert!(PLAUSIBLE_LENGTHS.contains(&decoy_credential_id(b"k", &email).len()));
        }
    }
}
