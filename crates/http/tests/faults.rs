//! Outages of the database and of the Redis ceremony store: clear 503
//! answers within the configured timeout, nothing half-written, and
//! recovery without a restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Answer, Backend, Client, spawn_with};
use monetro_http::config::CeremonyStoreKind;
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

/// A redis-server of the test's own on a free port (the shared one must
/// stay up for everyone else), killed when the value goes.
struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    process: Option<Child>,
}

impl PrivateRedis {
    /// `None` (after saying so) without a `redis-server` binary, unless
    /// `MONETRO_REQUIRE_REDIS=1`.
    fn start() -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                !std::env::var("MONETRO_REQUIRE_REDIS").is_ok_and(|v| v == "1"),
                "Redis is required (MONETRO_REQUIRE_REDIS=1) but there is no redis-server"
            );
            eprintln!("SKIPPED: the Redis outage test needs redis-server");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("monetro-redis-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Self {
            port,
            dir,
            process: None,
        };
        redis.launch();
        Some(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (empty: nothing is saved) and waits until it answers.
    fn launch(&mut self) {
        let process = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut connection) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut reply = [0; 7];
        connection
            .set_read_timeout(Some(Duration::from_secs(1)))
            .unwrap();
        connection.write_all(b"PING\r\n").is_ok()
            && connection.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// The server stops answering but keeps its connections open, and new
    /// ones are accepted (by the kernel) but never answered.
    fn freeze(&self) {
        self.signal("-STOP");
    }

    fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.process.as_ref().unwrap().id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// The server is gone: connections are closed and refused.
    fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A request on its way.
type Pending<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// Every ceremony call answers 503 with Retry-After within `bound` (Ann's
/// registration options, new sign-in options, the sign-in `browser` began
/// before the outage), and so does /readyz; /healthz and what needs only the
/// database still work.
async fn ceremonies_unavailable(
    ann: &Client,
    browser: &Client,
    pending: &serde_json::Value,
    bound: Duration,
) {
    let anon = Client::new(&ann.app);
    for round in 0..2 {
        let requests: [(&str, Pending<'_>); 4] = [
            (
                "registration options",
                Box::pin(ann.get("/api/auth/passkey/register-options")),
            ),
            (
                "sign-in options",
                Box::pin(anon.post("/api/auth/passkey/authenticate-options", json!({}))),
            ),
            (
                "pending sign-in",
                Box::pin(browser.post("/api/auth/passkey/authenticate", pending.clone())),
            ),
            ("readiness", Box::pin(anon.get("/readyz"))),
        ];
        for (what, request) in requests {
            let started = Instant::now();
            let answer = request.await;
            let took = started.elapsed();
            eprintln!("round {round}, {what}: {} in {took:?}", answer.status);
            answer.assert_error(503, "SERVICE_UNAVAILABLE");
            assert!(answer.headers.contains_key("retry-after"));
            assert!(took < bound, "{what} took {took:?}");
        }
    }
    assert_eq!(anon.get("/healthz").await.status, 200);
    assert_eq!(ann.get("/api/auth/me").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_answers_503_and_the_service_recovers() {
    let Some(mut redis) = PrivateRedis::start() else {
        return;
    };
    let timeout = Duration::from_secs(1);
    let app = spawn_with(Backend::Sqlite, |c| {
        c.ceremonies.store = CeremonyStoreKind::Redis;
        c.ceremonies.redis_url = redis.url();
        c.ceremonies.redis_timeout_secs = timeout.as_secs();
    })
    .await
    .unwrap();
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;
    assert_eq!(ann.sign_in().await.status, 200);
    // A sign-in begun before the outage, finished during it and after.
    let mut browser = Client::new(&app);
    browser.authenticator = ann.authenticator.clone();
    let options = browser.sign_in_options(json!({})).await;
    let pending = json!({
        "credential": browser.authenticator.authenticate(&options, &app.origin).unwrap()
    });

    // Well under what the Redis client's own reconnection and back-off
    // take (two connection attempts a second or more apart).
    let bound = timeout + Duration::from_millis(900);
    redis.freeze();
    ceremonies_unavailable(&ann, &browser, &pending, bound).await;
    redis.kill();
    ceremonies_unavailable(&ann, &browser, &pending, bound).await;
    let mut bob = Client::signup(&app, "bob@example.com").await;
    // Restarted but not answering yet: new connections hang.
    redis.launch();
    redis.freeze();
    ceremonies_unavailable(&ann, &browser, &pending, bound).await;

    redis.thaw();
    let anon = Client::new(&app);
    let back = Instant::now();
    while anon.get("/readyz").await.status != 200 {
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "the service did not recover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("ready again after {:?}", back.elapsed());
    // The ceremony died with the server's memory: nothing half-done.
    browser
        .post("/api/auth/passkey/authenticate", pending)
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");
    let signed_in = ann.sign_in().await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(
        ann.get("/api/auth/passkey/list").await.body["passkeys"][0]["id"],
        passkey["id"]
    );
    assert_eq!(bob.register().await["name"], "Passkey");
}
