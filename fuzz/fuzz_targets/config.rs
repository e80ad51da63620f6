//! Layered configuration: a `config/*.toml` file over the built-in defaults,
//! then environment variables (`MONETRO__SECTION__KEY` and the contract's
//! names), then the start-up checks. Never panics; a configuration that
//! passes the checks satisfies the rules of the README ("Origins and
//! proxies") and builds the service's relying party.
//!
//! Input: the TOML text, then optionally a line `#env` followed by
//! `NAME=value` lines.
#![no_main]

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use monetro_adapters::{DbSettings, DbStore};
use monetro_app::{App, Settings};
use monetro_fuzz::{MemoryDeps, block_on, start_time};
use monetro_http::config::Config;
use monetro_http::{RateLimits, TrustedProxies, startup};
use monetro_ports::memory::{FakeTokens, ManualClock, MemoryCeremonies, MemoryStore, PlainHasher};
use url::Url;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (toml, environment) = text.split_once("\n#env\n").unwrap_or((text, ""));
    let variables: HashMap<String, String> = environment
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let Ok(config) = Config::from_sources(toml, &variables) else {
        return;
    };
    if startup::validate(&config).is_err() {
        return;
    }
    check_origins(&config);
    check_proxies(&config);
    check_cors_origins(&config);
    RateLimits::new(&config.rate_limit);
    opens_the_database_pool(&config);
    runs_ceremonies(&config);
});

fn check_origins(config: &Config) {
    let rp_id = &config.webauthn.rp_id;
    let mut web_origins = 0;
    for origin in &config.webauthn.origins {
        let Ok(url) = Url::parse(origin) else {
            panic!("origin {origin:?} accepted but not a URL");
        };
        match url.scheme() {
            "https" | "http" => {
                web_origins += 1;
                let host = url.host_str().unwrap_or_default();
                assert!(
                    host == rp_id.as_str() || host.ends_with(&format!(".{rp_id}")),
                    "origin {origin:?} is not under the RP ID {rp_id:?}"
                );
                if url.scheme() == "http" {
                    assert!(
                        host == "localhost" || host.ends_with(".localhost"),
                        "plain http origin {origin:?} accepted"
                    );
                }
                assert!(
                    matches!(url.path(), "" | "/"),
                    "origin {origin:?} has a path"
                );
                assert!(url.query().is_none(), "origin {origin:?} has a query");
            }
            // URL schemes are case-insensitive (RFC 3986 §3.1): the
            // service reads `andrOid:` as `android:`.
            _ => assert!(
                origin
                    .to_ascii_lowercase()
                    .starts_with("android:apk-key-hash:"),
                "origin {origin:?} is neither web nor Android"
            ),
        }
    }
    assert!(web_origins > 0, "no web origin accepted");
}

fn check_proxies(config: &Config) {
    for entry in &config.server.trusted_proxies {
        assert!(
            entry.parse::<IpNet>().is_ok() || entry.parse::<IpAddr>().is_ok(),
            "trusted proxy {entry:?} accepted"
        );
    }
    assert!(TrustedProxies::parse(&config.server.trusted_proxies).is_ok());
}

fn check_cors_origins(config: &Config) {
    for origin in &config.server.cors_origins {
        let written = Url::parse(origin).map(|url| url.origin().ascii_serialization());
        assert_eq!(
            written.as_deref().ok(),
            Some(origin.as_str()),
            "CORS origin accepted"
        );
        assert!(origin.starts_with("https://") || origin.starts_with("http://"));
    }
}

/// The pool is set up from the accepted sizes and timeouts (on an
/// in-memory SQLite database instead of the configured one).
fn opens_the_database_pool(config: &Config) {
    let store = DbStore::open(&DbSettings {
        url: "sqlite://:memory:".into(),
        max_connections: config.database.max_connections,
        acquire_timeout: Duration::from_secs(config.database.acquire_timeout_secs),
    });
    if let Err(e) = store {
        panic!("accepted configuration opens no pool: {e}");
    }
}

/// The service's use cases can be built on what the checks accepted, and
/// open and purge ceremonies with its durations.
fn runs_ceremonies(config: &Config) {
    let origins = config
        .webauthn
        .origins
        .iter()
        .filter_map(|origin| Url::parse(origin).ok())
        .collect();
    let settings = Settings {
        rp_id: config.webauthn.rp_id.clone(),
        rp_name: config.webauthn.rp_name.clone(),
        origins,
        allow_subdomains: config.webauthn.allow_subdomains,
        ceremony_ttl: Duration::from_secs(config.webauthn.ceremony_ttl_secs),
        ceremony_grace: Duration::from_secs(config.webauthn.ceremony_grace_secs),
        decoy_key: Vec::new(),
        max_passkeys_per_user: config.webauthn.max_passkeys_per_user,
        hints: Vec::new(),
        webhooks: Vec::new(),
        refresh_ttl: Duration::from_secs(config.tokens.refresh_ttl_secs),
        step_up_window: Duration::from_secs(config.tokens.step_up_window_secs),
    };
    let app = App::<MemoryDeps>::new(
        MemoryStore::new(),
        MemoryCeremonies::new(),
        FakeTokens {
            lifetime_secs: config.tokens.ttl_secs,
        },
        PlainHasher,
        ManualClock::starting_at(start_time()),
        settings,
    );
    let app = match app {
        Ok(app) => app,
        Err(e) => panic!("accepted configuration builds no app: {e}"),
    };
    if let Err(e) = block_on(app.start_authentication(None, None)) {
        panic!("accepted configuration opens no ceremony: {e:?}");
    }
    if let Err(e) = block_on(app.purge_expired_ceremonies()) {
        panic!("accepted configuration purges no ceremony: {e:?}");
    }
}
