//! Step-up: sensitive changes need a recent authentication, and a signed-in
//! person can renew theirs with a user-verified passkey assertion or their
//! password, in the same session.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use monetro_domain::{
    AuditKind, CredentialId, Error, Password, RequestOrigin, SignInMethod, UserId,
};
use monetro_ports::{
    CeremonyHandle, CeremonyKind, Clock, CredentialRepository, PasswordHasher, SessionRepository,
    UserRepository, VerifiedToken,
};
use serde_json::{Value, json};

use crate::sessions::new_refresh_token;
use crate::sign_in::SignInState;
use crate::{App, AuthenticationCredential, Deps, Session};

/// How a signed-in person proves again that it is them.
#[derive(Debug, Clone)]
pub enum Reauthentication {
    Passkey(AuthenticationCredential),
    Password(String),
}

impl<D: Deps> App<D> {
    /// `REAUTHENTICATION_REQUIRED` unless the token's `auth_time` lies
    /// within the step-up window.
    pub fn require_recent_authentication(&self, token: &VerifiedToken) -> Result<(), Error> {
        if token.auth_time + self.settings.step_up_window < self.clock.now() {
            return Err(Error::ReauthenticationRequired);
        }
        Ok(())
    }

    /// Request options for a passkey of the signed-in user
    /// (`allowCredentials` lists theirs; user verification required), and
    /// the handle of the ceremony, bound to that user.
    pub async fn start_reauthentication(
        &self,
        user_id: UserId,
    ) -> Result<(CeremonyHandle, Value), Error> {
        self.signed_in_user(user_id).await?;
        let passkeys = self.store.list_passkeys(user_id).await?;
        let (challenge, webauthn) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| Error::Unexpected(format!("re-authentication options: {e}")))?;
        let mut options = serde_json::to_value(&challenge.public_key)
            .map_err(|e| Error::Unexpected(format!("re-authentication options: {e}")))?;
        let listed: Value = passkeys
            .iter()
            .map(|p| {
                json!({ "type": "public-key",
                    "id": URL_SAFE_NO_PAD.encode(p.credential_id.as_bytes()),
                    "transports": p.transports })
            })
            .collect();
        if let Some(options) = options.as_object_mut() {
            options.insert("allowCredentials".into(), listed);
        }
        let state = SignInState {
            webauthn,
            allowed: Some(
                passkeys
                    .into_iter()
                    .map(|p| p.credential_id.as_bytes().to_vec())
                    .collect(),
            ),
        };
        let handle = self
            .open_ceremony(CeremonyKind::Authentication, Some(user_id), &state)
            .await?;
        Ok((handle, options))
    }

    /// Checks the proof and records a fresh authentication in the token's
    /// session: new tokens whose `auth_time` is now, and the session's
    /// previous refresh token rotated out.
    pub async fn reauthenticate(
        &self,
        token: &VerifiedToken,
        proof: Reauthentication,
        handle: Option<&CeremonyHandle>,
        origin: &RequestOrigin,
    ) -> Result<Session, Error> {
        let user_id = token.user_id;
        let session_id = token.session_id.ok_or(Error::Unauthorized)?;
        let method = match proof {
            Reauthentication::Password(password) => {
                self.check_password(user_id, password, origin).await?;
                SignInMethod::Password
            }
            Reauthentication::Passkey(credential) => {
                self.check_passkey(user_id, &credential, handle, origin)
                    .await?;
                SignInMethod::Passkey
            }
        };
        let now = self.clock.now();
        let (refresh_token, next) = new_refresh_token();
        let session = self
            .store
            .reauthenticate_session(
                user_id,
                session_id,
                method,
                next,
                now,
                self.refresh_expiry(now),
            )
            .await?
            .ok_or(Error::Unauthorized)?;
        tracing::info!(user = %user_id, session = %session_id, method = method.as_str(), "re-authenticated");
        let user = self.signed_in_user(user_id).await?;
        self.session_body(user, &session, refresh_token, now)
    }

    /// The signed-in user's password; a wrong one, or none on the account,
    /// answers `INVALID_CREDENTIALS` (after the same hashing work).
    async fn check_password(
        &self,
        user_id: UserId,
        password: String,
        origin: &RequestOrigin,
    ) -> Result<(), Error> {
        let password = Password::attempt(password)?;
        let user = self.signed_in_user(user_id).await?;
        let stored = self.store.find_user_by_email(&user.email).await?;
        let phc = stored.and_then(|s| s.password_hash);
        if !self.hasher.verify(password, phc).await? {
            let code = Some(Error::InvalidCredentials.code());
            self.audit(user_id, AuditKind::PasswordLoginFailed, code, None, origin)
                .await;
            return Err(Error::InvalidCredentials);
        }
        Ok(())
    }

    /// An assertion of one of the signed-in user's passkeys against their
    /// live re-authentication ceremony, checked as a sign-in is.
    async fn check_passkey(
        &self,
        user_id: UserId,
        credential: &AuthenticationCredential,
        handle: Option<&CeremonyHandle>,
        origin: &RequestOrigin,
    ) -> Result<(), Error> {
        let state: SignInState = self
            .take_ceremony(handle, CeremonyKind::Authentication, Some(user_id))
            .await?;
        let credential_id = CredentialId::new(credential.0.raw_id.clone())?;
        let (passkey, owner) = self
            .store
            .find_passkey_with_owner(&credential_id)
            .await?
            .ok_or_else(|| self.unknown_credential(&credential_id))?;
        if owner.id != user_id {
            return Err(Error::authentication_failed(
                "the passkey is not the signed-in user's",
            ));
        }
        self.checked_assertion(state, credential, &passkey, owner, origin, None)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use monetro_domain::{Error, RequestOrigin};
    use monetro_softauthn::{SoftAuthenticator, Tweaks};

    use crate::testing::{ORIGIN, TestApp, signup};
    use crate::{AuthenticationCredential, Reauthentication, RegistrationCredential};

    /// UV is bit 2 of the authenticator data flags.
    const USER_VERIFIED: u8 = 0x04;

    #[tokio::test]
    async fn the_window_closes_and_a_password_opens_it_again_in_the_same_session() {
        let t = TestApp::new();
        let session = signup(&t.app, "ann@example.com").await;
        let token = t.app.authenticate(&session.token.token).await.unwrap();
        t.app.require_recent_authentication(&token).unwrap();
        t.clock.advance(Duration::seconds(601));
        assert_eq!(
            t.app.require_recent_authentication(&token).unwrap_err(),
            Error::ReauthenticationRequired
        );
        let wrong = t
            .app
            .reauthenticate(
                &token,
                Reauthentication::Password("not the password".into()),
                None,
                &RequestOrigin::default(),
            )
            .await;
        assert_eq!(wrong.unwrap_err(), Error::InvalidCredentials);
        let renewed = t
            .app
            .reauthenticate(
                &token,
                Reauthentication::Password("correct horse".into()),
                None,
                &RequestOrigin::default(),
            )
            .await
            .unwrap();
        assert_eq!(renewed.session_id, session.session_id);
        let fresh = t.app.authenticate(&renewed.token.token).await.unwrap();
        t.app.require_recent_authentication(&fresh).unwrap();
        assert_eq!(fresh.amr, vec!["pwd".to_owned()]);
        // The refresh token it replaced now counts as reuse.
        assert_eq!(
            t.app
                .refresh(&session.refresh_token, &RequestOrigin::default())
                .await
                .unwrap_err(),
            Error::Unauthorized
        );
    }

    #[tokio::test]
    async fn a_user_verified_passkey_of_the_user_opens_the_window() {
        let t = TestApp::new();
        let mut authenticator = SoftAuthenticator::new();
        let session = signup(&t.app, "ann@example.com").await;
        let (handle, options) = t
            .app
            .start_registration(session.user.id, None)
            .await
            .unwrap();
        let credential: RegistrationCredential =
            serde_json::from_value(authenticator.register(&options, ORIGIN).unwrap()).unwrap();
        t.app
            .finish_registration(
                session.user.id,
                Some(&handle),
                None,
                &credential,
                &RequestOrigin::default(),
            )
            .await
            .unwrap();
        t.clock.advance(Duration::seconds(901));
        let token = t.app.authenticate(&session.token.token).await;
        // Past the access token's lifetime too: refresh first, as a page does.
        assert_eq!(token.unwrap_err(), Error::TokenExpired);
        let refreshed = t
            .app
            .refresh(&session.refresh_token, &RequestOrigin::default())
            .await
            .unwrap();
        let token = t.app.authenticate(&refreshed.token.token).await.unwrap();
        assert_eq!(
            t.app.require_recent_authentication(&token).unwrap_err(),
            Error::ReauthenticationRequired,
            "a refresh keeps auth_time"
        );

        // Without user verification: refused.
        let (handle, options) = t.app.start_reauthentication(token.user_id).await.unwrap();
        assert_eq!(options["userVerification"], "required");
        assert_eq!(options["allowCredentials"].as_array().unwrap().len(), 1);
        let tweaks = Tweaks {
            flags_clear: USER_VERIFIED,
            ..Tweaks::default()
        };
        let unverified: AuthenticationCredential = serde_json::from_value(
            authenticator
                .authenticate_with(&options, ORIGIN, &tweaks)
                .unwrap(),
        )
        .unwrap();
        let refused = t
            .app
            .reauthenticate(
                &token,
                Reauthentication::Passkey(unverified),
                Some(&handle),
                &RequestOrigin::default(),
            )
            .await;
        assert!(
            matches!(refused, Err(Error::AuthenticationFailed { .. })),
            "{refused:?}"
        );

        let (handle, options) = t.app.start_reauthentication(token.user_id).await.unwrap();
        let assertion: AuthenticationCredential =
            serde_json::from_value(authenticator.authenticate(&options, ORIGIN).unwrap()).unwrap();
        let renewed = t
            .app
            .reauthenticate(
                &token,
                Reauthentication::Passkey(assertion),
                Some(&handle),
                &RequestOrigin::default(),
            )
            .await
            .unwrap();
        let fresh = t.app.authenticate(&renewed.token.token).await.unwrap();
        t.app.require_recent_authentication(&fresh).unwrap();
        assert_eq!(fresh.amr, vec!["webauthn".to_owned()]);
        assert_eq!(fresh.session_id, token.session_id);
    }

    #[tokio::test]
    async fn another_users_ceremony_or_passkey_is_refused() {
        let t = TestApp::new();
        let ann = signup(&t.app, "ann@example.com").await;
        let bob = signup(&t.app, "bob@example.com").await;
        let ann_token = t.app.authenticate(&ann.token.token).await.unwrap();
        let (handle, options) = t.app.start_reauthentication(bob.user.id).await.unwrap();
        let mut authenticator = SoftAuthenticator::new();
        let (reg, reg_options) = t.app.start_registration(ann.user.id, None).await.unwrap();
        let credential: RegistrationCredential =
            serde_json::from_value(authenticator.register(&reg_options, ORIGIN).unwrap()).unwrap();
        t.app
            .finish_registration(
                ann.user.id,
                Some(&reg),
                None,
                &credential,
                &RequestOrigin::default(),
            )
            .await
            .unwrap();
        let assertion: AuthenticationCredential =
            serde_json::from_value(authenticator.authenticate(&options, ORIGIN).unwrap()).unwrap();
        let result = t
            .app
            .reauthenticate(
                &ann_token,
                Reauthentication::Passkey(assertion),
                Some(&handle),
                &RequestOrigin::default(),
            )
            .await;
        assert_eq!(
            result.unwrap_err(),
            Error::ChallengeNotFound,
            "bob's ceremony"
        );
    }
}
