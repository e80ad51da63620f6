//! A credential held by the authenticator.

use std::sync::{Arc, OnceLock};

use p256::ecdsa::{SigningKey, VerifyingKey};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use serde::{Deserialize, Serialize};

use crate::SoftAuthnError;
use crate::encoding::{PublicKeyEncodings, public_key_encodings};

/// A discoverable ES256 credential held by a [`crate::SoftAuthenticator`].
///
/// Serialises (serde) with the binary fields as base64url strings and the
/// private key as its raw 32-byte scalar in base64url (`private_key`), so a
/// load generator can save its users to a state file and restore them with
/// [`crate::SoftAuthenticator::add_credential`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCredential {
    /// Credential id (`rawId`).
    #[serde(with = "b64_bytes")]
    pub id: Vec<u8>,
    /// RP ID it was created for.
    pub rp_id: String,
    /// User handle (`user.id` of the creation options).
    #[serde(with = "b64_bytes")]
    pub user_handle: Vec<u8>,
    /// `user.name` of the creation options (informational).
    #[serde(default)]
    pub user_name: String,
    /// Signature counter last sent.
    pub counter: u32,
    /// BE flag sent with this credential.
    pub backup_eligible: bool,
    /// BS flag sent with this credential.
    pub backup_state: bool,
    #[serde(rename = "private_key", with = "b64_signing_key")]
    signing_key: SigningKey,
    /// The same key for `ring`, whose signatures cost a tenth of
    /// RustCrypto's: the load generator signs one per sign-in on the
    /// machine it measures.
    #[serde(skip)]
    ring_key: OnceLock<Arc<EcdsaKeyPair>>,
}

impl StoredCredential {
    /// Assembles a credential from its parts (e.g. to import a key).
    #[must_use]
    pub fn new(id: Vec<u8>, rp_id: String, user_handle: Vec<u8>, signing_key: SigningKey) -> Self {
        Self {
            id,
            rp_id,
            user_handle,
            user_name: String::new(),
            counter: 0,
            backup_eligible: false,
            backup_state: false,
            signing_key,
            ring_key: OnceLock::new(),
        }
    }

    /// An ES256 signature (ASN.1 DER, as WebAuthn carries it) over `message`.
    pub(crate) fn sign_der(&self, message: &[u8]) -> Result<Vec<u8>, SoftAuthnError> {
        let key = match self.ring_key.get() {
            Some(key) => key,
            None => {
                let public = self.verifying_key().to_encoded_point(false);
                let key = EcdsaKeyPair::from_private_key_and_public_key(
                    &ECDSA_P256_SHA256_ASN1_SIGNING,
                    &self.signing_key.to_bytes(),
                    public.as_bytes(),
                    &SystemRandom::new(),
                )
                .map_err(|e| SoftAuthnError::Internal(format!("signing key: {e}")))?;
                self.ring_key.get_or_init(|| Arc::new(key))
            }
        };
        key.sign(&SystemRandom::new(), message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| SoftAuthnError::Internal("signing failed".into()))
    }

    /// The credential's private key.
    #[must_use]
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The credential's public key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// The public key as a COSE_Key (CBOR), as in the attested credential data.
    pub fn cose_public_key(&self) -> Result<Vec<u8>, SoftAuthnError> {
        Ok(self.encodings(crate::COSE_ALG_ES256)?.cose)
    }

    /// The public key as SubjectPublicKeyInfo DER (the registration
    /// response's `publicKey`).
    pub fn public_key_spki_der(&self) -> Result<Vec<u8>, SoftAuthnError> {
        self.encodings(crate::COSE_ALG_ES256)?
            .spki
            .ok_or_else(|| SoftAuthnError::Internal("no SPKI for ES256".into()))
    }

    pub(crate) fn encodings(&self, alg: i64) -> Result<PublicKeyEncodings, SoftAuthnError> {
        public_key_encodings(self.verifying_key(), alg)
    }
}

mod b64_bytes {
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::encoding::b64(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        crate::encoding::b64_decode(&text).map_err(serde::de::Error::custom)
    }
}

mod b64_signing_key {
    use p256::ecdsa::SigningKey;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(key: &SigningKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::encoding::b64(&key.to_bytes()))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SigningKey, D::Error> {
        let bytes = super::b64_bytes::deserialize(d)?;
        SigningKey::from_slice(&bytes).map_err(serde::de::Error::custom)
    }
}
