//! Argon2id password hashing (OWASP's recommended parameters, the `argon2`
//! crate's defaults), off the async executor and bounded in parallelism so
//! a login burst cannot take every core and all memory.
//!
//! Each hash needs 19 MiB of working memory. Allocated per hash on
//! blocking-pool threads, glibc's per-thread arenas kept those buffers and
//! the server grew to ~590 MiB after a burst of logins (docs/BENCHMARKS.md);
//! the buffers are now allocated once per permit and reused.

use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use monetro_domain::{Error, Password};
use monetro_ports::PasswordHasher;
use rand::rngs::OsRng;
use tokio::sync::Semaphore;

/// Working memory for one Argon2 computation.
type Memory = Vec<Block>;

#[derive(Clone)]
pub struct Argon2Hasher {
    permits: Arc<Semaphore>,
    /// At most one buffer per permit: taken while hashing, put back after.
    memory: Arc<Mutex<Vec<Memory>>>,
    /// Verified against when there is no real hash, so an unknown email
    /// costs what a wrong password does.
    dummy_hash: Arc<str>,
}

impl Argon2Hasher {
    /// `max_parallel` hashes at a time (each takes ~19 MiB and one core
    /// for tens of milliseconds).
    pub fn new(max_parallel: usize) -> Result<Self, Error> {
        let dummy_hash = hash_into("a password nobody has: timing decoy", &mut Memory::new())?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_parallel.max(1))),
            memory: Arc::new(Mutex::new(Vec::new())),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Runs `work` on the blocking pool with a reused memory buffer, once a
    /// permit is free.
    async fn off_executor<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Unexpected(format!("hasher closed: {e}")))?;
        let span = tracing::Span::current();
        let pool = Arc::clone(&self.memory);
        tokio::task::spawn_blocking(move || {
            let mut memory = lock(&pool).pop().unwrap_or_default();
            let result = span.in_scope(|| work(&mut memory));
            lock(&pool).push(memory);
            result
        })
        .await
        .map_err(|e| Error::Unexpected(format!("hashing task lost: {e}")))?
    }
}

/// The pool holds plain buffers, so one poisoned by a panic elsewhere is
/// still fine to use.
fn lock(pool: &Mutex<Vec<Memory>>) -> std::sync::MutexGuard<'_, Vec<Memory>> {
    pool.lock().unwrap_or_else(PoisonError::into_inner)
}

fn argon2_error(e: impl std::fmt::Display) -> Error {
    Error::Unexpected(format!("argon2: {e}"))
}

/// Argon2id's output for `password`, computed in `memory` (grown to what
/// `argon2` needs and kept that size).
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    output_len: usize,
    memory: &mut Memory,
) -> Result<Output, Error> {
    let blocks = argon2.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Output::init_with(output_len, |out| {
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut memory[..])
            .map_err(|_| argon2::password_hash::Error::Password)
    })
    .map_err(argon2_error)
}

/// A new PHC string for `password` with a fresh salt.
fn hash_into(password: &str, memory: &mut Memory) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(argon2_error)?;
    let params = Params::default();
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = compute(&argon2, password.as_bytes(), raw_salt, output_len, memory)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(argon2_error)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, with the algorithm,
/// version and parameters the string names (older hashes keep verifying
/// after the defaults change).
fn verify_in(password: &str, phc: &str, memory: &mut Memory) -> Result<bool, Error> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| Error::Unexpected(format!("stored hash: {e}")))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(Error::Unexpected("stored hash: no salt or output".into()));
    };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(argon2_error)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(argon2_error)?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(argon2_error)?;
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(argon2_error)?;
    let argon2 = Argon2::new(algorithm, version, params);
    let actual = compute(
        &argon2,
        password.as_bytes(),
        raw_salt,
        expected.len(),
        memory,
    )?;
    // `Output`'s equality is constant-time.
    Ok(actual == expected)
}

impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: Password) -> Result<String, Error> {
        self.off_executor(move |memory| hash_into(password.expose(), memory))
            .await
    }

    async fn verify(&self, password: Password, phc: Option<String>) -> Result<bool, Error> {
        let real = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.to_string());
        self.off_executor(move |memory| {
            let matches = verify_in(password.expose(), &phc, memory)?;
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
    async fn reads_and_writes_the_argon2_crates_phc_strings() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = Argon2Hasher::new(1).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        let attempt = |p: &str| Password::attempt(p.into()).unwrap();
        assert!(
            hasher
                .verify(attempt("correct horse"), Some(theirs.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(attempt("correct hors"), Some(theirs))
                .await
                .unwrap()
        );

        let ours = hasher
            .hash(Password::new("correct horse".into()).unwrap())
            .await
            .unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong horse", &parsed)
                .is_err()
        );
    }

    #[tokio::test]
    async fn hashes_made_with_other_parameters_still_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let hasher = Argon2Hasher::new(1).unwrap();
        let cheaper = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 3, 1, Some(24)).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let phc = cheaper
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        let attempt = |p: &str| Password::attempt(p.into()).unwrap();
        assert!(
            hasher
                .verify(attempt("correct horse"), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(attempt("wrong horse"), Some(phc))
                .await
                .unwrap()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_at_most_one_buffer_per_permit() {
        let hasher = Argon2Hasher::new(2).unwrap();
        let hashes = (0..6).map(|i| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .hash(Password::new(format!("password number {i}")).unwrap())
                    .await
                    .unwrap()
            })
        });
        for hash in hashes {
            hash.await.unwrap();
        }
        let pool = lock(&hasher.memory);
        assert!((1..=2).contains(&pool.len()), "{} buffers", pool.len());
        let blocks = Params::default().block_count();
        assert!(pool.iter().all(|memory| memory.len() == blocks));
    }

    #[tokio::test]
    async fn no_hash_never_matches_even_the_decoy_password() {
        let hasher = Argon2Hasher::new(1).unwrap();
        let decoy = Password::attempt("a password nobody has: timing decoy".into()).unwrap();
        assert!(!hasher.verify(decoy, None).await.unwrap());
    }
}
