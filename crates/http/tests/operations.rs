//! What an operator relies on: security headers, CORS, related origins,
//! rate limits and client addresses behind trusted proxies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Backend, Client, spawn_with};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = spawn_with(Backend::Sqlite, |_| {}).await.unwrap();
    let anon = Client::new(&app);
    for answer in [anon.get("/healthz").await, anon.get("/no/such/route").await] {
        assert_eq!(answer.headers["x-content-type-options"], "nosniff");
        assert_eq!(answer.headers["referrer-policy"], "no-referrer");
        assert_eq!(answer.headers["x-frame-options"], "DENY");
        assert!(answer.headers.contains_key("content-security-policy"));
        assert!(
            !answer.headers.contains_key("strict-transport-security"),
            "no HSTS on http://localhost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_deployments_get_hsts_and_secure_cookies() {
    let app = spawn_with(Backend::Sqlite, |c| {
        let port = c.webauthn.origins[0].rsplit(':').next().unwrap().to_owned();
        c.webauthn.origins = vec![format!("https://localhost:{port}")];
    })
    .await
    .unwrap();
    let anon = Client::new(&app);
    let answer = anon
        .post("/api/auth/passkey/authenticate-options", json!({}))
        .await;
    assert!(
        answer.headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    let cookie = answer.headers["set-cookie"].to_str().unwrap();
    for flag in ["Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(flag), "{flag} missing in {cookie}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_only_for_configured_client_origins() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.server.cors_origins = vec!["https://app.example".into()]
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/api/auth/passkey/authenticate-options", app.base);
    let preflight = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-credentials"],
        "true"
    );

    let allowed = http
        .post(&url)
        .header("origin", "https://app.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = http
        .post(&url)
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn related_origins_are_served_from_configuration() {
    let related = vec![
        "https://monetro.example".to_owned(),
        "https://monetro.co.uk".to_owned(),
    ];
    let app = spawn_with(Backend::Sqlite, |c| {
        c.webauthn.related_origins = related.clone()
    })
    .await
    .unwrap();
    let answer = Client::new(&app).get("/.well-known/webauthn").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({ "origins": related }));
}

fn limited(
    per_ip_burst: u32,
    per_account_burst: u32,
) -> impl FnOnce(&mut monetro_http::config::Config) {
    move |c| {
        c.rate_limit.enabled = true;
        c.rate_limit.per_ip_per_minute = 1;
        c.rate_limit.per_ip_burst = per_ip_burst;
        c.rate_limit.per_account_per_minute = 1;
        c.rate_limit.per_account_burst = per_account_burst;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_limited_per_account() {
    let app = spawn_with(Backend::Sqlite, limited(100, 3)).await.unwrap();
    Client::signup(&app, "ann@example.com").await;
    let anon = Client::new(&app);
    let attempt = |email: &'static str| {
        anon.post(
            "/api/auth/login",
            json!({ "email": email, "password": "guess guess" }),
        )
    };
    for _ in 0..3 {
        attempt("ann@example.com")
            .await
            .assert_error(401, "INVALID_CREDENTIALS");
    }
    let limited = attempt("ANN@example.com").await;
    limited.assert_error(429, "RATE_LIMITED");
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    attempt("bob@example.com")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    anon.post(
        "/api/auth/passkey/authenticate-options",
        json!({ "email": "ann@example.com" }),
    )
    .await
    .assert_error(429, "RATE_LIMITED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_count_only_behind_trusted_proxies() {
    let from = |app: &common::TestApp, client: &'static str| {
        let url = format!("{}/api/auth/passkey/authenticate-options", app.base);
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .header("x-forwarded-for", client)
                .json(&json!({}))
                .send();
            common::answer(response.await.unwrap()).await
        }
    };

    // Behind a trusted proxy, each forwarded client has its own bucket.
    let proxied = spawn_with(Backend::Sqlite, |c| {
        limited(2, 100)(c);
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await
    .unwrap();
    for _ in 0..2 {
        assert_eq!(from(&proxied, "203.0.113.1").await.status, 200);
    }
    from(&proxied, "203.0.113.1")
        .await
        .assert_error(429, "RATE_LIMITED");
    assert_eq!(from(&proxied, "203.0.113.2").await.status, 200);

    // Without trusted proxies the header is ignored: spoofing buys nothing.
    let direct = spawn_with(Backend::Sqlite, limited(2, 100)).await.unwrap();
    assert_eq!(from(&direct, "198.51.100.1").await.status, 200);
    assert_eq!(from(&direct, "198.51.100.2").await.status, 200);
    from(&direct, "198.51.100.3")
        .await
        .assert_error(429, "RATE_LIMITED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_ceremonies_and_the_pool() {
    let app = spawn_with(Backend::Sqlite, |_| {}).await.unwrap();
    let mut ann = Client::signup(&app, "ann@example.com").await;
    ann.register().await;
    assert_eq!(ann.sign_in().await.status, 200);
    ann.post(
        "/api/auth/passkey/authenticate",
        json!({ "credential": {} }),
    )
    .await;
    ann.get("/wp-admin/install.php").await;

    let response = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for expected in [
        r#"monetro_ceremonies_total{ceremony="registration",code="",result="success"} 1"#,
        r#"monetro_ceremonies_total{ceremony="authentication",code="",result="success"} 1"#,
        r#"monetro_http_requests_total{method="POST",route="/api/auth/passkey/authenticate",status="200"} 1"#,
        r#"monetro_http_requests_total{method="POST",route="/api/auth/passkey/authenticate",status="400"} 1"#,
        r#"monetro_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"monetro_db_pool_connections{state="max"} 4"#,
        r#"monetro_http_request_duration_seconds_count{method="POST",route="/api/auth/signup"} 1"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
}
