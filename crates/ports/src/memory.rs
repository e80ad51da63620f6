//! In-memory implementations of every port: the fakes that unit tests of
//! the layers above run against. They keep the ports' contracts (the
//! contract suite runs against them too), not just their signatures.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use monetro_domain::{
    AuditEvent, AuthSession, CredentialId, Email, Error, NewPasskey, NewUser, OutboxDelivery,
    OutboxEvent, Passkey, PasskeyId, PasskeyName, PasskeyUse, Password, RefreshTokenHash,
    RequestOrigin, SessionId, SignInMethod, User, UserHandle, UserId,
};
use uuid::Uuid;

use crate::{
    AccessGrant, AuditLog, Ceremony, CeremonyHandle, CeremonyKind, ChallengeStore, Clock,
    CredentialRepository, DeliveryError, EndedSessionEvents, IssuedToken, Journal, NewSession,
    Notifier, NotifyError, Outbox, PasswordHasher, PoolStats, Readiness, Rotation,
    SessionRepository, StoreError, StoredUser, TokenError, TokenIssuer, UserRepository,
    VerifiedToken, WebhookTransport,
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
struct Tables {
    users: Vec<NewUser>,
    passkeys: Vec<Passkey>,
    audit: Vec<AuditEvent>,
    /// Each session with its current refresh token.
    sessions: Vec<(AuthSession, RefreshTokenHash)>,
    /// Rotated-out tokens: the token, its session, when it would have
    /// expired.
    retired: Vec<(RefreshTokenHash, SessionId, DateTime<Utc>)>,
    outbox: Vec<OutboxRow>,
}

/// A delivery in the outbox and its state.
#[derive(Debug, Clone)]
struct OutboxRow {
    delivery: OutboxDelivery,
    created_at: DateTime<Utc>,
    next_attempt_at: DateTime<Utc>,
    /// Delivered or dead.
    done: bool,
    delivered_at: Option<DateTime<Utc>>,
}

/// Users and passkeys in memory. `set_unavailable(true)` makes every call
/// fail as a database that is down would.
#[derive(Clone, Default)]
pub struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
    unavailable: Arc<AtomicBool>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_unavailable(&self, down: bool) {
        self.unavailable.store(down, Ordering::SeqCst);
    }

    fn tables(&self) -> Result<MutexGuard<'_, Tables>, StoreError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("memory store switched off".into()));
        }
        Ok(lock(&self.tables))
    }
}

impl Tables {
    fn check_new_user(&self, user: &NewUser) -> Result<(), StoreError> {
        if self.users.iter().any(|u| u.user.email == user.user.email) {
            return Err(StoreError::EmailTaken);
        }
        Ok(())
    }

    fn check_new_passkey(&self, passkey: &Passkey) -> Result<(), StoreError> {
        if self
            .passkeys
            .iter()
            .any(|p| p.credential_id == passkey.credential_id)
        {
            return Err(StoreError::CredentialTaken);
        }
        Ok(())
    }

    fn passkeys_of(&self, user: UserId) -> usize {
        self.passkeys.iter().filter(|p| p.user_id == user).count()
    }

    fn enqueue(&mut self, events: Vec<OutboxEvent>) {
        for event in events {
            for endpoint in event.endpoints {
                self.outbox.push(OutboxRow {
                    delivery: OutboxDelivery {
                        id: Uuid::new_v4(),
                        event_id: event.id,
                        endpoint,
                        payload: event.payload.clone(),
                        attempts: 0,
                    },
                    created_at: event.occurred_at,
                    next_attempt_at: event.occurred_at,
                    done: false,
                    delivered_at: None,
                });
            }
        }
    }

    /// What [`Journal`] asks: written with the change, under the same lock.
    fn write(&mut self, journal: Journal) {
        self.audit.extend(journal.audit);
        if let Some(new) = journal.session {
            self.sessions.push((new.session, new.token));
        }
        self.enqueue(journal.outbox);
    }

    fn pending(&mut self, id: Uuid) -> Option<&mut OutboxRow> {
        self.outbox
            .iter_mut()
            .find(|row| row.delivery.id == id && !row.done)
    }
}

impl UserRepository for MemoryStore {
    async fn create_user(&self, user: NewUser, journal: Journal) -> Result<(), StoreError> {
        let mut tables = self.tables()?;
        tables.check_new_user(&user)?;
        tables.users.push(user);
        tables.write(journal);
        Ok(())
    }

    async fn create_user_with_passkey(
        &self,
        user: NewUser,
        passkey: NewPasskey,
        journal: Journal,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables()?;
        tables.check_new_user(&user)?;
        tables.check_new_passkey(&passkey)?;
        if passkey.user_id != user.user.id {
            return Err(StoreError::Unexpected("passkey of another user".into()));
        }
        tables.users.push(user);
        tables.passkeys.push(passkey);
        tables.write(journal);
        Ok(())
    }

    async fn replace_password_hash(
        &self,
        user: UserId,
        expected: Option<String>,
        new_hash: String,
        journal: Journal,
    ) -> Result<bool, StoreError> {
        let mut tables = self.tables()?;
        let account = tables
            .users
            .iter_mut()
            .find(|u| u.user.id == user && u.password_hash == expected);
        let replaced = account.map(|u| u.password_hash = Some(new_hash)).is_some();
        if replaced {
            tables.write(journal);
        }
        Ok(replaced)
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<StoredUser>, StoreError> {
        let tables = self.tables()?;
        Ok(tables
            .users
            .iter()
            .find(|u| &u.user.email == email)
            .map(|u| StoredUser {
                user: u.user.clone(),
                password_hash: u.password_hash.clone(),
            }))
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let tables = self.tables()?;
        Ok(tables
            .users
            .iter()
            .find(|u| u.user.id == id)
            .map(|u| u.user.clone()))
    }

    async fn find_user_by_handle(&self, handle: UserHandle) -> Result<Option<User>, StoreError> {
        let tables = self.tables()?;
        Ok(tables
            .users
            .iter()
            .find(|u| u.user.handle == handle)
            .map(|u| u.user.clone()))
    }
}

impl CredentialRepository for MemoryStore {
    async fn insert_passkey(
        &self,
        passkey: NewPasskey,
        limit: u32,
        journal: Journal,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables()?;
        if !tables.users.iter().any(|u| u.user.id == passkey.user_id) {
            return Err(StoreError::Unexpected("passkey of an unknown user".into()));
        }
        if tables.passkeys_of(passkey.user_id) >= limit as usize {
            return Err(StoreError::PasskeyLimitReached);
        }
        tables.check_new_passkey(&passkey)?;
        tables.passkeys.push(passkey);
        tables.write(journal);
        Ok(())
    }

    async fn list_passkeys(&self, user: UserId) -> Result<Vec<Passkey>, StoreError> {
        let tables = self.tables()?;
        let mut mine: Vec<Passkey> = tables
            .passkeys
            .iter()
            .filter(|p| p.user_id == user)
            .cloned()
            .collect();
        mine.sort_by_key(|p| std::cmp::Reverse(p.created_at));
        Ok(mine)
    }

    async fn count_passkeys(&self, user: UserId) -> Result<u64, StoreError> {
        Ok(self.tables()?.passkeys_of(user) as u64)
    }

    async fn find_passkey_with_owner(
        &self,
        credential_id: &CredentialId,
    ) -> Result<Option<(Passkey, User)>, StoreError> {
        let tables = self.tables()?;
        let passkey = tables
            .passkeys
            .iter()
            .find(|p| &p.credential_id == credential_id);
        Ok(passkey.and_then(|passkey| {
            let owner = tables.users.iter().find(|u| u.user.id == passkey.user_id)?;
            Some((passkey.clone(), owner.user.clone()))
        }))
    }

    async fn record_passkey_use(
        &self,
        usage: PasskeyUse,
        event: AuditEvent,
        session: Option<NewSession>,
        outbox: Vec<OutboxEvent>,
    ) -> Result<bool, StoreError> {
        let mut tables = self.tables()?;
        let Some(passkey) = tables.passkeys.iter_mut().find(|p| p.id == usage.id) else {
            return Ok(false);
        };
        if !PasskeyUse::counter_acceptable(passkey.sign_count, usage.sign_count) {
            return Ok(false);
        }
        passkey.sign_count = usage.sign_count;
        passkey.backed_up = usage.backed_up;
        passkey.last_used_at = Some(usage.used_at);
        tables.audit.push(event);
        if let Some(NewSession { session, token }) = session {
            tables.sessions.push((session, token));
        }
        tables.enqueue(outbox);
        Ok(true)
    }

    async fn rename_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
        name: PasskeyName,
        journal: Journal,
    ) -> Result<Option<Passkey>, StoreError> {
        let mut tables = self.tables()?;
        let found = tables
            .passkeys
            .iter_mut()
            .find(|p| p.id == id && p.user_id == user);
        let renamed = found.map(|passkey| {
            passkey.name = name;
            passkey.clone()
        });
        if renamed.is_some() {
            tables.write(journal);
        }
        Ok(renamed)
    }

    async fn delete_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
        journal: Journal,
    ) -> Result<bool, StoreError> {
        let mut tables = self.tables()?;
        if !tables
            .passkeys
            .iter()
            .any(|p| p.id == id && p.user_id == user)
        {
            return Ok(false);
        }
        let has_password = tables
            .users
            .iter()
            .any(|u| u.user.id == user && u.password_hash.is_some());
        if !has_password && tables.passkeys_of(user) <= 1 {
            return Err(StoreError::LastCredential);
        }
        let before = tables.passkeys.len();
        tables
            .passkeys
            .retain(|p| !(p.id == id && p.user_id == user));
        let deleted = tables.passkeys.len() < before;
        if deleted {
            tables.write(journal);
        }
        Ok(deleted)
    }

    async fn delete_passkey_forced(
        &self,
        user: UserId,
        id: PasskeyId,
        journal: Journal,
    ) -> Result<bool, StoreError> {
        let mut tables = self.tables()?;
        let before = tables.passkeys.len();
        tables
            .passkeys
            .retain(|p| !(p.id == id && p.user_id == user));
        let deleted = tables.passkeys.len() < before;
        if deleted {
            tables.write(journal);
        }
        Ok(deleted)
    }
}

impl AuditLog for MemoryStore {
    async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.tables()?.audit.push(event);
        Ok(())
    }

    async fn recent(
        &self,
        user: UserId,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let tables = self.tables()?;
        let mut mine: Vec<&AuditEvent> =
            tables.audit.iter().filter(|e| e.user_id == user).collect();
        mine.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
        let start = match before {
            Some(cursor) => match mine.iter().position(|e| e.id == cursor) {
                Some(index) => index + 1,
                None => return Ok(Vec::new()),
            },
            None => 0,
        };
        Ok(mine
            .into_iter()
            .skip(start)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

impl Outbox for MemoryStore {
    async fn enqueue(&self, events: Vec<OutboxEvent>) -> Result<(), StoreError> {
        self.tables()?.enqueue(events);
        Ok(())
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxDelivery>, StoreError> {
        let mut tables = self.tables()?;
        let mut due: Vec<&mut OutboxRow> = tables
            .outbox
            .iter_mut()
            .filter(|row| !row.done && row.next_attempt_at <= now)
            .collect();
        due.sort_by_key(|row| (row.next_attempt_at, row.created_at));
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|row| {
                row.delivery.attempts += 1;
                row.next_attempt_at = lease_until;
                row.delivery.clone()
            })
            .collect())
    }

    async fn mark_delivered(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(row) = self.tables()?.pending(id) {
            row.done = true;
            row.delivered_at = Some(at);
        }
        Ok(())
    }

    async fn record_failure(
        &self,
        id: Uuid,
        _error: String,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        if let Some(row) = self.tables()?.pending(id) {
            match retry_at {
                Some(at) => row.next_attempt_at = at,
                None => row.done = true,
            }
        }
        Ok(())
    }

    async fn backlog(&self) -> Result<u64, StoreError> {
        Ok(self.tables()?.outbox.iter().filter(|row| !row.done).count() as u64)
    }

    async fn purge_delivered(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tables = self.tables()?;
        let before = tables.outbox.len();
        tables
            .outbox
            .retain(|row| row.delivered_at.is_none_or(|at| at >= cutoff));
        Ok((before - tables.outbox.len()) as u64)
    }
}

impl MemoryStore {
    /// The bodies of the events waiting for `endpoint`, oldest first (for
    /// tests of the layers above).
    pub fn pending_payloads(&self, endpoint: &str) -> Vec<String> {
        lock(&self.tables)
            .outbox
            .iter()
            .filter(|row| !row.done && row.delivery.endpoint == endpoint)
            .map(|row| row.delivery.payload.clone())
            .collect()
    }
}

impl Tables {
    /// Retires the session's current token in favour of `next`.
    fn replace_token(&mut self, index: usize, next: RefreshTokenHash) -> Option<&mut AuthSession> {
        let (session, token) = self.sessions.get_mut(index)?;
        self.retired.push((*token, session.id, session.expires_at));
        *token = next;
        Some(session)
    }

    /// Revokes the session if it is active, writing `events` of it.
    fn revoke(
        &mut self,
        id: SessionId,
        now: DateTime<Utc>,
        events: impl Fn(UserId, SessionId) -> Vec<OutboxEvent>,
    ) -> bool {
        let found = self
            .sessions
            .iter_mut()
            .find(|(s, _)| s.id == id && s.is_active(now));
        let Some((session, _)) = found else {
            return false;
        };
        session.revoked_at = Some(now);
        let outbox = events(session.user_id, session.id);
        self.enqueue(outbox);
        true
    }
}

impl SessionRepository for MemoryStore {
    async fn create_session(&self, new: NewSession, journal: Journal) -> Result<(), StoreError> {
        let mut tables = self.tables()?;
        if !tables
            .users
            .iter()
            .any(|u| u.user.id == new.session.user_id)
        {
            return Err(StoreError::Unexpected("session of an unknown user".into()));
        }
        tables.sessions.push((new.session, new.token));
        tables.write(journal);
        Ok(())
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
        let mut tables = self.tables()?;
        let current = tables
            .sessions
            .iter()
            .position(|(s, token)| *token == presented && s.is_active(now));
        if let Some(index) = current {
            let session = tables
                .replace_token(index, next)
                .ok_or_else(|| StoreError::Unexpected("session vanished".into()))?;
            session.last_seen_at = now;
            session.expires_at = expires_at;
            session.origin = origin.clone();
            return Ok(Rotation::Rotated(session.clone()));
        }
        let Some(family) = tables
            .retired
            .iter()
            .find(|(token, _, _)| *token == presented)
            .map(|(_, id, _)| *id)
        else {
            return Ok(Rotation::Refused);
        };
        tables.revoke(family, now, on_reuse);
        Ok(tables
            .sessions
            .iter()
            .find(|(s, _)| s.id == family)
            .map_or(Rotation::Refused, |(s, _)| Rotation::Reused(s.clone())))
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
        let mut tables = self.tables()?;
        let Some(index) = tables
            .sessions
            .iter()
            .position(|(s, _)| s.id == id && s.user_id == user && s.is_active(now))
        else {
            return Ok(None);
        };
        let session = tables
            .replace_token(index, next)
            .ok_or_else(|| StoreError::Unexpected("session vanished".into()))?;
        session.method = method;
        session.auth_time = now;
        session.last_seen_at = now;
        session.expires_at = expires_at;
        Ok(Some(session.clone()))
    }

    async fn find_session(&self, id: SessionId) -> Result<Option<AuthSession>, StoreError> {
        let tables = self.tables()?;
        Ok(tables
            .sessions
            .iter()
            .find(|(s, _)| s.id == id)
            .map(|(s, _)| s.clone()))
    }

    async fn list_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuthSession>, StoreError> {
        let tables = self.tables()?;
        let mut mine: Vec<AuthSession> = tables
            .sessions
            .iter()
            .filter(|(s, _)| s.user_id == user && s.is_active(now))
            .map(|(s, _)| s.clone())
            .collect();
        mine.sort_by_key(|s| std::cmp::Reverse((s.last_seen_at, s.id.0)));
        Ok(mine)
    }

    async fn revoke_session(
        &self,
        user: UserId,
        id: SessionId,
        now: DateTime<Utc>,
        outbox: Vec<OutboxEvent>,
    ) -> Result<bool, StoreError> {
        let mut tables = self.tables()?;
        if !tables
            .sessions
            .iter()
            .any(|(s, _)| s.id == id && s.user_id == user)
        {
            return Ok(false);
        }
        Ok(tables.revoke(id, now, move |_, _| outbox.clone()))
    }

    async fn revoke_session_by_token(
        &self,
        token: RefreshTokenHash,
        now: DateTime<Utc>,
        events: impl EndedSessionEvents,
    ) -> Result<bool, StoreError> {
        let mut tables = self.tables()?;
        let holder = tables
            .sessions
            .iter()
            .find(|(_, current)| *current == token)
            .map(|(s, _)| s.id);
        let family = holder.or_else(|| {
            tables
                .retired
                .iter()
                .find(|(retired, _, _)| *retired == token)
                .map(|(_, id, _)| *id)
        });
        Ok(family.is_some_and(|id| tables.revoke(id, now, events)))
    }

    async fn revoke_all_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        events: impl EndedSessionEvents,
    ) -> Result<u64, StoreError> {
        let mut tables = self.tables()?;
        let active: Vec<SessionId> = tables
            .sessions
            .iter()
            .filter(|(s, _)| s.user_id == user && s.is_active(now))
            .map(|(s, _)| s.id)
            .collect();
        for id in &active {
            tables.revoke(*id, now, &events);
        }
        Ok(active.len() as u64)
    }

    async fn purge_sessions(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tables = self.tables()?;
        let before = tables.sessions.len();
        tables.sessions.retain(|(s, _)| {
            s.expires_at >= cutoff && s.revoked_at.is_none_or(|revoked| revoked >= cutoff)
        });
        let kept: Vec<SessionId> = tables.sessions.iter().map(|(s, _)| s.id).collect();
        tables
            .retired
            .retain(|(_, id, expires)| *expires >= cutoff && kept.contains(id));
        Ok((before - tables.sessions.len()) as u64)
    }
}

impl Readiness for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.tables().map(drop)
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats::default()
    }
}

/// Ceremonies in memory.
#[derive(Clone, Default)]
pub struct MemoryCeremonies {
    ceremonies: Arc<Mutex<HashMap<CeremonyHandle, Ceremony>>>,
}

impl MemoryCeremonies {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        lock(&self.ceremonies).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ChallengeStore for MemoryCeremonies {
    async fn put(&self, ceremony: Ceremony) -> Result<(), StoreError> {
        lock(&self.ceremonies).insert(ceremony.handle.clone(), ceremony);
        Ok(())
    }

    async fn take(
        &self,
        handle: &CeremonyHandle,
        kind: CeremonyKind,
        user_id: Option<UserId>,
    ) -> Result<Option<Ceremony>, StoreError> {
        let mut ceremonies = lock(&self.ceremonies);
        let matches = ceremonies
            .get(handle)
            .is_some_and(|c| c.kind == kind && c.user_id == user_id);
        Ok(if matches {
            ceremonies.remove(handle)
        } else {
            None
        })
    }

    async fn purge_expired(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut ceremonies = lock(&self.ceremonies);
        let before = ceremonies.len();
        ceremonies.retain(|_, c| c.expires_at >= cutoff);
        Ok((before - ceremonies.len()) as u64)
    }
}

impl Readiness for MemoryCeremonies {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats::default()
    }
}

/// A clock that only moves when told to.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn starting_at(now: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(now)),
        }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = lock(&self.now);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.now)
    }
}

/// A hasher that is fast and obviously fake: `plain:<password>`.
#[derive(Clone, Default)]
pub struct PlainHasher;

impl PasswordHasher for PlainHasher {
    async fn hash(&self, password: Password) -> Result<String, Error> {
        Ok(format!("plain:{}", password.expose()))
    }

    async fn verify(&self, password: Password, phc: Option<String>) -> Result<bool, Error> {
        Ok(phc.is_some_and(|phc| phc == format!("plain:{}", password.expose())))
    }
}

/// Unsigned tokens
/// `fake.<user>.<issued unix>.<lifetime>.<amr>.<session>.<auth_time unix>`
/// for unit tests; a real issuer lives in the adapters.
#[derive(Clone)]
pub struct FakeTokens {
    pub lifetime_secs: u64,
}

impl TokenIssuer for FakeTokens {
    fn issue(&self, grant: &AccessGrant, now: DateTime<Utc>) -> Result<IssuedToken, TokenError> {
        let token = format!(
            "fake.{}.{}.{}.{}.{}.{}",
            grant.user,
            now.timestamp(),
            self.lifetime_secs,
            grant.amr.join("+"),
            grant.session,
            grant.auth_time.timestamp(),
        );
        Ok(IssuedToken {
            token,
            expires_in: self.lifetime_secs,
        })
    }

    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [prefix, user, issued, lifetime, amr, session, auth_time] = parts.as_slice() else {
            return Err(TokenError::Invalid);
        };
        if *prefix != "fake" {
            return Err(TokenError::Invalid);
        }
        let user = user.parse().map(UserId).map_err(|_| TokenError::Invalid)?;
        let issued: i64 = issued.parse().map_err(|_| TokenError::Invalid)?;
        let lifetime: i64 = lifetime.parse().map_err(|_| TokenError::Invalid)?;
        let issued_at = DateTime::from_timestamp(issued, 0).ok_or(TokenError::Invalid)?;
        let session = SessionId::parse(session).map_err(|_| TokenError::Invalid)?;
        let auth_time: i64 = auth_time.parse().map_err(|_| TokenError::Invalid)?;
        let auth_time = DateTime::from_timestamp(auth_time, 0).ok_or(TokenError::Invalid)?;
        if now.timestamp() >= issued + lifetime {
            return Err(TokenError::Expired);
        }
        let amr = amr.split('+').map(str::to_owned).collect();
        Ok(VerifiedToken {
            user_id: user,
            amr,
            issued_at,
            session_id: Some(session),
            auth_time,
        })
    }

    fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [] })
    }
}

/// A POST as a [`RecordingWebhooks`] saw it: URL, headers, body.
pub type SentWebhook = (String, Vec<(&'static str, String)>, String);

/// Webhooks that go nowhere: each POST is recorded, and answered by the
/// next of the scripted outcomes (`Ok` once they run out).
#[derive(Clone, Default)]
pub struct RecordingWebhooks {
    sent: Arc<Mutex<Vec<SentWebhook>>>,
    script: Arc<Mutex<std::collections::VecDeque<Result<(), DeliveryError>>>>,
}

impl RecordingWebhooks {
    /// The next POSTs answer these, in order.
    pub fn answer_with(&self, outcomes: impl IntoIterator<Item = Result<(), DeliveryError>>) {
        lock(&self.script).extend(outcomes);
    }

    /// `(url, headers, body)` of every POST so far.
    pub fn sent(&self) -> Vec<SentWebhook> {
        lock(&self.sent).clone()
    }
}

impl WebhookTransport for RecordingWebhooks {
    async fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: String,
    ) -> Result<(), DeliveryError> {
        lock(&self.sent).push((url.to_owned(), headers, body));
        lock(&self.script).pop_front().unwrap_or(Ok(()))
    }
}

/// A notifier that keeps `(email, passkey name)` of every notification.
#[derive(Clone, Default)]
pub struct RecordingNotifier {
    sent: Arc<Mutex<Vec<(String, String)>>>,
    failing: Arc<AtomicBool>,
}

impl RecordingNotifier {
    pub fn sent(&self) -> Vec<(String, String)> {
        lock(&self.sent).clone()
    }

    /// Every notification fails from now on (as a mail server that is down).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl Notifier for RecordingNotifier {
    async fn passkey_added(&self, user: &User, passkey: &Passkey) -> Result<(), NotifyError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(NotifyError("mail server down".into()));
        }
        lock(&self.sent).push((
            user.email.as_str().to_owned(),
            passkey.name.as_str().to_owned(),
        ));
        Ok(())
    }
}
