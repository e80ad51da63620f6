//! Key material: the token signing keys and the session secret. They come
//! from configuration; for a zero-setup run they are generated once and
//! kept under the data directory, so restarts keep tokens and cookies valid.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use secrecy::ExposeSecret as _;
use sha2::{Digest as _, Sha256};

use crate::config::Config;

/// Bytes of the session secret (actix-session needs at least 64).
const SESSION_KEY_LEN: usize = 64;

pub struct KeyMaterial {
    pub signing_key_pem: String,
    pub retired_key_pems: Vec<String>,
    pub session_key: Vec<u8>,
}

impl KeyMaterial {
    /// Secret for decoy sign-in options, derived from the session key so
    /// instances configured alike agree on decoys.
    pub fn decoy_key(&self) -> Vec<u8> {
        let mut hasher = Sha256::new();
        hasher.update(b"monetro decoy allowCredentials\0");
        hasher.update(&self.session_key);
        hasher.finalize().to_vec()
    }
}

pub fn load_or_create(config: &Config) -> anyhow::Result<KeyMaterial> {
    let data_dir = &config.secrets.data_dir;
    let signing_key_pem = match (&config.tokens.signing_key, &config.tokens.signing_key_file) {
        (Some(pem), _) => pem.expose_secret().to_owned(),
        (None, Some(path)) => read(path)?,
        (None, None) => {
            let path = data_dir.join("jwt-signing-key.pem");
            read_or_generate(&path, "token signing key", || {
                monetro_adapters::generate_signing_key_pem().map_err(anyhow::Error::msg)
            })?
        }
    };
    let retired_key_pems = config
        .tokens
        .retired_key_files
        .iter()
        .map(|path| read(path))
        .collect::<anyhow::Result<_>>()?;
    let session_key_b64 = match &config.secrets.session_key {
        Some(key) => key.expose_secret().to_owned(),
        None => read_or_generate(&data_dir.join("session-key"), "session secret", || {
            let mut key = vec![0u8; SESSION_KEY_LEN];
            rand::rngs::OsRng.fill_bytes(&mut key);
            Ok(STANDARD.encode(key))
        })?,
    };
    let session_key = STANDARD
        .decode(session_key_b64.trim())
        .context("secrets.session_key must be base64")?;
    anyhow::ensure!(
        session_key.len() >= SESSION_KEY_LEN,
        "secrets.session_key must hold at least {SESSION_KEY_LEN} bytes"
    );
    Ok(KeyMaterial {
        signing_key_pem,
        retired_key_pems,
        session_key,
    })
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_or_generate(
    path: &Path,
    what: &str,
    generate: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    if path.exists() {
        return read(path);
    }
    let value = generate()?;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut file = match private_file(path) {
        Ok(file) => file,
        // Another instance sharing the directory was first: use its value.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return read(path),
        Err(e) => return Err(e).with_context(|| format!("cannot write {}", path.display())),
    };
    file.write_all(value.as_bytes())?;
    tracing::warn!(path = %path.display(), "generated a new {what} and saved it; configure one for production");
    Ok(value)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}
