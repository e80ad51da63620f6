//! Argon2id password hashing (OWASP's recommended parameters, the `argon2`
//! crate's defaults), off the async executor and bounded in parallelism so
//! a login burst cannot take every core and all memory.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use monetro_domain::{Error, Password};
use monetro_ports::PasswordHasher;
use rand::rngs::OsRng;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct Argon2Hasher {
    permits: Arc<Semaphore>,
    /// Verified against when there is no real hash, so an unknown email
    /// costs what a wrong password does.
    dummy_hash: Arc<str>,
}

impl Argon2Hasher {
    /// `max_parallel` hashes at a time (each takes ~19 MiB and one core
    /// for tens of milliseconds).
    pub fn new(max_parallel: usize) -> Result<Self, Error> {
        let dummy_hash = hash_blocking("a password nobody has: timing decoy")?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_parallel.max(1))),
            dummy_hash: dummy_hash.into(),
        })
    }

    async fn off_executor<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Unexpected(format!("hasher closed: {e}")))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .await
            .map_err(|e| Error::Unexpected(format!("hashing task lost: {e}")))?
    }
}

fn hash_blocking(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Unexpected(format!("argon2: {e}")))
}

impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: Password) -> Result<String, Error> {
        self.off_executor(move || hash_blocking(password.expose()))
            .await
    }

    async fn verify(&self, password: Password, phc: Option<String>) -> Result<bool, Error> {
        let real = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.to_string());
        self.off_executor(move || {
            let parsed = PasswordHash::new(&phc)
                .map_err(|e| Error::Unexpected(format!("stored hash: {e}")))?;
            let matches = Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok();
            Ok(real && matches)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hasher = Argon2Hasher::new(2).unwrap();
        let phc = hasher
            .hash(Password::new("correct horse".into()).unwrap())
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify(
                    Password::attempt("correct horse".into()).unwrap(),
                    Some(phc.clone())
                )
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(Password::attempt("wrong horse".into()).unwrap(), Some(phc))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn no_hash_never_matches_even_the_decoy_password() {
        let hasher = Argon2Hasher::new(1).unwrap();
        let decoy = Password::attempt("a password nobody has: timing decoy".into()).unwrap();
        assert!(!hasher.verify(decoy, None).await.unwrap());
    }
}
