//! Errors, mirroring the `DOMException`s a browser would raise.

/// Why a ceremony was refused. Each variant corresponds to what a browser's
/// `navigator.credentials.create()` / `.get()` would reject with; see
/// [`SoftAuthnError::dom_exception_name`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoftAuthnError {
    /// The options JSON is malformed (missing member, bad base64url, user id
    /// not 1..=64 bytes, ...). A browser throws a `TypeError`.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// The origin is malformed or the RP ID is not a registrable suffix of the
    /// origin's effective domain (`SecurityError`).
    #[error("security error: {0}")]
    Security(String),
    /// The authenticator already holds a credential listed in
    /// `excludeCredentials` for this RP ID (`InvalidStateError`).
    #[error("InvalidStateError: the authenticator holds an excluded credential")]
    Excluded,
    /// No held credential matches the request (`NotAllowedError`).
    #[error("NotAllowedError: no matching credential on the authenticator")]
    NoCredential,
    /// `pubKeyCredParams` does not offer ES256 (-7) (`NotSupportedError`).
    #[error("NotSupportedError: the relying party did not offer ES256 (-7)")]
    UnsupportedAlgorithm,
    /// Encoding or signing failed (should not happen).
    #[error("internal error: {0}")]
    Internal(String),
}

impl SoftAuthnError {
    /// The name of the JavaScript exception a browser would raise.
    #[must_use]
    pub fn dom_exception_name(&self) -> &'static str {
        match self {
            Self::InvalidOptions(_) => "TypeError",
            Self::Security(_) => "SecurityError",
            Self::Excluded => "InvalidStateError",
            Self::NoCredential => "NotAllowedError",
            Self::UnsupportedAlgorithm => "NotSupportedError",
            Self::Internal(_) => "UnknownError",
        }
    }
}
