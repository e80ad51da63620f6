//! Every statement the stores issue, written once and compiled for each
//! backend against its own schema module. The few things that differ (how
//! a write transaction starts and how a user's row is locked) are written
//! per backend after the shared statements.

use diesel::result::{Error as DieselError, QueryResult};
use monetro_ports::StoreError;

/// Why a write transaction was rolled back: a failed statement, or a rule
/// of the port that refused the write.
pub(crate) enum TxError {
    Query(DieselError),
    Refused(StoreError),
}

impl From<DieselError> for TxError {
    fn from(error: DieselError) -> Self {
        Self::Query(error)
    }
}

/// A transaction's outcome with refusals set apart from failures, so that
/// a failed statement still goes through the store's usual error mapping.
fn settle<T>(outcome: Result<T, TxError>) -> QueryResult<Result<T, StoreError>> {
    match outcome {
        Ok(value) => Ok(Ok(value)),
        Err(TxError::Refused(refusal)) => Ok(Err(refusal)),
        Err(TxError::Query(error)) => Err(error),
    }
}

macro_rules! queries {
    ($schema:ident, $conn:ty) => {
        use chrono::{DateTime, Utc};
        use diesel::prelude::*;
        use monetro_domain::{
            AuditEvent, AuthSession, NewUser, OutboxDelivery, OutboxEvent, Passkey, PasskeyUse,
            RequestOrigin, SignInMethod,
        };
        use monetro_ports::{Ceremony, CeremonyKind, Journal, NewSession, StoreError};
        use uuid::Uuid;

        use super::{TxError, settle};

        use crate::db::rows::{
            AuditRow, CeremonyRow, PasskeyRow, RotationRow, SessionRow, UserRow, join_transports,
        };
        use crate::db::schema::$schema::{
            audit_events, ceremonies, passkeys, session_retired_tokens, sessions, users,
            webhook_outbox,
        };
        use crate::db::types::DbUuid;

        type Conn = $conn;

        const USER_COLUMNS: (
            users::id,
            users::email,
            users::display_name,
            users::user_handle,
            users::password_hash,
            users::created_at,
        ) = (
            users::id,
            users::email,
            users::display_name,
            users::user_handle,
            users::password_hash,
            users::created_at,
        );

        const PASSKEY_COLUMNS: (
            passkeys::id,
            passkeys::user_id,
            passkeys::name,
            passkeys::credential_id,
            passkeys::verifier,
            passkeys::sign_count,
            passkeys::backup_eligible,
            passkeys::backed_up,
            passkeys::transports,
            passkeys::aaguid,
            passkeys::created_at,
            passkeys::last_used_at,
        ) = (
            passkeys::id,
            passkeys::user_id,
            passkeys::name,
            passkeys::credential_id,
            passkeys::verifier,
            passkeys::sign_count,
            passkeys::backup_eligible,
            passkeys::backed_up,
            passkeys::transports,
            passkeys::aaguid,
            passkeys::created_at,
            passkeys::last_used_at,
        );

        const CEREMONY_COLUMNS: (
            ceremonies::handle,
            ceremonies::kind,
            ceremonies::user_id,
            ceremonies::state,
            ceremonies::expires_at,
        ) = (
            ceremonies::handle,
            ceremonies::kind,
            ceremonies::user_id,
            ceremonies::state,
            ceremonies::expires_at,
        );

        pub fn create_user(
            conn: &mut Conn,
            new: &NewUser,
            journal: &Journal,
        ) -> QueryResult<usize> {
            with_journal(
                conn,
                journal,
                |created| *created == 1,
                |conn| insert_user(conn, new),
            )
        }

        fn insert_user(conn: &mut Conn, new: &NewUser) -> QueryResult<usize> {
            let user = &new.user;
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(DbUuid(user.id.0)),
                    users::email.eq(user.email.as_str()),
                    users::display_name.eq(user.display_name.as_ref().map(|n| n.as_str())),
                    users::user_handle.eq(DbUuid(user.handle.0)),
                    users::password_hash.eq(new.password_hash.as_deref()),
                    users::created_at.eq(user.created_at),
                ))
                .execute(conn)
        }

        /// The account, unless its email is taken (then nothing is written
        /// and the answer says so), and its passkey, in one transaction. A
        /// taken credential id fails the insert and rolls the account back.
        pub fn create_user_with_passkey(
            conn: &mut Conn,
            new: &NewUser,
            passkey: &Passkey,
            journal: &Journal,
        ) -> QueryResult<Result<(), StoreError>> {
            settle(write_transaction(conn, |conn| {
                let user = &new.user;
                let created = diesel::insert_into(users::table)
                    .values((
                        users::id.eq(DbUuid(user.id.0)),
                        users::email.eq(user.email.as_str()),
                        users::display_name.eq(user.display_name.as_ref().map(|n| n.as_str())),
                        users::user_handle.eq(DbUuid(user.handle.0)),
                        users::password_hash.eq(new.password_hash.as_deref()),
                        users::created_at.eq(user.created_at),
                    ))
                    .on_conflict(users::email)
                    .do_nothing()
                    .execute(conn)?;
                if created == 0 {
                    return Err(TxError::Refused(StoreError::EmailTaken));
                }
                insert_passkey_row(conn, passkey)?;
                write_journal(conn, journal)?;
                Ok(())
            }))
        }

        /// Sets the password hash only over the expected one (`None`: no
        /// password yet), so two changes cannot both apply.
        pub fn replace_password_hash(
            conn: &mut Conn,
            user: Uuid,
            expected: Option<&str>,
            new_hash: &str,
            journal: &Journal,
        ) -> QueryResult<usize> {
            with_journal(
                conn,
                journal,
                |replaced| *replaced == 1,
                |conn| {
                    let account = users::table.filter(users::id.eq(DbUuid(user)));
                    match expected {
                        Some(old) => diesel::update(account.filter(users::password_hash.eq(old)))
                            .set(users::password_hash.eq(new_hash))
                            .execute(conn),
                        None => diesel::update(account.filter(users::password_hash.is_null()))
                            .set(users::password_hash.eq(new_hash))
                            .execute(conn),
                    }
                },
            )
        }

        pub fn find_user_by_email(conn: &mut Conn, email: &str) -> QueryResult<Option<UserRow>> {
            users::table
                .filter(users::email.eq(email))
                .select(USER_COLUMNS)
                .first(conn)
                .optional()
        }

        pub fn find_user(conn: &mut Conn, id: Uuid) -> QueryResult<Option<UserRow>> {
            users::table
                .filter(users::id.eq(DbUuid(id)))
                .select(USER_COLUMNS)
                .first(conn)
                .optional()
        }

        pub fn find_user_by_handle(conn: &mut Conn, handle: Uuid) -> QueryResult<Option<UserRow>> {
            users::table
                .filter(users::user_handle.eq(DbUuid(handle)))
                .select(USER_COLUMNS)
                .first(conn)
                .optional()
        }

        /// Counts the owner's passkeys and inserts this one in one
        /// transaction, with the owner's row locked, so racing inserts
        /// cannot take the owner past `limit`.
        pub fn insert_passkey(
            conn: &mut Conn,
            passkey: &Passkey,
            limit: i64,
            journal: &Journal,
        ) -> QueryResult<Result<(), StoreError>> {
            settle(write_transaction(conn, |conn| {
                lock_user(conn, passkey.user_id.0)?;
                if count_passkeys(conn, passkey.user_id.0)? >= limit {
                    return Err(TxError::Refused(StoreError::PasskeyLimitReached));
                }
                insert_passkey_row(conn, passkey)?;
                write_journal(conn, journal)?;
                Ok(())
            }))
        }

        fn insert_passkey_row(conn: &mut Conn, passkey: &Passkey) -> QueryResult<usize> {
            diesel::insert_into(passkeys::table)
                .values((
                    passkeys::id.eq(DbUuid(passkey.id.0)),
                    passkeys::user_id.eq(DbUuid(passkey.user_id.0)),
                    passkeys::name.eq(passkey.name.as_str()),
                    passkeys::credential_id.eq(passkey.credential_id.as_bytes()),
                    passkeys::verifier.eq(&passkey.verifier),
                    passkeys::sign_count.eq(i64::from(passkey.sign_count)),
                    passkeys::backup_eligible.eq(passkey.backup_eligible),
                    passkeys::backed_up.eq(passkey.backed_up),
                    passkeys::transports.eq(join_transports(&passkey.transports)),
                    passkeys::aaguid.eq(DbUuid(passkey.aaguid)),
                    passkeys::created_at.eq(passkey.created_at),
                    passkeys::last_used_at.eq(passkey.last_used_at),
                ))
                .execute(conn)
        }

        pub fn list_passkeys(conn: &mut Conn, user: Uuid) -> QueryResult<Vec<PasskeyRow>> {
            passkeys::table
                .filter(passkeys::user_id.eq(DbUuid(user)))
                .order((passkeys::created_at.desc(), passkeys::id.desc()))
                .select(PASSKEY_COLUMNS)
                .load(conn)
        }

        pub fn count_passkeys(conn: &mut Conn, user: Uuid) -> QueryResult<i64> {
            passkeys::table
                .filter(passkeys::user_id.eq(DbUuid(user)))
                .count()
                .get_result(conn)
        }

        pub fn find_passkey_with_owner(
            conn: &mut Conn,
            credential_id: &[u8],
        ) -> QueryResult<Option<(PasskeyRow, UserRow)>> {
            passkeys::table
                .inner_join(users::table)
                .filter(passkeys::credential_id.eq(credential_id))
                .select((PASSKEY_COLUMNS, USER_COLUMNS))
                .first(conn)
                .optional()
        }

        pub fn rename_passkey(
            conn: &mut Conn,
            user: Uuid,
            id: Uuid,
            name: &str,
            journal: &Journal,
        ) -> QueryResult<Option<PasskeyRow>> {
            with_journal(conn, journal, Option::is_some, |conn| {
                diesel::update(
                    passkeys::table
                        .filter(passkeys::id.eq(DbUuid(id)))
                        .filter(passkeys::user_id.eq(DbUuid(user))),
                )
                .set(passkeys::name.eq(name))
                .returning(PASSKEY_COLUMNS)
                .get_result(conn)
                .optional()
            })
        }

        /// Deletes the passkey unless it is the last one of an account
        /// without a password; checked and done with the owner's row
        /// locked, so racing deletes cannot remove the last two together.
        pub fn delete_passkey(
            conn: &mut Conn,
            user: Uuid,
            id: Uuid,
            journal: &Journal,
        ) -> QueryResult<Result<usize, StoreError>> {
            settle(write_transaction(conn, |conn| {
                let Some(has_password) = lock_user(conn, user)? else {
                    return Ok(0);
                };
                let mine = passkeys::table
                    .filter(passkeys::id.eq(DbUuid(id)))
                    .filter(passkeys::user_id.eq(DbUuid(user)));
                let found: i64 = mine.count().get_result(conn)?;
                if found == 0 {
                    return Ok(0);
                }
                if !has_password && count_passkeys(conn, user)? <= 1 {
                    return Err(TxError::Refused(StoreError::LastCredential));
                }
                let deleted = diesel::delete(mine).execute(conn)?;
                if deleted == 1 {
                    write_journal(conn, journal)?;
                }
                Ok(deleted)
            }))
        }

        pub fn put_ceremony(conn: &mut Conn, ceremony: &Ceremony) -> QueryResult<usize> {
            diesel::insert_into(ceremonies::table)
                .values((
                    ceremonies::handle.eq(&ceremony.handle.0),
                    ceremonies::kind.eq(ceremony.kind.as_str()),
                    ceremonies::user_id.eq(ceremony.user_id.map(|u| DbUuid(u.0))),
                    ceremonies::state.eq(&ceremony.state),
                    ceremonies::expires_at.eq(ceremony.expires_at),
                ))
                .execute(conn)
        }

        /// One `DELETE … RETURNING`: of racing calls, one gets the row.
        pub fn take_ceremony(
            conn: &mut Conn,
            handle: &str,
            kind: CeremonyKind,
            user: Option<Uuid>,
        ) -> QueryResult<Option<CeremonyRow>> {
            let matching = ceremonies::table
                .filter(ceremonies::handle.eq(handle))
                .filter(ceremonies::kind.eq(kind.as_str()));
            match user {
                Some(user) => diesel::delete(matching.filter(ceremonies::user_id.eq(DbUuid(user))))
                    .returning(CEREMONY_COLUMNS)
                    .get_result(conn)
                    .optional(),
                None => diesel::delete(matching.filter(ceremonies::user_id.is_null()))
                    .returning(CEREMONY_COLUMNS)
                    .get_result(conn)
                    .optional(),
            }
        }

        pub fn purge_ceremonies(conn: &mut Conn, cutoff: DateTime<Utc>) -> QueryResult<usize> {
            diesel::delete(ceremonies::table.filter(ceremonies::expires_at.lt(cutoff)))
                .execute(conn)
        }

        const AUDIT_COLUMNS: (
            audit_events::id,
            audit_events::user_id,
            audit_events::kind,
            audit_events::code,
            audit_events::passkey_id,
            audit_events::client_ip,
            audit_events::user_agent,
            audit_events::created_at,
        ) = (
            audit_events::id,
            audit_events::user_id,
            audit_events::kind,
            audit_events::code,
            audit_events::passkey_id,
            audit_events::client_ip,
            audit_events::user_agent,
            audit_events::created_at,
        );

        pub fn record_audit(conn: &mut Conn, event: &AuditEvent) -> QueryResult<usize> {
            diesel::insert_into(audit_events::table)
                .values((
                    audit_events::id.eq(DbUuid(event.id)),
                    audit_events::user_id.eq(DbUuid(event.user_id.0)),
                    audit_events::kind.eq(event.kind.as_str()),
                    audit_events::code.eq(event.code.as_deref()),
                    audit_events::passkey_id.eq(event.passkey_id.map(DbUuid)),
                    audit_events::client_ip.eq(event.origin.client_ip.as_deref()),
                    audit_events::user_agent.eq(event.origin.user_agent.as_deref()),
                    audit_events::created_at.eq(event.at),
                ))
                .execute(conn)
        }

        /// Newest first; after `before` (an event of the same user) when given.
        pub fn recent_audit(
            conn: &mut Conn,
            user: Uuid,
            before: Option<Uuid>,
            limit: i64,
        ) -> QueryResult<Vec<AuditRow>> {
            let mine = audit_events::table
                .filter(audit_events::user_id.eq(DbUuid(user)))
                .order((audit_events::created_at.desc(), audit_events::id.desc()))
                .select(AUDIT_COLUMNS)
                .limit(limit);
            let Some(cursor) = before else {
                return mine.load(conn);
            };
            let cursor_time: Option<DateTime<Utc>> = audit_events::table
                .filter(audit_events::id.eq(DbUuid(cursor)))
                .filter(audit_events::user_id.eq(DbUuid(user)))
                .select(audit_events::created_at)
                .first(conn)
                .optional()?;
            let Some(cursor_time) = cursor_time else {
                return Ok(Vec::new());
            };
            mine.filter(
                audit_events::created_at
                    .lt(cursor_time)
                    .or(audit_events::created_at
                        .eq(cursor_time)
                        .and(audit_events::id.lt(DbUuid(cursor)))),
            )
            .load(conn)
        }

        /// Runs `change`, and when `applied` says it did, writes `journal`
        /// in the same transaction (no transaction at all when it is empty).
        fn with_journal<T>(
            conn: &mut Conn,
            journal: &Journal,
            applied: impl FnOnce(&T) -> bool,
            change: impl FnOnce(&mut Conn) -> QueryResult<T>,
        ) -> QueryResult<T> {
            if journal.is_empty() {
                return change(conn);
            }
            conn.transaction(|conn| {
                let result = change(conn)?;
                if applied(&result) {
                    write_journal(conn, journal)?;
                }
                Ok(result)
            })
        }

        /// The change's log events, its session and its outbox rows; the
        /// caller holds the change's transaction.
        fn write_journal(conn: &mut Conn, journal: &Journal) -> QueryResult<()> {
            for event in &journal.audit {
                record_audit(conn, event)?;
            }
            if let Some(new) = &journal.session {
                insert_session(conn, &new.session, &new.token.0)?;
            }
            insert_outbox(conn, &journal.outbox)
        }

        /// One pending row per event and endpoint, due when it occurred.
        fn insert_outbox(conn: &mut Conn, events: &[OutboxEvent]) -> QueryResult<()> {
            for event in events {
                for endpoint in &event.endpoints {
                    diesel::insert_into(webhook_outbox::table)
                        .values((
                            webhook_outbox::id.eq(DbUuid(Uuid::new_v4())),
                            webhook_outbox::event_id.eq(DbUuid(event.id)),
                            webhook_outbox::endpoint.eq(endpoint),
                            webhook_outbox::event_type.eq(event.event_type.as_str()),
                            webhook_outbox::payload.eq(&event.payload),
                            webhook_outbox::status.eq(PENDING),
                            webhook_outbox::attempts.eq(0),
                            webhook_outbox::next_attempt_at.eq(event.occurred_at),
                            webhook_outbox::last_error.eq(None::<String>),
                            webhook_outbox::created_at.eq(event.occurred_at),
                            webhook_outbox::delivered_at.eq(None::<DateTime<Utc>>),
                        ))
                        .execute(conn)?;
                }
            }
            Ok(())
        }

        const PENDING: &str = "pending";

        pub fn enqueue_outbox(conn: &mut Conn, events: &[OutboxEvent]) -> QueryResult<()> {
            conn.transaction(|conn| insert_outbox(conn, events))
        }

        /// Leases the due rows [`due_outbox_ids`] picked: one more attempt,
        /// not due again before `lease_until`.
        pub fn claim_outbox(
            conn: &mut Conn,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
            limit: i64,
        ) -> QueryResult<Vec<OutboxDelivery>> {
            write_transaction(conn, |conn| {
                let ids = due_outbox_ids(conn, now, limit)?;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let rows: Vec<(DbUuid, DbUuid, String, String, i32)> =
                    diesel::update(webhook_outbox::table.filter(webhook_outbox::id.eq_any(ids)))
                        .set((
                            webhook_outbox::attempts.eq(webhook_outbox::attempts + 1),
                            webhook_outbox::next_attempt_at.eq(lease_until),
                        ))
                        .returning((
                            webhook_outbox::id,
                            webhook_outbox::event_id,
                            webhook_outbox::endpoint,
                            webhook_outbox::payload,
                            webhook_outbox::attempts,
                        ))
                        .get_results(conn)?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(id, event_id, endpoint, payload, attempts)| OutboxDelivery {
                            id: id.0,
                            event_id: event_id.0,
                            endpoint,
                            payload,
                            attempts: u32::try_from(attempts).unwrap_or_default(),
                        },
                    )
                    .collect())
            })
        }

        pub fn mark_outbox_delivered(
            conn: &mut Conn,
            id: Uuid,
            at: DateTime<Utc>,
        ) -> QueryResult<usize> {
            diesel::update(
                webhook_outbox::table
                    .filter(webhook_outbox::id.eq(DbUuid(id)))
                    .filter(webhook_outbox::status.eq(PENDING)),
            )
            .set((
                webhook_outbox::status.eq("delivered"),
                webhook_outbox::delivered_at.eq(Some(at)),
                webhook_outbox::last_error.eq(None::<String>),
            ))
            .execute(conn)
        }

        pub fn record_outbox_failure(
            conn: &mut Conn,
            id: Uuid,
            error: &str,
            retry_at: Option<DateTime<Utc>>,
        ) -> QueryResult<usize> {
            let row = webhook_outbox::table
                .filter(webhook_outbox::id.eq(DbUuid(id)))
                .filter(webhook_outbox::status.eq(PENDING));
            match retry_at {
                Some(at) => diesel::update(row)
                    .set((
                        webhook_outbox::next_attempt_at.eq(at),
                        webhook_outbox::last_error.eq(Some(error)),
                    ))
                    .execute(conn),
                None => diesel::update(row)
                    .set((
                        webhook_outbox::status.eq("dead"),
                        webhook_outbox::last_error.eq(Some(error)),
                    ))
                    .execute(conn),
            }
        }

        pub fn outbox_backlog(conn: &mut Conn) -> QueryResult<i64> {
            webhook_outbox::table
                .filter(webhook_outbox::status.eq(PENDING))
                .count()
                .get_result(conn)
        }

        pub fn purge_outbox(conn: &mut Conn, cutoff: DateTime<Utc>) -> QueryResult<usize> {
            diesel::delete(
                webhook_outbox::table
                    .filter(webhook_outbox::status.eq("delivered"))
                    .filter(webhook_outbox::delivered_at.lt(cutoff)),
            )
            .execute(conn)
        }

        const SESSION_COLUMNS: (
            sessions::id,
            sessions::user_id,
            sessions::method,
            sessions::auth_time,
            sessions::created_at,
            sessions::last_seen_at,
            sessions::expires_at,
            sessions::user_agent,
            sessions::client_ip,
            sessions::revoked_at,
        ) = (
            sessions::id,
            sessions::user_id,
            sessions::method,
            sessions::auth_time,
            sessions::created_at,
            sessions::last_seen_at,
            sessions::expires_at,
            sessions::user_agent,
            sessions::client_ip,
            sessions::revoked_at,
        );

        pub fn create_session(
            conn: &mut Conn,
            new: &NewSession,
            journal: &Journal,
        ) -> QueryResult<usize> {
            with_journal(
                conn,
                journal,
                |inserted| *inserted == 1,
                |conn| insert_session(conn, &new.session, &new.token.0),
            )
        }

        fn insert_session(
            conn: &mut Conn,
            session: &AuthSession,
            token: &[u8],
        ) -> QueryResult<usize> {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(DbUuid(session.id.0)),
                    sessions::user_id.eq(DbUuid(session.user_id.0)),
                    sessions::token_hash.eq(token),
                    sessions::method.eq(session.method.as_str()),
                    sessions::auth_time.eq(session.auth_time),
                    sessions::created_at.eq(session.created_at),
                    sessions::last_seen_at.eq(session.last_seen_at),
                    sessions::expires_at.eq(session.expires_at),
                    sessions::user_agent.eq(session.origin.user_agent.as_deref()),
                    sessions::client_ip.eq(session.origin.client_ip.as_deref()),
                    sessions::revoked_at.eq(session.revoked_at),
                ))
                .execute(conn)
        }

        /// Keeps `token` (the session's current one until now) as rotated
        /// out, until it would have expired.
        fn retire_token(
            conn: &mut Conn,
            token: &[u8],
            session: Uuid,
            expires_at: DateTime<Utc>,
        ) -> QueryResult<usize> {
            diesel::insert_into(session_retired_tokens::table)
                .values((
                    session_retired_tokens::token_hash.eq(token),
                    session_retired_tokens::session_id.eq(DbUuid(session)),
                    session_retired_tokens::expires_at.eq(expires_at),
                ))
                .execute(conn)
        }

        /// The compare-and-swap of a refresh: the session holding
        /// `presented` is locked (PostgreSQL) or the database is (SQLite),
        /// so of racing refreshes one finds it current and the others find
        /// it rotated out.
        pub fn rotate_session(
            conn: &mut Conn,
            presented: &[u8],
            next: &[u8],
            now: DateTime<Utc>,
            expires_at: DateTime<Utc>,
            origin: &RequestOrigin,
            on_reuse: impl Fn(Uuid, Uuid) -> Vec<OutboxEvent>,
        ) -> QueryResult<RotationRow> {
            write_transaction(conn, |conn| {
                if let Some((current, row)) = lock_session_by_token(conn, presented)? {
                    if row.revoked_at.is_some() || row.expires_at <= now {
                        return Ok(RotationRow::Refused);
                    }
                    retire_token(conn, &current, row.id.0, row.expires_at)?;
                    let rotated = diesel::update(sessions::table.filter(sessions::id.eq(row.id)))
                        .set((
                            sessions::token_hash.eq(next),
                            sessions::last_seen_at.eq(now),
                            sessions::expires_at.eq(expires_at),
                            sessions::user_agent.eq(origin.user_agent.as_deref()),
                            sessions::client_ip.eq(origin.client_ip.as_deref()),
                        ))
                        .returning(SESSION_COLUMNS)
                        .get_result(conn)?;
                    return Ok(RotationRow::Rotated(rotated));
                }
                let Some(family) = retired_session(conn, presented)? else {
                    return Ok(RotationRow::Refused);
                };
                let revoked = revoke_session_row(conn, family, now)?;
                let session: Option<SessionRow> = sessions::table
                    .filter(sessions::id.eq(family))
                    .select(SESSION_COLUMNS)
                    .first(conn)
                    .optional()?;
                if let (1, Some(row)) = (revoked, &session) {
                    insert_outbox(conn, &on_reuse(row.user_id.0, row.id.0))?;
                }
                Ok(session.map_or(RotationRow::Refused, RotationRow::Reused))
            })
        }

        /// The session that rotated `token` out, if any.
        fn retired_session(conn: &mut Conn, token: &[u8]) -> QueryResult<Option<DbUuid>> {
            session_retired_tokens::table
                .filter(session_retired_tokens::token_hash.eq(token))
                .select(session_retired_tokens::session_id)
                .first(conn)
                .optional()
        }

        fn revoke_session_row(
            conn: &mut Conn,
            id: DbUuid,
            now: DateTime<Utc>,
        ) -> QueryResult<usize> {
            diesel::update(
                sessions::table
                    .filter(sessions::id.eq(id))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now)),
            )
            .set(sessions::revoked_at.eq(Some(now)))
            .execute(conn)
        }

        pub fn reauthenticate_session(
            conn: &mut Conn,
            user: Uuid,
            id: Uuid,
            method: SignInMethod,
            next: &[u8],
            now: DateTime<Utc>,
            expires_at: DateTime<Utc>,
        ) -> QueryResult<Option<SessionRow>> {
            write_transaction(conn, |conn| {
                let Some((current, row)) = lock_session_by_id(conn, id)? else {
                    return Ok(None);
                };
                if row.user_id.0 != user || row.revoked_at.is_some() || row.expires_at <= now {
                    return Ok(None);
                }
                retire_token(conn, &current, id, row.expires_at)?;
                diesel::update(sessions::table.filter(sessions::id.eq(DbUuid(id))))
                    .set((
                        sessions::token_hash.eq(next),
                        sessions::method.eq(method.as_str()),
                        sessions::auth_time.eq(now),
                        sessions::last_seen_at.eq(now),
                        sessions::expires_at.eq(expires_at),
                    ))
                    .returning(SESSION_COLUMNS)
                    .get_result(conn)
                    .optional()
            })
        }

        pub fn find_session(conn: &mut Conn, id: Uuid) -> QueryResult<Option<SessionRow>> {
            sessions::table
                .filter(sessions::id.eq(DbUuid(id)))
                .select(SESSION_COLUMNS)
                .first(conn)
                .optional()
        }

        pub fn list_sessions(
            conn: &mut Conn,
            user: Uuid,
            now: DateTime<Utc>,
        ) -> QueryResult<Vec<SessionRow>> {
            sessions::table
                .filter(sessions::user_id.eq(DbUuid(user)))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .order((sessions::last_seen_at.desc(), sessions::id.desc()))
                .select(SESSION_COLUMNS)
                .load(conn)
        }

        pub fn revoke_session(
            conn: &mut Conn,
            user: Uuid,
            id: Uuid,
            now: DateTime<Utc>,
            journal: &Journal,
        ) -> QueryResult<usize> {
            with_journal(
                conn,
                journal,
                |revoked| *revoked == 1,
                |conn| {
                    diesel::update(
                        sessions::table
                            .filter(sessions::id.eq(DbUuid(id)))
                            .filter(sessions::user_id.eq(DbUuid(user)))
                            .filter(sessions::revoked_at.is_null())
                            .filter(sessions::expires_at.gt(now)),
                    )
                    .set(sessions::revoked_at.eq(Some(now)))
                    .execute(conn)
                },
            )
        }

        /// Revokes the user's active sessions and writes `events` of each,
        /// in one transaction.
        pub fn revoke_all_sessions(
            conn: &mut Conn,
            user: Uuid,
            now: DateTime<Utc>,
            events: impl Fn(Uuid, Uuid) -> Vec<OutboxEvent>,
        ) -> QueryResult<usize> {
            write_transaction(conn, |conn| {
                let active: Vec<DbUuid> = sessions::table
                    .filter(sessions::user_id.eq(DbUuid(user)))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now))
                    .select(sessions::id)
                    .load(conn)?;
                let mut revoked = 0;
                for id in active {
                    if revoke_session_row(conn, id, now)? == 1 {
                        insert_outbox(conn, &events(user, id.0))?;
                        revoked += 1;
                    }
                }
                Ok(revoked)
            })
        }

        pub fn revoke_session_by_token(
            conn: &mut Conn,
            token: &[u8],
            now: DateTime<Utc>,
            events: impl Fn(Uuid, Uuid) -> Vec<OutboxEvent>,
        ) -> QueryResult<usize> {
            write_transaction(conn, |conn| {
                let holder: Option<DbUuid> = sessions::table
                    .filter(sessions::token_hash.eq(token))
                    .select(sessions::id)
                    .first(conn)
                    .optional()?;
                let family = match holder {
                    Some(id) => Some(id),
                    None => retired_session(conn, token)?,
                };
                let Some(id) = family else {
                    return Ok(0);
                };
                let revoked = revoke_session_row(conn, id, now)?;
                if revoked == 1 {
                    let owner: DbUuid = sessions::table
                        .filter(sessions::id.eq(id))
                        .select(sessions::user_id)
                        .first(conn)?;
                    insert_outbox(conn, &events(owner.0, id.0))?;
                }
                Ok(revoked)
            })
        }

        /// Rotated-out tokens past their expiry, then sessions that ended
        /// before `cutoff` (their tokens go with them).
        pub fn purge_sessions(conn: &mut Conn, cutoff: DateTime<Utc>) -> QueryResult<usize> {
            write_transaction(conn, |conn| {
                diesel::delete(
                    session_retired_tokens::table
                        .filter(session_retired_tokens::expires_at.lt(cutoff)),
                )
                .execute(conn)?;
                let expired =
                    diesel::delete(sessions::table.filter(sessions::expires_at.lt(cutoff)))
                        .execute(conn)?;
                let revoked =
                    diesel::delete(sessions::table.filter(sessions::revoked_at.lt(cutoff)))
                        .execute(conn)?;
                Ok(expired + revoked)
            })
        }

        pub fn ping(conn: &mut Conn) -> QueryResult<usize> {
            diesel::sql_query("SELECT 1").execute(conn)
        }

        /// Deletes the passkey whatever else the account holds (the admin
        /// API's forced removal); the user filter keeps it to its owner.
        pub fn delete_passkey_forced(
            conn: &mut Conn,
            user: Uuid,
            id: Uuid,
            journal: &Journal,
        ) -> QueryResult<usize> {
            with_journal(
                conn,
                journal,
                |deleted| *deleted == 1,
                |conn| {
                    diesel::delete(
                        passkeys::table
                            .filter(passkeys::id.eq(DbUuid(id)))
                            .filter(passkeys::user_id.eq(DbUuid(user))),
                    )
                    .execute(conn)
                },
            )
        }
    };
}

pub mod pg {
    queries!(pg, diesel::PgConnection);

    use super::DieselError;

    /// A sign-in's use, its log event and the session it starts in ONE
    /// statement: a round trip and a commit instead of the round trips and
    /// commits of a transaction. The `WHERE` is the counter rule of
    /// SQLite's `apply_passkey_use`; the event and the session are inserted
    /// only when the update applied.
    ///
    /// With outbox rows to write (`outbox`, a journal of only those), the
    /// statement and their inserts share a transaction (the rows only when
    /// the use applied).
    pub fn record_passkey_use(
        conn: &mut Conn,
        usage: &PasskeyUse,
        event: &AuditEvent,
        session: Option<&NewSession>,
        outbox: &Journal,
    ) -> QueryResult<usize> {
        with_journal(
            conn,
            outbox,
            |applied| *applied == 1,
            |conn| use_log_and_start(conn, usage, event, session),
        )
    }

    fn use_log_and_start(
        conn: &mut Conn,
        usage: &PasskeyUse,
        event: &AuditEvent,
        session: Option<&NewSession>,
    ) -> QueryResult<usize> {
        use diesel::sql_types::{
            BigInt, Binary, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid,
        };
        const USED: &str = "WITH used AS ( \
                 UPDATE passkeys SET sign_count = $2, backed_up = $3, last_used_at = $4 \
                 WHERE id = $1 AND CASE WHEN $2 = 0 THEN sign_count = 0 ELSE sign_count < $2 END \
                 RETURNING id)";
        const STARTED: &str = ", started AS ( \
                 INSERT INTO sessions (id, user_id, token_hash, method, auth_time, created_at, \
                     last_seen_at, expires_at, user_agent, client_ip, revoked_at) \
                 SELECT $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23 FROM used)";
        const LOGGED: &str = " INSERT INTO audit_events \
                 (id, user_id, kind, code, passkey_id, client_ip, user_agent, created_at) \
             SELECT $5, $6, $7, $8, $9, $10, $11, $12 FROM used";
        let sql = match session {
            Some(_) => format!("{USED}{STARTED}{LOGGED}"),
            None => format!("{USED}{LOGGED}"),
        };
        let query = diesel::sql_query(sql)
            .into_boxed::<diesel::pg::Pg>()
            .bind::<SqlUuid, _>(DbUuid(usage.id.0))
            .bind::<BigInt, _>(i64::from(usage.sign_count))
            .bind::<Bool, _>(usage.backed_up)
            .bind::<Timestamptz, _>(usage.used_at)
            .bind::<SqlUuid, _>(DbUuid(event.id))
            .bind::<SqlUuid, _>(DbUuid(event.user_id.0))
            .bind::<Text, _>(event.kind.as_str())
            .bind::<Nullable<Text>, _>(event.code.as_deref())
            .bind::<Nullable<SqlUuid>, _>(event.passkey_id.map(DbUuid))
            .bind::<Nullable<Text>, _>(event.origin.client_ip.as_deref())
            .bind::<Nullable<Text>, _>(event.origin.user_agent.as_deref())
            .bind::<Timestamptz, _>(event.at);
        let query = match session {
            None => query,
            Some(NewSession { session, token }) => query
                .bind::<SqlUuid, _>(DbUuid(session.id.0))
                .bind::<SqlUuid, _>(DbUuid(session.user_id.0))
                .bind::<Binary, _>(&token.0[..])
                .bind::<Text, _>(session.method.as_str())
                .bind::<Timestamptz, _>(session.auth_time)
                .bind::<Timestamptz, _>(session.created_at)
                .bind::<Timestamptz, _>(session.last_seen_at)
                .bind::<Timestamptz, _>(session.expires_at)
                .bind::<Nullable<Text>, _>(session.origin.user_agent.as_deref())
                .bind::<Nullable<Text>, _>(session.origin.client_ip.as_deref())
                .bind::<Nullable<Timestamptz>, _>(session.revoked_at),
        };
        query.execute(conn)
    }

    fn write_transaction<T, E: From<DieselError>>(
        conn: &mut Conn,
        body: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        conn.transaction(body)
    }

    /// The due rows, locked until the claim commits; rows another claimer
    /// holds are skipped, so two claimers never get the same row.
    fn due_outbox_ids(conn: &mut Conn, now: DateTime<Utc>, limit: i64) -> QueryResult<Vec<DbUuid>> {
        webhook_outbox::table
            .filter(webhook_outbox::status.eq(PENDING))
            .filter(webhook_outbox::next_attempt_at.le(now))
            .order((webhook_outbox::next_attempt_at, webhook_outbox::created_at))
            .limit(limit)
            .select(webhook_outbox::id)
            .for_update()
            .skip_locked()
            .load(conn)
    }

    /// Locks the user's row until the transaction ends, against the other
    /// guarded writes of this user (`FOR NO KEY UPDATE`: unlike `FOR
    /// UPDATE` it does not wait for the key-share locks that foreign keys
    /// take, so a sign-in logging its event cannot deadlock with a delete);
    /// `Some(whether the account has a password)`, `None` when it is gone.
    fn lock_user(conn: &mut Conn, user: Uuid) -> QueryResult<Option<bool>> {
        users::table
            .filter(users::id.eq(DbUuid(user)))
            .select(users::password_hash)
            .for_no_key_update()
            .first::<Option<String>>(conn)
            .optional()
            .map(|row| row.map(|hash| hash.is_some()))
    }

    /// The session holding `token` as its current one, with that token,
    /// locked until the transaction ends (`FOR UPDATE`).
    fn lock_session_by_token(
        conn: &mut Conn,
        token: &[u8],
    ) -> QueryResult<Option<(Vec<u8>, SessionRow)>> {
        sessions::table
            .filter(sessions::token_hash.eq(token))
            .select((sessions::token_hash, SESSION_COLUMNS))
            .for_update()
            .first(conn)
            .optional()
    }

    /// The session `id` with its current token, locked like
    /// [`lock_session_by_token`].
    fn lock_session_by_id(conn: &mut Conn, id: Uuid) -> QueryResult<Option<(Vec<u8>, SessionRow)>> {
        sessions::table
            .filter(sessions::id.eq(DbUuid(id)))
            .select((sessions::token_hash, SESSION_COLUMNS))
            .for_update()
            .first(conn)
            .optional()
    }
}

pub mod sqlite {
    queries!(sqlite, diesel::SqliteConnection);

    use super::DieselError;

    /// A sign-in's use, its log event, its session and its outbox rows in
    /// one transaction (SQLite has no data-modifying `WITH`; its round
    /// trips are function calls).
    pub fn record_passkey_use(
        conn: &mut Conn,
        usage: &PasskeyUse,
        event: &AuditEvent,
        session: Option<&NewSession>,
        outbox: &Journal,
    ) -> QueryResult<usize> {
        conn.transaction(|conn| {
            let applied = apply_passkey_use(conn, usage)?;
            if applied == 1 {
                record_audit(conn, event)?;
                if let Some(new) = session {
                    insert_session(conn, &new.session, &new.token.0)?;
                }
                write_journal(conn, outbox)?;
            }
            Ok(applied)
        })
    }

    /// Applies only while the counter rule holds, in the same statement,
    /// so racing sign-ins cannot both move the counter.
    fn apply_passkey_use(conn: &mut Conn, usage: &PasskeyUse) -> QueryResult<usize> {
        let changes = (
            passkeys::sign_count.eq(i64::from(usage.sign_count)),
            passkeys::backed_up.eq(usage.backed_up),
            passkeys::last_used_at.eq(Some(usage.used_at)),
        );
        let target = passkeys::table.filter(passkeys::id.eq(DbUuid(usage.id.0)));
        if usage.sign_count == 0 {
            diesel::update(target.filter(passkeys::sign_count.eq(0_i64)))
                .set(changes)
                .execute(conn)
        } else {
            let presented = i64::from(usage.sign_count);
            diesel::update(target.filter(passkeys::sign_count.lt(presented)))
                .set(changes)
                .execute(conn)
        }
    }

    /// `BEGIN IMMEDIATE`: the write lock is taken at the start, so the
    /// reads inside see what no other writer can change before the commit
    /// (and a second writer waits instead of failing to upgrade its lock).
    fn write_transaction<T, E: From<DieselError>>(
        conn: &mut Conn,
        body: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        conn.immediate_transaction(body)
    }

    /// The due rows; the immediate transaction of the claim keeps other
    /// writers (claimers) out until it commits.
    fn due_outbox_ids(conn: &mut Conn, now: DateTime<Utc>, limit: i64) -> QueryResult<Vec<DbUuid>> {
        webhook_outbox::table
            .filter(webhook_outbox::status.eq(PENDING))
            .filter(webhook_outbox::next_attempt_at.le(now))
            .order((webhook_outbox::next_attempt_at, webhook_outbox::created_at))
            .limit(limit)
            .select(webhook_outbox::id)
            .load(conn)
    }

    /// The immediate transaction already excludes other writers; this
    /// reads `Some(whether the account has a password)`, `None` when it is
    /// gone.
    fn lock_user(conn: &mut Conn, user: Uuid) -> QueryResult<Option<bool>> {
        users::table
            .filter(users::id.eq(DbUuid(user)))
            .select(users::password_hash)
            .first::<Option<String>>(conn)
            .optional()
            .map(|row| row.map(|hash| hash.is_some()))
    }

    /// The session holding `token` as its current one, with that token;
    /// the immediate transaction already excludes other writers.
    fn lock_session_by_token(
        conn: &mut Conn,
        token: &[u8],
    ) -> QueryResult<Option<(Vec<u8>, SessionRow)>> {
        sessions::table
            .filter(sessions::token_hash.eq(token))
            .select((sessions::token_hash, SESSION_COLUMNS))
            .first(conn)
            .optional()
    }

    /// The session `id` with its current token.
    fn lock_session_by_id(conn: &mut Conn, id: Uuid) -> QueryResult<Option<(Vec<u8>, SessionRow)>> {
        sessions::table
            .filter(sessions::id.eq(DbUuid(id)))
            .select((sessions::token_hash, SESSION_COLUMNS))
            .first(conn)
            .optional()
    }
}
