//! The new-passkey email end to end: a real registration through the API
//! on a real database, the email captured by an SMTP server started here;
//! and a registration that succeeds while the SMTP server is unreachable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Client, TestApp, spawn_with};
use monetro_adapters::PASSKEY_ADDED_SUBJECT;
use monetro_adapters::testing::SmtpSink;
use monetro_http::config::{NotifierKind, SmtpTlsMode};
use monetro_softauthn::Tweaks;
use serde_json::json;

on_every_backend!(
    a_new_passkey_is_mailed_to_its_owner,
    an_unreachable_smtp_server_does_not_fail_the_registration,
);

/// The service mailing through 127.0.0.1:`port` without TLS.
async fn service_mailing_to(backend: Backend, port: u16) -> Option<TestApp> {
    spawn_with(backend, |config| {
        config.notifier.kind = NotifierKind::Smtp;
        config.notifier.smtp.host = "127.0.0.1".into();
        config.notifier.smtp.port = port;
        config.notifier.smtp.tls = SmtpTlsMode::None;
        config.notifier.smtp.from = "Monetro <no-reply@monetro.test>".into();
        config.notifier.smtp.timeout_secs = 5;
    })
    .await
}

/// Waits (up to 20 s) until `/metrics` contains `line`.
async fn wait_for_metric(app: &TestApp, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = reqwest::get(format!("{}/metrics", app.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains(line) {
            return;
        }
        assert!(Instant::now() < deadline, "no {line:?} in {metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_new_passkey_is_mailed_to_its_owner(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = service_mailing_to(backend, sink.port).await else {
        return;
    };
    // A passkey sign-up's first passkey is not notified: the person has
    // just made the account.
    let mut bob = Client::new(&app);
    let options = bob
        .post(
            "/api/auth/passkey/signup-options",
            json!({ "email": "bob@example.com" }),
        )
        .await;
    let credential = bob
        .authenticator
        .register(&options.body["publicKey"], &app.origin)
        .unwrap();
    let signed_up = bob
        .post(
            "/api/auth/passkey/signup",
            json!({ "credential": credential }),
        )
        .await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.body);

    let mut ann = Client::signup(&app, "ann@example.com").await;
    let registered = ann
        .register_with(Some("Work laptop"), &Tweaks::default())
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);

    let mails = sink.wait_for(1).await;
    let mail = &mails[0];
    assert_eq!(mail.recipients, ["ann@example.com"]);
    assert_eq!(mail.from, "no-reply@monetro.test");
    assert_eq!(mail.header("Subject").unwrap(), PASSKEY_ADDED_SUBJECT);
    assert!(mail.header("To").unwrap().contains("ann@example.com"));
    assert!(mail.body().contains("Work laptop"), "{}", mail.data);
    assert!(mail.body().contains("Hello Ann,"), "{}", mail.data);
    wait_for_metric(&app, "monetro_notifications_total{result=\"sent\"} 1").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.mails().len(), 1, "only the added passkey is mailed");
}

async fn an_unreachable_smtp_server_does_not_fail_the_registration(backend: Backend) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let Some(app) = service_mailing_to(backend, port).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let registered = ann
        .register_with(Some("Work laptop"), &Tweaks::default())
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let list = ann.get("/api/auth/passkey/list").await;
    assert_eq!(list.body["passkeys"][0]["name"], "Work laptop");
    wait_for_metric(&app, "monetro_notifications_total{result=\"failed\"} 1").await;
}
