//! The service's errors, each with a stable machine-readable code.

/// Stable error codes of the HTTP contract (API.md's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    ValidationFailed,
    ChallengeNotFound,
    ChallengeExpired,
    RegistrationFailed,
    AuthenticationFailed,
    Unauthorized,
    TokenExpired,
    InvalidCredentials,
    PasskeyNotFound,
    EmailTaken,
    PasskeyAlreadyRegistered,
    PasskeyLimitReached,
    LastCredential,
    ServiceUnavailable,
    Internal,
    ReauthenticationRequired,
    SessionNotFound,
    UserNotFound,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "VALIDATION_FAILED",
            Self::ChallengeNotFound => "CHALLENGE_NOT_FOUND",
            Self::ChallengeExpired => "CHALLENGE_EXPIRED",
            Self::RegistrationFailed => "REGISTRATION_FAILED",
            Self::AuthenticationFailed => "AUTHENTICATION_FAILED",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::PasskeyNotFound => "PASSKEY_NOT_FOUND",
            Self::EmailTaken => "EMAIL_TAKEN",
            Self::PasskeyAlreadyRegistered => "PASSKEY_ALREADY_REGISTERED",
            Self::PasskeyLimitReached => "PASSKEY_LIMIT_REACHED",
            Self::LastCredential => "LAST_CREDENTIAL",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::Internal => "INTERNAL",
            Self::ReauthenticationRequired => "REAUTHENTICATION_REQUIRED",
            Self::SessionNotFound => "SESSION_NOT_FOUND",
            Self::UserNotFound => "USER_NOT_FOUND",
        }
    }
}

/// Everything a use case can answer instead of a result.
///
/// The `Display` text of each variant is safe to show to a person; causes of
/// `Unavailable` and `Unexpected` are for the log only.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("{0}")]
    Validation(String),
    #[error("No ceremony in progress for this session; request new options")]
    ChallengeNotFound,
    #[error("The ceremony has expired; request new options")]
    ChallengeExpired,
    #[error("The passkey could not be registered")]
    RegistrationFailed { reason: String },
    #[error("The passkey could not be verified")]
    AuthenticationFailed { reason: String },
    #[error("Authentication required")]
    Unauthorized,
    #[error("The token has expired")]
    TokenExpired,
    #[error("Wrong email or password")]
    InvalidCredentials,
    /// An unknown credential id during sign-in: the client may ask the
    /// browser to forget it (`signalUnknownCredential`).
    #[error("Unknown Passkey")]
    UnknownCredential {
        credential_id: String,
        rp_id: String,
    },
    /// A passkey id that does not exist or belongs to someone else.
    #[error("Unknown Passkey")]
    PasskeyNotFound,
    #[error("This email is already registered")]
    EmailTaken,
    #[error("This passkey is already registered")]
    PasskeyAlreadyRegistered,
    /// The account holds as many passkeys as the configured limit allows.
    #[error("This account has as many passkeys as allowed; remove one first")]
    PasskeyLimitReached,
    /// Removing the passkey would leave the account without a way to sign
    /// in (no password and no other passkey).
    #[error(
        "This is the last way to sign in to this account; add a password or another passkey first"
    )]
    LastCredential,
    #[error("The service is temporarily unavailable; try again shortly")]
    Unavailable(String),
    #[error("Internal error")]
    Unexpected(String),
    /// A sensitive change needs a recent sign-in (or re-authentication).
    #[error("Confirm it's you: sign in again with your passkey or password")]
    ReauthenticationRequired,
    /// A session id that is not one of the caller's active sessions.
    #[error("No such session")]
    SessionNotFound,
    /// A user id or email the admin API asked for that no account has.
    #[error("Unknown user")]
    UserNotFound,
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::ValidationFailed,
            Self::ChallengeNotFound => ErrorCode::ChallengeNotFound,
            Self::ChallengeExpired => ErrorCode::ChallengeExpired,
            Self::RegistrationFailed { .. } => ErrorCode::RegistrationFailed,
            Self::AuthenticationFailed { .. } => ErrorCode::AuthenticationFailed,
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::TokenExpired => ErrorCode::TokenExpired,
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::UnknownCredential { .. } | Self::PasskeyNotFound => ErrorCode::PasskeyNotFound,
            Self::EmailTaken => ErrorCode::EmailTaken,
            Self::PasskeyAlreadyRegistered => ErrorCode::PasskeyAlreadyRegistered,
            Self::PasskeyLimitReached => ErrorCode::PasskeyLimitReached,
            Self::LastCredential => ErrorCode::LastCredential,
            Self::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Self::Unexpected(_) => ErrorCode::Internal,
            Self::ReauthenticationRequired => ErrorCode::ReauthenticationRequired,
            Self::SessionNotFound => ErrorCode::SessionNotFound,
            Self::UserNotFound => ErrorCode::UserNotFound,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation(message.into())
    }

    pub fn registration_failed(reason: impl ToString) -> Self {
        Self::RegistrationFailed {
            reason: reason.to_string(),
        }
    }

    pub fn authentication_failed(reason: impl ToString) -> Self {
        Self::AuthenticationFailed {
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_credential_and_foreign_passkey_share_the_code_and_message() {
        let unknown = Error::UnknownCredential {
            credential_id: "AA".into(),
            rp_id: "localhost".into(),
        };
        assert_eq!(unknown.code().as_str(), "PASSKEY_NOT_FOUND");
        assert_eq!(unknown.to_string(), "Unknown Passkey");
        assert_eq!(Error::PasskeyNotFound.to_string(), "Unknown Passkey");
    }

    #[test]
    fn internal_causes_stay_out_of_the_message() {
        let err = Error::Unexpected("relation \"users\" does not exist".into());
        assert_eq!(err.to_string(), "Internal error");
        let err = Error::Unavailable("connection refused".into());
        assert!(!err.to_string().contains("refused"));
    }
}
