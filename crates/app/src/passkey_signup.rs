//! Sign-up with a passkey and no password: an account and its first
//! passkey, created together.
//!
//! The options call looks nothing up: an email that is taken gets options
//! of the same shape, with a fresh random user handle, as a free one, so
//! the call does not reveal who has an account. Only the finish call,
//! after the passkey verified, answers `EMAIL_TAKEN`, and stores nothing.

use monetro_domain::{
    AuditKind, DisplayName, Email, Error, NewUser, PasskeyName, RequestOrigin, SignInMethod, User,
    UserHandle, UserId,
};
use monetro_ports::{CeremonyHandle, CeremonyKind, Clock, UserRepository};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::PasskeyRegistration;

use crate::conditional::Mediation;
use crate::hints::add_hints;
use crate::passkeys::require_discoverable_credential;
use crate::{App, Deps, RegistrationCredential, Session};

/// A passkey sign-up request as received.
#[derive(Debug, Clone, Default)]
pub struct PasskeySignup {
    pub email: String,
    pub display_name: Option<String>,
    /// The caller's WebAuthn hints; `None` for the configured ones.
    pub hints: Option<Vec<String>>,
}

/// What the sign-up ceremony remembers between its two calls.
#[derive(Serialize, Deserialize)]
struct SignupState {
    webauthn: PasskeyRegistration,
    email: String,
    display_name: Option<String>,
    user_handle: Uuid,
}

impl<D: Deps> App<D> {
    /// Creation options for the first passkey of a new account, and the
    /// handle of the ceremony that waits for it.
    pub async fn start_passkey_signup(
        &self,
        request: PasskeySignup,
    ) -> Result<(CeremonyHandle, Value), Error> {
        let email = Email::parse(&request.email)?;
        let display_name = match request.display_name {
            Some(raw) => DisplayName::parse(&raw)?,
            None => None,
        };
        let hints = self.hints_for(request.hints.as_deref())?;
        let handle = UserHandle::random();
        let shown_name = display_name
            .as_ref()
            .map_or(email.as_str(), DisplayName::as_str);
        let (challenge, webauthn) = self
            .webauthn
            .start_passkey_registration(handle.0, email.as_str(), shown_name, Some(Vec::new()))
            .map_err(|e| Error::Unexpected(format!("sign-up options: {e}")))?;
        let mut options = serde_json::to_value(&challenge.public_key)
            .map_err(|e| Error::Unexpected(format!("sign-up options: {e}")))?;
        require_discoverable_credential(&mut options);
        add_hints(&mut options, &hints);
        let state = SignupState {
            webauthn,
            email: email.as_str().to_owned(),
            display_name: display_name.map(|n| n.as_str().to_owned()),
            user_handle: handle.0,
        };
        let ceremony = self
            .open_ceremony(CeremonyKind::Signup, None, &state)
            .await?;
        Ok((ceremony, options))
    }

    /// Verifies the new credential against the live sign-up ceremony, then
    /// stores the account (without a password) and the passkey in one
    /// transaction and signs the account in.
    pub async fn finish_passkey_signup(
        &self,
        handle: Option<&CeremonyHandle>,
        name: Option<&str>,
        credential: &RegistrationCredential,
        origin: &RequestOrigin,
    ) -> Result<Session, Error> {
        let name = name.map(PasskeyName::parse).transpose()?.flatten();
        let state: SignupState = self
            .take_ceremony(handle, CeremonyKind::Signup, None)
            .await?;
        let user = User {
            id: UserId::random(),
            email: Email::parse(&state.email)?,
            display_name: state
                .display_name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()?
                .flatten(),
            handle: UserHandle(state.user_handle),
            created_at: self.clock.now(),
        };
        let passkey = self.verified_passkey(
            user.id,
            name,
            credential,
            &state.webauthn,
            Mediation::Optional,
        )?;
        let mut events = self.account_created_event(&user, "passkey", origin);
        events.extend(self.registered_event(&passkey, Mediation::Optional, origin));
        let mut journal = self.journal(user.id, AuditKind::AccountCreated, None, origin, events);
        journal.audit.push(self.audit_event(
            user.id,
            AuditKind::PasskeyRegistered,
            None,
            Some(passkey.id),
            origin,
        ));
        let session = self.pending_session(user.id, SignInMethod::Passkey, origin);
        self.store
            .create_user_with_passkey(
                NewUser {
                    user: user.clone(),
                    password_hash: None,
                },
                passkey.clone(),
                session.started_with(journal),
            )
            .await?;
        tracing::info!(user = %user.id, passkey = %passkey.id, "account created with a passkey");
        self.started_session(user, session)
    }
}
