//! The state file: the users a set-up created, with their passwords and
//! authenticators (private keys included), so later runs reuse them.

use std::path::Path;

use anyhow::Context as _;
use monetro_softauthn::SoftAuthenticator;
use serde::{Deserialize, Serialize};

/// Format version written into the file.
pub const STATE_VERSION: u32 = 1;

/// One account of the load: email, password and the authenticator holding
/// its passkey.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    /// Sign-up email.
    pub email: String,
    /// Sign-up password.
    pub password: String,
    /// The software authenticator (with the private key of the passkey).
    pub authenticator: SoftAuthenticator,
}

/// The contents of a state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateFile {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// Base URL of the service the users exist on.
    pub base_url: String,
    /// RP ID their passkeys are scoped to.
    pub rp_id: String,
    /// Origin used when they were registered (informational: sign-ins may
    /// use another origin of the same RP ID).
    pub origin: String,
    /// The users.
    pub users: Vec<UserRecord>,
}

impl StateFile {
    /// An empty state for a target.
    #[must_use]
    pub fn new(base_url: &str, rp_id: &str, origin: &str) -> Self {
        Self {
            version: STATE_VERSION,
            base_url: base_url.to_owned(),
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
            users: Vec::new(),
        }
    }

    /// Reads a state file; `Ok(None)` when it does not exist.
    ///
    /// # Errors
    /// When the file cannot be read or is not a state file of this version.
    pub fn load(path: &Path) -> anyhow::Result<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let state: Self = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a loadgen state file", path.display()))?;
        anyhow::ensure!(
            state.version == STATE_VERSION,
            "{} has state format version {}, this loadgen writes {STATE_VERSION}",
            path.display(),
            state.version
        );
        Ok(Some(state))
    }

    /// Whether this state was made for the service at `base_url` with `rp_id`.
    #[must_use]
    pub fn matches(&self, base_url: &str, rp_id: &str) -> bool {
        self.base_url.trim_end_matches('/') == base_url.trim_end_matches('/') && self.rp_id == rp_id
    }

    /// Writes the state atomically (temporary file, then rename).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let bytes = serde_json::to_vec(self)?;
        std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
        Ok(())
    }
}
