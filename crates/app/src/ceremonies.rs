//! Ceremony state between an options call and its finish call: stored on
//! the server under a random handle (the client only holds the handle) and
//! consumed atomically, so a replayed or raced finish cannot succeed twice.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use monetro_domain::{Error, UserId};
use monetro_ports::{Ceremony, CeremonyHandle, CeremonyKind, ChallengeStore, Clock};
use rand::RngCore as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{App, Deps};

/// A chrono span for a configured duration (saturating: configuration
/// bounds keep real values far below the limit).
pub(crate) fn span(duration: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

fn new_handle() -> CeremonyHandle {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    CeremonyHandle(URL_SAFE_NO_PAD.encode(bytes))
}

impl<D: Deps> App<D> {
    /// Stores `state` for a new ceremony and returns its handle.
    pub(crate) async fn open_ceremony(
        &self,
        kind: CeremonyKind,
        user_id: Option<UserId>,
        state: &impl Serialize,
    ) -> Result<CeremonyHandle, Error> {
        let state = serde_json::to_string(state)
            .map_err(|e| Error::Unexpected(format!("ceremony state not serialisable: {e}")))?;
        let handle = new_handle();
        let expires_at = self.clock.now() + span(self.settings.ceremony_ttl);
        let ceremony = Ceremony {
            handle: handle.clone(),
            kind,
            user_id,
            state,
            expires_at,
        };
        self.ceremonies.put(ceremony).await?;
        Ok(handle)
    }

    /// Consumes the live ceremony of `kind` (and `user_id`) under `handle`.
    ///
    /// A ceremony of another kind or user is left alone and answers
    /// `CHALLENGE_NOT_FOUND`; an expired one is consumed and answers
    /// `CHALLENGE_EXPIRED`.
    pub(crate) async fn take_ceremony<T: DeserializeOwned>(
        &self,
        handle: Option<&CeremonyHandle>,
        kind: CeremonyKind,
        user_id: Option<UserId>,
    ) -> Result<T, Error> {
        let handle = handle.ok_or(Error::ChallengeNotFound)?;
        let ceremony = self
            .ceremonies
            .take(handle, kind, user_id)
            .await?
            .ok_or(Error::ChallengeNotFound)?;
        if ceremony.expires_at <= self.clock.now() {
            return Err(Error::ChallengeExpired);
        }
        serde_json::from_str(&ceremony.state)
            .map_err(|e| Error::Unexpected(format!("stored ceremony state unreadable: {e}")))
    }
}
