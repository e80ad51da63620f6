//! The adapters of the Monetro passkey service: the Diesel store
//! (PostgreSQL, SQLite), the Redis ceremony store, the JWT issuer, the
//! Argon2id password hasher, the system clock, webhook delivery and the
//! notifiers (log, SMTP). Nothing here knows about actix-web.

mod ceremonies;
mod clock;
mod db;
mod hasher;
mod notifier;
mod redis_ceremonies;
mod tokens;
mod webhooks;

pub use ceremonies::CeremonyStore;
pub use clock::SystemClock;
pub use db::{DbSettings, DbStore};
pub use hasher::Argon2Hasher;
pub use notifier::{LogNotifier, PASSKEY_ADDED_SUBJECT, SmtpNotifier, SmtpSettings, SmtpTls};
pub use redis_ceremonies::{RedisCeremonies, RedisSettings};
pub use tokens::{JwtIssuer, TokenSettings, generate_signing_key_pem};
pub use webhooks::HttpWebhooks;

#[cfg(feature = "testing")]
pub mod testing;
