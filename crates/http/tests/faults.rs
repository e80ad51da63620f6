//! A database outage: clear 503 answers within the pool timeout, nothing
//! half-written, and recovery without a restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Client, spawn_with};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_answers_503_and_the_service_recovers() {
    let Some(app) = spawn_with(Backend::Postgres, |c| c.database.acquire_timeout_secs = 1).await
    else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    ann.register().await;

    app.db.set_reachable(false);
    for _ in 0..3 {
        let started = Instant::now();
        let answer = ann.get("/api/auth/me").await;
        answer.assert_error(503, "SERVICE_UNAVAILABLE");
        assert!(answer.headers.contains_key("retry-after"));
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "took {:?}",
            started.elapsed()
        );
    }
    let anon = Client::new(&app);
    assert_eq!(anon.get("/healthz").await.status, 200);
    anon.get("/readyz")
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    anon.post(
        "/api/auth/signup",
        json!({ "email": "bob@example.com", "password": "correct horse" }),
    )
    .await
    .assert_error(503, "SERVICE_UNAVAILABLE");
    anon.post("/api/auth/passkey/authenticate-options", json!({}))
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");

    app.db.set_reachable(true);
    let deadline = Instant::now() + Duration::from_secs(15);
    while anon.get("/readyz").await.status != 200 {
        assert!(Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ann.get("/api/auth/me").await.status, 200);
    assert_eq!(ann.sign_in().await.status, 200);
    // The signup refused during the outage stored nothing.
    let bob = anon
        .post(
            "/api/auth/signup",
            json!({ "email": "bob@example.com", "password": "correct horse" }),
        )
        .await;
    assert_eq!(bob.status, 201, "{}", bob.body);
}
