//! The use cases of the Monetro passkey service.
//!
//! [`App`] holds the ports (stores, token issuer, password hasher, clock)
//! and the WebAuthn relying party. Every operation of the HTTP contract is
//! one method here; the web layer only parses, calls and maps errors.
//! webauthn-rs is pure computation and lives here; I/O happens only through
//! the ports.

mod accounts;
mod admin;
mod audit;
mod ceremonies;
mod conditional;
mod credentials;
mod decoy;
mod hints;
mod passkey_signup;
mod passkeys;
mod sessions;
mod settings;
mod sign_in;
mod step_up;
mod webhooks;

use monetro_domain::Error;
use monetro_ports::{
    AuditLog, ChallengeStore, Clock, CredentialRepository, Notifier, Outbox, PasswordHasher,
    Readiness, SessionRepository, TokenIssuer, UserRepository,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

pub use accounts::{Me, Session, Signup};
pub use admin::{AdminUser, Removal};
pub use audit::MAX_AUDIT_PAGE;
pub use credentials::{AuthenticationCredential, RegistrationCredential};
pub use monetro_ports::{CeremonyHandle, VerifiedToken};
pub use passkey_signup::PasskeySignup;
pub use passkeys::PasskeyList;
pub use settings::Settings;
pub use step_up::Reauthentication;
pub use webhooks::{
    DispatchReport, EVENT_ID_HEADER, EVENT_TYPE_HEADER, RetryPolicy, SIGNATURE_HEADER,
    WebhookDispatcher, WebhookEndpoint, sign,
};

/// The concrete ports an [`App`] runs on.
pub trait Deps: Send + Sync + 'static {
    type Store: UserRepository
        + CredentialRepository
        + AuditLog
        + Outbox
        + Readiness
        + SessionRepository;
    type Ceremonies: ChallengeStore + Readiness;
    type Tokens: TokenIssuer;
    type Hasher: PasswordHasher;
    type Clock: Clock;
    /// "A new passkey was added"; the type's default until
    /// [`App::with_notifier`] sets another.
    type Notifier: Notifier + Default;
}

/// The service's use cases over the ports of `D`.
pub struct App<D: Deps> {
    store: D::Store,
    ceremonies: D::Ceremonies,
    tokens: D::Tokens,
    hasher: D::Hasher,
    clock: D::Clock,
    webauthn: Webauthn,
    settings: Settings,
    notifier: D::Notifier,
}

impl<D: Deps> App<D> {
    /// Fails when the relying party settings are inconsistent (an origin
    /// that is not the RP ID or under it, no origin at all).
    pub fn new(
        store: D::Store,
        ceremonies: D::Ceremonies,
        tokens: D::Tokens,
        hasher: D::Hasher,
        clock: D::Clock,
        settings: Settings,
    ) -> Result<Self, InvalidSettings> {
        if settings.max_passkeys_per_user == 0 {
            return Err(InvalidSettings(
                "the passkey limit per user must be at least 1".into(),
            ));
        }
        let webauthn = build_relying_party(&settings)?;
        Ok(Self {
            store,
            ceremonies,
            tokens,
            hasher,
            clock,
            webauthn,
            settings,
            notifier: D::Notifier::default(),
        })
    }

    /// Tells people about new passkeys through `notifier`.
    pub fn with_notifier(self, notifier: D::Notifier) -> Self {
        Self { notifier, ..self }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the store, and the ceremony store, answer.
    pub async fn ready(&self) -> Result<(), Error> {
        self.store.ping().await?;
        Ok(self.ceremonies.ping().await?)
    }

    /// The store's connection pool, for metrics.
    pub fn pool_stats(&self) -> monetro_ports::PoolStats {
        self.store.pool_stats()
    }

    /// The JSON Web Key Set that verifies this service's tokens.
    pub fn jwks(&self) -> serde_json::Value {
        self.tokens.jwks()
    }

    /// Deletes ceremonies whose finish call can no longer succeed (expired
    /// longer ago than the grace period during which an expired ceremony
    /// still answers `CHALLENGE_EXPIRED`).
    pub async fn purge_expired_ceremonies(&self) -> Result<u64, Error> {
        let cutoff = self.clock.now() - self.settings.ceremony_grace;
        Ok(self.ceremonies.purge_expired(cutoff).await?)
    }
}

/// Relying party settings that cannot work: every ceremony would fail.
#[derive(Debug, thiserror::Error)]
#[error("invalid relying party settings: {0}")]
pub struct InvalidSettings(String);

/// Checks relying party settings as [`App::new`] does, without an app: for
/// validating configuration before anything is opened.
pub fn check_settings(settings: &Settings) -> Result<(), InvalidSettings> {
    build_relying_party(settings).map(drop)
}

fn build_relying_party(settings: &Settings) -> Result<Webauthn, InvalidSettings> {
    for origin in &settings.origins {
        check_origin(&settings.rp_id, origin).map_err(InvalidSettings)?;
    }
    // webauthn-rs wants a web origin first; native app origins are appended.
    let first = settings
        .origins
        .iter()
        .find(|o| matches!(o.scheme(), "https" | "http"))
        .ok_or_else(|| InvalidSettings("at least one https:// origin is needed".into()))?;
    let mut builder = WebauthnBuilder::new(&settings.rp_id, first)
        .map_err(|e| InvalidSettings(e.to_string()))?
        .rp_name(&settings.rp_name)
        .timeout(settings.ceremony_ttl)
        .allow_subdomains(settings.allow_subdomains);
    for origin in settings.origins.iter().filter(|o| *o != first) {
        builder = builder.append_allowed_origin(origin);
    }
    builder.build().map_err(|e| InvalidSettings(e.to_string()))
}

/// An allowed origin must be one a browser (or native app) will really
/// report for this RP ID; otherwise every ceremony would fail later with a
/// less helpful error.
fn check_origin(rp_id: &str, origin: &url::Url) -> Result<(), String> {
    match origin.scheme() {
        "https" | "http" => {
            let host = origin.host_str().unwrap_or_default();
            let under_rp_id = host == rp_id || host.ends_with(&format!(".{rp_id}"));
            if !under_rp_id {
                return Err(format!("origin {origin} is not {rp_id} or under it"));
            }
            let localhost = host == "localhost" || host.ends_with(".localhost");
            if origin.scheme() == "http" && !localhost {
                return Err(format!(
                    "origin {origin} uses plain http: browsers allow WebAuthn over http only on \
                     localhost; use https (behind a proxy, configure the public https origin)"
                ));
            }
            if !matches!(origin.path(), "" | "/") || origin.query().is_some() {
                return Err(format!(
                    "origin {origin} has a path: an origin is scheme://host[:port]"
                ));
            }
            Ok(())
        }
        "android" if origin.as_str().starts_with("android:apk-key-hash:") => Ok(()),
        _ => Err(format!(
            "origin {origin} is neither a web origin nor an android:apk-key-hash: app origin"
        )),
    }
}

#[cfg(test)]
mod account_tests;
#[cfg(test)]
mod admin_tests;
#[cfg(test)]
mod ceremony_tests;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod webhook_tests;

#[cfg(test)]
mod settings_tests {
    use super::check_origin;

    fn check(rp_id: &str, origin: &str) -> Result<(), String> {
        check_origin(rp_id, &origin.parse().unwrap())
    }

    #[test]
    fn accepts_origins_on_or_under_the_rp_id() {
        assert!(check("monetro.example", "https://monetro.example").is_ok());
        assert!(check("monetro.example", "https://app.monetro.example:8443").is_ok());
        assert!(check("localhost", "http://localhost:8080").is_ok());
        assert!(
            check(
                "monetro.example",
                "android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
            )
            .is_ok()
        );
    }

    #[test]
    fn refuses_origins_that_would_fail_every_ceremony() {
        assert!(check("monetro.example", "https://evil.example").is_err());
        assert!(check("monetro.example", "https://notmonetro.example").is_err());
        assert!(
            check("monetro.example", "http://monetro.example")
                .unwrap_err()
                .contains("plain http")
        );
        assert!(check("monetro.example", "https://monetro.example/app").is_err());
        assert!(check("monetro.example", "ftp://monetro.example").is_err());
    }
}
