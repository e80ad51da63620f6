//! Passkey-only accounts, passwords added later, the passkey limit, the
//! last-credential guard and WebAuthn hints, end to end: real ceremonies,
//! real database.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Answer, Backend, Client, TestApp, spawn, spawn_with};
use monetro_softauthn::SoftAuthenticator;
use reqwest::Method;
use serde_json::{Value, json};

on_every_backend!(
    passkey_sign_up_then_sign_in_with_that_passkey,
    a_taken_email_is_told_only_by_the_finish,
    racing_sign_ups_for_one_email_make_one_account,
    a_passkey_only_account_adds_a_password_then_changes_it,
    the_passkey_limit_holds_at_options_finish_and_in_a_race,
    the_last_way_to_sign_in_cannot_be_removed,
    hints_come_from_configuration_or_the_request,
);

const SIGNUP_OPTIONS: &str = "/api/auth/passkey/signup-options";
const SIGNUP: &str = "/api/auth/passkey/signup";
const PASSWORD: &str = "/api/auth/password";

/// Sign-up options for `email`; asserts `200`.
async fn signup_options(client: &Client, email: &str) -> Value {
    let answer = client
        .post(
            SIGNUP_OPTIONS,
            json!({ "email": email, "displayName": "Ann" }),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("monetro_ceremony="),
        "the ceremony cookie is set"
    );
    answer.body["publicKey"].clone()
}

/// Options and a credential from `client`'s authenticator, then the finish.
async fn sign_up(client: &mut Client, email: &str) -> Answer {
    let options = signup_options(client, email).await;
    let credential = client
        .authenticator
        .register(&options, &client.app.origin)
        .unwrap();
    client
        .post(
            SIGNUP,
            json!({ "name": "My phone", "credential": credential }),
        )
        .await
}

/// A client signed up with a passkey only, holding its token.
async fn passkey_only(app: &TestApp, email: &str) -> Client {
    let mut client = Client::new(app);
    let answer = sign_up(&mut client, email).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    client.token = Some(answer.body["token"].as_str().unwrap().to_owned());
    client
}

/// A browser elsewhere with the same authenticator, signed out.
fn signed_out(client: &Client) -> Client {
    let mut other = client.elsewhere(&client.app);
    other.token = None;
    other
}

async fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    Client::new(app)
        .post(
            "/api/auth/login",
            json!({ "email": email, "password": password }),
        )
        .await
}

/// Registers a passkey on a new authenticator (one authenticator holds
/// one passkey per account: `excludeCredentials` sees to that).
async fn add_passkey(client: &mut Client) -> Answer {
    client.authenticator = SoftAuthenticator::new();
    client
        .register_with(None, &monetro_softauthn::Tweaks::default())
        .await
}

async fn passkey_ids(client: &Client) -> Vec<String> {
    let list = client.get("/api/auth/passkey/list").await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["passkeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn delete(client: &Client, id: &str) -> Answer {
    client
        .send(Method::DELETE, &format!("/api/auth/passkey/{id}"), None)
        .await
}

/// Runs the requests together and returns their answers in order.
async fn race(
    requests: Vec<(reqwest::Client, Method, String, Option<String>, Value)>,
) -> Vec<Answer> {
    let racers: Vec<_> = requests
        .into_iter()
        .map(|(http, method, url, token, body)| {
            tokio::spawn(async move {
                let mut request = http.request(method, url);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if !body.is_null() {
                    request = request.json(&body);
                }
                common::answer(request.send().await.unwrap()).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    answers
}

fn statuses(answers: &[Answer]) -> Vec<u16> {
    answers.iter().map(|a| a.status.as_u16()).collect()
}

async fn passkey_sign_up_then_sign_in_with_that_passkey(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::new(&app);
    let options = signup_options(&ann, " Ann@Example.com ").await;
    let selection = &options["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required");
    assert_eq!(selection["userVerification"], "required");
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["user"]["name"], "ann@example.com");
    assert_eq!(options["user"]["displayName"], "Ann");
    assert_eq!(options["attestation"], "none");
    assert!(options.get("hints").is_none(), "no hints configured");
    let credential = ann.authenticator.register(&options, &app.origin).unwrap();
    let created = ann
        .post(
            SIGNUP,
            json!({ "name": "My phone", "credential": credential }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.headers["cache-control"], "no-store");
    assert_eq!(created.body["tokenType"], "Bearer");
    assert_eq!(created.body["user"]["email"], "ann@example.com");
    assert_eq!(created.body["user"]["displayName"], "Ann");
    ann.token = Some(created.body["token"].as_str().unwrap().to_owned());

    let me = ann.get("/api/auth/me").await;
    assert_eq!(me.body["passkeyCount"], 1);
    let list = ann.get("/api/auth/passkey/list").await;
    assert_eq!(list.body["passkeys"][0]["name"], "My phone");
    assert_eq!(list.body["userHandle"], options["user"]["id"]);
    let audit = ann.get("/api/auth/audit").await;
    let kinds: Vec<&str> = audit.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"account.created"), "{kinds:?}");
    assert!(kinds.contains(&"passkey.registered"), "{kinds:?}");

    // The finish used the ceremony up.
    let replay = ann.post(SIGNUP, json!({ "credential": credential })).await;
    replay.assert_error(400, "CHALLENGE_NOT_FOUND");

    let mut browser = signed_out(&ann);
    let signed_in = browser.sign_in().await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.body["user"]["id"], created.body["user"]["id"]);

    // No password: password login answers exactly like a wrong password.
    let passkey_only = login(&app, "ann@example.com", "correct horse battery").await;
    passkey_only.assert_error(401, "INVALID_CREDENTIALS");
    Client::signup(&app, "bob@example.com").await;
    let wrong = login(&app, "bob@example.com", "not the password").await;
    assert_eq!(passkey_only.body, wrong.body);
}

/// The options with their random members (challenge, user handle) and the
/// email blanked, so that two answers can be compared.
fn shape(options: &Value) -> Value {
    let mut options = options.clone();
    options["challenge"] = json!("*");
    options["user"]["id"] = json!("*");
    options["user"]["name"] = json!("*");
    options
}

async fn a_taken_email_is_told_only_by_the_finish(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let ann = Client::signup(&app, "ann@example.com").await;
    let handle = ann.get("/api/auth/passkey/list").await.body["userHandle"].clone();

    let mut intruder = Client::new(&app);
    let taken = signup_options(&intruder, "ann@example.com").await;
    let taken_again = signup_options(&intruder, "ann@example.com").await;
    let free = signup_options(&Client::new(&app), "nobody@example.com").await;
    assert_eq!(shape(&taken), shape(&free));
    assert_eq!(taken["user"]["name"], "ann@example.com");
    assert_ne!(taken["user"]["id"], handle, "the account's handle leaked");
    assert_ne!(
        taken["user"]["id"], taken_again["user"]["id"],
        "handles are fresh"
    );
    assert_eq!(taken["excludeCredentials"], json!([]));

    let credential = intruder
        .authenticator
        .register(&taken_again, &app.origin)
        .unwrap();
    let refused = intruder
        .post(SIGNUP, json!({ "credential": credential }))
        .await;
    refused.assert_error(409, "EMAIL_TAKEN");

    // Nothing was stored: the passkey is unknown, Ann's account unchanged.
    let mut browser = signed_out(&intruder);
    browser
        .sign_in()
        .await
        .assert_error(404, "PASSKEY_NOT_FOUND");
    assert_eq!(ann.get("/api/auth/me").await.body["passkeyCount"], 0);
    assert_eq!(
        login(&app, "ann@example.com", "correct horse battery")
            .await
            .status,
        200
    );

    // Body errors stay body errors.
    Client::new(&app)
        .post(SIGNUP_OPTIONS, json!({ "email": "not an address" }))
        .await
        .assert_error(400, "VALIDATION_FAILED");
    Client::new(&app)
        .post(SIGNUP_OPTIONS, json!({ "displayName": "Ann" }))
        .await
        .assert_error(400, "VALIDATION_FAILED");
    Client::new(&app)
        .post(SIGNUP, json!({ "credential": credential }))
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");
}

async fn racing_sign_ups_for_one_email_make_one_account(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut racers = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut client = Client::new(&app);
        let options = signup_options(&client, "ann@example.com").await;
        let credential = client
            .authenticator
            .register(&options, &app.origin)
            .unwrap();
        racers.push((
            client.http.clone(),
            Method::POST,
            format!("{}{SIGNUP}", app.base),
            None,
            json!({ "credential": credential }),
        ));
        client.token = None;
        clients.push(client);
    }
    let answers = race(racers).await;
    assert_eq!(
        answers.iter().filter(|a| a.status == 201).count(),
        1,
        "{:?}",
        statuses(&answers)
    );
    for loser in answers.iter().filter(|a| a.status != 201) {
        loser.assert_error(409, "EMAIL_TAKEN");
    }
    // Only the winner's passkey was stored.
    let mut signed_in = 0;
    for client in &mut clients {
        let answer = client.sign_in().await;
        match answer.status.as_u16() {
            200 => signed_in += 1,
            _ => answer.assert_error(404, "PASSKEY_NOT_FOUND"),
        }
    }
    assert_eq!(signed_in, 1);
}

async fn a_passkey_only_account_adds_a_password_then_changes_it(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let ann = passkey_only(&app, "ann@example.com").await;
    assert_eq!(ann.get("/api/auth/me").await.body["hasPassword"], false);
    Client::new(&app)
        .send(
            Method::PUT,
            PASSWORD,
            Some(&json!({ "password": "first password" })),
        )
        .await
        .assert_error(401, "UNAUTHORIZED");
    ann.send(Method::PUT, PASSWORD, Some(&json!({ "password": "short" })))
        .await
        .assert_error(400, "VALIDATION_FAILED");
    ann.send(Method::PUT, PASSWORD, Some(&json!({})))
        .await
        .assert_error(400, "VALIDATION_FAILED");

    let set = ann
        .send(
            Method::PUT,
            PASSWORD,
            Some(&json!({ "password": "first password" })),
        )
        .await;
    assert_eq!(set.status, 204, "{}", set.body);
    assert_eq!(ann.get("/api/auth/me").await.body["hasPassword"], true);
    let signed_in = login(&app, "ann@example.com", "first password").await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);

    for body in [
        json!({ "password": "second password" }),
        json!({ "password": "second password", "currentPassword": "wrong password" }),
    ] {
        ann.send(Method::PUT, PASSWORD, Some(&body))
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    let changed = ann
        .send(
            Method::PUT,
            PASSWORD,
            Some(&json!({ "password": "second password", "currentPassword": "first password" })),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.body);
    login(&app, "ann@example.com", "first password")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(
        login(&app, "ann@example.com", "second password")
            .await
            .status,
        200
    );
    let audit = ann.get("/api/auth/audit").await;
    let changes = audit.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "password.changed")
        .count();
    assert_eq!(changes, 2);
}

async fn the_passkey_limit_holds_at_options_finish_and_in_a_race(backend: Backend) {
    let Some(app) = spawn_with(backend, |c| c.webauthn.max_passkeys_per_user = 3).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    assert_eq!(add_passkey(&mut ann).await.status, 201);

    // Two tabs take options with room for one more, then finish together.
    let mut racers = Vec::new();
    for _ in 0..2 {
        let tab = ann.elsewhere(&app);
        let options = tab.registration_options().await;
        let credential = SoftAuthenticator::new()
            .register(&options, &app.origin)
            .unwrap();
        racers.push((
            tab.http.clone(),
            Method::POST,
            format!("{}/api/auth/passkey/register", app.base),
            tab.token.clone(),
            json!({ "credential": credential }),
        ));
    }
    // A late finish whose options were taken when there was room.
    let late = ann.elsewhere(&app);
    let late_options = late.registration_options().await;
    assert_eq!(add_passkey(&mut ann).await.status, 201);

    let answers = race(racers).await;
    assert_eq!(
        answers.iter().filter(|a| a.status == 201).count(),
        1,
        "{:?}",
        statuses(&answers)
    );
    for loser in answers.iter().filter(|a| a.status != 201) {
        loser.assert_error(409, "PASSKEY_LIMIT_REACHED");
    }
    assert_eq!(passkey_ids(&ann).await.len(), 3);

    let credential = SoftAuthenticator::new()
        .register(&late_options, &app.origin)
        .unwrap();
    late.post(
        "/api/auth/passkey/register",
        json!({ "credential": credential }),
    )
    .await
    .assert_error(409, "PASSKEY_LIMIT_REACHED");
    ann.get("/api/auth/passkey/register-options")
        .await
        .assert_error(409, "PASSKEY_LIMIT_REACHED");
    ann.post("/api/auth/passkey/register-options", json!({}))
        .await
        .assert_error(409, "PASSKEY_LIMIT_REACHED");
    assert_eq!(passkey_ids(&ann).await.len(), 3);

    // Room again after a removal.
    let ids = passkey_ids(&ann).await;
    assert_eq!(delete(&ann, &ids[0]).await.status, 204);
    assert_eq!(add_passkey(&mut ann).await.status, 201);
}

async fn the_last_way_to_sign_in_cannot_be_removed(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = passkey_only(&app, "ann@example.com").await;
    let only = passkey_ids(&ann).await;
    delete(&ann, &only[0])
        .await
        .assert_error(409, "LAST_CREDENTIAL");
    assert_eq!(passkey_ids(&ann).await, only);

    // Two racing deletes of the last two: exactly one goes through.
    assert_eq!(add_passkey(&mut ann).await.status, 201);
    let ids = passkey_ids(&ann).await;
    assert_eq!(ids.len(), 2);
    let racers = ids
        .iter()
        .map(|id| {
            (
                ann.http.clone(),
                Method::DELETE,
                format!("{}/api/auth/passkey/{id}", app.base),
                ann.token.clone(),
                Value::Null,
            )
        })
        .collect();
    let answers = race(racers).await;
    let mut sorted = statuses(&answers);
    sorted.sort_unstable();
    assert_eq!(sorted, vec![204, 409], "{:?}", statuses(&answers));
    for refused in answers.iter().filter(|a| a.status != 204) {
        refused.assert_error(409, "LAST_CREDENTIAL");
    }
    assert_eq!(passkey_ids(&ann).await.len(), 1);

    // Once the account has a password, its last passkey may go.
    let set = ann
        .send(
            Method::PUT,
            PASSWORD,
            Some(&json!({ "password": "a password now" })),
        )
        .await;
    assert_eq!(set.status, 204);
    let last = passkey_ids(&ann).await;
    assert_eq!(delete(&ann, &last[0]).await.status, 204);

    // Accounts with a password may remove every passkey.
    let mut bob = Client::signup(&app, "bob@example.com").await;
    bob.register().await;
    add_passkey(&mut bob).await;
    for id in passkey_ids(&bob).await {
        assert_eq!(delete(&bob, &id).await.status, 204);
    }
    assert_eq!(bob.get("/api/auth/me").await.body["passkeyCount"], 0);
}

async fn hints_come_from_configuration_or_the_request(backend: Backend) {
    let Some(app) = spawn_with(backend, |c| {
        c.webauthn.hints = vec!["client-device".into(), "hybrid".into()];
    })
    .await
    else {
        return;
    };
    let configured = json!(["client-device", "hybrid"]);
    let ann = Client::signup(&app, "ann@example.com").await;
    assert_eq!(ann.registration_options().await["hints"], configured);
    let register_options = |body: Option<Value>| {
        let ann = &ann;
        async move {
            ann.send(
                Method::POST,
                "/api/auth/passkey/register-options",
                body.as_ref(),
            )
            .await
        }
    };
    let no_body = register_options(None).await;
    assert_eq!(no_body.status, 200, "{}", no_body.body);
    assert_eq!(no_body.body["publicKey"]["hints"], configured);
    let asked = register_options(Some(json!({ "hints": ["security-key"] }))).await;
    assert_eq!(asked.body["publicKey"]["hints"], json!(["security-key"]));
    assert_eq!(
        asked.body["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    let none = register_options(Some(json!({ "hints": [] }))).await;
    assert_eq!(none.status, 200);
    assert!(
        none.body["publicKey"].get("hints").is_none(),
        "{}",
        none.body
    );

    let anon = Client::new(&app);
    assert_eq!(anon.sign_in_options(json!({})).await["hints"], configured);
    let asked = anon
        .sign_in_options(json!({ "email": "ann@example.com", "hints": ["hybrid"] }))
        .await;
    assert_eq!(asked["hints"], json!(["hybrid"]));
    assert_eq!(
        signup_options(&anon, "bob@example.com").await["hints"],
        configured
    );
    let asked = anon
        .post(
            SIGNUP_OPTIONS,
            json!({ "email": "bob@example.com", "hints": ["security-key", "client-device"] }),
        )
        .await;
    assert_eq!(
        asked.body["publicKey"]["hints"],
        json!(["security-key", "client-device"])
    );

    // Options with hints finish as any others.
    let mut carol = Client::new(&app);
    let options = carol
        .post(
            SIGNUP_OPTIONS,
            json!({ "email": "carol@example.com", "hints": ["hybrid"] }),
        )
        .await;
    assert_eq!(options.status, 200, "{}", options.body);
    let credential = carol
        .authenticator
        .register(&options.body["publicKey"], &app.origin)
        .unwrap();
    let created = carol
        .post(SIGNUP, json!({ "credential": credential }))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    carol.token = None;
    assert_eq!(carol.sign_in().await.status, 200);

    for bad in [
        json!(["nfc"]),
        json!("hybrid"),
        json!([1]),
        json!(["Hybrid"]),
    ] {
        register_options(Some(json!({ "hints": bad })))
            .await
            .assert_error(400, "VALIDATION_FAILED");
        anon.post(
            "/api/auth/passkey/authenticate-options",
            json!({ "hints": bad }),
        )
        .await
        .assert_error(400, "VALIDATION_FAILED");
        anon.post(
            SIGNUP_OPTIONS,
            json!({ "email": "bob@example.com", "hints": bad }),
        )
        .await
        .assert_error(400, "VALIDATION_FAILED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_sign_up_through_redis() {
    let Some(redis) = monetro_adapters::testing::redis_settings() else {
        return;
    };
    let app = spawn_with(Backend::Sqlite, |c| {
        c.ceremonies.store = monetro_http::config::CeremonyStoreKind::Redis;
        c.ceremonies.redis_url = redis.url.clone();
        c.ceremonies.redis_prefix = redis.prefix.clone();
    })
    .await
    .unwrap();
    let ann = passkey_only(&app, "ann@example.com").await;
    let mut browser = signed_out(&ann);
    assert_eq!(browser.sign_in().await.status, 200);
    let mut intruder = Client::new(&app);
    sign_up(&mut intruder, "ann@example.com")
        .await
        .assert_error(409, "EMAIL_TAKEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_configured_hint_stops_the_start() {
    let db = monetro_adapters::testing::TestDatabase::sqlite();
    let mut config = monetro_http::config::Config::defaults().unwrap();
    config.database.url = db.url.clone();
    config.secrets.data_dir =
        std::env::temp_dir().join(format!("monetro-keys-{}", uuid::Uuid::new_v4().simple()));
    config.webauthn.hints = vec!["nfc".into()];
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let built =
        monetro_http::startup::Application::build_with_listener(config.clone(), listener).await;
    let error = built.err().expect("a bad hint was accepted");
    assert!(format!("{error:#}").contains("webauthn.hints"), "{error:#}");
    let _ = std::fs::remove_dir_all(&config.secrets.data_dir);
}
