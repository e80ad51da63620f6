//! An [`App`] over the in-memory ports, with a real software authenticator,
//! for the use cases' unit tests.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use monetro_ports::memory::{
    FakeTokens, ManualClock, MemoryCeremonies, MemoryStore, PlainHasher, RecordingNotifier,
};

use crate::{App, Deps, Session, Settings, Signup};
use monetro_domain::RequestOrigin;

pub(crate) const ORIGIN: &str = "http://localhost:8080";

pub(crate) struct MemoryDeps;

impl Deps for MemoryDeps {
    type Store = MemoryStore;
    type Ceremonies = MemoryCeremonies;
    type Tokens = FakeTokens;
    type Hasher = PlainHasher;
    type Clock = ManualClock;
    type Notifier = RecordingNotifier;
}

pub(crate) struct TestApp {
    pub app: App<MemoryDeps>,
    pub store: MemoryStore,
    pub ceremonies: MemoryCeremonies,
    pub clock: ManualClock,
    pub notifier: RecordingNotifier,
}

impl TestApp {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// A test app whose settings `tweak` changed first.
    pub fn with(tweak: impl FnOnce(&mut Settings)) -> Self {
        let store = MemoryStore::new();
        let ceremonies = MemoryCeremonies::new();
        let clock = ManualClock::starting_at(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap());
        let settings = Settings {
            rp_id: "localhost".into(),
            rp_name: "Monetro".into(),
            origins: vec![ORIGIN.parse().unwrap()],
            allow_subdomains: false,
            ceremony_ttl: Duration::from_secs(300),
            ceremony_grace: Duration::from_secs(3600),
            decoy_key: b"decoy key for tests".to_vec(),
            max_passkeys_per_user: 20,
            hints: Vec::new(),
            webhooks: Vec::new(),
            refresh_ttl: Duration::from_secs(30 * 86_400),
            step_up_window: Duration::from_secs(600),
        };
        let mut settings = settings;
        tweak(&mut settings);
        let app = App::new(
            store.clone(),
            ceremonies.clone(),
            FakeTokens { lifetime_secs: 900 },
            PlainHasher,
            clock.clone(),
            settings,
        )
        .unwrap();
        let notifier = RecordingNotifier::default();
        let app = app.with_notifier(notifier.clone());
        Self {
            app,
            store,
            ceremonies,
            clock,
            notifier,
        }
    }
}

pub(crate) async fn signup(app: &App<MemoryDeps>, email: &str) -> Session {
    app.signup(
        Signup {
            email: email.into(),
            password: "correct horse".into(),
            display_name: Some("Ann".into()),
        },
        &RequestOrigin::default(),
    )
    .await
    .unwrap()
}
