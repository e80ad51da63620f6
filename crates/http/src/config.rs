//! Layered configuration: the built-in `config/default.toml`, then
//! `config/default.toml` and `config/<MONETRO_ENV>.toml` from the working
//! directory, then `MONETRO__SECTION__KEY` variables, then the names the
//! HTTP contract documents (`MONETRO_BIND`, `DATABASE_URL`, …).

use std::collections::HashMap;
use std::path::PathBuf;

use config::builder::{ConfigBuilder, DefaultState};
use config::{Environment, File, FileFormat};
use secrecy::SecretString;
use serde::Deserialize;

const BUILT_IN_DEFAULTS: &str = include_str!("../../../config/default.toml");

/// `(environment variable, configuration key)` of the contract's names.
const CONTRACT_VARIABLES: [(&str, &str); 6] = [
    ("MONETRO_BIND", "server.bind"),
    ("DATABASE_URL", "database.url"),
    ("MONETRO_RP_ID", "webauthn.rp_id"),
    ("MONETRO_RP_NAME", "webauthn.rp_name"),
    ("MONETRO_TOKEN_TTL", "tokens.ttl_secs"),
    ("MONETRO_CEREMONY_TTL", "webauthn.ceremony_ttl_secs"),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub ceremonies: CeremoniesConfig,
    pub webauthn: WebauthnConfig,
    pub tokens: TokensConfig,
    pub secrets: SecretsConfig,
    pub argon2: Argon2Config,
    pub rate_limit: RateLimitConfig,
    pub log: LogConfig,
    pub webhooks: WebhooksConfig,
    pub notifier: NotifierConfig,
    /// The admin API; off unless `admin.bind` is set.
    #[serde(default)]
    pub admin: AdminConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    pub workers: usize,
    pub body_limit_bytes: usize,
    pub shutdown_timeout_secs: u64,
    /// Seconds a new connection has to send its first request's head.
    pub client_request_timeout_secs: u64,
    /// Seconds a request's body has to arrive in full once its head is in.
    pub client_body_timeout_secs: u64,
    /// Seconds an idle connection is kept for the next request (0: none).
    pub keep_alive_secs: u64,
    /// Seconds a closing connection gets to shut down cleanly.
    pub client_disconnect_timeout_secs: u64,
    /// Origins of browser apps allowed to call the API cross-origin.
    pub cors_origins: Vec<String>,
    /// Proxies (addresses or CIDRs) whose forwarding headers are believed.
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremoniesConfig {
    pub store: CeremonyStoreKind,
    pub redis_url: String,
    pub redis_prefix: String,
    pub redis_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CeremonyStoreKind {
    Database,
    Redis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebauthnConfig {
    pub rp_id: String,
    pub rp_name: String,
    pub origins: Vec<String>,
    pub allow_subdomains: bool,
    /// Served at `/.well-known/webauthn` (WebAuthn Related Origin Requests).
    pub related_origins: Vec<String>,
    pub ceremony_ttl_secs: u64,
    pub ceremony_grace_secs: u64,
    /// The most passkeys one account may hold.
    pub max_passkeys_per_user: u32,
    /// WebAuthn `hints` of options calls that send none: `security-key`,
    /// `client-device`, `hybrid`.
    pub hints: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensConfig {
    pub issuer: String,
    pub audience: String,
    pub ttl_secs: u64,
    /// How long a refresh token works (each refresh starts it again).
    pub refresh_ttl_secs: u64,
    /// How recent the last authentication must be for sensitive changes.
    pub step_up_window_secs: u64,
    pub signing_key: Option<SecretString>,
    pub signing_key_file: Option<PathBuf>,
    pub retired_key_files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    pub data_dir: PathBuf,
    pub session_key: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Config {
    pub max_parallel: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Off for benchmarks and load tests.
    pub enabled: bool,
    pub per_ip_per_minute: u32,
    pub per_ip_burst: u32,
    pub per_account_per_minute: u32,
    pub per_account_burst: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Events for other systems.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    pub endpoints: Vec<WebhookEndpointConfig>,
    /// A POST that has not answered after this long has failed.
    pub timeout_ms: u64,
    /// Attempts before a delivery is given up (dead).
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub initial_backoff_ms: u64,
    pub max_backoff_secs: u64,
    /// How often the dispatcher looks for due deliveries when idle.
    pub poll_interval_ms: u64,
    /// Deliveries sent at once.
    pub batch_size: u32,
    /// Delivered rows are deleted after this long.
    pub retain_delivered_secs: u64,
    /// PEM file of CAs trusted for `https://` endpoints besides the
    /// built-in (Mozilla) roots, e.g. an internal CA.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointConfig {
    pub url: String,
    /// HMAC-SHA256 key of the signatures.
    pub secret: SecretString,
    /// Event types sent to it; absent for all.
    pub events: Option<Vec<String>>,
}

/// How people hear of a new passkey on their account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifierConfig {
    pub kind: NotifierKind,
    pub smtp: SmtpConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifierKind {
    /// An info line in the service log.
    Log,
    /// An email to the account's address.
    Smtp,
}

/// The SMTP server of `notifier.kind = "smtp"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// 0: the usual port of the TLS mode.
    pub port: u16,
    pub tls: SmtpTlsMode,
    /// The `From` mailbox.
    pub from: String,
    pub username: Option<String>,
    /// Best given as `MONETRO__NOTIFIER__SMTP__PASSWORD`.
    pub password: Option<SecretString>,
    /// Seconds to connect and for each SMTP command.
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTlsMode {
    /// STARTTLS, required.
    Starttls,
    /// Implicit TLS.
    Tls,
    /// Plain text: only to a relay on a loopback address.
    None,
}

/// The admin API's own listener and the token it requires.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Where the admin API listens; unset or blank: no admin API.
    pub bind: Option<String>,
    /// `Authorization: Bearer <token>` of every admin request; required
    /// (at least [`AdminConfig::MIN_TOKEN_LEN`] characters) when `bind` is set.
    pub token: Option<SecretString>,
}

impl AdminConfig {
    /// The shortest admin token accepted.
    pub const MIN_TOKEN_LEN: usize = 32;

    /// The address to listen on, when the admin API is on.
    pub fn listen_address(&self) -> Option<&str> {
        self.bind
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
    }
}

impl Config {
    /// The configuration of this process: files and environment.
    pub fn load() -> Result<Self, config::ConfigError> {
        let environment = std::env::var("MONETRO_ENV").ok();
        let mut builder = config::Config::builder()
            .add_source(File::from_str(BUILT_IN_DEFAULTS, FileFormat::Toml))
            .add_source(File::with_name("config/default").required(false));
        if let Some(environment) = &environment {
            builder = builder
                .add_source(File::with_name(&format!("config/{environment}")).required(true));
        }
        with_environment(builder, None, |variable| std::env::var(variable).ok())
    }

    /// The built-in defaults, overridden by `toml` (the text of a
    /// `config/*.toml` file) and then by the environment variables in
    /// `variables`, as [`Config::load`] layers them; no file is read.
    pub fn from_sources(
        toml: &str,
        variables: &HashMap<String, String>,
    ) -> Result<Self, config::ConfigError> {
        let builder = config::Config::builder()
            .add_source(File::from_str(BUILT_IN_DEFAULTS, FileFormat::Toml))
            .add_source(File::from_str(toml, FileFormat::Toml));
        let map = variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        with_environment(builder, Some(map), |variable| {
            variables.get(variable).cloned()
        })
    }

    /// The built-in defaults alone, ignoring files and environment (tests).
    pub fn defaults() -> Result<Self, config::ConfigError> {
        config::Config::builder()
            .add_source(File::from_str(BUILT_IN_DEFAULTS, FileFormat::Toml))
            .build()?
            .try_deserialize()
    }
}

/// Adds the environment layers to `builder` and builds: `MONETRO__SECTION__KEY`
/// variables (from `variables`, or the process when `None`), then the
/// contract's names, looked up with `contract`.
fn with_environment(
    builder: ConfigBuilder<DefaultState>,
    variables: Option<config::Map<String, String>>,
    contract: impl Fn(&str) -> Option<String>,
) -> Result<Config, config::ConfigError> {
    let mut builder = builder.add_source(
        Environment::with_prefix("MONETRO")
            .prefix_separator("__")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("webauthn.origins")
            .with_list_parse_key("webauthn.related_origins")
            .with_list_parse_key("webauthn.hints")
            .with_list_parse_key("server.cors_origins")
            .with_list_parse_key("server.trusted_proxies")
            .with_list_parse_key("tokens.retired_key_files")
            .try_parsing(true)
            .source(variables),
    );
    for (variable, key) in CONTRACT_VARIABLES {
        builder = builder.set_override_option(key, contract(variable))?;
    }
    let origins = contract("MONETRO_RP_ORIGINS").map(|list| {
        list.split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    builder = builder.set_override_option("webauthn.origins", origins)?;
    builder.build()?.try_deserialize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_defaults_match_the_contract() {
        let config = Config::defaults().unwrap();
        assert_eq!(config.server.bind, "127.0.0.1:8080");
        assert_eq!(config.database.url, "sqlite://data/monetro.db");
        assert_eq!(config.webauthn.rp_id, "localhost");
        assert_eq!(
            config.webauthn.origins,
            vec!["http://localhost:8080".to_owned()]
        );
        assert_eq!(config.webauthn.rp_name, "Monetro");
        assert_eq!(config.tokens.ttl_secs, 900);
        assert_eq!(config.webauthn.ceremony_ttl_secs, 300);
        assert_eq!(config.server.body_limit_bytes, 64 * 1024);
        assert_eq!(config.server.client_request_timeout_secs, 5);
        assert_eq!(config.server.client_body_timeout_secs, 10);
        assert_eq!(config.server.keep_alive_secs, 5);
        assert_eq!(config.server.client_disconnect_timeout_secs, 1);
        assert_eq!(config.webauthn.max_passkeys_per_user, 20);
        assert!(config.webauthn.hints.is_empty());
        assert_eq!(config.tokens.refresh_ttl_secs, 30 * 86_400);
        assert_eq!(config.tokens.step_up_window_secs, 600);
        assert_eq!(config.admin.listen_address(), None, "the admin API is off");
        assert_eq!(config.notifier.kind, NotifierKind::Log);
        assert_eq!(config.notifier.smtp.tls, SmtpTlsMode::Starttls);
        assert!(config.webhooks.ca_file.is_none());
        assert!(config.admin.token.is_none());
    }

    #[test]
    fn the_smtp_password_comes_from_the_environment() {
        let variables = HashMap::from([
            ("MONETRO__NOTIFIER__KIND".to_owned(), "smtp".to_owned()),
            (
                "MONETRO__NOTIFIER__SMTP__PASSWORD".to_owned(),
                "from the environment".to_owned(),
            ),
        ]);
        let config = Config::from_sources("", &variables).unwrap();
        assert_eq!(config.notifier.kind, NotifierKind::Smtp);
        let password = config.notifier.smtp.password.unwrap();
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&password),
            "from the environment"
        );
    }

    #[test]
    fn a_misspelt_key_is_an_error() {
        let result = Config::from_sources("[server]\nbnid = \"0.0.0.0:1\"", &HashMap::new());
        assert!(result.is_err());
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let variables = HashMap::from([
            (
                "MONETRO__DATABASE__MAX_CONNECTIONS".to_owned(),
                "32".to_owned(),
            ),
            (
                "MONETRO_RP_ORIGINS".to_owned(),
                "https://a.example, ,https://b.example".to_owned(),
            ),
            ("MONETRO_RP_ID".to_owned(), "example".to_owned()),
        ]);
        let file = "[database]\nmax_connections = 8\n[webauthn]\nrp_id = \"file.example\"";
        let config = Config::from_sources(file, &variables).unwrap();
        assert_eq!(config.database.max_connections, 32);
        assert_eq!(config.webauthn.rp_id, "example");
        assert_eq!(
            config.webauthn.origins,
            vec![
                "https://a.example".to_owned(),
                "https://b.example".to_owned()
            ]
        );
    }
}
