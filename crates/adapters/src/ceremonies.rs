//! Where ceremony state lives, chosen by configuration: the database (the
//! default) or Redis.

use chrono::{DateTime, Utc};
use monetro_domain::UserId;
use monetro_ports::{
    Ceremony, CeremonyHandle, CeremonyKind, ChallengeStore, PoolStats, Readiness, StoreError,
};

use crate::{DbStore, RedisCeremonies};

#[derive(Clone)]
pub enum CeremonyStore {
    Database(DbStore),
    Redis(RedisCeremonies),
}

impl ChallengeStore for CeremonyStore {
    async fn put(&self, ceremony: Ceremony) -> Result<(), StoreError> {
        match self {
            Self::Database(store) => store.put(ceremony).await,
            Self::Redis(store) => store.put(ceremony).await,
        }
    }

    async fn take(
        &self,
        handle: &CeremonyHandle,
        kind: CeremonyKind,
        user_id: Option<UserId>,
    ) -> Result<Option<Ceremony>, StoreError> {
        match self {
            Self::Database(store) => store.take(handle, kind, user_id).await,
            Self::Redis(store) => store.take(handle, kind, user_id).await,
        }
    }

    async fn purge_expired(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        match self {
            Self::Database(store) => store.purge_expired(cutoff).await,
            Self::Redis(store) => store.purge_expired(cutoff).await,
        }
    }
}

impl Readiness for CeremonyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Database(store) => store.ping().await,
            Self::Redis(store) => store.ping().await,
        }
    }

    fn pool_stats(&self) -> PoolStats {
        match self {
            Self::Database(store) => store.pool_stats(),
            Self::Redis(store) => store.pool_stats(),
        }
    }
}
