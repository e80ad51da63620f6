//! Sessions and step-up end to end: refresh tokens rotated on every use,
//! reuse ending the whole session, signing out, the list of sessions, and
//! sensitive changes refused after the step-up window until the person
//! re-authenticates with a passkey or the password.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Answer, Backend, Client, spawn, spawn_with};
use reqwest::Method;
use serde_json::{Value, json};

on_every_backend!(
    a_refresh_rotates_the_token_and_keeps_auth_time,
    a_reused_refresh_token_ends_the_whole_session,
    racing_refreshes_with_one_token_have_one_winner_and_end_the_session,
    logout_by_bearer_or_by_refresh_token,
    sessions_are_listed_and_only_their_owner_ends_them,
    sensitive_changes_need_a_recent_sign_in_then_a_passkey_or_password,
);

const REFRESH: &str = "/api/auth/token/refresh";
const LOGOUT: &str = "/api/auth/logout";
const SESSIONS: &str = "/api/auth/sessions";

/// The claims of a JWT (its signature is the service's business).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn refresh_token(answer: &Answer) -> String {
    answer.body["refreshToken"].as_str().unwrap().to_owned()
}

/// Signs up and returns the client with the whole session body.
async fn signed_up(app: &common::TestApp, email: &str) -> (Client, Value) {
    let mut client = Client::new(app);
    let answer = client
        .post(
            "/api/auth/signup",
            json!({ "email": email, "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    client.token = Some(answer.body["token"].as_str().unwrap().to_owned());
    (client, answer.body)
}

async fn refresh(client: &Client, token: &str) -> Answer {
    client.post(REFRESH, json!({ "refreshToken": token })).await
}

async fn a_refresh_rotates_the_token_and_keeps_auth_time(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (client, body) = signed_up(&app, "ann@example.com").await;
    let first = body["refreshToken"].as_str().unwrap();
    assert_eq!(first.len(), 43, "256 bits of base64url");
    assert_eq!(body["refreshExpiresIn"], app.config.tokens.refresh_ttl_secs);
    let signed_in = claims(body["token"].as_str().unwrap());
    assert!(signed_in["sid"].is_string(), "{signed_in}");
    assert_eq!(signed_in["auth_time"], signed_in["iat"]);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let anon = Client::new(&app);
    let refreshed = refresh(&anon, first).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(refreshed.headers["cache-control"], "no-store");
    assert_eq!(refreshed.body["user"], body["user"]);
    assert_ne!(refresh_token(&refreshed), first);
    let renewed = claims(refreshed.body["token"].as_str().unwrap());
    assert_eq!(renewed["sid"], signed_in["sid"]);
    assert_eq!(
        renewed["auth_time"], signed_in["auth_time"],
        "auth_time survives"
    );
    assert_eq!(renewed["amr"], json!(["pwd"]));
    assert!(
        renewed["iat"].as_i64() > signed_in["iat"].as_i64(),
        "a new iat"
    );

    let mut next = anon;
    next.token = Some(refreshed.body["token"].as_str().unwrap().to_owned());
    assert_eq!(next.get("/api/auth/me").await.status, 200);
    assert_eq!(
        client.get("/api/auth/me").await.status,
        200,
        "the session goes on"
    );

    // The next token works in turn; malformed ones are body errors.
    let again = refresh(&next, &refresh_token(&refreshed)).await;
    assert_eq!(again.status, 200, "{}", again.body);
    refresh(&next, "not-a-token")
        .await
        .assert_error(400, "VALIDATION_FAILED");
    next.post(REFRESH, json!({}))
        .await
        .assert_error(400, "VALIDATION_FAILED");
    refresh(&next, &URL_SAFE_NO_PAD.encode([7u8; 32]))
        .await
        .assert_error(401, "UNAUTHORIZED");
}

async fn a_reused_refresh_token_ends_the_whole_session(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (client, body) = signed_up(&app, "ann@example.com").await;
    let first = body["refreshToken"].as_str().unwrap().to_owned();
    let second = refresh(&client, &first).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let mut holder = Client::new(&app);
    holder.token = Some(second.body["token"].as_str().unwrap().to_owned());
    assert_eq!(holder.get("/api/auth/me").await.status, 200);

    // The copied, already used token comes back: the session ends.
    refresh(&client, &first)
        .await
        .assert_error(401, "UNAUTHORIZED");
    refresh(&client, &refresh_token(&second))
        .await
        .assert_error(401, "UNAUTHORIZED");
    holder
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");
    client
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");

    // Another sign-in is another session, unaffected.
    let login = Client::new(&app)
        .post(
            "/api/auth/login",
            json!({ "email": "ann@example.com", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(login.status, 200);
    assert_eq!(refresh(&client, &refresh_token(&login)).await.status, 200);
}

async fn racing_refreshes_with_one_token_have_one_winner_and_end_the_session(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (client, body) = signed_up(&app, "ann@example.com").await;
    let token = body["refreshToken"].as_str().unwrap().to_owned();
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let app = app.clone();
            let token = token.clone();
            tokio::spawn(async move { refresh(&Client::new(&app), &token).await })
        })
        .collect();
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    let winners: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one refresh wins");
    for loser in answers.iter().filter(|a| a.status != 200) {
        loser.assert_error(401, "UNAUTHORIZED");
    }
    // The losers count as reuse: the winner's session is over too.
    refresh(&client, &refresh_token(winners[0]))
        .await
        .assert_error(401, "UNAUTHORIZED");
}

async fn logout_by_bearer_or_by_refresh_token(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (client, body) = signed_up(&app, "ann@example.com").await;
    let logout = client.send(Method::POST, LOGOUT, None).await;
    assert_eq!(logout.status, 204, "{}", logout.body);
    client
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");
    refresh(&client, body["refreshToken"].as_str().unwrap())
        .await
        .assert_error(401, "UNAUTHORIZED");
    client
        .send(Method::POST, LOGOUT, None)
        .await
        .assert_error(401, "UNAUTHORIZED");

    // With the refresh token, no bearer token is needed.
    let (client, body) = signed_up(&app, "bob@example.com").await;
    let anon = Client::new(&app);
    let logout = anon
        .post(LOGOUT, json!({ "refreshToken": body["refreshToken"] }))
        .await;
    assert_eq!(logout.status, 204, "{}", logout.body);
    client
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");
    let again = anon
        .post(LOGOUT, json!({ "refreshToken": body["refreshToken"] }))
        .await;
    assert_eq!(again.status, 204, "signing out twice is no error");
    anon.send(Method::POST, LOGOUT, None)
        .await
        .assert_error(401, "UNAUTHORIZED");
    anon.post(LOGOUT, json!({ "refreshToken": 7 }))
        .await
        .assert_error(400, "VALIDATION_FAILED");
}

async fn sessions_are_listed_and_only_their_owner_ends_them(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let (here, _) = signed_up(&app, "ann@example.com").await;
    let mut there = Client::new(&app);
    let login = there
        .post(
            "/api/auth/login",
            json!({ "email": "ann@example.com", "password": "correct horse battery" }),
        )
        .await;
    there.token = Some(login.body["token"].as_str().unwrap().to_owned());
    let (bob, _) = signed_up(&app, "bob@example.com").await;

    let list = here.get(SESSIONS).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let sessions = list.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{}", list.body);
    assert_eq!(sessions[0]["current"], false, "most recently seen first");
    assert_eq!(sessions[1]["current"], true);
    for session in sessions {
        assert_eq!(session["method"], "password");
        assert_eq!(session["clientIp"], "127.0.0.1");
        assert!(session["createdAt"].is_string() && session["lastSeenAt"].is_string());
        assert!(session.get("userAgent").is_some());
    }
    let theirs = sessions[0]["id"].as_str().unwrap();
    assert_eq!(theirs, claims(there.token.as_ref().unwrap())["sid"]);

    bob.send(Method::DELETE, &format!("{SESSIONS}/{theirs}"), None)
        .await
        .assert_error(404, "SESSION_NOT_FOUND");
    assert_eq!(there.get("/api/auth/me").await.status, 200);
    let ended = here
        .send(Method::DELETE, &format!("{SESSIONS}/{theirs}"), None)
        .await;
    assert_eq!(ended.status, 204, "{}", ended.body);
    there
        .get("/api/auth/me")
        .await
        .assert_error(401, "UNAUTHORIZED");
    refresh(&there, &refresh_token(&login))
        .await
        .assert_error(401, "UNAUTHORIZED");
    here.send(Method::DELETE, &format!("{SESSIONS}/{theirs}"), None)
        .await
        .assert_error(404, "SESSION_NOT_FOUND");
    here.send(Method::DELETE, &format!("{SESSIONS}/nope"), None)
        .await
        .assert_error(400, "VALIDATION_FAILED");
    let list = here.get(SESSIONS).await;
    assert_eq!(list.body["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(
        bob.get(SESSIONS).await.body["sessions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// The step-up window in these tests.
const WINDOW_SECS: u64 = 3;

async fn sensitive_changes_need_a_recent_sign_in_then_a_passkey_or_password(backend: Backend) {
    let Some(app) = spawn_with(backend, |c| c.tokens.step_up_window_secs = WINDOW_SECS).await
    else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;
    let path = format!("/api/auth/passkey/{}", passkey["id"].as_str().unwrap());

    tokio::time::sleep(Duration::from_secs(WINDOW_SECS + 1)).await;
    let rename = json!({ "name": "Work laptop" });
    ann.send(Method::PATCH, &path, Some(&rename))
        .await
        .assert_error(403, "REAUTHENTICATION_REQUIRED");
    ann.send(Method::DELETE, &path, None)
        .await
        .assert_error(403, "REAUTHENTICATION_REQUIRED");
    ann.get("/api/auth/passkey/register-options")
        .await
        .assert_error(403, "REAUTHENTICATION_REQUIRED");
    ann.post("/api/auth/passkey/register-options", json!({}))
        .await
        .assert_error(403, "REAUTHENTICATION_REQUIRED");
    let password =
        json!({ "password": "another password", "currentPassword": "correct horse battery" });
    ann.send(Method::PUT, "/api/auth/password", Some(&password))
        .await
        .assert_error(403, "REAUTHENTICATION_REQUIRED");
    assert_eq!(
        ann.get("/api/auth/passkey/list").await.status,
        200,
        "reading is fine"
    );

    // A user-verified assertion of her passkey.
    let options = ann
        .post("/api/auth/reauthenticate-options", json!({}))
        .await;
    assert_eq!(options.status, 200, "{}", options.body);
    let options = options.body["publicKey"].clone();
    assert_eq!(options["userVerification"], "required");
    assert_eq!(
        options["allowCredentials"][0]["id"],
        passkey["credentialId"]
    );
    let credential = ann
        .authenticator
        .authenticate(&options, &app.origin)
        .unwrap();
    let before = claims(ann.token.as_ref().unwrap());
    let renewed = ann
        .post(
            "/api/auth/reauthenticate",
            json!({ "credential": credential }),
        )
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let after = claims(renewed.body["token"].as_str().unwrap());
    assert_eq!(after["sid"], before["sid"], "the same session");
    assert!(after["auth_time"].as_i64() > before["auth_time"].as_i64());
    assert_eq!(after["amr"], json!(["webauthn"]));
    ann.token = Some(renewed.body["token"].as_str().unwrap().to_owned());
    let renamed = ann.send(Method::PATCH, &path, Some(&rename)).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    // Its ceremony is used up.
    ann.post(
        "/api/auth/reauthenticate",
        json!({ "credential": credential }),
    )
    .await
    .assert_error(400, "CHALLENGE_NOT_FOUND");

    // After the window again: the password does it too.
    tokio::time::sleep(Duration::from_secs(WINDOW_SECS + 1)).await;
    ann.send(Method::PUT, "/api/auth/password", Some(&password))
        .await
        .assert_error(403, "REAUTHENTICATION_REQUIRED");
    ann.post(
        "/api/auth/reauthenticate",
        json!({ "password": "wrong password" }),
    )
    .await
    .assert_error(401, "INVALID_CREDENTIALS");
    ann.post(
        "/api/auth/reauthenticate",
        json!({ "password": "correct horse battery", "credential": credential }),
    )
    .await
    .assert_error(400, "VALIDATION_FAILED");
    let renewed = ann
        .post(
            "/api/auth/reauthenticate",
            json!({ "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    assert_eq!(
        claims(renewed.body["token"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
    ann.token = Some(renewed.body["token"].as_str().unwrap().to_owned());
    let set = ann
        .send(Method::PUT, "/api/auth/password", Some(&password))
        .await;
    assert_eq!(set.status, 204, "{}", set.body);

    // A refresh keeps the fresh auth_time; the previous refresh token is
    // rotated out by the re-authentication.
    let refreshed = refresh(&ann, &refresh_token(&renewed)).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(
        claims(refreshed.body["token"].as_str().unwrap())["auth_time"],
        claims(renewed.body["token"].as_str().unwrap())["auth_time"]
    );
}
