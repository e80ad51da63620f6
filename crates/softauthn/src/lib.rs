//! `monetro-softauthn`: a software FIDO2/WebAuthn authenticator that also
//! plays the browser (the WebAuthn *client*).
//!
//! It takes the `publicKey` member of WebAuthn Level 3
//! `PublicKeyCredentialCreationOptionsJSON` /
//! `PublicKeyCredentialRequestOptionsJSON` (as a [`serde_json::Value`], binary
//! fields base64url without padding; a `{"publicKey": {...}}` wrapper is
//! accepted too) and returns the `RegistrationResponseJSON` /
//! `AuthenticationResponseJSON` that `PublicKeyCredential.toJSON()` produces in
//! a browser.
//!
//! The crypto is real: ES256 (P-256) credential keys, CTAP2 authenticator data,
//! `"none"` attestation, DER ECDSA assertion signatures over
//! `authenticatorData || SHA-256(clientDataJSON)`. Credentials are discoverable
//! and kept inside the [`SoftAuthenticator`] value (no global state), which can
//! be cloned, shared between threads and serialised with serde.
//!
//! Every WebAuthn verification step a relying party performs can be violated on
//! purpose through [`Tweaks`] (the [`Default`] value is an honest ceremony).
//!
//! ```
//! use monetro_softauthn::{SoftAuthenticator, Tweaks};
//! use serde_json::json;
//!
//! let mut authenticator = SoftAuthenticator::new();
//! let creation = json!({
//!     "rp": {"id": "localhost", "name": "Monetro"},
//!     "user": {"id": "AAECAwQFBgcICQoLDA0ODw", "name": "a@b.c", "displayName": "Ann"},
//!     "challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZS1jaGFsbGVuZ2UtMTI",
//!     "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
//! });
//! let registration = authenticator.register(&creation, "http://localhost:8080")?;
//! assert_eq!(registration["type"], "public-key");
//!
//! let request = json!({"challenge": "b3RoZXItY2hhbGxlbmdl", "rpId": "localhost"});
//! let tweaks = Tweaks { origin: Some("https://evil.example".into()), ..Tweaks::default() };
//! let assertion = authenticator.authenticate_with(&request, "http://localhost:8080", &tweaks)?;
//! assert!(assertion["response"]["signature"].is_string());
//! # Ok::<(), monetro_softauthn::SoftAuthnError>(())
//! ```

mod authenticator;
mod credential;
mod encoding;
mod error;
mod options;
mod tweaks;

#[cfg(test)]
mod tests;

pub use authenticator::{Attachment, CounterMode, SoftAuthenticator};
pub use credential::StoredCredential;
pub use error::SoftAuthnError;
pub use tweaks::Tweaks;

/// Authenticator data flag: user present.
pub const FLAG_UP: u8 = 0x01;
/// Authenticator data flag: user verified.
pub const FLAG_UV: u8 = 0x04;
/// Authenticator data flag: backup eligible.
pub const FLAG_BE: u8 = 0x08;
/// Authenticator data flag: backup state (the credential is backed up / synced).
pub const FLAG_BS: u8 = 0x10;
/// Authenticator data flag: attested credential data included.
pub const FLAG_AT: u8 = 0x40;
/// Authenticator data flag: extension data included.
pub const FLAG_ED: u8 = 0x80;

/// COSE algorithm identifier of ES256 (ECDSA P-256 with SHA-256).
pub const COSE_ALG_ES256: i64 = -7;
