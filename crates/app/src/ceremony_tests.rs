//! The WebAuthn ceremonies end to end over the in-memory ports, with a real
//! software authenticator signing real challenges.

use chrono::Duration;
use monetro_domain::Error;
use monetro_ports::CeremonyHandle;
use monetro_softauthn::{SoftAuthenticator, Tweaks};
use serde_json::Value;

use crate::testing::{ORIGIN, TestApp, signup};
use crate::{AuthenticationCredential, RegistrationCredential};
use monetro_domain::RequestOrigin;

fn registration(json: Value) -> RegistrationCredential {
    serde_json::from_value(json).unwrap()
}

fn assertion(json: Value) -> AuthenticationCredential {
    serde_json::from_value(json).unwrap()
}

/// Signs up `email` and registers one passkey on `authenticator`.
async fn enrolled(
    t: &TestApp,
    email: &str,
    authenticator: &mut SoftAuthenticator,
) -> crate::Session {
    let session = signup(&t.app, email).await;
    let (handle, options) = t
        .app
        .start_registration(session.user.id, None)
        .await
        .unwrap();
    let credential = registration(authenticator.register(&options, ORIGIN).unwrap());
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
    session
}

async fn sign_in_options(t: &TestApp, email: Option<&str>) -> (CeremonyHandle, Value) {
    t.app.start_authentication(email, None).await.unwrap()
}

#[tokio::test]
async fn registration_options_ask_for_a_discoverable_user_verified_passkey() {
    let t = TestApp::new();
    let session = signup(&t.app, "ann@example.com").await;
    let (_, options) = t
        .app
        .start_registration(session.user.id, None)
        .await
        .unwrap();
    let selection = &options["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(selection["userVerification"], "required");
    assert_eq!(options["attestation"], "none");
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["user"]["name"], "ann@example.com");
    assert_eq!(options["pubKeyCredParams"][0]["alg"], -7, "ES256 first");
    let user_id = options["user"]["id"].as_str().unwrap();
    assert!(!user_id.contains("ann"), "the user handle must be opaque");
}

#[tokio::test]
async fn usernameless_sign_in_after_registration() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let session = enrolled(&t, "ann@example.com", &mut authenticator).await;

    let (handle, options) = sign_in_options(&t, None).await;
    assert_eq!(options["allowCredentials"], serde_json::json!([]));
    assert_eq!(options["userVerification"], "required");
    let response = assertion(authenticator.authenticate(&options, ORIGIN).unwrap());
    let signed_in = t
        .app
        .finish_authentication(Some(&handle), &response, &RequestOrigin::default())
        .await
        .unwrap();
    assert_eq!(signed_in.user.id, session.user.id);

    let list = t.app.list_passkeys(session.user.id).await.unwrap();
    let passkey = &list.passkeys[0];
    assert_eq!(passkey.sign_count, 1);
    assert_eq!(passkey.last_used_at, Some(t.clock_now()));
    assert_eq!(passkey.name.as_str(), "Passkey");
}

/// Found by fuzzing (`fuzz/corpus/registration/crash-transports`): with
/// `attestation: "none"` the transports the browser reported were dropped.
#[tokio::test]
async fn registration_keeps_the_reported_transports() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new().with_transports(&["usb", "nfc"]);
    let session = enrolled(&t, "ann@example.com", &mut authenticator).await;
    let list = t.app.list_passkeys(session.user.id).await.unwrap();
    assert_eq!(list.passkeys[0].transports, ["usb", "nfc"]);
}

#[tokio::test]
async fn a_challenge_finishes_once() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    enrolled(&t, "ann@example.com", &mut authenticator).await;
    let (handle, options) = sign_in_options(&t, None).await;
    let response = assertion(authenticator.authenticate(&options, ORIGIN).unwrap());
    t.app
        .finish_authentication(Some(&handle), &response, &RequestOrigin::default())
        .await
        .unwrap();
    let replay = t
        .app
        .finish_authentication(Some(&handle), &response, &RequestOrigin::default())
        .await;
    assert_eq!(replay.unwrap_err(), Error::ChallengeNotFound);
}

#[tokio::test]
async fn an_expired_challenge_says_so() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    enrolled(&t, "ann@example.com", &mut authenticator).await;
    let (handle, options) = sign_in_options(&t, None).await;
    let response = assertion(authenticator.authenticate(&options, ORIGIN).unwrap());
    t.clock.advance(Duration::seconds(301));
    let late = t
        .app
        .finish_authentication(Some(&handle), &response, &RequestOrigin::default())
        .await;
    assert_eq!(late.unwrap_err(), Error::ChallengeExpired);
}

#[tokio::test]
async fn a_ceremony_of_the_other_kind_is_left_alone() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let session = signup(&t.app, "ann@example.com").await;
    let (handle, options) = t
        .app
        .start_registration(session.user.id, None)
        .await
        .unwrap();
    let credential = registration(authenticator.register(&options, ORIGIN).unwrap());

    let (sign_in_handle, _) = sign_in_options(&t, None).await;
    let wrong_kind = t
        .app
        .finish_registration(
            session.user.id,
            Some(&sign_in_handle),
            None,
            &credential,
            &RequestOrigin::default(),
        )
        .await;
    assert_eq!(wrong_kind.unwrap_err(), Error::ChallengeNotFound);

    let other = signup(&t.app, "bob@example.com").await;
    let wrong_user = t
        .app
        .finish_registration(
            other.user.id,
            Some(&handle),
            None,
            &credential,
            &RequestOrigin::default(),
        )
        .await;
    assert_eq!(wrong_user.unwrap_err(), Error::ChallengeNotFound);

    t.app
        .finish_registration(
            session.user.id,
            Some(&handle),
            Some("Laptop"),
            &credential,
            &RequestOrigin::default(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_credential_names_itself_and_the_rp() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let session = enrolled(&t, "ann@example.com", &mut authenticator).await;
    let passkey = t
        .app
        .list_passkeys(session.user.id)
        .await
        .unwrap()
        .passkeys
        .remove(0);
    t.app
        .delete_passkey(
            session.user.id,
            &passkey.id.to_string(),
            &RequestOrigin::default(),
        )
        .await
        .unwrap();

    let (handle, options) = sign_in_options(&t, None).await;
    let response = assertion(authenticator.authenticate(&options, ORIGIN).unwrap());
    let Err(Error::UnknownCredential {
        credential_id,
        rp_id,
    }) = t
        .app
        .finish_authentication(Some(&handle), &response, &RequestOrigin::default())
        .await
    else {
        panic!("expected an unknown credential");
    };
    assert_eq!(credential_id, response.0.id);
    assert_eq!(rp_id, "localhost");
}

#[tokio::test]
async fn email_scoped_options_list_the_users_passkeys_or_a_stable_decoy() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    enrolled(&t, "ann@example.com", &mut authenticator).await;
    let held = base64_id(&authenticator.credentials()[0].id);

    let (_, ann) = sign_in_options(&t, Some("ann@example.com")).await;
    assert_eq!(ann["allowCredentials"][0]["id"], held.as_str());

    let (_, first) = sign_in_options(&t, Some("nobody@example.com")).await;
    let (_, second) = sign_in_options(&t, Some("NOBODY@example.com")).await;
    let decoy = &first["allowCredentials"];
    assert_eq!(decoy, &second["allowCredentials"], "decoy must be stable");
    assert_eq!(decoy.as_array().unwrap().len(), 1);
    assert_eq!(decoy[0]["type"], "public-key");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&ann), keys(&first), "options must look alike");
}

#[tokio::test]
async fn email_scoped_sign_in_accepts_only_offered_credentials() {
    let t = TestApp::new();
    let mut ann_key = SoftAuthenticator::new();
    let mut bob_key = SoftAuthenticator::new();
    let ann = enrolled(&t, "ann@example.com", &mut ann_key).await;
    enrolled(&t, "bob@example.com", &mut bob_key).await;

    let (handle, options) = sign_in_options(&t, Some("ann@example.com")).await;
    let mut discoverable = options.clone();
    discoverable["allowCredentials"] = serde_json::json!([]);
    let bobs = assertion(bob_key.authenticate(&discoverable, ORIGIN).unwrap());
    let refused = t
        .app
        .finish_authentication(Some(&handle), &bobs, &RequestOrigin::default())
        .await;
    assert!(matches!(refused, Err(Error::AuthenticationFailed { .. })));

    let (handle, options) = sign_in_options(&t, Some("ann@example.com")).await;
    let tweaks = Tweaks {
        user_handle: Some(None),
        ..Tweaks::default()
    };
    let anns = assertion(
        ann_key
            .authenticate_with(&options, ORIGIN, &tweaks)
            .unwrap(),
    );
    let session = t
        .app
        .finish_authentication(Some(&handle), &anns, &RequestOrigin::default())
        .await
        .unwrap();
    assert_eq!(session.user.id, ann.user.id);
}

#[tokio::test]
async fn usernameless_sign_in_needs_the_owners_user_handle() {
    let t = TestApp::new();
    let mut ann_key = SoftAuthenticator::new();
    let bob_key = &mut SoftAuthenticator::new();
    enrolled(&t, "ann@example.com", &mut ann_key).await;
    let bob = enrolled(&t, "bob@example.com", bob_key).await;

    for user_handle in [None, Some(bob.user.handle.as_bytes().to_vec())] {
        let (handle, options) = sign_in_options(&t, None).await;
        let tweaks = Tweaks {
            user_handle: Some(user_handle),
            ..Tweaks::default()
        };
        let response = assertion(
            ann_key
                .authenticate_with(&options, ORIGIN, &tweaks)
                .unwrap(),
        );
        let result = t
            .app
            .finish_authentication(Some(&handle), &response, &RequestOrigin::default())
            .await;
        assert!(
            matches!(result, Err(Error::AuthenticationFailed { .. })),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    enrolled(&t, "ann@example.com", &mut authenticator).await;
    for _ in 0..3 {
        let (handle, options) = sign_in_options(&t, None).await;
        let response = assertion(authenticator.authenticate(&options, ORIGIN).unwrap());
        t.app
            .finish_authentication(Some(&handle), &response, &RequestOrigin::default())
            .await
            .unwrap();
    }
    let (handle, options) = sign_in_options(&t, None).await;
    let tweaks = Tweaks {
        counter: Some(2),
        ..Tweaks::default()
    };
    let cloned = assertion(
        authenticator
            .authenticate_with(&options, ORIGIN, &tweaks)
            .unwrap(),
    );
    let result = t
        .app
        .finish_authentication(Some(&handle), &cloned, &RequestOrigin::default())
        .await;
    assert!(
        matches!(result, Err(Error::AuthenticationFailed { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_wrong_origin_fails_registration_and_uses_the_challenge_up() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let session = signup(&t.app, "ann@example.com").await;
    let (handle, options) = t
        .app
        .start_registration(session.user.id, None)
        .await
        .unwrap();
    let tweaks = Tweaks {
        origin: Some("https://evil.example".into()),
        ..Tweaks::default()
    };
    let credential = registration(
        authenticator
            .register_with(&options, ORIGIN, &tweaks)
            .unwrap(),
    );
    let first = t
        .app
        .finish_registration(
            session.user.id,
            Some(&handle),
            None,
            &credential,
            &RequestOrigin::default(),
        )
        .await;
    assert!(
        matches!(first, Err(Error::RegistrationFailed { .. })),
        "{first:?}"
    );
    let again = t
        .app
        .finish_registration(
            session.user.id,
            Some(&handle),
            None,
            &credential,
            &RequestOrigin::default(),
        )
        .await;
    assert_eq!(again.unwrap_err(), Error::ChallengeNotFound);
    assert_eq!(t.app.me(session.user.id).await.unwrap().passkey_count, 0);
}

#[tokio::test]
async fn rename_and_delete_only_the_callers_passkeys() {
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let ann = enrolled(&t, "ann@example.com", &mut authenticator).await;
    let bob = signup(&t.app, "bob@example.com").await;
    let id = t.app.list_passkeys(ann.user.id).await.unwrap().passkeys[0]
        .id
        .to_string();

    assert_eq!(
        t.app
            .rename_passkey(bob.user.id, &id, "Mine now", &RequestOrigin::default())
            .await
            .unwrap_err(),
        Error::PasskeyNotFound
    );
    assert_eq!(
        t.app
            .delete_passkey(bob.user.id, &id, &RequestOrigin::default())
            .await
            .unwrap_err(),
        Error::PasskeyNotFound
    );
    assert!(matches!(
        t.app
            .delete_passkey(ann.user.id, "nope", &RequestOrigin::default())
            .await,
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        t.app
            .rename_passkey(ann.user.id, &id, "   ", &RequestOrigin::default())
            .await,
        Err(Error::Validation(_))
    ));

    let renamed = t
        .app
        .rename_passkey(ann.user.id, &id, " Work laptop ", &RequestOrigin::default())
        .await
        .unwrap();
    assert_eq!(renamed.name.as_str(), "Work laptop");
    t.app
        .delete_passkey(ann.user.id, &id, &RequestOrigin::default())
        .await
        .unwrap();
    assert!(
        t.app
            .list_passkeys(ann.user.id)
            .await
            .unwrap()
            .passkeys
            .is_empty()
    );
}

#[tokio::test]
async fn expired_ceremonies_are_purged_after_the_grace_period() {
    let t = TestApp::new();
    sign_in_options(&t, None).await;
    t.clock.advance(Duration::seconds(300 + 3599));
    assert_eq!(t.app.purge_expired_ceremonies().await.unwrap(), 0);
    t.clock.advance(Duration::seconds(2));
    assert_eq!(t.app.purge_expired_ceremonies().await.unwrap(), 1);
    assert!(t.ceremonies.is_empty());
}

fn base64_id(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TestApp {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use monetro_ports::Clock as _;
        self.clock.now()
    }
}

#[tokio::test]
async fn the_security_log_records_sign_ins_failures_and_changes_newest_first() {
    use monetro_domain::AuditKind;
    let t = TestApp::new();
    let mut authenticator = SoftAuthenticator::new();
    let session = enrolled(&t, "ann@example.com", &mut authenticator).await;
    let from = RequestOrigin::new(Some("203.0.113.7".into()), Some("Mozilla/5.0"));

    let (handle, options) = sign_in_options(&t, None).await;
    let response = assertion(authenticator.authenticate(&options, ORIGIN).unwrap());
    t.app
        .finish_authentication(Some(&handle), &response, &from)
        .await
        .unwrap();
    t.clock.advance(Duration::seconds(1));
    let (handle, options) = sign_in_options(&t, None).await;
    let tweaks = Tweaks {
        corrupt_signature: true,
        ..Tweaks::default()
    };
    let forged = assertion(
        authenticator
            .authenticate_with(&options, ORIGIN, &tweaks)
            .unwrap(),
    );
    assert!(
        t.app
            .finish_authentication(Some(&handle), &forged, &from)
            .await
            .is_err()
    );
    t.clock.advance(Duration::seconds(1));
    assert!(
        t.app
            .login("ann@example.com", "wrong password".into(), &from)
            .await
            .is_err()
    );

    let events = t.app.audit_events(session.user.id, None, 10).await.unwrap();
    let kinds: Vec<AuditKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            AuditKind::PasswordLoginFailed,
            AuditKind::PasskeySignInFailed,
            AuditKind::PasskeyUsed,
            AuditKind::PasskeyRegistered,
            AuditKind::AccountCreated,
        ]
    );
    assert_eq!(events[1].code.as_deref(), Some("AUTHENTICATION_FAILED"));
    assert_eq!(events[1].origin, from);
    let older = t
        .app
        .audit_events(session.user.id, Some(&events[1].id.to_string()), 10)
        .await
        .unwrap();
    assert_eq!(older.len(), 3);
    assert!(t.app.audit_events(session.user.id, None, 0).await.is_err());
    assert!(
        t.app
            .audit_events(session.user.id, Some("nope"), 10)
            .await
            .is_err()
    );
}
