//! Passkey sign-in: usernameless (discoverable credentials, "Sign in with
//! Passkey" and autofill) or scoped to an email.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use monetro_domain::{
    AuditKind, CredentialId, Email, Error, EventType, Passkey, PasskeyUse, RequestOrigin,
    SignInMethod, User,
};
use monetro_ports::{CeremonyHandle, CeremonyKind, Clock, CredentialRepository, UserRepository};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webauthn_rs::prelude::{Credential, DiscoverableAuthentication, Passkey as Verifier};

use crate::credentials::refuse_cross_origin_frames;
use crate::decoy::decoy_credential_id;
use crate::hints::add_hints;
use crate::sessions::PendingSession;
use crate::webhooks::event_data;
use crate::{App, AuthenticationCredential, Deps, Session};

/// Transports shown with a decoy credential: what a synced platform
/// passkey reports.
const DECOY_TRANSPORTS: [&str; 2] = ["hybrid", "internal"];

#[derive(Serialize, Deserialize)]
pub(crate) struct SignInState {
    pub(crate) webauthn: DiscoverableAuthentication,
    /// For email-scoped sign-in (and re-authentication), the credential
    /// ids offered in `allowCredentials`; only these are accepted.
    pub(crate) allowed: Option<Vec<Vec<u8>>>,
}

impl<D: Deps> App<D> {
    /// Request options and the handle of the ceremony that waits for the
    /// assertion. Without an email, `allowCredentials` is empty; with one it
    /// lists that user's passkeys, or a stable decoy when there are none.
    /// `hints`: the caller's WebAuthn hints, or `None` for the configured
    /// ones.
    pub async fn start_authentication(
        &self,
        email: Option<&str>,
        hints: Option<&[String]>,
    ) -> Result<(CeremonyHandle, Value), Error> {
        let email = email.map(Email::parse).transpose()?;
        let hints = self.hints_for(hints)?;
        let (challenge, webauthn) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| Error::Unexpected(format!("authentication options: {e}")))?;
        let mut options = serde_json::to_value(&challenge.public_key)
            .map_err(|e| Error::Unexpected(format!("authentication options: {e}")))?;
        add_hints(&mut options, &hints);
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
        let assertion = &credential.0;
        let credential_id = CredentialId::new(assertion.raw_id.clone());
        // Independent lookups, so they overlap; their errors still count in
        // this order: ceremony, credential id, passkey.
        let passkey_lookup = async {
            match &credential_id {
                Ok(id) => self.store.find_passkey_with_owner(id).await,
                Err(_) => Ok(None),
            }
        };
        let (state, found) = futures_util::future::join(
            self.take_ceremony::<SignInState>(handle, CeremonyKind::Authentication, None),
            passkey_lookup,
        )
        .await;
        let state = state?;
        let credential_id = credential_id?;
        let Some((passkey, owner)) = found? else {
            let seen = URL_SAFE_NO_PAD.encode(credential_id.as_bytes());
            self.unknown_credential_seen(&seen, origin).await;
            return Err(self.unknown_credential(&credential_id));
        };
        let pending = self.pending_session(owner.id, SignInMethod::Passkey, origin);
        let owner = self
            .checked_assertion(state, credential, &passkey, owner, origin, Some(&pending))
            .await?;
        self.started_session(owner, pending)
    }

    /// [`Self::verify_assertion`], with a failure logged on the passkey's
    /// account (a success is logged with the counter update, in one store
    /// call, which also stores `session` when the assertion starts one);
    /// the passkey's owner. A store that failed is not the person's failure:
    /// it is not logged, and not waited for a second time.
    pub(crate) async fn checked_assertion(
        &self,
        state: SignInState,
        credential: &AuthenticationCredential,
        passkey: &Passkey,
        owner: User,
        origin: &RequestOrigin,
        session: Option<&PendingSession>,
    ) -> Result<User, Error> {
        let outcome = self
            .verify_assertion(state, credential, passkey, owner, origin, session)
            .await;
        if let Some(error) = outcome
            .as_ref()
            .err()
            .filter(|e| !matches!(e, Error::Unavailable(_) | Error::Unexpected(_)))
        {
            self.audit(
                passkey.user_id,
                AuditKind::PasskeySignInFailed,
                Some(error.code()),
                Some(passkey.id),
                origin,
            )
            .await;
        }
        outcome
    }

    /// Reports a sign-in with a credential id the service does not know
    /// (a passkey deleted here but still on a device, or probing): no
    /// user, only the credential id. Best effort; as many as the sign-in
    /// rate limit lets through.
    async fn unknown_credential_seen(&self, credential_id: &str, origin: &RequestOrigin) {
        let events = self.outbox_event(
            EventType::UnknownCredentialSeen,
            event_data(
                None,
                origin,
                json!({ "credentialId": credential_id, "rpId": self.settings.rp_id }),
            ),
        );
        self.enqueue_events(events).await;
    }

    /// Every check after the passkey is known: the offered credentials, the
    /// user handle, the assertion itself and the counter; then the use is
    /// recorded and logged, and `session` stored with it.
    async fn verify_assertion(
        &self,
        state: SignInState,
        credential: &AuthenticationCredential,
        passkey: &Passkey,
        owner: User,
        origin: &RequestOrigin,
        session: Option<&PendingSession>,
    ) -> Result<User, Error> {
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
        refuse_cross_origin_frames(&assertion.response.client_data_json)
            .map_err(Error::authentication_failed)?;
        let usage = PasskeyUse {
            id: passkey.id,
            sign_count: result.counter(),
            backed_up: result.backup_state(),
            used_at: self.clock.now(),
        };
        let used = self.audit_event(
            owner.id,
            AuditKind::PasskeyUsed,
            None,
            Some(passkey.id),
            origin,
        );
        let mut events = self.outbox_event(
            EventType::PasskeyUsed,
            event_data(
                Some(owner.id),
                origin,
                json!({
                    "passkeyId": passkey.id.0,
                    "credentialId": URL_SAFE_NO_PAD.encode(passkey.credential_id.as_bytes()),
                    "backedUp": usage.backed_up,
                }),
            ),
        );
        let new_session = session.map(|pending| {
            events.extend(pending.events.iter().cloned());
            pending.new.clone()
        });
        if !self
            .store
            .record_passkey_use(usage, used, new_session, events)
            .await?
        {
            // Removed while it was being verified: as if it had been gone
            // before, so that the browser can be told to forget it.
            let gone = self
                .store
                .find_passkey_with_owner(&passkey.credential_id)
                .await?
                .is_none();
            return Err(if gone {
                self.unknown_credential(&passkey.credential_id)
            } else {
                Error::authentication_failed("sign count did not increase")
            });
        }
        Ok(owner)
    }

    /// `PASSKEY_NOT_FOUND` with what `signalUnknownCredential` needs.
    pub(crate) fn unknown_credential(&self, credential_id: &CredentialId) -> Error {
        Error::UnknownCredential {
            credential_id: URL_SAFE_NO_PAD.encode(credential_id.as_bytes()),
            rp_id: self.settings.rp_id.clone(),
        }
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
