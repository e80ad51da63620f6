//! Throw-away databases for tests, and an SMTP server that captures mail
//! ([`SmtpSink`]).
//!
//! Databases: a fresh SQLite file, or a fresh
//! PostgreSQL database on the server named by `MONETRO_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432`), dropped afterwards.
//!
//! PostgreSQL tests are skipped with a message when no server answers,
//! unless `MONETRO_REQUIRE_POSTGRES=1` (set in CI), where that is a failure.
#![allow(clippy::panic, clippy::expect_used)]

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};

mod smtp;

pub use smtp::{CapturedMail, SmtpSink};

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// A database that exists for as long as this value does.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Postgres { server: String, name: String },
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let dir =
            std::env::temp_dir().join(format!("monetro-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}", dir.join("monetro.db").display());
        Self {
            url,
            cleanup: Cleanup::File(dir),
        }
    }

    /// `None` (after saying so) when PostgreSQL is not reachable and not
    /// required.
    pub fn postgres() -> Option<Self> {
        let server =
            std::env::var("MONETRO_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_SERVER.into());
        let mut admin = match PgConnection::establish(&format!("{server}/postgres")) {
            Ok(conn) => conn,
            Err(e) if std::env::var("MONETRO_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
                panic!(
                    "PostgreSQL is required (MONETRO_REQUIRE_POSTGRES=1) but {server} is unreachable: {e}"
                )
            }
            Err(e) => {
                eprintln!("SKIPPED: PostgreSQL tests need a server at {server} ({e})");
                return None;
            }
        };
        Some(Self::create_on(&mut admin, server))
    }

    /// A fresh database on the PostgreSQL server at `server` (a URL without
    /// a database name), which must answer: a server the test started.
    pub fn postgres_on(server: &str) -> Self {
        let mut admin = PgConnection::establish(&format!("{server}/postgres"))
            .unwrap_or_else(|e| panic!("PostgreSQL at {server} is unreachable: {e}"));
        Self::create_on(&mut admin, server.to_owned())
    }

    fn create_on(admin: &mut PgConnection, server: String) -> Self {
        let name = format!("monetro_test_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(admin)
            .expect("create database");
        Self {
            url: format!("{server}/{name}"),
            cleanup: Cleanup::Postgres { server, name },
        }
    }
}

impl TestDatabase {
    /// Simulates a PostgreSQL outage for this database: refuses new
    /// connections and ends the open ones (`false`), or ends the outage.
    /// Panics on SQLite, which has no server to lose.
    pub fn set_reachable(&self, reachable: bool) {
        let Cleanup::Postgres { server, name } = &self.cleanup else {
            panic!("only a PostgreSQL database can become unreachable");
        };
        let mut admin =
            PgConnection::establish(&format!("{server}/postgres")).expect("admin connection");
        diesel::sql_query(format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"
        ))
        .execute(&mut admin)
        .expect("alter database");
        if !reachable {
            diesel::sql_query(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .execute(&mut admin)
            .expect("terminate connections");
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { server, name } => {
                if let Ok(mut admin) = PgConnection::establish(&format!("{server}/postgres")) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin);
                }
            }
        }
    }
}

/// Settings for a Redis ceremony store on the server named by
/// `MONETRO_TEST_REDIS` (default `redis://127.0.0.1:6379`), with a key
/// prefix of its own so tests do not meet. `None` (after saying so) when
/// Redis does not answer and `MONETRO_REQUIRE_REDIS` is not `1`.
pub fn redis_settings() -> Option<crate::RedisSettings> {
    let url =
        std::env::var("MONETRO_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let reachable = redis::Client::open(url.as_str())
        .and_then(|client| client.get_connection_with_timeout(std::time::Duration::from_secs(2)))
        .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection));
    if let Err(e) = reachable {
        if std::env::var("MONETRO_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
            panic!("Redis is required (MONETRO_REQUIRE_REDIS=1) but {url} is unreachable: {e}");
        }
        eprintln!("SKIPPED: Redis tests need a server at {url} ({e})");
        return None;
    }
    Some(crate::RedisSettings {
        url,
        prefix: format!("monetro-test-{}:", uuid::Uuid::new_v4().simple()),
        retention: std::time::Duration::from_secs(3600),
        timeout: std::time::Duration::from_secs(2),
    })
}
