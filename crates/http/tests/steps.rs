//! The verification steps of WebAuthn Level 3 §7.1 "Registering a New
//! Credential" and §7.2 "Verifying an Authentication Assertion" that
//! errors.rs does not cover already: each test violates exactly one step
//! through the HTTP API and checks the documented error, that nothing was
//! stored or updated, and whether the ceremony was used up.
//! docs/SECURITY.md maps every step to its check and to its test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Backend, Client, TestApp, spawn};
use monetro_softauthn::{CounterMode, FLAG_BE, FLAG_BS, SoftAuthenticator, Tweaks};
use serde_json::{Value, json};

on_every_backend!(
    registration_refuses_a_response_of_another_kind,
    registration_refuses_client_data_that_is_not_utf8_json,
    registration_refuses_cross_origin_client_data,
    registration_refuses_a_top_origin,
    registration_refuses_an_attestation_object_that_is_not_cbor,
    registration_refuses_backed_up_without_backup_eligible,
    registration_refuses_an_algorithm_not_offered,
    registration_refuses_an_unknown_attestation_format,
    registration_refuses_an_attestation_statement_that_does_not_verify,
    registration_refuses_credential_ids_over_1023_bytes,
    registration_refuses_a_credential_id_the_user_has_already,
    registration_refuses_a_raw_id_that_is_not_the_attested_credential_id,
    sign_in_refuses_a_response_of_another_kind,
    sign_in_refuses_client_data_that_is_not_utf8_json,
    sign_in_refuses_cross_origin_client_data,
    sign_in_refuses_a_top_origin,
    sign_in_refuses_backed_up_without_backup_eligible,
    sign_in_refuses_a_change_of_backup_eligibility,
);

/// COSE algorithm identifier of ES512 (ECDSA P-521 with SHA-512).
const COSE_ALG_ES512: i64 = -36;

/// Client data that a UTF-8 decoder or a JSON parser refuses.
const UNREADABLE_CLIENT_DATA: [&[u8]; 2] = [
    b"\xff\xfe{\"type\":\"webauthn.create\"}",
    b"type=webauthn.create",
];

// ---- §7.1 Registering a New Credential ----

/// Posts `credential` (made for `options`) as Ann's new passkey and checks
/// the refusal: `status` and `code`, no passkey stored. A failed
/// verification uses the ceremony up; a body that is not the documented
/// shape leaves it for an honest retry.
async fn assert_registration_refused(
    ann: &Client,
    options: &Value,
    credential: Value,
    status: u16,
    code: &str,
) {
    let raw_id = base64url_decode(credential["rawId"].as_str().unwrap());
    let answer = ann
        .post(
            "/api/auth/passkey/register",
            json!({ "credential": credential }),
        )
        .await;
    answer.assert_error(status, code);
    assert_eq!(
        ann.get("/api/auth/passkey/list").await.body["passkeys"],
        json!([]),
        "a refused registration stored a passkey"
    );
    if raw_id.len() <= 1023 {
        assert_eq!(ann.app.stored_passkey(&raw_id).await, None);
    }

    let honest = SoftAuthenticator::new()
        .register(options, &ann.app.origin)
        .unwrap();
    let retry = ann
        .post(
            "/api/auth/passkey/register",
            json!({ "credential": honest }),
        )
        .await;
    if code == "VALIDATION_FAILED" {
        assert_eq!(
            retry.status, 201,
            "a malformed body used the ceremony up: {}",
            retry.body
        );
    } else {
        retry.assert_error(400, "CHALLENGE_NOT_FOUND");
    }
}

/// Ann, signed up, and a registration ceremony of hers.
async fn ann_registering(app: &TestApp) -> (Client, Value) {
    let ann = Client::signup(app, "ann@example.com").await;
    let options = ann.registration_options().await;
    (ann, options)
}

/// What an authenticator answers to `options` with `tweaks`.
fn registration(app: &TestApp, options: &Value, tweaks: &Tweaks) -> Value {
    SoftAuthenticator::new()
        .register_with(options, &app.origin, tweaks)
        .unwrap()
}

/// Step 3: the response must be an attestation; an assertion is not the
/// documented body.
async fn registration_refuses_a_response_of_another_kind(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (ann, options) = ann_registering(&app).await;
    let mut elsewhere = SoftAuthenticator::new();
    elsewhere.register(&options, &app.origin).unwrap();
    let same_challenge = json!({ "challenge": options["challenge"], "rpId": options["rp"]["id"] });
    let assertion = elsewhere
        .authenticate(&same_challenge, &app.origin)
        .unwrap();
    assert_registration_refused(&ann, &options, assertion, 400, "VALIDATION_FAILED").await;
}

/// Steps 5–6: clientDataJSON must be UTF-8 and JSON.
async fn registration_refuses_client_data_that_is_not_utf8_json(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let ann = Client::signup(&app, "ann@example.com").await;
    for client_data in UNREADABLE_CLIENT_DATA {
        let options = ann.registration_options().await;
        let tweaks = Tweaks {
            raw_client_data_json: Some(client_data.to_vec()),
            ..Tweaks::default()
        };
        let credential = registration(&app, &options, &tweaks);
        assert_registration_refused(&ann, &options, credential, 400, "REGISTRATION_FAILED").await;
    }
}

/// Step 10: `crossOrigin: true` means a cross-origin iframe, which the
/// service never is in.
async fn registration_refuses_cross_origin_client_data(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (ann, options) = ann_registering(&app).await;
    let tweaks = Tweaks {
        cross_origin: Some(true),
        ..Tweaks::default()
    };
    let credential = registration(&app, &options, &tweaks);
    assert_registration_refused(&ann, &options, credential, 400, "REGISTRATION_FAILED").await;
}

/// Step 11: a `topOrigin` names a page the service expects to be framed
/// in; there is none (here `crossOrigin` stays `false`).
async fn registration_refuses_a_top_origin(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (ann, options) = ann_registering(&app).await;
    let tweaks = Tweaks {
        top_origin: Some("https://evil.example".into()),
        ..Tweaks::default()
    };
    let credential = registration(&app, &options, &tweaks);
    assert_registration_refused(&ann, &options, credential, 400, "REGISTRATION_FAILED").await;
}

/// Step 13: the attestation object must decode as CBOR.
async fn registration_refuses_an_attestation_object_that_is_not_cbor(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (ann, options) = ann_registering(&app).await;
    let mut credential = registration(&app, &options, &Tweaks::default());
    credential["response"]["attestationObject"] = json!(base64url(b"\xff not CBOR"));
    assert_registration_refused(&ann, &options, credential, 400, "REGISTRATION_FAILED").await;
}

/// Step 17: BS (backed up) without BE (backup eligible) is impossible.
async fn registration_refuses_backed_up_without_backup_eligible(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (ann, options) = ann_registering(&app).await;
    let tweaks = Tweaks {
        flags_set: FLAG_BS,
        ..Tweaks::default()
    };
    let credential = registration(&app, &options, &tweaks);
    assert_registration_refused(&ann, &options, credential, 400, "REGISTRATION_FAILED").await;
}

/// Step 20: the key's algorithm must be one of `pubKeyCredParams`. ES512
/// is not offered but webauthn-rs reads such a key, so only this step
/// refuses it (errors.rs's EdDSA key is refused earlier: webauthn-rs cannot
/// read Ed25519 keys at all).
async fn registration_refuses_an_algorithm_not_offered(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (ann, options) = ann_registering(&app).await;
    let offered: Vec<_> = options["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert!(!offered.contains(&COSE_ALG_ES512), "{offered:?}");
    let tweaks = Tweaks {
        algorithm: Some(COSE_ALG_ES512),
        ..Tweaks::default()
    };
    let credential = registration(&app, &options, &tweaks);
    assert_registration_refused(&ann, &options, credential, 400, "REGISTRATION_FAILED").await;
}

/// Step 22: `fmt` must be a supported attestation statement format.
async fn registration_refuses_an_unknown_attestation_format(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (ann, options) = ann_registering(&app).await;
    let tweaks = Tweaks {
        attestation_format: Some("x-unknown-format".into()),
        ..Tweaks::default()
    };
    let credential = registration(&app, &options, &tweaks);
    assert_registration_refused(&ann, &options, credential, 400, "REGISTRATION_FAILED").await;
}

/// Step 23: the attestation statement must verify under its format's
/// procedure: "packed" with an empty statement has no signature.
async fn registration_refuses_an_attestation_statement_that_does_not_verify(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (ann, options) = ann_registering(&app).await;
    let tweaks = Tweaks {
        attestation_format: Some("packed".into()),
        ..Tweaks::default()
    };
    let credential = registration(&app, &options, &tweaks);
    assert_registration_refused(&ann, &options, credential, 400, "REGISTRATION_FAILED").await;
}

/// Step 26: a credential id over 1023 bytes is out of range (a body-shape
/// error, so the ceremony stays usable).
async fn registration_refuses_credential_ids_over_1023_bytes(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (ann, options) = ann_registering(&app).await;
    let tweaks = Tweaks {
        credential_id: Some(vec![7; 1024]),
        ..Tweaks::default()
    };
    let credential = registration(&app, &options, &tweaks);
    assert_registration_refused(&ann, &options, credential, 400, "VALIDATION_FAILED").await;
}

/// Step 27 for the same user (another user's is
/// passkeys.rs::a_credential_belongs_to_one_account): the stored passkey
/// stays as it was, key included.
async fn registration_refuses_a_credential_id_the_user_has_already(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;
    let credential_id = base64url_decode(passkey["credentialId"].as_str().unwrap());
    let before = app.stored_passkey(&credential_id).await.unwrap();

    let options = ann.registration_options().await;
    assert_eq!(
        options["excludeCredentials"][0]["id"], passkey["credentialId"],
        "the browser is told which credential the user has"
    );
    let tweaks = Tweaks {
        credential_id: Some(credential_id.clone()),
        ignore_exclude_credentials: true,
        ..Tweaks::default()
    };
    let again = registration(&app, &options, &tweaks);
    ann.post("/api/auth/passkey/register", json!({ "credential": again }))
        .await
        .assert_error(409, "PASSKEY_ALREADY_REGISTERED");
    assert_eq!(ann.get("/api/auth/me").await.body["passkeyCount"], 1);
    assert_eq!(app.stored_passkey(&credential_id).await.unwrap(), before);
    let signed_in = ann.sign_in().await;
    assert_eq!(
        signed_in.status, 200,
        "the original key still signs in: {}",
        signed_in.body
    );
}

/// Step 28 stores the credential under `credential.rawId`: it must be the
/// credential id the authenticator attested (webauthn-rs ignores `rawId`).
async fn registration_refuses_a_raw_id_that_is_not_the_attested_credential_id(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (ann, options) = ann_registering(&app).await;
    let tweaks = Tweaks {
        response_raw_id: Some(vec![9; 32]),
        ..Tweaks::default()
    };
    let credential = registration(&app, &options, &tweaks);
    assert_registration_refused(&ann, &options, credential, 400, "REGISTRATION_FAILED").await;
}

// ---- §7.2 Verifying an Authentication Assertion ----

/// A user with one passkey on `authenticator`, used once (so that the
/// stored counter and last use are set), and its credential id.
async fn enrolled(
    app: &TestApp,
    email: &str,
    authenticator: SoftAuthenticator,
) -> (Client, Vec<u8>) {
    let mut user = Client::signup(app, email).await;
    user.authenticator = authenticator;
    let passkey = user.register().await;
    let signed_in = user.sign_in().await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let credential_id = base64url_decode(passkey["credentialId"].as_str().unwrap());
    (user, credential_id)
}

/// Posts `credential` (made for `options`) as a sign-in with the passkey
/// `credential_id` and checks the refusal: `status` and `code`, no token,
/// the stored passkey unchanged. A failed verification uses the ceremony up;
/// a body that is not the documented shape leaves it for an honest retry.
async fn assert_sign_in_refused(
    client: &mut Client,
    options: &Value,
    credential_id: &[u8],
    credential: Value,
    status: u16,
    code: &str,
) {
    let before = client.app.stored_passkey(credential_id).await.unwrap();
    let answer = client
        .post(
            "/api/auth/passkey/authenticate",
            json!({ "credential": credential }),
        )
        .await;
    answer.assert_error(status, code);
    assert!(answer.body.get("token").is_none());
    assert_eq!(
        client.app.stored_passkey(credential_id).await.unwrap(),
        before,
        "a refused sign-in changed the passkey"
    );

    let honest = client
        .authenticator
        .authenticate(options, &client.app.origin)
        .unwrap();
    let retry = client
        .post(
            "/api/auth/passkey/authenticate",
            json!({ "credential": honest }),
        )
        .await;
    if code == "VALIDATION_FAILED" {
        assert_eq!(
            retry.status, 200,
            "a malformed body used the ceremony up: {}",
            retry.body
        );
    } else {
        retry.assert_error(400, "CHALLENGE_NOT_FOUND");
    }
}

/// What `client`'s authenticator answers to `options` with `tweaks`.
fn assertion(client: &mut Client, options: &Value, tweaks: &Tweaks) -> Value {
    let origin = client.app.origin.clone();
    client
        .authenticator
        .authenticate_with(options, &origin, tweaks)
        .unwrap()
}

/// Step 3: the response must be an assertion; an attestation is not the
/// documented body.
async fn sign_in_refuses_a_response_of_another_kind(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (mut ann, credential_id) =
        enrolled(&app, "ann@example.com", SoftAuthenticator::new()).await;
    let options = ann.sign_in_options(json!({})).await;
    let same_challenge = json!({
        "rp": { "id": "localhost", "name": "Monetro" },
        "user": { "id": base64url(b"someone"), "name": "someone", "displayName": "Someone" },
        "challenge": options["challenge"],
        "pubKeyCredParams": [{ "type": "public-key", "alg": -7 }],
    });
    let attestation = SoftAuthenticator::new()
        .register(&same_challenge, &app.origin)
        .unwrap();
    assert_sign_in_refused(
        &mut ann,
        &options,
        &credential_id,
        attestation,
        400,
        "VALIDATION_FAILED",
    )
    .await;
}

/// Steps 8–9: clientDataJSON must be UTF-8 and JSON.
async fn sign_in_refuses_client_data_that_is_not_utf8_json(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (mut ann, credential_id) =
        enrolled(&app, "ann@example.com", SoftAuthenticator::new()).await;
    for client_data in UNREADABLE_CLIENT_DATA {
        let options = ann.sign_in_options(json!({})).await;
        let tweaks = Tweaks {
            raw_client_data_json: Some(client_data.to_vec()),
            ..Tweaks::default()
        };
        let credential = assertion(&mut ann, &options, &tweaks);
        assert_sign_in_refused(
            &mut ann,
            &options,
            &credential_id,
            credential,
            401,
            "AUTHENTICATION_FAILED",
        )
        .await;
    }
}

/// Step 13: `crossOrigin: true` means a cross-origin iframe, which the
/// service never is in.
async fn sign_in_refuses_cross_origin_client_data(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (mut ann, credential_id) =
        enrolled(&app, "ann@example.com", SoftAuthenticator::new()).await;
    let options = ann.sign_in_options(json!({})).await;
    let tweaks = Tweaks {
        cross_origin: Some(true),
        ..Tweaks::default()
    };
    let credential = assertion(&mut ann, &options, &tweaks);
    assert_sign_in_refused(
        &mut ann,
        &options,
        &credential_id,
        credential,
        401,
        "AUTHENTICATION_FAILED",
    )
    .await;
}

/// Step 14: a `topOrigin` names a page the service expects to be framed
/// in; there is none (here `crossOrigin` stays `false`).
async fn sign_in_refuses_a_top_origin(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (mut ann, credential_id) =
        enrolled(&app, "ann@example.com", SoftAuthenticator::new()).await;
    let options = ann.sign_in_options(json!({})).await;
    let tweaks = Tweaks {
        top_origin: Some("https://evil.example".into()),
        ..Tweaks::default()
    };
    let credential = assertion(&mut ann, &options, &tweaks);
    assert_sign_in_refused(
        &mut ann,
        &options,
        &credential_id,
        credential,
        401,
        "AUTHENTICATION_FAILED",
    )
    .await;
}

/// Step 18: BS (backed up) without BE (backup eligible) is impossible.
async fn sign_in_refuses_backed_up_without_backup_eligible(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (mut ann, credential_id) =
        enrolled(&app, "ann@example.com", SoftAuthenticator::new()).await;
    let options = ann.sign_in_options(json!({})).await;
    let tweaks = Tweaks {
        flags_set: FLAG_BS,
        ..Tweaks::default()
    };
    let credential = assertion(&mut ann, &options, &tweaks);
    assert_sign_in_refused(
        &mut ann,
        &options,
        &credential_id,
        credential,
        401,
        "AUTHENTICATION_FAILED",
    )
    .await;
}

/// Step 19 (and §6.1.3): backup eligibility is fixed when a credential is
/// made; a change either way means another credential source or a
/// tampered authenticator.
async fn sign_in_refuses_a_change_of_backup_eligibility(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (mut device_bound, credential_id) =
        enrolled(&app, "ann@example.com", SoftAuthenticator::new()).await;
    let options = device_bound.sign_in_options(json!({})).await;
    let becomes_eligible = Tweaks {
        flags_set: FLAG_BE,
        ..Tweaks::default()
    };
    let credential = assertion(&mut device_bound, &options, &becomes_eligible);
    assert_sign_in_refused(
        &mut device_bound,
        &options,
        &credential_id,
        credential,
        401,
        "AUTHENTICATION_FAILED",
    )
    .await;

    let synced_authenticator =
        SoftAuthenticator::new().with_counter_mode(CounterMode::AlwaysZeroSynced);
    let (mut synced, credential_id) = enrolled(&app, "bob@example.com", synced_authenticator).await;
    let options = synced.sign_in_options(json!({})).await;
    let no_longer_eligible = Tweaks {
        flags_clear: FLAG_BE | FLAG_BS,
        ..Tweaks::default()
    };
    let credential = assertion(&mut synced, &options, &no_longer_eligible);
    assert_sign_in_refused(
        &mut synced,
        &options,
        &credential_id,
        credential,
        401,
        "AUTHENTICATION_FAILED",
    )
    .await;
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn base64url_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}
