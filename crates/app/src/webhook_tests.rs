//! Events written with their changes, the dispatcher's signatures, retries
//! and give-ups, and the new-passkey notification, over the in-memory ports.

use std::time::Duration;

use chrono::Duration as Span;
use monetro_domain::{EventType, RequestOrigin};
use monetro_ports::memory::{MemoryStore, RecordingWebhooks};
use monetro_ports::{Clock as _, CredentialRepository as _, DeliveryError, Outbox as _};
use monetro_softauthn::SoftAuthenticator;
use serde_json::{Value, json};

use crate::testing::{ORIGIN, TestApp, signup};
use crate::{
    EVENT_ID_HEADER, RegistrationCredential, RetryPolicy, SIGNATURE_HEADER, WebhookDispatcher,
    WebhookEndpoint, sign,
};

const ALL: &str = "http://receiver.test/all";
const PASSKEYS: &str = "http://receiver.test/passkeys";

fn endpoints() -> Vec<WebhookEndpoint> {
    vec![
        WebhookEndpoint {
            url: ALL.into(),
            secret: b"all secret".to_vec(),
            events: None,
        },
        WebhookEndpoint {
            url: PASSKEYS.into(),
            secret: b"passkey secret".to_vec(),
            events: Some(vec![
                EventType::PasskeyRegistered,
                EventType::PasskeyRemoved,
            ]),
        },
    ]
}

fn with_webhooks() -> TestApp {
    TestApp::with(|settings| settings.webhooks = endpoints())
}

/// The endpoint for all events, here receiving only `account.created`.
fn with_account_webhook() -> TestApp {
    TestApp::with(|settings| {
        settings.webhooks = vec![WebhookEndpoint {
            events: Some(vec![EventType::AccountCreated]),
            ..endpoints().remove(0)
        }];
    })
}

fn types(store: &MemoryStore, endpoint: &str) -> Vec<String> {
    store
        .pending_payloads(endpoint)
        .iter()
        .map(|p| {
            let body: Value = serde_json::from_str(p).unwrap();
            body["type"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(60),
        lease: Duration::from_secs(30),
        batch: 10,
        retain_delivered: Duration::from_secs(3600),
    }
}

async fn register(
    t: &TestApp,
    user: monetro_domain::UserId,
    authenticator: &mut SoftAuthenticator,
) -> String {
    let (handle, options) = t.app.start_registration(user, None).await.unwrap();
    let credential: RegistrationCredential =
        serde_json::from_value(authenticator.register(&options, ORIGIN).unwrap()).unwrap();
    let passkey = t
        .app
        .finish_registration(
            user,
            Some(&handle),
            Some("Laptop"),
            &credential,
            &RequestOrigin::default(),
        )
        .await
        .unwrap();
    passkey.id.to_string()
}

#[tokio::test]
async fn changes_enqueue_their_events_for_the_endpoints_that_want_them() {
    let t = with_webhooks();
    let mut authenticator = SoftAuthenticator::new();
    let session = signup(&t.app, "ann@example.com").await;
    let id = register(&t, session.user.id, &mut authenticator).await;
    t.app
        .rename_passkey(session.user.id, &id, "Work", &RequestOrigin::default())
        .await
        .unwrap();
    let (handle, options) = t.app.start_authentication(None, None).await.unwrap();
    let assertion =
        serde_json::from_value(authenticator.authenticate(&options, ORIGIN).unwrap()).unwrap();
    t.app
        .finish_authentication(Some(&handle), &assertion, &RequestOrigin::default())
        .await
        .unwrap();
    t.app
        .delete_passkey(session.user.id, &id, &RequestOrigin::default())
        .await
        .unwrap();
    assert_eq!(
        types(&t.store, ALL),
        [
            "account.created",
            "session.created",
            "passkey.registered",
            "passkey.renamed",
            "passkey.used",
            "session.created",
            "passkey.removed"
        ]
    );
    assert_eq!(
        types(&t.store, PASSKEYS),
        ["passkey.registered", "passkey.removed"]
    );
    let registered: Value = serde_json::from_str(&t.store.pending_payloads(ALL)[2]).unwrap();
    assert_eq!(registered["data"]["userId"], json!(session.user.id.0));
    assert_eq!(registered["data"]["passkeyId"], json!(id));
    assert_eq!(registered["data"]["name"], "Laptop");
    assert!(registered["data"]["credentialId"].as_str().unwrap().len() > 10);
}

#[tokio::test]
async fn refused_changes_enqueue_nothing_and_no_endpoints_means_no_rows() {
    let t = with_webhooks();
    let session = signup(&t.app, "ann@example.com").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    assert!(
        t.app
            .rename_passkey(session.user.id, &unknown, "Nope", &RequestOrigin::default())
            .await
            .is_err()
    );
    assert_eq!(types(&t.store, ALL), ["account.created", "session.created"]);

    let plain = TestApp::new();
    signup(&plain.app, "bob@example.com").await;
    assert_eq!(plain.store.backlog().await.unwrap(), 0);
}

#[tokio::test]
async fn deliveries_are_signed_and_marked_delivered() {
    let t = with_account_webhook();
    signup(&t.app, "ann@example.com").await;
    let transport = RecordingWebhooks::default();
    let dispatcher = WebhookDispatcher::new(
        t.store.clone(),
        transport.clone(),
        t.clock.clone(),
        &endpoints(),
        policy(),
    );
    let report = dispatcher.run_once().await.unwrap();
    assert_eq!((report.claimed, report.delivered), (1, 1));
    assert_eq!(dispatcher.backlog().await.unwrap(), 0);
    let sent = transport.sent();
    let (url, headers, body) = &sent[0];
    assert_eq!(url, ALL);
    let header = |name: &str| headers.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    let parsed: Value = serde_json::from_str(body).unwrap();
    assert_eq!(header(EVENT_ID_HEADER), parsed["id"].as_str().unwrap());
    let signature = header(SIGNATURE_HEADER);
    let (t_part, v1) = signature.split_once(",v1=").unwrap();
    let timestamp: i64 = t_part.strip_prefix("t=").unwrap().parse().unwrap();
    assert_eq!(timestamp, t.clock.now().timestamp());
    assert_eq!(v1, sign(b"all secret", timestamp, body).unwrap());
    assert_ne!(v1, sign(b"other secret", timestamp, body).unwrap());
    assert_eq!(
        dispatcher.run_once().await.unwrap().claimed,
        0,
        "delivered once"
    );
}

#[tokio::test]
async fn failures_are_retried_with_growing_delays_then_given_up() {
    let t = with_account_webhook();
    signup(&t.app, "ann@example.com").await;
    let transport = RecordingWebhooks::default();
    let failure = || Err(DeliveryError("HTTP 500".into()));
    transport.answer_with([failure(), failure(), failure()]);
    let dispatcher = WebhookDispatcher::new(
        t.store.clone(),
        transport.clone(),
        t.clock.clone(),
        &endpoints(),
        policy(),
    );

    assert_eq!(dispatcher.run_once().await.unwrap().retried, 1);
    assert_eq!(
        dispatcher.run_once().await.unwrap().claimed,
        0,
        "not due yet"
    );
    t.clock.advance(Span::seconds(4));
    assert_eq!(
        dispatcher.run_once().await.unwrap().claimed,
        0,
        "at least half the first backoff"
    );
    t.clock.advance(Span::seconds(6));
    assert_eq!(
        dispatcher.run_once().await.unwrap().retried,
        1,
        "due after the first backoff"
    );
    t.clock.advance(Span::seconds(9));
    assert_eq!(
        dispatcher.run_once().await.unwrap().claimed,
        0,
        "the second wait is longer"
    );
    t.clock.advance(Span::seconds(11));
    let last = dispatcher.run_once().await.unwrap();
    assert_eq!(last.dead, 1, "the third failure is the last");
    assert_eq!(dispatcher.backlog().await.unwrap(), 0);
    t.clock.advance(Span::seconds(3600));
    assert_eq!(dispatcher.run_once().await.unwrap().claimed, 0);
    assert_eq!(transport.sent().len(), 3);
}

#[test]
fn backoff_doubles_is_capped_and_jittered_within_its_upper_half() {
    let policy = policy();
    for (attempts, full) in [(1, 10), (2, 20), (3, 40), (4, 60), (30, 60)] {
        for _ in 0..20 {
            let wait = policy.backoff(attempts);
            let full = Duration::from_secs(full);
            assert!(wait >= full / 2 && wait <= full, "{attempts}: {wait:?}");
        }
    }
}

#[tokio::test]
async fn a_new_passkey_is_notified_and_a_failing_notifier_does_not_fail_it() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let session = signup(&t.app, "ann@example.com").await;
    register(&t, session.user.id, &mut authenticator).await;
    assert_eq!(
        t.notifier.sent(),
        [("ann@example.com".to_owned(), "Laptop".to_owned())]
    );
    t.notifier.set_failing(true);
    register(&t, session.user.id, &mut SoftAuthenticator::new()).await;
    assert_eq!(t.store.count_passkeys(session.user.id).await.unwrap(), 2);
}

/// The `data` of every pending event of `kind` for the all-events endpoint.
fn events_of(store: &MemoryStore, kind: &str) -> Vec<Value> {
    store
        .pending_payloads(ALL)
        .iter()
        .map(|p| serde_json::from_str::<Value>(p).unwrap())
        .filter(|body| body["type"] == kind)
        .map(|body| body["data"].clone())
        .collect()
}

#[tokio::test]
async fn sessions_report_their_start_and_every_kind_of_end() {
    let t = with_webhooks();
    let device = RequestOrigin::new(Some("203.0.113.7".into()), Some("Firefox"));
    let first = signup(&t.app, "ann@example.com").await;
    let user = first.user.id;
    let second = t
        .app
        .login("ann@example.com", "correct horse".into(), &device)
        .await
        .unwrap();
    let created = events_of(&t.store, "session.created");
    assert_eq!(created.len(), 2);
    assert_eq!(created[1]["sessionId"], json!(second.session_id.0));
    assert_eq!(created[1]["userId"], json!(user.0));
    assert_eq!(created[1]["method"], "password");
    assert_eq!(created[1]["clientIp"], "203.0.113.7");

    // Signing out with the bearer token, and ending another session.
    let verified = t.app.authenticate(&second.token.token).await.unwrap();
    t.app.logout(&verified, &device).await.unwrap();
    t.app
        .end_session(user, &first.session_id.to_string(), &device)
        .await
        .unwrap();
    // A refresh token used twice ends its session.
    let third = t
        .app
        .login("ann@example.com", "correct horse".into(), &device)
        .await
        .unwrap();
    t.app.refresh(&third.refresh_token, &device).await.unwrap();
    assert!(t.app.refresh(&third.refresh_token, &device).await.is_err());
    assert!(
        t.app.refresh(&third.refresh_token, &device).await.is_err(),
        "ended already: no second event"
    );
    // Signing out with a refresh token.
    let fourth = t
        .app
        .login("ann@example.com", "correct horse".into(), &device)
        .await
        .unwrap();
    t.app
        .logout_with_refresh_token(&fourth.refresh_token, &device)
        .await
        .unwrap();
    t.app
        .logout_with_refresh_token(&fourth.refresh_token, &device)
        .await
        .unwrap();

    let revoked: Vec<(Value, Value)> = events_of(&t.store, "session.revoked")
        .into_iter()
        .map(|data| {
            assert_eq!(data["userId"], json!(user.0));
            assert_eq!(data["userAgent"], "Firefox");
            (data["sessionId"].clone(), data["reason"].clone())
        })
        .collect();
    assert_eq!(
        revoked,
        [
            (json!(second.session_id.0), json!("logout")),
            (json!(first.session_id.0), json!("ended")),
            (json!(third.session_id.0), json!("reuse")),
            (json!(fourth.session_id.0), json!("logout")),
        ]
    );
}

#[tokio::test]
async fn an_operator_ending_sessions_and_forcing_a_removal_reports_it() {
    let t = with_webhooks();
    let operator = RequestOrigin::new(Some("10.0.0.9".into()), Some("admin-cli"));
    let mut authenticator = SoftAuthenticator::new();
    let first = signup(&t.app, "ann@example.com").await;
    let user = first.user.id;
    let id = register(&t, user, &mut authenticator).await;
    let second = t
        .app
        .login("ann@example.com", "correct horse".into(), &operator)
        .await
        .unwrap();
    let listed = t.app.admin_sessions(&user.to_string()).await.unwrap();
    assert_eq!(listed.len(), 2);

    t.app
        .admin_end_session(&user.to_string(), &first.session_id.to_string(), &operator)
        .await
        .unwrap();
    assert_eq!(
        t.app
            .admin_end_session(&user.to_string(), &first.session_id.to_string(), &operator)
            .await
            .unwrap_err(),
        monetro_domain::Error::SessionNotFound
    );
    assert_eq!(
        t.app
            .admin_end_sessions(&user.to_string(), &operator)
            .await
            .unwrap(),
        1
    );
    assert!(
        t.app
            .admin_sessions(&user.to_string())
            .await
            .unwrap()
            .is_empty()
    );
    let revoked = events_of(&t.store, "session.revoked");
    let ended: Vec<Value> = revoked.iter().map(|d| d["sessionId"].clone()).collect();
    assert_eq!(
        ended,
        [json!(first.session_id.0), json!(second.session_id.0)]
    );
    assert!(revoked.iter().all(|d| d["reason"] == "admin"));
    assert!(revoked.iter().all(|d| d["clientIp"] == "10.0.0.9"));

    t.app
        .admin_remove_passkey(&user.to_string(), &id, crate::Removal::Forced, &operator)
        .await
        .unwrap();
    let removed = events_of(&t.store, "passkey.removed");
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["passkeyId"], json!(id));
    assert_eq!(removed[0]["by"], "admin");
    assert_eq!(removed[0]["forced"], true);
    assert_eq!(
        types(&t.store, PASSKEYS),
        ["passkey.registered", "passkey.removed"]
    );
}
