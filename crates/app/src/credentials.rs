//! The credentials a browser sends back (`PublicKeyCredential.toJSON()`),
//! checked for shape before any ceremony is touched.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use monetro_domain::CredentialId;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_cbor_2::Value as CborValue;
use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

/// `RegistrationResponseJSON`: binary members strictly base64url without
/// padding, objects where objects belong, `type` `"public-key"`, `id` the
/// encoding of `rawId`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct RegistrationCredential(pub(crate) RegisterPublicKeyCredential);

/// `AuthenticationResponseJSON`, with the same shape rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Value")]
pub struct AuthenticationCredential(pub(crate) PublicKeyCredential);

/// The binary members of a registration (JSON pointers).
const REGISTRATION_BINARY: [&str; 3] = [
    "/rawId",
    "/response/clientDataJSON",
    "/response/attestationObject",
];

/// The binary members of an assertion (JSON pointers).
const AUTHENTICATION_BINARY: [&str; 5] = [
    "/rawId",
    "/response/clientDataJSON",
    "/response/authenticatorData",
    "/response/signature",
    "/response/userHandle",
];

/// The members of a registration that must be objects when present.
const REGISTRATION_OBJECTS: [&str; 6] = [
    "",
    "/response",
    "/clientExtensionResults",
    "/clientExtensionResults/credProps",
    "/extensions",
    "/extensions/credProps",
];

/// The members of an assertion that must be objects when present.
const AUTHENTICATION_OBJECTS: [&str; 6] = [
    "",
    "/response",
    "/clientExtensionResults",
    "/clientExtensionResults/hmac_get_secret",
    "/extensions",
    "/extensions/hmac_get_secret",
];

/// What webauthn-rs lets through but the contract does not: its base64
/// decoder takes padding and the standard alphabet, and serde reads its structs from arrays of their
/// members' values too.
fn check_json(credential: &Value, binary: &[&str], objects: &[&str]) -> Result<(), String> {
    for pointer in binary {
        if let Some(Value::String(text)) = credential.pointer(pointer)
            && !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "{} must be base64url without padding",
                pointer.trim_start_matches('/')
            ));
        }
    }
    for pointer in objects {
        match credential.pointer(pointer) {
            None | Some(Value::Object(_)) => {}
            Some(_) if pointer.is_empty() => return Err("credential must be an object".into()),
            Some(_) => {
                return Err(format!(
                    "{} must be an object",
                    pointer.trim_start_matches('/')
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

impl TryFrom<Value> for RegistrationCredential {
    type Error = String;

    fn try_from(credential: Value) -> Result<Self, Self::Error> {
        check_json(&credential, &REGISTRATION_BINARY, &REGISTRATION_OBJECTS)?;
        let credential: RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(|e| e.to_string())?;
        check_envelope(&credential.id, &credential.raw_id, &credential.type_)?;
        Ok(Self(credential))
    }
}

impl TryFrom<Value> for AuthenticationCredential {
    type Error = String;

    fn try_from(credential: Value) -> Result<Self, Self::Error> {
        check_json(&credential, &AUTHENTICATION_BINARY, &AUTHENTICATION_OBJECTS)?;
        let credential: PublicKeyCredential =
            serde_json::from_value(credential).map_err(|e| e.to_string())?;
        check_envelope(&credential.id, &credential.raw_id, &credential.type_)?;
        Ok(Self(credential))
    }
}

impl AuthenticationCredential {
    /// Refuses authenticator data with bytes after its last part, which
    /// webauthn-rs ignores.
    pub(crate) fn check_authenticator_data(&self) -> Result<(), &'static str> {
        exact_authenticator_data(&self.0.response.authenticator_data)
    }
}

impl RegistrationCredential {
    /// The members of the attestation object, when it is a CBOR map.
    fn attestation_members(&self) -> Option<BTreeMap<CborValue, CborValue>> {
        match serde_cbor_2::from_slice(&self.0.response.attestation_object) {
            Ok(CborValue::Map(members)) => Some(members),
            _ => None,
        }
    }

    /// Refuses what webauthn-rs lets through in the attestation object: an
    /// `authData` with bytes after its last part, and a `none` attestation
    /// whose statement is not the empty map (WebAuthn §8.7). The rest is
    /// left to webauthn-rs.
    pub(crate) fn check_attestation_object(&self) -> Result<(), &'static str> {
        let Some(members) = self.attestation_members() else {
            return Ok(());
        };
        if let Some(CborValue::Text(format)) = member(&members, "fmt")
            && format == "none"
            && !matches!(member(&members, "attStmt"), Some(CborValue::Map(statement)) if statement.is_empty())
        {
            return Err("the statement of a none attestation must be empty");
        }
        match member(&members, "authData") {
            Some(CborValue::Bytes(data)) => exact_authenticator_data(data),
            _ => Ok(()),
        }
    }

    /// The authenticator model's AAGUID, from the attested credential data
    /// in the attestation object's `authData` (bytes 37–52). webauthn-rs
    /// does not expose it for `attestation: "none"`. Nil when absent.
    pub fn aaguid(&self) -> Uuid {
        let members = self.attestation_members().unwrap_or_default();
        match member(&members, "authData") {
            Some(CborValue::Bytes(data)) => data
                .get(37..53)
                .and_then(|bytes| Uuid::from_slice(bytes).ok())
                .unwrap_or_else(Uuid::nil),
            _ => Uuid::nil(),
        }
    }
}

/// The member of a CBOR map with a text key `name`.
fn member<'a>(members: &'a BTreeMap<CborValue, CborValue>, name: &str) -> Option<&'a CborValue> {
    members.get(&CborValue::Text(name.to_owned()))
}

/// Authenticator data flag: attested credential data included.
const FLAG_AT: u8 = 0x40;
/// Authenticator data flag: extension data included.
const FLAG_ED: u8 = 0x80;

/// Checks that authenticator data ends with its last part (WebAuthn §6.1):
/// `rpIdHash`, flags and `signCount` (37 bytes), the attested credential
/// data when AT is set (AAGUID, id length, id, COSE key), the extensions
/// map when ED is set, and nothing after them.
fn exact_authenticator_data(data: &[u8]) -> Result<(), &'static str> {
    const TRUNCATED: &str = "authenticator data is truncated";
    let flags = data.get(32).copied().ok_or(TRUNCATED)?;
    let mut rest = data.get(37..).ok_or(TRUNCATED)?;
    if flags & FLAG_AT != 0 {
        let length: [u8; 2] = rest
            .get(16..18)
            .and_then(|length| length.try_into().ok())
            .ok_or(TRUNCATED)?;
        let id_length = usize::from(u16::from_be_bytes(length));
        rest = rest.get(18 + id_length..).ok_or(TRUNCATED)?;
        rest = skip_cbor_item(rest).ok_or("the credential public key is not CBOR")?;
    }
    if flags & FLAG_ED != 0 {
        rest = skip_cbor_item(rest).ok_or("the extensions are not CBOR")?;
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err("authenticator data has bytes after its last part")
    }
}

/// What follows the CBOR item at the start of `data`.
fn skip_cbor_item(data: &[u8]) -> Option<&[u8]> {
    let mut deserializer = serde_cbor_2::Deserializer::from_slice(data);
    CborValue::deserialize(&mut deserializer).ok()?;
    data.get(deserializer.byte_offset()..)
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

    /// `text` with the padding a padded encoder would add.
    fn padded(text: &str) -> String {
        format!("{text}{}", "=".repeat((4 - text.len() % 4) % 4))
    }

    #[test]
    fn refuses_canonical_padding_in_every_binary_member() {
        // 32 bytes take 43 characters: one `=` of canonical padding, which
        // webauthn-rs's decoder would take.
        let id = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let registration = json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": { "clientDataJSON": "e30", "attestationObject": "oA" }
        });
        let assertion = json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": { "clientDataJSON": "e30", "authenticatorData": "AA",
                          "signature": "AA", "userHandle": "AAE" }
        });
        assert!(serde_json::from_value::<RegistrationCredential>(registration.clone()).is_ok());
        assert!(serde_json::from_value::<AuthenticationCredential>(assertion.clone()).is_ok());
        for pointer in REGISTRATION_BINARY {
            let mut body = registration.clone();
            let member = body.pointer_mut(pointer).unwrap();
            *member = json!(padded(member.as_str().unwrap()));
            let parsed = serde_json::from_value::<RegistrationCredential>(body);
            assert!(parsed.is_err(), "{pointer}");
        }
        for pointer in AUTHENTICATION_BINARY {
            let mut body = assertion.clone();
            let member = body.pointer_mut(pointer).unwrap();
            *member = json!(padded(member.as_str().unwrap()));
            let parsed = serde_json::from_value::<AuthenticationCredential>(body);
            assert!(parsed.is_err(), "{pointer}");
        }
    }

    #[test]
    fn refuses_arrays_where_objects_belong() {
        let mut body = registration("AAEC_-8", "AAEC_-8");
        body["clientExtensionResults"] = json!([]);
        assert!(serde_json::from_value::<RegistrationCredential>(body).is_err());
        let mut body = registration("AAEC_-8", "AAEC_-8");
        body["response"] = json!(["e30", "oA"]);
        assert!(serde_json::from_value::<RegistrationCredential>(body).is_err());
        let body = json!(["AAEC_-8", "AAEC_-8", { "clientDataJSON": "e30", "attestationObject": "oA" }, "public-key", {}]);
        assert!(serde_json::from_value::<RegistrationCredential>(body).is_err());
    }

    #[test]
    fn authenticator_data_must_end_with_its_last_part() {
        let plain = vec![0u8; 37];
        assert_eq!(exact_authenticator_data(&plain), Ok(()));
        assert!(exact_authenticator_data(&plain[..36]).is_err());
        assert!(exact_authenticator_data(&[plain.as_slice(), &[0]].concat()).is_err());

        // ED: one CBOR map follows.
        let mut extended = plain.clone();
        extended[32] = FLAG_ED;
        assert_eq!(
            exact_authenticator_data(&[extended.as_slice(), &[0xa0]].concat()),
            Ok(())
        );
        assert!(exact_authenticator_data(&extended).is_err());
        assert!(exact_authenticator_data(&[extended.as_slice(), &[0xa0, 0]].concat()).is_err());

        // AT: AAGUID, a 2-byte id, then one CBOR key.
        let mut attested = plain;
        attested[32] = FLAG_AT;
        attested.extend_from_slice(&[0; 16]);
        attested.extend_from_slice(&[0, 2, 9, 9]);
        assert!(exact_authenticator_data(&attested).is_err());
        attested.push(0xa0);
        assert_eq!(exact_authenticator_data(&attested), Ok(()));
        assert!(exact_authenticator_data(&[attested.as_slice(), &[0xf6]].concat()).is_err());
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
