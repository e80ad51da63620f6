//! The ports' contract suite against the Diesel store, on SQLite and on
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! PostgreSQL.

use std::time::Duration;

use monetro_adapters::testing::TestDatabase;
use monetro_adapters::{DbSettings, DbStore};
use monetro_ports::contract::{self, sample_user};
use monetro_ports::{Journal, UserRepository as _};

async fn migrated(db: &TestDatabase) -> DbStore {
    let store = DbStore::open(&DbSettings {
        url: db.url.clone(),
        max_connections: 8,
        acquire_timeout: Duration::from_secs(5),
    })
    .unwrap();
    let applied = store.migrate().await.unwrap();
    assert!(!applied.is_empty(), "a fresh database gets every migration");
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "migrating twice changes nothing"
    );
    store
}

/// Runs every suite, each on a fresh database from `make`.
async fn whole_contract(make: impl Fn() -> Option<TestDatabase>) {
    let Some(db) = make() else { return };
    let store = migrated(&db).await;
    contract::readiness(store.clone()).await;
    contract::user_repository(store.clone()).await;
    contract::audit_log(store.clone()).await;
    contract::account_guards(store.clone()).await;
    contract::session_repository(store.clone()).await;
    contract::forced_removal(store.clone()).await;
    // The credential and ceremony suites need their own users.
    let Some(fresh) = make() else { return };
    let store = migrated(&fresh).await;
    contract::credential_repository(store.clone()).await;
    let ann = sample_user("ceremony-ann@example.com");
    let bob = sample_user("ceremony-bob@example.com");
    store
        .create_user(ann.clone(), Journal::default())
        .await
        .unwrap();
    store
        .create_user(bob.clone(), Journal::default())
        .await
        .unwrap();
    contract::challenge_store(store, ann.user.id, bob.user.id).await;
    let Some(fresh) = make() else { return };
    contract::outbox(migrated(&fresh).await).await;
    let Some(fresh) = make() else { return };
    contract::change_events(migrated(&fresh).await).await;
    let Some(fresh) = make() else { return };
    contract::journals(migrated(&fresh).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_keeps_the_port_contracts() {
    whole_contract(|| Some(TestDatabase::sqlite())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_keeps_the_port_contracts() {
    whole_contract(TestDatabase::postgres).await;
}

#[tokio::test]
async fn an_unreachable_postgres_is_unavailable_within_the_timeout() {
    let store = DbStore::open(&DbSettings {
        url: "postgres://postgres@127.0.0.1:1/nothing".into(),
        max_connections: 2,
        acquire_timeout: Duration::from_millis(300),
    })
    .unwrap();
    let started = std::time::Instant::now();
    let result = store.find_user(monetro_domain::UserId::random()).await;
    assert!(
        matches!(result, Err(monetro_ports::StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_ceremonies_keep_the_challenge_contract() {
    let Some(settings) = monetro_adapters::testing::redis_settings() else {
        return;
    };
    let store = monetro_adapters::RedisCeremonies::connect(settings)
        .await
        .unwrap();
    contract::readiness(store.clone()).await;
    contract::challenge_store(
        store,
        monetro_domain::UserId::random(),
        monetro_domain::UserId::random(),
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable() {
    let settings = monetro_adapters::RedisSettings {
        url: "redis://127.0.0.1:1".into(),
        prefix: "monetro-test:".into(),
        retention: Duration::from_secs(60),
        timeout: Duration::from_millis(300),
    };
    let result = monetro_adapters::RedisCeremonies::connect(settings).await;
    assert!(
        matches!(result, Err(monetro_ports::StoreError::Unavailable(_))),
        "{:?}",
        result.err()
    );
}

#[test]
fn zero_pool_sizes_and_timeouts_are_refused_not_a_panic() {
    let db = TestDatabase::sqlite();
    for (max_connections, acquire_timeout) in [(0, 5), (8, 0)] {
        let opened = DbStore::open(&DbSettings {
            url: db.url.clone(),
            max_connections,
            acquire_timeout: Duration::from_secs(acquire_timeout),
        });
        assert!(
            opened.is_err(),
            "{max_connections} connections, {acquire_timeout} s"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outbox_claimers_never_share_a_delivery() {
    use monetro_ports::Outbox as _;
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let store = migrated(&db).await;
    let events: Vec<_> = (0..60)
        .map(|i| contract::sample_event(i, &["http://a.test/hook"]))
        .collect();
    store.enqueue(events).await.unwrap();
    let claimer = |store: DbStore| {
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_due(contract::at(100), contract::at(1000), 3)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|d| d.id));
            }
        })
    };
    let (first, second) = (claimer(store.clone()), claimer(store.clone()));
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert!(
        !first.is_empty() && !second.is_empty(),
        "both claimers worked: {} and {}",
        first.len(),
        second.len()
    );
    let mut all: Vec<_> = first.iter().chain(&second).copied().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 60);
    assert_eq!(
        first.len() + second.len(),
        60,
        "a delivery was claimed twice"
    );
}
