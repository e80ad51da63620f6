use chrono::{DateTime, Utc};
use monetro_domain::UserId;

/// A freshly signed access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub user_id: UserId,
    pub amr: Vec<String>,
    pub issued_at: DateTime<Utc>,
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
    /// A token for `user` with the authentication methods `amr`.
    fn issue(
        &self,
        user: UserId,
        amr: &[&str],
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, TokenError>;

    /// MUST refuse tokens not signed by one of its keys with its algorithm
    /// (including `alg: none`), with another issuer or audience, and MUST
    /// answer `Expired` only for an otherwise valid token past `exp` at `now`.
    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError>;

    /// The JSON Web Key Set that verifies the tokens.
    fn jwks(&self) -> serde_json::Value;
}
