//! Passkey-only accounts, passwords added later, the passkey limit, the
//! last-credential guard and hints, over the in-memory ports with a real
//! software authenticator.

use monetro_domain::{Error, PasskeyHint, RequestOrigin};
use monetro_ports::{CeremonyHandle, CredentialRepository as _};
use monetro_softauthn::SoftAuthenticator;
use serde_json::{Value, json};

use crate::testing::{MemoryDeps, ORIGIN, TestApp, signup};
use crate::{App, AuthenticationCredential, PasskeySignup, RegistrationCredential, Session};

fn registration(json: Value) -> RegistrationCredential {
    serde_json::from_value(json).unwrap()
}

fn assertion(json: Value) -> AuthenticationCredential {
    serde_json::from_value(json).unwrap()
}

fn here() -> RequestOrigin {
    RequestOrigin::default()
}

fn request(email: &str) -> PasskeySignup {
    PasskeySignup {
        email: email.into(),
        display_name: Some("Ann".into()),
        hints: None,
    }
}

/// Sign-up options for `email`, and the credential `authenticator` makes.
async fn signup_credential(
    app: &App<MemoryDeps>,
    email: &str,
    authenticator: &mut SoftAuthenticator,
) -> (CeremonyHandle, RegistrationCredential) {
    let (handle, options) = app.start_passkey_signup(request(email)).await.unwrap();
    let credential = registration(authenticator.register(&options, ORIGIN).unwrap());
    (handle, credential)
}

async fn passkey_signup(
    app: &App<MemoryDeps>,
    email: &str,
    authenticator: &mut SoftAuthenticator,
) -> Session {
    let (handle, credential) = signup_credential(app, email, authenticator).await;
    app.finish_passkey_signup(Some(&handle), None, &credential, &here())
        .await
        .unwrap()
}

/// Registers a passkey on a new authenticator (one authenticator holds one
/// passkey per account: `excludeCredentials` sees to that).
async fn add_passkey(t: &TestApp, session: &Session) -> Result<monetro_domain::Passkey, Error> {
    let (handle, options) = t.app.start_registration(session.user.id, None).await?;
    let credential = registration(SoftAuthenticator::new().register(&options, ORIGIN).unwrap());
    t.app
        .finish_registration(session.user.id, Some(&handle), None, &credential, &here())
        .await
}

async fn sign_in(t: &TestApp, authenticator: &mut SoftAuthenticator) -> Result<Session, Error> {
    let (handle, options) = t.app.start_authentication(None, None).await.unwrap();
    let response = assertion(authenticator.authenticate(&options, ORIGIN).unwrap());
    t.app
        .finish_authentication(Some(&handle), &response, &here())
        .await
}

/// The members of `options` with the random ones blanked, so the shapes
/// of two answers can be compared.
fn shape(mut options: Value) -> Value {
    options["challenge"] = json!("*");
    options["user"]["id"] = json!("*");
    options
}

#[tokio::test]
async fn passkey_sign_up_creates_an_account_without_a_password() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let (handle, options) = t
        .app
        .start_passkey_signup(request("Ann@Example.com"))
        .await
        .unwrap();
    let selection = &options["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required");
    assert_eq!(selection["userVerification"], "required");
    assert_eq!(options["user"]["name"], "ann@example.com");
    assert_eq!(options["user"]["displayName"], "Ann");
    assert_eq!(options["excludeCredentials"], json!([]));
    let credential = registration(authenticator.register(&options, ORIGIN).unwrap());
    let session = t
        .app
        .finish_passkey_signup(Some(&handle), Some("Phone"), &credential, &here())
        .await
        .unwrap();
    assert_eq!(session.user.email.as_str(), "ann@example.com");
    let verified = t.app.verify_bearer(&session.token.token).unwrap();
    assert_eq!(verified.amr, vec!["webauthn".to_owned()]);
    let list = t.app.list_passkeys(session.user.id).await.unwrap();
    assert_eq!(list.passkeys.len(), 1);
    assert_eq!(list.passkeys[0].name.as_str(), "Phone");

    let signed_in = sign_in(&t, &mut authenticator).await.unwrap();
    assert_eq!(signed_in.user.id, session.user.id);

    // No password: a password login fails like a wrong password.
    for password in ["", "correct horse"] {
        let login = t
            .app
            .login("ann@example.com", password.into(), &here())
            .await;
        assert_eq!(login.unwrap_err(), Error::InvalidCredentials);
    }
}

#[tokio::test]
async fn a_taken_email_is_told_only_at_the_finish_and_nothing_is_stored() {
    let t = TestApp::new();
    signup(&t.app, "ann@example.com").await;
    let (_, taken) = t
        .app
        .start_passkey_signup(request("ann@example.com"))
        .await
        .unwrap();
    let (_, free) = t
        .app
        .start_passkey_signup(request("ann@example.com"))
        .await
        .unwrap();
    assert_ne!(taken["user"]["id"], free["user"]["id"], "handles are fresh");
    let (_, fresh) = t
        .app
        .start_passkey_signup(PasskeySignup {
            email: "nobody@example.com".into(),
            ..request("")
        })
        .await
        .unwrap();
    let mut fresh = shape(fresh);
    fresh["user"]["name"] = json!("ann@example.com");
    assert_eq!(shape(taken), fresh);

    let mut authenticator = SoftAuthenticator::new();
    let (handle, credential) =
        signup_credential(&t.app, "ann@example.com", &mut authenticator).await;
    let refused = t
        .app
        .finish_passkey_signup(Some(&handle), None, &credential, &here())
        .await;
    assert_eq!(refused.unwrap_err(), Error::EmailTaken);
    assert!(matches!(
        sign_in(&t, &mut authenticator).await,
        Err(Error::UnknownCredential { .. })
    ));
    // The ceremony is used up.
    let again = t
        .app
        .finish_passkey_signup(Some(&handle), None, &credential, &here())
        .await;
    assert_eq!(again.unwrap_err(), Error::ChallengeNotFound);
}

#[tokio::test]
async fn sign_up_ceremonies_are_their_own_kind() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let (handle, credential) =
        signup_credential(&t.app, "ann@example.com", &mut authenticator).await;
    let session = signup(&t.app, "bob@example.com").await;
    let as_registration = t
        .app
        .finish_registration(session.user.id, Some(&handle), None, &credential, &here())
        .await;
    assert_eq!(as_registration.unwrap_err(), Error::ChallengeNotFound);
    let (sign_in_handle, _) = t.app.start_authentication(None, None).await.unwrap();
    let wrong_kind = t
        .app
        .finish_passkey_signup(Some(&sign_in_handle), None, &credential, &here())
        .await;
    assert_eq!(wrong_kind.unwrap_err(), Error::ChallengeNotFound);
    t.app
        .finish_passkey_signup(Some(&handle), None, &credential, &here())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_passkey_only_account_adds_a_password_then_changes_it() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let session = passkey_signup(&t.app, "ann@example.com", &mut authenticator).await;
    let id = session.user.id;
    assert!(!t.app.me(id).await.unwrap().has_password);
    let short = t.app.set_password(id, "short".into(), None, &here()).await;
    assert!(matches!(short, Err(Error::Validation(_))));
    assert!(!t.app.me(id).await.unwrap().has_password);
    t.app
        .set_password(id, "first password".into(), None, &here())
        .await
        .unwrap();
    assert!(t.app.me(id).await.unwrap().has_password);
    let login = t
        .app
        .login("ann@example.com", "first password".into(), &here())
        .await
        .unwrap();
    assert_eq!(login.user.id, id);

    for current in [None, Some("wrong password".to_owned())] {
        let refused = t
            .app
            .set_password(id, "second password".into(), current, &here())
            .await;
        assert_eq!(refused.unwrap_err(), Error::InvalidCredentials);
    }
    t.app
        .set_password(
            id,
            "second password".into(),
            Some("first password".into()),
            &here(),
        )
        .await
        .unwrap();
    let old = t
        .app
        .login("ann@example.com", "first password".into(), &here())
        .await;
    assert_eq!(old.unwrap_err(), Error::InvalidCredentials);
    t.app
        .login("ann@example.com", "second password".into(), &here())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_passkey_limit_holds_at_options_and_at_finish() {
    let t = TestApp::with(|s| s.max_passkeys_per_user = 2);
    let session = signup(&t.app, "ann@example.com").await;
    add_passkey(&t, &session).await.unwrap();
    // Options taken while there was room, finished after it was gone.
    let (late_handle, late_options) = t
        .app
        .start_registration(session.user.id, None)
        .await
        .unwrap();
    add_passkey(&t, &session).await.unwrap();
    assert_eq!(
        add_passkey(&t, &session).await.unwrap_err(),
        Error::PasskeyLimitReached
    );
    let credential = registration(
        SoftAuthenticator::new()
            .register(&late_options, ORIGIN)
            .unwrap(),
    );
    let late = t
        .app
        .finish_registration(
            session.user.id,
            Some(&late_handle),
            None,
            &credential,
            &here(),
        )
        .await;
    assert_eq!(late.unwrap_err(), Error::PasskeyLimitReached);
    assert_eq!(t.store.count_passkeys(session.user.id).await.unwrap(), 2);
}

#[tokio::test]
async fn the_last_way_to_sign_in_cannot_be_removed() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let session = passkey_signup(&t.app, "ann@example.com", &mut authenticator).await;
    let id = session.user.id;
    let first = t.app.list_passkeys(id).await.unwrap().passkeys[0].id;
    let refused = t.app.delete_passkey(id, &first.to_string(), &here()).await;
    assert_eq!(refused.unwrap_err(), Error::LastCredential);

    let second = add_passkey(&t, &session).await.unwrap().id;
    t.app
        .delete_passkey(id, &first.to_string(), &here())
        .await
        .unwrap();
    let refused = t.app.delete_passkey(id, &second.to_string(), &here()).await;
    assert_eq!(refused.unwrap_err(), Error::LastCredential);

    // With a password, the last passkey may go.
    t.app
        .set_password(id, "a password now".into(), None, &here())
        .await
        .unwrap();
    t.app
        .delete_passkey(id, &second.to_string(), &here())
        .await
        .unwrap();
    assert_eq!(t.app.me(id).await.unwrap().passkey_count, 0);
}

#[tokio::test]
async fn hints_come_from_the_settings_or_the_request() {
    let t = TestApp::with(|s| s.hints = vec![PasskeyHint::ClientDevice, PasskeyHint::Hybrid]);
    let session = signup(&t.app, "ann@example.com").await;
    let configured = json!(["client-device", "hybrid"]);
    let (_, options) = t
        .app
        .start_registration(session.user.id, None)
        .await
        .unwrap();
    assert_eq!(options["hints"], configured);
    let (_, options) = t.app.start_authentication(None, None).await.unwrap();
    assert_eq!(options["hints"], configured);
    let (_, options) = t
        .app
        .start_passkey_signup(request("bob@example.com"))
        .await
        .unwrap();
    assert_eq!(options["hints"], configured);

    let asked = ["security-key".to_owned()];
    let (_, options) = t
        .app
        .start_registration(session.user.id, Some(&asked))
        .await
        .unwrap();
    assert_eq!(options["hints"], json!(["security-key"]));
    let (_, options) = t
        .app
        .start_authentication(Some("ann@example.com"), Some(&[]))
        .await
        .unwrap();
    assert!(
        options.get("hints").is_none(),
        "an empty list asks for none"
    );

    let bad = ["nfc".to_owned()];
    for refused in [
        t.app
            .start_registration(session.user.id, Some(&bad))
            .await
            .map(drop),
        t.app.start_authentication(None, Some(&bad)).await.map(drop),
        t.app
            .start_passkey_signup(PasskeySignup {
                hints: Some(bad.to_vec()),
                ..request("bob@example.com")
            })
            .await
            .map(drop),
    ] {
        assert!(matches!(refused, Err(Error::Validation(_))), "{refused:?}");
    }

    let plain = TestApp::new();
    let (_, options) = plain.app.start_authentication(None, None).await.unwrap();
    assert!(options.get("hints").is_none(), "no hints configured");
}
