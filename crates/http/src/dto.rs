//! Response bodies of the HTTP contract (API.md), in its camelCase shapes.

use chrono::{DateTime, SecondsFormat, Utc};
use monetro_app::Session;
use monetro_domain::{AuditEvent, Passkey, User, authenticator_name};
use serde::Serialize;

/// RFC 3339 in UTC with a `Z`, as API.md's examples.
fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserBody {
    id: String,
    email: String,
    display_name: Option<String>,
}

impl From<&User> for UserBody {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            display_name: user.display_name.as_ref().map(|n| n.as_str().to_owned()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    token: String,
    token_type: &'static str,
    expires_in: u64,
    user: UserBody,
}

impl From<&Session> for SessionBody {
    fn from(session: &Session) -> Self {
        Self {
            token: session.token.token.clone(),
            token_type: "Bearer",
            expires_in: session.token.expires_in,
            user: UserBody::from(&session.user),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyBody {
    id: String,
    name: String,
    credential_id: String,
    created_at: String,
    last_used_at: Option<String>,
    backup_eligible: bool,
    backed_up: bool,
    transports: Vec<String>,
    aaguid: String,
    authenticator_name: Option<&'static str>,
}

impl From<&Passkey> for PasskeyBody {
    fn from(passkey: &Passkey) -> Self {
        use base64::Engine as _;
        Self {
            id: passkey.id.to_string(),
            name: passkey.name.as_str().to_owned(),
            credential_id: base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(passkey.credential_id.as_bytes()),
            created_at: timestamp(&passkey.created_at),
            last_used_at: passkey.last_used_at.as_ref().map(timestamp),
            backup_eligible: passkey.backup_eligible,
            backed_up: passkey.backed_up,
            transports: passkey.transports.clone(),
            aaguid: passkey.aaguid.hyphenated().to_string(),
            authenticator_name: authenticator_name(&passkey.aaguid),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventBody {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    code: Option<String>,
    passkey_id: Option<String>,
    client_ip: Option<String>,
    user_agent: Option<String>,
    at: String,
}

impl From<&AuditEvent> for AuditEventBody {
    fn from(event: &AuditEvent) -> Self {
        Self {
            id: event.id.to_string(),
            kind: event.kind.as_str(),
            code: event.code.clone(),
            passkey_id: event.passkey_id.map(|id| id.to_string()),
            client_ip: event.origin.client_ip.clone(),
            user_agent: event.origin.user_agent.clone(),
            at: timestamp(&event.at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use monetro_domain::{CredentialId, PasskeyId, PasskeyName, UserId};
    use serde_json::json;
    use uuid::Uuid;

    #[test]
    fn passkey_wire_format() {
        let passkey = Passkey {
            id: PasskeyId(Uuid::from_u128(1)),
            user_id: UserId(Uuid::from_u128(2)),
            name: PasskeyName::fallback("MacBook Touch ID"),
            credential_id: CredentialId::new(vec![0, 1, 2, 0xfb, 0xff]).unwrap(),
            verifier: "{}".into(),
            sign_count: 0,
            backup_eligible: true,
            backed_up: true,
            transports: vec!["internal".into(), "hybrid".into()],
            aaguid: Uuid::parse_str("fbfc3007-154e-4ecc-8c0b-6e020557d7bd").unwrap(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 24, 20, 0, 0).unwrap(),
            last_used_at: None,
        };
        assert_eq!(
            serde_json::to_value(PasskeyBody::from(&passkey)).unwrap(),
            json!({
                "id": "00000000-0000-0000-0000-000000000001", "name": "MacBook Touch ID",
                "credentialId": "AAEC-_8", "createdAt": "2026-11-24T20:00:00Z", "lastUsedAt": null,
                "backupEligible": true, "backedUp": true, "transports": ["internal", "hybrid"],
                "aaguid": "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "authenticatorName": "iCloud Keychain"
            })
        );
    }
}
