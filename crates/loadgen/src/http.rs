//! The HTTP side: the endpoints of the contract, the target, and a
//! "browser" per virtual user (connection pool and cookie jar).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderValue, SET_COOKIE};
use reqwest::{Method, Url};
use serde::Deserialize;

use crate::stats::Trace;

/// The endpoints of ../shared/API.md the load generator calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// `POST /api/auth/signup`
    Signup,
    /// `POST /api/auth/login`
    Login,
    /// `GET /api/auth/passkey/register-options`
    RegisterOptions,
    /// `POST /api/auth/passkey/register`
    Register,
    /// `POST /api/auth/passkey/authenticate-options`
    AuthenticateOptions,
    /// `POST /api/auth/passkey/authenticate`
    Authenticate,
    /// `GET /api/auth/passkey/list`
    List,
}

impl Endpoint {
    /// Every endpoint, in report order.
    pub const ALL: [Self; 7] = [
        Self::AuthenticateOptions,
        Self::Authenticate,
        Self::Signup,
        Self::RegisterOptions,
        Self::Register,
        Self::List,
        Self::Login,
    ];
    /// Number of endpoints.
    pub const COUNT: usize = Self::ALL.len();

    /// Short name used in reports (the last segment of the path).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Login => "login",
            Self::RegisterOptions => "register-options",
            Self::Register => "register",
            Self::AuthenticateOptions => "authenticate-options",
            Self::Authenticate => "authenticate",
            Self::List => "list",
        }
    }

    /// The path below the base URL.
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            Self::Signup => "/api/auth/signup",
            Self::Login => "/api/auth/login",
            Self::RegisterOptions => "/api/auth/passkey/register-options",
            Self::Register => "/api/auth/passkey/register",
            Self::AuthenticateOptions => "/api/auth/passkey/authenticate-options",
            Self::Authenticate => "/api/auth/passkey/authenticate",
            Self::List => "/api/auth/passkey/list",
        }
    }

    fn method(self) -> Method {
        match self {
            Self::RegisterOptions | Self::List => Method::GET,
            _ => Method::POST,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Where requests go and what the WebAuthn client claims.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL of the service (no trailing slash).
    pub base: Url,
    /// WebAuthn origin written into `clientDataJSON`.
    pub origin: String,
    /// The RP ID the service is expected to use.
    pub rp_id: String,
    urls: Vec<Url>,
    /// Addresses `base`'s host name is pinned to (empty: resolve normally).
    pinned: Vec<SocketAddr>,
}

impl Target {
    /// A target; `pinned` are the addresses the host name of `base` must
    /// connect to (see [`crate::target::check_base_url`]).
    ///
    /// # Errors
    /// When an endpoint URL cannot be built from `base`.
    pub fn new(
        base: Url,
        origin: String,
        rp_id: String,
        pinned: Vec<SocketAddr>,
    ) -> anyhow::Result<Self> {
        let root = base.as_str().trim_end_matches('/').to_owned();
        // Indexed by `Endpoint::index`.
        let mut urls = Vec::with_capacity(Endpoint::COUNT);
        for index in 0..Endpoint::COUNT {
            let endpoint = Endpoint::ALL
                .iter()
                .find(|e| e.index() == index)
                .ok_or_else(|| anyhow::anyhow!("no endpoint {index}"))?;
            urls.push(Url::parse(&format!("{root}{}", endpoint.path()))?);
        }
        Ok(Self {
            base: Url::parse(&root)?,
            origin,
            rp_id,
            urls,
            pinned,
        })
    }

    /// The base URL as text, without a trailing slash.
    #[must_use]
    pub fn base_str(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn url(&self, endpoint: Endpoint) -> Option<&Url> {
        self.urls.get(endpoint.index())
    }

    /// `GET base + path` once, for the reachability check.
    pub(crate) async fn probe(&self, client: &reqwest::Client, path: &str) -> anyhow::Result<u16> {
        let url = Url::parse(&format!("{}{path}", self.base_str()))?;
        let response = client.get(url).send().await?;
        Ok(response.status().as_u16())
    }
}

/// How virtual users get their HTTP client and cookie jar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientMode {
    /// One connection pool for all virtual users; each virtual user keeps
    /// its own cookies (the load generator reads `Set-Cookie` and sends
    /// `Cookie` itself).
    #[default]
    Shared,
    /// One `reqwest` client per virtual user, with its own cookie store and
    /// its own keep-alive connection.
    PerVu,
}

/// Builds the HTTP clients.
#[derive(Debug, Clone)]
pub struct ClientFactory {
    mode: ClientMode,
    timeout: Duration,
    shared: reqwest::Client,
    pinned: Vec<SocketAddr>,
    host: Option<String>,
}

impl ClientFactory {
    /// A factory for `target`; `pool` is how many idle connections the
    /// shared pool keeps.
    ///
    /// # Errors
    /// When reqwest cannot build a client.
    pub fn new(
        target: &Target,
        mode: ClientMode,
        timeout: Duration,
        pool: usize,
    ) -> anyhow::Result<Self> {
        let host = target.base.host_str().map(str::to_owned);
        let mut factory = Self {
            mode,
            timeout,
            shared: reqwest::Client::new(),
            pinned: target.pinned.clone(),
            host,
        };
        factory.shared = factory.builder().pool_max_idle_per_host(pool).build()?;
        Ok(factory)
    }

    fn builder(&self) -> reqwest::ClientBuilder {
        // No proxy (HTTP_PROXY must not send load elsewhere), no redirects
        // (the contract has none), and the host name pinned to the loopback
        // addresses it was checked against.
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .tcp_nodelay(true)
            .http1_only();
        if let (Some(host), false) = (&self.host, self.pinned.is_empty()) {
            builder = builder.resolve_to_addrs(host, &self.pinned);
        }
        builder
    }

    /// The client for one-off calls (probe).
    #[must_use]
    pub fn shared(&self) -> &reqwest::Client {
        &self.shared
    }

    /// A new browser (one per virtual user).
    ///
    /// # Errors
    /// When reqwest cannot build a client.
    pub fn browser(&self) -> anyhow::Result<Browser> {
        Ok(match self.mode {
            ClientMode::Shared => Browser {
                http: self.shared.clone(),
                jar: Some(ManualJar::default()),
            },
            ClientMode::PerVu => Browser {
                http: self
                    .builder()
                    .cookie_store(true)
                    .pool_max_idle_per_host(1)
                    .build()?,
                jar: None,
            },
        })
    }
}

/// A minimal cookie jar for one origin: `name=value` pairs from
/// `Set-Cookie`, sent back as one `Cookie` header. Attributes are ignored
/// except that `Max-Age=0` or an empty value deletes the cookie.
#[derive(Debug, Default)]
struct ManualJar {
    cookies: Vec<(String, String)>,
    header: Option<HeaderValue>,
}

impl ManualJar {
    fn absorb(&mut self, headers: &reqwest::header::HeaderMap) {
        let mut changed = false;
        for raw in headers.get_all(SET_COOKIE) {
            let Ok(text) = raw.to_str() else { continue };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            let expired = value.is_empty()
                || parts.any(|a| {
                    a.trim()
                        .split_once('=')
                        .is_some_and(|(k, v)| k.eq_ignore_ascii_case("max-age") && v.trim() == "0")
                });
            match self.cookies.iter_mut().position(|(n, _)| n == name) {
                Some(at) if expired => {
                    self.cookies.remove(at);
                }
                Some(at) => {
                    if let Some(slot) = self.cookies.get_mut(at) {
                        value.clone_into(&mut slot.1);
                    }
                }
                None if expired => continue,
                None => self.cookies.push((name.to_owned(), value.to_owned())),
            }
            changed = true;
        }
        if changed {
            let joined = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            self.header = HeaderValue::from_str(&joined)
                .ok()
                .filter(|_| !joined.is_empty());
        }
    }
}

/// A request body.
pub(crate) enum Payload {
    None,
    Static(&'static [u8]),
    Json(Vec<u8>),
}

/// What a virtual user sends requests with: an HTTP client and a cookie
/// jar (its own, or the client's own store in [`ClientMode::PerVu`]).
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    jar: Option<ManualJar>,
}

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(borrow)]
    error: ErrorInner<'a>,
}

#[derive(Deserialize)]
struct ErrorInner<'a> {
    #[serde(borrow)]
    code: std::borrow::Cow<'a, str>,
}

impl Browser {
    /// Sends one request, records it in `trace`, and returns the body of a
    /// 2xx answer (`None` after recording the failure otherwise).
    pub(crate) async fn send(
        &mut self,
        target: &Target,
        endpoint: Endpoint,
        payload: Payload,
        bearer: Option<&HeaderValue>,
        trace: &mut Trace,
    ) -> Option<Bytes> {
        let Some(url) = target.url(endpoint) else {
            trace.client_error(endpoint, "NO_URL");
            return None;
        };
        let mut request = self.http.request(endpoint.method(), url.clone());
        if let Some(token) = bearer {
            request = request.header(AUTHORIZATION, token.clone());
        }
        if let Some(cookie) = self.jar.as_ref().and_then(|j| j.header.as_ref()) {
            request = request.header(COOKIE, cookie.clone());
        }
        request = match payload {
            Payload::None => request,
            Payload::Static(bytes) => request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bytes),
            Payload::Json(bytes) => request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bytes),
        };
        let started = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                trace.transport_error(endpoint, started.elapsed(), transport_code(&e));
                return None;
            }
        };
        let status = response.status();
        if let Some(jar) = self.jar.as_mut() {
            jar.absorb(response.headers());
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => {
                trace.transport_error(endpoint, started.elapsed(), transport_code(&e));
                return None;
            }
        };
        let latency = started.elapsed();
        if status.is_success() {
            trace.answered(endpoint, status.as_u16(), latency, None);
            return Some(body);
        }
        let code = match serde_json::from_slice::<ErrorBody<'_>>(&body) {
            Ok(parsed) => parsed.error.code.into_owned(),
            Err(_) => "NO_ERROR_CODE".to_owned(),
        };
        trace.answered(endpoint, status.as_u16(), latency, Some(code));
        None
    }
}

/// The code under which a transport error is counted.
fn transport_code(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "TRANSPORT_TIMEOUT"
    } else if error.is_connect() {
        "TRANSPORT_CONNECT"
    } else if error.is_body() || error.is_decode() {
        "TRANSPORT_BODY"
    } else {
        "TRANSPORT_ERROR"
    }
}
