//! Bodies of the HTTP contract (API.md), in its camelCase shapes, with
//! their OpenAPI schemas. Envelopes list their members in the order the
//! service has always written them (alphabetical).

use chrono::{DateTime, SecondsFormat, Utc};
use monetro_app::Session;
use monetro_domain::{
    AuditEvent, AuditKind, AuthSession, Passkey, SessionId, User, authenticator_name,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// RFC 3339 in UTC with a `Z`, as API.md's examples.
fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A user as the API shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
pub struct UserBody {
    #[schema(format = Uuid)]
    id: String,
    /// Trimmed and lower-cased.
    #[schema(example = "ann@example.com")]
    email: String,
    /// 1–64 characters, or null.
    #[schema(required = true)]
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

/// The session body of signup, login, passkey sign-in, refresh and
/// re-authentication.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Session)]
pub struct SessionBody {
    /// An ES256 JWT for `Authorization: Bearer …`, with the session in
    /// `sid` and the last authentication in `auth_time`.
    token: String,
    #[schema(value_type = String, pattern = "^Bearer$", example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the token expires.
    #[schema(example = 900)]
    expires_in: u64,
    user: UserBody,
    /// Opaque and single use: `POST /api/auth/token/refresh` trades it for
    /// new tokens. 256 random bits, base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    refresh_token: String,
    /// Seconds until the refresh token expires.
    #[schema(example = 2592000)]
    refresh_expires_in: u64,
}

impl From<&Session> for SessionBody {
    fn from(session: &Session) -> Self {
        Self {
            token: session.token.token.clone(),
            token_type: "Bearer",
            expires_in: session.token.expires_in,
            user: UserBody::from(&session.user),
            refresh_token: session.refresh_token.clone(),
            refresh_expires_in: session.refresh_expires_in,
        }
    }
}

/// One of the user's active sessions.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionInfo)]
pub struct SessionInfoBody {
    /// The `sid` of its tokens.
    #[schema(format = Uuid)]
    id: String,
    /// The browser's `User-Agent` when last seen, or null.
    #[schema(required = true)]
    user_agent: Option<String>,
    /// The client address when last seen, or null.
    #[schema(required = true)]
    client_ip: Option<String>,
    /// RFC 3339, UTC: the sign-in.
    #[schema(format = DateTime)]
    created_at: String,
    /// RFC 3339, UTC: the last sign-in, refresh or re-authentication.
    #[schema(format = DateTime)]
    last_seen_at: String,
    /// RFC 3339, UTC: when its refresh token expires unless used.
    #[schema(format = DateTime)]
    expires_at: String,
    /// How the person last authenticated: `password` or `passkey`.
    #[schema(value_type = String, pattern = "^(password|passkey)$", example = "passkey")]
    method: &'static str,
    /// Whether it is the session of the token that asked.
    current: bool,
}

impl SessionInfoBody {
    pub fn new(session: &AuthSession, current: Option<SessionId>) -> Self {
        Self {
            id: session.id.to_string(),
            user_agent: session.origin.user_agent.clone(),
            client_ip: session.origin.client_ip.clone(),
            created_at: timestamp(&session.created_at),
            last_seen_at: timestamp(&session.last_seen_at),
            expires_at: timestamp(&session.expires_at),
            method: session.method.as_str(),
            current: current == Some(session.id),
        }
    }
}

/// The user's active sessions, most recently seen first.
#[derive(Serialize, ToSchema)]
#[schema(as = SessionList)]
pub struct SessionListBody {
    pub sessions: Vec<SessionInfoBody>,
}

/// A stored passkey.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Passkey)]
pub struct PasskeyBody {
    #[schema(format = Uuid)]
    id: String,
    #[schema(example = "MacBook Touch ID")]
    name: String,
    /// Base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    credential_id: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    created_at: String,
    /// RFC 3339, UTC; null until the passkey is first used.
    #[schema(format = DateTime, required = true)]
    last_used_at: Option<String>,
    backup_eligible: bool,
    backed_up: bool,
    /// As the authenticator reported them, e.g. `internal`, `hybrid`.
    transports: Vec<String>,
    /// The authenticator model (all zeros when unknown).
    #[schema(format = Uuid)]
    aaguid: String,
    /// Null where the AAGUID is unknown or all zeros.
    #[schema(value_type = Option<String>, required = true, example = "iCloud Keychain")]
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

/// One entry of the security log.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditEvent)]
pub struct AuditEventBody {
    #[schema(format = Uuid)]
    id: String,
    #[serde(rename = "type")]
    #[schema(schema_with = audit_type_schema)]
    kind: &'static str,
    /// The error code of a failed attempt, else null.
    #[schema(required = true)]
    code: Option<String>,
    #[schema(format = Uuid, required = true)]
    passkey_id: Option<String>,
    #[schema(required = true)]
    client_ip: Option<String>,
    #[schema(required = true)]
    user_agent: Option<String>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    at: String,
}

fn audit_type_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("What happened."))
        .enum_values(Some(AuditKind::ALL.map(AuditKind::as_str)))
        .into()
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

/// `GET /api/auth/me`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeBody {
    pub passkey_count: u64,
    /// Whether the account has a password: passkey-only accounts have none
    /// until `PUT /api/auth/password` sets one.
    pub has_password: bool,
    pub user: UserBody,
}

/// `GET /api/auth/passkey/list`: what a browser needs for
/// `PublicKeyCredential.signalAllAcceptedCredentials`, and the passkeys.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyListBody {
    /// Newest first.
    pub passkeys: Vec<PasskeyBody>,
    #[schema(example = "localhost")]
    pub rp_id: String,
    /// The user's WebAuthn user handle, base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    pub user_handle: String,
}

/// One passkey, as registering or renaming answers.
#[derive(Serialize, ToSchema)]
pub struct PasskeyEnvelope {
    pub passkey: PasskeyBody,
}

/// The options of a ceremony; the cookie that ties them to the finish call
/// is set alongside.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptionsEnvelope {
    /// `PublicKeyCredentialCreationOptionsJSON` (registration) or
    /// `PublicKeyCredentialRequestOptionsJSON` (sign-in) of WebAuthn Level 3,
    /// usable as is by `PublicKeyCredential.parseCreationOptionsFromJSON` /
    /// `parseRequestOptionsFromJSON`. Binary members are base64url without
    /// padding.
    #[schema(value_type = Object)]
    pub public_key: Value,
}

/// A page of the caller's security log.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<AuditEventBody>,
    /// The `before` of the next page; null on the last page.
    #[schema(format = Uuid, required = true)]
    pub next_before: Option<String>,
}

/// `/healthz` and `/readyz`.
#[derive(Serialize, ToSchema)]
pub struct StatusBody {
    /// `ok` from `/healthz`, `ready` from `/readyz`.
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
}

/// `/.well-known/webauthn` (WebAuthn Related Origin Requests).
#[derive(Serialize, ToSchema)]
pub struct RelatedOriginsBody {
    /// Other origins allowed to use this RP ID.
    pub origins: Vec<String>,
}

/// The JSON Web Key Set that verifies the service's tokens; the signing
/// key comes first.
#[derive(Serialize, ToSchema)]
#[schema(as = Jwks)]
pub struct JwksBody {
    #[schema(value_type = Vec<Jwk>)]
    pub keys: Vec<Value>,
}

impl JwksBody {
    /// The keys of a set as the token port writes it (`{"keys": [...]}`).
    pub fn from_set(set: Value) -> Self {
        let keys = match set {
            Value::Object(mut members) => match members.remove("keys") {
                Some(Value::Array(keys)) => keys,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        Self { keys }
    }
}

/// A public key (RFC 7517); `kid` is its RFC 7638 thumbprint, as in the
/// header of the tokens it verifies. Documentation only.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jwk {
    #[schema(example = "EC")]
    kty: String,
    #[schema(example = "P-256")]
    crv: String,
    /// Base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    x: String,
    /// Base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    y: String,
    kid: String,
    #[schema(example = "ES256")]
    alg: String,
    #[schema(rename = "use", example = "sig")]
    use_: String,
}

/// `RegistrationResponseJSON` of WebAuthn Level 3: what
/// `PublicKeyCredential.toJSON()` (or `@simplewebauthn/browser`) returns
/// after `navigator.credentials.create()`. Members not listed are ignored.
/// Documentation only: the service reads it with webauthn-rs.
#[derive(ToSchema)]
#[schema(as = RegistrationResponseJSON, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RegistrationResponseJson {
    /// `rawId` again, base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    id: String,
    /// The credential id (1–1023 bytes), base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]*$", min_length = 2, max_length = 1364)]
    raw_id: String,
    #[schema(rename = "type")]
    kind: CredentialType,
    response: AuthenticatorAttestationResponseJson,
    /// `getClientExtensionResults()`.
    #[schema(value_type = Object, required = false, nullable = false)]
    client_extension_results: Option<Value>,
    /// `platform` or `cross-platform`; not used by the service.
    #[schema(value_type = Value, required = false)]
    authenticator_attachment: Option<Value>,
}

/// `AuthenticatorAttestationResponseJSON`: binary members are base64url
/// without padding. Documentation only.
#[derive(ToSchema)]
#[schema(as = AuthenticatorAttestationResponseJSON)]
#[allow(dead_code)]
pub struct AuthenticatorAttestationResponseJson {
    #[schema(rename = "clientDataJSON", pattern = "^[A-Za-z0-9_-]*$")]
    client_data_json: String,
    #[schema(rename = "attestationObject", pattern = "^[A-Za-z0-9_-]*$")]
    attestation_object: String,
    /// `getTransports()`, e.g. `internal`, `hybrid`; unknown ones are
    /// ignored.
    transports: Option<Vec<String>>,
}

/// `AuthenticationResponseJSON` of WebAuthn Level 3: what
/// `PublicKeyCredential.toJSON()` (or `@simplewebauthn/browser`) returns
/// after `navigator.credentials.get()`. Members not listed are ignored.
/// Documentation only: the service reads it with webauthn-rs.
#[derive(ToSchema)]
#[schema(as = AuthenticationResponseJSON, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AuthenticationResponseJson {
    /// `rawId` again, base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    id: String,
    /// The credential id (1–1023 bytes), base64url without padding.
    #[schema(pattern = "^[A-Za-z0-9_-]*$", min_length = 2, max_length = 1364)]
    raw_id: String,
    #[schema(rename = "type")]
    kind: CredentialType,
    response: AuthenticatorAssertionResponseJson,
    /// `getClientExtensionResults()`.
    #[schema(value_type = Object, required = false, nullable = false)]
    client_extension_results: Option<Value>,
    /// `platform` or `cross-platform`; not used by the service.
    #[schema(value_type = Value, required = false)]
    authenticator_attachment: Option<Value>,
}

/// `AuthenticatorAssertionResponseJSON`: binary members are base64url
/// without padding. Documentation only.
#[derive(ToSchema)]
#[schema(as = AuthenticatorAssertionResponseJSON)]
#[allow(dead_code)]
pub struct AuthenticatorAssertionResponseJson {
    #[schema(rename = "clientDataJSON", pattern = "^[A-Za-z0-9_-]*$")]
    client_data_json: String,
    #[schema(rename = "authenticatorData", pattern = "^[A-Za-z0-9_-]*$")]
    authenticator_data: String,
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    signature: String,
    /// The user handle the passkey was created with; required after
    /// usernameless options.
    #[schema(rename = "userHandle", pattern = "^[A-Za-z0-9_-]*$")]
    user_handle: Option<String>,
}

/// A WebAuthn Level 3 hint (`PublicKeyCredentialHint`): which kind of
/// authenticator the browser should offer first. Documentation only: the
/// service reads hints as strings and refuses unknown ones.
#[derive(ToSchema)]
#[schema(as = PublicKeyCredentialHint)]
#[allow(dead_code)]
pub enum Hint {
    /// A removable security key (USB, NFC, BLE), e.g. a YubiKey.
    #[schema(rename = "security-key")]
    SecurityKey,
    /// This device's own authenticator (Touch ID, Windows Hello …).
    #[schema(rename = "client-device")]
    ClientDevice,
    /// A phone or tablet, over a QR code.
    #[schema(rename = "hybrid")]
    Hybrid,
}

/// A WebAuthn credential's `type`.
#[derive(ToSchema)]
#[schema(as = PublicKeyCredentialType)]
#[allow(dead_code)]
pub enum CredentialType {
    #[schema(rename = "public-key")]
    PublicKey,
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
