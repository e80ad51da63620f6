//! The admin use cases over the in-memory ports, with a real software
//! authenticator.

use monetro_domain::{AuditKind, Error, RequestOrigin};
use monetro_softauthn::SoftAuthenticator;
use serde_json::Value;

use crate::testing::{ORIGIN, TestApp, signup};
use crate::{PasskeySignup, RegistrationCredential, Removal, Session};

fn registration(json: Value) -> RegistrationCredential {
    serde_json::from_value(json).unwrap()
}

fn operator() -> RequestOrigin {
    RequestOrigin::new(Some("10.0.0.9".into()), Some("admin-cli"))
}

/// A passkey-only account with one passkey.
async fn passkey_only(t: &TestApp, email: &str) -> (Session, monetro_domain::PasskeyId) {
    let (handle, options) = t
        .app
        .start_passkey_signup(PasskeySignup {
            email: email.into(),
            display_name: None,
            hints: None,
        })
        .await
        .unwrap();
    let credential = registration(SoftAuthenticator::new().register(&options, ORIGIN).unwrap());
    let session = t
        .app
        .finish_passkey_signup(Some(&handle), None, &credential, &RequestOrigin::default())
        .await
        .unwrap();
    let list = t.app.list_passkeys(session.user.id).await.unwrap();
    (session, list.passkeys[0].id)
}

#[tokio::test]
async fn finds_accounts_by_email_and_by_id() {
    let t = TestApp::new();
    let ann = signup(&t.app, "ann@example.com").await;
    let (bob, _) = passkey_only(&t, "bob@example.com").await;

    let found = t.app.admin_find_user("  Ann@Example.COM ").await.unwrap();
    assert_eq!(found.user.id, ann.user.id);
    assert!(found.has_password);
    assert_eq!(found.passkey_count, 0);

    let found = t.app.admin_user(&bob.user.id.to_string()).await.unwrap();
    assert_eq!(found.user.email.as_str(), "bob@example.com");
    assert!(!found.has_password);
    assert_eq!(found.passkey_count, 1);

    assert_eq!(
        t.app
            .admin_find_user("nobody@example.com")
            .await
            .unwrap_err(),
        Error::UserNotFound
    );
    assert!(matches!(
        t.app.admin_find_user("not an address").await,
        Err(Error::Validation(_))
    ));
    assert_eq!(
        t.app
            .admin_user(&uuid::Uuid::new_v4().to_string())
            .await
            .unwrap_err(),
        Error::UserNotFound
    );
    assert!(matches!(
        t.app.admin_user("42").await,
        Err(Error::Validation(_))
    ));
}

#[tokio::test]
async fn removal_keeps_the_last_way_to_sign_in_unless_forced() {
    let t = TestApp::new();
    let (bob, passkey) = passkey_only(&t, "bob@example.com").await;
    let bob_id = bob.user.id.to_string();

    let guarded = t
        .app
        .admin_remove_passkey(&bob_id, &passkey.to_string(), Removal::Guarded, &operator())
        .await;
    assert_eq!(guarded.unwrap_err(), Error::LastCredential);
    assert_eq!(
        t.app.admin_passkeys(&bob_id).await.unwrap().passkeys.len(),
        1
    );

    // Another account's id does not reach Bob's passkey.
    let ann = signup(&t.app, "ann@example.com").await;
    let foreign = t
        .app
        .admin_remove_passkey(
            &ann.user.id.to_string(),
            &passkey.to_string(),
            Removal::Forced,
            &operator(),
        )
        .await;
    assert_eq!(foreign.unwrap_err(), Error::PasskeyNotFound);

    t.app
        .admin_remove_passkey(&bob_id, &passkey.to_string(), Removal::Forced, &operator())
        .await
        .unwrap();
    assert!(
        t.app
            .admin_passkeys(&bob_id)
            .await
            .unwrap()
            .passkeys
            .is_empty()
    );
    let events = t.app.admin_audit_events(&bob_id, None, 10).await.unwrap();
    let newest = &events[0];
    assert_eq!(newest.kind, AuditKind::PasskeyRemovedByAdmin);
    assert_eq!(newest.passkey_id, Some(passkey.0));
    assert_eq!(newest.origin, operator());
    // The user sees it in their own log too.
    let own = t.app.audit_events(bob.user.id, None, 10).await.unwrap();
    assert_eq!(own[0].kind, AuditKind::PasskeyRemovedByAdmin);

    let again = t
        .app
        .admin_remove_passkey(&bob_id, &passkey.to_string(), Removal::Forced, &operator())
        .await;
    assert_eq!(again.unwrap_err(), Error::PasskeyNotFound);
}

#[tokio::test]
async fn unknown_accounts_and_malformed_ids_are_told_apart() {
    let t = TestApp::new();
    let ghost = uuid::Uuid::new_v4().to_string();
    let passkey = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        t.app.admin_passkeys(&ghost).await.unwrap_err(),
        Error::UserNotFound
    );
    assert_eq!(
        t.app
            .admin_audit_events(&ghost, None, 20)
            .await
            .unwrap_err(),
        Error::UserNotFound
    );
    assert_eq!(
        t.app
            .admin_remove_passkey(&ghost, &passkey, Removal::Guarded, &operator())
            .await
            .unwrap_err(),
        Error::UserNotFound
    );
    for bad in [
        t.app
            .admin_remove_passkey(&ghost, "nope", Removal::Guarded, &operator())
            .await,
        t.app
            .admin_remove_passkey("nope", &passkey, Removal::Guarded, &operator())
            .await,
    ] {
        assert!(matches!(bad, Err(Error::Validation(_))), "{bad:?}");
    }
    let ann = signup(&t.app, "ann@example.com").await;
    let ann_id = ann.user.id.to_string();
    assert!(matches!(
        t.app.admin_audit_events(&ann_id, None, 0).await,
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        t.app.admin_audit_events(&ann_id, Some("x"), 20).await,
        Err(Error::Validation(_))
    ));
    let page = t.app.admin_audit_events(&ann_id, None, 20).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].kind, AuditKind::AccountCreated);
}
