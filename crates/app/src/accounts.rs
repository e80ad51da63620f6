//! Accounts: sign-up, password login, bearer tokens.

use monetro_domain::{
    AuditKind, DisplayName, Email, Error, EventType, NewUser, OutboxEvent, Password, RequestOrigin,
    SessionId, SignInMethod, User, UserHandle, UserId,
};
use monetro_ports::{
    Clock, CredentialRepository, IssuedToken, PasswordHasher, TokenError, TokenIssuer,
    UserRepository, VerifiedToken,
};

use serde_json::json;

use crate::webhooks::event_data;
use crate::{App, Deps};

/// A sign-up request as received.
#[derive(Debug, Clone)]
pub struct Signup {
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
}

/// A signed-in user, their access token and the refresh token that keeps
/// their session going.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: IssuedToken,
    pub user: User,
    /// The `sid` of the token.
    pub session_id: SessionId,
    /// Opaque, single use: a refresh hands out the next one.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
}

/// What `GET /api/auth/me` shows of the signed-in account.
#[derive(Debug, Clone)]
pub struct Me {
    pub user: User,
    pub passkey_count: u64,
    pub has_password: bool,
}

impl<D: Deps> App<D> {
    pub async fn signup(&self, request: Signup, origin: &RequestOrigin) -> Result<Session, Error> {
        let email = Email::parse(&request.email)?;
        let password = Password::new(request.password)?;
        let display_name = match request.display_name {
            Some(raw) => DisplayName::parse(&raw)?,
            None => None,
        };
        let user = User {
            id: UserId::random(),
            email,
            display_name,
            handle: UserHandle::random(),
            created_at: self.clock.now(),
        };
        let password_hash = Some(self.hasher.hash(password).await?);
        let session = self.pending_session(user.id, SignInMethod::Password, origin);
        let events = self.account_created_event(&user, "password", origin);
        let journal = self.journal(user.id, AuditKind::AccountCreated, None, origin, events);
        self.store
            .create_user(
                NewUser {
                    user: user.clone(),
                    password_hash,
                },
                session.started_with(journal),
            )
            .await?;
        tracing::info!(user = %user.id, "account created");
        self.started_session(user, session)
    }

    /// The same answer, after the same work, for an unknown email and a
    /// wrong password.
    pub async fn login(
        &self,
        email: &str,
        password: String,
        origin: &RequestOrigin,
    ) -> Result<Session, Error> {
        let password = Password::attempt(password)?;
        let email = Email::parse(email)?;
        let account = self.store.find_user_by_email(&email).await?;
        let phc = account.as_ref().and_then(|a| a.password_hash.clone());
        let matches = self.hasher.verify(password, phc).await?;
        let Some(account) = account else {
            return Err(Error::InvalidCredentials);
        };
        if !matches {
            let code = Some(Error::InvalidCredentials.code());
            self.audit(
                account.user.id,
                AuditKind::PasswordLoginFailed,
                code,
                None,
                origin,
            )
            .await;
            return Err(Error::InvalidCredentials);
        }
        let events = self.outbox_event(
            EventType::PasswordLogin,
            event_data(Some(account.user.id), origin, json!({})),
        );
        let journal = self.journal(
            account.user.id,
            AuditKind::PasswordLogin,
            None,
            origin,
            events,
        );
        self.start_session(account.user, SignInMethod::Password, origin, journal)
            .await
    }

    /// The webhook event of a new account; `method` is how it signed up
    /// (`password` or `passkey`).
    pub(crate) fn account_created_event(
        &self,
        user: &User,
        method: &str,
        origin: &RequestOrigin,
    ) -> Vec<OutboxEvent> {
        self.outbox_event(
            EventType::AccountCreated,
            event_data(
                Some(user.id),
                origin,
                json!({ "email": user.email.as_str(), "method": method }),
            ),
        )
    }

    /// Sets the signed-in user's password. An account without one (signed
    /// up with a passkey) needs only the new password; an account with one
    /// needs the current password too, and a missing or wrong one answers
    /// `INVALID_CREDENTIALS`.
    pub async fn set_password(
        &self,
        user_id: UserId,
        password: String,
        current: Option<String>,
        origin: &RequestOrigin,
    ) -> Result<(), Error> {
        let password = Password::new(password)?;
        let current = current.map(Password::attempt).transpose()?;
        let user = self.signed_in_user(user_id).await?;
        let stored = self
            .store
            .find_user_by_email(&user.email)
            .await?
            .ok_or(Error::Unauthorized)?;
        if let Some(phc) = &stored.password_hash {
            let current = current.ok_or(Error::InvalidCredentials)?;
            if !self.hasher.verify(current, Some(phc.clone())).await? {
                let code = Some(Error::InvalidCredentials.code());
                self.audit(user_id, AuditKind::PasswordLoginFailed, code, None, origin)
                    .await;
                return Err(Error::InvalidCredentials);
            }
        }
        let new_hash = self.hasher.hash(password).await?;
        let events = self.outbox_event(
            EventType::PasswordChanged,
            event_data(
                Some(user_id),
                origin,
                json!({ "hadPassword": stored.password_hash.is_some() }),
            ),
        );
        // Only over the hash just checked: a change that raced this one
        // wins, and this one answers as a wrong current password would.
        let journal = self.journal(user_id, AuditKind::PasswordChanged, None, origin, events);
        if !self
            .store
            .replace_password_hash(user_id, stored.password_hash, new_hash, journal)
            .await?
        {
            return Err(Error::InvalidCredentials);
        }
        tracing::info!(user = %user_id, "password set");
        Ok(())
    }

    /// Checks a bearer token's signature, issuer, audience and expiry.
    pub fn verify_bearer(&self, token: &str) -> Result<VerifiedToken, Error> {
        self.tokens
            .verify(token, self.clock.now())
            .map_err(|e| match e {
                TokenError::Expired => Error::TokenExpired,
                TokenError::Invalid | TokenError::Signing(_) => Error::Unauthorized,
            })
    }

    /// The signed-in user, how many passkeys they have and whether they
    /// have a password (the pages offer "Set" or "Change" from it).
    pub async fn me(&self, user_id: UserId) -> Result<Me, Error> {
        let user = self.signed_in_user(user_id).await?;
        let (stored, passkey_count) = futures_util::future::join(
            self.store.find_user_by_email(&user.email),
            self.store.count_passkeys(user_id),
        )
        .await;
        let has_password = stored?.ok_or(Error::Unauthorized)?.password_hash.is_some();
        Ok(Me {
            user,
            passkey_count: passkey_count?,
            has_password,
        })
    }

    /// The account behind a valid token; a token of a deleted account is no
    /// longer accepted.
    pub(crate) async fn signed_in_user(&self, user_id: UserId) -> Result<User, Error> {
        self.store
            .find_user(user_id)
            .await?
            .ok_or(Error::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{TestApp, signup};
    use monetro_domain::{Error, RequestOrigin};

    #[tokio::test]
    async fn signup_then_login_issue_tokens_for_the_same_user() {
        let t = TestApp::new();
        let session = signup(&t.app, "Ann@Example.com").await;
        assert_eq!(session.user.email.as_str(), "ann@example.com");
        let login = t
            .app
            .login(
                " ann@example.com ",
                "correct horse".into(),
                &RequestOrigin::default(),
            )
            .await
            .unwrap();
        assert_eq!(login.user.id, session.user.id);
        let verified = t.app.verify_bearer(&login.token.token).unwrap();
        assert_eq!(verified.user_id, session.user.id);
        assert_eq!(verified.amr, vec!["pwd".to_owned()]);
    }

    #[tokio::test]
    async fn duplicate_email_is_refused() {
        let t = TestApp::new();
        signup(&t.app, "ann@example.com").await;
        let again = t
            .app
            .signup(
                crate::Signup {
                    email: "ANN@example.com".into(),
                    password: "another password".into(),
                    display_name: None,
                },
                &RequestOrigin::default(),
            )
            .await;
        assert_eq!(again.unwrap_err(), Error::EmailTaken);
    }

    #[tokio::test]
    async fn unknown_email_and_wrong_password_answer_alike() {
        let t = TestApp::new();
        signup(&t.app, "ann@example.com").await;
        let wrong = t
            .app
            .login(
                "ann@example.com",
                "not the password".into(),
                &RequestOrigin::default(),
            )
            .await;
        let unknown = t
            .app
            .login(
                "bob@example.com",
                "correct horse".into(),
                &RequestOrigin::default(),
            )
            .await;
        assert_eq!(wrong.unwrap_err(), Error::InvalidCredentials);
        assert_eq!(unknown.unwrap_err(), Error::InvalidCredentials);
    }

    #[tokio::test]
    async fn overlong_password_is_refused_before_hashing() {
        let t = TestApp::new();
        let result = t
            .app
            .login(
                "ann@example.com",
                "x".repeat(257),
                &RequestOrigin::default(),
            )
            .await;
        assert!(matches!(result, Err(Error::Validation(_))));
    }

    #[tokio::test]
    async fn expired_token_is_reported_as_such() {
        let t = TestApp::new();
        let session = signup(&t.app, "ann@example.com").await;
        t.clock.advance(chrono::Duration::seconds(901));
        assert_eq!(
            t.app.verify_bearer(&session.token.token).unwrap_err(),
            Error::TokenExpired
        );
        assert_eq!(
            t.app.verify_bearer("garbage").unwrap_err(),
            Error::Unauthorized
        );
    }

    #[tokio::test]
    async fn database_down_is_unavailable_not_internal() {
        let t = TestApp::new();
        t.store.set_unavailable(true);
        let result = t
            .app
            .login(
                "ann@example.com",
                "correct horse".into(),
                &RequestOrigin::default(),
            )
            .await;
        assert!(matches!(result, Err(Error::Unavailable(_))));
    }
}
