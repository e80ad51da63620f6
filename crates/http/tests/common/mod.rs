//! The whole service on a random port against a real, fresh database, and
//! clients that do real ceremonies with a software authenticator.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use monetro_adapters::testing::TestDatabase;
use monetro_adapters::{DbSettings, DbStore};
use monetro_domain::{CredentialId, Passkey};
use monetro_http::config::Config;
use monetro_http::startup::Application;
use monetro_ports::CredentialRepository as _;
use monetro_softauthn::{SoftAuthenticator, Tweaks};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Generates one test per backend from `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running service.
#[derive(Clone)]
pub struct TestApp {
    /// Where requests go.
    pub base: String,
    /// The WebAuthn origin the service accepts.
    pub origin: String,
    pub db: Arc<TestDatabase>,
    pub data_dir: Arc<TempDir>,
    pub config: Config,
    /// Where admin requests go, when the admin API is on (`admin.bind`).
    pub admin_base: Option<String>,
}

pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The service on a fresh database of `backend`, or `None` when that
/// backend is not available here (PostgreSQL on a laptop without it).
pub async fn spawn(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let db = match backend {
        Backend::Sqlite => TestDatabase::sqlite(),
        Backend::Postgres => TestDatabase::postgres()?,
    };
    Some(spawn_on(db, tweak).await)
}

/// The service on `db`, a database the test made itself.
pub async fn spawn_on(db: TestDatabase, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir =
        std::env::temp_dir().join(format!("monetro-keys-{}", uuid::Uuid::new_v4().simple()));
    spawn_instance(Arc::new(db), Arc::new(TempDir(data_dir)), tweak).await
}

/// Another instance on the same database and keys, as a second host
/// behind a load balancer would be.
pub async fn spawn_peer(of: &TestApp) -> TestApp {
    let config = of.config.clone();
    spawn_instance(of.db.clone(), of.data_dir.clone(), |c| {
        c.webauthn = config.webauthn.clone();
        c.ceremonies = config.ceremonies.clone();
    })
    .await
}

async fn spawn_instance(
    db: Arc<TestDatabase>,
    data_dir: Arc<TempDir>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://localhost:{port}");
    let mut config = Config::defaults().unwrap();
    config.database.url = db.url.clone();
    config.database.max_connections = 4;
    config.secrets.data_dir = data_dir.0.clone();
    config.webauthn.origins = vec![origin.clone()];
    config.server.workers = 1;
    config.argon2.max_parallel = 2;
    // Tests send many requests from one address; the rate-limit tests turn
    // the limits back on.
    config.rate_limit.enabled = false;
    tweak(&mut config);
    let origin = config.webauthn.origins[0].clone();
    let app = Application::build_with_listener(config.clone(), listener)
        .await
        .unwrap();
    let admin_base = app
        .admin_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        origin,
        db,
        data_dir,
        config,
        admin_base,
    }
}

/// The admin token of [`spawn_with_admin`].
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefghijklmnop";

/// The service with the admin API on a random port of its own.
pub async fn spawn_with_admin(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, |config| {
        config.admin.bind = Some("127.0.0.1:0".into());
        config.admin.token = Some(ADMIN_TOKEN.to_owned().into());
    })
    .await
}

/// An operator's client of the admin API: `token` is sent as the bearer
/// token when there is one.
pub struct AdminClient {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl AdminClient {
    /// A client with the right token.
    pub fn new(app: &TestApp) -> Self {
        Self::with_token(app, Some(ADMIN_TOKEN))
    }

    pub fn with_token(app: &TestApp, token: Option<&str>) -> Self {
        Self {
            base: app.admin_base.clone().expect("the admin API is on"),
            http: reqwest::Client::new(),
            token: token.map(str::to_owned),
        }
    }

    pub async fn send(&self, method: Method, path: &str) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path).await
    }
}

impl TestApp {
    /// The service's database, opened beside it, to read what it stored.
    pub fn store(&self) -> DbStore {
        DbStore::open(&DbSettings {
            url: self.db.url.clone(),
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    /// The passkey stored under `credential_id`, read from the database
    /// itself: sign count included, which the API does not show.
    pub async fn stored_passkey(&self, credential_id: &[u8]) -> Option<Passkey> {
        let id = CredentialId::new(credential_id.to_vec()).unwrap();
        self.store()
            .find_passkey_with_owner(&id)
            .await
            .unwrap()
            .map(|(passkey, _)| passkey)
    }
}

/// A response's status and JSON body (`Null` when there is none).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts a contract error: status, code, and the JSON shape.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "body: {}",
            self.body
        );
        assert!(
            self.body["error"]["message"].is_string(),
            "no message: {}",
            self.body
        );
    }
}

/// A browser-like client: its own cookie jar and authenticator.
pub struct Client {
    pub app: TestApp,
    pub http: reqwest::Client,
    pub token: Option<String>,
    pub authenticator: SoftAuthenticator,
}

impl Client {
    pub fn new(app: &TestApp) -> Self {
        Self {
            app: app.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            token: None,
            authenticator: SoftAuthenticator::new(),
        }
    }

    /// The same person in another browser tab or host: same token, same
    /// authenticator, its own cookie jar, talking to `app`.
    pub fn elsewhere(&self, app: &TestApp) -> Self {
        Self {
            token: self.token.clone(),
            authenticator: self.authenticator.clone(),
            ..Self::new(app)
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.app.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(&body)).await
    }

    /// Signs up and keeps the token.
    pub async fn signup(app: &TestApp, email: &str) -> Self {
        let mut client = Self::new(app);
        let answer = client
            .post("/api/auth/signup", json!({ "email": email, "password": "correct horse battery", "displayName": "Ann" }))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        client.token = Some(answer.body["token"].as_str().unwrap().to_owned());
        client
    }

    pub async fn registration_options(&self) -> Value {
        let answer = self.get("/api/auth/passkey/register-options").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["publicKey"].clone()
    }

    /// A real registration; returns the `201` answer.
    pub async fn register_with(&mut self, name: Option<&str>, tweaks: &Tweaks) -> Answer {
        let options = self.registration_options().await;
        let origin = self.app.origin.clone();
        let credential = self
            .authenticator
            .register_with(&options, &origin, tweaks)
            .unwrap();
        self.post(
            "/api/auth/passkey/register",
            json!({ "name": name, "credential": credential }),
        )
        .await
    }

    /// Registers a passkey and returns it as the service describes it.
    pub async fn register(&mut self) -> Value {
        let answer = self.register_with(None, &Tweaks::default()).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["passkey"].clone()
    }

    pub async fn sign_in_options(&self, body: Value) -> Value {
        let answer = self
            .post("/api/auth/passkey/authenticate-options", body)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["publicKey"].clone()
    }

    /// Options, then an assertion with `tweaks`; returns the finish answer
    /// and the body that was sent.
    pub async fn sign_in_with(&mut self, options_body: Value, tweaks: &Tweaks) -> (Answer, Value) {
        let options = self.sign_in_options(options_body).await;
        let origin = self.app.origin.clone();
        let credential = self
            .authenticator
            .authenticate_with(&options, &origin, tweaks)
            .unwrap();
        let body = json!({ "credential": credential });
        (
            self.post("/api/auth/passkey/authenticate", body.clone())
                .await,
            body,
        )
    }

    pub async fn sign_in(&mut self) -> Answer {
        self.sign_in_with(json!({}), &Tweaks::default()).await.0
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!("not JSON ({status}): {:?}", String::from_utf8_lossy(&bytes))
        })
    };
    Answer {
        status,
        headers,
        body,
    }
}

pub mod receiver;
pub mod servers;
pub mod tls;
