//! Rows as both backends return them, and their conversion to the domain.

use chrono::{DateTime, Utc};
use diesel::Queryable;
use monetro_domain::{
    AuditEvent, AuditKind, AuthSession, CredentialId, DisplayName, Email, Passkey, PasskeyId,
    PasskeyName, RequestOrigin, SessionId, SignInMethod, User, UserHandle, UserId,
};
use monetro_ports::{Ceremony, CeremonyHandle, CeremonyKind, StoreError};

use super::types::DbUuid;

#[derive(Queryable)]
pub struct UserRow {
    pub id: DbUuid,
    pub email: String,
    pub display_name: Option<String>,
    pub user_handle: DbUuid,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable)]
pub struct PasskeyRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub name: String,
    pub credential_id: Vec<u8>,
    pub verifier: String,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub transports: String,
    pub aaguid: DbUuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Queryable)]
pub struct CeremonyRow {
    pub handle: String,
    pub kind: String,
    pub user_id: Option<DbUuid>,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Queryable)]
pub struct AuditRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub kind: String,
    pub code: Option<String>,
    pub passkey_id: Option<DbUuid>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl AuditRow {
    pub fn into_event(self) -> Result<AuditEvent, StoreError> {
        Ok(AuditEvent {
            id: self.id.0,
            user_id: UserId(self.user_id.0),
            kind: AuditKind::parse(&self.kind).ok_or_else(|| corrupt("audit kind"))?,
            code: self.code,
            passkey_id: self.passkey_id.map(|id| id.0),
            origin: RequestOrigin {
                client_ip: self.client_ip,
                user_agent: self.user_agent,
            },
            at: self.created_at,
        })
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Unexpected(format!("stored {what} is invalid"))
}

impl UserRow {
    pub fn into_user(self) -> Result<(User, Option<String>), StoreError> {
        let display_name = match self.display_name {
            Some(name) => DisplayName::parse(&name).map_err(|_| corrupt("display name"))?,
            None => None,
        };
        let user = User {
            id: UserId(self.id.0),
            email: Email::parse(&self.email).map_err(|_| corrupt("email"))?,
            display_name,
            handle: UserHandle(self.user_handle.0),
            created_at: self.created_at,
        };
        Ok((user, self.password_hash))
    }
}

/// Transport hints are stored comma-separated; the names never contain a
/// comma.
pub fn join_transports(transports: &[String]) -> String {
    transports.join(",")
}

impl PasskeyRow {
    pub fn into_passkey(self) -> Result<Passkey, StoreError> {
        Ok(Passkey {
            id: PasskeyId(self.id.0),
            user_id: UserId(self.user_id.0),
            name: PasskeyName::parse(&self.name)
                .ok()
                .flatten()
                .ok_or_else(|| corrupt("passkey name"))?,
            credential_id: CredentialId::new(self.credential_id)
                .map_err(|_| corrupt("credential id"))?,
            verifier: self.verifier,
            sign_count: u32::try_from(self.sign_count).map_err(|_| corrupt("sign count"))?,
            backup_eligible: self.backup_eligible,
            backed_up: self.backed_up,
            transports: self
                .transports
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            aaguid: self.aaguid.0,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

impl CeremonyRow {
    pub fn into_ceremony(self) -> Result<Ceremony, StoreError> {
        Ok(Ceremony {
            handle: CeremonyHandle(self.handle),
            kind: CeremonyKind::parse(&self.kind).ok_or_else(|| corrupt("ceremony kind"))?,
            user_id: self.user_id.map(|id| UserId(id.0)),
            state: self.state,
            expires_at: self.expires_at,
        })
    }
}

#[derive(Queryable)]
pub struct SessionRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub method: String,
    pub auth_time: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl SessionRow {
    pub fn into_session(self) -> Result<AuthSession, StoreError> {
        Ok(AuthSession {
            id: SessionId(self.id.0),
            user_id: UserId(self.user_id.0),
            method: SignInMethod::parse(&self.method).ok_or_else(|| corrupt("sign-in method"))?,
            auth_time: self.auth_time,
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
            origin: RequestOrigin {
                client_ip: self.client_ip,
                user_agent: self.user_agent,
            },
            revoked_at: self.revoked_at,
        })
    }
}

/// What a refresh did, as rows.
pub enum RotationRow {
    Rotated(SessionRow),
    Reused(SessionRow),
    Refused,
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn row(name: &str) -> PasskeyRow {
        PasskeyRow {
            id: DbUuid(Uuid::from_u128(1)),
            user_id: DbUuid(Uuid::from_u128(2)),
            name: name.into(),
            credential_id: vec![1, 2, 3],
            verifier: "{}".into(),
            sign_count: 0,
            backup_eligible: true,
            backed_up: true,
            transports: "internal,hybrid".into(),
            aaguid: DbUuid(Uuid::nil()),
            created_at: DateTime::UNIX_EPOCH,
            last_used_at: None,
        }
    }

    #[test]
    fn a_stored_name_is_read_as_a_valid_name() {
        let passkey = row("MacBook Touch ID").into_passkey().unwrap();
        assert_eq!(passkey.name.as_str(), "MacBook Touch ID");
    }

    /// Found by fuzzing (`fuzz/corpus/stored_passkey/crash-blank-name`): a
    /// corrupted name used to come back as a `PasskeyName` breaking its rules.
    #[test]
    fn a_corrupted_stored_name_is_an_error() {
        for name in ["", "   ", "tab\tinside", &"x".repeat(65)] {
            assert!(row(name).into_passkey().is_err(), "{name:?} read back");
        }
    }
}
