//! The use cases of the Monetro passkey service.
//!
//! [`App`] holds the ports (stores, token issuer, password hasher, clock)
//! and the WebAuthn relying party. Every operation of the HTTP contract is
//! one method here; the web layer only parses, calls and maps errors.
//! webauthn-rs is pure computation and lives here; I/O happens only through
//! the ports.

mod accounts;
mod ceremonies;
mod credentials;
mod decoy;
mod passkeys;
mod settings;
mod sign_in;

use monetro_domain::Error;
use monetro_ports::{
    ChallengeStore, Clock, CredentialRepository, PasswordHasher, Readiness, TokenIssuer,
    UserRepository,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

pub use accounts::{Session, Signup};
pub use credentials::{AuthenticationCredential, RegistrationCredential};
pub use monetro_ports::{CeremonyHandle, VerifiedToken};
pub use passkeys::PasskeyList;
pub use settings::Settings;

/// The concrete ports an [`App`] runs on.
pub trait Deps: Send + Sync + 'static {
    type Store: UserRepository + CredentialRepository + Readiness;
    type Ceremonies: ChallengeStore;
    type Tokens: TokenIssuer;
    type Hasher: PasswordHasher;
    type Clock: Clock;
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
        let webauthn = build_relying_party(&settings)?;
        Ok(Self {
            store,
            ceremonies,
            tokens,
            hasher,
            clock,
            webauthn,
            settings,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> Result<(), Error> {
        self.store.ping().await.map_err(Error::from)
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

fn build_relying_party(settings: &Settings) -> Result<Webauthn, InvalidSettings> {
    let invalid = InvalidSettings;
    let (first, others) = settings
        .origins
        .split_first()
        .ok_or_else(|| invalid("no allowed origin".into()))?;
    let mut builder = WebauthnBuilder::new(&settings.rp_id, first)
        .map_err(|_| {
            invalid(format!(
                "origin {first} is not {} or under it",
                settings.rp_id
            ))
        })?
        .rp_name(&settings.rp_name)
        .timeout(settings.ceremony_ttl)
        .allow_subdomains(settings.allow_subdomains);
    for origin in others {
        builder = builder.append_allowed_origin(origin);
    }
    builder.build().map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod ceremony_tests;
#[cfg(test)]
mod testing;
