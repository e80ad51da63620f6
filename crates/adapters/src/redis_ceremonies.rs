//! Ceremony state in Redis, as an alternative to the database: one hash per
//! ceremony, a sorted set of expiry times for purging, and a Lua script
//! that checks and deletes in one atomic step, so of racing finish calls
//! exactly one gets the state.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use monetro_domain::UserId;
use monetro_ports::{
    Ceremony, CeremonyHandle, CeremonyKind, ChallengeStore, PoolStats, Readiness, StoreError,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, RedisError, Script};

/// Returns `{state, expires_at_ms}` and deletes the ceremony only when its
/// kind and user match; `nil` otherwise (leaving it in place).
const TAKE: &str = r"
local found = redis.call('HMGET', KEYS[1], 'kind', 'user', 'state', 'expires')
if not found[1] or found[1] ~= ARGV[1] or found[2] ~= ARGV[2] then
  return nil
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
return {found[3], found[4]}
";

/// Deletes ceremonies that expired before ARGV[1] (ms); returns how many.
const PURGE: &str = r"
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
for _, handle in ipairs(expired) do
  redis.call('DEL', ARGV[2] .. handle)
  redis.call('ZREM', KEYS[1], handle)
end
return #expired
";

#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `redis://host:port/db`
    pub url: String,
    /// Key prefix, so several services can share one Redis.
    pub prefix: String,
    /// How long past its expiry a ceremony is kept (so a late finish can
    /// still answer "expired"); Redis drops it after that by itself.
    pub retention: Duration,
    /// Bound on every call, connecting included: a Redis that does not
    /// answer within it is unavailable.
    pub timeout: Duration,
}

#[derive(Clone)]
pub struct RedisCeremonies {
    connection: ConnectionManager,
    settings: RedisSettings,
    take: Script,
    purge: Script,
}

fn failure(error: RedisError) -> StoreError {
    if error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
    {
        StoreError::Unavailable(error.to_string())
    } else {
        StoreError::Unexpected(error.to_string())
    }
}

impl RedisCeremonies {
    /// Connects (and reconnects by itself later when Redis comes back).
    pub async fn connect(settings: RedisSettings) -> Result<Self, StoreError> {
        let client = redis::Client::open(settings.url.as_str()).map_err(failure)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(settings.timeout)
            .set_response_timeout(settings.timeout)
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(failure)?;
        Ok(Self {
            connection,
            settings,
            take: Script::new(TAKE),
            purge: Script::new(PURGE),
        })
    }

    /// Runs one call within the configured timeout. The connection manager
    /// bounds each command and each connection attempt, but a call made
    /// while it reconnects waits for the reconnection, retries and back-off
    /// included: several times the timeout.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.settings.timeout, call)
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "Redis did not answer within {:?}",
                    self.settings.timeout
                ))
            })?
            .map_err(failure)
    }

    fn key(&self, handle: &CeremonyHandle) -> String {
        format!("{}ceremony:{}", self.settings.prefix, handle.0)
    }

    fn expiry_index(&self) -> String {
        format!("{}ceremonies:expiry", self.settings.prefix)
    }
}

fn user_field(user_id: Option<UserId>) -> String {
    user_id.map(|u| u.0.to_string()).unwrap_or_default()
}

impl ChallengeStore for RedisCeremonies {
    async fn put(&self, ceremony: Ceremony) -> Result<(), StoreError> {
        let key = self.key(&ceremony.handle);
        let expires_ms = ceremony.expires_at.timestamp_millis();
        let retention = TimeDelta::from_std(self.settings.retention).unwrap_or(TimeDelta::MAX);
        let drop_at_ms = (ceremony.expires_at + retention).timestamp_millis();
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(
                &key,
                &[
                    ("kind", ceremony.kind.as_str().to_owned()),
                    ("user", user_field(ceremony.user_id)),
                    ("state", ceremony.state),
                    ("expires", expires_ms.to_string()),
                ],
            )
            .ignore()
            .pexpire_at(&key, drop_at_ms)
            .ignore()
            .zadd(self.expiry_index(), &ceremony.handle.0, expires_ms)
            .ignore();
        self.bounded(pipe.query_async::<()>(&mut connection)).await
    }

    async fn take(
        &self,
        handle: &CeremonyHandle,
        kind: CeremonyKind,
        user_id: Option<UserId>,
    ) -> Result<Option<Ceremony>, StoreError> {
        let mut connection = self.connection.clone();
        let mut take = self.take.prepare_invoke();
        take.key(self.key(handle))
            .key(self.expiry_index())
            .arg(kind.as_str())
            .arg(user_field(user_id))
            .arg(&handle.0);
        let found: Option<(String, i64)> = self.bounded(take.invoke_async(&mut connection)).await?;
        let Some((state, expires_ms)) = found else {
            return Ok(None);
        };
        let expires_at = DateTime::<Utc>::from_timestamp_millis(expires_ms)
            .ok_or_else(|| StoreError::Unexpected("stored ceremony expiry is invalid".into()))?;
        Ok(Some(Ceremony {
            handle: handle.clone(),
            kind,
            user_id,
            state,
            expires_at,
        }))
    }

    async fn purge_expired(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        let mut purge = self.purge.prepare_invoke();
        purge
            .key(self.expiry_index())
            .arg(cutoff.timestamp_millis())
            .arg(format!("{}ceremony:", self.settings.prefix));
        self.bounded(purge.invoke_async(&mut connection)).await
    }
}

impl Readiness for RedisCeremonies {
    async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        self.bounded(connection.ping::<String>()).await.map(drop)
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats::default()
    }
}
