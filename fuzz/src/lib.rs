//! What the fuzz targets share: the service's use cases over the in-memory
//! ports (the same fakes the unit tests use), a runtime to drive them, and
//! the error codes of the HTTP contract.

use std::future::Future;
use std::time::Duration;

use actix_web::rt::System;
use chrono::{DateTime, TimeZone as _, Utc};
use monetro_app::{App, Deps, Settings};
use monetro_ports::memory::{
    FakeTokens, ManualClock, MemoryCeremonies, MemoryStore, PlainHasher, RecordingNotifier,
};
use serde_json::Value;

/// The relying party the fuzzed service is configured for.
pub const RP_ID: &str = "localhost";
/// Its one allowed origin.
pub const ORIGIN: &str = "http://localhost:8080";

/// The in-memory ports.
pub struct MemoryDeps;

impl Deps for MemoryDeps {
    type Store = MemoryStore;
    type Ceremonies = MemoryCeremonies;
    type Tokens = FakeTokens;
    type Hasher = PlainHasher;
    type Clock = ManualClock;
    type Notifier = RecordingNotifier;
}

/// A fresh service over empty in-memory stores.
pub struct Memory {
    pub app: App<MemoryDeps>,
    pub store: MemoryStore,
    pub ceremonies: MemoryCeremonies,
    pub clock: ManualClock,
}

/// When the fuzzed service's clock stands.
pub fn start_time() -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_000_000, 0)
        .single()
        .unwrap_or_default()
}

impl Memory {
    /// Panics if the fixed settings stop being valid: then every target
    /// would be fuzzing nothing.
    pub fn new() -> Self {
        let store = MemoryStore::new();
        let ceremonies = MemoryCeremonies::new();
        let clock = ManualClock::starting_at(start_time());
        let origin = match ORIGIN.parse() {
            Ok(origin) => origin,
            Err(e) => panic!("{ORIGIN}: {e}"),
        };
        let settings = Settings {
            rp_id: RP_ID.into(),
            rp_name: "Monetro".into(),
            origins: vec![origin],
            allow_subdomains: false,
            ceremony_ttl: Duration::from_secs(300),
            ceremony_grace: Duration::from_secs(3600),
            decoy_key: b"fuzzing decoy key".to_vec(),
            max_passkeys_per_user: 20,
            hints: Vec::new(),
            webhooks: Vec::new(),
            refresh_ttl: Duration::from_secs(30 * 86_400),
            step_up_window: Duration::from_secs(600),
        };
        let app = App::new(
            store.clone(),
            ceremonies.clone(),
            FakeTokens { lifetime_secs: 900 },
            PlainHasher,
            clock.clone(),
            settings,
        );
        match app {
            Ok(app) => Self {
                app,
                store,
                ceremonies,
                clock,
            },
            Err(e) => panic!("fuzzing settings refused: {e}"),
        }
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    static SYSTEM: actix_web::rt::SystemRunner = System::new();
}

/// Runs `future` to completion on this thread's actix system (a Tokio
/// current-thread runtime with a blocking pool, as the service runs on).
pub fn block_on<F: Future>(future: F) -> F::Output {
    SYSTEM.with(|system| system.block_on(future))
}

/// The HTTP status API.md gives each error code; `None` for a code the
/// contract does not have.
pub fn status_of_code(code: &str) -> Option<u16> {
    Some(match code {
        "VALIDATION_FAILED"
        | "CHALLENGE_NOT_FOUND"
        | "CHALLENGE_EXPIRED"
        | "REGISTRATION_FAILED" => 400,
        "AUTHENTICATION_FAILED" | "UNAUTHORIZED" | "TOKEN_EXPIRED" | "INVALID_CREDENTIALS" => 401,
        "PASSKEY_NOT_FOUND" | "NOT_FOUND" => 404,
        "METHOD_NOT_ALLOWED" => 405,
        "EMAIL_TAKEN" | "PASSKEY_ALREADY_REGISTERED" => 409,
        "PAYLOAD_TOO_LARGE" => 413,
        "RATE_LIMITED" => 429,
        "INTERNAL" => 500,
        "SERVICE_UNAVAILABLE" => 503,
        _ => return None,
    })
}

/// The member of a JSON value at `path` (object keys), or null.
pub fn member<'v>(value: &'v Value, path: &[&str]) -> &'v Value {
    path.iter()
        .try_fold(value, |value, name| value.get(name))
        .unwrap_or(&Value::Null)
}

/// A request body as the service reads it: `None` when it is not JSON or
/// names a member twice in one object, at any depth (the service refuses
/// both, docs/ABUSE.md; `Value` alone would keep the last one).
pub fn strict_json(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice::<UniqueMembers>(bytes).ok()?;
    serde_json::from_slice(bytes).ok()
}

/// Any JSON document whose objects name each member once.
struct UniqueMembers;

impl<'de> serde::Deserialize<'de> for UniqueMembers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueMembersVisitor)
    }
}

struct UniqueMembersVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueMembersVisitor {
    type Value = UniqueMembers;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_i64<E>(self, _: i64) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_u64<E>(self, _: u64) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_f64<E>(self, _: f64) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_str<E>(self, _: &str) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_unit<E>(self) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut items: A,
    ) -> Result<UniqueMembers, A::Error> {
        while items.next_element::<UniqueMembers>()?.is_some() {}
        Ok(UniqueMembers)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut members: A,
    ) -> Result<UniqueMembers, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(name) = members.next_key::<String>()? {
            if !seen.insert(name) {
                return Err(serde::de::Error::custom("a member named twice"));
            }
            members.next_value::<UniqueMembers>()?;
        }
        Ok(UniqueMembers)
    }
}
