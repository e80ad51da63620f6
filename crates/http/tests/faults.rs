//! Outages of the database and of the Redis ceremony store: clear 503
//! answers within the configured timeout, nothing half-written, and
//! recovery without a restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::servers::{PrivatePostgres, PrivateRedis};
use common::{Answer, Backend, Client, TestApp, spawn_on, spawn_with};
use monetro_adapters::testing::TestDatabase;
use monetro_domain::Email;
use monetro_http::config::CeremonyStoreKind;
use monetro_ports::{CredentialRepository as _, UserRepository as _};
use monetro_softauthn::SoftAuthenticator;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_answers_503_and_the_service_recovers() {
    let Some(app) = spawn_with(Backend::Postgres, |c| c.database.acquire_timeout_secs = 1).await
    else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    ann.register().await;

    app.db.set_reachable(false);
    for _ in 0..3 {
        let started = Instant::now();
        let answer = ann.get("/api/auth/me").await;
        answer.assert_error(503, "SERVICE_UNAVAILABLE");
        assert!(answer.headers.contains_key("retry-after"));
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "took {:?}",
            started.elapsed()
        );
    }
    let anon = Client::new(&app);
    assert_eq!(anon.get("/healthz").await.status, 200);
    anon.get("/readyz")
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    anon.post(
        "/api/auth/signup",
        json!({ "email": "bob@example.com", "password": "correct horse" }),
    )
    .await
    .assert_error(503, "SERVICE_UNAVAILABLE");
    anon.post("/api/auth/passkey/authenticate-options", json!({}))
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");

    app.db.set_reachable(true);
    let deadline = Instant::now() + Duration::from_secs(15);
    while anon.get("/readyz").await.status != 200 {
        assert!(Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ann.get("/api/auth/me").await.status, 200);
    assert_eq!(ann.sign_in().await.status, 200);
    // The signup refused during the outage stored nothing.
    let bob = anon
        .post(
            "/api/auth/signup",
            json!({ "email": "bob@example.com", "password": "correct horse" }),
        )
        .await;
    assert_eq!(bob.status, 201, "{}", bob.body);
}

/// A request on its way.
type Pending<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// Every ceremony call answers 503 with Retry-After within `bound` (Ann's
/// registration options, new sign-in options, the sign-in `browser` began
/// before the outage), and so does /readyz; /healthz and what needs only the
/// database still work.
async fn ceremonies_unavailable(
    ann: &Client,
    browser: &Client,
    pending: &serde_json::Value,
    bound: Duration,
) {
    let anon = Client::new(&ann.app);
    for round in 0..2 {
        let requests: [(&str, Pending<'_>); 4] = [
            (
                "registration options",
                Box::pin(ann.get("/api/auth/passkey/register-options")),
            ),
            (
                "sign-in options",
                Box::pin(anon.post("/api/auth/passkey/authenticate-options", json!({}))),
            ),
            (
                "pending sign-in",
                Box::pin(browser.post("/api/auth/passkey/authenticate", pending.clone())),
            ),
            ("readiness", Box::pin(anon.get("/readyz"))),
        ];
        for (what, request) in requests {
            let started = Instant::now();
            let answer = request.await;
            let took = started.elapsed();
            eprintln!("round {round}, {what}: {} in {took:?}", answer.status);
            answer.assert_error(503, "SERVICE_UNAVAILABLE");
            assert!(answer.headers.contains_key("retry-after"));
            assert!(took < bound, "{what} took {took:?}");
        }
    }
    assert_eq!(anon.get("/healthz").await.status, 200);
    assert_eq!(ann.get("/api/auth/me").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_answers_503_and_the_service_recovers() {
    let Some(mut redis) = PrivateRedis::start() else {
        return;
    };
    let timeout = Duration::from_secs(1);
    let app = spawn_with(Backend::Sqlite, |c| {
        c.ceremonies.store = CeremonyStoreKind::Redis;
        c.ceremonies.redis_url = redis.url();
        c.ceremonies.redis_timeout_secs = timeout.as_secs();
    })
    .await
    .unwrap();
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;
    assert_eq!(ann.sign_in().await.status, 200);
    // A sign-in begun before the outage, finished during it and after.
    let mut browser = Client::new(&app);
    browser.authenticator = ann.authenticator.clone();
    let options = browser.sign_in_options(json!({})).await;
    let pending = json!({
        "credential": browser.authenticator.authenticate(&options, &app.origin).unwrap()
    });

    // Well under what the Redis client's own reconnection and back-off
    // take (two connection attempts a second or more apart).
    let bound = timeout + Duration::from_millis(900);
    redis.freeze();
    ceremonies_unavailable(&ann, &browser, &pending, bound).await;
    redis.kill();
    ceremonies_unavailable(&ann, &browser, &pending, bound).await;
    let mut bob = Client::signup(&app, "bob@example.com").await;
    // Restarted but not answering yet: new connections hang.
    redis.launch();
    redis.freeze();
    ceremonies_unavailable(&ann, &browser, &pending, bound).await;

    redis.thaw();
    let anon = Client::new(&app);
    let back = Instant::now();
    while anon.get("/readyz").await.status != 200 {
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "the service did not recover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("ready again after {:?}", back.elapsed());
    // The ceremony died with the server's memory: nothing half-done.
    browser
        .post("/api/auth/passkey/authenticate", pending)
        .await
        .assert_error(400, "CHALLENGE_NOT_FOUND");
    let signed_in = ann.sign_in().await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(
        ann.get("/api/auth/passkey/list").await.body["passkeys"][0]["id"],
        passkey["id"]
    );
    assert_eq!(bob.register().await["name"], "Passkey");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crashing_under_load_loses_nothing_it_acknowledged() {
    let Some(mut postgres) = PrivatePostgres::start() else {
        return;
    };
    let app = spawn_on(TestDatabase::postgres_on(&postgres.url()), |c| {
        c.database.acquire_timeout_secs = TIMEOUT.as_secs();
    })
    .await;
    under_load(&app, &mut postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_dying_under_load_loses_nothing_it_acknowledged() {
    let Some(mut redis) = PrivateRedis::start() else {
        return;
    };
    let app = spawn_with(Backend::Sqlite, |c| {
        c.ceremonies.store = CeremonyStoreKind::Redis;
        c.ceremonies.redis_url = redis.url();
        c.ceremonies.redis_timeout_secs = TIMEOUT.as_secs();
    })
    .await
    .unwrap();
    under_load(&app, &mut redis).await;
}

/// The pool (or Redis) timeout of the tests under load.
const TIMEOUT: Duration = Duration::from_secs(1);

/// A server the service depends on, which a test can take away.
trait Dependency {
    fn stop(&mut self);
    fn start(&mut self);
}

impl Dependency for PrivatePostgres {
    fn stop(&mut self) {
        self.crash();
    }

    fn start(&mut self) {
        self.launch();
    }
}

impl Dependency for PrivateRedis {
    fn stop(&mut self) {
        self.kill();
    }

    fn start(&mut self) {
        self.launch();
    }
}

/// The load, `dependency` stopped in its middle and started again, and
/// what the load saw checked.
async fn under_load(app: &TestApp, dependency: &mut impl Dependency) {
    let load = Load::start(app);
    load.wait_for_successes(40).await;

    dependency.stop();
    outage(app, &load, TIMEOUT).await;
    dependency.start();

    recovery(app, &load).await;
    let ledger = load.finish().await;
    ledger.check_answers(TIMEOUT + Duration::from_millis(1500));
    ledger.check_acknowledged(app).await;
}

/// Three seconds of outage under load: `/readyz` answers `503` within the
/// timeout while `/healthz` stays `200`, and the load gets its `503`s.
async fn outage(app: &TestApp, load: &Load, timeout: Duration) {
    let anon = Client::new(app);
    let began = Instant::now();
    let refused_before = load.unavailable();
    while began.elapsed() < Duration::from_secs(3) {
        let asked = Instant::now();
        anon.get("/readyz")
            .await
            .assert_error(503, "SERVICE_UNAVAILABLE");
        assert!(asked.elapsed() < timeout + Duration::from_secs(1));
        assert_eq!(anon.get("/healthz").await.status, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        load.unavailable() > refused_before,
        "the load never met the outage"
    );
}

/// The service is ready again by itself, and the load succeeds again.
async fn recovery(app: &TestApp, load: &Load) {
    let anon = Client::new(app);
    let back = Instant::now();
    while anon.get("/readyz").await.status != 200 {
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "the service did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("ready again after {:?}", back.elapsed());
    load.wait_for_successes(40).await;
}

/// Browsers at once, each making accounts (by password and by passkey, in
/// turn), adding passkeys and signing in with them, until told to stop.
const BROWSERS: usize = 6;

/// A load of [`BROWSERS`] browsers and the ledger of what they saw.
struct Load {
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
    browsers: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(app: &TestApp) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let browsers = (0..BROWSERS)
            .map(|browser| tokio::spawn(browse(app.clone(), browser, stop.clone(), ledger.clone())))
            .collect();
        Self {
            stop,
            ledger,
            browsers,
        }
    }

    fn count(&self, which: impl Fn(&Seen) -> bool) -> usize {
        self.ledger
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| which(s))
            .count()
    }

    fn unavailable(&self) -> usize {
        self.count(|seen| seen.status == 503)
    }

    /// Waits (at most 30 s) until `more` further requests succeeded.
    async fn wait_for_successes(&self, more: usize) {
        let succeeded = || self.count(|seen| seen.status < 300);
        let target = succeeded() + more;
        let began = Instant::now();
        while succeeded() < target {
            assert!(
                began.elapsed() < Duration::from_secs(30),
                "the load does not succeed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn finish(self) -> Ledger {
        self.stop.store(true, Ordering::Relaxed);
        for browser in self.browsers {
            browser.await.unwrap();
        }
        Arc::into_inner(self.ledger).unwrap().into_inner().unwrap()
    }
}

/// One answer the load got.
struct Seen {
    what: &'static str,
    status: u16,
    code: String,
    retry_after: bool,
    took: Duration,
}

/// What the load sent and what the service acknowledged.
#[derive(Default)]
struct Ledger {
    seen: Vec<Seen>,
    /// Every email a sign-up was tried for, acknowledged or not.
    emails: Vec<String>,
    /// The tokens of sign-ups and sign-ins that succeeded.
    sessions: Vec<String>,
    /// (the owner's token, the credential id) of every passkey the service
    /// acknowledged with `201`.
    passkeys: Vec<(String, String)>,
}

impl Ledger {
    /// Every answer was the success of its call or `503
    /// SERVICE_UNAVAILABLE` with `Retry-After`, and none took `bound` or
    /// longer.
    fn check_answers(&self, bound: Duration) {
        let wrong: Vec<_> = self
            .seen
            .iter()
            .filter(|s| {
                let succeeded = s.status == success_of(s.what);
                let unavailable =
                    s.status == 503 && s.code == "SERVICE_UNAVAILABLE" && s.retry_after;
                !(succeeded || unavailable)
            })
            .map(|s| format!("{} → {} {}", s.what, s.status, s.code))
            .collect();
        assert!(wrong.is_empty(), "unexpected answers: {wrong:?}");
        let slowest = self.seen.iter().max_by_key(|s| s.took).unwrap();
        assert!(
            slowest.took < bound,
            "{} took {:?}",
            slowest.what,
            slowest.took
        );
        let unavailable = self.seen.iter().filter(|s| s.status == 503).count();
        eprintln!(
            "{} requests, {unavailable} answered 503, slowest {} {:?}; {} sessions and {} passkeys acknowledged",
            self.seen.len(),
            slowest.what,
            slowest.took,
            self.sessions.len(),
            self.passkeys.len()
        );
    }

    /// Every session and passkey the service acknowledged is there, each
    /// passkey with its security-log event, and no account was left
    /// half-made: each one that exists can sign in, with a password or a
    /// passkey.
    async fn check_acknowledged(&self, app: &TestApp) {
        for token in &self.sessions {
            let mut client = Client::new(app);
            client.token = Some(token.clone());
            let me = client.get("/api/auth/me").await;
            assert_eq!(
                me.status, 200,
                "an acknowledged session is gone: {}",
                me.body
            );
        }
        for (token, credential_id) in &self.passkeys {
            let mut client = Client::new(app);
            client.token = Some(token.clone());
            let listed = client.get("/api/auth/passkey/list").await;
            let passkey = listed.body["passkeys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["credentialId"] == credential_id.as_str())
                .unwrap_or_else(|| panic!("an acknowledged passkey is gone: {credential_id}"));
            let log = client.get("/api/auth/audit?limit=100").await;
            assert!(
                log.body["events"].as_array().unwrap().iter().any(|e| {
                    e["type"] == "passkey.registered" && e["passkeyId"] == passkey["id"]
                }),
                "a passkey without its security-log event: {}",
                log.body
            );
        }
        let store = app.store();
        for email in &self.emails {
            let email = Email::parse(email).unwrap();
            let Some(account) = store.find_user_by_email(&email).await.unwrap() else {
                continue;
            };
            let passkeys = store.count_passkeys(account.user.id).await.unwrap();
            assert!(
                account.password_hash.is_some() || passkeys > 0,
                "{email:?} was stored without a way to sign in"
            );
        }
    }
}

/// The status of a call that succeeded.
fn success_of(what: &str) -> u16 {
    match what {
        "signup" | "passkey signup" | "register" => 201,
        _ => 200,
    }
}

/// Sends a request and writes its answer in the ledger.
async fn call(
    ledger: &Mutex<Ledger>,
    what: &'static str,
    request: impl Future<Output = Answer>,
) -> Answer {
    let began = Instant::now();
    let answer = request.await;
    ledger.lock().unwrap().seen.push(Seen {
        what,
        status: answer.status.as_u16(),
        code: answer.code().to_owned(),
        retry_after: answer.headers.contains_key("retry-after"),
        took: began.elapsed(),
    });
    answer
}

/// One browser of the load: an account after another, each with a few
/// passkey registrations and sign-ins. Its authenticator keeps only the
/// credentials the service acknowledged, as the page signals the others
/// unknown.
async fn browse(app: TestApp, browser: usize, stop: Arc<AtomicBool>, ledger: Arc<Mutex<Ledger>>) {
    for account in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let email = format!("load-{browser}-{account}@example.com");
        ledger.lock().unwrap().emails.push(email.clone());
        let mut client = Client::new(&app);
        let signed_up = if account % 2 == 0 {
            password_signup(&mut client, &email, &ledger).await
        } else {
            passkey_signup(&mut client, &email, &ledger).await
        };
        if !signed_up {
            continue;
        }
        for _ in 0..3 {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            register(&mut client, &ledger).await;
            sign_in(&mut client, &ledger).await;
        }
    }
}

/// A sign-up with a password; keeps the token. Whether it succeeded.
async fn password_signup(client: &mut Client, email: &str, ledger: &Mutex<Ledger>) -> bool {
    let answer = call(
        ledger,
        "signup",
        client.post(
            "/api/auth/signup",
            json!({ "email": email, "password": "correct horse battery" }),
        ),
    )
    .await;
    let Some(token) = answer.body["token"].as_str() else {
        return false;
    };
    client.token = Some(token.to_owned());
    ledger.lock().unwrap().sessions.push(token.to_owned());
    true
}

/// A passkey-only sign-up; keeps the token. Whether it succeeded.
async fn passkey_signup(client: &mut Client, email: &str, ledger: &Mutex<Ledger>) -> bool {
    let options = call(
        ledger,
        "passkey signup options",
        client.post(
            "/api/auth/passkey/signup-options",
            json!({ "email": email }),
        ),
    )
    .await;
    if options.status != 200 {
        return false;
    }
    let made = made_credential(client, &options.body);
    let answer = call(
        ledger,
        "passkey signup",
        client.post("/api/auth/passkey/signup", json!({ "credential": made.0 })),
    )
    .await;
    acknowledge(client, ledger, &answer, made);
    answer.status == 201
}

async fn register(client: &mut Client, ledger: &Mutex<Ledger>) {
    let options = call(
        ledger,
        "register options",
        client.get("/api/auth/passkey/register-options"),
    )
    .await;
    if options.status != 200 {
        return;
    }
    let made = made_credential(client, &options.body);
    let answer = call(
        ledger,
        "register",
        client.post(
            "/api/auth/passkey/register",
            json!({ "credential": made.0 }),
        ),
    )
    .await;
    acknowledge(client, ledger, &answer, made);
}

/// A credential made by a new authenticator of the browser's (one
/// authenticator holds one passkey of an account: the options exclude those
/// it has), and the authenticator it replaces.
fn made_credential(client: &mut Client, options: &Value) -> (Value, SoftAuthenticator) {
    let origin = client.app.origin.clone();
    let previous = std::mem::replace(&mut client.authenticator, SoftAuthenticator::new());
    let credential = client
        .authenticator
        .register(&options["publicKey"], &origin)
        .unwrap();
    (credential, previous)
}

/// Books a credential the service took (`201`, and the session of a
/// sign-up); otherwise the browser goes back to its previous authenticator,
/// as the page signals the new credential unknown.
fn acknowledge(
    client: &mut Client,
    ledger: &Mutex<Ledger>,
    answer: &Answer,
    (credential, previous): (Value, SoftAuthenticator),
) {
    if answer.status != 201 {
        client.authenticator = previous;
        return;
    }
    let credential_id = credential["id"].as_str().unwrap();
    if let Some(token) = answer.body["token"].as_str() {
        client.token = Some(token.to_owned());
        ledger.lock().unwrap().sessions.push(token.to_owned());
    }
    let owner = client.token.clone().unwrap();
    ledger
        .lock()
        .unwrap()
        .passkeys
        .push((owner, credential_id.to_owned()));
}

async fn sign_in(client: &mut Client, ledger: &Mutex<Ledger>) {
    let options = call(
        ledger,
        "sign-in options",
        client.post("/api/auth/passkey/authenticate-options", json!({})),
    )
    .await;
    if options.status != 200 {
        return;
    }
    let origin = client.app.origin.clone();
    // No passkey of this account was acknowledged yet: nothing to sign in with.
    let Ok(credential) = client
        .authenticator
        .authenticate(&options.body["publicKey"], &origin)
    else {
        return;
    };
    let answer = call(
        ledger,
        "sign-in",
        client.post(
            "/api/auth/passkey/authenticate",
            json!({ "credential": credential }),
        ),
    )
    .await;
    if let Some(token) = answer.body["token"].as_str() {
        ledger.lock().unwrap().sessions.push(token.to_owned());
    }
}
