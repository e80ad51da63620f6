//! The OpenAPI document at `/api/openapi.json`: it lists exactly the routes
//! the service serves, declares every operation's error answers with the
//! error schema, and real answers (and real requests) fit its schemas.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;

use common::{Backend, Client, TestApp, spawn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Operations that take the bearer token or another proof instead (logout:
/// the refresh token in the body).
const OPTIONAL_BEARER: &[(&str, &str)] = &[("POST", "/api/auth/logout")];

/// The operations API.md marks *(bearer)*.
const BEARER: [(&str, &str); 14] = [
    ("GET", "/api/auth/me"),
    ("GET", "/api/auth/audit"),
    ("PUT", "/api/auth/password"),
    ("GET", "/api/auth/passkey/register-options"),
    ("POST", "/api/auth/passkey/register-options"),
    ("POST", "/api/auth/passkey/register"),
    ("GET", "/api/auth/passkey/list"),
    ("DELETE", "/api/auth/passkey/{id}"),
    ("PATCH", "/api/auth/passkey/{id}"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/sessions"),
    ("DELETE", "/api/auth/sessions/{id}"),
    ("POST", "/api/auth/reauthenticate-options"),
    ("POST", "/api/auth/reauthenticate"),
];

/// The operations behind the per-address rate limit.
const RATE_LIMITED: [(&str, &str); 9] = [
    ("POST", "/api/auth/signup"),
    ("POST", "/api/auth/login"),
    ("PUT", "/api/auth/password"),
    ("POST", "/api/auth/passkey/signup-options"),
    ("POST", "/api/auth/passkey/signup"),
    ("POST", "/api/auth/passkey/authenticate-options"),
    ("POST", "/api/auth/passkey/authenticate"),
    ("POST", "/api/auth/token/refresh"),
    ("POST", "/api/auth/reauthenticate"),
];

/// The web pages, which the document lists too.
const PAGES: [&str; 3] = ["/login", "/signup", "/settings/security/passkeys"];

/// The routes that answer HEAD as well as GET (the pages and assets),
/// though OpenAPI lists only GET.
const HEAD_TOO: [&str; 5] = [
    "/",
    "/login",
    "/signup",
    "/settings/security/passkeys",
    "/assets/{file}",
];

/// The operations whose success is a redirect (`3xx` with `Location`)
/// rather than a `2xx` answer.
const REDIRECTS: [(&str, &str); 1] = [("GET", "/")];

/// The operations whose parameters accept any string, so that they have no
/// `400` to declare.
const ANY_STRING_PARAMETERS: [(&str, &str); 1] = [("GET", "/assets/{file}")];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

const ERROR_SCHEMA: &str = "#/components/schemas/ErrorBody";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_exactly_the_served_routes() {
    let app = spawn(Backend::Sqlite).await.unwrap();
    let doc = Doc::fetch(&app).await;
    assert!(
        doc.0["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc.0["openapi"]
    );
    assert_eq!(doc.0["info"]["title"], "Monetro passkey service");
    assert_eq!(doc.0["info"]["version"], env!("CARGO_PKG_VERSION"));

    let documented: BTreeSet<(String, String)> = doc
        .operations()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let served: BTreeSet<(String, String)> = monetro_http::routes::served_routes()
        .into_iter()
        .map(|(method, path)| (method.as_str().to_owned(), path.to_owned()))
        .collect();
    assert_eq!(documented, served);
    assert!(served.contains(&("GET".into(), "/api/openapi.json".into())));
    assert!(served.contains(&("DELETE".into(), "/api/auth/passkey/{id}".into())));
    assert!(served.contains(&("PATCH".into(), "/api/auth/passkey/{id}".into())));
    for path in PAGES.iter().chain(&["/", "/assets/{file}"]) {
        assert!(served.contains(&("GET".into(), (*path).into())), "{path}");
    }

    // Every served route answers (none is a 404 of the router), and every
    // method the document does not list on a path answers 405.
    let anon = showing_redirects(Client::new(&app));
    let asset = assets_of(&anon, "/login").await.swap_remove(0);
    let file = asset.trim_start_matches("/assets/");
    for (method, path) in &served {
        let url = format!(
            "{}{}",
            app.base,
            path.replace("{id}", "not-a-uuid").replace("{file}", file)
        );
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let status = anon
            .http
            .request(method, &url)
            .send()
            .await
            .unwrap()
            .status();
        assert_ne!(status, StatusCode::NOT_FOUND, "{path} is not routed");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        for other in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if served.contains(&(other.to_owned(), path.clone())) {
                continue;
            }
            let method = Method::from_bytes(other.as_bytes()).unwrap();
            let answer =
                common::answer(anon.http.request(method, &url).send().await.unwrap()).await;
            answer.assert_error(405, "METHOD_NOT_ALLOWED");
            // RFC 9110: a 405 lists the methods the route has.
            let allow: BTreeSet<&str> = answer.headers["allow"]
                .to_str()
                .unwrap()
                .split(", ")
                .collect();
            let mut expected: BTreeSet<&str> = served
                .iter()
                .filter(|(_, served_path)| served_path == path)
                .map(|(method, _)| method.as_str())
                .collect();
            if HEAD_TOO.contains(&path.as_str()) {
                expected.insert("HEAD");
            }
            assert_eq!(allow, expected, "{other} {path}");
        }
    }
}

/// The documented rules of names and emails are the service's: what the
/// schema lets through, the service takes, and the blank, control-character
/// and overlong names it refuses, the schema refuses too (found by
/// schemathesis: the rename schema allowed `""`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_emails_are_documented_as_validated() {
    let app = spawn(Backend::Sqlite).await.unwrap();
    let doc = Doc::fetch(&app).await;
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let path = format!(
        "/api/auth/passkey/{}",
        ann.register().await["id"].as_str().unwrap()
    );
    let rename = json!({ "$ref": "#/components/schemas/RenamePasskey" });
    for name in ["", "   ", "Key\u{0}", "K\u{85}ey", &"k".repeat(65)] {
        let body = json!({ "name": name });
        assert!(!doc.misfits(&rename, &body, false).is_empty(), "{name:?}");
        let answer = ann.send(Method::PATCH, &path, Some(&body)).await;
        answer.assert_error(400, "VALIDATION_FAILED");
    }
    for name in ["Work laptop", "Clé 🔑", &"語".repeat(64)] {
        let body = json!({ "name": name });
        assert_eq!(doc.misfits(&rename, &body, false), Vec::<String>::new());
        let answer = ann.send(Method::PATCH, &path, Some(&body)).await;
        assert_eq!(answer.status, 200, "{name:?}: {}", answer.body);
    }
    let signup = json!({ "$ref": "#/components/schemas/Signup" });
    for (email, display_name) in [("not an address", "Ann"), ("a@b.c", "Ann\u{7}")] {
        let body =
            json!({ "email": email, "password": "correct horse", "displayName": display_name });
        assert!(!doc.misfits(&signup, &body, false).is_empty(), "{body}");
        let answer = ann.post("/api/auth/signup", body).await;
        answer.assert_error(400, "VALIDATION_FAILED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_options_take_an_object_or_no_body() {
    let app = spawn(Backend::Sqlite).await.unwrap();
    let doc = Doc::fetch(&app).await;
    let body = &doc.0["paths"]["/api/auth/passkey/authenticate-options"]["post"]["requestBody"];
    assert_eq!(body["required"], false, "{body}");
    assert_eq!(
        body["content"]["application/json"]["schema"],
        json!({ "$ref": "#/components/schemas/AuthenticateOptions" })
    );
    let anon = Client::new(&app);
    let url = format!("{}/api/auth/passkey/authenticate-options", app.base);
    let none = anon.http.post(&url).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::OK);
    anon.post("/api/auth/passkey/authenticate-options", Value::Null)
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_declares_its_errors_with_the_error_schema() {
    let app = spawn(Backend::Sqlite).await.unwrap();
    let doc = Doc::fetch(&app).await;

    let detail = json!({ "$ref": "#/components/schemas/ErrorDetail" });
    let detail = doc.resolve(&detail);
    assert_eq!(
        doc.resolve(&json!({ "$ref": ERROR_SCHEMA }))["required"],
        json!(["error"])
    );
    assert_eq!(detail["required"], json!(["code", "message"]));
    for member in ["credentialId", "rpId"] {
        assert_eq!(detail["properties"][member]["type"], "string", "{member}");
    }
    let codes = detail["properties"]["code"]["enum"].as_array().unwrap();
    for code in [
        "VALIDATION_FAILED",
        "PASSKEY_NOT_FOUND",
        "METHOD_NOT_ALLOWED",
    ] {
        assert!(codes.contains(&json!(code)), "{code}");
    }

    let scheme = &doc.0["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");

    let mut bearer = BTreeSet::new();
    let mut any_string_parameters = BTreeSet::new();
    for (method, path, operation) in doc.operations() {
        let name = format!("{method} {path}");
        let responses = operation["responses"].as_object().unwrap();
        let success = if REDIRECTS.contains(&(method.as_str(), path.as_str())) {
            '3'
        } else {
            '2'
        };
        assert!(
            responses.keys().any(|status| status.starts_with(success)),
            "{name}: no success answer"
        );
        for (status, response) in responses {
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{name} {status}: no description"
            );
            if status.as_str() >= "400" {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"], ERROR_SCHEMA,
                    "{name} {status}"
                );
                assert_eq!(
                    response["content"].as_object().unwrap().len(),
                    1,
                    "{name} {status}"
                );
            }
            if status.starts_with('3') {
                assert!(
                    response["headers"]["Location"].is_object(),
                    "{name} {status}: Location"
                );
            }
            if status == "429" || status == "503" {
                assert!(
                    response["headers"]["Retry-After"].is_object(),
                    "{name} {status}: Retry-After"
                );
            }
        }
        let declares = |status: &str| responses.contains_key(status);
        if operation.get("requestBody").is_some() {
            assert!(declares("400") && declares("413"), "{name}: body errors");
        }
        if let Some(parameters) = operation.get("parameters") {
            let any_string = parameters
                .as_array()
                .unwrap()
                .iter()
                .all(|parameter| parameter["schema"] == json!({ "type": "string" }));
            if any_string {
                any_string_parameters.insert((method.clone(), path.clone()));
            } else {
                assert!(declares("400"), "{name}: parameter errors");
            }
        }
        if RATE_LIMITED.contains(&(method.as_str(), path.as_str())) {
            assert!(declares("429"), "{name}: rate limit");
        }
        if let Some(security) = operation.get("security") {
            let optional = security == &json!([{}, { "bearer": [] }]);
            assert!(
                optional || security == &json!([{ "bearer": [] }]),
                "{name}: {security}"
            );
            assert_eq!(
                optional,
                OPTIONAL_BEARER.contains(&(method.as_str(), path.as_str())),
                "{name}: whether the bearer token is optional"
            );
            assert!(declares("401"), "{name}: bearer errors");
            bearer.insert((method, path));
        }
    }
    let expected: BTreeSet<(String, String)> = BEARER
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(bearer, expected);
    let expected: BTreeSet<(String, String)> = ANY_STRING_PARAMETERS
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(any_string_parameters, expected);
}

/// Every answer of a tour through the API, good and bad, is one the
/// document declares for its operation, and its body fits the declared
/// schema with no undocumented member. The requests sent fit theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_and_requests_fit_the_document() {
    let app = spawn(Backend::Sqlite).await.unwrap();
    let doc = Doc::fetch(&app).await;
    let anon = showing_redirects(Client::new(&app));
    let mut ann = showing_redirects(Client::signup(&app, "ann@example.com").await);
    let limit = app.config.server.body_limit_bytes;
    let oversized = json!({ "name": "x".repeat(limit) });

    // Every operation: anonymous, then signed in, with a body of the wrong
    // shape, an empty object and an oversized one.
    for (method, pattern, operation) in doc.operations() {
        let has_body = operation.get("requestBody").is_some();
        for id in ["not-a-uuid", "0190c6a4-5b7e-7c1a-9d3e-1f2a3b4c5d6e"] {
            let path = pattern.replace("{id}", id);
            let bodies: Vec<Option<Value>> = if has_body {
                vec![Some(json!([])), Some(json!({})), Some(oversized.clone())]
            } else {
                vec![None]
            };
            for body in &bodies {
                for client in [&anon, &ann] {
                    let answer = send(client, &method, &path, body.as_ref()).await;
                    doc.check(&method, &pattern, &answer);
                }
            }
        }
    }

    // The tour signed Ann out (`POST /api/auth/logout`): sign in again.
    let login = json!({ "email": "ann@example.com", "password": "correct horse battery" });
    let again = send(&anon, "POST", "/api/auth/login", Some(&login)).await;
    assert_eq!(again.status, 200, "{}", again.body);
    ann.token = Some(again.body["token"].as_str().unwrap().to_owned());

    // The pages and every asset they load (a script, a stylesheet, an icon).
    let mut asset_types = BTreeSet::new();
    for page in PAGES {
        let answer = send(&anon, "GET", page, None).await;
        assert_eq!(answer.status, 200, "{page}");
        doc.check("GET", page, &answer);
        for asset in assets_of(&anon, page).await {
            let answer = send(&anon, "GET", &asset, None).await;
            assert_eq!(answer.status, 200, "{asset}");
            doc.check("GET", "/assets/{file}", &answer);
            asset_types.insert(answer.content_type.clone().unwrap());
        }
    }
    assert_eq!(asset_types.len(), 3, "{asset_types:?}");

    // The real thing, each request checked against its schema first.
    let options = ann.registration_options().await;
    let credential = ann.authenticator.register(&options, &app.origin).unwrap();
    let body = json!({ "name": "Laptop", "credential": credential });
    doc.check_request("POST", "/api/auth/passkey/register", &body);
    let registered = send(&ann, "POST", "/api/auth/passkey/register", Some(&body)).await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    doc.check("POST", "/api/auth/passkey/register", &registered);
    let passkey = registered.body["passkey"].clone();
    let path = format!("/api/auth/passkey/{}", passkey["id"].as_str().unwrap());

    let rename = json!({ "name": "Work laptop" });
    doc.check_request("PATCH", "/api/auth/passkey/{id}", &rename);
    let renamed = send(&ann, "PATCH", &path, Some(&rename)).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    doc.check("PATCH", "/api/auth/passkey/{id}", &renamed);

    for (request, operation) in [
        (json!({}), "/api/auth/passkey/authenticate-options"),
        (
            json!({ "email": "ann@example.com" }),
            "/api/auth/passkey/authenticate-options",
        ),
        (
            json!({ "email": "ann@example.com", "password": "correct horse battery" }),
            "/api/auth/login",
        ),
        (
            json!({
                "email": "bob@example.com",
                "password": "correct horse battery",
                "displayName": null,
            }),
            "/api/auth/signup",
        ),
    ] {
        doc.check_request("POST", operation, &request);
        let answer = send(&anon, "POST", operation, Some(&request)).await;
        assert!(answer.status.is_success(), "{operation}: {}", answer.body);
        doc.check("POST", operation, &answer);
    }

    let mut browser = ann.elsewhere(&app);
    browser.token = None;
    let (signed_in, sent) = sign_in(&mut browser).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    doc.check_request("POST", "/api/auth/passkey/authenticate", &sent);
    doc.check("POST", "/api/auth/passkey/authenticate", &signed_in);

    for get in [
        "/api/auth/me",
        "/api/auth/passkey/list",
        "/api/auth/audit?limit=3",
    ] {
        let answer = send(&ann, "GET", get, None).await;
        assert_eq!(answer.status, 200, "{get}: {}", answer.body);
        doc.check("GET", get.split('?').next().unwrap(), &answer);
    }
    let list = send(&ann, "GET", "/api/auth/passkey/list", None).await;
    assert_eq!(list.body["passkeys"][0]["name"], "Work laptop");
    let audit = send(&ann, "GET", "/api/auth/audit?limit=3", None).await;
    assert!(audit.body["nextBefore"].is_string(), "{}", audit.body);

    let deleted = send(&ann, "DELETE", &path, None).await;
    assert_eq!(deleted.status, 204);
    doc.check("DELETE", "/api/auth/passkey/{id}", &deleted);

    // The browser still holds the deleted passkey: 404 with the members
    // for `signalUnknownCredential`.
    let (unknown, _) = sign_in(&mut browser).await;
    unknown.assert_error(404, "PASSKEY_NOT_FOUND");
    assert!(unknown.body["error"]["credentialId"].is_string());
    doc.check("POST", "/api/auth/passkey/authenticate", &unknown);

    // A replayed finish, a wrong password, a taken email.
    let replay = send(
        &browser,
        "POST",
        "/api/auth/passkey/authenticate",
        Some(&sent),
    )
    .await;
    replay.assert_error(400, "CHALLENGE_NOT_FOUND");
    doc.check("POST", "/api/auth/passkey/authenticate", &replay);
    let wrong = json!({ "email": "ann@example.com", "password": "wrong password" });
    let refused = send(&anon, "POST", "/api/auth/login", Some(&wrong)).await;
    refused.assert_error(401, "INVALID_CREDENTIALS");
    doc.check("POST", "/api/auth/login", &refused);
    let taken = json!({ "email": "ann@example.com", "password": "correct horse battery" });
    let conflict = send(&anon, "POST", "/api/auth/signup", Some(&taken)).await;
    conflict.assert_error(409, "EMAIL_TAKEN");
    doc.check("POST", "/api/auth/signup", &conflict);

    // Sign-up with a passkey, its last passkey kept, a password added,
    // registration options with hints.
    let mut carol = Client::new(&app);
    let request = json!({ "email": "carol@example.com", "displayName": "Carol",
        "hints": ["client-device"] });
    doc.check_request("POST", "/api/auth/passkey/signup-options", &request);
    let options = send(
        &carol,
        "POST",
        "/api/auth/passkey/signup-options",
        Some(&request),
    )
    .await;
    assert_eq!(options.status, 200, "{}", options.body);
    doc.check("POST", "/api/auth/passkey/signup-options", &options);
    let credential = carol
        .authenticator
        .register(&options.body["publicKey"], &app.origin)
        .unwrap();
    let body = json!({ "name": "Phone", "credential": credential });
    doc.check_request("POST", "/api/auth/passkey/signup", &body);
    let created = send(&carol, "POST", "/api/auth/passkey/signup", Some(&body)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    doc.check("POST", "/api/auth/passkey/signup", &created);
    carol.token = Some(created.body["token"].as_str().unwrap().to_owned());
    let list = send(&carol, "GET", "/api/auth/passkey/list", None).await;
    let path = format!(
        "/api/auth/passkey/{}",
        list.body["passkeys"][0]["id"].as_str().unwrap()
    );
    let last = send(&carol, "DELETE", &path, None).await;
    last.assert_error(409, "LAST_CREDENTIAL");
    doc.check("DELETE", "/api/auth/passkey/{id}", &last);
    let password = json!({ "password": "correct horse battery" });
    doc.check_request("PUT", "/api/auth/password", &password);
    let set = send(&carol, "PUT", "/api/auth/password", Some(&password)).await;
    assert_eq!(set.status, 204, "{}", set.body);
    doc.check("PUT", "/api/auth/password", &set);
    let refused = send(&carol, "PUT", "/api/auth/password", Some(&password)).await;
    refused.assert_error(401, "INVALID_CREDENTIALS");
    doc.check("PUT", "/api/auth/password", &refused);
    let hints = json!({ "hints": ["security-key", "hybrid"] });
    doc.check_request("POST", "/api/auth/passkey/register-options", &hints);
    let options = send(
        &carol,
        "POST",
        "/api/auth/passkey/register-options",
        Some(&hints),
    )
    .await;
    assert_eq!(options.status, 200, "{}", options.body);
    doc.check("POST", "/api/auth/passkey/register-options", &options);
    let bad = send(
        &carol,
        "POST",
        "/api/auth/passkey/register-options",
        Some(&json!({ "hints": ["nfc"] })),
    )
    .await;
    bad.assert_error(400, "VALIDATION_FAILED");
    doc.check("POST", "/api/auth/passkey/register-options", &bad);

    // Sessions: refresh (and its reuse), the list, re-authentication with
    // the password and with a passkey, ending a session, signing out.
    let refresh = json!({ "refreshToken": created.body["refreshToken"] });
    doc.check_request("POST", "/api/auth/token/refresh", &refresh);
    let refreshed = send(&anon, "POST", "/api/auth/token/refresh", Some(&refresh)).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    doc.check("POST", "/api/auth/token/refresh", &refreshed);
    carol.token = Some(refreshed.body["token"].as_str().unwrap().to_owned());
    let reused = send(&anon, "POST", "/api/auth/token/refresh", Some(&refresh)).await;
    reused.assert_error(401, "UNAUTHORIZED");
    doc.check("POST", "/api/auth/token/refresh", &reused);
    let sessions = send(&ann, "GET", "/api/auth/sessions", None).await;
    assert_eq!(sessions.status, 200, "{}", sessions.body);
    doc.check("GET", "/api/auth/sessions", &sessions);
    let password = json!({ "password": "correct horse battery" });
    doc.check_request("POST", "/api/auth/reauthenticate", &password);
    let renewed = send(&ann, "POST", "/api/auth/reauthenticate", Some(&password)).await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    doc.check("POST", "/api/auth/reauthenticate", &renewed);
    // Ann's browser still holds her removed passkey.
    browser.token = Some(renewed.body["token"].as_str().unwrap().to_owned());
    let options = send(&browser, "POST", "/api/auth/reauthenticate-options", None).await;
    assert_eq!(options.status, 200, "{}", options.body);
    doc.check("POST", "/api/auth/reauthenticate-options", &options);
    let credential = browser
        .authenticator
        .authenticate(&options.body["publicKey"], &app.origin)
        .unwrap();
    let body = json!({ "credential": credential });
    doc.check_request("POST", "/api/auth/reauthenticate", &body);
    let unknown = send(&browser, "POST", "/api/auth/reauthenticate", Some(&body)).await;
    unknown.assert_error(404, "PASSKEY_NOT_FOUND");
    doc.check("POST", "/api/auth/reauthenticate", &unknown);
    let other = sessions.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/auth/sessions/{other}");
    let ended = send(&ann, "DELETE", &path, None).await;
    assert_eq!(ended.status, 204, "{}", ended.body);
    doc.check("DELETE", "/api/auth/sessions/{id}", &ended);
    let gone = send(&ann, "DELETE", &path, None).await;
    gone.assert_error(404, "SESSION_NOT_FOUND");
    doc.check("DELETE", "/api/auth/sessions/{id}", &gone);
    let logout = json!({ "refreshToken": refreshed.body["refreshToken"] });
    doc.check_request("POST", "/api/auth/logout", &logout);
    let out = send(&anon, "POST", "/api/auth/logout", Some(&logout)).await;
    assert_eq!(out.status, 204, "{}", out.body);
    doc.check("POST", "/api/auth/logout", &out);
    let refused = send(&carol, "GET", "/api/auth/sessions", None).await;
    refused.assert_error(401, "UNAUTHORIZED");
    doc.check("GET", "/api/auth/sessions", &refused);
}

/// The schemas reject what they should, so the checks above mean something.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_checks_catch_misfits() {
    let app = spawn(Backend::Sqlite).await.unwrap();
    let doc = Doc::fetch(&app).await;
    let session = json!({ "$ref": "#/components/schemas/Session" });
    let good = json!({ "token": "t", "tokenType": "Bearer", "expiresIn": 900,
        "user": { "id": "0190c6a4-5b7e-7c1a-9d3e-1f2a3b4c5d6e", "email": "a@b.c",
                  "displayName": null },
        "refreshToken": "A".repeat(43), "refreshExpiresIn": 2_592_000 });
    assert_eq!(doc.misfits(&session, &good, true), Vec::<String>::new());
    for (member, value) in [
        ("tokenType", json!("bearer")),
        ("expiresIn", json!("900")),
        ("refreshToken", json!("A".repeat(42))),
        ("extra", json!(1)),
    ] {
        let mut bad = good.clone();
        bad[member] = value;
        assert!(!doc.misfits(&session, &bad, true).is_empty(), "{member}");
    }
    let mut no_user = good.clone();
    no_user.as_object_mut().unwrap().remove("user");
    assert!(!doc.misfits(&session, &no_user, true).is_empty());
    let mut no_name = good.clone();
    no_name["user"]
        .as_object_mut()
        .unwrap()
        .remove("displayName");
    assert!(!doc.misfits(&session, &no_name, true).is_empty());

    let passkey = json!({ "$ref": "#/components/schemas/Passkey" });
    let required = doc.resolve(&passkey)["required"].clone();
    for member in [
        "id",
        "name",
        "credentialId",
        "createdAt",
        "lastUsedAt",
        "backupEligible",
        "backedUp",
        "transports",
        "aaguid",
        "authenticatorName",
    ] {
        assert!(
            required.as_array().unwrap().contains(&json!(member)),
            "{member}"
        );
    }
    let credential = json!({ "$ref": "#/components/schemas/RegistrationResponseJSON" });
    let padded = json!({ "id": "AAEC", "rawId": "AAEC==", "type": "public-key",
        "response": { "clientDataJSON": "e30", "attestationObject": "oA" } });
    assert!(!doc.misfits(&credential, &padded, false).is_empty());
}

/// An answer with its content type; `body` is JSON when the answer is,
/// else the text (`Null` when there is none).
struct Answer {
    content_type: Option<String>,
    inner: common::Answer,
}

impl std::ops::Deref for Answer {
    type Target = common::Answer;

    fn deref(&self) -> &common::Answer {
        &self.inner
    }
}

/// A usernameless sign-in: the finish answer and the body sent.
async fn sign_in(client: &mut Client) -> (Answer, Value) {
    let options = client.sign_in_options(json!({})).await;
    let origin = client.app.origin.clone();
    let credential = client
        .authenticator
        .authenticate(&options, &origin)
        .unwrap();
    let body = json!({ "credential": credential });
    let answer = send(
        client,
        "POST",
        "/api/auth/passkey/authenticate",
        Some(&body),
    )
    .await;
    (answer, body)
}

/// `client` with redirects shown as they are, not followed: `GET /`
/// answers `302`.
fn showing_redirects(mut client: Client) -> Client {
    client.http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client
}

/// The asset URLs (`/assets/…`) that the page at `page` refers to.
async fn assets_of(client: &Client, page: &str) -> Vec<String> {
    let answer = send(client, "GET", page, None).await;
    assert_eq!(answer.status, 200, "{page}");
    let html = answer.body.as_str().unwrap();
    let mut assets: Vec<String> = html
        .split('"')
        .filter(|value| value.starts_with("/assets/"))
        .map(str::to_owned)
        .collect();
    assets.sort_unstable();
    assets.dedup();
    assert!(!assets.is_empty(), "{page} loads no asset");
    assets
}

async fn send(client: &Client, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client
        .http
        .request(method, format!("{}{path}", client.app.base));
    if let Some(token) = &client.token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.bytes().await.unwrap();
    let body = match &content_type {
        Some(t) if t.starts_with("application/json") => serde_json::from_slice(&bytes).unwrap(),
        _ if bytes.is_empty() => Value::Null,
        _ => Value::String(String::from_utf8(bytes.to_vec()).unwrap()),
    };
    Answer {
        content_type,
        inner: common::Answer {
            status,
            headers,
            body,
        },
    }
}

struct Doc(Value);

impl Doc {
    async fn fetch(app: &TestApp) -> Self {
        let answer = send(&Client::new(app), "GET", "/api/openapi.json", None).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        Self(answer.body.clone())
    }

    /// (METHOD, path, operation) of every operation.
    fn operations(&self) -> Vec<(String, String, Value)> {
        let mut all = Vec::new();
        for (path, item) in self.0["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
                all.push((method.to_uppercase(), path.clone(), operation.clone()));
            }
        }
        all
    }

    fn operation(&self, method: &str, path: &str) -> &Value {
        let operation = &self.0["paths"][path][method.to_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not documented");
        operation
    }

    /// Asserts that the document declares `answer` for the operation: its
    /// status, its content type and a body that fits (strictly: no
    /// undocumented member).
    fn check(&self, method: &str, path: &str, answer: &Answer) {
        let name = format!("{method} {path}");
        let status = answer.status.as_u16().to_string();
        let response = &self.operation(method, path)["responses"][&status];
        assert!(
            response.is_object(),
            "{name} answered {status}, which it does not declare: {}",
            answer.body
        );
        let Some(content) = response.get("content") else {
            assert_eq!(answer.body, Value::Null, "{name} {status}: undeclared body");
            return;
        };
        let content_type = answer.content_type.as_deref().unwrap_or_default();
        let (_, media) = content
            .as_object()
            .unwrap()
            .iter()
            .find(|(declared, _)| content_type.starts_with(declared.as_str()))
            .unwrap_or_else(|| panic!("{name} {status}: undeclared content type {content_type}"));
        let misfits = self.misfits(&media["schema"], &answer.body, true);
        assert!(
            misfits.is_empty(),
            "{name} {status} does not fit its schema: {misfits:?}\n{}",
            answer.body
        );
    }

    /// Asserts that a request body we send fits the operation's schema
    /// (members a browser adds beyond it are allowed).
    fn check_request(&self, method: &str, path: &str, body: &Value) {
        let schema =
            &self.operation(method, path)["requestBody"]["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{method} {path}: no JSON body");
        let misfits = self.misfits(schema, body, false);
        assert!(misfits.is_empty(), "{method} {path} request: {misfits:?}");
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
                let target = &self.0["components"]["schemas"][name];
                assert!(target.is_object(), "{reference} is not in the document");
                self.resolve(target)
            }
            None => schema,
        }
    }

    /// Where `value` does not fit `schema` (the subset of JSON Schema the
    /// document uses; an unknown keyword fails the test rather than being
    /// skipped). `strict`: members the schema does not list are misfits.
    fn misfits(&self, schema: &Value, value: &Value, strict: bool) -> Vec<String> {
        let mut found = Vec::new();
        self.walk(schema, value, strict, "$", &mut found);
        found
    }

    fn walk(&self, schema: &Value, value: &Value, strict: bool, at: &str, found: &mut Vec<String>) {
        let schema = self.resolve(schema);
        macro_rules! misfit {
            ($($why:tt)*) => {
                found.push(format!("{at}: {}", format!($($why)*)))
            };
        }
        for (keyword, rule) in schema.as_object().unwrap() {
            match keyword.as_str() {
                "description" | "example" | "examples" | "default" | "title" => {}
                "type" => {
                    let types: Vec<&str> = match rule {
                        Value::String(one) => vec![one.as_str()],
                        Value::Array(many) => many.iter().map(|t| t.as_str().unwrap()).collect(),
                        other => panic!("type {other}"),
                    };
                    if !types.iter().any(|t| is_of_type(value, t)) {
                        misfit!("{value} is not of type {rule}");
                    }
                }
                "enum" => {
                    if !rule.as_array().unwrap().contains(value) {
                        misfit!("{value} is not one of {rule}");
                    }
                }
                "pattern" => {
                    if let Some(text) = value.as_str()
                        && !matches_pattern(rule.as_str().unwrap(), text)
                    {
                        misfit!("{text:?} does not match {rule}");
                    }
                }
                "minLength" | "maxLength" => {
                    if let Some(text) = value.as_str() {
                        let length = text.chars().count() as u64;
                        let bound = rule.as_u64().unwrap();
                        if (keyword == "minLength" && length < bound)
                            || (keyword == "maxLength" && length > bound)
                        {
                            misfit!("length {length} breaks {keyword} {bound}");
                        }
                    }
                }
                "minimum" | "maximum" => {
                    if let Some(number) = value.as_f64() {
                        let bound = rule.as_f64().unwrap();
                        if (keyword == "minimum" && number < bound)
                            || (keyword == "maximum" && number > bound)
                        {
                            misfit!("{number} breaks {keyword} {bound}");
                        }
                    }
                }
                "format" => {
                    if let Some(text) = value.as_str()
                        && !has_format(rule.as_str().unwrap(), text)
                    {
                        misfit!("{text:?} is not a {rule}");
                    }
                }
                "required" => {
                    if let Some(members) = value.as_object() {
                        for name in rule.as_array().unwrap() {
                            if !members.contains_key(name.as_str().unwrap()) {
                                misfit!("required member {name} is missing");
                            }
                        }
                    }
                }
                "properties" => {
                    if let Some(members) = value.as_object() {
                        let declared = rule.as_object().unwrap();
                        for (name, member) in members {
                            match declared.get(name) {
                                Some(member_schema) => self.walk(
                                    member_schema,
                                    member,
                                    strict,
                                    &format!("{at}.{name}"),
                                    found,
                                ),
                                None if strict => {
                                    found.push(format!("{at}: undocumented member {name:?}"))
                                }
                                None => {}
                            }
                        }
                    }
                }
                "items" => {
                    if let Some(items) = value.as_array() {
                        for (index, item) in items.iter().enumerate() {
                            self.walk(rule, item, strict, &format!("{at}[{index}]"), found);
                        }
                    }
                }
                "oneOf" | "anyOf" => {
                    let fitting = rule
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|option| self.misfits(option, value, strict).is_empty())
                        .count();
                    if fitting == 0 || (keyword == "oneOf" && fitting > 1) {
                        found.push(format!("{at}: {fitting} of {keyword} fit"));
                    }
                }
                other => panic!("the test's schema check does not know {other:?}: teach it"),
            }
        }
    }
}

fn is_of_type(value: &Value, json_type: &str) -> bool {
    match json_type {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other}"),
    }
}

/// The patterns the document uses (the test has no regex engine).
/// Names: no control characters (U+0000–U+001F, U+007F–U+009F).
const NO_CONTROL: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";
/// Required names: no control characters and not blank.
const NOT_BLANK: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";

fn matches_pattern(pattern: &str, text: &str) -> bool {
    match pattern {
        "^[A-Za-z0-9_-]*$" => text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "^[A-Za-z0-9_-]{43}$" => {
            text.len() == 43
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }
        "^(password|passkey)$" => matches!(text, "password" | "passkey"),
        "^Bearer$" => text == "Bearer",
        NO_CONTROL => !text.chars().any(char::is_control),
        NOT_BLANK => {
            !text.chars().any(char::is_control) && text.chars().any(|c| !c.is_whitespace())
        }
        other => panic!("the test's schema check does not know the pattern {other:?}: teach it"),
    }
}

fn has_format(format: &str, text: &str) -> bool {
    match format {
        "uuid" => text.len() == 36 && uuid::Uuid::try_parse(text).is_ok(),
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "email" => text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !text.contains(char::is_whitespace)
        }),
        // Integer formats: the type check covers them.
        "int32" | "int64" => true,
        other => panic!("the test's schema check does not know the format {other:?}: teach it"),
    }
}
