use monetro_domain::Error;

/// How a store can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The email is already in use by another account.
    #[error("email already registered")]
    EmailTaken,
    /// The credential id is already stored, for any user.
    #[error("credential id already registered")]
    CredentialTaken,
    /// The user already holds as many passkeys as the limit allows.
    #[error("passkey limit reached")]
    PasskeyLimitReached,
    /// The passkey is the account's last way to sign in.
    #[error("last credential of the account")]
    LastCredential,
    /// The backing service cannot be reached (down, pool exhausted, timed
    /// out). Nothing was written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the cause is for the log.
    #[error("store failure: {0}")]
    Unexpected(String),
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::EmailTaken => Error::EmailTaken,
            StoreError::CredentialTaken => Error::PasskeyAlreadyRegistered,
            StoreError::PasskeyLimitReached => Error::PasskeyLimitReached,
            StoreError::LastCredential => Error::LastCredential,
            StoreError::Unavailable(cause) => Error::Unavailable(cause),
            StoreError::Unexpected(cause) => Error::Unexpected(cause),
        }
    }
}
