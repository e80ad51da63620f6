//! Passkey sign-in: usernameless (discoverable credentials, "Sign in with
//! Passkey" and autofill) or scoped to an email.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use monetro_domain::{
    AuditKind, CredentialId, Email, Error, Passkey, PasskeyUse, RequestOrigin, User,
};
use monetro_ports::{CeremonyHandle, CeremonyKind, Clock, CredentialRepository, UserRepository};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webauthn_rs::prelude::{Credential, DiscoverableAuthentication, Passkey as Verifier};

use crate::decoy::decoy_credential_id;
use crate::{App, AuthenticationCredential, Deps, Session};

/// `amr` of a passkey sign-in.
pub(crate) const AMR_PASSKEY: &[&str] = &["webauthn"];

/// Transports shown with a decoy credential: what a synced platform
/// passkey reports.
const DECOY_TRANSPORTS: [&str; 2] = ["hybrid", "internal"];

#[derive(Serialize, Deserialize)]
struct SignInState {
    webauthn: DiscoverableAuthentication,
    /// For email-scoped sign-in, the credential ids offered in
    /// `allowCredentials`; only these are accepted.
    allowed: Option<Vec<Vec<u8>>>,
}

impl<D: Deps> App<D> {
    /// Request options and the handle of the ceremony that waits for the
    /// assertion. Without an email, `allowCredentials` is empty; with one it
    /// lists that user's passkeys, or a stable decoy when there are none.
    pub async fn start_authentication(
        &self,
        email: Option<&str>,
    ) -> Result<(CeremonyHandle, Value), Error> {
        let email = email.map(Email::parse).transpose()?;
        let (challenge, webauthn) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| Error::Unexpected(format!("authentication options: {e}")))?;
        let mut options = serde_json::to_value(&challenge.public_key)
            .map_err(|e| Error::Unexpected(format!("authentication options: {e}")))?;
        let allowed = match email {
            None => None,
            Some(email) => {
                let offered = self.credentials_to_offer(&email).await?;
                let listed: Value = offered
                    .iter()
                    .map(|(id, transports)| {
                        json!({ "type": "public-key", "id": URL_SAFE_NO_PAD.encode(id), "transports": transports })
                    })
                    .collect();
                if let Some(options) = options.as_object_mut() {
                    options.insert("allowCredentials".into(), listed);
                }
                Some(offered.into_iter().map(|(id, _)| id).collect())
            }
        };
        let state = SignInState { webauthn, allowed };
        let handle = self
            .open_ceremony(CeremonyKind::Authentication, None, &state)
            .await?;
        Ok((handle, options))
    }

    async fn credentials_to_offer(
        &self,
        email: &Email,
    ) -> Result<Vec<(Vec<u8>, Vec<String>)>, Error> {
        let passkeys = match self.store.find_user_by_email(email).await? {
            Some(account) => self.store.list_passkeys(account.user.id).await?,
            None => Vec::new(),
        };
        if passkeys.is_empty() {
            let decoy = decoy_credential_id(&self.settings.decoy_key, email);
            return Ok(vec![(decoy, DECOY_TRANSPORTS.map(str::to_owned).to_vec())]);
        }
        Ok(passkeys
            .into_iter()
            .map(|p| (p.credential_id.as_bytes().to_vec(), p.transports))
            .collect())
    }

    /// Verifies an assertion against the live sign-in ceremony and signs the
    /// passkey's owner in.
    pub async fn finish_authentication(
        &self,
        handle: Option<&CeremonyHandle>,
        credential: &AuthenticationCredential,
        origin: &RequestOrigin,
    ) -> Result<Session, Error> {
        let state: SignInState = self
            .take_ceremony(handle, CeremonyKind::Authentication, None)
            .await?;
        let assertion = &credential.0;
        let credential_id = CredentialId::new(assertion.raw_id.clone())?;
        let (passkey, owner) = self
            .store
            .find_passkey_with_owner(&credential_id)
            .await?
            .ok_or_else(|| Error::UnknownCredential {
                credential_id: URL_SAFE_NO_PAD.encode(&assertion.raw_id),
                rp_id: self.settings.rp_id.clone(),
            })?;
        let outcome = self
            .verify_assertion(state, credential, &passkey, owner)
            .await;
        let (kind, code) = match &outcome {
            Ok(_) => (AuditKind::PasskeyUsed, None),
            Err(error) => (AuditKind::PasskeySignInFailed, Some(error.code())),
        };
        self.audit(passkey.user_id, kind, code, Some(passkey.id), origin)
            .await;
        outcome
    }

    /// Every check after the passkey is known: the offered credentials, the
    /// user handle, the assertion itself and the counter.
    async fn verify_assertion(
        &self,
        state: SignInState,
        credential: &AuthenticationCredential,
        passkey: &Passkey,
        owner: User,
    ) -> Result<Session, Error> {
        let assertion = &credential.0;
        if let Some(allowed) = &state.allowed
            && !allowed.contains(&assertion.raw_id)
        {
            return Err(Error::authentication_failed(
                "credential not in allowCredentials",
            ));
        }
        match &assertion.response.user_handle {
            Some(handle) if handle.as_slice() != owner.handle.as_bytes() => {
                return Err(Error::authentication_failed(
                    "userHandle is not the passkey owner's",
                ));
            }
            None if state.allowed.is_none() => {
                return Err(Error::authentication_failed("userHandle is required"));
            }
            _ => {}
        }
        credential
            .check_authenticator_data()
            .map_err(Error::authentication_failed)?;
        let verifier = verifier_of(passkey)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(assertion, state.webauthn, &verifier)
            .map_err(Error::authentication_failed)?;
        let usage = PasskeyUse {
            id: passkey.id,
            sign_count: result.counter(),
            backed_up: result.backup_state(),
            used_at: self.clock.now(),
        };
        if !self.store.record_passkey_use(usage).await? {
            return Err(Error::authentication_failed("sign count did not increase"));
        }
        self.session(owner, AMR_PASSKEY)
    }
}

/// The WebAuthn library's view of a stored passkey, with the mutable state
/// (counter, backup flags) taken from the store's columns, which are the
/// source of truth.
fn verifier_of(passkey: &Passkey) -> Result<Verifier, Error> {
    let stored: Verifier = serde_json::from_str(&passkey.verifier)
        .map_err(|e| Error::Unexpected(format!("stored passkey unreadable: {e}")))?;
    let mut internals = Credential::from(stored);
    internals.counter = passkey.sign_count;
    internals.backup_eligible = passkey.backup_eligible;
    internals.backup_state = passkey.backed_up;
    Ok(Verifier::from(internals))
}
