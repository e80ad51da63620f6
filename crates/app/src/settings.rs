use std::time::Duration;

use monetro_domain::PasskeyHint;
use url::Url;

use crate::WebhookEndpoint;

/// What the use cases need from configuration.
#[derive(Clone)]
pub struct Settings {
    /// The WebAuthn relying party id (a registrable domain, or `localhost`).
    pub rp_id: String,
    /// Shown by authenticators when creating a passkey.
    pub rp_name: String,
    /// Origins allowed in `clientDataJSON`; the RP ID must be each one's
    /// host or a parent of it.
    pub origins: Vec<Url>,
    /// Whether origins on subdomains of the allowed ones are accepted too.
    pub allow_subdomains: bool,
    /// How long a challenge stays good for its finish call.
    pub ceremony_ttl: Duration,
    /// How long after expiry a ceremony is kept, so its finish call answers
    /// `CHALLENGE_EXPIRED` rather than `CHALLENGE_NOT_FOUND`.
    pub ceremony_grace: Duration,
    /// Server secret from which decoy `allowCredentials` for unknown emails
    /// are derived (stable per email, unguessable without it).
    pub decoy_key: Vec<u8>,
    /// The most passkeys one account may hold (at least 1).
    pub max_passkeys_per_user: u32,
    /// WebAuthn `hints` put into every options call that does not ask for
    /// its own; empty for none.
    pub hints: Vec<PasskeyHint>,
    /// Receivers of events (webhooks); empty for none.
    pub webhooks: Vec<WebhookEndpoint>,
    /// How long a refresh token works; each refresh starts it again.
    pub refresh_ttl: Duration,
    /// How recent the last authentication must be for sensitive changes
    /// (passkeys, password).
    pub step_up_window: Duration,
}
