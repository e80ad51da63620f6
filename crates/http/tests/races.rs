//! Requests that race for the same passkey or credential id. Racing finish
//! calls on one challenge are passkeys.rs::racing_finishes_have_one_winner.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, Instant};

use common::{Answer, Backend, Client, spawn, spawn_with};
use monetro_softauthn::{SoftAuthenticator, Tweaks};
use reqwest::RequestBuilder;
use serde_json::{Value, json};

on_every_backend!(
    removing_a_passkey_while_it_signs_in,
    one_credential_id_registered_for_two_users_at_once,
);

const ROUNDS: u32 = 30;

/// Sends `request` on a task of its own; returns when it was sent, the
/// answer, and when the answer was complete.
fn race(
    request: RequestBuilder,
    delay: Duration,
) -> tokio::task::JoinHandle<(Instant, Answer, Instant)> {
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let sent = Instant::now();
        let answer = common::answer(request.send().await.unwrap()).await;
        (sent, answer, Instant::now())
    })
}

fn post(client: &Client, path: &str, body: &Value) -> RequestBuilder {
    let request = client
        .http
        .post(format!("{}{path}", client.app.base))
        .json(body);
    match &client.token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// DELETE of a passkey against a sign-in finish with it, many times, the
/// delete sent from well before to well after the sign-in. Either the
/// sign-in wins and the delete comes after it, or the sign-in answers the
/// orphan's `404 PASSKEY_NOT_FOUND`: never a 500 or a 401, never a token
/// when the delete had answered before the sign-in was sent; the delete
/// always answers 204, and the passkey is gone afterwards.
async fn removing_a_passkey_while_it_signs_in(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let mut browser = Client::new(&app);

    // How long a sign-in finish takes here, to spread the deletes over it.
    ann.register().await;
    browser.authenticator = ann.authenticator.clone();
    let started = Instant::now();
    assert_eq!(browser.sign_in().await.status, 200);
    let span = started.elapsed();

    let (mut signed_in, mut orphaned) = (0, 0);
    for round in 0..ROUNDS {
        ann.authenticator = SoftAuthenticator::new();
        let passkey = ann.register().await;
        browser.authenticator = ann.authenticator.clone();
        let options = browser.sign_in_options(json!({})).await;
        let assertion = browser
            .authenticator
            .authenticate(&options, &app.origin)
            .unwrap();
        let sign_in = post(
            &browser,
            "/api/auth/passkey/authenticate",
            &json!({ "credential": assertion }),
        );
        let path = format!("/api/auth/passkey/{}", passkey["id"].as_str().unwrap());
        let delete = ann
            .http
            .delete(format!("{}{path}", app.base))
            .bearer_auth(ann.token.as_deref().unwrap());

        // From the delete half a sign-in ahead to one sign-in behind.
        let offset = span.as_secs_f64() * (1.5 * f64::from(round) / f64::from(ROUNDS - 1) - 0.5);
        let (sign_in_delay, delete_delay) = if offset < 0.0 {
            (Duration::from_secs_f64(-offset), Duration::ZERO)
        } else {
            (Duration::ZERO, Duration::from_secs_f64(offset))
        };
        let sign_in = race(sign_in, sign_in_delay);
        let delete = race(delete, delete_delay);
        let (sign_in_sent, sign_in, sign_in_answered) = sign_in.await.unwrap();
        let (delete_sent, deleted, delete_answered) = delete.await.unwrap();

        assert_eq!(deleted.status, 204, "round {round}: {}", deleted.body);
        match sign_in.status.as_u16() {
            200 => {
                assert!(
                    delete_answered > sign_in_sent,
                    "round {round}: a token for a passkey deleted before the sign-in was sent"
                );
                signed_in += 1;
            }
            _ => {
                sign_in.assert_error(404, "PASSKEY_NOT_FOUND");
                assert!(
                    delete_sent < sign_in_answered,
                    "round {round}: orphaned before the delete was sent"
                );
                assert_eq!(
                    sign_in.body["error"]["credentialId"],
                    passkey["credentialId"]
                );
                orphaned += 1;
            }
        }
        let credential_id = base64url_decode(passkey["credentialId"].as_str().unwrap());
        assert_eq!(
            app.stored_passkey(&credential_id).await,
            None,
            "round {round}"
        );
    }
    assert_eq!(
        ann.get("/api/auth/passkey/list").await.body["passkeys"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "only the first passkey is left"
    );
    eprintln!("{backend:?}: {signed_in} signed in before the delete, {orphaned} orphaned");
}

/// Ann and Bob finish registrations of the same credential id at once:
/// exactly one gets 201, the other `409 PASSKEY_ALREADY_REGISTERED`, and one
/// row is stored, the winner's.
async fn one_credential_id_registered_for_two_users_at_once(backend: Backend) {
    // Either user may win every round, so the limit must not end the race.
    let Some(app) = spawn_with(backend, |config| {
        config.webauthn.max_passkeys_per_user = ROUNDS
    })
    .await
    else {
        return;
    };
    let ann = Client::signup(&app, "ann@example.com").await;
    let bob = Client::signup(&app, "bob@example.com").await;
    let (mut anns, mut bobs) = (0, 0);
    for round in 0..ROUNDS {
        let credential_id = uuid::Uuid::new_v4().as_bytes().repeat(2);
        let tweaks = Tweaks {
            credential_id: Some(credential_id.clone()),
            ..Tweaks::default()
        };
        let mut finishes = Vec::new();
        for user in [&ann, &bob] {
            let options = user.registration_options().await;
            let credential = SoftAuthenticator::new()
                .register_with(&options, &app.origin, &tweaks)
                .unwrap();
            finishes.push(post(
                user,
                "/api/auth/passkey/register",
                &json!({ "credential": credential }),
            ));
        }
        let racers: Vec<_> = finishes
            .into_iter()
            .map(|finish| race(finish, Duration::ZERO))
            .collect();
        let mut answers = Vec::new();
        for racer in racers {
            answers.push(racer.await.unwrap().1);
        }

        let winners: Vec<_> = answers.iter().filter(|a| a.status == 201).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: {:?}",
            answers.iter().map(|a| &a.body).collect::<Vec<_>>()
        );
        let loser = answers.iter().find(|a| a.status != 201).unwrap();
        loser.assert_error(409, "PASSKEY_ALREADY_REGISTERED");

        let stored = app.stored_passkey(&credential_id).await.unwrap();
        assert_eq!(
            stored.id.0.to_string(),
            winners[0].body["passkey"]["id"].as_str().unwrap(),
            "round {round}"
        );
        if answers[0].status == 201 {
            anns += 1;
        } else {
            bobs += 1;
        }
        assert_eq!(
            (passkey_count(&ann).await, passkey_count(&bob).await),
            (anns, bobs),
            "round {round}: one row per round, the winner's"
        );
    }
    eprintln!("{backend:?}: Ann won {anns} rounds, Bob {bobs}");
}

async fn passkey_count(user: &Client) -> u64 {
    user.get("/api/auth/me").await.body["passkeyCount"]
        .as_u64()
        .unwrap()
}

fn base64url_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}
