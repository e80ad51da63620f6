//! Wiring: configuration → adapters → use cases → HTTP server. `main` and
//! the HTTP tests build the service the same way.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::{HttpServer, web};
use anyhow::Context as _;
use monetro_adapters::{
    Argon2Hasher, CeremonyStore, DbSettings, DbStore, HttpWebhooks, JwtIssuer, RedisCeremonies,
    RedisSettings, SmtpNotifier, SmtpSettings, SmtpTls, SystemClock, TokenSettings,
};
use monetro_app::{App, Deps, RetryPolicy, Settings, WebhookDispatcher, WebhookEndpoint};
use monetro_domain::{EventType, PasskeyHint};
use secrecy::ExposeSecret as _;
use tracing_actix_web::TracingLogger;
use url::Url;

use crate::admin::{self, AdminToken};
use crate::client_ip::TrustedProxies;
use crate::config::{CeremonyStoreKind, Config, NotifierKind, SmtpTlsMode};
use crate::limits::RateLimits;
use crate::metrics::Metrics;
use crate::notify::ServiceNotifier;
use crate::routes::{self, RelatedOrigins};
use crate::telemetry::RequestSpan;
use crate::{secrets, security, slow_clients};

/// The production ports.
pub struct ServiceDeps;

impl Deps for ServiceDeps {
    type Store = DbStore;
    type Ceremonies = CeremonyStore;
    type Tokens = JwtIssuer;
    type Hasher = Argon2Hasher;
    type Clock = SystemClock;
    type Notifier = ServiceNotifier;
}

/// Name of the cookie that carries the ceremony handles.
pub const CEREMONY_COOKIE: &str = "monetro_ceremony";

/// How often expired ceremonies, ended sessions and idle rate-limit state
/// are dropped.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(60);

/// A built service, listening, not yet serving.
pub struct Application {
    port: u16,
    server: Server,
    /// The admin API's listener, when `admin.bind` is set.
    admin: Option<AdminServer>,
}

/// The admin API, on its own listener.
struct AdminServer {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `config.server.bind` and builds the service.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.server.bind)
            .with_context(|| format!("cannot listen on {}", config.server.bind))?;
        Self::build_with_listener(config, listener).await
    }

    /// Builds the service on a listener the caller bound (tests bind port 0).
    pub async fn build_with_listener(
        config: Config,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        validate(&config)?;

        // Refuse a half-configured admin API before touching anything.
        let admin_listener = match config.admin.listen_address() {
            Some(address) => {
                let token = AdminToken::from_config(&config.admin)?;
                let listener = TcpListener::bind(address)
                    .with_context(|| format!("cannot listen on admin.bind {address}"))?;
                Some((token, listener))
            }
            None => None,
        };
        let store = open_store(&config).await?;
        let keys = secrets::load_or_create(&config)?;
        let tokens = JwtIssuer::new(TokenSettings {
            issuer: config.tokens.issuer.clone(),
            audience: config.tokens.audience.clone(),
            lifetime_secs: config.tokens.ttl_secs,
            signing_key_pem: keys.signing_key_pem.clone(),
            retired_key_pems: keys.retired_key_pems.clone(),
        })
        .map_err(anyhow::Error::msg)
        .context("token keys")?;
        let hasher =
            Argon2Hasher::new(config.argon2.max_parallel).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let settings = app_settings(&config, keys.decoy_key())?;
        let ceremonies = open_ceremony_store(&config, &store).await?;
        let webhook_store = store.clone();
        let metrics = web::Data::new(Metrics::new().context("metrics registry")?);
        let app =
            App::<ServiceDeps>::new(store, ceremonies, tokens, hasher, SystemClock, settings)?
                .with_notifier(notifier(&config, &metrics)?);
        let app = web::Data::new(app);
        let limits = web::Data::new(RateLimits::new(&config.rate_limit));
        spawn_housekeeping(app.clone(), limits.clone());
        let proxies = web::Data::new(
            TrustedProxies::parse(&config.server.trusted_proxies).map_err(anyhow::Error::msg)?,
        );
        let related_origins =
            web::Data::new(RelatedOrigins(config.webauthn.related_origins.clone()));
        let https = config
            .webauthn
            .origins
            .iter()
            .all(|o| o.starts_with("https://"));
        let cors_origins = config.server.cors_origins.clone();
        if !app.settings().webhooks.is_empty() {
            let dispatcher = webhook_dispatcher(&config, webhook_store, &app.settings().webhooks)?;
            let poll = Duration::from_millis(config.webhooks.poll_interval_ms.max(1));
            spawn_webhook_dispatcher(dispatcher, metrics.clone(), poll);
        }

        let session_key = Key::from(&keys.session_key);
        let secure_cookie = !config
            .webauthn
            .origins
            .iter()
            .all(|o| o.starts_with("http://"));
        let cookie_lifetime =
            config.webauthn.ceremony_ttl_secs + config.webauthn.ceremony_grace_secs;
        let body_limit = config.server.body_limit_bytes;
        let body_timeout = (config.server.client_body_timeout_secs > 0)
            .then(|| Duration::from_secs(config.server.client_body_timeout_secs));
        let port = listener.local_addr()?.port();
        tracing::info!(port, rp_id = %app.settings().rp_id, origins = ?config.webauthn.origins, "listening");
        let admin_state = admin_listener.map(|(token, listener)| {
            let state = AdminState {
                app: app.clone(),
                proxies: proxies.clone(),
                metrics: metrics.clone(),
                token,
            };
            (state, listener)
        });
        let mut server = HttpServer::new(move || {
            let sessions =
                SessionMiddleware::builder(CookieSessionStore::default(), session_key.clone())
                    .cookie_name(CEREMONY_COOKIE.into())
                    .cookie_secure(secure_cookie)
                    .cookie_http_only(true)
                    .cookie_same_site(SameSite::Lax)
                    .cookie_content_security(CookieContentSecurity::Private)
                    .session_lifecycle(PersistentSession::default().session_ttl(
                        actix_web::cookie::time::Duration::seconds(cookie_lifetime as i64),
                    ))
                    .build();
            actix_web::App::new()
                .app_data(app.clone())
                .app_data(limits.clone())
                .app_data(proxies.clone())
                .app_data(related_origins.clone())
                .app_data(metrics.clone())
                .wrap_fn(move |request, service| {
                    slow_clients::body_deadline(request, service, body_timeout)
                })
                .wrap(sessions)
                .wrap(security::cors(&cors_origins))
                .wrap(security::default_headers(https))
                .wrap_fn(observe_request)
                .wrap(TracingLogger::<RequestSpan>::new())
                .configure(routes::configure::<ServiceDeps>(body_limit))
                .configure(crate::pages::configure)
                .default_service(web::to(routes::not_found))
        })
        .shutdown_timeout(config.server.shutdown_timeout_secs)
        .client_request_timeout(Duration::from_secs(
            config.server.client_request_timeout_secs,
        ))
        .client_disconnect_timeout(Duration::from_secs(
            config.server.client_disconnect_timeout_secs,
        ))
        .keep_alive(Duration::from_secs(config.server.keep_alive_secs))
        .listen(listener)?;
        if config.server.workers > 0 {
            server = server.workers(config.server.workers);
        }
        // Started once the public server is ready, so a failure there
        // leaves no admin listener behind.
        let admin = admin_state
            .map(|(state, listener)| {
                admin_server(state, listener, config.server.shutdown_timeout_secs)
            })
            .transpose()?;
        Ok(Self {
            port,
            server: server.run(),
            admin,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin API's port, when it is on.
    pub fn admin_port(&self) -> Option<u16> {
        self.admin.as_ref().map(|admin| admin.port)
    }

    /// Serves until SIGINT/SIGTERM, letting in-flight requests finish. With
    /// the admin API on, both listeners serve, and when either stops the
    /// other is stopped too.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self { server, admin, .. } = self;
        let Some(admin) = admin else {
            return server.await;
        };
        let (public_handle, admin_handle) = (server.handle(), admin.server.handle());
        let public = async move {
            let outcome = server.await;
            admin_handle.stop(true).await;
            outcome
        };
        let admin = async move {
            let outcome = admin.server.await;
            public_handle.stop(true).await;
            outcome
        };
        let (public, admin) = tokio::join!(public, admin);
        public.and(admin)
    }
}

/// What the admin listener's workers share with the public ones.
struct AdminState {
    app: web::Data<App<ServiceDeps>>,
    proxies: web::Data<TrustedProxies>,
    metrics: web::Data<Metrics>,
    token: AdminToken,
}

/// The admin API's server: its routes only, every request checked for the
/// admin token first, one worker (operators, not traffic).
fn admin_server(
    state: AdminState,
    listener: TcpListener,
    shutdown_timeout_secs: u64,
) -> anyhow::Result<AdminServer> {
    let port = listener.local_addr()?.port();
    tracing::info!(port, "admin API listening");
    let server = HttpServer::new(move || {
        let token = state.token.clone();
        actix_web::App::new()
            .app_data(state.app.clone())
            .app_data(state.proxies.clone())
            .app_data(state.metrics.clone())
            .wrap_fn(move |request, service| admin::require_token(&token, request, service))
            .wrap(
                security::default_headers(false)
                    .add((actix_web::http::header::CACHE_CONTROL, "no-store")),
            )
            .wrap_fn(observe_request)
            .wrap(TracingLogger::<RequestSpan>::new())
            .configure(admin::configure::<ServiceDeps>())
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .shutdown_timeout(shutdown_timeout_secs)
    .listen(listener)?
    .run();
    Ok(AdminServer { port, server })
}

/// Opens the database and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<DbStore> {
    let store = DbStore::open(&DbSettings {
        url: config.database.url.clone(),
        max_connections: config.database.max_connections,
        acquire_timeout: Duration::from_secs(config.database.acquire_timeout_secs),
    })
    .map_err(|e| anyhow::anyhow!("database: {e}"))?;
    let applied = store
        .migrate()
        .await
        .map_err(|e| anyhow::anyhow!("cannot migrate the {} database: {e}", store.backend()))?;
    tracing::info!(backend = store.backend(), applied = ?applied, "database ready");
    Ok(store)
}

async fn open_ceremony_store(config: &Config, store: &DbStore) -> anyhow::Result<CeremonyStore> {
    Ok(match config.ceremonies.store {
        CeremonyStoreKind::Database => CeremonyStore::Database(store.clone()),
        CeremonyStoreKind::Redis => {
            let settings = RedisSettings {
                url: config.ceremonies.redis_url.clone(),
                prefix: config.ceremonies.redis_prefix.clone(),
                retention: Duration::from_secs(config.webauthn.ceremony_grace_secs),
                timeout: Duration::from_secs(config.ceremonies.redis_timeout_secs),
            };
            let redis = RedisCeremonies::connect(settings)
                .await
                .map_err(|e| anyhow::anyhow!("ceremony store: {e}"))?;
            tracing::info!(url = %config.ceremonies.redis_url, "ceremonies kept in Redis");
            CeremonyStore::Redis(redis)
        }
    })
}

/// The longest ceremony TTL: a day. Options carry it in milliseconds as a
/// 32-bit number (webauthn-rs panics past 49 days), and challenges are
/// meant to live minutes.
const MAX_CEREMONY_TTL_SECS: u64 = 86_400;

/// The longest grace period after a ceremony's expiry: 30 days.
const MAX_CEREMONY_GRACE_SECS: u64 = 30 * 86_400;

/// The checks of a configuration that need no I/O: pool sizes, durations,
/// the relying party (origins on or under the RP ID, `http://` only on
/// localhost, no path), trusted proxies and CORS origins. Building the
/// service runs them first, so a bad value is reported before a database is
/// opened or a key made.
pub fn validate(config: &Config) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.database.max_connections > 0 && config.database.acquire_timeout_secs > 0,
        "database.max_connections and database.acquire_timeout_secs must be at least 1"
    );
    let webauthn = &config.webauthn;
    anyhow::ensure!(
        (1..=MAX_CEREMONY_TTL_SECS).contains(&webauthn.ceremony_ttl_secs),
        "webauthn.ceremony_ttl_secs must be 1–{MAX_CEREMONY_TTL_SECS}"
    );
    anyhow::ensure!(
        webauthn.ceremony_grace_secs <= MAX_CEREMONY_GRACE_SECS,
        "webauthn.ceremony_grace_secs must be at most {MAX_CEREMONY_GRACE_SECS}"
    );
    monetro_app::check_settings(&app_settings(config, Vec::new())?)?;
    if config.notifier.kind == NotifierKind::Smtp {
        SmtpNotifier::new(&smtp_settings(config)?)
            .map_err(|e| anyhow::anyhow!("notifier.smtp: {e}"))?;
    }
    TrustedProxies::parse(&config.server.trusted_proxies).map_err(anyhow::Error::msg)?;
    security::check_cors_origins(&config.server.cors_origins).map_err(anyhow::Error::msg)?;
    Ok(())
}

fn app_settings(config: &Config, decoy_key: Vec<u8>) -> anyhow::Result<Settings> {
    let origins = config
        .webauthn
        .origins
        .iter()
        .map(|origin| {
            Url::parse(origin).with_context(|| format!("webauthn.origins: {origin:?} is not a URL"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Settings {
        rp_id: config.webauthn.rp_id.clone(),
        rp_name: config.webauthn.rp_name.clone(),
        origins,
        allow_subdomains: config.webauthn.allow_subdomains,
        ceremony_ttl: Duration::from_secs(config.webauthn.ceremony_ttl_secs),
        ceremony_grace: Duration::from_secs(config.webauthn.ceremony_grace_secs),
        decoy_key,
        max_passkeys_per_user: config.webauthn.max_passkeys_per_user,
        hints: PasskeyHint::parse_list(&config.webauthn.hints)
            .map_err(|e| anyhow::anyhow!("webauthn.hints: {e}"))?,
        webhooks: webhook_endpoints(config)?,
        refresh_ttl: Duration::from_secs(config.tokens.refresh_ttl_secs),
        step_up_window: Duration::from_secs(config.tokens.step_up_window_secs),
    })
}

/// The notifier of `notifier.kind`.
fn notifier(config: &Config, metrics: &web::Data<Metrics>) -> anyhow::Result<ServiceNotifier> {
    Ok(match config.notifier.kind {
        NotifierKind::Log => ServiceNotifier::Log,
        NotifierKind::Smtp => {
            let settings = smtp_settings(config)?;
            let smtp =
                SmtpNotifier::new(&settings).map_err(|e| anyhow::anyhow!("notifier.smtp: {e}"))?;
            tracing::info!(host = %settings.host, port = settings.port, tls = ?settings.tls,
                "new-passkey notifications by email");
            ServiceNotifier::Smtp {
                smtp: std::sync::Arc::new(smtp),
                metrics: metrics.clone(),
            }
        }
    })
}

/// `notifier.smtp`, checked: a host, both or neither of user name and
/// password, a timeout, and TLS unless the server is on a loopback address.
fn smtp_settings(config: &Config) -> anyhow::Result<SmtpSettings> {
    let smtp = &config.notifier.smtp;
    let host = smtp.host.trim();
    anyhow::ensure!(
        !host.is_empty(),
        "notifier.kind is \"smtp\" but notifier.smtp.host is empty: set the SMTP server, or \
         notifier.kind = \"log\""
    );
    let tls = match smtp.tls {
        SmtpTlsMode::Starttls => SmtpTls::Starttls,
        SmtpTlsMode::Tls => SmtpTls::Tls,
        SmtpTlsMode::None => SmtpTls::None,
    };
    anyhow::ensure!(
        tls != SmtpTls::None || is_loopback(host),
        "notifier.smtp.tls = \"none\" would send mail and the SMTP password readable on the \
         way to {host}: it is allowed only to a relay on a loopback address (127.0.0.1, ::1, \
         localhost); use \"starttls\" or \"tls\""
    );
    anyhow::ensure!(
        smtp.timeout_secs > 0,
        "notifier.smtp.timeout_secs must be at least 1"
    );
    let credentials = match (&smtp.username, &smtp.password) {
        (Some(user), Some(password)) => Some((user.clone(), password.clone())),
        (None, None) => None,
        _ => anyhow::bail!(
            "notifier.smtp.username and notifier.smtp.password go together (the password \
             best as MONETRO__NOTIFIER__SMTP__PASSWORD)"
        ),
    };
    Ok(SmtpSettings {
        host: host.to_owned(),
        port: match smtp.port {
            0 => tls.default_port(),
            port => port,
        },
        tls,
        from: smtp.from.clone(),
        credentials,
        timeout: Duration::from_secs(smtp.timeout_secs),
    })
}

/// Whether `host` (a name, an IP address, or an IPv6 address in
/// brackets) is this machine's loopback, where plain text cannot be read
/// on the way.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The configured endpoints, checked: `https://` URLs (`http://` only on
/// a loopback address, e.g. a TLS-originating sidecar), each once, with a
/// secret and known event types.
fn webhook_endpoints(config: &Config) -> anyhow::Result<Vec<WebhookEndpoint>> {
    let mut endpoints: Vec<WebhookEndpoint> = Vec::new();
    for endpoint in &config.webhooks.endpoints {
        let url = Url::parse(&endpoint.url)
            .with_context(|| format!("webhooks.endpoints: {:?} is not a URL", endpoint.url))?;
        let loopback = url.host_str().is_some_and(is_loopback);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => anyhow::bail!(
                "webhooks.endpoints: {url} is plain http:// to another host, which would send \
                 events and their signatures readable on the way: use https:// (http:// is \
                 allowed only on a loopback address)"
            ),
            other => anyhow::bail!(
                "webhooks.endpoints: {url} has the scheme {other}: only https:// (or http:// on \
                 a loopback address)"
            ),
        }
        if endpoints.iter().any(|e| e.url == endpoint.url) {
            anyhow::bail!("webhooks.endpoints: {url} is configured twice");
        }
        let secret = endpoint.secret.expose_secret().as_bytes().to_vec();
        if secret.len() < 16 {
            anyhow::bail!("webhooks.endpoints: the secret of {url} needs 16 characters or more");
        }
        let events = endpoint
            .events
            .as_ref()
            .map(|names| {
                names
                    .iter()
                    .map(|name| {
                        EventType::parse(name).with_context(|| {
                            format!("webhooks.endpoints: unknown event type {name:?} for {url}")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?;
        endpoints.push(WebhookEndpoint {
            url: endpoint.url.clone(),
            secret,
            events,
        });
    }
    Ok(endpoints)
}

type Dispatcher = WebhookDispatcher<DbStore, HttpWebhooks, SystemClock>;

fn webhook_dispatcher(
    config: &Config,
    store: DbStore,
    endpoints: &[WebhookEndpoint],
) -> anyhow::Result<Dispatcher> {
    let settings = &config.webhooks;
    let timeout = Duration::from_millis(settings.timeout_ms.max(1));
    let extra_roots = settings
        .ca_file
        .as_ref()
        .map(|path| {
            std::fs::read(path)
                .with_context(|| format!("webhooks.ca_file: cannot read {}", path.display()))
        })
        .transpose()?;
    let transport = HttpWebhooks::new(timeout, extra_roots.as_deref()).map_err(|e| {
        let file = settings.ca_file.as_ref().map(|p| p.display().to_string());
        anyhow::anyhow!("webhooks.ca_file {}: {e}", file.unwrap_or_default())
    })?;
    let policy = RetryPolicy {
        max_attempts: settings.max_attempts.max(1),
        initial_backoff: Duration::from_millis(settings.initial_backoff_ms),
        max_backoff: Duration::from_secs(settings.max_backoff_secs),
        // Longer than a POST can take, so no other dispatcher sends a
        // delivery that is still in flight.
        lease: timeout * 2 + Duration::from_secs(1),
        batch: settings.batch_size.max(1),
        retain_delivered: Duration::from_secs(settings.retain_delivered_secs),
    };
    Ok(WebhookDispatcher::new(
        store,
        transport,
        SystemClock,
        endpoints,
        policy,
    ))
}

/// Delivers the outbox: a full batch is followed at once by the next,
/// otherwise the dispatcher waits `poll`. Updates the delivery metrics and
/// the backlog gauge, and purges old delivered rows now and then.
fn spawn_webhook_dispatcher(dispatcher: Dispatcher, metrics: web::Data<Metrics>, poll: Duration) {
    tokio::spawn(async move {
        let mut next_purge = Instant::now();
        loop {
            let busy = match dispatcher.run_once().await {
                Ok(report) => {
                    metrics.observe_webhooks(&report);
                    report.claimed >= dispatcher.policy().batch as usize
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "webhook dispatch failed");
                    false
                }
            };
            match dispatcher.backlog().await {
                Ok(backlog) => metrics.set_webhook_backlog(backlog),
                Err(e) => tracing::debug!(error = ?e, "webhook backlog not read"),
            }
            if Instant::now() >= next_purge {
                next_purge = Instant::now() + HOUSEKEEPING_INTERVAL;
                if let Err(e) = dispatcher.purge_delivered().await {
                    tracing::warn!(error = ?e, "could not purge delivered webhooks");
                }
            }
            if !busy {
                tokio::time::sleep(poll).await;
            }
        }
    });
}

fn spawn_housekeeping<D: Deps>(app: web::Data<App<D>>, limits: web::Data<RateLimits>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(HOUSEKEEPING_INTERVAL);
        loop {
            ticks.tick().await;
            limits.forget_idle();
            match app.purge_expired_ceremonies().await {
                Ok(0) => {}
                Ok(purged) => tracing::debug!(purged, "expired ceremonies deleted"),
                Err(e) => tracing::warn!(error = ?e, "could not purge expired ceremonies"),
            }
            match app.purge_ended_sessions().await {
                Ok(0) => {}
                Ok(purged) => tracing::debug!(purged, "ended sessions deleted"),
                Err(e) => tracing::warn!(error = ?e, "could not purge ended sessions"),
            }
        }
    });
}

/// Counts every request, its latency by matched route (unmatched paths
/// share one label, so scanners cannot grow the label set), and the
/// requests in flight.
fn observe_request<S, B>(
    request: ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let in_flight = metrics.as_ref().map(|metrics| metrics.request_started());
    let response = service.call(request);
    async move {
        let response = response.await;
        drop(in_flight);
        let response = response?;
        if let Some(metrics) = metrics {
            metrics.observe_request(
                &method,
                &route,
                response.status().as_u16(),
                started.elapsed(),
            );
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(change: impl FnOnce(&mut Config)) -> anyhow::Result<()> {
        let mut config = Config::defaults().unwrap();
        change(&mut config);
        validate(&config)
    }

    #[test]
    fn the_defaults_are_valid() {
        assert!(with(|_| {}).is_ok());
    }

    /// Found with the `config` fuzz target (`fuzz/corpus/config/crash-*`,
    /// `regression-*`): these were accepted and then panicked, at start-up,
    /// on every options call or in the housekeeping task.
    #[test]
    fn values_that_used_to_panic_later_are_refused() {
        assert!(with(|c| c.database.max_connections = 0).is_err());
        assert!(with(|c| c.database.acquire_timeout_secs = 0).is_err());
        assert!(with(|c| c.webauthn.ceremony_ttl_secs = 0).is_err());
        assert!(with(|c| c.webauthn.ceremony_ttl_secs = 5_000_000).is_err());
        assert!(with(|c| c.webauthn.ceremony_grace_secs = 922_337_203_685).is_err());
        assert!(with(|c| c.webauthn.ceremony_ttl_secs = MAX_CEREMONY_TTL_SECS).is_ok());
    }

    fn endpoint(url: &str) -> crate::config::WebhookEndpointConfig {
        crate::config::WebhookEndpointConfig {
            url: url.into(),
            secret: "a secret of sixteen or more".to_owned().into(),
            events: None,
        }
    }

    #[test]
    fn webhook_endpoints_are_https_or_on_the_loopback() {
        for good in [
            "https://hooks.example/monetro",
            "http://127.0.0.1:9000/hooks",
            "http://127.8.0.1/hooks",
            "http://localhost:9000/hooks",
            "http://[::1]:9000/hooks",
        ] {
            assert!(
                with(|c| c.webhooks.endpoints = vec![endpoint(good)]).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "http://hooks.internal:9000/monetro",
            "http://10.0.0.7/hooks",
            "http://localhost.evil.example/hooks",
            "ftp://127.0.0.1/hooks",
        ] {
            let refused = with(|c| c.webhooks.endpoints = vec![endpoint(bad)]);
            assert!(refused.is_err(), "{bad}");
        }
        let message = with(|c| c.webhooks.endpoints = vec![endpoint("http://hooks.example/")])
            .unwrap_err()
            .to_string();
        assert!(message.contains("use https://"), "{message}");
    }

    fn smtp(change: impl FnOnce(&mut crate::config::SmtpConfig)) -> anyhow::Result<()> {
        with(|c| {
            c.notifier.kind = NotifierKind::Smtp;
            c.notifier.smtp.host = "smtp.example.com".into();
            change(&mut c.notifier.smtp);
        })
    }

    #[test]
    fn smtp_settings_are_checked_at_start_up() {
        assert!(smtp(|_| {}).is_ok());
        assert!(smtp(|s| s.tls = SmtpTlsMode::Tls).is_ok());
        for loopback in ["127.0.0.1", "::1", "localhost"] {
            assert!(
                smtp(|s| {
                    s.tls = SmtpTlsMode::None;
                    s.host = loopback.into();
                })
                .is_ok(),
                "{loopback}"
            );
        }
        let plain = smtp(|s| s.tls = SmtpTlsMode::None).unwrap_err().to_string();
        assert!(plain.contains("loopback"), "{plain}");
        assert!(smtp(|s| s.host = " ".into()).is_err());
        assert!(smtp(|s| s.from = "nobody".into()).is_err());
        assert!(smtp(|s| s.timeout_secs = 0).is_err());
        assert!(smtp(|s| s.username = Some("monetro".into())).is_err());
        assert!(
            smtp(|s| {
                s.username = Some("monetro".into());
                s.password = Some("secret".to_owned().into());
            })
            .is_ok()
        );
        assert!(
            with(|c| c.notifier.smtp.host = String::new()).is_ok(),
            "unchecked while the notifier is the log"
        );
    }

    #[test]
    fn origins_proxies_and_cors_origins_are_checked() {
        assert!(with(|c| c.webauthn.origins = vec!["https://evil.example".into()]).is_err());
        assert!(with(|c| c.server.trusted_proxies = vec!["proxy.local".into()]).is_err());
        assert!(with(|c| c.server.cors_origins = vec!["https://app.example/".into()]).is_err());
    }
}
