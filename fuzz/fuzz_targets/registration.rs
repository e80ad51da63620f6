//! A registration finish with a fuzzed attestation object: the
//! `attestationObject` (CBOR: `fmt`, `attStmt`, `authData` with the attested
//! credential and its COSE key) of a `RegistrationResponseJSON` whose
//! `clientDataJSON` answers a live ceremony, through the use case as the
//! service runs it (webauthn-rs's verification, then the service's own
//! AAGUID, name and transports). Never panics; a refused credential is
//! `REGISTRATION_FAILED` or `VALIDATION_FAILED`, never an internal error;
//! a stored passkey holds the credential id, AAGUID, flags and counter of
//! the `authData` that was sent.
//!
//! Input: the attestation object's bytes.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use monetro_app::{RegistrationCredential, Signup};
use monetro_domain::{ErrorCode, RequestOrigin, authenticator_name};
use monetro_fuzz::{Memory, ORIGIN, block_on, member};
use monetro_ports::CredentialRepository as _;
use serde_json::json;
use uuid::Uuid;

fuzz_target!(|attestation: &[u8]| {
    block_on(register(attestation));
});

/// What the attested credential data of `authData` says, read
/// independently of webauthn-rs.
struct Attested {
    flags: u8,
    counter: u32,
    aaguid: Uuid,
    credential_id: Vec<u8>,
}

fn attested(attestation: &[u8]) -> Option<Attested> {
    let ciborium::Value::Map(members) = ciborium::from_reader(attestation).ok()? else {
        return None;
    };
    let auth_data = members
        .into_iter()
        .find_map(|(key, value)| match (key, value) {
            (ciborium::Value::Text(key), ciborium::Value::Bytes(data)) if key == "authData" => {
                Some(data)
            }
            _ => None,
        })?;
    let length = usize::from(u16::from_be_bytes(*auth_data.get(53..55)?.first_chunk()?));
    Some(Attested {
        flags: *auth_data.get(32)?,
        counter: u32::from_be_bytes(*auth_data.get(33..37)?.first_chunk()?),
        aaguid: Uuid::from_slice(auth_data.get(37..53)?).ok()?,
        credential_id: auth_data.get(55..55 + length)?.to_vec(),
    })
}

async fn register(attestation: &[u8]) {
    let memory = Memory::new();
    let session = memory
        .app
        .signup(
            Signup {
                email: "ann@example.com".into(),
                password: "correct horse".into(),
                display_name: None,
            },
            &RequestOrigin::default(),
        )
        .await;
    let Ok(session) = session else {
        panic!("the fixture's signup failed");
    };
    let user = session.user.id;
    let (handle, options) = match memory.app.start_registration(user, None).await {
        Ok(started) => started,
        Err(e) => panic!("registration options: {e:?}"),
    };
    let client_data = json!({
        "type": "webauthn.create",
        "challenge": member(&options, &["challenge"]),
        "origin": ORIGIN,
        "crossOrigin": false,
    });
    let expected = attested(attestation);
    let raw_id = expected
        .as_ref()
        .map_or_else(|| vec![0xaa; 16], |a| a.credential_id.clone());
    let id = URL_SAFE_NO_PAD.encode(&raw_id);
    let body = json!({
        "id": id, "rawId": id, "type": "public-key",
        "response": {
            "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.to_string()),
            "attestationObject": URL_SAFE_NO_PAD.encode(attestation),
            "transports": ["internal", "hybrid"],
        },
        "clientExtensionResults": {},
    });
    let Ok(credential) = serde_json::from_value::<RegistrationCredential>(body) else {
        return;
    };
    let outcome = memory
        .app
        .finish_registration(
            user,
            Some(&handle),
            None,
            &credential,
            &RequestOrigin::default(),
        )
        .await;
    let passkey = match outcome {
        Ok(passkey) => passkey,
        Err(error) => {
            assert!(
                matches!(
                    error.code(),
                    ErrorCode::RegistrationFailed | ErrorCode::ValidationFailed
                ),
                "refused with {error:?}"
            );
            return;
        }
    };
    let Some(expected) = expected else {
        panic!("registered from an attestation without attested credential data");
    };
    assert_eq!(passkey.credential_id.as_bytes(), expected.credential_id);
    assert_eq!(passkey.aaguid, expected.aaguid);
    assert_eq!(credential.aaguid(), expected.aaguid);
    assert_eq!(passkey.sign_count, expected.counter);
    assert_eq!(passkey.backup_eligible, expected.flags & 0x08 != 0);
    assert_eq!(passkey.backed_up, expected.flags & 0x10 != 0);
    assert_eq!(
        passkey.name.as_str(),
        authenticator_name(&expected.aaguid).unwrap_or("Passkey")
    );
    assert_eq!(passkey.transports, ["internal", "hybrid"]);
    let stored = memory.store.list_passkeys(user).await;
    assert_eq!(stored.ok(), Some(vec![passkey]));
}
