use std::future::Future;

use monetro_domain::{Error, Password};

/// Password hashing (Argon2id in production).
///
/// Implementations MUST do the expensive work off the async executor.
pub trait PasswordHasher: Clone + Send + Sync + 'static {
    /// A PHC string for a new password.
    fn hash(&self, password: Password) -> impl Future<Output = Result<String, Error>> + Send;

    /// Whether `password` matches `phc`. With `phc` `None` (unknown account,
    /// or an account without a password) it MUST answer `false` after
    /// roughly the same work as a real check, so timing does not reveal
    /// which accounts exist.
    fn verify(
        &self,
        password: Password,
        phc: Option<String>,
    ) -> impl Future<Output = Result<bool, Error>> + Send;
}
