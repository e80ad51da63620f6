//! Tests that check the output independently of the encoder: CBOR parsed with
//! ciborium, signatures verified with p256.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::value::Value as Cbor;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::*;

const ORIGIN: &str = "http://localhost:8080";
const USER_ID: [u8; 16] = [7; 16];
const CHALLENGE: [u8; 32] = [42; 32];

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(value.as_str().expect("string"))
        .expect("base64url")
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn creation_options() -> Value {
    json!({
        "rp": {"id": "localhost", "name": "Monetro"},
        "user": {"id": b64(&USER_ID), "name": "a@b.c", "displayName": "Ann"},
        "challenge": b64(&CHALLENGE),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}],
        "timeout": 300000,
        "excludeCredentials": [],
        "authenticatorSelection": {"residentKey": "required", "requireResidentKey": true, "userVerification": "required"},
        "attestation": "none"
    })
}

fn request_options() -> Value {
    json!({
        "challenge": b64(&[9; 32]),
        "timeout": 300000,
        "rpId": "localhost",
        "allowCredentials": [],
        "userVerification": "required"
    })
}

fn allow(ids: &[&[u8]]) -> Value {
    let mut options = request_options();
    options["allowCredentials"] = ids
        .iter()
        .map(|id| json!({"type": "public-key", "id": b64(id), "transports": ["internal"]}))
        .collect();
    options
}

struct AuthData {
    rp_id_hash: [u8; 32],
    flags: u8,
    counter: u32,
    aaguid: Option<[u8; 16]>,
    credential_id: Option<Vec<u8>>,
    cose_raw: Option<Vec<u8>>,
    cose: Option<Vec<(Cbor, Cbor)>>,
}

fn parse_auth_data(data: &[u8]) -> AuthData {
    assert!(data.len() >= 37, "authData too short");
    let flags = data[32];
    let mut parsed = AuthData {
        rp_id_hash: data[..32].try_into().unwrap(),
        flags,
        counter: u32::from_be_bytes(data[33..37].try_into().unwrap()),
        aaguid: None,
        credential_id: None,
        cose_raw: None,
        cose: None,
    };
    if flags & FLAG_AT == 0 {
        assert_eq!(data.len(), 37, "no trailing bytes without AT");
        return parsed;
    }
    parsed.aaguid = Some(data[37..53].try_into().unwrap());
    let len = usize::from(u16::from_be_bytes(data[53..55].try_into().unwrap()));
    parsed.credential_id = Some(data[55..55 + len].to_vec());
    let cose_raw = &data[55 + len..];
    let mut reader = cose_raw;
    let cose: Cbor = ciborium::de::from_reader(&mut reader).unwrap();
    assert!(reader.is_empty(), "trailing bytes after COSE key");
    parsed.cose_raw = Some(cose_raw.to_vec());
    parsed.cose = Some(cose.into_map().unwrap());
    parsed
}

/// Parses the attestationObject: checks fmt none / empty attStmt and returns
/// the authData bytes.
fn attestation_auth_data(registration: &Value) -> Vec<u8> {
    let bytes = unb64(&registration["response"]["attestationObject"]);
    let value: Cbor = ciborium::de::from_reader(bytes.as_slice()).unwrap();
    let map = value.into_map().unwrap();
    let keys: Vec<&str> = map.iter().map(|(k, _)| k.as_text().unwrap()).collect();
    assert_eq!(keys, ["fmt", "attStmt", "authData"]);
    assert_eq!(map[0].1.as_text(), Some("none"));
    assert_eq!(map[1].1.as_map().map(Vec::len), Some(0));
    map[2].1.as_bytes().unwrap().clone()
}

fn client_data(response: &Value) -> Value {
    serde_json::from_slice(&unb64(&response["response"]["clientDataJSON"])).unwrap()
}

fn cose_int(map: &[(Cbor, Cbor)], key: i64) -> Option<&Cbor> {
    map.iter()
        .find(|(k, _)| k.as_integer().map(i128::from) == Some(i128::from(key)))
        .map(|(_, v)| v)
}

/// Verifies an assertion with the key held for its rawId; returns its authData.
fn verify_assertion(key: &VerifyingKey, assertion: &Value) -> Result<Vec<u8>, p256::ecdsa::Error> {
    let auth_data = unb64(&assertion["response"]["authenticatorData"]);
    let client_data_json = unb64(&assertion["response"]["clientDataJSON"]);
    let signature = Signature::from_der(&unb64(&assertion["response"]["signature"]))?;
    let mut message = auth_data.clone();
    message.extend_from_slice(&sha(&client_data_json));
    key.verify(&message, &signature)?;
    Ok(auth_data)
}

fn registered() -> (SoftAuthenticator, Value) {
    let mut authenticator = SoftAuthenticator::new();
    let registration = authenticator.register(&creation_options(), ORIGIN).unwrap();
    (authenticator, registration)
}

// ---------------------------------------------------------------- registration

#[test]
fn registration_response_has_browser_shape() {
    let (authenticator, registration) = registered();
    let credential = &authenticator.credentials()[0];
    assert_eq!(registration["id"], b64(&credential.id));
    assert_eq!(registration["rawId"], registration["id"]);
    assert_eq!(registration["type"], "public-key");
    assert_eq!(registration["authenticatorAttachment"], "platform");
    assert_eq!(
        registration["clientExtensionResults"],
        json!({"credProps": {"rk": true}})
    );
    let response = &registration["response"];
    assert_eq!(response["transports"], json!(["internal", "hybrid"]));
    assert_eq!(response["publicKeyAlgorithm"], -7);
    let keys: Vec<&String> = response.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    for id in [&registration["id"], &registration["rawId"]] {
        assert!(!id.as_str().unwrap().contains(['=', '+', '/']));
    }
}

#[test]
fn registration_client_data_json_is_exact() {
    let (_, registration) = registered();
    let raw = unb64(&registration["response"]["clientDataJSON"]);
    let expected = format!(
        r#"{{"type":"webauthn.create","challenge":"{}","origin":"http://localhost:8080","crossOrigin":false}}"#,
        b64(&CHALLENGE)
    );
    assert_eq!(String::from_utf8(raw).unwrap(), expected);
}

#[test]
fn attestation_object_and_auth_data_layout() {
    let (authenticator, registration) = registered();
    let credential = &authenticator.credentials()[0];
    let auth_data = attestation_auth_data(&registration);
    assert_eq!(
        auth_data,
        unb64(&registration["response"]["authenticatorData"])
    );
    let parsed = parse_auth_data(&auth_data);
    assert_eq!(parsed.rp_id_hash, sha(b"localhost"));
    assert_eq!(parsed.flags, FLAG_UP | FLAG_UV | FLAG_AT);
    assert_eq!(parsed.counter, 0);
    assert_eq!(parsed.aaguid, Some([0; 16]));
    assert_eq!(
        parsed.credential_id.as_deref(),
        Some(credential.id.as_slice())
    );
    assert_eq!(unb64(&registration["rawId"]), credential.id);
    assert_eq!(credential.id.len(), 32);

    // COSE key: canonical order and the stored key's coordinates.
    let cose = parsed.cose.unwrap();
    let keys: Vec<i128> = cose
        .iter()
        .map(|(k, _)| k.as_integer().unwrap().into())
        .collect();
    assert_eq!(keys, [1, 3, -1, -2, -3]);
    assert_eq!(
        cose_int(&cose, 1).and_then(Cbor::as_integer),
        Some(2.into())
    );
    assert_eq!(
        cose_int(&cose, 3).and_then(Cbor::as_integer),
        Some((-7).into())
    );
    assert_eq!(
        cose_int(&cose, -1).and_then(Cbor::as_integer),
        Some(1.into())
    );
    let point = credential.verifying_key().to_encoded_point(false);
    let x = cose_int(&cose, -2).and_then(Cbor::as_bytes).unwrap();
    let y = cose_int(&cose, -3).and_then(Cbor::as_bytes).unwrap();
    assert_eq!(x.as_slice(), &point.x().unwrap()[..]);
    assert_eq!(y.as_slice(), &point.y().unwrap()[..]);
    let raw = parsed.cose_raw.unwrap();
    assert_eq!(
        raw[..10],
        [0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]
    );
    assert_eq!(raw, credential.cose_public_key().unwrap());

    // publicKey is the same key as SPKI DER.
    let spki = unb64(&registration["response"]["publicKey"]);
    assert_eq!(
        VerifyingKey::from_public_key_der(&spki).unwrap(),
        *credential.verifying_key()
    );
    assert_eq!(spki, credential.public_key_spki_der().unwrap());
}

#[test]
fn registration_stores_the_credential() {
    let (authenticator, registration) = registered();
    assert_eq!(authenticator.credentials().len(), 1);
    let credential = &authenticator.credentials()[0];
    assert_eq!(credential.rp_id, "localhost");
    assert_eq!(credential.user_handle, USER_ID);
    assert_eq!(credential.user_name, "a@b.c");
    assert_eq!(credential.counter, 0);
    assert!(!credential.backup_eligible && !credential.backup_state);
    assert!(
        authenticator
            .credential(&unb64(&registration["rawId"]))
            .is_some()
    );
}

#[test]
fn aaguid_attachment_and_transports_are_configurable() {
    let aaguid = *b"0123456789abcdef";
    let mut authenticator = SoftAuthenticator::new()
        .with_aaguid(aaguid)
        .with_attachment(Attachment::CrossPlatform)
        .with_transports(&["usb", "nfc"]);
    assert_eq!(authenticator.aaguid(), aaguid);
    let registration = authenticator.register(&creation_options(), ORIGIN).unwrap();
    assert_eq!(
        parse_auth_data(&attestation_auth_data(&registration)).aaguid,
        Some(aaguid)
    );
    assert_eq!(registration["authenticatorAttachment"], "cross-platform");
    assert_eq!(
        registration["response"]["transports"],
        json!(["usb", "nfc"])
    );
    let assertion = authenticator
        .authenticate(&request_options(), ORIGIN)
        .unwrap();
    assert_eq!(assertion["authenticatorAttachment"], "cross-platform");
}

#[test]
fn exclude_credentials_is_honoured() {
    let (mut authenticator, registration) = registered();
    let mut options = creation_options();
    options["excludeCredentials"] = json!([
        {"type": "public-key", "id": b64(b"someone else")},
        {"type": "public-key", "id": registration["rawId"], "transports": ["internal"]},
    ]);
    let err = authenticator.register(&options, ORIGIN).unwrap_err();
    assert_eq!(err, SoftAuthnError::Excluded);
    assert_eq!(err.dom_exception_name(), "InvalidStateError");
    assert_eq!(authenticator.credentials().len(), 1);

    // Another authenticator does not hold it.
    SoftAuthenticator::new().register(&options, ORIGIN).unwrap();

    // Held, but for another RP ID: not excluded.
    let mut other_rp = options.clone();
    other_rp["rp"]["id"] = json!("other.localhost");
    authenticator
        .register(&other_rp, "https://other.localhost")
        .unwrap();

    let tweaks = Tweaks {
        ignore_exclude_credentials: true,
        ..Tweaks::default()
    };
    authenticator
        .register_with(&options, ORIGIN, &tweaks)
        .unwrap();
    assert_eq!(authenticator.credentials().len(), 3);
}

#[test]
fn es256_must_be_offered() {
    let mut authenticator = SoftAuthenticator::new();
    let mut options = creation_options();
    options["pubKeyCredParams"] =
        json!([{"type": "public-key", "alg": -257}, {"type": "public-key", "alg": -8}]);
    let err = authenticator.register(&options, ORIGIN).unwrap_err();
    assert_eq!(err, SoftAuthnError::UnsupportedAlgorithm);
    assert_eq!(err.dom_exception_name(), "NotSupportedError");
    assert!(authenticator.credentials().is_empty());

    // An empty list means the client's defaults (ES256, RS256).
    options["pubKeyCredParams"] = json!([]);
    authenticator.register(&options, ORIGIN).unwrap();
}

#[test]
fn invalid_options_are_refused() {
    let mut authenticator = SoftAuthenticator::new();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "no challenge",
            Box::new(|o| drop(o.as_object_mut().unwrap().remove("challenge"))),
        ),
        (
            "bad challenge",
            Box::new(|o| o["challenge"] = json!("not base64!")),
        ),
        (
            "no user",
            Box::new(|o| drop(o.as_object_mut().unwrap().remove("user"))),
        ),
        ("empty user id", Box::new(|o| o["user"]["id"] = json!(""))),
        (
            "long user id",
            Box::new(|o| o["user"]["id"] = json!(b64(&[1; 65]))),
        ),
        (
            "no rp",
            Box::new(|o| drop(o.as_object_mut().unwrap().remove("rp"))),
        ),
        (
            "no params",
            Box::new(|o| drop(o.as_object_mut().unwrap().remove("pubKeyCredParams"))),
        ),
        (
            "bad exclude",
            Box::new(|o| o["excludeCredentials"] = json!([{"type": "public-key"}])),
        ),
    ];
    for (name, mutate) in cases {
        let mut options = creation_options();
        mutate(&mut options);
        let err = authenticator.register(&options, ORIGIN).unwrap_err();
        assert!(
            matches!(err, SoftAuthnError::InvalidOptions(_)),
            "{name}: {err:?}"
        );
    }
    assert!(authenticator.register(&json!("nope"), ORIGIN).is_err());
    let mut request = request_options();
    request["challenge"] = json!(null);
    assert!(matches!(
        authenticator.authenticate(&request, ORIGIN),
        Err(SoftAuthnError::InvalidOptions(_))
    ));
    assert!(authenticator.credentials().is_empty());
}

#[test]
fn rp_id_defaults_to_origin_domain_and_must_match_it() {
    let mut authenticator = SoftAuthenticator::new();
    let mut options = creation_options();
    options["rp"] = json!({"name": "Monetro"});
    let registration = authenticator
        .register(&options, "https://login.example.com:8443")
        .unwrap();
    let parsed = parse_auth_data(&attestation_auth_data(&registration));
    assert_eq!(parsed.rp_id_hash, sha(b"login.example.com"));
    assert_eq!(authenticator.credentials()[0].rp_id, "login.example.com");

    // A registrable suffix is fine.
    options["rp"]["id"] = json!("example.com");
    authenticator
        .register(&options, "https://login.example.com")
        .unwrap();

    for (rp_id, origin) in [
        ("example.com", "https://badexample.com"),
        ("other.com", "https://example.com"),
        ("localhost", "not an origin"),
    ] {
        options["rp"]["id"] = json!(rp_id);
        let err = authenticator.register(&options, origin).unwrap_err();
        assert!(
            matches!(err, SoftAuthnError::Security(_)),
            "{rp_id} {origin}: {err:?}"
        );
    }

    // Authentication without rpId uses the origin's domain.
    let mut request = request_options();
    request.as_object_mut().unwrap().remove("rpId");
    let assertion = authenticator
        .authenticate(&request, "https://example.com")
        .unwrap();
    assert_eq!(
        parse_auth_data(&unb64(&assertion["response"]["authenticatorData"])).rp_id_hash,
        sha(b"example.com")
    );
}

#[test]
fn wrapped_public_key_options_are_accepted() {
    let mut authenticator = SoftAuthenticator::new();
    authenticator
        .register(&json!({"publicKey": creation_options()}), ORIGIN)
        .unwrap();
    authenticator
        .authenticate(
            &json!({"publicKey": request_options(), "mediation": "conditional"}),
            ORIGIN,
        )
        .unwrap();
}

// -------------------------------------------------------------- authentication

#[test]
fn assertion_verifies_and_has_browser_shape() {
    let (mut authenticator, registration) = registered();
    let assertion = authenticator
        .authenticate(&request_options(), ORIGIN)
        .unwrap();
    let key = *authenticator.credentials()[0].verifying_key();
    let auth_data = verify_assertion(&key, &assertion).unwrap();
    let parsed = parse_auth_data(&auth_data);
    assert_eq!(parsed.rp_id_hash, sha(b"localhost"));
    assert_eq!(parsed.flags, FLAG_UP | FLAG_UV);
    assert_eq!(parsed.counter, 1);
    assert_eq!(assertion["id"], registration["id"]);
    assert_eq!(assertion["rawId"], registration["rawId"]);
    assert_eq!(assertion["type"], "public-key");
    assert_eq!(assertion["authenticatorAttachment"], "platform");
    assert_eq!(assertion["clientExtensionResults"], json!({}));
    assert_eq!(unb64(&assertion["response"]["userHandle"]), USER_ID);
    let raw = String::from_utf8(unb64(&assertion["response"]["clientDataJSON"])).unwrap();
    assert_eq!(
        raw,
        format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"http://localhost:8080","crossOrigin":false}}"#,
            b64(&[9; 32])
        )
    );
    assert_eq!(assertion["response"].as_object().unwrap().len(), 4);
}

#[test]
fn counter_increments_in_counter_mode() {
    let (mut authenticator, _) = registered();
    let key = *authenticator.credentials()[0].verifying_key();
    for expected in 1..=5 {
        let assertion = authenticator
            .authenticate(&request_options(), ORIGIN)
            .unwrap();
        let parsed = parse_auth_data(&verify_assertion(&key, &assertion).unwrap());
        assert_eq!(parsed.counter, expected);
        assert_eq!(authenticator.credentials()[0].counter, expected);
    }
}

#[test]
fn synced_mode_counter_stays_zero_with_backup_flags() {
    let mut authenticator =
        SoftAuthenticator::new().with_counter_mode(CounterMode::AlwaysZeroSynced);
    assert_eq!(authenticator.counter_mode(), CounterMode::AlwaysZeroSynced);
    let registration = authenticator.register(&creation_options(), ORIGIN).unwrap();
    let parsed = parse_auth_data(&attestation_auth_data(&registration));
    assert_eq!(
        parsed.flags,
        FLAG_UP | FLAG_UV | FLAG_BE | FLAG_BS | FLAG_AT
    );
    assert_eq!(parsed.counter, 0);
    let credential = &authenticator.credentials()[0];
    assert!(credential.backup_eligible && credential.backup_state);
    let key = *credential.verifying_key();
    for _ in 0..3 {
        let assertion = authenticator
            .authenticate(&request_options(), ORIGIN)
            .unwrap();
        let parsed = parse_auth_data(&verify_assertion(&key, &assertion).unwrap());
        assert_eq!(parsed.counter, 0);
        assert_eq!(parsed.flags, FLAG_UP | FLAG_UV | FLAG_BE | FLAG_BS);
    }
    assert_eq!(authenticator.credentials()[0].counter, 0);
}

fn two_credentials() -> (SoftAuthenticator, Vec<u8>, Vec<u8>) {
    let mut authenticator = SoftAuthenticator::new();
    let first = authenticator.register(&creation_options(), ORIGIN).unwrap();
    let mut options = creation_options();
    options["user"]["id"] = json!(b64(&[8; 16]));
    let second = authenticator.register(&options, ORIGIN).unwrap();
    (
        authenticator,
        unb64(&first["rawId"]),
        unb64(&second["rawId"]),
    )
}

#[test]
fn allow_credentials_selects_the_first_held_listed_credential() {
    let (mut authenticator, first, second) = two_credentials();
    let assertion = authenticator
        .authenticate(&allow(&[&second]), ORIGIN)
        .unwrap();
    assert_eq!(unb64(&assertion["rawId"]), second);
    assert_eq!(unb64(&assertion["response"]["userHandle"]), [8; 16]);
    let key = *authenticator.credential(&second).unwrap().verifying_key();
    verify_assertion(&key, &assertion).unwrap();

    let assertion = authenticator
        .authenticate(&allow(&[b"unknown", &first, &second]), ORIGIN)
        .unwrap();
    assert_eq!(unb64(&assertion["rawId"]), first);

    let err = authenticator
        .authenticate(&allow(&[b"unknown"]), ORIGIN)
        .unwrap_err();
    assert_eq!(err, SoftAuthnError::NoCredential);
    assert_eq!(err.dom_exception_name(), "NotAllowedError");

    // Held, but for another RP ID.
    let mut other_rp = allow(&[&first]);
    other_rp["rpId"] = json!("other.localhost");
    assert_eq!(
        authenticator.authenticate(&other_rp, "https://other.localhost"),
        Err(SoftAuthnError::NoCredential)
    );
    // Counters are per credential.
    assert_eq!(authenticator.credential(&first).unwrap().counter, 1);
    assert_eq!(authenticator.credential(&second).unwrap().counter, 1);
}

#[test]
fn discoverable_uses_most_recent_or_the_chosen_credential() {
    let (mut authenticator, first, second) = two_credentials();
    let assertion = authenticator
        .authenticate(&request_options(), ORIGIN)
        .unwrap();
    assert_eq!(unb64(&assertion["rawId"]), second);

    let tweaks = Tweaks {
        credential_id: Some(first.clone()),
        ..Tweaks::default()
    };
    let assertion = authenticator
        .authenticate_with(&request_options(), ORIGIN, &tweaks)
        .unwrap();
    assert_eq!(unb64(&assertion["rawId"]), first);
    assert_eq!(unb64(&assertion["response"]["userHandle"]), USER_ID);
    verify_assertion(
        authenticator.credential(&first).unwrap().verifying_key(),
        &assertion,
    )
    .unwrap();

    // The choice bypasses allowCredentials (to present a credential not allowed).
    let assertion = authenticator
        .authenticate_with(&allow(&[&second]), ORIGIN, &tweaks)
        .unwrap();
    assert_eq!(unb64(&assertion["rawId"]), first);

    let unknown = Tweaks {
        credential_id: Some(b"unknown".to_vec()),
        ..Tweaks::default()
    };
    assert_eq!(
        authenticator.authenticate_with(&request_options(), ORIGIN, &unknown),
        Err(SoftAuthnError::NoCredential)
    );

    assert!(authenticator.remove_credential(&second));
    assert!(!authenticator.remove_credential(&second));
    let assertion = authenticator
        .authenticate(&request_options(), ORIGIN)
        .unwrap();
    assert_eq!(unb64(&assertion["rawId"]), first);
    assert!(authenticator.remove_credential(&first));
    assert_eq!(
        authenticator.authenticate(&request_options(), ORIGIN),
        Err(SoftAuthnError::NoCredential)
    );
}

// ---------------------------------------------------------------------- tweaks

/// Registers honestly, then authenticates with `tweaks`; returns the
/// assertion, the honest one made just before it, and the authenticator.
fn assert_with(tweaks: &Tweaks) -> (Value, Value, SoftAuthenticator) {
    let (mut authenticator, _) = registered();
    let honest = authenticator
        .authenticate(&request_options(), ORIGIN)
        .unwrap();
    let tweaked = authenticator
        .authenticate_with(&request_options(), ORIGIN, tweaks)
        .unwrap();
    (tweaked, honest, authenticator)
}

fn key_of(authenticator: &SoftAuthenticator) -> VerifyingKey {
    *authenticator.credentials()[0].verifying_key()
}

#[test]
fn client_data_tweaks_change_only_client_data() {
    let cases = [
        (
            Tweaks {
                origin: Some("https://evil.example".into()),
                ..Tweaks::default()
            },
            "origin",
            json!("https://evil.example"),
        ),
        (
            Tweaks {
                type_: Some("webauthn.create".into()),
                ..Tweaks::default()
            },
            "type",
            json!("webauthn.create"),
        ),
        (
            Tweaks {
                challenge: Some(vec![1, 2, 3]),
                ..Tweaks::default()
            },
            "challenge",
            json!(b64(&[1, 2, 3])),
        ),
        (
            Tweaks {
                cross_origin: Some(true),
                ..Tweaks::default()
            },
            "crossOrigin",
            json!(true),
        ),
        (
            Tweaks {
                top_origin: Some("https://top.example".into()),
                ..Tweaks::default()
            },
            "topOrigin",
            json!("https://top.example"),
        ),
    ];
    for (tweaks, key, expected) in cases {
        // Authentication: signature still valid, only this member differs.
        let (tweaked, honest, authenticator) = assert_with(&tweaks);
        let auth_data = verify_assertion(&key_of(&authenticator), &tweaked).unwrap();
        assert_eq!(parse_auth_data(&auth_data).counter, 2);
        let (mut got, mut want) = (client_data(&tweaked), client_data(&honest));
        assert_eq!(got[key], expected, "{key}");
        got.as_object_mut().unwrap().remove(key);
        want.as_object_mut().unwrap().remove(key);
        assert_eq!(got, want, "{key}");

        // Registration.
        let mut authenticator = SoftAuthenticator::new();
        let registration = authenticator
            .register_with(&creation_options(), ORIGIN, &tweaks)
            .unwrap();
        assert_eq!(client_data(&registration)[key], expected, "{key}");
        assert_eq!(authenticator.credentials()[0].rp_id, "localhost");
    }
}

#[test]
fn top_origin_follows_cross_origin_in_order() {
    let tweaks = Tweaks {
        cross_origin: Some(true),
        top_origin: Some("https://top.example".into()),
        client_data_extra: Some(
            json!({"other_keys_can_be_added_here": "do not compare clientDataJSON against a template"})
                .as_object()
                .unwrap()
                .clone(),
        ),
        ..Tweaks::default()
    };
    let (tweaked, _, authenticator) = assert_with(&tweaks);
    verify_assertion(&key_of(&authenticator), &tweaked).unwrap();
    let raw = String::from_utf8(unb64(&tweaked["response"]["clientDataJSON"])).unwrap();
    assert_eq!(
        raw,
        format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"http://localhost:8080","crossOrigin":true,"topOrigin":"https://top.example","other_keys_can_be_added_here":"do not compare clientDataJSON against a template"}}"#,
            b64(&[9; 32])
        )
    );
}

#[test]
fn client_data_escaping_follows_ccd_to_string() {
    let tweaks = Tweaks {
        origin: Some("a\"b\\c\u{1}é".into()),
        ..Tweaks::default()
    };
    let (tweaked, _, _) = assert_with(&tweaks);
    let raw = String::from_utf8(unb64(&tweaked["response"]["clientDataJSON"])).unwrap();
    assert!(raw.contains(r#""origin":"a\"b\\c\u0001é""#), "{raw}");
    assert_eq!(client_data(&tweaked)["origin"], "a\"b\\c\u{1}é");
}

#[test]
fn raw_client_data_json_is_sent_and_signed() {
    let tweaks = Tweaks {
        raw_client_data_json: Some(b"{not json".to_vec()),
        ..Tweaks::default()
    };
    let (tweaked, _, authenticator) = assert_with(&tweaks);
    verify_assertion(&key_of(&authenticator), &tweaked).unwrap();
    assert_eq!(unb64(&tweaked["response"]["clientDataJSON"]), b"{not json");
}

#[test]
fn rp_id_hash_tweaks() {
    let hash = [0xab; 32];
    for (tweaks, expected) in [
        (
            Tweaks {
                rp_id_hash: Some(hash),
                ..Tweaks::default()
            },
            hash,
        ),
        (
            Tweaks {
                rp_id: Some("evil.example".into()),
                ..Tweaks::default()
            },
            sha(b"evil.example"),
        ),
    ] {
        let (tweaked, _, authenticator) = assert_with(&tweaks);
        let parsed = parse_auth_data(&verify_assertion(&key_of(&authenticator), &tweaked).unwrap());
        assert_eq!(parsed.rp_id_hash, expected);
        assert_eq!(parsed.flags, FLAG_UP | FLAG_UV);

        let mut authenticator = SoftAuthenticator::new();
        let registration = authenticator
            .register_with(&creation_options(), ORIGIN, &tweaks)
            .unwrap();
        let parsed = parse_auth_data(&attestation_auth_data(&registration));
        assert_eq!(parsed.rp_id_hash, expected);
        assert!(parsed.cose.is_some());
        // Stored under the real RP ID: an honest assertion still works.
        assert_eq!(authenticator.credentials()[0].rp_id, "localhost");
        authenticator
            .authenticate(&request_options(), ORIGIN)
            .unwrap();
    }
}

#[test]
fn flag_tweaks() {
    let clear = Tweaks {
        flags_clear: FLAG_UP | FLAG_UV,
        ..Tweaks::default()
    };
    let (tweaked, _, authenticator) = assert_with(&clear);
    let parsed = parse_auth_data(&verify_assertion(&key_of(&authenticator), &tweaked).unwrap());
    assert_eq!(parsed.flags, 0);

    let set = Tweaks {
        flags_set: FLAG_BS,
        ..Tweaks::default()
    };
    let (tweaked, _, authenticator) = assert_with(&set);
    let parsed = parse_auth_data(&verify_assertion(&key_of(&authenticator), &tweaked).unwrap());
    assert_eq!(parsed.flags, FLAG_UP | FLAG_UV | FLAG_BS);

    // Registration: clearing UV keeps the attested data.
    let mut authenticator = SoftAuthenticator::new();
    let registration = authenticator
        .register_with(
            &creation_options(),
            ORIGIN,
            &Tweaks {
                flags_clear: FLAG_UV,
                ..Tweaks::default()
            },
        )
        .unwrap();
    let parsed = parse_auth_data(&attestation_auth_data(&registration));
    assert_eq!(parsed.flags, FLAG_UP | FLAG_AT);
    assert!(!authenticator.credentials()[0].backup_eligible);

    // Registration as a conditional create: neither present nor verified.
    let registration = SoftAuthenticator::new()
        .register_with(
            &creation_options(),
            ORIGIN,
            &Tweaks {
                flags_clear: FLAG_UP | FLAG_UV,
                ..Tweaks::default()
            },
        )
        .unwrap();
    let parsed = parse_auth_data(&attestation_auth_data(&registration));
    assert_eq!(parsed.flags, FLAG_AT);
    assert!(parsed.cose.is_some());

    // Clearing AT only clears the bit: the credential data is still there.
    let registration = SoftAuthenticator::new()
        .register_with(
            &creation_options(),
            ORIGIN,
            &Tweaks {
                flags_clear: FLAG_AT,
                ..Tweaks::default()
            },
        )
        .unwrap();
    let auth_data = attestation_auth_data(&registration);
    assert_eq!(auth_data[32], FLAG_UP | FLAG_UV);
    assert!(auth_data.len() > 37 + 16 + 2 + 32);
}

#[test]
fn forced_counter_is_sent_and_stored() {
    let tweaks = Tweaks {
        counter: Some(1000),
        ..Tweaks::default()
    };
    let (tweaked, _, mut authenticator) = assert_with(&tweaks);
    let key = key_of(&authenticator);
    assert_eq!(
        parse_auth_data(&verify_assertion(&key, &tweaked).unwrap()).counter,
        1000
    );
    assert_eq!(authenticator.credentials()[0].counter, 1000);
    let next = authenticator
        .authenticate(&request_options(), ORIGIN)
        .unwrap();
    assert_eq!(
        parse_auth_data(&verify_assertion(&key, &next).unwrap()).counter,
        1001
    );

    // Going backwards (a cloned authenticator).
    let back = Tweaks {
        counter: Some(1),
        ..Tweaks::default()
    };
    let tweaked = authenticator
        .authenticate_with(&request_options(), ORIGIN, &back)
        .unwrap();
    assert_eq!(
        parse_auth_data(&verify_assertion(&key, &tweaked).unwrap()).counter,
        1
    );

    // Synced mode too.
    let mut synced = SoftAuthenticator::new().with_counter_mode(CounterMode::AlwaysZeroSynced);
    synced.register(&creation_options(), ORIGIN).unwrap();
    let tweaked = synced
        .authenticate_with(&request_options(), ORIGIN, &tweaks)
        .unwrap();
    assert_eq!(
        parse_auth_data(&verify_assertion(&key_of(&synced), &tweaked).unwrap()).counter,
        1000
    );

    // Registration.
    let mut authenticator = SoftAuthenticator::new();
    let registration = authenticator
        .register_with(&creation_options(), ORIGIN, &tweaks)
        .unwrap();
    assert_eq!(
        parse_auth_data(&attestation_auth_data(&registration)).counter,
        1000
    );
    assert_eq!(authenticator.credentials()[0].counter, 1000);
}

#[test]
fn corrupt_signature_is_well_formed_but_invalid() {
    let tweaks = Tweaks {
        corrupt_signature: true,
        ..Tweaks::default()
    };
    let (tweaked, honest, authenticator) = assert_with(&tweaks);
    let key = key_of(&authenticator);
    verify_assertion(&key, &honest).unwrap();
    let signature = unb64(&tweaked["response"]["signature"]);
    Signature::from_der(&signature).unwrap();
    assert!(verify_assertion(&key, &tweaked).is_err());
    assert_eq!(authenticator.credentials()[0].counter, 2);

    let raw = Tweaks {
        raw_signature: Some(vec![1, 2, 3]),
        ..Tweaks::default()
    };
    let (tweaked, _, _) = assert_with(&raw);
    assert_eq!(unb64(&tweaked["response"]["signature"]), [1, 2, 3]);
}

#[test]
fn user_handle_tweaks() {
    let replace = Tweaks {
        user_handle: Some(Some(vec![5; 16])),
        ..Tweaks::default()
    };
    let (tweaked, _, authenticator) = assert_with(&replace);
    verify_assertion(&key_of(&authenticator), &tweaked).unwrap();
    assert_eq!(unb64(&tweaked["response"]["userHandle"]), [5; 16]);
    assert_eq!(authenticator.credentials()[0].user_handle, USER_ID);

    let drop_it = Tweaks {
        user_handle: Some(None),
        ..Tweaks::default()
    };
    let (tweaked, _, _) = assert_with(&drop_it);
    assert!(tweaked["response"].get("userHandle").is_none());
    assert_eq!(tweaked["response"].as_object().unwrap().len(), 3);
}

#[test]
fn forced_registration_credential_id() {
    let (mut first, registration) = registered();
    let taken = unb64(&registration["rawId"]);
    // Another authenticator registers an id that is already taken.
    let mut other = SoftAuthenticator::new();
    let tweaks = Tweaks {
        credential_id: Some(taken.clone()),
        ..Tweaks::default()
    };
    let forced = other
        .register_with(&creation_options(), ORIGIN, &tweaks)
        .unwrap();
    assert_eq!(unb64(&forced["rawId"]), taken);
    assert_eq!(
        parse_auth_data(&attestation_auth_data(&forced)).credential_id,
        Some(taken.clone())
    );
    assert_ne!(
        other.credentials()[0].verifying_key(),
        first.credentials()[0].verifying_key()
    );

    // Re-using one's own id replaces the held credential.
    first
        .register_with(
            &creation_options(),
            ORIGIN,
            &Tweaks {
                ignore_exclude_credentials: true,
                ..tweaks
            },
        )
        .unwrap();
    assert_eq!(first.credentials().len(), 1);

    // Very long ids are encoded with their u16 length.
    let long = Tweaks {
        credential_id: Some(vec![0xcd; 1024]),
        ..Tweaks::default()
    };
    let registration = other
        .register_with(&creation_options(), ORIGIN, &long)
        .unwrap();
    let parsed = parse_auth_data(&attestation_auth_data(&registration));
    assert_eq!(parsed.credential_id, Some(vec![0xcd; 1024]));
    assert!(parsed.cose.is_some());
    assert_eq!(other.credentials()[1].id.len(), 1024);
    let assertion = other
        .authenticate(&allow(&[&[0xcd; 1024]]), ORIGIN)
        .unwrap();
    verify_assertion(other.credentials()[1].verifying_key(), &assertion).unwrap();

    let too_long = Tweaks {
        credential_id: Some(vec![0; 65536]),
        ..Tweaks::default()
    };
    assert!(matches!(
        other.register_with(&creation_options(), ORIGIN, &too_long),
        Err(SoftAuthnError::InvalidOptions(_))
    ));
    assert_eq!(other.credentials().len(), 2);
}

#[test]
fn omit_attested_credential_data() {
    let mut authenticator = SoftAuthenticator::new();
    let tweaks = Tweaks {
        omit_attested_credential_data: true,
        ..Tweaks::default()
    };
    let registration = authenticator
        .register_with(&creation_options(), ORIGIN, &tweaks)
        .unwrap();
    let auth_data = attestation_auth_data(&registration);
    assert_eq!(auth_data.len(), 37);
    let parsed = parse_auth_data(&auth_data);
    assert_eq!(parsed.flags, FLAG_UP | FLAG_UV);
    assert!(parsed.credential_id.is_none());
    assert_eq!(authenticator.credentials().len(), 1);
}

#[test]
fn attestation_format_tweak() {
    let mut authenticator = SoftAuthenticator::new();
    let tweaks = Tweaks {
        attestation_format: Some("packed".into()),
        ..Tweaks::default()
    };
    let registration = authenticator
        .register_with(&creation_options(), ORIGIN, &tweaks)
        .unwrap();
    let bytes = unb64(&registration["response"]["attestationObject"]);
    let value: Cbor = ciborium::de::from_reader(bytes.as_slice()).unwrap();
    let map = value.into_map().unwrap();
    assert_eq!(map[0].1.as_text(), Some("packed"));
    assert_eq!(map[1].1.as_map().map(Vec::len), Some(0));
    let auth_data = map[2].1.as_bytes().unwrap();
    assert_eq!(
        parse_auth_data(auth_data).flags,
        FLAG_UP | FLAG_UV | FLAG_AT,
        "only fmt changes"
    );
}

#[test]
fn algorithm_tweak() {
    let mut authenticator = SoftAuthenticator::new();
    let mut options = creation_options();
    // -8 is not offered: the tweak skips that check.
    options["pubKeyCredParams"] = json!([{"type": "public-key", "alg": -7}]);

    let eddsa = Tweaks {
        algorithm: Some(-8),
        ..Tweaks::default()
    };
    let registration = authenticator
        .register_with(&options, ORIGIN, &eddsa)
        .unwrap();
    let parsed = parse_auth_data(&attestation_auth_data(&registration));
    let cose = parsed.cose.unwrap();
    let keys: Vec<i128> = cose
        .iter()
        .map(|(k, _)| k.as_integer().unwrap().into())
        .collect();
    assert_eq!(keys, [1, 3, -1, -2]);
    assert_eq!(
        cose_int(&cose, 1).and_then(Cbor::as_integer),
        Some(1.into())
    );
    assert_eq!(
        cose_int(&cose, 3).and_then(Cbor::as_integer),
        Some((-8).into())
    );
    assert_eq!(
        cose_int(&cose, -1).and_then(Cbor::as_integer),
        Some(6.into())
    );
    assert_eq!(
        cose_int(&cose, -2).and_then(Cbor::as_bytes).map(Vec::len),
        Some(32)
    );
    assert_eq!(registration["response"]["publicKeyAlgorithm"], -8);
    assert_eq!(unb64(&registration["response"]["publicKey"]).len(), 44);

    let rsa = Tweaks {
        algorithm: Some(-257),
        ..Tweaks::default()
    };
    let registration = authenticator.register_with(&options, ORIGIN, &rsa).unwrap();
    let cose = parse_auth_data(&attestation_auth_data(&registration))
        .cose
        .unwrap();
    assert_eq!(
        cose_int(&cose, 1).and_then(Cbor::as_integer),
        Some(3.into())
    );
    assert_eq!(
        cose_int(&cose, -1).and_then(Cbor::as_bytes).map(Vec::len),
        Some(256)
    );
    assert_eq!(registration["response"]["publicKeyAlgorithm"], -257);
    assert!(registration["response"].get("publicKey").is_none());

    let es384 = Tweaks {
        algorithm: Some(-35),
        ..Tweaks::default()
    };
    let registration = authenticator
        .register_with(&options, ORIGIN, &es384)
        .unwrap();
    let cose = parse_auth_data(&attestation_auth_data(&registration))
        .cose
        .unwrap();
    assert_eq!(
        cose_int(&cose, 1).and_then(Cbor::as_integer),
        Some(2.into())
    );
    assert_eq!(
        cose_int(&cose, 3).and_then(Cbor::as_integer),
        Some((-35).into())
    );
    assert_eq!(registration["response"]["publicKeyAlgorithm"], -35);

    // Without the tweak an unoffered ES256 is still refused.
    options["pubKeyCredParams"] = json!([{"type": "public-key", "alg": -8}]);
    assert_eq!(
        authenticator.register(&options, ORIGIN),
        Err(SoftAuthnError::UnsupportedAlgorithm)
    );
    authenticator
        .register_with(&options, ORIGIN, &eddsa)
        .unwrap();
}

#[test]
fn response_id_tweaks() {
    let tweaks = Tweaks {
        response_id: Some("something-else".into()),
        ..Tweaks::default()
    };
    let (tweaked, honest, _) = assert_with(&tweaks);
    assert_eq!(tweaked["id"], "something-else");
    assert_eq!(tweaked["rawId"], honest["rawId"]);
    let registration = SoftAuthenticator::new()
        .register_with(&creation_options(), ORIGIN, &tweaks)
        .unwrap();
    assert_eq!(registration["id"], "something-else");
    assert_ne!(registration["rawId"], "something-else");

    let tweaks = Tweaks {
        response_raw_id: Some(b"unknown".to_vec()),
        ..Tweaks::default()
    };
    let (tweaked, _, authenticator) = assert_with(&tweaks);
    assert_eq!(tweaked["id"], b64(b"unknown"));
    assert_eq!(tweaked["rawId"], b64(b"unknown"));
    verify_assertion(&key_of(&authenticator), &tweaked).unwrap();
}

#[test]
fn client_extension_results_tweak() {
    let tweaks = Tweaks {
        client_extension_results: Some(json!({"credProps": {"rk": false}})),
        ..Tweaks::default()
    };
    let (tweaked, _, _) = assert_with(&tweaks);
    assert_eq!(
        tweaked["clientExtensionResults"],
        json!({"credProps": {"rk": false}})
    );
    let registration = SoftAuthenticator::new()
        .register_with(&creation_options(), ORIGIN, &tweaks)
        .unwrap();
    assert_eq!(
        registration["clientExtensionResults"],
        json!({"credProps": {"rk": false}})
    );
}

#[test]
fn tweaks_do_not_change_what_is_stored() {
    let tweaks = Tweaks {
        origin: Some("https://evil.example".into()),
        rp_id: Some("evil.example".into()),
        flags_clear: FLAG_UV,
        flags_set: FLAG_BE,
        user_handle: Some(None),
        corrupt_signature: true,
        response_id: Some("x".into()),
        algorithm: Some(-8),
        ..Tweaks::default()
    };
    let mut honest = SoftAuthenticator::new();
    honest.register(&creation_options(), ORIGIN).unwrap();
    let mut tweaked = SoftAuthenticator::new();
    tweaked
        .register_with(&creation_options(), ORIGIN, &tweaks)
        .unwrap();
    tweaked
        .authenticate_with(&request_options(), ORIGIN, &tweaks)
        .unwrap();
    honest.authenticate(&request_options(), ORIGIN).unwrap();
    let strip = |a: &SoftAuthenticator| {
        let mut v = serde_json::to_value(a.credentials()).unwrap();
        for c in v.as_array_mut().unwrap() {
            for key in ["id", "private_key"] {
                c.as_object_mut().unwrap().remove(key);
            }
        }
        v
    };
    assert_eq!(strip(&tweaked), strip(&honest));
    // And the tweaked authenticator still makes honest assertions.
    let assertion = tweaked.authenticate(&request_options(), ORIGIN).unwrap();
    verify_assertion(&key_of(&tweaked), &assertion).unwrap();
    assert_eq!(unb64(&assertion["response"]["userHandle"]), USER_ID);
}

// ---------------------------------------------------------------- state & misc

#[test]
fn serde_round_trip_keeps_keys_and_counters() {
    let mut authenticator = SoftAuthenticator::new()
        .with_aaguid(*b"fedcba9876543210")
        .with_counter_mode(CounterMode::AlwaysZeroSynced);
    authenticator.register(&creation_options(), ORIGIN).unwrap();
    authenticator
        .authenticate(&request_options(), ORIGIN)
        .unwrap();
    let state = serde_json::to_string(&authenticator).unwrap();
    assert!(state.contains(&uuid::Uuid::from_bytes(*b"fedcba9876543210").to_string()));
    let mut restored: SoftAuthenticator = serde_json::from_str(&state).unwrap();
    assert_eq!(restored.aaguid(), authenticator.aaguid());
    assert_eq!(restored.counter_mode(), CounterMode::AlwaysZeroSynced);
    let (a, b) = (&authenticator.credentials()[0], &restored.credentials()[0]);
    assert_eq!(
        (
            a.id.clone(),
            a.rp_id.clone(),
            a.user_handle.clone(),
            a.counter
        ),
        (
            b.id.clone(),
            b.rp_id.clone(),
            b.user_handle.clone(),
            b.counter
        )
    );
    let key = *a.verifying_key();
    let assertion = restored.authenticate(&request_options(), ORIGIN).unwrap();
    verify_assertion(&key, &assertion).unwrap();

    // A single credential, as a load generator would save it.
    let json = serde_json::to_value(a).unwrap();
    assert_eq!(json["id"], b64(&a.id));
    assert_eq!(json["user_handle"], b64(&USER_ID));
    assert_eq!(unb64(&json["private_key"]).len(), 32);
    let credential: StoredCredential = serde_json::from_value(json).unwrap();
    let mut fresh = SoftAuthenticator::new();
    fresh.add_credential(credential.clone());
    fresh.add_credential(credential);
    assert_eq!(fresh.credentials().len(), 1);
    let assertion = fresh.authenticate(&allow(&[&a.id]), ORIGIN).unwrap();
    verify_assertion(&key, &assertion).unwrap();
}

#[test]
fn authenticator_is_clone_send_sync() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<SoftAuthenticator>();
    check::<StoredCredential>();
    check::<Tweaks>();
    check::<SoftAuthnError>();

    // Clones are independent devices.
    let (authenticator, _) = registered();
    let mut fork = authenticator.clone();
    fork.authenticate(&request_options(), ORIGIN).unwrap();
    assert_eq!(authenticator.credentials()[0].counter, 0);
    assert_eq!(fork.credentials()[0].counter, 1);
    let mut options = creation_options();
    options["user"]["id"] = json!(b64(&[3; 8]));
    let a = authenticator.clone().register(&options, ORIGIN).unwrap();
    let b = authenticator.clone().register(&options, ORIGIN).unwrap();
    assert_ne!(a["rawId"], b["rawId"]);
}
