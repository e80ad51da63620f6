use chrono::{DateTime, Utc};
use monetro_domain::{SessionId, UserId};

/// A freshly signed access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// What a new access token grants: its subject, session and how and when
/// the person authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessGrant {
    pub user: UserId,
    /// The `sid` claim.
    pub session: SessionId,
    pub amr: &'static [&'static str],
    /// The `auth_time` claim (OpenID Connect): the last authentication.
    pub auth_time: DateTime<Utc>,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub user_id: UserId,
    pub amr: Vec<String>,
    pub issued_at: DateTime<Utc>,
    /// `sid`; `None` in tokens issued before sessions existed.
    pub session_id: Option<SessionId>,
    /// `auth_time`, or `iat` in tokens without one.
    pub auth_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Malformed, wrongly signed, wrong algorithm, issuer or audience.
    #[error("invalid token")]
    Invalid,
    /// Well signed but past `exp`.
    #[error("token expired")]
    Expired,
    #[error("token signing failed: {0}")]
    Signing(String),
}

/// Signs and checks the service's JWTs. Pure computation, no I/O.
pub trait TokenIssuer: Clone + Send + Sync + 'static {
    /// A token carrying `grant`, issued at `now`.
    fn issue(&self, grant: &AccessGrant, now: DateTime<Utc>) -> Result<IssuedToken, TokenError>;

    /// MUST refuse tokens not signed by one of its keys with its algorithm
    /// (including `alg: none`), with another issuer or audience, and MUST
    /// answer `Expired` only for an otherwise valid token past `exp` at `now`.
    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError>;

    /// The JSON Web Key Set that verifies the tokens.
    fn jwks(&self) -> serde_json::Value;
}
