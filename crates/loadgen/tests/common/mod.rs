//! The real service, in-process, on a random loopback port and a fresh
//! SQLite database (the pattern of `crates/http/tests/common`).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use monetro_adapters::testing::TestDatabase;
use monetro_http::config::Config;
use monetro_http::startup::Application;
use monetro_loadgen::Options;

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "monetro-loadgen-{what}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running service.
pub struct Server {
    /// Where requests go (`http://127.0.0.1:PORT`).
    pub base: String,
    /// The WebAuthn origin it accepts (`http://localhost:PORT`).
    pub origin: String,
    pub port: u16,
    _db: TestDatabase,
    _keys: TempDir,
}

impl Server {
    /// Load-generator options for this server: quiet, small and short.
    pub fn options(&self, users: usize, concurrency: usize, duration: Duration) -> Options {
        let mut options = Options::for_target(&self.base, &self.origin, "localhost").unwrap();
        options.users = users;
        options.concurrency = concurrency;
        options.setup_concurrency = 4;
        options.duration = duration;
        options.quiet = true;
        options
    }
}

/// The service on a fresh SQLite database, rate limits off (as for a
/// benchmark).
pub async fn spawn() -> Server {
    let db = TestDatabase::sqlite();
    let keys = TempDir::new("keys");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://localhost:{port}");
    let mut config = Config::defaults().unwrap();
    config.database.url = db.url.clone();
    config.database.max_connections = 4;
    config.secrets.data_dir = keys.0.clone();
    config.webauthn.origins = vec![origin.clone()];
    config.server.workers = 1;
    config.argon2.max_parallel = 2;
    config.rate_limit.enabled = false;
    // Register operations add passkeys to a few users for the whole run;
    // the default limit of 20 would answer 409 PASSKEY_LIMIT_REACHED.
    config.webauthn.max_passkeys_per_user = 10_000;
    let app = Application::build_with_listener(config, listener)
        .await
        .unwrap();
    tokio::spawn(app.run_until_stopped());
    Server {
        base: format!("http://127.0.0.1:{port}"),
        origin,
        port,
        _db: db,
        _keys: keys,
    }
}

/// Runs the `loadgen` binary with `args` (without blocking the runtime
/// that serves the service).
pub async fn loadgen(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}
