//! The authenticator + client.

use p256::ecdsa::SigningKey;
use rand::RngCore as _;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::encoding::{ClientData, attestation_object, b64, resolve_rp_id, sha256};
use crate::options::{CreationOptions, RequestOptions};
use crate::{
    FLAG_AT, FLAG_BE, FLAG_BS, FLAG_UP, FLAG_UV, SoftAuthnError, StoredCredential, Tweaks,
};

/// Length of generated credential ids.
const CREDENTIAL_ID_LEN: usize = 32;

/// How the authenticator maintains signature counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterMode {
    /// A per-credential counter incremented on each assertion (like a
    /// security key). Credentials are not backup eligible (BE = BS = 0).
    #[default]
    Incrementing,
    /// The counter is always 0 and credentials are backup eligible and backed
    /// up (BE = BS = 1), like a synced iCloud Keychain / Google passkey.
    AlwaysZeroSynced,
}

/// The `authenticatorAttachment` the client reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attachment {
    /// `"platform"` (built into the device).
    #[default]
    Platform,
    /// `"cross-platform"` (a roaming security key or a phone over hybrid).
    CrossPlatform,
}

impl Attachment {
    /// The WebAuthn string value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::CrossPlatform => "cross-platform",
        }
    }
}

/// A software authenticator together with the browser-side client logic.
///
/// It holds its credentials itself (no global state): clone it to fork a
/// device, serialise it with serde to save one. All credentials are
/// discoverable ES256 credentials; user presence and user verification are
/// always asserted (UP = UV = 1) unless tweaked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoftAuthenticator {
    #[serde(with = "aaguid_serde")]
    aaguid: [u8; 16],
    counter_mode: CounterMode,
    attachment: Attachment,
    transports: Vec<String>,
    credentials: Vec<StoredCredential>,
}

impl Default for SoftAuthenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl SoftAuthenticator {
    /// An empty authenticator: incrementing counters, all-zero AAGUID,
    /// `"platform"` attachment, transports `["internal", "hybrid"]`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            aaguid: [0; 16],
            counter_mode: CounterMode::Incrementing,
            attachment: Attachment::Platform,
            transports: vec!["internal".to_owned(), "hybrid".to_owned()],
            credentials: Vec::new(),
        }
    }

    /// Sets the AAGUID written into attested credential data.
    #[must_use]
    pub fn with_aaguid(mut self, aaguid: [u8; 16]) -> Self {
        self.aaguid = aaguid;
        self
    }

    /// Sets the counter mode (and so the BE/BS flags of new credentials).
    #[must_use]
    pub fn with_counter_mode(mut self, mode: CounterMode) -> Self {
        self.counter_mode = mode;
        self
    }

    /// Sets the reported `authenticatorAttachment`.
    #[must_use]
    pub fn with_attachment(mut self, attachment: Attachment) -> Self {
        self.attachment = attachment;
        self
    }

    /// Sets the `transports` reported at registration.
    #[must_use]
    pub fn with_transports(mut self, transports: &[&str]) -> Self {
        self.transports = transports.iter().map(|&t| t.to_owned()).collect();
        self
    }

    /// The AAGUID.
    #[must_use]
    pub fn aaguid(&self) -> [u8; 16] {
        self.aaguid
    }

    /// The counter mode.
    #[must_use]
    pub fn counter_mode(&self) -> CounterMode {
        self.counter_mode
    }

    /// The held credentials, oldest first.
    #[must_use]
    pub fn credentials(&self) -> &[StoredCredential] {
        &self.credentials
    }

    /// The held credential with this id, if any.
    #[must_use]
    pub fn credential(&self, id: &[u8]) -> Option<&StoredCredential> {
        self.credentials.iter().find(|c| c.id == id)
    }

    /// Adds a credential (e.g. one restored from a state file), replacing a
    /// held credential with the same id.
    pub fn add_credential(&mut self, credential: StoredCredential) {
        self.credentials.retain(|c| c.id != credential.id);
        self.credentials.push(credential);
    }

    /// Forgets the credential with this id; returns whether one was held.
    pub fn remove_credential(&mut self, id: &[u8]) -> bool {
        let before = self.credentials.len();
        self.credentials.retain(|c| c.id != id);
        self.credentials.len() != before
    }

    /// An honest `navigator.credentials.create()`; see [`Self::register_with`].
    pub fn register(
        &mut self,
        public_key_options: &Value,
        origin: &str,
    ) -> Result<Value, SoftAuthnError> {
        self.register_with(public_key_options, origin, &Tweaks::default())
    }

    /// `navigator.credentials.create({publicKey})` from `origin`, returning
    /// `RegistrationResponseJSON`. Creates and stores a new discoverable ES256
    /// credential with `"none"` attestation.
    ///
    /// # Errors
    /// [`SoftAuthnError::InvalidOptions`] for malformed options,
    /// [`SoftAuthnError::Security`] if `rp.id` does not fit `origin`,
    /// [`SoftAuthnError::UnsupportedAlgorithm`] if -7 is not offered,
    /// [`SoftAuthnError::Excluded`] if `excludeCredentials` lists a held
    /// credential for the RP ID.
    pub fn register_with(
        &mut self,
        public_key_options: &Value,
        origin: &str,
        tweaks: &Tweaks,
    ) -> Result<Value, SoftAuthnError> {
        let options = CreationOptions::parse(public_key_options)?;
        let rp_id = resolve_rp_id(options.rp_id.as_deref(), origin)?;
        if tweaks.algorithm.is_none() && !options.es256_offered {
            return Err(SoftAuthnError::UnsupportedAlgorithm);
        }
        if !tweaks.ignore_exclude_credentials
            && options.exclude.iter().any(|id| {
                self.credentials
                    .iter()
                    .any(|c| c.rp_id == rp_id && c.id == *id)
            })
        {
            return Err(SoftAuthnError::Excluded);
        }

        let id = match &tweaks.credential_id {
            Some(id) => id.clone(),
            None => {
                let mut id = vec![0; CREDENTIAL_ID_LEN];
                OsRng.fill_bytes(&mut id);
                id
            }
        };
        let id_len = u16::try_from(id.len()).map_err(|_| {
            SoftAuthnError::InvalidOptions(format!(
                "credential id of {} bytes is too long",
                id.len()
            ))
        })?;
        let synced = self.counter_mode == CounterMode::AlwaysZeroSynced;
        let counter = tweaks.counter.unwrap_or(0);
        let mut credential =
            StoredCredential::new(id, rp_id, options.user_id, SigningKey::random(&mut OsRng));
        credential.user_name = options.user_name;
        credential.counter = counter;
        credential.backup_eligible = synced;
        credential.backup_state = synced;

        let public_key = credential.encodings(tweaks.algorithm.unwrap_or(crate::COSE_ALG_ES256))?;
        let mut flags = FLAG_UP | FLAG_UV | backup_flags(&credential);
        if !tweaks.omit_attested_credential_data {
            flags |= FLAG_AT;
        }
        let mut auth_data =
            Vec::with_capacity(37 + 18 + credential.id.len() + public_key.cose.len());
        push_auth_data_header(&mut auth_data, &credential.rp_id, flags, counter, tweaks);
        if !tweaks.omit_attested_credential_data {
            auth_data.extend_from_slice(&self.aaguid);
            auth_data.extend_from_slice(&id_len.to_be_bytes());
            auth_data.extend_from_slice(&credential.id);
            auth_data.extend_from_slice(&public_key.cose);
        }

        let client_data_json =
            client_data_json("webauthn.create", &options.challenge, origin, tweaks);
        let attestation_object = attestation_object(
            tweaks.attestation_format.as_deref().unwrap_or("none"),
            &auth_data,
        )?;
        let (id_b64, raw_id_b64) = response_ids(&credential.id, tweaks);
        let mut response = json!({
            "id": id_b64,
            "rawId": raw_id_b64,
            "type": "public-key",
            "authenticatorAttachment": self.attachment.as_str(),
            "clientExtensionResults": tweaks
                .client_extension_results
                .clone()
                .unwrap_or_else(|| json!({"credProps": {"rk": true}})),
            "response": {
                "clientDataJSON": b64(&client_data_json),
                "attestationObject": b64(&attestation_object),
                "transports": self.transports,
                "publicKeyAlgorithm": public_key.alg,
                "authenticatorData": b64(&auth_data),
            },
        });
        // Like a browser, leave `publicKey` out for a key it cannot express as SPKI.
        if let (Some(spki), Some(inner)) = (
            &public_key.spki,
            response.get_mut("response").and_then(Value::as_object_mut),
        ) {
            inner.insert("publicKey".to_owned(), Value::String(b64(spki)));
        }
        self.add_credential(credential);
        Ok(response)
    }

    /// An honest `navigator.credentials.get()`; see [`Self::authenticate_with`].
    pub fn authenticate(
        &mut self,
        public_key_options: &Value,
        origin: &str,
    ) -> Result<Value, SoftAuthnError> {
        self.authenticate_with(public_key_options, origin, &Tweaks::default())
    }

    /// `navigator.credentials.get({publicKey})` from `origin`, returning
    /// `AuthenticationResponseJSON`.
    ///
    /// The credential used is [`Tweaks::credential_id`] if given; else, when
    /// `allowCredentials` is non-empty, the first listed one held for the RP
    /// ID; else the most recently created one held for the RP ID. In
    /// [`CounterMode::Incrementing`] its counter is incremented and stored.
    ///
    /// # Errors
    /// [`SoftAuthnError::InvalidOptions`] for malformed options,
    /// [`SoftAuthnError::Security`] if `rpId` does not fit `origin`,
    /// [`SoftAuthnError::NoCredential`] if no held credential qualifies.
    pub fn authenticate_with(
        &mut self,
        public_key_options: &Value,
        origin: &str,
        tweaks: &Tweaks,
    ) -> Result<Value, SoftAuthnError> {
        let options = RequestOptions::parse(public_key_options)?;
        let rp_id = resolve_rp_id(options.rp_id.as_deref(), origin)?;
        let index = self
            .select(&rp_id, &options.allow, tweaks.credential_id.as_deref())
            .ok_or(SoftAuthnError::NoCredential)?;
        let counter_mode = self.counter_mode;
        let credential = self
            .credentials
            .get_mut(index)
            .ok_or(SoftAuthnError::NoCredential)?;
        let counter = match (tweaks.counter, counter_mode) {
            (Some(forced), _) => forced,
            (None, CounterMode::Incrementing) => credential.counter.wrapping_add(1),
            (None, CounterMode::AlwaysZeroSynced) => 0,
        };
        credential.counter = counter;
        let credential: &StoredCredential = credential;

        let flags = FLAG_UP | FLAG_UV | backup_flags(credential);
        let mut auth_data = Vec::with_capacity(37);
        push_auth_data_header(&mut auth_data, &rp_id, flags, counter, tweaks);
        let client_data_json = client_data_json("webauthn.get", &options.challenge, origin, tweaks);

        let signature = match &tweaks.raw_signature {
            Some(raw) => raw.clone(),
            None => {
                let mut signed = auth_data.clone();
                signed.extend_from_slice(&sha256(&client_data_json));
                if tweaks.corrupt_signature {
                    signed.push(0x00);
                }
                credential.sign_der(&signed)?
            }
        };
        let user_handle = match &tweaks.user_handle {
            Some(replacement) => replacement.as_deref().map(b64),
            None => Some(b64(&credential.user_handle)),
        };
        let (id_b64, raw_id_b64) = response_ids(&credential.id, tweaks);
        let mut response = json!({
            "clientDataJSON": b64(&client_data_json),
            "authenticatorData": b64(&auth_data),
            "signature": b64(&signature),
        });
        if let (Some(handle), Some(object)) = (user_handle, response.as_object_mut()) {
            object.insert("userHandle".to_owned(), Value::String(handle));
        }
        Ok(json!({
            "id": id_b64,
            "rawId": raw_id_b64,
            "type": "public-key",
            "authenticatorAttachment": self.attachment.as_str(),
            "clientExtensionResults": tweaks.client_extension_results.clone().unwrap_or_else(|| json!({})),
            "response": response,
        }))
    }

    fn select(&self, rp_id: &str, allow: &[Vec<u8>], forced: Option<&[u8]>) -> Option<usize> {
        if let Some(id) = forced {
            return self.credentials.iter().position(|c| c.id == id);
        }
        if allow.is_empty() {
            return self.credentials.iter().rposition(|c| c.rp_id == rp_id);
        }
        allow.iter().find_map(|id| {
            self.credentials
                .iter()
                .position(|c| c.rp_id == rp_id && c.id == *id)
        })
    }
}

fn backup_flags(credential: &StoredCredential) -> u8 {
    let mut flags = 0;
    if credential.backup_eligible {
        flags |= FLAG_BE;
    }
    if credential.backup_state {
        flags |= FLAG_BS;
    }
    flags
}

/// rpIdHash | flags | signCount, with the tweaks applied.
fn push_auth_data_header(out: &mut Vec<u8>, rp_id: &str, flags: u8, counter: u32, tweaks: &Tweaks) {
    let rp_id_hash = tweaks
        .rp_id_hash
        .unwrap_or_else(|| sha256(tweaks.rp_id.as_deref().unwrap_or(rp_id).as_bytes()));
    out.extend_from_slice(&rp_id_hash);
    out.push((flags | tweaks.flags_set) & !tweaks.flags_clear);
    out.extend_from_slice(&counter.to_be_bytes());
}

fn client_data_json(type_: &str, challenge: &[u8], origin: &str, tweaks: &Tweaks) -> Vec<u8> {
    if let Some(raw) = &tweaks.raw_client_data_json {
        return raw.clone();
    }
    let challenge_b64 = b64(tweaks.challenge.as_deref().unwrap_or(challenge));
    ClientData {
        type_: tweaks.type_.as_deref().unwrap_or(type_),
        challenge_b64: &challenge_b64,
        origin: tweaks.origin.as_deref().unwrap_or(origin),
        cross_origin: tweaks.cross_origin.unwrap_or(false),
        top_origin: tweaks.top_origin.as_deref(),
        extra: tweaks.client_data_extra.as_ref(),
    }
    .to_json_bytes()
}

/// `(id, rawId)` of the response JSON.
fn response_ids(credential_id: &[u8], tweaks: &Tweaks) -> (String, String) {
    let raw_id = b64(tweaks.response_raw_id.as_deref().unwrap_or(credential_id));
    let id = tweaks.response_id.clone().unwrap_or_else(|| raw_id.clone());
    (id, raw_id)
}

mod aaguid_serde {
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(aaguid: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&uuid::Uuid::from_bytes(*aaguid).hyphenated())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        uuid::Uuid::parse_str(&text)
            .map(uuid::Uuid::into_bytes)
            .map_err(serde::de::Error::custom)
    }
}
