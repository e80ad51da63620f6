//! The credential JSON a browser posts (`RegistrationResponseJSON`,
//! `AuthenticationResponseJSON`), parsed into the service's credential
//! types, and the AAGUID read from the attestation object. Never panics;
//! an accepted credential has type `public-key`, a 1–1023 byte `rawId` of
//! which `id` is the encoding, and every binary member strictly unpadded
//! base64url (API.md); the AAGUID is nil or bytes 37–52 of `authData`.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use monetro_app::{AuthenticationCredential, RegistrationCredential};
use monetro_fuzz::member;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // As the service reads a body: a JSON value first (`routes::Object`),
    // then the credential member from it.
    let Ok(json) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(credential) = serde_json::from_value::<RegistrationCredential>(json.clone()) {
        envelope(&json);
        strict(&json, &["response", "clientDataJSON"]);
        let attestation = strict(&json, &["response", "attestationObject"]);
        let aaguid = credential.aaguid();
        if !aaguid.is_nil() {
            assert!(
                auth_data(&attestation)
                    .iter()
                    .any(|data| data.get(37..53) == Some(aaguid.as_bytes().as_slice())),
                "AAGUID {aaguid} is not in authData"
            );
        }
    }
    if serde_json::from_value::<AuthenticationCredential>(json.clone()).is_ok() {
        envelope(&json);
        for name in ["clientDataJSON", "authenticatorData", "signature"] {
            strict(&json, &["response", name]);
        }
        if !member(&json, &["response", "userHandle"]).is_null() {
            strict(&json, &["response", "userHandle"]);
        }
    }
});

fn envelope(json: &Value) {
    assert_eq!(member(json, &["type"]), "public-key");
    let raw_id = strict(json, &["rawId"]);
    assert!(
        (1..=1023).contains(&raw_id.len()),
        "rawId of {} bytes",
        raw_id.len()
    );
    assert_eq!(
        member(json, &["id"]).as_str(),
        Some(URL_SAFE_NO_PAD.encode(&raw_id).as_str())
    );
}

/// The bytes of a binary member, which must be unpadded base64url.
fn strict(json: &Value, path: &[&str]) -> Vec<u8> {
    let value = member(json, path);
    let Some(text) = value.as_str() else {
        panic!("{path:?} accepted as {value}");
    };
    match URL_SAFE_NO_PAD.decode(text) {
        Ok(bytes) => bytes,
        Err(e) => panic!("{path:?} accepted as {text:?}: {e}"),
    }
}

/// Every `authData` byte string of a CBOR map, as an independent decoder
/// reads it.
fn auth_data(attestation: &[u8]) -> Vec<Vec<u8>> {
    match ciborium::from_reader::<ciborium::Value, _>(attestation) {
        Ok(ciborium::Value::Map(members)) => members
            .into_iter()
            .filter_map(|(key, value)| match (key, value) {
                (ciborium::Value::Text(key), ciborium::Value::Bytes(data)) if key == "authData" => {
                    Some(data)
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
