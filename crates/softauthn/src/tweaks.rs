//! Deliberate deviations from an honest ceremony.

use serde_json::{Map, Value};

/// Ways to make a ceremony violate one WebAuthn verification step.
///
/// `Tweaks::default()` is an honest ceremony. Build a tampered one with struct
/// update syntax:
///
/// ```
/// # use monetro_softauthn::{Tweaks, FLAG_UV};
/// let tweaks = Tweaks { flags_clear: FLAG_UV, ..Tweaks::default() };
/// ```
///
/// Tweaks only change what is *sent*; what the authenticator stores is left as
/// an honest ceremony would leave it, except where noted (a forced
/// [`counter`](Self::counter) is stored, a forced registration
/// [`credential_id`](Self::credential_id) is the id stored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tweaks {
    // ---- clientDataJSON ----
    /// Origin written into `clientDataJSON` instead of the real one (the real
    /// one is still used for the RP ID check).
    pub origin: Option<String>,
    /// `type` written into `clientDataJSON` instead of `webauthn.create` /
    /// `webauthn.get`.
    pub type_: Option<String>,
    /// Challenge bytes written (base64url) into `clientDataJSON` instead of the
    /// options' challenge.
    pub challenge: Option<Vec<u8>>,
    /// `crossOrigin` value (default `false`).
    pub cross_origin: Option<bool>,
    /// Adds a `topOrigin` member after `crossOrigin`.
    pub top_origin: Option<String>,
    /// Extra members appended to `clientDataJSON`, after the standard ones.
    pub client_data_extra: Option<Map<String, Value>>,
    /// Replaces the whole `clientDataJSON` with these bytes (wins over every
    /// other clientData tweak). The signature covers these bytes.
    pub raw_client_data_json: Option<Vec<u8>>,

    // ---- authenticatorData ----
    /// RP ID whose SHA-256 is written as `rpIdHash` (credential lookup and
    /// storage still use the real RP ID).
    pub rp_id: Option<String>,
    /// Raw `rpIdHash` (wins over [`rp_id`](Self::rp_id)).
    pub rp_id_hash: Option<[u8; 32]>,
    /// Flag bits to set, applied after the honest flags (see `FLAG_*`).
    pub flags_set: u8,
    /// Flag bits to clear, applied after [`flags_set`](Self::flags_set).
    /// Clearing `FLAG_AT` only clears the bit; the attested credential data
    /// stays (see [`omit_attested_credential_data`](Self::omit_attested_credential_data)).
    /// A registration with `FLAG_UP` (and `FLAG_UV`) cleared is what a
    /// password manager sends for a conditional create (automatic passkey
    /// upgrade): made without the user present.
    pub flags_clear: u8,
    /// Sign count written instead of the honest one. It is also stored as the
    /// credential's counter, so the next honest assertion continues from it.
    pub counter: Option<u32>,
    /// Registration: clear AT and leave out the attested credential data.
    pub omit_attested_credential_data: bool,
    /// Registration: COSE algorithm written into the credential public key.
    /// `-8` writes an OKP/Ed25519 key (fake, from the P-256 x coordinate),
    /// `-257` an RSA key (fake modulus, `publicKey` is then `null`), any other
    /// value a P-256 EC2 key labelled with that algorithm. The stored key stays
    /// P-256. When set, `pubKeyCredParams` is not checked.
    pub algorithm: Option<i64>,
    /// Registration: attestation statement format written as `fmt` instead of
    /// `"none"`; `attStmt` stays empty, so any format but `"none"` carries an
    /// attestation statement that cannot verify.
    pub attestation_format: Option<String>,

    // ---- credential selection ----
    /// Registration: the new credential's id instead of a random one (any
    /// length up to 65535; a held credential with the same id is replaced).
    /// Authentication: the held credential to use (any RP ID), bypassing
    /// `allowCredentials`; also how to pick one of several discoverable
    /// credentials. [`crate::SoftAuthnError::NoCredential`] if not held.
    pub credential_id: Option<Vec<u8>>,
    /// Registration: create even if `excludeCredentials` lists a held
    /// credential.
    pub ignore_exclude_credentials: bool,

    // ---- signature ----
    /// Authentication: sign a different message, giving a well-formed DER
    /// signature that does not verify.
    pub corrupt_signature: bool,
    /// Authentication: send these bytes as the signature (e.g. not DER).
    pub raw_signature: Option<Vec<u8>>,

    // ---- response JSON ----
    /// Authentication: `Some(Some(bytes))` sends that user handle,
    /// `Some(None)` leaves `userHandle` out.
    pub user_handle: Option<Option<Vec<u8>>>,
    /// `id` member different from `rawId`.
    pub response_id: Option<String>,
    /// `rawId` (and `id`, unless [`response_id`](Self::response_id) is set)
    /// different from the credential actually used.
    pub response_raw_id: Option<Vec<u8>>,
    /// `clientExtensionResults` instead of the honest one.
    pub client_extension_results: Option<Value>,
}
