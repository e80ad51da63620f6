//! The `monetro` binary as an operator runs it: configured only through the
//! environment names API.md documents, with no setup, stopped by SIGTERM.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::TempDir;
use common::servers::free_port;
use serde_json::{Value, json};

fn monetro(dir: &TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_monetro"));
    command
        .current_dir(&dir.0)
        .env_remove("DATABASE_URL")
        .env_remove("MONETRO_ENV")
        .env("RUST_LOG", "warn");
    command
}

fn temp_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!("monetro-bin-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

async fn wait_until_healthy(base: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = reqwest::get(format!("{base}/healthz")).await
            && response.status() == 200
        {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "the service exited");
        assert!(Instant::now() < deadline, "the service did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn runs_with_no_setup_on_the_contract_environment_names_and_stops_on_sigterm() {
    let dir = temp_dir();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = monetro(&dir)
        .env("MONETRO_BIND", format!("127.0.0.1:{port}"))
        .env("MONETRO_RP_ID", "localhost")
        .env(
            "MONETRO_RP_ORIGINS",
            format!("http://localhost:{port}, https://app.localhost"),
        )
        .env("MONETRO_RP_NAME", "Monetro Test")
        .env("MONETRO_TOKEN_TTL", "60")
        .env("MONETRO_CEREMONY_TTL", "30")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until_healthy(&base, &mut child).await;

    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let signup: Value = http
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({ "email": "ann@example.com", "password": "correct horse" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(signup["expiresIn"], 60);
    let options: Value = http
        .get(format!("{base}/api/auth/passkey/register-options"))
        .bearer_auth(signup["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(options["publicKey"]["rp"]["name"], "Monetro Test");
    assert_eq!(options["publicKey"]["timeout"], 30_000);
    // The embedded default store and generated keys live under ./data.
    for file in ["monetro.db", "jwt-signing-key.pem", "session-key"] {
        assert!(
            dir.0.join("data").join(file).exists(),
            "data/{file} missing"
        );
    }

    let healthcheck = monetro(&dir)
        .arg("healthcheck")
        .env("MONETRO_BIND", format!("127.0.0.1:{port}"))
        .status()
        .unwrap();
    assert!(healthcheck.success(), "the container health check failed");

    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "SIGTERM did not stop the service"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn migrate_subcommand_prepares_a_database_and_exits() {
    let dir = temp_dir();
    let status = monetro(&dir)
        .arg("migrate")
        .env("DATABASE_URL", "sqlite://store/m.db")
        .status()
        .unwrap();
    assert!(status.success());
    assert!(dir.0.join("store/m.db").exists());
}

#[test]
fn an_origin_outside_the_rp_id_is_refused_at_start() {
    let dir = temp_dir();
    let output = monetro(&dir)
        .env("MONETRO_BIND", format!("127.0.0.1:{}", free_port()))
        .env("MONETRO_RP_ID", "monetro.example")
        .env("MONETRO_RP_ORIGINS", "https://evil.example")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("https://evil.example"), "{stderr}");
}

#[test]
fn generate_key_prints_a_pkcs8_key() {
    let dir = temp_dir();
    let output = monetro(&dir).arg("generate-key").output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_json_logs_are_json() {
    let dir = temp_dir();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = monetro(&dir)
        .env("MONETRO_BIND", format!("127.0.0.1:{port}"))
        .env("MONETRO_RP_ORIGINS", format!("http://localhost:{port}"))
        .env("MONETRO__LOG__FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_healthy(&base, &mut child).await;

    // Password hashing makes sign-ups slow enough to be in flight when the
    // signal arrives.
    const SIGNUPS: usize = 8;
    let completed = Arc::new(AtomicUsize::new(0));
    let signups: Vec<_> = (0..SIGNUPS)
        .map(|n| {
            let url = format!("{base}/api/auth/signup");
            let completed = Arc::clone(&completed);
            tokio::spawn(async move {
                let body =
                    json!({ "email": format!("u{n}@example.com"), "password": "correct horse" });
                reqwest::Client::new()
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .inspect(|_| {
                        completed.fetch_add(1, Ordering::SeqCst);
                    })
            })
        })
        .collect();
    // The signal goes once every sign-up has reached the server (in flight
    // beside this metrics request, or answered): a request still in the
    // listen backlog would be refused by a stopping server, which is right
    // but not this test. `done` is read first, so nothing counts twice.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let done = completed.load(Ordering::SeqCst);
        let metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let in_flight: usize = metrics
            .lines()
            .find_map(|line| line.strip_prefix("monetro_http_requests_in_flight "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        if in_flight.saturating_sub(1) + done >= SIGNUPS {
            assert!(done < SIGNUPS, "every sign-up finished before the signal");
            break;
        }
        assert!(Instant::now() < deadline, "sign-ups never all in flight");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    for signup in signups {
        assert_eq!(
            signup.await.unwrap().unwrap(),
            201,
            "an in-flight request was cut off"
        );
    }
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            entry["level"].is_string() && entry["timestamp"].is_string(),
            "{entry}"
        );
    }
    assert!(
        stdout.contains("\"request_id\""),
        "request spans carry an id"
    );
}

/// Events pending when the service stops (the receiver was down) are
/// delivered by the next instance on the same database: none is lost.
async fn no_event_is_lost_across_a_restart(db: monetro_adapters::testing::TestDatabase) {
    let dir = temp_dir();
    let receiver_port = free_port();
    std::fs::create_dir_all(dir.0.join("config")).unwrap();
    std::fs::write(
        dir.0.join("config/default.toml"),
        format!(
            "[webhooks]\npoll_interval_ms = 50\ninitial_backoff_ms = 200\nmax_backoff_secs = 1\n\
             timeout_ms = 1000\n\n[[webhooks.endpoints]]\n\
             url = \"http://127.0.0.1:{receiver_port}/hooks\"\nsecret = \"restart test secret 0123\"\n\
             events = [\"account.created\", \"password.login\"]\n"
        ),
    )
    .unwrap();
    let start = || {
        let port = free_port();
        let child = monetro(&dir)
            .env("MONETRO_BIND", format!("127.0.0.1:{port}"))
            .env("MONETRO_RP_ORIGINS", format!("http://localhost:{port}"))
            .env("DATABASE_URL", &db.url)
            .env("MONETRO__RATE_LIMIT__ENABLED", "false")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        (format!("http://127.0.0.1:{port}"), child)
    };

    let (base, mut first) = start();
    wait_until_healthy(&base, &mut first).await;
    let http = reqwest::Client::new();
    let mut emails = Vec::new();
    for i in 0..3 {
        let email = format!("restart{i}@example.com");
        let signed_up = http
            .post(format!("{base}/api/auth/signup"))
            .json(&json!({ "email": email, "password": "correct horse battery" }))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_up.status(), 201);
        let login = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({ "email": email, "password": "correct horse battery" }))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        emails.push(email);
    }
    // Let the dispatcher fail against the absent receiver at least once.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("monetro_webhook_outbox_backlog 6")
            && metrics.contains("monetro_webhook_deliveries_total{result=\"retry\"}")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failed attempt seen: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();

    let receiver =
        common::receiver::Receiver::start(TcpListener::bind(("127.0.0.1", receiver_port)).unwrap());
    let (base, mut second) = start();
    wait_until_healthy(&base, &mut second).await;
    let received = receiver
        .wait_for("six distinct events", |all| {
            let mut ids: Vec<_> = all
                .iter()
                .map(|r| r.headers["monetro-event-id"].clone())
                .collect();
            ids.sort();
            ids.dedup();
            ids.len() >= 6
        })
        .await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert!(
        received
            .iter()
            .all(|r| r.signature_is_valid("restart test secret 0123"))
    );
    let mut kinds: Vec<String> = received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, ["account.created", "password.login"]);
    for email in &emails {
        assert!(
            received
                .iter()
                .any(|r| r.json()["data"]["email"] == email.as_str()),
            "account.created of {email} lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_lost_across_a_restart_on_sqlite() {
    no_event_is_lost_across_a_restart(monetro_adapters::testing::TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_lost_across_a_restart_on_postgres() {
    let Some(db) = monetro_adapters::testing::TestDatabase::postgres() else {
        return;
    };
    no_event_is_lost_across_a_restart(db).await;
}

#[test]
fn an_admin_address_without_a_token_is_refused_at_start() {
    let dir = temp_dir();
    let output = monetro(&dir)
        .env("MONETRO_BIND", format!("127.0.0.1:{}", free_port()))
        .env("MONETRO__ADMIN__BIND", format!("127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("admin.token"), "{stderr}");
    assert!(
        !dir.0.join("data").exists(),
        "refused before creating anything"
    );
}

#[tokio::test]
async fn the_admin_api_is_configured_by_environment_logged_and_stopped_with_the_service() {
    let dir = temp_dir();
    let (port, admin_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");
    let admin = format!("http://127.0.0.1:{admin_port}");
    let token = "an-admin-token-of-more-than-32-characters";
    let mut child = monetro(&dir)
        .env("MONETRO_BIND", format!("127.0.0.1:{port}"))
        .env("MONETRO_RP_ORIGINS", format!("http://localhost:{port}"))
        .env("MONETRO__ADMIN__BIND", format!("127.0.0.1:{admin_port}"))
        .env("MONETRO__ADMIN__TOKEN", token)
        .env("MONETRO__LOG__FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_healthy(&base, &mut child).await;

    let http = reqwest::Client::new();
    let signup = http
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({ "email": "ann@example.com", "password": "correct horse" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 201);
    let find = format!("{admin}/admin/api/users?email=ann@example.com");
    let found = http.get(&find).bearer_auth(token).send().await.unwrap();
    assert_eq!(found.status(), 200);
    let refused = http.get(&find).bearer_auth("guess").send().await.unwrap();
    assert_eq!(refused.status(), 401);

    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    assert!(
        http.get(&find).bearer_auth(token).send().await.is_err(),
        "the admin listener stopped with the service"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let logged = |message: &str| {
        stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|entry| entry["message"] == message)
            .unwrap_or_else(|| panic!("{message:?} not logged:\n{stdout}"))
    };
    for entry in [
        logged("admin: user found by email"),
        logged("admin request refused: admin token missing or wrong"),
    ] {
        assert!(
            !entry["request_id"].as_str().unwrap_or_default().is_empty(),
            "{entry}"
        );
    }
    assert!(!stdout.contains(token), "the token is never logged");
}
