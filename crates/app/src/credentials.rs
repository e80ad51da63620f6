//! The credentials a browser sends back (`PublicKeyCredential.toJSON()`),
//! checked for shape before any ceremony is touched.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use monetro_domain::CredentialId;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

/// `RegistrationResponseJSON`: binary members strictly base64url without
/// padding, `type` `"public-key"`, `id` the encoding of `rawId`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct RegistrationCredential(pub(crate) RegisterPublicKeyCredential);

/// `AuthenticationResponseJSON`, with the same shape rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct AuthenticationCredential(pub(crate) PublicKeyCredential);

/// The binary members of each credential (`[member]` or
/// `[member, inner member]`).
const REGISTRATION_BINARY: [&[&str]; 3] = [
    &["rawId"],
    &["response", "clientDataJSON"],
    &["response", "attestationObject"],
];
const AUTHENTICATION_BINARY: [&[&str]; 5] = [
    &["rawId"],
    &["response", "clientDataJSON"],
    &["response", "authenticatorData"],
    &["response", "signature"],
    &["response", "userHandle"],
];

/// webauthn-rs also decodes padded base64url; API.md allows only unpadded
/// base64url, so the strings are checked before it sees them. A member that
/// is absent or not a string is left for it to refuse.
fn check_binary(json: &Value, members: &[&[&str]]) -> Result<(), String> {
    for path in members {
        let member = path.iter().try_fold(json, |value, name| value.get(name));
        if let Some(Value::String(text)) = member {
            let unpadded_base64url = text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !unpadded_base64url {
                return Err(format!(
                    "{} must be base64url without padding",
                    path.join(".")
                ));
            }
        }
    }
    Ok(())
}

fn check_envelope(id: &str, raw_id: &[u8], type_: &str) -> Result<(), String> {
    if type_ != "public-key" {
        return Err("credential type must be \"public-key\"".into());
    }
    if raw_id.is_empty() || raw_id.len() > CredentialId::MAX_LEN {
        return Err("rawId must be 1–1023 bytes".into());
    }
    if URL_SAFE_NO_PAD.encode(raw_id) != id {
        return Err("id must be the base64url encoding of rawId".into());
    }
    Ok(())
}

impl TryFrom<Value> for RegistrationCredential {
    type Error = String;

    fn try_from(json: Value) -> Result<Self, Self::Error> {
        check_binary(&json, &REGISTRATION_BINARY)?;
        let credential: RegisterPublicKeyCredential =
            serde_json::from_value(json).map_err(|e| e.to_string())?;
        check_envelope(&credential.id, &credential.raw_id, &credential.type_)?;
        Ok(Self(credential))
    }
}

impl TryFrom<Value> for AuthenticationCredential {
    type Error = String;

    fn try_from(json: Value) -> Result<Self, Self::Error> {
        check_binary(&json, &AUTHENTICATION_BINARY)?;
        let credential: PublicKeyCredential =
            serde_json::from_value(json).map_err(|e| e.to_string())?;
        check_envelope(&credential.id, &credential.raw_id, &credential.type_)?;
        Ok(Self(credential))
    }
}

impl RegistrationCredential {
    /// The authenticator model's AAGUID, from the attested credential data
    /// in the attestation object's `authData` (bytes 37–52). webauthn-rs
    /// does not expose it for `attestation: "none"`. Nil when absent.
    pub fn aaguid(&self) -> Uuid {
        let attestation: Result<serde_cbor_2::Value, _> =
            serde_cbor_2::from_slice(&self.0.response.attestation_object);
        let Ok(serde_cbor_2::Value::Map(members)) = attestation else {
            return Uuid::nil();
        };
        let auth_data = members.iter().find_map(|(key, value)| match (key, value) {
            (serde_cbor_2::Value::Text(key), serde_cbor_2::Value::Bytes(data))
                if key == "authData" =>
            {
                Some(data)
            }
            _ => None,
        });
        auth_data
            .and_then(|data| data.get(37..53))
            .and_then(|bytes| Uuid::from_slice(bytes).ok())
            .unwrap_or_else(Uuid::nil)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn registration(id: &str, raw_id: &str) -> serde_json::Value {
        json!({
            "id": id, "rawId": raw_id, "type": "public-key",
            "response": { "clientDataJSON": "e30", "attestationObject": "oA" },
            "clientExtensionResults": {}
        })
    }

    #[test]
    fn accepts_unpadded_base64url() {
        let parsed: Result<RegistrationCredential, _> =
            serde_json::from_value(registration("AAEC_-8", "AAEC_-8"));
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn refuses_padding_and_the_standard_alphabet() {
        for (id, raw) in [("AAEC_-8=", "AAEC_-8="), ("AAEC/+8", "AAEC/+8")] {
            let parsed: Result<RegistrationCredential, _> =
                serde_json::from_value(registration(id, raw));
            assert!(parsed.is_err(), "{raw} accepted");
        }
    }

    /// Found by fuzzing (`fuzz/corpus/credential_json/crash-padded`):
    /// webauthn-rs decoded padded members, which API.md refuses.
    #[test]
    fn refuses_padding_and_the_standard_alphabet_in_every_binary_member() {
        let mut padded = registration("AAEC_-8", "AAEC_-8");
        padded["response"]["attestationObject"] = json!("oA==");
        let mut standard = registration("AAEC_-8", "AAEC/+8");
        standard["response"]["clientDataJSON"] = json!("e30");
        for body in [padded, standard] {
            let parsed: Result<RegistrationCredential, _> = serde_json::from_value(body.clone());
            assert!(parsed.is_err(), "{body} accepted");
        }
        let assertion = json!({
            "id": "AAEC_-8", "rawId": "AAEC_-8", "type": "public-key",
            "response": {
                "clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA",
                "userHandle": "AA=="
            }
        });
        assert!(serde_json::from_value::<AuthenticationCredential>(assertion).is_err());
    }

    #[test]
    fn refuses_an_id_that_is_not_raw_id() {
        let parsed: Result<RegistrationCredential, _> =
            serde_json::from_value(registration("AAAA", "AAEC_-8"));
        assert!(parsed.is_err());
    }

    #[test]
    fn refuses_other_credential_types() {
        let mut body = registration("AAEC_-8", "AAEC_-8");
        body["type"] = json!("password");
        assert!(serde_json::from_value::<RegistrationCredential>(body).is_err());
    }

    #[test]
    fn refuses_credential_ids_over_1023_bytes() {
        let long = URL_SAFE_NO_PAD.encode(vec![7u8; 1024]);
        let body = json!({
            "id": long, "rawId": long, "type": "public-key",
            "response": { "clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA" }
        });
        assert!(serde_json::from_value::<AuthenticationCredential>(body).is_err());
    }
}
