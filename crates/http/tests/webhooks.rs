//! Webhooks end to end: the service on a real database posts signed events
//! to a receiver started here, retries after failures, and (binary.rs)
//! loses nothing across a restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::receiver::Receiver;
use common::tls::TestCa;
use common::{ADMIN_TOKEN, AdminClient, Backend, Client, TestApp, spawn_with};
use monetro_http::config::WebhookEndpointConfig;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

const SECRET: &str = "test webhook secret, long enough";

/// The service with one endpoint (a receiver on a fresh port) and short
/// retries.
async fn service_and_receiver(
    backend: Backend,
    initial_backoff_ms: u64,
) -> Option<(TestApp, Receiver)> {
    service_and_receiver_with(backend, initial_backoff_ms, |_| {}).await
}

async fn service_and_receiver_with(
    backend: Backend,
    initial_backoff_ms: u64,
    tweak: impl FnOnce(&mut monetro_http::config::Config),
) -> Option<(TestApp, Receiver)> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hooks",
        listener.local_addr().unwrap().port()
    );
    let receiver = Receiver::start(listener);
    let app = spawn_with(backend, |config| {
        config.webhooks.endpoints = vec![WebhookEndpointConfig {
            url,
            secret: SecretString::from(SECRET),
            events: None,
        }];
        config.webhooks.poll_interval_ms = 50;
        config.webhooks.timeout_ms = 2000;
        config.webhooks.initial_backoff_ms = initial_backoff_ms;
        tweak(config);
    })
    .await?;
    Some((app, receiver))
}

fn types(received: &[common::receiver::Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn passkey_events_are_delivered_signed(backend: Backend) {
    let Some((app, receiver)) = service_and_receiver(backend, 300).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;
    let id = passkey["id"].as_str().unwrap();
    let renamed = ann
        .send(
            Method::PATCH,
            &format!("/api/auth/passkey/{id}"),
            Some(&json!({ "name": "Work laptop" })),
        )
        .await;
    assert_eq!(renamed.status, 200);
    let mut device = Client::new(&app);
    device.authenticator = ann.authenticator.clone();
    assert_eq!(device.sign_in().await.status, 200);
    let removed = ann
        .send(Method::DELETE, &format!("/api/auth/passkey/{id}"), None)
        .await;
    assert_eq!(removed.status, 204);
    device
        .sign_in()
        .await
        .assert_error(404, "PASSKEY_NOT_FOUND");

    let expected = [
        "account.created",
        "passkey.registered",
        "passkey.renamed",
        "passkey.used",
        "passkey.removed",
        "passkey.unknown_credential_seen",
        "session.created",
        "session.created",
    ];
    let received = receiver
        .wait_for("eight events", |all| all.len() >= expected.len())
        .await;
    let mut got = types(&received);
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|t| (*t).to_owned()).collect();
    want.sort();
    assert_eq!(got, want);

    let user_id = ann.get("/api/auth/me").await.body["user"]["id"].clone();
    for event in &received {
        assert!(event.signature_is_valid(SECRET), "bad signature: {event:?}");
        assert!(!event.signature_is_valid("another secret entirely"));
        let body = event.json();
        assert_eq!(
            event.headers["monetro-event-id"],
            body["id"].as_str().unwrap()
        );
        assert_eq!(
            event.headers["monetro-event-type"],
            body["type"].as_str().unwrap()
        );
        assert_eq!(event.headers["content-type"], "application/json");
        assert!(body["occurredAt"].as_str().unwrap().ends_with('Z'));
        let data = &body["data"];
        match body["type"].as_str().unwrap() {
            "passkey.unknown_credential_seen" => {
                assert!(data["userId"].is_null());
                assert_eq!(data["credentialId"], passkey["credentialId"]);
            }
            kind => {
                assert_eq!(data["userId"], user_id, "{kind}");
                if kind.starts_with("passkey.") {
                    assert_eq!(data["passkeyId"], passkey["id"], "{kind}");
                }
            }
        }
    }
    let renamed = received
        .iter()
        .find(|r| r.json()["type"] == "passkey.renamed")
        .unwrap();
    assert_eq!(renamed.json()["data"]["name"], "Work laptop");
    let used = received
        .iter()
        .find(|r| r.json()["type"] == "passkey.used")
        .unwrap();
    assert_eq!(used.json()["data"]["credentialId"], passkey["credentialId"]);

    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("monetro_webhook_deliveries_total{result=\"delivered\"}"),
        "{metrics}"
    );
}

async fn failed_deliveries_are_retried_with_growing_delays(backend: Backend) {
    let backoff = Duration::from_millis(400);
    let subscribe = |config: &mut monetro_http::config::Config| {
        config.webhooks.endpoints[0].events = Some(vec!["account.created".into()]);
    };
    let Some((app, receiver)) =
        service_and_receiver_with(backend, backoff.as_millis() as u64, subscribe).await
    else {
        return;
    };
    receiver.answer_with(&[500, 500]);
    Client::signup(&app, "bob@example.com").await;
    let received = receiver
        .wait_for("two failures and a success", |all| all.len() >= 3)
        .await;
    assert_eq!(
        received.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 500, 200]
    );
    let id = &received[0].headers["monetro-event-id"];
    assert!(
        received
            .iter()
            .all(|r| &r.headers["monetro-event-id"] == id)
    );
    assert!(
        received.iter().all(|r| r.body == received[0].body),
        "the same body each time"
    );
    assert!(received.iter().all(|r| r.signature_is_valid(SECRET)));
    // Each wait is at least half its backoff: 400 ms, then 800 ms.
    let first_wait = received[1].at - received[0].at;
    let second_wait = received[2].at - received[1].at;
    assert!(first_wait >= backoff / 2, "{first_wait:?}");
    assert!(second_wait >= backoff, "{second_wait:?}");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.all().len(), 3, "delivered once it succeeded");
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("monetro_webhook_deliveries_total{result=\"retry\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("monetro_webhook_outbox_backlog 0"),
        "{metrics}"
    );
}

/// The `data` of every received event of `kind`, in the order received.
fn data_of(received: &[common::receiver::Received], kind: &str) -> Vec<serde_json::Value> {
    received
        .iter()
        .map(common::receiver::Received::json)
        .filter(|body| body["type"] == kind)
        .map(|body| body["data"].clone())
        .collect()
}

async fn sessions_and_admin_actions_are_reported(backend: Backend) {
    let Some((app, receiver)) = service_and_receiver_with(backend, 300, |config| {
        config.admin.bind = Some("127.0.0.1:0".into());
        config.admin.token = Some(ADMIN_TOKEN.to_owned().into());
    })
    .await
    else {
        return;
    };
    let admin = AdminClient::new(&app);
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let user_id = ann.get("/api/auth/me").await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let passkey = ann.register().await;
    let passkey_id = passkey["id"].as_str().unwrap();
    assert_eq!(
        ann.send(Method::POST, "/api/auth/logout", None)
            .await
            .status,
        204
    );
    let login = Client::new(&app)
        .post(
            "/api/auth/login",
            json!({ "email": "ann@example.com", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(login.status, 200);
    let forced = admin
        .delete(&format!(
            "/admin/api/users/{user_id}/passkeys/{passkey_id}?force=true"
        ))
        .await;
    assert_eq!(forced.status, 204, "{}", forced.body);
    let ended = admin
        .delete(&format!("/admin/api/users/{user_id}/sessions"))
        .await;
    assert_eq!(ended.body["ended"], 1);

    let received = receiver
        .wait_for("every event", |all| {
            data_of(all, "session.revoked").len() >= 2 && data_of(all, "passkey.removed").len() == 1
        })
        .await;
    assert!(received.iter().all(|r| r.signature_is_valid(SECRET)));
    let created = data_of(&received, "session.created");
    assert_eq!(created.len(), 2, "sign-up and login");
    assert!(created.iter().all(|d| d["userId"] == user_id.as_str()));
    assert!(created.iter().all(|d| d["method"] == "password"));
    let revoked = data_of(&received, "session.revoked");
    // Deliveries run concurrently: compare regardless of order.
    let mut reasons: Vec<&str> = revoked
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    reasons.sort_unstable();
    assert_eq!(reasons, ["admin", "logout"]);
    let ids = |events: &[serde_json::Value]| {
        let mut ids: Vec<String> = events
            .iter()
            .map(|d| d["sessionId"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&revoked), ids(&created), "each session ended once");
    let removed = &data_of(&received, "passkey.removed")[0];
    assert_eq!(removed["passkeyId"], passkey_id);
    assert_eq!(removed["by"], "admin");
    assert_eq!(removed["forced"], true);
    assert_eq!(removed["userId"], user_id.as_str());
}

/// The service with one `https://` endpoint, a receiver with a certificate
/// of `ca`, trusting `ca` only when `trusted`.
async fn service_and_tls_receiver(
    backend: Backend,
    ca: &TestCa,
    trusted: bool,
) -> Option<(TestApp, Receiver, common::TempDir)> {
    let dir = common::TempDir(
        std::env::temp_dir().join(format!("monetro-ca-{}", uuid::Uuid::new_v4().simple())),
    );
    std::fs::create_dir_all(&dir.0).unwrap();
    let ca_file = dir.0.join("ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}/hooks",
        listener.local_addr().unwrap().port()
    );
    let receiver = Receiver::start_tls(listener, ca.acceptor.clone());
    let app = spawn_with(backend, |config| {
        config.webhooks.endpoints = vec![WebhookEndpointConfig {
            url,
            secret: SecretString::from(SECRET),
            events: Some(vec!["account.created".into()]),
        }];
        config.webhooks.poll_interval_ms = 50;
        config.webhooks.timeout_ms = 2000;
        config.webhooks.initial_backoff_ms = 200;
        config.webhooks.ca_file = trusted.then_some(ca_file);
    })
    .await?;
    Some((app, receiver, dir))
}

async fn https_endpoints_are_delivered_to_when_their_certificate_is_trusted(backend: Backend) {
    let ca = TestCa::new();
    let Some((app, receiver, _dir)) = service_and_tls_receiver(backend, &ca, true).await else {
        return;
    };
    Client::signup(&app, "tls@example.com").await;
    let received = receiver
        .wait_for("the event over TLS", |all| !all.is_empty())
        .await;
    assert_eq!(received[0].json()["type"], "account.created");
    assert_eq!(received[0].json()["data"]["email"], "tls@example.com");
    assert!(received[0].signature_is_valid(SECRET));
    wait_for_metric(&app, "monetro_webhook_outbox_backlog 0").await;
}

async fn an_untrusted_certificate_is_a_failed_attempt(backend: Backend) {
    let ca = TestCa::new();
    let Some((app, receiver, _dir)) = service_and_tls_receiver(backend, &ca, false).await else {
        return;
    };
    Client::signup(&app, "tls@example.com").await;
    wait_for_metric(&app, "monetro_webhook_deliveries_total{result=\"retry\"}").await;
    wait_for_metric(&app, "monetro_webhook_outbox_backlog 1").await;
    let metrics = metrics(&app).await;
    assert!(
        metrics.contains("monetro_webhook_deliveries_total{result=\"delivered\"} 0"),
        "never delivered: {metrics}"
    );
    assert!(receiver.all().is_empty(), "no request got through");
}

async fn metrics(app: &TestApp) -> String {
    reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits (up to 20 s) until `/metrics` contains `line`.
async fn wait_for_metric(app: &TestApp, line: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = metrics(app).await;
        if metrics.contains(line) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {line:?} in {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

on_every_backend!(
    https_endpoints_are_delivered_to_when_their_certificate_is_trusted,
    an_untrusted_certificate_is_a_failed_attempt,
    sessions_and_admin_actions_are_reported,
    passkey_events_are_delivered_signed,
    failed_deliveries_are_retried_with_growing_delays
);
