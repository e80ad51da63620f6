//! The admin API on its own listener: the token, finding accounts, their
//! passkeys (listing and removing, with the last-credential guard), their
//! sessions (listing and ending one or all), their security log, the
//! separation of the two listeners, the admin OpenAPI
//! document, and the start-up refusal of a half-configured admin API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;

use common::{ADMIN_TOKEN, AdminClient, Backend, Client, TestApp, spawn, spawn_with_admin};
use reqwest::Method;
use serde_json::{Value, json};

on_every_backend!(
    the_admin_token_is_required,
    finds_accounts_by_email_and_by_id,
    removes_a_passkey_which_then_no_longer_signs_in,
    the_last_way_to_sign_in_goes_only_when_forced,
    reads_the_security_log_in_pages,
    ends_sessions_whose_tokens_then_stop_working,
    each_listener_serves_only_its_own_routes,
);

const USERS: &str = "/admin/api/users";

/// A client signed up with a passkey only, holding its token.
async fn passkey_only(app: &TestApp, email: &str) -> Client {
    let mut client = Client::new(app);
    let options = client
        .post(
            "/api/auth/passkey/signup-options",
            json!({ "email": email }),
        )
        .await;
    assert_eq!(options.status, 200, "{}", options.body);
    let credential = client
        .authenticator
        .register(&options.body["publicKey"], &app.origin)
        .unwrap();
    let answer = client
        .post(
            "/api/auth/passkey/signup",
            json!({ "credential": credential }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    client.token = Some(answer.body["token"].as_str().unwrap().to_owned());
    client
}

fn user_id(client_answer: &Value) -> String {
    client_answer["user"]["id"].as_str().unwrap().to_owned()
}

/// The ids in the user's own passkey list.
async fn own_passkey_ids(client: &Client) -> Vec<String> {
    let list = client.get("/api/auth/passkey/list").await;
    assert_eq!(list.status, 200, "{}", list.body);
    ids(&list.body["passkeys"])
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

fn types(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_admin_token_is_required(backend: Backend) {
    let Some(app) = spawn_with_admin(backend).await else {
        return;
    };
    Client::signup(&app, "ann@example.com").await;
    let find = format!("{USERS}?email=ann@example.com");
    let wrong_length = &ADMIN_TOKEN[1..];
    let one_letter_off = format!("{}X", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]);
    for token in [
        None,
        Some(""),
        Some(wrong_length),
        Some(one_letter_off.as_str()),
    ] {
        let admin = AdminClient::with_token(&app, token);
        for path in [find.as_str(), "/admin/api/openapi.json", "/no/such/route"] {
            let answer = admin.get(path).await;
            answer.assert_error(401, "UNAUTHORIZED");
            assert_eq!(answer.headers["cache-control"], "no-store");
        }
    }
    // Another scheme with the right secret is not the bearer token.
    let basic = reqwest::Client::new()
        .get(format!("{}{find}", app.admin_base.as_ref().unwrap()))
        .header("authorization", format!("Basic {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    common::answer(basic)
        .await
        .assert_error(401, "UNAUTHORIZED");
    // A user's own token is no admin token.
    let ann = Client::signup(&app, "bob@example.com").await;
    let as_user = AdminClient::with_token(&app, ann.token.as_deref());
    as_user.get(&find).await.assert_error(401, "UNAUTHORIZED");

    let admin = AdminClient::new(&app);
    let found = admin.get(&find).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["user"]["email"], "ann@example.com");
    assert_eq!(found.headers["cache-control"], "no-store");
    admin
        .get("/no/such/route")
        .await
        .assert_error(404, "NOT_FOUND");
    admin
        .send(Method::POST, USERS)
        .await
        .assert_error(405, "METHOD_NOT_ALLOWED");
}

async fn finds_accounts_by_email_and_by_id(backend: Backend) {
    let Some(app) = spawn_with_admin(backend).await else {
        return;
    };
    let admin = AdminClient::new(&app);
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let me = ann.get("/api/auth/me").await;
    let ann_id = user_id(&me.body);
    ann.register().await;
    let bob = passkey_only(&app, "bob@example.com").await;
    let bob_id = user_id(&bob.get("/api/auth/me").await.body);

    let found = admin
        .get(&format!("{USERS}?email=%20Ann@Example.COM"))
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["user"], me.body["user"]);
    assert_eq!(found.body["hasPassword"], true);
    assert_eq!(found.body["passkeyCount"], 1);
    assert!(found.body["createdAt"].as_str().unwrap().ends_with('Z'));

    let by_id = admin.get(&format!("{USERS}/{ann_id}")).await;
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    assert_eq!(by_id.body, found.body);

    let bob_found = admin.get(&format!("{USERS}/{bob_id}")).await;
    assert_eq!(bob_found.body["user"]["email"], "bob@example.com");
    assert_eq!(bob_found.body["hasPassword"], false);
    assert_eq!(bob_found.body["passkeyCount"], 1);

    admin
        .get(&format!("{USERS}?email=nobody@example.com"))
        .await
        .assert_error(404, "USER_NOT_FOUND");
    admin
        .get(&format!("{USERS}/{}", uuid::Uuid::new_v4()))
        .await
        .assert_error(404, "USER_NOT_FOUND");
    for bad in [
        USERS.to_owned(),
        format!("{USERS}?email=not-an-address"),
        format!("{USERS}/42"),
    ] {
        admin.get(&bad).await.assert_error(400, "VALIDATION_FAILED");
    }
}

async fn removes_a_passkey_which_then_no_longer_signs_in(backend: Backend) {
    let Some(app) = spawn_with_admin(backend).await else {
        return;
    };
    let admin = AdminClient::new(&app);
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let ann_id = user_id(&ann.get("/api/auth/me").await.body);
    let passkey = ann.register().await;
    let passkey_id = passkey["id"].as_str().unwrap().to_owned();
    assert_eq!(ann.sign_in().await.status, 200, "the passkey works");

    let listed = admin.get(&format!("{USERS}/{ann_id}/passkeys")).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let own = ann.get("/api/auth/passkey/list").await;
    assert_eq!(
        listed.body, own.body,
        "the operator sees what the user sees"
    );
    assert_eq!(ids(&listed.body["passkeys"]), vec![passkey_id.clone()]);

    // Someone else's id, a malformed id or flag: nothing removed.
    let bob = Client::signup(&app, "bob@example.com").await;
    let bob_id = user_id(&bob.get("/api/auth/me").await.body);
    admin
        .delete(&format!("{USERS}/{bob_id}/passkeys/{passkey_id}"))
        .await
        .assert_error(404, "PASSKEY_NOT_FOUND");
    admin
        .delete(&format!(
            "{USERS}/{}/passkeys/{passkey_id}",
            uuid::Uuid::new_v4()
        ))
        .await
        .assert_error(404, "USER_NOT_FOUND");
    for bad in [
        format!("{USERS}/{ann_id}/passkeys/not-a-uuid"),
        format!("{USERS}/{ann_id}/passkeys/{passkey_id}?force=maybe"),
    ] {
        admin
            .delete(&bad)
            .await
            .assert_error(400, "VALIDATION_FAILED");
    }
    assert_eq!(own_passkey_ids(&ann).await, vec![passkey_id.clone()]);

    // Ann has a password, so her only passkey may go without force.
    let removed = admin
        .delete(&format!("{USERS}/{ann_id}/passkeys/{passkey_id}"))
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    assert!(own_passkey_ids(&ann).await.is_empty());
    let listed = admin.get(&format!("{USERS}/{ann_id}/passkeys")).await;
    assert!(ids(&listed.body["passkeys"]).is_empty());
    admin
        .delete(&format!("{USERS}/{ann_id}/passkeys/{passkey_id}"))
        .await
        .assert_error(404, "PASSKEY_NOT_FOUND");

    let refused = ann.sign_in().await;
    refused.assert_error(404, "PASSKEY_NOT_FOUND");
    assert_eq!(refused.body["error"]["message"], "Unknown Passkey");

    // Ann's own log says what happened.
    let log = ann.get("/api/auth/audit").await;
    let newest = &log.body["events"][0];
    assert_eq!(newest["type"], "passkey.removed_by_admin", "{}", log.body);
    assert_eq!(newest["passkeyId"], passkey_id.as_str());
    assert_eq!(newest["clientIp"], "127.0.0.1");
}

/// Signs `email` in with the password; the session body.
async fn login(app: &TestApp, email: &str) -> Value {
    let answer = Client::new(app)
        .post(
            "/api/auth/login",
            json!({ "email": email, "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

/// A client holding the access token of a session body.
fn holding(app: &TestApp, session: &Value) -> Client {
    let mut client = Client::new(app);
    client.token = Some(session["token"].as_str().unwrap().to_owned());
    client
}

fn session_ids(list: &Value) -> BTreeSet<String> {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn ends_sessions_whose_tokens_then_stop_working(backend: Backend) {
    let Some(app) = spawn_with_admin(backend).await else {
        return;
    };
    let admin = AdminClient::new(&app);
    let ann = Client::signup(&app, "ann@example.com").await;
    let ann_id = user_id(&ann.get("/api/auth/me").await.body);
    let laptop = login(&app, "ann@example.com").await;
    let phone = login(&app, "ann@example.com").await;
    let bob = Client::signup(&app, "bob@example.com").await;
    let bob_id = user_id(&bob.get("/api/auth/me").await.body);

    let listed = admin.get(&format!("{USERS}/{ann_id}/sessions")).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.headers["cache-control"], "no-store");
    let sid = |session: &Value| claims_sid(session["token"].as_str().unwrap());
    let own = ann.get("/api/auth/sessions").await.body;
    assert_eq!(
        session_ids(&listed.body),
        session_ids(&own),
        "what Ann sees"
    );
    assert_eq!(session_ids(&listed.body).len(), 3);
    let first = &listed.body["sessions"][0];
    assert_eq!(first["current"], false, "the operator has no session");
    assert_eq!(first["method"], "password");
    assert!(first["createdAt"].as_str().unwrap().ends_with('Z'));

    // One session ends: its access and refresh tokens are refused.
    let laptop_sid = sid(&laptop);
    let ended = admin
        .delete(&format!("{USERS}/{ann_id}/sessions/{laptop_sid}"))
        .await;
    assert_eq!(ended.status, 204, "{}", ended.body);
    holding(&app, &laptop)
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");
    Client::new(&app)
        .post(
            "/api/auth/token/refresh",
            json!({ "refreshToken": laptop["refreshToken"] }),
        )
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert_eq!(holding(&app, &phone).get("/api/auth/me").await.status, 200);
    admin
        .delete(&format!("{USERS}/{ann_id}/sessions/{laptop_sid}"))
        .await
        .assert_error(404, "SESSION_NOT_FOUND");
    admin
        .delete(&format!("{USERS}/{bob_id}/sessions/{}", sid(&phone)))
        .await
        .assert_error(404, "SESSION_NOT_FOUND");
    assert_eq!(holding(&app, &phone).get("/api/auth/me").await.status, 200);

    // All of them: Ann is signed out everywhere, Bob is not.
    let all = admin.delete(&format!("{USERS}/{ann_id}/sessions")).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body, json!({ "ended": 2 }));
    for token_holder in [holding(&app, &phone), ann] {
        token_holder
            .get("/api/auth/me")
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    Client::new(&app)
        .post(
            "/api/auth/token/refresh",
            json!({ "refreshToken": phone["refreshToken"] }),
        )
        .await
        .assert_error(401, "UNAUTHORIZED");
    let none = admin.get(&format!("{USERS}/{ann_id}/sessions")).await;
    assert_eq!(none.body, json!({ "sessions": [] }));
    let again = admin.delete(&format!("{USERS}/{ann_id}/sessions")).await;
    assert_eq!(again.body, json!({ "ended": 0 }));
    assert_eq!(bob.get("/api/auth/me").await.status, 200);

    // Unknown accounts and malformed ids.
    let nobody = uuid::Uuid::new_v4();
    for answer in [
        admin.get(&format!("{USERS}/{nobody}/sessions")).await,
        admin.delete(&format!("{USERS}/{nobody}/sessions")).await,
        admin
            .delete(&format!("{USERS}/{nobody}/sessions/{laptop_sid}"))
            .await,
    ] {
        answer.assert_error(404, "USER_NOT_FOUND");
    }
    for answer in [
        admin.get(&format!("{USERS}/not-a-uuid/sessions")).await,
        admin
            .delete(&format!("{USERS}/{ann_id}/sessions/not-a-uuid"))
            .await,
    ] {
        answer.assert_error(400, "VALIDATION_FAILED");
    }
    AdminClient::with_token(&app, None)
        .delete(&format!("{USERS}/{bob_id}/sessions"))
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert_eq!(bob.get("/api/auth/me").await.status, 200);
}

/// The `sid` claim of an access token.
fn claims_sid(token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&bytes).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

async fn the_last_way_to_sign_in_goes_only_when_forced(backend: Backend) {
    let Some(app) = spawn_with_admin(backend).await else {
        return;
    };
    let admin = AdminClient::new(&app);
    let mut bob = passkey_only(&app, "bob@example.com").await;
    let bob_id = user_id(&bob.get("/api/auth/me").await.body);
    let passkey_id = own_passkey_ids(&bob).await.remove(0);
    let path = format!("{USERS}/{bob_id}/passkeys/{passkey_id}");

    for guarded in [path.clone(), format!("{path}?force=false")] {
        admin
            .delete(&guarded)
            .await
            .assert_error(409, "LAST_CREDENTIAL");
    }
    assert_eq!(own_passkey_ids(&bob).await, vec![passkey_id.clone()]);
    assert_eq!(bob.sign_in().await.status, 200, "still signs in");

    let forced = admin.delete(&format!("{path}?force=true")).await;
    assert_eq!(forced.status, 204, "{}", forced.body);
    assert!(own_passkey_ids(&bob).await.is_empty());
    let account = admin.get(&format!("{USERS}/{bob_id}")).await;
    assert_eq!(account.body["passkeyCount"], 0);
    assert_eq!(account.body["hasPassword"], false);
    bob.sign_in().await.assert_error(404, "PASSKEY_NOT_FOUND");
}

async fn reads_the_security_log_in_pages(backend: Backend) {
    let Some(app) = spawn_with_admin(backend).await else {
        return;
    };
    let admin = AdminClient::new(&app);
    let ann = Client::signup(&app, "ann@example.com").await;
    let ann_id = user_id(&ann.get("/api/auth/me").await.body);
    let login = |password: &'static str| {
        let client = Client::new(&app);
        async move {
            client
                .post(
                    "/api/auth/login",
                    json!({ "email": "ann@example.com", "password": password }),
                )
                .await
        }
    };
    assert_eq!(login("correct horse battery").await.status, 200);
    login("wrong horse")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(login("correct horse battery").await.status, 200);

    let audit = format!("{USERS}/{ann_id}/audit");
    let whole = admin.get(&audit).await;
    assert_eq!(whole.status, 200, "{}", whole.body);
    assert_eq!(
        types(&whole.body),
        [
            "password.login",
            "password.login_failed",
            "password.login",
            "account.created"
        ]
    );
    assert_eq!(whole.body["nextBefore"], Value::Null);
    assert_eq!(whole.body, ann.get("/api/auth/audit").await.body);

    let first = admin.get(&format!("{audit}?limit=3")).await;
    assert_eq!(types(&first.body).len(), 3);
    let cursor = first.body["nextBefore"].as_str().unwrap();
    assert_eq!(cursor, first.body["events"][2]["id"].as_str().unwrap());
    let rest = admin.get(&format!("{audit}?limit=3&before={cursor}")).await;
    assert_eq!(types(&rest.body), ["account.created"]);
    assert_eq!(rest.body["nextBefore"], Value::Null);

    admin
        .get(&format!("{USERS}/{}/audit", uuid::Uuid::new_v4()))
        .await
        .assert_error(404, "USER_NOT_FOUND");
    for bad in [
        format!("{audit}?limit=0"),
        format!("{audit}?limit=101"),
        format!("{audit}?before=yesterday"),
        format!("{USERS}/ann/audit"),
    ] {
        admin.get(&bad).await.assert_error(400, "VALIDATION_FAILED");
    }
}

async fn each_listener_serves_only_its_own_routes(backend: Backend) {
    let Some(app) = spawn_with_admin(backend).await else {
        return;
    };
    let ann = Client::signup(&app, "ann@example.com").await;
    let ann_id = user_id(&ann.get("/api/auth/me").await.body);
    let admin = AdminClient::new(&app);

    // The public listener knows no admin route, not even with the token.
    let public_with_admin_token = AdminClient {
        base: app.base.clone(),
        ..AdminClient::new(&app)
    };
    for path in [
        format!("{USERS}?email=ann@example.com"),
        format!("{USERS}/{ann_id}"),
        format!("{USERS}/{ann_id}/passkeys"),
        format!("{USERS}/{ann_id}/audit"),
        "/admin/api/openapi.json".to_owned(),
    ] {
        public_with_admin_token
            .get(&path)
            .await
            .assert_error(404, "NOT_FOUND");
    }
    public_with_admin_token
        .delete(&format!(
            "{USERS}/{ann_id}/passkeys/{}",
            uuid::Uuid::new_v4()
        ))
        .await
        .assert_error(404, "NOT_FOUND");
    let public_doc = ann.get("/api/openapi.json").await;
    assert!(
        public_doc.body["paths"]
            .as_object()
            .unwrap()
            .keys()
            .all(|path| !path.starts_with("/admin")),
        "the public document lists no admin route"
    );

    // The admin listener knows no public route, not even for a user.
    for path in [
        "/api/auth/me",
        "/api/auth/passkey/list",
        "/api/openapi.json",
        "/healthz",
        "/metrics",
        "/login",
        "/",
    ] {
        admin.get(path).await.assert_error(404, "NOT_FOUND");
        AdminClient::with_token(&app, ann.token.as_deref())
            .get(path)
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    admin
        .send(Method::POST, "/api/auth/login")
        .await
        .assert_error(404, "NOT_FOUND");
}

/// The admin document lists exactly the admin routes, each with the admin
/// token and its `401`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_document_lists_exactly_the_admin_routes() {
    let app = spawn_with_admin(Backend::Sqlite).await.unwrap();
    let doc = AdminClient::new(&app)
        .get("/admin/api/openapi.json")
        .await
        .body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
            assert_eq!(
                operation["security"],
                json!([{ "adminToken": [] }]),
                "{method} {path}"
            );
            assert_eq!(
                operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path}"
            );
        }
    }
    let served: BTreeSet<(String, String)> = monetro_http::admin::served_routes()
        .into_iter()
        .map(|(method, path)| (method.as_str().to_owned(), path.to_owned()))
        .collect();
    assert_eq!(documented, served);
    assert!(
        doc["components"]["securitySchemes"]["adminToken"]["scheme"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("bearer")
    );
}

/// Without `admin.bind` there is no admin listener at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_is_off_by_default() {
    let app = spawn(Backend::Sqlite).await.unwrap();
    assert!(app.admin_base.is_none());
    assert!(app.config.admin.listen_address().is_none());
}

/// `admin.bind` without a usable token stops the start, before the
/// database is touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_is_refused_without_a_good_admin_token() {
    for token in [None, Some("   "), Some("too-short-for-an-admin-token")] {
        let mut config = monetro_http::config::Config::defaults().unwrap();
        config.database.url = "postgres://nobody@127.0.0.1:1/never-opened".into();
        config.secrets.data_dir =
            std::env::temp_dir().join(format!("monetro-keys-{}", uuid::Uuid::new_v4().simple()));
        config.admin.bind = Some("127.0.0.1:0".into());
        config.admin.token = token.map(|t| t.to_owned().into());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let built =
            monetro_http::startup::Application::build_with_listener(config.clone(), listener).await;
        let error = built.err().expect("a half-configured admin API started");
        assert!(format!("{error:#}").contains("admin.token"), "{error:#}");
        assert!(!config.secrets.data_dir.exists(), "nothing was created");
    }
}
