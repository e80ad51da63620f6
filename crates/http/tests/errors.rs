//! Every row of API.md's error table, through the HTTP API, and the order
//! in which checks decide. Failed requests store nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{Backend, Client, spawn, spawn_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use monetro_softauthn::{FLAG_AT, FLAG_UP, FLAG_UV, SoftAuthenticator, Tweaks};
use reqwest::Method;
use serde_json::{Value, json};

on_every_backend!(
    body_shape_errors,
    ceremony_errors,
    registration_verification_failures_store_nothing,
    authentication_verification_failures_change_nothing,
    account_errors,
    token_errors,
    transport_errors,
);

async fn body_shape_errors(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let anon = Client::new(&app);
    for body in [
        json!({ "email": "not an email", "password": "correct horse" }),
        json!({ "email": "ann@example.com", "password": "short" }),
        json!({ "email": "ann@example.com", "password": "x".repeat(257) }),
        json!({ "email": "ann@example.com", "password": "correct horse", "displayName": "d".repeat(65) }),
        json!({ "email": 5, "password": "correct horse" }),
        json!({ "password": "correct horse" }),
        json!(["ann@example.com"]),
    ] {
        anon.post("/api/auth/signup", body)
            .await
            .assert_error(400, "VALIDATION_FAILED");
    }
    anon.post(
        "/api/auth/login",
        json!({ "email": "ann@example.com", "password": "p".repeat(257) }),
    )
    .await
    .assert_error(400, "VALIDATION_FAILED");
    anon.post(
        "/api/auth/passkey/authenticate-options",
        json!({ "email": 42 }),
    )
    .await
    .assert_error(400, "VALIDATION_FAILED");

    let mut ann = Client::signup(&app, "ann@example.com").await;
    let options = ann.registration_options().await;
    let good = ann.authenticator.register(&options, &app.origin).unwrap();
    let padded = |field: &str| {
        let mut credential = good.clone();
        let value = credential["response"][field].as_str().unwrap().to_owned();
        credential["response"][field] = json!(format!("{value}=="));
        credential
    };
    let standard_alphabet = {
        let mut credential = good.clone();
        let id = credential["rawId"]
            .as_str()
            .unwrap()
            .replace('-', "+")
            .replace('_', "/");
        credential["rawId"] = json!(format!("{id}+/"));
        credential
    };
    for credential in [
        padded("clientDataJSON"),
        padded("attestationObject"),
        standard_alphabet,
        json!("nope"),
        json!({}),
    ] {
        ann.post(
            "/api/auth/passkey/register",
            json!({ "credential": credential }),
        )
        .await
        .assert_error(400, "VALIDATION_FAILED");
    }
    // A malformed body does not use the challenge up.
    let answer = ann
        .post("/api/auth/passkey/register", json!({ "credential": good }))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

async fn ceremony_errors(backend: Backend) {
    let Some(app) = spawn_with(backend, |c| c.webauthn.ceremony_ttl_secs = 1).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;

    // No options call at all.
    let options = ann.registration_options().await;
    let credential = ann.authenticator.register(&options, &app.origin).unwrap();
    let fresh_jar = Client {
        token: ann.token.clone(),
        ..Client::new(&app)
    };
    fresh_jar
        .post(
            "/api/auth/passkey/register",
            json!({ "credential": credential.clone() }),
        )
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");

    // A ceremony of the other kind.
    let other_kind = Client {
        token: ann.token.clone(),
        ..Client::new(&app)
    };
    other_kind.sign_in_options(json!({})).await;
    other_kind
        .post(
            "/api/auth/passkey/register",
            json!({ "credential": credential.clone() }),
        )
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");

    // Another user's registration ceremony: the cookie is Ann's, the token Bob's.
    let bob = Client::signup(&app, "bob@example.com").await;
    let mut bob_with_anns_cookie = Client {
        token: bob.token.clone(),
        ..Client::new(&app)
    };
    bob_with_anns_cookie.http = ann.http.clone();
    bob_with_anns_cookie
        .post(
            "/api/auth/passkey/register",
            json!({ "credential": credential.clone() }),
        )
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");
    // …which leaves Ann's ceremony in place.
    assert_eq!(
        ann.post(
            "/api/auth/passkey/register",
            json!({ "credential": credential })
        )
        .await
        .status,
        201
    );

    // Past the TTL.
    let options = ann.sign_in_options(json!({})).await;
    let assertion = ann
        .authenticator
        .authenticate(&options, &app.origin)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ann.post(
        "/api/auth/passkey/authenticate",
        json!({ "credential": assertion }),
    )
    .await
    .assert_error(400, "CHALLENGE_EXPIRED");
}

fn authenticator_data_tweaks(rp_id_hash: [u8; 32]) -> Vec<(&'static str, Tweaks)> {
    vec![
        (
            "origin",
            Tweaks {
                origin: Some("https://evil.example".into()),
                ..Tweaks::default()
            },
        ),
        (
            "http origin",
            Tweaks {
                origin: Some("http://localhost".into()),
                ..Tweaks::default()
            },
        ),
        (
            "challenge",
            Tweaks {
                challenge: Some(vec![7; 32]),
                ..Tweaks::default()
            },
        ),
        (
            "rpIdHash",
            Tweaks {
                rp_id_hash: Some(rp_id_hash),
                ..Tweaks::default()
            },
        ),
        (
            "user presence",
            Tweaks {
                flags_clear: FLAG_UP,
                ..Tweaks::default()
            },
        ),
        (
            "user verification",
            Tweaks {
                flags_clear: FLAG_UV,
                ..Tweaks::default()
            },
        ),
    ]
}

async fn registration_verification_failures_store_nothing(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let mut cases = authenticator_data_tweaks([9; 32]);
    cases.push((
        "type",
        Tweaks {
            type_: Some("webauthn.get".into()),
            ..Tweaks::default()
        },
    ));
    cases.push((
        "algorithm not offered",
        Tweaks {
            algorithm: Some(-8),
            ..Tweaks::default()
        },
    ));
    cases.push((
        "no attested credential data",
        Tweaks {
            omit_attested_credential_data: true,
            flags_clear: FLAG_AT,
            ..Tweaks::default()
        },
    ));
    for (step, tweaks) in cases {
        ann.authenticator = SoftAuthenticator::new();
        let answer = ann.register_with(None, &tweaks).await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (400, "REGISTRATION_FAILED"),
            "{step}: {}",
            answer.body
        );
    }
    assert_eq!(ann.get("/api/auth/me").await.body["passkeyCount"], 0);

    // The failed finish used the challenge up.
    let options = ann.registration_options().await;
    let tweaks = Tweaks {
        origin: Some("https://evil.example".into()),
        ..Tweaks::default()
    };
    let bad = ann
        .authenticator
        .register_with(&options, &app.origin, &tweaks)
        .unwrap();
    ann.post("/api/auth/passkey/register", json!({ "credential": bad }))
        .await
        .assert_error(400, "REGISTRATION_FAILED");
    let good = SoftAuthenticator::new()
        .register(&options, &app.origin)
        .unwrap();
    ann.post("/api/auth/passkey/register", json!({ "credential": good }))
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");
}

async fn authentication_verification_failures_change_nothing(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    ann.register().await;
    assert_eq!(ann.sign_in().await.status, 200);
    let before = ann.get("/api/auth/passkey/list").await.body["passkeys"].clone();

    let bob = Client::signup(&app, "bob@example.com").await;
    let bob_handle = {
        let list = bob.get("/api/auth/passkey/list").await.body;
        base64url_decode(list["userHandle"].as_str().unwrap())
    };
    let mut cases = authenticator_data_tweaks([9; 32]);
    cases.push((
        "type",
        Tweaks {
            type_: Some("webauthn.create".into()),
            ..Tweaks::default()
        },
    ));
    cases.push((
        "signature",
        Tweaks {
            corrupt_signature: true,
            ..Tweaks::default()
        },
    ));
    cases.push((
        "counter regression",
        Tweaks {
            counter: Some(1),
            ..Tweaks::default()
        },
    ));
    cases.push((
        "user handle of another user",
        Tweaks {
            user_handle: Some(Some(bob_handle)),
            ..Tweaks::default()
        },
    ));
    cases.push((
        "no user handle without an email",
        Tweaks {
            user_handle: Some(None),
            ..Tweaks::default()
        },
    ));
    for (step, tweaks) in cases {
        let (answer, _) = ann.sign_in_with(json!({}), &tweaks).await;
        assert_eq!(
            (answer.status.as_u16(), answer.code()),
            (401, "AUTHENTICATION_FAILED"),
            "{step}: {}",
            answer.body
        );
    }
    assert_eq!(
        ann.get("/api/auth/passkey/list").await.body["passkeys"],
        before,
        "a failed sign-in changed the passkey"
    );

    // A credential not offered for an email-scoped sign-in.
    let mut other = Client::signup(&app, "other@example.com").await;
    other.register().await;
    let others_before = other.get("/api/auth/passkey/list").await.body["passkeys"].clone();
    let options = other
        .sign_in_options(json!({ "email": "ann@example.com" }))
        .await;
    let mut discoverable = options.clone();
    discoverable["allowCredentials"] = json!([]);
    let assertion = other
        .authenticator
        .authenticate(&discoverable, &app.origin)
        .unwrap();
    other
        .post(
            "/api/auth/passkey/authenticate",
            json!({ "credential": assertion }),
        )
        .await
        .assert_error(401, "AUTHENTICATION_FAILED");
    assert_eq!(
        other.get("/api/auth/passkey/list").await.body["passkeys"],
        others_before
    );
}

async fn account_errors(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    Client::signup(&app, "ann@example.com").await;
    let anon = Client::new(&app);
    anon.post(
        "/api/auth/signup",
        json!({ "email": " ANN@example.com", "password": "another password" }),
    )
    .await
    .assert_error(409, "EMAIL_TAKEN");
    let wrong = anon
        .post(
            "/api/auth/login",
            json!({ "email": "ann@example.com", "password": "wrong password" }),
        )
        .await;
    let unknown = anon
        .post(
            "/api/auth/login",
            json!({ "email": "zed@example.com", "password": "wrong password" }),
        )
        .await;
    wrong.assert_error(401, "INVALID_CREDENTIALS");
    unknown.assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.body, unknown.body, "the same answer for both");
    let login = anon
        .post(
            "/api/auth/login",
            json!({ "email": "Ann@Example.com", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.headers["cache-control"], "no-store");
}

async fn token_errors(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let ann = Client::signup(&app, "ann@example.com").await;
    let with = |token: &str| Client {
        token: Some(token.to_owned()),
        ..Client::new(&app)
    };

    Client::new(&app)
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");
    with("garbage")
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");

    let token = ann.token.clone().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let none_header =
        base64url(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#).as_bytes());
    with(&format!("{none_header}.{payload}."))
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");

    let claims: Value = serde_json::from_slice(&base64url_decode(payload)).unwrap();
    let foreign_key = monetro_adapters::generate_signing_key_pem().unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.clone());
    let forged = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ec_pem(foreign_key.as_bytes()).unwrap(),
    )
    .unwrap();
    with(&forged)
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");

    let own_key = std::fs::read(app.data_dir.0.join("jwt-signing-key.pem")).unwrap();
    let own_key = EncodingKey::from_ec_pem(&own_key).unwrap();
    let mut expired = claims.clone();
    expired["exp"] = json!(claims["iat"].as_i64().unwrap() - 1);
    let expired = jsonwebtoken::encode(&header, &expired, &own_key).unwrap();
    with(&expired)
        .get("/api/auth/me")
        .await
        .assert_error(401, "TOKEN_EXPIRED");

    let mut other_audience = claims.clone();
    other_audience["aud"] = json!("somebody-else");
    let other_audience = jsonwebtoken::encode(&header, &other_audience, &own_key).unwrap();
    with(&other_audience)
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");

    // The bearer token is checked before the body.
    with("garbage")
        .post("/api/auth/passkey/register", json!("not even an object"))
        .await
        .assert_error(401, "UNAUTHORIZED");
}

async fn transport_errors(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let anon = Client::new(&app);
    anon.get("/no/such/route")
        .await
        .assert_error(404, "NOT_FOUND");
    anon.send(Method::PUT, "/api/auth/login", None)
        .await
        .assert_error(405, "METHOD_NOT_ALLOWED");
    anon.send(Method::GET, "/api/auth/passkey/authenticate", None)
        .await
        .assert_error(405, "METHOD_NOT_ALLOWED");

    let huge = json!({ "email": "ann@example.com", "password": "p".repeat(70 * 1024) });
    anon.post("/api/auth/signup", huge.clone())
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    anon.post("/api/auth/passkey/authenticate-options", huge)
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");

    let url = format!("{}/api/auth/login", app.base);
    let plain = anon
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body(r#"{"email":"a@b.c","password":"x"}"#);
    common::answer(plain.send().await.unwrap())
        .await
        .assert_error(400, "VALIDATION_FAILED");
    let broken = anon
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body(vec![b'{', 0xff, 0xfe]);
    common::answer(broken.send().await.unwrap())
        .await
        .assert_error(400, "VALIDATION_FAILED");
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
