//! Automatic passkey upgrade (conditional create, WebAuthn Level 3 §7.1
//! step 15): a registration whose options were asked for with
//! `"mediation": "conditional"` may come without user presence (UP=0), and
//! nothing else may — not an ordinary registration, not a passkey sign-up,
//! not a sign-in, not a re-authentication.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::TcpListener;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::receiver::Receiver;
use common::{Answer, Backend, Client, TestApp, spawn, spawn_with};
use monetro_http::config::WebhookEndpointConfig;
use monetro_softauthn::{FLAG_UP, FLAG_UV, SoftAuthenticator, Tweaks};
use secrecy::SecretString;
use serde_json::{Value, json};

on_every_backend!(
    conditional_create_accepts_a_credential_without_user_presence,
    conditional_create_accepts_a_present_user_too,
    user_verification_may_be_missing_only_in_conditional_create,
    user_presence_is_required_everywhere_else,
    a_conditional_ceremony_serves_nothing_else,
    mediation_must_be_conditional,
    conditional_options_need_a_recent_sign_in,
    the_webhook_event_says_how_the_passkey_was_made,
);

const REGISTER_OPTIONS: &str = "/api/auth/passkey/register-options";
const REGISTER: &str = "/api/auth/passkey/register";

/// Registration tweaks: these flags cleared.
fn cleared(flags: u8) -> Tweaks {
    Tweaks {
        flags_clear: flags,
        ..Tweaks::default()
    }
}

/// Options asked for with `body`; asserts `200`.
async fn options_for(client: &Client, body: Value) -> Value {
    let answer = client.post(REGISTER_OPTIONS, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["publicKey"].clone()
}

async fn conditional_options(client: &Client) -> Value {
    options_for(client, json!({ "mediation": "conditional" })).await
}

/// The client's authenticator answers `options` with `tweaks`; the answer
/// of the register call, and the credential id.
async fn register_for(client: &mut Client, options: &Value, tweaks: &Tweaks) -> (Answer, Vec<u8>) {
    let origin = client.app.origin.clone();
    let credential = client
        .authenticator
        .register_with(options, &origin, tweaks)
        .unwrap();
    let id = URL_SAFE_NO_PAD
        .decode(credential["rawId"].as_str().unwrap())
        .unwrap();
    let answer = client
        .post(REGISTER, json!({ "credential": credential }))
        .await;
    (answer, id)
}

/// The webauthn-rs record of a stored passkey (its `verifier`).
async fn record(app: &TestApp, credential_id: &[u8]) -> Value {
    let passkey = app.stored_passkey(credential_id).await.unwrap();
    serde_json::from_str(&passkey.verifier).unwrap()
}

async fn passkey_count(client: &Client) -> usize {
    client.get("/api/auth/passkey/list").await.body["passkeys"]
        .as_array()
        .unwrap()
        .len()
}

/// Signs in on a fresh device holding `client`'s credentials, with an
/// honest (UP=1, UV=1) assertion; returns the answer.
async fn sign_in_elsewhere(client: &Client) -> Answer {
    let mut device = Client::new(&client.app);
    device.authenticator = client.authenticator.clone();
    device.sign_in().await
}

async fn conditional_create_accepts_a_credential_without_user_presence(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let ordinary = options_for(&ann, json!({})).await;
    assert_eq!(
        ordinary["extensions"]["credentialProtectionPolicy"],
        "userVerificationRequired"
    );
    let options = conditional_options(&ann).await;
    let selection = &options["authenticatorSelection"];
    assert_eq!(selection["userVerification"], "preferred");
    assert_eq!(selection["residentKey"], "required");
    assert_eq!(options["attestation"], "none");
    // Browsers refuse credProtect's userVerificationRequired with a UV
    // that is only preferred (ordinary options keep it).
    assert_eq!(
        options["extensions"]["credentialProtectionPolicy"],
        Value::Null
    );
    assert_eq!(options["extensions"]["credProps"], true);

    let (answer, id) = register_for(&mut ann, &options, &cleared(FLAG_UP)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(passkey_count(&ann).await, 1);
    let stored = record(&app, &id).await;
    assert_eq!(stored["cred"]["user_verified"], true, "UV as sent");

    let signed_in = sign_in_elsewhere(&ann).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(app.stored_passkey(&id).await.unwrap().sign_count, 1);
}

async fn conditional_create_accepts_a_present_user_too(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let options = conditional_options(&ann).await;
    let (answer, id) = register_for(&mut ann, &options, &Tweaks::default()).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(record(&app, &id).await["cred"]["user_verified"], true);
    assert_eq!(sign_in_elsewhere(&ann).await.status, 200);
}

async fn user_verification_may_be_missing_only_in_conditional_create(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;

    // Ordinary: UV is required, with or without UP.
    for flags in [FLAG_UV, FLAG_UP | FLAG_UV] {
        let options = options_for(&ann, json!({})).await;
        assert_eq!(
            options["authenticatorSelection"]["userVerification"],
            "required"
        );
        let (answer, id) = register_for(&mut ann, &options, &cleared(flags)).await;
        answer.assert_error(400, "REGISTRATION_FAILED");
        assert_eq!(app.stored_passkey(&id).await, None);
    }
    assert_eq!(passkey_count(&ann).await, 0);

    // Conditional: neither UP nor UV needed; the record says UV was not
    // performed, and sign-in still demands it.
    let options = conditional_options(&ann).await;
    let (answer, id) = register_for(&mut ann, &options, &cleared(FLAG_UP | FLAG_UV)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let stored = record(&app, &id).await;
    assert_eq!(stored["cred"]["user_verified"], false, "UV as sent");
    assert_eq!(stored["cred"]["registration_policy"], "preferred");

    let mut device = Client::new(&app);
    device.authenticator = ann.authenticator.clone();
    let (unverified, _) = device.sign_in_with(json!({}), &cleared(FLAG_UV)).await;
    unverified.assert_error(401, "AUTHENTICATION_FAILED");
    let (verified, _) = device.sign_in_with(json!({}), &Tweaks::default()).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
}

async fn user_presence_is_required_everywhere_else(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let absent = cleared(FLAG_UP);

    // An ordinary registration.
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let options = options_for(&ann, json!({ "hints": ["client-device"] })).await;
    let (answer, id) = register_for(&mut ann, &options, &absent).await;
    answer.assert_error(400, "REGISTRATION_FAILED");
    assert_eq!(app.stored_passkey(&id).await, None);
    assert_eq!(passkey_count(&ann).await, 0);

    // A passkey sign-up: no account, no passkey.
    let mut bob = Client::new(&app);
    let signup_options = bob
        .post(
            "/api/auth/passkey/signup-options",
            json!({ "email": "bob@example.com" }),
        )
        .await;
    assert_eq!(signup_options.status, 200, "{}", signup_options.body);
    let credential = bob
        .authenticator
        .register_with(&signup_options.body["publicKey"], &app.origin, &absent)
        .unwrap();
    let id = URL_SAFE_NO_PAD
        .decode(credential["rawId"].as_str().unwrap())
        .unwrap();
    bob.post(
        "/api/auth/passkey/signup",
        json!({ "credential": credential }),
    )
    .await
    .assert_error(400, "REGISTRATION_FAILED");
    assert_eq!(app.stored_passkey(&id).await, None);
    let taken = bob
        .post(
            "/api/auth/signup",
            json!({ "email": "bob@example.com", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(taken.status, 201, "the refused sign-up made an account");

    // A sign-in and a re-authentication, with a passkey made honestly
    // (conditionally, even): the assertion needs UP.
    let options = conditional_options(&ann).await;
    let (answer, id) = register_for(&mut ann, &options, &absent).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let before = app.stored_passkey(&id).await.unwrap();

    let mut device = Client::new(&app);
    device.authenticator = ann.authenticator.clone();
    let (refused, _) = device.sign_in_with(json!({}), &absent).await;
    refused.assert_error(401, "AUTHENTICATION_FAILED");
    assert!(refused.body.get("token").is_none());

    let reauth_options = ann
        .post("/api/auth/reauthenticate-options", json!({}))
        .await;
    assert_eq!(reauth_options.status, 200, "{}", reauth_options.body);
    let assertion = ann
        .authenticator
        .authenticate_with(&reauth_options.body["publicKey"], &app.origin, &absent)
        .unwrap();
    ann.post(
        "/api/auth/reauthenticate",
        json!({ "credential": assertion }),
    )
    .await
    .assert_error(401, "AUTHENTICATION_FAILED");
    assert_eq!(
        app.stored_passkey(&id).await.unwrap(),
        before,
        "nothing updated"
    );
}

async fn a_conditional_ceremony_serves_nothing_else(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let absent = cleared(FLAG_UP);

    // Its credential is not a passkey sign-up: that needs a sign-up
    // ceremony of its own.
    let options = conditional_options(&ann).await;
    let credential = SoftAuthenticator::new()
        .register_with(&options, &app.origin, &absent)
        .unwrap();
    let mut anonymous = Client::new(&app);
    anonymous.http = ann.http.clone();
    anonymous
        .post(
            "/api/auth/passkey/signup",
            json!({ "credential": credential }),
        )
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");

    // Nor is it Bob's, with Ann's cookie.
    let bob = Client::signup(&app, "bob@example.com").await;
    let mut bob_with_anns_cookie = Client {
        token: bob.token.clone(),
        ..Client::new(&app)
    };
    bob_with_anns_cookie.http = ann.http.clone();
    bob_with_anns_cookie
        .post(REGISTER, json!({ "credential": credential }))
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");
    assert_eq!(passkey_count(&bob).await, 0);

    // A later ordinary ceremony replaces it in the cookie and stays strict:
    // neither the conditional credential nor a new one without UP passes,
    // whatever the finish body claims.
    let ordinary = options_for(&ann, json!({})).await;
    ann.post(REGISTER, json!({ "credential": credential }))
        .await
        .assert_error(400, "REGISTRATION_FAILED");
    let ordinary = {
        let again = options_for(&ann, json!({})).await;
        assert_ne!(again["challenge"], ordinary["challenge"]);
        again
    };
    let without_presence = SoftAuthenticator::new()
        .register_with(&ordinary, &app.origin, &absent)
        .unwrap();
    ann.post(
        REGISTER,
        json!({ "credential": without_presence, "mediation": "conditional" }),
    )
    .await
    .assert_error(400, "REGISTRATION_FAILED");
    assert_eq!(passkey_count(&ann).await, 0);

    // A conditional ceremony is used up like any other.
    let options = conditional_options(&ann).await;
    let (answer, _) = register_for(&mut ann, &options, &absent).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let replay = SoftAuthenticator::new()
        .register_with(&options, &app.origin, &absent)
        .unwrap();
    ann.post(REGISTER, json!({ "credential": replay }))
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");
    assert_eq!(passkey_count(&ann).await, 1);
}

async fn mediation_must_be_conditional(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let ann = Client::signup(&app, "ann@example.com").await;
    for mediation in [
        "silent",
        "optional",
        "required",
        "immediate",
        "Conditional",
        "",
    ] {
        let answer = ann
            .post(REGISTER_OPTIONS, json!({ "mediation": mediation }))
            .await;
        answer.assert_error(400, "VALIDATION_FAILED");
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(r#"is not "conditional""#),
            "{mediation}: {}",
            answer.body
        );
    }
    for mediation in [
        json!(true),
        json!(["conditional"]),
        json!({ "conditional": null }),
    ] {
        ann.post(REGISTER_OPTIONS, json!({ "mediation": mediation }))
            .await
            .assert_error(400, "VALIDATION_FAILED");
    }
    let ordinary = options_for(&ann, json!({ "mediation": null })).await;
    assert_eq!(
        ordinary["authenticatorSelection"]["userVerification"],
        "required"
    );
    let with_hints = options_for(
        &ann,
        json!({ "mediation": "conditional", "hints": ["client-device"] }),
    )
    .await;
    assert_eq!(with_hints["hints"], json!(["client-device"]));
    assert_eq!(
        with_hints["authenticatorSelection"]["userVerification"],
        "preferred"
    );
}

async fn conditional_options_need_a_recent_sign_in(backend: Backend) {
    let Some(app) = spawn_with(backend, |c| c.tokens.step_up_window_secs = 1).await else {
        return;
    };
    let ann = Client::signup(&app, "ann@example.com").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    ann.post(REGISTER_OPTIONS, json!({ "mediation": "conditional" }))
        .await
        .assert_error(403, "REAUTHENTICATION_REQUIRED");
}

async fn the_webhook_event_says_how_the_passkey_was_made(backend: Backend) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hooks",
        listener.local_addr().unwrap().port()
    );
    let receiver = Receiver::start(listener);
    let Some(app) = spawn_with(backend, |config| {
        config.webhooks.endpoints = vec![WebhookEndpointConfig {
            url,
            secret: SecretString::from("test webhook secret, long enough"),
            events: Some(vec!["passkey.registered".into()]),
        }];
        config.webhooks.poll_interval_ms = 50;
    })
    .await
    else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let upgrade = conditional_options(&ann).await;
    let (answer, _) = register_for(&mut ann, &upgrade, &cleared(FLAG_UP)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let upgraded = answer.body["passkey"]["id"].clone();
    ann.authenticator = SoftAuthenticator::new();
    let ordinary = ann.register().await["id"].clone();

    let received = receiver
        .wait_for("two passkey.registered events", |all| all.len() >= 2)
        .await;
    let conditional_of = |id: &Value| {
        received
            .iter()
            .map(|r| r.json()["data"].clone())
            .find(|data| data["passkeyId"] == *id)
            .unwrap()["conditional"]
            .clone()
    };
    assert_eq!(conditional_of(&upgraded), true);
    assert_eq!(conditional_of(&ordinary), false);
}
