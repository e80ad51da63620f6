//! Registering and managing a signed-in user's passkeys.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use monetro_domain::{
    AuditKind, CredentialId, Error, EventType, OutboxEvent, Passkey, PasskeyId, PasskeyName,
    RequestOrigin, UserHandle, UserId, authenticator_name,
};
use monetro_ports::{
    CeremonyHandle, CeremonyKind, Clock, CredentialRepository, Notifier as _, UserRepository as _,
};
use serde_json::{Value, json};
use webauthn_rs::prelude::{Credential, PasskeyRegistration};

use crate::conditional::{
    Mediation, RegistrationState, conditional_options, conditional_state, presence_waived,
};
use crate::credentials::refuse_cross_origin_frames;
use crate::hints::add_hints;
use crate::webhooks::event_data;
use crate::{App, Deps, RegistrationCredential};

/// What the passkey list shows, with what a browser needs to call
/// `PublicKeyCredential.signalAllAcceptedCredentials`.
#[derive(Debug, Clone)]
pub struct PasskeyList {
    pub rp_id: String,
    pub user_handle: UserHandle,
    pub passkeys: Vec<Passkey>,
}

/// The name a passkey gets when the user gives none.
const DEFAULT_NAME: &str = "Passkey";

impl<D: Deps> App<D> {
    /// Creation options for a new passkey of the signed-in user, and the
    /// handle of the ceremony that waits for it. `hints`: the caller's
    /// WebAuthn hints, or `None` for the configured ones.
    pub async fn start_registration(
        &self,
        user_id: UserId,
        hints: Option<&[String]>,
    ) -> Result<(CeremonyHandle, Value), Error> {
        self.registration_options(user_id, hints, Mediation::Optional)
            .await
    }

    /// Creation options for an automatic passkey upgrade
    /// (`navigator.credentials.create({mediation: "conditional"})` after a
    /// password sign-in): as [`Self::start_registration`], but with
    /// `userVerification: "preferred"`, and the ceremony accepts a
    /// credential without user presence (see [`crate::conditional`]).
    pub async fn start_conditional_registration(
        &self,
        user_id: UserId,
        hints: Option<&[String]>,
    ) -> Result<(CeremonyHandle, Value), Error> {
        self.registration_options(user_id, hints, Mediation::Conditional)
            .await
    }

    async fn registration_options(
        &self,
        user_id: UserId,
        hints: Option<&[String]>,
        mediation: Mediation,
    ) -> Result<(CeremonyHandle, Value), Error> {
        let hints = self.hints_for(hints)?;
        let user = self.signed_in_user(user_id).await?;
        let existing = self.store.list_passkeys(user_id).await?;
        if existing.len() >= self.settings.max_passkeys_per_user as usize {
            return Err(Error::PasskeyLimitReached);
        }
        let display_name = user
            .display_name
            .as_ref()
            .map_or(user.email.as_str(), |n| n.as_str());
        let (challenge, mut webauthn) = self
            .webauthn
            .start_passkey_registration(user.handle.0, user.email.as_str(), display_name, None)
            .map_err(|e| Error::Unexpected(format!("registration options: {e}")))?;
        let mut options = serde_json::to_value(&challenge.public_key)
            .map_err(|e| Error::Unexpected(format!("registration options: {e}")))?;
        require_discoverable_credential(&mut options);
        exclude_credentials(&mut options, &existing);
        add_hints(&mut options, &hints);
        let conditional = mediation == Mediation::Conditional;
        if conditional {
            webauthn = conditional_state(&webauthn)?;
            conditional_options(&mut options);
        }
        let state = RegistrationState {
            webauthn,
            conditional,
        };
        let handle = self
            .open_ceremony(CeremonyKind::Registration, Some(user_id), &state)
            .await?;
        Ok((handle, options))
    }

    /// Verifies the new credential against the user's live registration
    /// ceremony and stores it.
    pub async fn finish_registration(
        &self,
        user_id: UserId,
        handle: Option<&CeremonyHandle>,
        name: Option<&str>,
        credential: &RegistrationCredential,
        origin: &RequestOrigin,
    ) -> Result<Passkey, Error> {
        let name = name.map(PasskeyName::parse).transpose()?.flatten();
        let state: RegistrationState = self
            .take_ceremony(handle, CeremonyKind::Registration, Some(user_id))
            .await?;
        let mediation = state.mediation();
        let passkey =
            self.verified_passkey(user_id, name, credential, &state.webauthn, mediation)?;
        let events = self.registered_event(&passkey, mediation, origin);
        let journal = self.journal(
            user_id,
            AuditKind::PasskeyRegistered,
            Some(passkey.id),
            origin,
            events,
        );
        self.store
            .insert_passkey(
                passkey.clone(),
                self.settings.max_passkeys_per_user,
                journal,
            )
            .await?;
        tracing::info!(user = %user_id, passkey = %passkey.id, conditional = state.conditional, "passkey registered");
        self.notify_passkey_added(&passkey).await;
        Ok(passkey)
    }

    /// The webhook event of a new passkey; `conditional` in its data says
    /// whether an automatic upgrade (conditional create) made it.
    pub(crate) fn registered_event(
        &self,
        passkey: &Passkey,
        mediation: Mediation,
        origin: &RequestOrigin,
    ) -> Vec<OutboxEvent> {
        self.outbox_event(
            EventType::PasskeyRegistered,
            event_data(
                Some(passkey.user_id),
                origin,
                json!({
                    "passkeyId": passkey.id.0,
                    "credentialId": URL_SAFE_NO_PAD.encode(passkey.credential_id.as_bytes()),
                    "name": passkey.name.as_str(),
                    "aaguid": passkey.aaguid,
                    "backupEligible": passkey.backup_eligible,
                    "conditional": mediation == Mediation::Conditional,
                }),
            ),
        )
    }

    /// Tells the owner about a passkey added to their account. Best
    /// effort: a failure is logged and the registration stands.
    async fn notify_passkey_added(&self, passkey: &Passkey) {
        let owner = match self.store.find_user(passkey.user_id).await {
            Ok(Some(owner)) => owner,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, passkey = %passkey.id, "no notification: owner not read");
                return;
            }
        };
        if let Err(error) = self.notifier.passkey_added(&owner, passkey).await {
            tracing::warn!(%error, user = %owner.id, passkey = %passkey.id, "new-passkey notification not sent");
        }
    }

    /// Verifies a new credential against its registration state; the
    /// passkey to store for `user_id`. Only a `Conditional` ceremony lets a
    /// credential without user presence through to webauthn-rs (see
    /// [`crate::conditional`]); every other check sees the credential as
    /// sent.
    pub(crate) fn verified_passkey(
        &self,
        user_id: UserId,
        name: Option<PasskeyName>,
        credential: &RegistrationCredential,
        state: &PasskeyRegistration,
        mediation: Mediation,
    ) -> Result<Passkey, Error> {
        credential
            .check_attestation_object()
            .map_err(Error::registration_failed)?;
        let waived = match mediation {
            Mediation::Conditional => presence_waived(&credential.0),
            Mediation::Optional => None,
        };
        let verified = self
            .webauthn
            .finish_passkey_registration(waived.as_ref().unwrap_or(&credential.0), state)
            .map_err(Error::registration_failed)?;
        refuse_cross_origin_frames(&credential.0.response.client_data_json)
            .map_err(Error::registration_failed)?;
        let verifier = serde_json::to_string(&verified)
            .map_err(|e| Error::Unexpected(format!("passkey not serialisable: {e}")))?;
        let internals = Credential::from(verified);
        let credential_id = CredentialId::new(internals.cred_id.to_vec())
            .map_err(|_| Error::registration_failed("credential id longer than 1023 bytes"))?;
        // webauthn-rs takes the id from the authenticator data and ignores
        // `rawId`; the record is the credential the client named.
        if internals.cred_id.as_slice() != credential.0.raw_id.as_slice() {
            return Err(Error::registration_failed(
                "rawId is not the credential id in the authenticator data",
            ));
        }
        let aaguid = credential.aaguid();
        let name = name.unwrap_or_else(|| {
            PasskeyName::fallback(authenticator_name(&aaguid).unwrap_or(DEFAULT_NAME))
        });
        Ok(Passkey {
            id: PasskeyId::random(),
            user_id,
            name,
            credential_id,
            verifier,
            sign_count: internals.counter,
            backup_eligible: internals.backup_eligible,
            backed_up: internals.backup_state,
            transports: transport_names(credential.0.response.transports.as_deref()),
            aaguid,
            created_at: self.clock.now(),
            last_used_at: None,
        })
    }

    /// The signed-in user's passkeys, newest first.
    pub async fn list_passkeys(&self, user_id: UserId) -> Result<PasskeyList, Error> {
        let user = self.signed_in_user(user_id).await?;
        let passkeys = self.store.list_passkeys(user_id).await?;
        Ok(PasskeyList {
            rp_id: self.settings.rp_id.clone(),
            user_handle: user.handle,
            passkeys,
        })
    }

    pub async fn rename_passkey(
        &self,
        user_id: UserId,
        id: &str,
        name: &str,
        origin: &RequestOrigin,
    ) -> Result<Passkey, Error> {
        let name =
            PasskeyName::parse(name)?.ok_or_else(|| Error::validation("name is required"))?;
        let id = PasskeyId::parse(id)?;
        self.signed_in_user(user_id).await?;
        let events = self.outbox_event(
            EventType::PasskeyRenamed,
            event_data(
                Some(user_id),
                origin,
                json!({ "passkeyId": id.0, "name": name.as_str() }),
            ),
        );
        let journal = self.journal(user_id, AuditKind::PasskeyRenamed, Some(id), origin, events);
        self.store
            .rename_passkey(user_id, id, name, journal)
            .await?
            .ok_or(Error::PasskeyNotFound)
    }

    pub async fn delete_passkey(
        &self,
        user_id: UserId,
        id: &str,
        origin: &RequestOrigin,
    ) -> Result<(), Error> {
        let id = PasskeyId::parse(id)?;
        self.signed_in_user(user_id).await?;
        let events = self.outbox_event(
            EventType::PasskeyRemoved,
            event_data(
                Some(user_id),
                origin,
                json!({ "passkeyId": id.0, "by": "user" }),
            ),
        );
        let journal = self.journal(user_id, AuditKind::PasskeyRemoved, Some(id), origin, events);
        if !self.store.delete_passkey(user_id, id, journal).await? {
            return Err(Error::PasskeyNotFound);
        }
        tracing::info!(user = %user_id, passkey = %id, "passkey removed");
        Ok(())
    }
}

/// webauthn-rs asks for `residentKey: "discouraged"`; a passkey must be
/// discoverable, or usernameless sign-in finds nothing.
pub(crate) fn require_discoverable_credential(options: &mut Value) {
    if let Some(selection) = options
        .get_mut("authenticatorSelection")
        .and_then(Value::as_object_mut)
    {
        selection.insert("residentKey".into(), "required".into());
        selection.insert("requireResidentKey".into(), true.into());
    }
}

/// `excludeCredentials`: the user's passkeys, so that a browser does not
/// make a second one on an authenticator that holds one already. They are
/// not handed to webauthn-rs, which would refuse a listed credential as a
/// failed verification (400): a credential id stored for any user, this one
/// included, is the store's `PASSKEY_ALREADY_REGISTERED` (409).
fn exclude_credentials(options: &mut Value, existing: &[Passkey]) {
    let listed: Value = existing
        .iter()
        .map(|p| {
            let id = URL_SAFE_NO_PAD.encode(p.credential_id.as_bytes());
            json!({ "type": "public-key", "id": id })
        })
        .collect();
    if let Some(options) = options.as_object_mut() {
        options.insert("excludeCredentials".into(), listed);
    }
}

/// Transport hints as the browser reported them (`getTransports()`), minus
/// ones webauthn-rs did not recognise. Read from the response: webauthn-rs
/// keeps them in its credential only for `packed` and `tpm` attestation,
/// and the service asks for `none`.
fn transport_names<T: serde::Serialize>(transports: Option<&[T]>) -> Vec<String> {
    transports
        .unwrap_or_default()
        .iter()
        .filter_map(|t| serde_json::to_value(t).ok()?.as_str().map(str::to_owned))
        .filter(|t| t != "unknown")
        .collect()
}
