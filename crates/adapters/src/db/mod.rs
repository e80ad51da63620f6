//! The Diesel store: PostgreSQL or SQLite, chosen by the database URL, behind
//! one type that implements the user, credential, ceremony and readiness
//! ports. Diesel is synchronous, so every statement runs on the blocking
//! thread pool with a connection from a bounded pool.

mod queries;
mod rows;
mod schema;
mod types;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection as _;
use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, Pool, PooledConnection, R2D2Connection,
};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{PgConnection, RunQueryDsl as _, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use monetro_domain::{
    AuditEvent, AuthSession, CredentialId, Email, NewPasskey, NewUser, OutboxDelivery, OutboxEvent,
    Passkey, PasskeyId, PasskeyName, PasskeyUse, RefreshTokenHash, RequestOrigin, SessionId,
    SignInMethod, User, UserHandle, UserId,
};
use monetro_ports::{
    AuditLog, Ceremony, CeremonyHandle, CeremonyKind, ChallengeStore, CredentialRepository,
    EndedSessionEvents, Journal, NewSession, Outbox, PoolStats, Readiness, Rotation,
    SessionRepository, StoreError, StoredUser, UserRepository,
};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Serialises migrations of instances that start together.
const MIGRATION_LOCK_ID: i64 = 0x6d6f_6e65_7472_6f00;

/// Where the database is and how many connections to keep.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// `postgres://…`, `sqlite://PATH` or a plain file path (SQLite).
    pub url: String,
    pub max_connections: u32,
    /// How long a request waits for a connection before the store answers
    /// `Unavailable`.
    pub acquire_timeout: Duration,
}

#[derive(Clone)]
enum Pools {
    Postgres(Pool<ConnectionManager<PgConnection>>),
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
}

/// A connection of either backend, lent to one closure.
enum Conn<'a> {
    Postgres(&'a mut PgConnection),
    Sqlite(&'a mut SqliteConnection),
}

/// Why a statement did not run.
enum Failure {
    /// No connection within the timeout (database down or pool exhausted).
    NoConnection(String),
    /// The statement failed; `broken` when the connection died with it.
    Query { error: DieselError, broken: bool },
    /// The blocking task itself was lost.
    Task(String),
}

impl Failure {
    /// `on_unique` is what a unique violation means for this statement.
    fn into_store_error(self, on_unique: Option<StoreError>) -> StoreError {
        match self {
            Failure::NoConnection(cause) => StoreError::Unavailable(cause),
            Failure::Task(cause) => StoreError::Unexpected(cause),
            Failure::Query { error, broken } => match (error, on_unique) {
                (
                    DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _),
                    Some(conflict),
                ) => conflict,
                (DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info), _) => {
                    StoreError::Unavailable(info.message().to_owned())
                }
                (DieselError::DatabaseError(_, info), _)
                    if broken || info.message().contains("database is locked") =>
                {
                    StoreError::Unavailable(info.message().to_owned())
                }
                (error, _) if broken => StoreError::Unavailable(error.to_string()),
                (error, _) => StoreError::Unexpected(error.to_string()),
            },
        }
    }
}

/// Runs the same named query for whichever backend the store uses.
macro_rules! on_backend {
    ($store:expr, $on_unique:expr, $query:ident ( $($arg:expr),* )) => {
        $store
            .run(move |conn| match conn {
                Conn::Postgres(c) => queries::pg::$query(c, $($arg),*),
                Conn::Sqlite(c) => queries::sqlite::$query(c, $($arg),*),
            })
            .await
            .map_err(|failure| failure.into_store_error($on_unique))
    };
}

/// SQLite settings every connection needs: foreign keys on, and waiting
/// (not failing) while another writer holds the lock. WAL mode is set once
/// at migration: it is stored in the file, and switching it from several
/// new connections at once would itself fail on the lock.
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout: Duration,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            self.busy_timeout.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The database-backed store.
#[derive(Clone)]
pub struct DbStore {
    pools: Pools,
}

impl DbStore {
    /// Prepares the pool; connections are opened lazily, so a database that
    /// is down now is not an error until it is used.
    pub fn open(settings: &DbSettings) -> Result<Self, StoreError> {
        // The pool builder panics on zero sizes and timeouts.
        if settings.max_connections == 0 {
            return Err(StoreError::Unexpected(
                "max_connections must be at least 1".into(),
            ));
        }
        if settings.acquire_timeout.is_zero() {
            return Err(StoreError::Unexpected(
                "acquire_timeout must be above zero".into(),
            ));
        }
        let url = settings.url.trim();
        let pools = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = Pool::builder()
                .max_size(settings.max_connections)
                .min_idle(Some(0))
                .connection_timeout(settings.acquire_timeout)
                .test_on_check_out(false)
                .build_unchecked(ConnectionManager::new(url));
            Pools::Postgres(pool)
        } else {
            let path = sqlite_path(url);
            if let Some(parent) = Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Unexpected(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            let pool = Pool::builder()
                .max_size(settings.max_connections)
                .min_idle(Some(1))
                .connection_timeout(settings.acquire_timeout)
                .test_on_check_out(false)
                .connection_customizer(Box::new(SqlitePragmas {
                    busy_timeout: settings.acquire_timeout,
                }))
                .build_unchecked(ConnectionManager::new(path));
            Pools::Sqlite(pool)
        };
        Ok(Self { pools })
    }

    /// `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        match self.pools {
            Pools::Postgres(_) => "postgres",
            Pools::Sqlite(_) => "sqlite",
        }
    }

    /// Applies pending migrations (under an advisory lock on PostgreSQL, so
    /// instances starting together do not race) and returns their versions.
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        self.run(|conn| {
            let applied = match conn {
                Conn::Postgres(c) => {
                    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))
                        .execute(c)?;
                    let applied = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(versions);
                    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))
                        .execute(c)?;
                    applied
                }
                Conn::Sqlite(c) => {
                    c.batch_execute("PRAGMA journal_mode = WAL;")?;
                    c.run_pending_migrations(SQLITE_MIGRATIONS).map(versions)
                }
            };
            applied.map_err(|e| DieselError::QueryBuilderError(e.to_string().into()))
        })
        .await
        .map_err(|failure| failure.into_store_error(None))
    }

    async fn run<T, F>(&self, query: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(Conn<'_>) -> Result<T, DieselError> + Send + 'static,
    {
        let pools = self.pools.clone();
        let task = tokio::task::spawn_blocking(move || match pools {
            Pools::Postgres(pool) => {
                let mut conn = checkout(&pool)?;
                let result = query(Conn::Postgres(&mut conn));
                finish(result, &mut *conn)
            }
            Pools::Sqlite(pool) => {
                let mut conn = checkout(&pool)?;
                let result = query(Conn::Sqlite(&mut conn));
                finish(result, &mut *conn)
            }
        });
        task.await.map_err(|e| Failure::Task(e.to_string()))?
    }
}

fn checkout<C: R2D2Connection + 'static>(
    pool: &Pool<ConnectionManager<C>>,
) -> Result<PooledConnection<ConnectionManager<C>>, Failure> {
    pool.get().map_err(|e| Failure::NoConnection(e.to_string()))
}

fn finish<T, C: R2D2Connection>(
    result: Result<T, DieselError>,
    conn: &mut C,
) -> Result<T, Failure> {
    result.map_err(|error| Failure::Query {
        error,
        broken: conn.is_broken(),
    })
}

fn versions(applied: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    applied.iter().map(ToString::to_string).collect()
}

/// `sqlite://data/monetro.db`, `sqlite:data/monetro.db` or a plain path.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

fn users_of(row: Option<rows::UserRow>) -> Result<Option<(User, Option<String>)>, StoreError> {
    row.map(rows::UserRow::into_user).transpose()
}

impl UserRepository for DbStore {
    async fn create_user(&self, user: NewUser, journal: Journal) -> Result<(), StoreError> {
        on_backend!(
            self,
            Some(StoreError::EmailTaken),
            create_user(&user, &journal)
        )
        .map(drop)
    }

    async fn create_user_with_passkey(
        &self,
        user: NewUser,
        passkey: NewPasskey,
        journal: Journal,
    ) -> Result<(), StoreError> {
        on_backend!(
            self,
            Some(StoreError::CredentialTaken),
            create_user_with_passkey(&user, &passkey, &journal)
        )?
    }

    async fn replace_password_hash(
        &self,
        user: UserId,
        expected: Option<String>,
        new_hash: String,
        journal: Journal,
    ) -> Result<bool, StoreError> {
        let replaced = on_backend!(
            self,
            None,
            replace_password_hash(user.0, expected.as_deref(), &new_hash, &journal)
        )?;
        Ok(replaced == 1)
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError> {
        let email = email.as_str().to_owned();
        let row = on_backend!(self, None, find_user_by_email(&email))?;
        Ok(users_of(row)?.map(|(user, password_hash)| StoredUser {
            user,
            password_hash,
        }))
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = on_backend!(self, None, find_user(id.0))?;
        Ok(users_of(row)?.map(|(user, _)| user))
    }

    async fn find_user_by_handle(&self, handle: UserHandle) -> Result<Option<User>, StoreError> {
        let row = on_backend!(self, None, find_user_by_handle(handle.0))?;
        Ok(users_of(row)?.map(|(user, _)| user))
    }
}

impl CredentialRepository for DbStore {
    async fn insert_passkey(
        &self,
        passkey: NewPasskey,
        limit: u32,
        journal: Journal,
    ) -> Result<(), StoreError> {
        let limit = i64::from(limit);
        on_backend!(
            self,
            Some(StoreError::CredentialTaken),
            insert_passkey(&passkey, limit, &journal)
        )?
    }

    async fn list_passkeys(&self, user: UserId) -> Result<Vec<Passkey>, StoreError> {
        let rows = on_backend!(self, None, list_passkeys(user.0))?;
        rows.into_iter()
            .map(rows::PasskeyRow::into_passkey)
            .collect()
    }

    async fn count_passkeys(&self, user: UserId) -> Result<u64, StoreError> {
        let count = on_backend!(self, None, count_passkeys(user.0))?;
        u64::try_from(count).map_err(|e| StoreError::Unexpected(e.to_string()))
    }

    async fn find_passkey_with_owner(
        &self,
        credential_id: &CredentialId,
    ) -> Result<Option<(Passkey, User)>, StoreError> {
        let id = credential_id.as_bytes().to_vec();
        let Some((passkey, owner)) = on_backend!(self, None, find_passkey_with_owner(&id))? else {
            return Ok(None);
        };
        let (owner, _) = owner.into_user()?;
        Ok(Some((passkey.into_passkey()?, owner)))
    }

    async fn record_passkey_use(
        &self,
        usage: PasskeyUse,
        event: AuditEvent,
        session: Option<NewSession>,
        outbox: Vec<OutboxEvent>,
    ) -> Result<bool, StoreError> {
        let outbox = Journal::outbox(outbox);
        Ok(on_backend!(
            self,
            None,
            record_passkey_use(&usage, &event, session.as_ref(), &outbox)
        )? == 1)
    }

    async fn rename_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
        name: PasskeyName,
        journal: Journal,
    ) -> Result<Option<Passkey>, StoreError> {
        let name = name.as_str().to_owned();
        let row = on_backend!(self, None, rename_passkey(user.0, id.0, &name, &journal))?;
        row.map(rows::PasskeyRow::into_passkey).transpose()
    }

    async fn delete_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
        journal: Journal,
    ) -> Result<bool, StoreError> {
        Ok(on_backend!(self, None, delete_passkey(user.0, id.0, &journal))?? == 1)
    }

    async fn delete_passkey_forced(
        &self,
        user: UserId,
        id: PasskeyId,
        journal: Journal,
    ) -> Result<bool, StoreError> {
        Ok(on_backend!(self, None, delete_passkey_forced(user.0, id.0, &journal))? == 1)
    }
}

impl ChallengeStore for DbStore {
    async fn put(&self, ceremony: Ceremony) -> Result<(), StoreError> {
        on_backend!(self, None, put_ceremony(&ceremony)).map(drop)
    }

    async fn take(
        &self,
        handle: &CeremonyHandle,
        kind: CeremonyKind,
        user_id: Option<UserId>,
    ) -> Result<Option<Ceremony>, StoreError> {
        let handle = handle.0.clone();
        let user = user_id.map(|u| u.0);
        let row = on_backend!(self, None, take_ceremony(&handle, kind, user))?;
        row.map(rows::CeremonyRow::into_ceremony).transpose()
    }

    async fn purge_expired(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let purged = on_backend!(self, None, purge_ceremonies(cutoff))?;
        Ok(purged as u64)
    }
}

impl AuditLog for DbStore {
    async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        on_backend!(self, None, record_audit(&event)).map(drop)
    }

    async fn recent(
        &self,
        user: UserId,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = on_backend!(self, None, recent_audit(user.0, before, i64::from(limit)))?;
        rows.into_iter().map(rows::AuditRow::into_event).collect()
    }
}

impl Outbox for DbStore {
    async fn enqueue(&self, events: Vec<OutboxEvent>) -> Result<(), StoreError> {
        on_backend!(self, None, enqueue_outbox(&events))
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxDelivery>, StoreError> {
        let limit = i64::from(limit);
        on_backend!(self, None, claim_outbox(now, lease_until, limit))
    }

    async fn mark_delivered(&self, id: uuid::Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        on_backend!(self, None, mark_outbox_delivered(id, at)).map(drop)
    }

    async fn record_failure(
        &self,
        id: uuid::Uuid,
        error: String,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        on_backend!(self, None, record_outbox_failure(id, &error, retry_at)).map(drop)
    }

    async fn backlog(&self) -> Result<u64, StoreError> {
        let pending = on_backend!(self, None, outbox_backlog())?;
        u64::try_from(pending).map_err(|e| StoreError::Unexpected(e.to_string()))
    }

    async fn purge_delivered(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(on_backend!(self, None, purge_outbox(cutoff))? as u64)
    }
}

impl SessionRepository for DbStore {
    async fn create_session(&self, new: NewSession, journal: Journal) -> Result<(), StoreError> {
        on_backend!(self, None, create_session(&new, &journal)).map(drop)
    }

    async fn rotate_session(
        &self,
        presented: RefreshTokenHash,
        next: RefreshTokenHash,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        origin: &RequestOrigin,
        on_reuse: impl EndedSessionEvents,
    ) -> Result<Rotation, StoreError> {
        let origin = origin.clone();
        let on_reuse = by_ids(on_reuse);
        let row = on_backend!(
            self,
            None,
            rotate_session(&presented.0, &next.0, now, expires_at, &origin, &on_reuse)
        )?;
        Ok(match row {
            rows::RotationRow::Rotated(row) => Rotation::Rotated(row.into_session()?),
            rows::RotationRow::Reused(row) => Rotation::Reused(row.into_session()?),
            rows::RotationRow::Refused => Rotation::Refused,
        })
    }

    async fn reauthenticate_session(
        &self,
        user: UserId,
        id: SessionId,
        method: SignInMethod,
        next: RefreshTokenHash,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<AuthSession>, StoreError> {
        let row = on_backend!(
            self,
            None,
            reauthenticate_session(user.0, id.0, method, &next.0, now, expires_at)
        )?;
        row.map(rows::SessionRow::into_session).transpose()
    }

    async fn find_session(&self, id: SessionId) -> Result<Option<AuthSession>, StoreError> {
        let row = on_backend!(self, None, find_session(id.0))?;
        row.map(rows::SessionRow::into_session).transpose()
    }

    async fn list_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuthSession>, StoreError> {
        let rows = on_backend!(self, None, list_sessions(user.0, now))?;
        rows.into_iter()
            .map(rows::SessionRow::into_session)
            .collect()
    }

    async fn revoke_session(
        &self,
        user: UserId,
        id: SessionId,
        now: DateTime<Utc>,
        outbox: Vec<OutboxEvent>,
    ) -> Result<bool, StoreError> {
        let outbox = Journal::outbox(outbox);
        Ok(on_backend!(self, None, revoke_session(user.0, id.0, now, &outbox))? == 1)
    }

    async fn revoke_session_by_token(
        &self,
        token: RefreshTokenHash,
        now: DateTime<Utc>,
        events: impl EndedSessionEvents,
    ) -> Result<bool, StoreError> {
        let events = by_ids(events);
        Ok(on_backend!(self, None, revoke_session_by_token(&token.0, now, &events))? == 1)
    }

    async fn revoke_all_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        events: impl EndedSessionEvents,
    ) -> Result<u64, StoreError> {
        let events = by_ids(events);
        Ok(on_backend!(self, None, revoke_all_sessions(user.0, now, &events))? as u64)
    }

    async fn purge_sessions(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(on_backend!(self, None, purge_sessions(cutoff))? as u64)
    }
}

/// `events` over the raw ids the queries see.
fn by_ids(events: impl EndedSessionEvents) -> impl Fn(uuid::Uuid, uuid::Uuid) -> Vec<OutboxEvent> {
    move |user, id| events(UserId(user), SessionId(id))
}

impl Readiness for DbStore {
    async fn ping(&self) -> Result<(), StoreError> {
        on_backend!(self, None, ping()).map(drop)
    }

    fn pool_stats(&self) -> PoolStats {
        let (state, max) = match &self.pools {
            Pools::Postgres(pool) => (pool.state(), pool.max_size()),
            Pools::Sqlite(pool) => (pool.state(), pool.max_size()),
        };
        PoolStats {
            open: state.connections,
            idle: state.idle_connections,
            max,
        }
    }
}
