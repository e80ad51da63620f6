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
#[serde(try_from = "RegisterPublicKeyCredential")]
pub struct RegistrationCredential(pub(crate) RegisterPublicKeyCredential);

/// `AuthenticationResponseJSON`, with the same shape rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "PublicKeyCredential")]
pub struct AuthenticationCredential(pub(crate) PublicKeyCredential);

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

/// WebAuthn Level 3 §7.1 steps 10–11 and §7.2 steps 13–14: the service's
/// pages are never framed (`X-Frame-Options: DENY`), so a response made in a
/// cross-origin iframe (`crossOrigin` other than `false`, or any
/// `topOrigin`) was made for some other site's page. webauthn-rs checks
/// `crossOrigin` only at registration and never looks at `topOrigin`.
pub(crate) fn refuse_cross_origin_frames(client_data_json: &[u8]) -> Result<(), &'static str> {
    let client_data: serde_json::Map<String, Value> = serde_json::from_slice(client_data_json)
        .map_err(|_| "clientDataJSON is not a JSON object")?;
    if client_data
        .get("crossOrigin")
        .is_some_and(|cross| *cross != Value::Bool(false))
    {
        return Err("clientDataJSON.crossOrigin is set: cross-origin iframes are not allowed");
    }
    if client_data.contains_key("topOrigin") {
        return Err("clientDataJSON.topOrigin is present: cross-origin iframes are not allowed");
    }
    Ok(())
}

impl TryFrom<RegisterPublicKeyCredential> for RegistrationCredential {
    type Error = String;

    fn try_from(credential: RegisterPublicKeyCredential) -> Result<Self, Self::Error> {
        check_envelope(&credential.id, &credential.raw_id, &credential.type_)?;
        Ok(Self(credential))
    }
}

impl TryFrom<PublicKeyCredential> for AuthenticationCredential {
    type Error = String;

    fn try_from(credential: PublicKeyCredential) -> Result<Self, Self::Error> {
        check_envelope(&credential.id, &credential.raw_id, &credential.type_)?;
        Ok(Self(credential))
    }
}

impl RegistrationCredential {
    /// The authenticator model's AAGUID, from the attested credential data
    /// in the attestation object's `authData` (bytes 37–52). webauthn-rs
    /// does not expose it for `attestation: "none"`. Nil when absent.
    pub(crate) fn aaguid(&self) -> Uuid {
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
    fn only_same_origin_client_data_passes_the_frame_check() {
        let same_origin = br#"{"type":"webauthn.get","crossOrigin":false}"#;
        assert!(refuse_cross_origin_frames(same_origin).is_ok());
        assert!(refuse_cross_origin_frames(br#"{"type":"webauthn.get"}"#).is_ok());
        for framed in [
            br#"{"type":"webauthn.get","crossOrigin":true}"#.as_slice(),
            br#"{"type":"webauthn.get","crossOrigin":"true"}"#,
            br#"{"type":"webauthn.get","crossOrigin":false,"topOrigin":"https://evil.example"}"#,
            br#"{"type":"webauthn.get","topOrigin":null}"#,
            b"not json",
        ] {
            assert!(
                refuse_cross_origin_frames(framed).is_err(),
                "{}",
                String::from_utf8_lossy(framed)
            );
        }
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
