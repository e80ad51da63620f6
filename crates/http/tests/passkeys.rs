//! The passkey endpoints end to end: real ceremonies, real database.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Backend, Client, spawn, spawn_peer};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use monetro_softauthn::{CounterMode, SoftAuthenticator, Tweaks};
use serde_json::{Value, json};

on_every_backend!(
    register_list_sign_in_delete_round_trip,
    email_scoped_sign_in_and_decoys,
    a_replayed_finish_fails,
    racing_finishes_have_one_winner,
    ceremonies_cross_instances,
    a_credential_belongs_to_one_account,
    synced_passkeys_update_backup_state_and_keep_counter_zero,
    rename_and_delete_are_scoped_to_the_owner,
    passkey_names_and_authenticator_names,
    the_security_log_lists_the_callers_events,
);

/// Verifies a session token with nothing but the JWKS, as other Monetro
/// services do.
async fn claims_via_jwks(client: &Client, token: &str) -> Value {
    let jwks = client.get("/.well-known/jwks.json").await.body;
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"].as_str() == header.kid.as_deref())
        .expect("token kid is in the JWKS");
    let key =
        DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["monetro"]);
    validation.set_issuer(&["monetro"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

async fn register_list_sign_in_delete_round_trip(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;

    let options = ann.registration_options().await;
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(options["rp"]["id"], "localhost");
    let passkey = ann.register().await;
    assert_eq!(passkey["name"], "Passkey");
    assert_eq!(passkey["lastUsedAt"], Value::Null);
    assert_eq!(
        passkey["authenticatorName"],
        Value::Null,
        "all-zero AAGUID has no name"
    );

    let list = ann.get("/api/auth/passkey/list").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["rpId"], "localhost");
    assert_eq!(list.body["userHandle"], options["user"]["id"]);
    assert_eq!(list.body["passkeys"], json!([passkey.clone()]));
    assert_eq!(ann.get("/api/auth/me").await.body["passkeyCount"], 1);

    let mut browser = ann.elsewhere(&app);
    browser.token = None;
    let signed_in = browser.sign_in().await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.body["tokenType"], "Bearer");
    assert_eq!(signed_in.body["expiresIn"], 900);
    assert_eq!(signed_in.body["user"]["email"], "ann@example.com");
    assert_eq!(signed_in.headers["cache-control"], "no-store");
    let claims = claims_via_jwks(&browser, signed_in.body["token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], signed_in.body["user"]["id"]);
    assert_eq!(claims["amr"], json!(["webauthn"]));

    let used = &ann.get("/api/auth/passkey/list").await.body["passkeys"][0];
    assert!(used["lastUsedAt"].is_string());

    let id = passkey["id"].as_str().unwrap();
    let deleted = ann
        .send(
            reqwest::Method::DELETE,
            &format!("/api/auth/passkey/{id}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        ann.get("/api/auth/passkey/list").await.body["passkeys"],
        json!([])
    );

    // The passkey is still in the browser: the answer lets the page ask the
    // browser to forget it.
    let orphan = browser.sign_in().await;
    orphan.assert_error(404, "PASSKEY_NOT_FOUND");
    assert_eq!(orphan.body["error"]["message"], "Unknown Passkey");
    assert_eq!(
        orphan.body["error"]["credentialId"],
        passkey["credentialId"]
    );
    assert_eq!(orphan.body["error"]["rpId"], "localhost");
}

async fn email_scoped_sign_in_and_decoys(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;

    let options = ann
        .sign_in_options(json!({ "email": "ANN@example.com" }))
        .await;
    assert_eq!(
        options["allowCredentials"][0]["id"],
        passkey["credentialId"]
    );
    assert_eq!(options["userVerification"], "required");
    let (answer, _) = ann
        .sign_in_with(json!({ "email": "ann@example.com" }), &Tweaks::default())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let nobody = Client::new(&app);
    let first = nobody
        .sign_in_options(json!({ "email": "nobody@example.com" }))
        .await;
    let again = nobody
        .sign_in_options(json!({ "email": "nobody@example.com" }))
        .await;
    assert_eq!(first["allowCredentials"], again["allowCredentials"]);
    assert_eq!(first["allowCredentials"].as_array().unwrap().len(), 1);
    let fields = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(fields(&first), fields(&options));
    assert_eq!(
        fields(&first["allowCredentials"][0]),
        fields(&options["allowCredentials"][0])
    );

    // Without a body at all, as some clients send it.
    let bare = nobody
        .http
        .post(format!(
            "{}/api/auth/passkey/authenticate-options",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 200);
}

async fn a_replayed_finish_fails(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    ann.register().await;
    let (first, body) = ann.sign_in_with(json!({}), &Tweaks::default()).await;
    assert_eq!(first.status, 200);
    let replay = ann.post("/api/auth/passkey/authenticate", body).await;
    replay.assert_error(400, "CHALLENGE_NOT_FOUND");

    // Registration too: the identical cookie and body, twice.
    let options = ann.registration_options().await;
    let mut second_key = SoftAuthenticator::new();
    let credential = second_key.register(&options, &app.origin).unwrap();
    let body = json!({ "credential": credential });
    assert_eq!(
        ann.post("/api/auth/passkey/register", body.clone())
            .await
            .status,
        201
    );
    ann.post("/api/auth/passkey/register", body)
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");
}

async fn racing_finishes_have_one_winner(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    ann.register().await;
    let options = ann.sign_in_options(json!({})).await;
    let credential = ann
        .authenticator
        .authenticate(&options, &app.origin)
        .unwrap();
    let body = json!({ "credential": credential });
    let url = format!("{}/api/auth/passkey/authenticate", app.base);
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let (http, url, body) = (ann.http.clone(), url.clone(), body.clone());
            tokio::spawn(async move {
                common::answer(http.post(url).json(&body).send().await.unwrap()).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    let winners = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        winners,
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for loser in answers.iter().filter(|a| a.status != 200) {
        loser.assert_error(400, "CHALLENGE_NOT_FOUND");
    }
}

async fn ceremonies_cross_instances(backend: Backend) {
    let Some(first) = spawn(backend).await else {
        return;
    };
    ceremonies_finish_on_a_peer(first).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremonies_cross_instances_through_redis() {
    let Some(redis) = monetro_adapters::testing::redis_settings() else {
        return;
    };
    let first = common::spawn_with(Backend::Sqlite, |c| {
        c.ceremonies.store = monetro_http::config::CeremonyStoreKind::Redis;
        c.ceremonies.redis_url = redis.url.clone();
        c.ceremonies.redis_prefix = redis.prefix.clone();
    })
    .await
    .unwrap();
    assert_eq!(Client::new(&first).get("/readyz").await.status, 200);
    ceremonies_finish_on_a_peer(first).await;
}

/// Options from one instance, finish on another, with the same cookie.
async fn ceremonies_finish_on_a_peer(first: common::TestApp) {
    let second = spawn_peer(&first).await;
    let mut ann = Client::signup(&first, "ann@example.com").await;

    // Options from one instance, finish on the other, with the same cookie.
    let options = ann.registration_options().await;
    let credential = ann.authenticator.register(&options, &first.origin).unwrap();
    let mut on_second = ann.elsewhere(&second);
    on_second.http = ann.http.clone();
    let cookie_jar_shared = on_second
        .post(
            "/api/auth/passkey/register",
            json!({ "credential": credential }),
        )
        .await;
    // Cookies are per host: the jar holds the first instance's cookie under
    // 127.0.0.1, which the second (same host, other port) also receives.
    assert_eq!(cookie_jar_shared.status, 201, "{}", cookie_jar_shared.body);

    let options = ann.sign_in_options(json!({})).await;
    let assertion = ann
        .authenticator
        .authenticate(&options, &first.origin)
        .unwrap();
    let signed_in = on_second
        .post(
            "/api/auth/passkey/authenticate",
            json!({ "credential": assertion }),
        )
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    // Tokens of one instance are accepted by the other.
    let mut with_token = Client::new(&second);
    with_token.token = signed_in.body["token"].as_str().map(str::to_owned);
    assert_eq!(with_token.get("/api/auth/me").await.status, 200);
}

async fn a_credential_belongs_to_one_account(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;
    let credential_id = base64url_decode(passkey["credentialId"].as_str().unwrap());
    let before = app.stored_passkey(&credential_id).await.unwrap();

    let mut mallory = Client::signup(&app, "mallory@example.com").await;
    let tweaks = Tweaks {
        credential_id: Some(credential_id.clone()),
        ..Tweaks::default()
    };
    let stolen = mallory.register_with(None, &tweaks).await;
    stolen.assert_error(409, "PASSKEY_ALREADY_REGISTERED");
    assert_eq!(mallory.get("/api/auth/me").await.body["passkeyCount"], 0);
    assert_eq!(
        app.stored_passkey(&credential_id).await.unwrap(),
        before,
        "Ann's passkey is untouched"
    );
    assert_eq!(ann.sign_in().await.status, 200);
}

async fn synced_passkeys_update_backup_state_and_keep_counter_zero(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    ann.authenticator = SoftAuthenticator::new()
        .with_counter_mode(CounterMode::AlwaysZeroSynced)
        .with_aaguid(
            *uuid::Uuid::parse_str("fbfc3007-154e-4ecc-8c0b-6e020557d7bd")
                .unwrap()
                .as_bytes(),
        );
    let passkey = ann.register().await;
    assert_eq!(passkey["backupEligible"], true);
    assert_eq!(passkey["backedUp"], true);
    assert_eq!(passkey["authenticatorName"], "iCloud Keychain");
    assert_eq!(passkey["name"], "iCloud Keychain");
    for _ in 0..3 {
        let answer = ann.sign_in().await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
}

async fn rename_and_delete_are_scoped_to_the_owner(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;
    let path = format!("/api/auth/passkey/{}", passkey["id"].as_str().unwrap());
    let bob = Client::signup(&app, "bob@example.com").await;

    bob.send(reqwest::Method::DELETE, &path, None)
        .await
        .assert_error(404, "PASSKEY_NOT_FOUND");
    bob.send(
        reqwest::Method::PATCH,
        &path,
        Some(&json!({ "name": "Bob's now" })),
    )
    .await
    .assert_error(404, "PASSKEY_NOT_FOUND");

    let renamed = ann
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&json!({ "name": "  Work laptop " })),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["passkey"]["name"], "Work laptop");
    assert_eq!(renamed.body["passkey"]["id"], passkey["id"]);
    for bad in [
        json!({ "name": "   " }),
        json!({ "name": "x".repeat(65) }),
        json!({ "name": 7 }),
        json!({}),
    ] {
        ann.send(reqwest::Method::PATCH, &path, Some(&bad))
            .await
            .assert_error(400, "VALIDATION_FAILED");
    }
    ann.send(
        reqwest::Method::DELETE,
        "/api/auth/passkey/not-a-uuid",
        None,
    )
    .await
    .assert_error(400, "VALIDATION_FAILED");
    let unknown = format!("/api/auth/passkey/{}", uuid::Uuid::new_v4());
    ann.send(reqwest::Method::DELETE, &unknown, None)
        .await
        .assert_error(404, "PASSKEY_NOT_FOUND");
    assert_eq!(
        ann.send(reqwest::Method::DELETE, &path, None).await.status,
        204
    );
}

async fn passkey_names_and_authenticator_names(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let named = ann
        .register_with(Some("  MacBook Touch ID "), &Tweaks::default())
        .await;
    assert_eq!(named.body["passkey"]["name"], "MacBook Touch ID");
    ann.authenticator = SoftAuthenticator::new();
    let blank = ann.register_with(Some("   "), &Tweaks::default()).await;
    assert_eq!(
        blank.body["passkey"]["name"], "Passkey",
        "a blank name counts as absent"
    );
    ann.authenticator = SoftAuthenticator::new();
    let too_long = ann
        .register_with(Some(&"n".repeat(65)), &Tweaks::default())
        .await;
    too_long.assert_error(400, "VALIDATION_FAILED");
    let list = ann.get("/api/auth/passkey/list").await.body;
    assert_eq!(
        list["passkeys"][0]["id"], blank.body["passkey"]["id"],
        "newest first"
    );
}

async fn the_security_log_lists_the_callers_events(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;
    assert_eq!(ann.sign_in().await.status, 200);
    let forged = Tweaks {
        corrupt_signature: true,
        ..Tweaks::default()
    };
    assert_eq!(ann.sign_in_with(json!({}), &forged).await.0.status, 401);
    let path = format!("/api/auth/passkey/{}", passkey["id"].as_str().unwrap());
    ann.send(
        reqwest::Method::PATCH,
        &path,
        Some(&json!({ "name": "Laptop" })),
    )
    .await;
    ann.send(reqwest::Method::DELETE, &path, None).await;
    let anon = Client::new(&app);
    anon.post(
        "/api/auth/login",
        json!({ "email": "ann@example.com", "password": "wrong password" }),
    )
    .await;

    let page = ann.get("/api/auth/audit?limit=4").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let types = |events: &Value| {
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        types(&page.body["events"]),
        [
            "password.login_failed",
            "passkey.removed",
            "passkey.renamed",
            "passkey.sign_in_failed"
        ]
    );
    let failed = &page.body["events"][3];
    assert_eq!(failed["code"], "AUTHENTICATION_FAILED");
    assert_eq!(failed["passkeyId"], passkey["id"]);
    assert_eq!(failed["clientIp"], "127.0.0.1");
    assert!(failed["at"].is_string());
    let next = page.body["nextBefore"].as_str().unwrap();
    let rest = ann
        .get(&format!("/api/auth/audit?limit=4&before={next}"))
        .await;
    assert_eq!(
        types(&rest.body["events"]),
        ["passkey.used", "passkey.registered", "account.created"]
    );
    assert_eq!(rest.body["nextBefore"], Value::Null);

    let bob = Client::signup(&app, "bob@example.com").await;
    assert_eq!(
        types(&bob.get("/api/auth/audit").await.body["events"]),
        ["account.created"]
    );
    let with_anns_cursor = bob.get(&format!("/api/auth/audit?before={next}")).await;
    assert_eq!(
        with_anns_cursor.body["events"],
        json!([]),
        "another user's cursor reveals nothing"
    );
    for bad in ["limit=0", "limit=101", "limit=x", "before=not-an-id"] {
        ann.get(&format!("/api/auth/audit?{bad}"))
            .await
            .assert_error(400, "VALIDATION_FAILED");
    }
    Client::new(&app)
        .get("/api/auth/audit")
        .await
        .assert_error(401, "UNAUTHORIZED");
}

fn base64url_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}
