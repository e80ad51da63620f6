//! The contract test suite every adapter runs: the same checks against the
//! in-memory fakes, SQLite and PostgreSQL, so that they behave alike.
//!
//! Each function takes a fresh, empty store and panics (as a test does) on
//! the first broken promise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use chrono::{DateTime, TimeZone, Utc};
use monetro_domain::{
    AuditEvent, AuditKind, AuthSession, CredentialId, DisplayName, Email, NewUser, Passkey,
    PasskeyId, PasskeyName, PasskeyUse, RefreshTokenHash, RequestOrigin, SessionId, SignInMethod,
    User, UserHandle, UserId,
};
use uuid::Uuid;

use crate::{
    AuditLog, Ceremony, CeremonyHandle, CeremonyKind, ChallengeStore, CredentialRepository,
    Journal, NewSession, Readiness, Rotation, SessionRepository, StoreError, UserRepository,
};

/// `seconds` after the moment the suite started, in whole seconds (which
/// every store keeps exactly). Near the real time, because stores that
/// expire data themselves (Redis) must see realistic dates.
pub fn at(seconds: i64) -> DateTime<Utc> {
    static START: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    #[allow(clippy::disallowed_methods)]
    let start = *START.get_or_init(|| Utc::now().timestamp());
    Utc.timestamp_opt(start + seconds, 0).unwrap()
}

pub fn sample_user(email: &str) -> NewUser {
    NewUser {
        user: User {
            id: UserId::random(),
            email: Email::parse(email).unwrap(),
            display_name: DisplayName::parse("Ann Example").unwrap(),
            handle: UserHandle::random(),
            created_at: at(0),
        },
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
    }
}

pub fn sample_passkey(user: UserId, credential_id: &[u8], created_at: DateTime<Utc>) -> Passkey {
    Passkey {
        id: PasskeyId::random(),
        user_id: user,
        name: PasskeyName::parse("MacBook Touch ID").unwrap().unwrap(),
        credential_id: CredentialId::new(credential_id.to_vec()).unwrap(),
        verifier: r#"{"cred":"opaque"}"#.into(),
        sign_count: 0,
        backup_eligible: true,
        backed_up: false,
        transports: vec!["internal".into(), "hybrid".into()],
        aaguid: Uuid::from_u128(0xfbfc3007_154e_4ecc_8c0b_6e020557d7bd),
        created_at,
        last_used_at: None,
    }
}

/// [`UserRepository`]'s promises.
pub async fn user_repository<S: UserRepository>(store: S) {
    let ann = sample_user("ann@example.com");
    store
        .create_user(ann.clone(), Journal::default())
        .await
        .unwrap();

    let found = store
        .find_user_by_email(&ann.user.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user, ann.user);
    assert_eq!(found.password_hash, ann.password_hash);
    assert_eq!(
        store.find_user(ann.user.id).await.unwrap(),
        Some(ann.user.clone())
    );
    assert_eq!(
        store.find_user_by_handle(ann.user.handle).await.unwrap(),
        Some(ann.user.clone())
    );

    let mut twin = sample_user("ann@example.com");
    twin.user.display_name = None;
    assert_eq!(
        store.create_user(twin.clone(), Journal::default()).await,
        Err(StoreError::EmailTaken)
    );
    assert_eq!(
        store.find_user(twin.user.id).await.unwrap(),
        None,
        "a refused user was stored"
    );

    let passwordless = NewUser {
        password_hash: None,
        ..sample_user("bob@example.com")
    };
    store
        .create_user(passwordless.clone(), Journal::default())
        .await
        .unwrap();
    let bob = store
        .find_user_by_email(&passwordless.user.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.password_hash, None);
    assert_eq!(bob.user.display_name, passwordless.user.display_name);

    let nobody = Email::parse("nobody@example.com").unwrap();
    assert_eq!(store.find_user_by_email(&nobody).await.unwrap(), None);
    assert_eq!(store.find_user(UserId::random()).await.unwrap(), None);
    assert_eq!(
        store
            .find_user_by_handle(UserHandle::random())
            .await
            .unwrap(),
        None
    );
}

/// [`CredentialRepository`]'s promises (needs users, so the store is both).
pub async fn credential_repository<
    S: UserRepository + CredentialRepository + AuditLog + SessionRepository,
>(
    store: S,
) {
    let ann = sample_user("ann@example.com").user;
    let bob = sample_user("bob@example.com").user;
    for user in [&ann, &bob] {
        store
            .create_user(
                NewUser {
                    user: user.clone(),
                    password_hash: None,
                },
                Journal::default(),
            )
            .await
            .unwrap();
    }

    let older = sample_passkey(ann.id, b"cred-older", at(10));
    let newer = sample_passkey(ann.id, b"cred-newer", at(20));
    let bobs = sample_passkey(bob.id, b"cred-bob", at(30));
    for passkey in [&older, &newer, &bobs] {
        store
            .insert_passkey(passkey.clone(), 20, Journal::default())
            .await
            .unwrap();
    }

    assert_eq!(
        store.list_passkeys(ann.id).await.unwrap(),
        vec![newer.clone(), older.clone()]
    );
    assert_eq!(store.count_passkeys(ann.id).await.unwrap(), 2);
    assert_eq!(store.count_passkeys(UserId::random()).await.unwrap(), 0);
    assert_eq!(
        store
            .find_passkey_with_owner(&older.credential_id)
            .await
            .unwrap(),
        Some((older.clone(), ann.clone()))
    );
    let unknown = CredentialId::new(b"never-seen".to_vec()).unwrap();
    assert_eq!(store.find_passkey_with_owner(&unknown).await.unwrap(), None);

    // A credential id is unique across all users.
    let stolen = sample_passkey(bob.id, b"cred-older", at(40));
    assert_eq!(
        store.insert_passkey(stolen, 20, Journal::default()).await,
        Err(StoreError::CredentialTaken)
    );
    assert_eq!(
        store.count_passkeys(bob.id).await.unwrap(),
        1,
        "a refused passkey was stored"
    );

    // Sign-ins: counters only move forwards; 0 stays acceptable while both
    // are 0. The sign-in's log event is written with it, or not at all.
    let used = |passkey: PasskeyId, seconds| AuditEvent {
        id: Uuid::now_v7(),
        user_id: ann.id,
        kind: AuditKind::PasskeyUsed,
        code: None,
        passkey_id: Some(passkey.0),
        origin: RequestOrigin::new(Some("198.51.100.7".into()), Some("Safari")),
        at: at(seconds),
    };
    let first_use = PasskeyUse {
        id: older.id,
        sign_count: 0,
        backed_up: true,
        used_at: at(50),
    };
    let first_event = used(older.id, 50);
    assert!(
        store
            .record_passkey_use(first_use, first_event.clone(), None, Vec::new())
            .await
            .unwrap()
    );
    let counted = PasskeyUse {
        id: older.id,
        sign_count: 7,
        backed_up: true,
        used_at: at(60),
    };
    let counted_event = used(older.id, 60);
    // A sign-in's session is stored with the use that starts it, and only
    // with a use that applies.
    let signed_in = NewSession {
        session: sample_session(ann.id, 60),
        token: token(60),
    };
    assert!(
        store
            .record_passkey_use(
                counted,
                counted_event.clone(),
                Some(signed_in.clone()),
                Vec::new()
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.find_session(signed_in.session.id).await.unwrap(),
        Some(signed_in.session)
    );
    for (regression, n) in [(7, 71), (3, 72), (0, 73)] {
        let usage = PasskeyUse {
            id: older.id,
            sign_count: regression,
            backed_up: false,
            used_at: at(70),
        };
        let refused = NewSession {
            session: sample_session(ann.id, 70),
            token: token(n),
        };
        assert!(
            !store
                .record_passkey_use(usage, used(older.id, 70), Some(refused.clone()), Vec::new())
                .await
                .unwrap(),
            "count {regression} accepted after 7"
        );
        assert_eq!(
            store.find_session(refused.session.id).await.unwrap(),
            None,
            "a session stored with a refused use"
        );
    }
    assert_eq!(
        store.recent(ann.id, None, 10).await.unwrap(),
        vec![counted_event, first_event],
        "exactly the applied uses are logged"
    );
    let (stored, _) = store
        .find_passkey_with_owner(&older.credential_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.sign_count, stored.backed_up, stored.last_used_at),
        (7, true, Some(at(60)))
    );
    let ghost_id = PasskeyId::random();
    let ghost = PasskeyUse {
        id: ghost_id,
        sign_count: 1,
        backed_up: false,
        used_at: at(80),
    };
    assert!(
        !store
            .record_passkey_use(ghost, used(ghost_id, 80), None, Vec::new())
            .await
            .unwrap()
    );
    assert_eq!(store.recent(ann.id, None, 10).await.unwrap().len(), 2);

    // Rename and delete touch only the owner's passkeys.
    let name = PasskeyName::parse("Work laptop").unwrap().unwrap();
    assert_eq!(
        store
            .rename_passkey(bob.id, older.id, name.clone(), Journal::default())
            .await
            .unwrap(),
        None
    );
    let renamed = store
        .rename_passkey(ann.id, older.id, name.clone(), Journal::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.name, name);
    assert_eq!(renamed.sign_count, 7);
    assert!(
        !store
            .delete_passkey(bob.id, older.id, Journal::default())
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_passkey(ann.id, older.id, Journal::default())
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_passkey(ann.id, older.id, Journal::default())
            .await
            .unwrap()
    );
    assert_eq!(store.list_passkeys(ann.id).await.unwrap(), vec![newer]);
    assert_eq!(
        store
            .find_passkey_with_owner(&older.credential_id)
            .await
            .unwrap(),
        None
    );
}

/// The account-and-first-passkey transaction, password changes, the
/// passkey limit and the last-credential guard, with their races. Uses its
/// own emails, so it can share a store with the other suites.
pub async fn account_guards<S: UserRepository + CredentialRepository>(store: S) {
    // An account and its passkey, in one go.
    let carol = NewUser {
        password_hash: None,
        ..sample_user("carol@example.com")
    };
    let carols = sample_passkey(carol.user.id, b"cred-carol", at(1));
    store
        .create_user_with_passkey(carol.clone(), carols.clone(), Journal::default())
        .await
        .unwrap();
    let found = store
        .find_user_by_email(&carol.user.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.user, found.password_hash),
        (carol.user.clone(), None)
    );
    assert_eq!(
        store.list_passkeys(carol.user.id).await.unwrap(),
        vec![carols.clone()]
    );

    // A taken email stores neither the account nor its passkey.
    let twin = sample_user("carol@example.com");
    let twins = sample_passkey(twin.user.id, b"cred-twin", at(2));
    assert_eq!(
        store
            .create_user_with_passkey(twin.clone(), twins.clone(), Journal::default())
            .await,
        Err(StoreError::EmailTaken)
    );
    assert_eq!(store.find_user(twin.user.id).await.unwrap(), None);
    assert_eq!(
        store
            .find_passkey_with_owner(&twins.credential_id)
            .await
            .unwrap(),
        None
    );

    // A taken credential id stores neither either.
    let dave = sample_user("dave@example.com");
    let stolen = sample_passkey(dave.user.id, b"cred-carol", at(3));
    assert_eq!(
        store
            .create_user_with_passkey(dave.clone(), stolen, Journal::default())
            .await,
        Err(StoreError::CredentialTaken)
    );
    assert_eq!(
        store.find_user_by_email(&dave.user.email).await.unwrap(),
        None,
        "the account of a refused passkey was stored"
    );

    // Racing sign-ups for one email: exactly one account.
    let racers: Vec<_> = (0..6u8)
        .map(|i| {
            let store = store.clone();
            let user = sample_user("erin@example.com");
            let passkey = sample_passkey(user.user.id, &[b'e', i], at(4));
            async move {
                store
                    .create_user_with_passkey(user, passkey, Journal::default())
                    .await
            }
        })
        .collect();
    let outcomes = join_all(racers).await;
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(()) | Err(StoreError::EmailTaken))),
        "{outcomes:?}"
    );

    // Password changes apply only over the expected hash.
    assert!(
        !store
            .replace_password_hash(
                carol.user.id,
                Some("other".into()),
                "h1".into(),
                Journal::default()
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_password_hash(carol.user.id, None, "h1".into(), Journal::default())
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_password_hash(carol.user.id, None, "h2".into(), Journal::default())
            .await
            .unwrap(),
        "a second first password"
    );
    assert!(
        store
            .replace_password_hash(
                carol.user.id,
                Some("h1".into()),
                "h2".into(),
                Journal::default()
            )
            .await
            .unwrap()
    );
    let changed = store.find_user_by_email(&carol.user.email).await.unwrap();
    assert_eq!(changed.unwrap().password_hash.as_deref(), Some("h2"));
    assert!(
        !store
            .replace_password_hash(UserId::random(), None, "h".into(), Journal::default())
            .await
            .unwrap()
    );

    // The limit: at `limit` passkeys, no more; racing inserts stop at it.
    let frank = NewUser {
        password_hash: None,
        ..sample_user("frank@example.com")
    };
    store
        .create_user(frank.clone(), Journal::default())
        .await
        .unwrap();
    store
        .insert_passkey(
            sample_passkey(frank.user.id, b"frank-0", at(5)),
            2,
            Journal::default(),
        )
        .await
        .unwrap();
    let racers: Vec<_> = (1..=6u8)
        .map(|i| {
            let store = store.clone();
            let passkey = sample_passkey(frank.user.id, &[b'f', i], at(6));
            async move { store.insert_passkey(passkey, 3, Journal::default()).await }
        })
        .collect();
    let outcomes = join_all(racers).await;
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        2,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(()) | Err(StoreError::PasskeyLimitReached))),
        "{outcomes:?}"
    );
    assert_eq!(store.count_passkeys(frank.user.id).await.unwrap(), 3);
    assert_eq!(
        store
            .insert_passkey(
                sample_passkey(frank.user.id, b"frank-x", at(7)),
                3,
                Journal::default()
            )
            .await,
        Err(StoreError::PasskeyLimitReached)
    );

    // The last way to sign in stays: of racing deletes of the last two
    // passkeys of an account without a password, one succeeds.
    let franks = store.list_passkeys(frank.user.id).await.unwrap();
    assert!(
        store
            .delete_passkey(frank.user.id, franks[0].id, Journal::default())
            .await
            .unwrap()
    );
    let racers: Vec<_> = franks[1..]
        .iter()
        .map(|passkey| {
            let store = store.clone();
            let (user, id) = (frank.user.id, passkey.id);
            async move { store.delete_passkey(user, id, Journal::default()).await }
        })
        .collect();
    let outcomes = join_all(racers).await;
    assert_eq!(
        outcomes.iter().filter(|o| matches!(o, Ok(true))).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Err(StoreError::LastCredential)))
            .count(),
        1,
        "{outcomes:?}"
    );
    let last = store.list_passkeys(frank.user.id).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(
        store
            .delete_passkey(frank.user.id, last[0].id, Journal::default())
            .await,
        Err(StoreError::LastCredential)
    );
    assert!(
        !store
            .delete_passkey(frank.user.id, PasskeyId::random(), Journal::default())
            .await
            .unwrap(),
        "an unknown passkey is not found, whatever the count"
    );

    // With a password, the last passkey may go.
    assert!(
        store
            .replace_password_hash(frank.user.id, None, "hash".into(), Journal::default())
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_passkey(frank.user.id, last[0].id, Journal::default())
            .await
            .unwrap()
    );
    assert_eq!(store.count_passkeys(frank.user.id).await.unwrap(), 0);
}

/// [`CredentialRepository::delete_passkey_forced`]: it removes the last
/// passkey of an account without a password, which the ordinary delete
/// refuses, and still only the owner's. Uses its own emails.
pub async fn forced_removal<S: UserRepository + CredentialRepository>(store: S) {
    let gail = NewUser {
        password_hash: None,
        ..sample_user("gail@example.com")
    };
    let hers = sample_passkey(gail.user.id, b"cred-gail", at(1));
    store
        .create_user_with_passkey(gail.clone(), hers.clone(), Journal::default())
        .await
        .unwrap();
    let hank = sample_user("hank@example.com");
    store
        .create_user(hank.clone(), Journal::default())
        .await
        .unwrap();

    assert_eq!(
        store
            .delete_passkey(gail.user.id, hers.id, Journal::default())
            .await,
        Err(StoreError::LastCredential)
    );
    assert!(
        !store
            .delete_passkey_forced(hank.user.id, hers.id, Journal::default())
            .await
            .unwrap(),
        "another user's passkey is not found"
    );
    assert!(
        !store
            .delete_passkey_forced(gail.user.id, PasskeyId::random(), Journal::default())
            .await
            .unwrap()
    );
    assert_eq!(store.count_passkeys(gail.user.id).await.unwrap(), 1);
    assert!(
        store
            .delete_passkey_forced(gail.user.id, hers.id, Journal::default())
            .await
            .unwrap()
    );
    assert_eq!(store.count_passkeys(gail.user.id).await.unwrap(), 0);
    assert!(
        !store
            .delete_passkey_forced(gail.user.id, hers.id, Journal::default())
            .await
            .unwrap(),
        "removed once"
    );
    assert!(
        store
            .find_passkey_with_owner(&hers.credential_id)
            .await
            .unwrap()
            .is_none()
    );
}

fn ceremony(handle: &str, kind: CeremonyKind, user_id: Option<UserId>, expires: i64) -> Ceremony {
    Ceremony {
        handle: CeremonyHandle(handle.into()),
        kind,
        user_id,
        state: format!(r#"{{"state":"{handle}"}}"#),
        expires_at: at(expires),
    }
}

/// [`ChallengeStore`]'s promises. `user` and `other_user` are ids of two
/// existing users, for stores that check them.
pub async fn challenge_store<C: ChallengeStore>(store: C, user: UserId, other_user: UserId) {
    use CeremonyKind::{Authentication, Registration, Signup};

    let sign_in = ceremony("h-sign-in", Authentication, None, 100);
    store.put(sign_in.clone()).await.unwrap();
    assert_eq!(
        store
            .take(&sign_in.handle, Registration, None)
            .await
            .unwrap(),
        None,
        "wrong kind"
    );
    assert_eq!(
        store
            .take(&sign_in.handle, Authentication, Some(user))
            .await
            .unwrap(),
        None,
        "wrong user"
    );
    assert_eq!(
        store
            .take(&sign_in.handle, Authentication, None)
            .await
            .unwrap(),
        Some(sign_in.clone())
    );
    assert_eq!(
        store
            .take(&sign_in.handle, Authentication, None)
            .await
            .unwrap(),
        None,
        "taken twice"
    );

    let enrol = ceremony("h-enrol", Registration, Some(user), 100);
    store.put(enrol.clone()).await.unwrap();
    assert_eq!(
        store
            .take(&enrol.handle, Registration, Some(other_user))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.take(&enrol.handle, Registration, None).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .take(&enrol.handle, Registration, Some(user))
            .await
            .unwrap(),
        Some(enrol)
    );

    let sign_up = ceremony("h-sign-up", Signup, None, 100);
    store.put(sign_up.clone()).await.unwrap();
    for other in [Authentication, Registration] {
        assert_eq!(
            store.take(&sign_up.handle, other, None).await.unwrap(),
            None,
            "a sign-up taken as {other:?}"
        );
    }
    assert_eq!(
        store.take(&sign_up.handle, Signup, None).await.unwrap(),
        Some(sign_up)
    );

    // Expiry is the caller's to judge: an expired ceremony is still handed back.
    let stale = ceremony("h-stale", Authentication, None, -100);
    store.put(stale.clone()).await.unwrap();
    assert_eq!(
        store
            .take(&stale.handle, Authentication, None)
            .await
            .unwrap(),
        Some(stale)
    );

    // Many racing takes: exactly one wins.
    let raced = ceremony("h-raced", Authentication, None, 100);
    store.put(raced.clone()).await.unwrap();
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let handle = raced.handle.clone();
            async move { store.take(&handle, Authentication, None).await.unwrap() }
        })
        .collect();
    let winners = join_all(racers).await.into_iter().flatten().count();
    assert_eq!(winners, 1);

    // Purging removes only what expired before the cutoff.
    store
        .put(ceremony("h-old", Authentication, None, 10))
        .await
        .unwrap();
    store
        .put(ceremony("h-young", Authentication, None, 500))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(at(200)).await.unwrap(), 1);
    let young = CeremonyHandle("h-young".into());
    assert!(
        store
            .take(&young, Authentication, None)
            .await
            .unwrap()
            .is_some()
    );
    let old = CeremonyHandle("h-old".into());
    assert!(
        store
            .take(&old, Authentication, None)
            .await
            .unwrap()
            .is_none()
    );
}

/// [`AuditLog`]'s promises (needs users, so the store is both).
pub async fn audit_log<S: UserRepository + AuditLog>(store: S) {
    let ann = sample_user("audit-ann@example.com").user;
    let bob = sample_user("audit-bob@example.com").user;
    for user in [&ann, &bob] {
        store
            .create_user(
                NewUser {
                    user: user.clone(),
                    password_hash: None,
                },
                Journal::default(),
            )
            .await
            .unwrap();
    }
    let event = |user: &User, kind, seconds| AuditEvent {
        id: Uuid::new_v4(),
        user_id: user.id,
        kind,
        code: None,
        passkey_id: None,
        origin: RequestOrigin::default(),
        at: at(seconds),
    };
    let first = event(&ann, AuditKind::PasswordLogin, 1);
    let second = AuditEvent {
        code: Some("AUTHENTICATION_FAILED".into()),
        passkey_id: Some(Uuid::new_v4()),
        origin: RequestOrigin::new(Some("203.0.113.9".into()), Some("Mozilla/5.0")),
        ..event(&ann, AuditKind::PasskeySignInFailed, 2)
    };
    let third = event(&ann, AuditKind::PasskeyRegistered, 3);
    let bobs = event(&bob, AuditKind::AccountCreated, 4);
    for e in [&first, &second, &third, &bobs] {
        store.record(e.clone()).await.unwrap();
    }

    assert_eq!(
        store.recent(ann.id, None, 10).await.unwrap(),
        vec![third.clone(), second.clone(), first.clone()]
    );
    let page = store.recent(ann.id, None, 2).await.unwrap();
    assert_eq!(page, vec![third.clone(), second.clone()]);
    let next = store.recent(ann.id, Some(second.id), 2).await.unwrap();
    assert_eq!(next, vec![first.clone()]);
    assert_eq!(
        store.recent(ann.id, Some(bobs.id), 10).await.unwrap(),
        vec![],
        "another user's cursor"
    );
    assert_eq!(
        store
            .recent(ann.id, Some(Uuid::new_v4()), 10)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(store.recent(bob.id, None, 10).await.unwrap(), vec![bobs]);
}

/// A session of `user` started at `at(seconds)`, lasting a day.
pub fn sample_session(user: UserId, seconds: i64) -> AuthSession {
    AuthSession {
        id: SessionId::random(),
        user_id: user,
        method: SignInMethod::Password,
        auth_time: at(seconds),
        created_at: at(seconds),
        last_seen_at: at(seconds),
        expires_at: at(seconds + 86_400),
        origin: RequestOrigin::new(Some("198.51.100.7".into()), Some("Mozilla/5.0 (X11)")),
        revoked_at: None,
    }
}

/// A distinct token hash per `n`.
fn token(n: u8) -> RefreshTokenHash {
    RefreshTokenHash([n; 32])
}

/// [`SessionRepository`]'s promises (needs users, so the store is both).
pub async fn session_repository<S: UserRepository + SessionRepository>(store: S) {
    let ann = sample_user("session-ann@example.com").user;
    let bob = sample_user("session-bob@example.com").user;
    for user in [&ann, &bob] {
        store
            .create_user(
                NewUser {
                    user: user.clone(),
                    password_hash: None,
                },
                Journal::default(),
            )
            .await
            .unwrap();
    }
    let first = sample_session(ann.id, 0);
    let second = AuthSession {
        method: SignInMethod::Passkey,
        ..sample_session(ann.id, 10)
    };
    let bobs = sample_session(bob.id, 20);
    store
        .create_session(
            NewSession {
                session: first.clone(),
                token: token(1),
            },
            Journal::default(),
        )
        .await
        .unwrap();
    store
        .create_session(
            NewSession {
                session: second.clone(),
                token: token(2),
            },
            Journal::default(),
        )
        .await
        .unwrap();
    store
        .create_session(
            NewSession {
                session: bobs.clone(),
                token: token(3),
            },
            Journal::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.find_session(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.find_session(SessionId::random()).await.unwrap(), None);
    assert_eq!(
        store.list_sessions(ann.id, at(30)).await.unwrap(),
        vec![second.clone(), first.clone()],
        "most recently seen first, only the user's"
    );

    // Rotation: the current token is replaced; the session is seen again.
    let elsewhere = RequestOrigin::new(Some("203.0.113.5".into()), Some("Safari"));
    let rotated = store
        .rotate_session(
            token(1),
            token(11),
            at(40),
            at(40 + 86_400),
            &elsewhere,
            no_events,
        )
        .await
        .unwrap();
    let expected = AuthSession {
        last_seen_at: at(40),
        expires_at: at(40 + 86_400),
        origin: elsewhere.clone(),
        ..first.clone()
    };
    assert_eq!(rotated, Rotation::Rotated(expected.clone()));
    assert_eq!(
        store.find_session(first.id).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store
            .rotate_session(
                token(99),
                token(98),
                at(41),
                at(41 + 86_400),
                &elsewhere,
                no_events
            )
            .await
            .unwrap(),
        Rotation::Refused,
        "an unknown token"
    );

    // Reuse of the rotated-out token revokes the whole session.
    let reused = store
        .rotate_session(
            token(1),
            token(12),
            at(50),
            at(50 + 86_400),
            &elsewhere,
            no_events,
        )
        .await
        .unwrap();
    let Rotation::Reused(revoked) = reused else {
        panic!("{reused:?}")
    };
    assert_eq!(revoked.id, first.id);
    assert_eq!(revoked.revoked_at, Some(at(50)));
    assert_eq!(
        store
            .rotate_session(
                token(11),
                token(13),
                at(51),
                at(51 + 86_400),
                &elsewhere,
                no_events
            )
            .await
            .unwrap(),
        Rotation::Refused,
        "the current token of a revoked session"
    );
    assert_eq!(
        store.list_sessions(ann.id, at(52)).await.unwrap(),
        vec![second.clone()]
    );

    // An expired session refuses its token.
    assert_eq!(
        store
            .rotate_session(
                token(3),
                token(31),
                at(20 + 86_400),
                at(30 + 86_400),
                &elsewhere,
                no_events
            )
            .await
            .unwrap(),
        Rotation::Refused
    );
    assert!(
        store
            .list_sessions(bob.id, at(20 + 86_400))
            .await
            .unwrap()
            .is_empty()
    );

    // Racing rotations with one token: one winner, the rest count as reuse.
    let racing = sample_session(ann.id, 60);
    store
        .create_session(
            NewSession {
                session: racing.clone(),
                token: token(4),
            },
            Journal::default(),
        )
        .await
        .unwrap();
    let racers: Vec<_> = (0..6u8)
        .map(|i| {
            let store = store.clone();
            let origin = elsewhere.clone();
            async move {
                store
                    .rotate_session(
                        token(4),
                        token(40 + i),
                        at(61),
                        at(61 + 86_400),
                        &origin,
                        no_events,
                    )
                    .await
                    .unwrap()
            }
        })
        .collect();
    let outcomes = join_all(racers).await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Rotation::Rotated(_)))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Rotation::Rotated(_) | Rotation::Reused(_))),
        "{outcomes:?}"
    );
    assert!(
        store
            .find_session(racing.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some(),
        "a race means a copied token: the session ends"
    );

    // Re-authentication: a fresh auth_time and method, a new token, the
    // old one rotated out; only in the user's own active session.
    assert_eq!(
        store
            .reauthenticate_session(
                bob.id,
                second.id,
                SignInMethod::Password,
                token(5),
                at(70),
                at(70 + 86_400)
            )
            .await
            .unwrap(),
        None,
        "another user's session"
    );
    let fresh = store
        .reauthenticate_session(
            ann.id,
            second.id,
            SignInMethod::Password,
            token(21),
            at(70),
            at(70 + 86_400),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        fresh,
        AuthSession {
            method: SignInMethod::Password,
            auth_time: at(70),
            last_seen_at: at(70),
            expires_at: at(70 + 86_400),
            ..second.clone()
        }
    );
    assert_eq!(
        store.find_session(second.id).await.unwrap(),
        Some(fresh.clone())
    );
    assert!(matches!(
        store
            .rotate_session(token(21), token(22), at(71), at(71 + 86_400), &elsewhere, no_events)
            .await
            .unwrap(),
        Rotation::Rotated(s) if s.auth_time == at(70)
    ));
    assert_eq!(
        store
            .reauthenticate_session(
                ann.id,
                first.id,
                SignInMethod::Passkey,
                token(6),
                at(72),
                at(72 + 86_400)
            )
            .await
            .unwrap(),
        None,
        "a revoked session"
    );

    // Revoking: only the user's own active sessions.
    assert!(
        !store
            .revoke_session(bob.id, second.id, at(80), Vec::new())
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_session(ann.id, second.id, at(80), Vec::new())
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_session(ann.id, second.id, at(81), Vec::new())
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_session(ann.id, SessionId::random(), at(81), Vec::new())
            .await
            .unwrap()
    );
    assert!(
        store
            .list_sessions(ann.id, at(82))
            .await
            .unwrap()
            .is_empty()
    );

    // By token: the current one or one rotated out ends the session.
    let by_current = sample_session(bob.id, 90);
    let by_old = sample_session(bob.id, 91);
    store
        .create_session(
            NewSession {
                session: by_current.clone(),
                token: token(7),
            },
            Journal::default(),
        )
        .await
        .unwrap();
    store
        .create_session(
            NewSession {
                session: by_old.clone(),
                token: token(8),
            },
            Journal::default(),
        )
        .await
        .unwrap();
    store
        .rotate_session(
            token(8),
            token(81),
            at(92),
            at(92 + 86_400),
            &elsewhere,
            no_events,
        )
        .await
        .unwrap();
    assert!(
        store
            .revoke_session_by_token(token(7), at(93), no_events)
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_session_by_token(token(8), at(93), no_events)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_session_by_token(token(7), at(94), no_events)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_session_by_token(token(200), at(94), no_events)
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_sessions(bob.id, at(95)).await.unwrap(),
        vec![bobs.clone()]
    );

    // Purging: ended sessions go, live ones stay.
    let live = sample_session(bob.id, 100);
    store
        .create_session(
            NewSession {
                session: live.clone(),
                token: token(9),
            },
            Journal::default(),
        )
        .await
        .unwrap();
    let purged = store.purge_sessions(at(100)).await.unwrap();
    assert_eq!(purged, 5, "the five revoked ones");
    assert_eq!(store.find_session(first.id).await.unwrap(), None);
    assert_eq!(store.find_session(live.id).await.unwrap(), Some(live));
    assert_eq!(
        store
            .rotate_session(
                token(8),
                token(82),
                at(101),
                at(101 + 86_400),
                &elsewhere,
                no_events
            )
            .await
            .unwrap(),
        Rotation::Refused,
        "a purged session's tokens are forgotten"
    );
}

/// [`crate::Notifier`]'s promise when its backend works: the notification
/// is handed over (`Ok`), for an account with or without a display name
/// and for a passkey name with characters beyond ASCII. Returns what was
/// notified, `(email, passkey name)`, for the adapter's own checks.
pub async fn notifier<N: crate::Notifier>(notifier: N) -> Vec<(String, String)> {
    let ann = sample_user("notify-ann@example.com").user;
    let nameless = User {
        display_name: None,
        ..sample_user("notify-bob@example.com").user
    };
    let mut sent = Vec::new();
    for (user, name) in [(&ann, "Work laptop"), (&nameless, "Clé de sécurité")] {
        let passkey = Passkey {
            name: PasskeyName::parse(name).unwrap().unwrap(),
            ..sample_passkey(user.id, name.as_bytes(), at(0))
        };
        notifier.passkey_added(user, &passkey).await.unwrap();
        sent.push((user.email.as_str().to_owned(), name.to_owned()));
    }
    sent
}

/// [`Readiness`]'s promise on a working store.
pub async fn readiness<S: Readiness>(store: S) {
    store.ping().await.unwrap();
}

/// Polls futures concurrently on the caller's executor, without a runtime
/// dependency: adapters that do blocking work on other threads really race.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// An event of `at(seconds)` for `endpoints`.
pub fn sample_event(seconds: i64, endpoints: &[&str]) -> monetro_domain::OutboxEvent {
    let id = Uuid::new_v4();
    monetro_domain::OutboxEvent {
        id,
        event_type: monetro_domain::EventType::AccountCreated,
        occurred_at: at(seconds),
        payload: format!(r#"{{"id":"{id}","type":"account.created"}}"#),
        endpoints: endpoints.iter().map(|e| (*e).to_owned()).collect(),
    }
}

/// An [`crate::EndedSessionEvents`] that writes nothing.
pub fn no_events(_: UserId, _: SessionId) -> Vec<monetro_domain::OutboxEvent> {
    Vec::new()
}

/// The events of the forced removal and of sessions starting and ending:
/// written with the change, naming the session that ended, and not at all
/// when nothing changed. Needs a store whose outbox is empty.
pub async fn change_events<
    S: UserRepository + CredentialRepository + SessionRepository + crate::Outbox,
>(
    store: S,
) {
    const A: &str = "http://a.test/hook";
    let ann = sample_user("change-events@example.com");
    let id = ann.user.id;
    store
        .create_user(ann.clone(), Journal::default())
        .await
        .unwrap();
    let passkey = sample_passkey(id, b"change-events", at(1));
    store
        .insert_passkey(passkey.clone(), 20, Journal::default())
        .await
        .unwrap();
    let stranger = UserId::random();
    assert!(
        !store
            .delete_passkey_forced(
                stranger,
                passkey.id,
                Journal::outbox(vec![sample_event(2, &[A])])
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.backlog().await.unwrap(),
        0,
        "nothing removed, nothing written"
    );
    assert!(
        store
            .delete_passkey_forced(id, passkey.id, Journal::outbox(vec![sample_event(2, &[A])]))
            .await
            .unwrap()
    );
    assert_eq!(store.backlog().await.unwrap(), 1);

    let ended = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorder = || {
        let ended = ended.clone();
        move |user: UserId, session: SessionId| {
            ended.lock().unwrap().push((user, session));
            vec![sample_event(3, &[A])]
        }
    };
    let one = sample_session(id, 0);
    store
        .create_session(
            NewSession {
                session: one.clone(),
                token: token(1),
            },
            Journal::outbox(vec![sample_event(0, &[A])]),
        )
        .await
        .unwrap();
    assert_eq!(store.backlog().await.unwrap(), 2, "a session started");
    assert!(
        !store
            .revoke_session(stranger, one.id, at(5), vec![sample_event(5, &[A])])
            .await
            .unwrap()
    );
    let origin = RequestOrigin::default();
    let rotated = store
        .rotate_session(
            token(1),
            token(11),
            at(6),
            at(6 + 86_400),
            &origin,
            recorder(),
        )
        .await
        .unwrap();
    assert!(matches!(rotated, Rotation::Rotated(_)));
    assert_eq!(store.backlog().await.unwrap(), 2, "a rotation ends nothing");
    let reused = store
        .rotate_session(
            token(1),
            token(12),
            at(7),
            at(7 + 86_400),
            &origin,
            recorder(),
        )
        .await
        .unwrap();
    assert!(matches!(reused, Rotation::Reused(_)));
    assert_eq!(store.backlog().await.unwrap(), 3, "reuse ended the session");
    store
        .rotate_session(
            token(1),
            token(13),
            at(8),
            at(8 + 86_400),
            &origin,
            recorder(),
        )
        .await
        .unwrap();
    assert_eq!(store.backlog().await.unwrap(), 3, "it had ended already");

    let two = sample_session(id, 10);
    store
        .create_session(
            NewSession {
                session: two.clone(),
                token: token(2),
            },
            Journal::default(),
        )
        .await
        .unwrap();
    assert!(
        store
            .revoke_session_by_token(token(2), at(11), recorder())
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_session_by_token(token(2), at(12), recorder())
            .await
            .unwrap()
    );
    assert_eq!(store.backlog().await.unwrap(), 4);

    let three = sample_session(id, 20);
    let four = sample_session(id, 21);
    let others = sample_session(UserId::random(), 21);
    for (session, n) in [(&three, 3), (&four, 4)] {
        store
            .create_session(
                NewSession {
                    session: session.clone(),
                    token: token(n),
                },
                Journal::default(),
            )
            .await
            .unwrap();
    }
    let bob = sample_user("change-events-bob@example.com");
    store
        .create_user(bob.clone(), Journal::default())
        .await
        .unwrap();
    let bobs = AuthSession {
        user_id: bob.user.id,
        ..others
    };
    store
        .create_session(
            NewSession {
                session: bobs.clone(),
                token: token(5),
            },
            Journal::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .revoke_all_sessions(id, at(30), recorder())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .revoke_all_sessions(id, at(31), recorder())
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.backlog().await.unwrap(), 6);
    assert!(store.list_sessions(id, at(32)).await.unwrap().is_empty());
    assert_eq!(
        store.list_sessions(bob.user.id, at(32)).await.unwrap(),
        vec![bobs.clone()],
        "only the user's sessions end"
    );
    assert!(
        store
            .revoke_session(bob.user.id, bobs.id, at(33), vec![sample_event(33, &[A])])
            .await
            .unwrap()
    );
    assert_eq!(store.backlog().await.unwrap(), 7);

    let mut seen = ended.lock().unwrap().clone();
    seen.sort_by_key(|(_, session)| session.0);
    let mut want = vec![(id, one.id), (id, two.id), (id, three.id), (id, four.id)];
    want.sort_by_key(|(_, session)| session.0);
    assert_eq!(seen, want, "each ended session named once");
}

/// [`Journal`]: the log events and the session of a change are written
/// with it, and none of them when it does not apply. Needs a fresh store.
pub async fn journals<S: UserRepository + CredentialRepository + SessionRepository + AuditLog>(
    store: S,
) {
    let ann = sample_user("journal-ann@example.com");
    let id = ann.user.id;
    let event = |kind, seconds| AuditEvent {
        id: Uuid::new_v4(),
        user_id: id,
        kind,
        code: None,
        passkey_id: None,
        origin: RequestOrigin::default(),
        at: at(seconds),
    };
    let journal = |events: Vec<AuditEvent>, session: Option<NewSession>| Journal {
        audit: events,
        outbox: Vec::new(),
        session,
    };
    let starting = |n: u8| NewSession {
        session: sample_session(id, i64::from(n)),
        token: token(n),
    };
    // What each call wrote, checked against the log and the sessions.
    let mut written: Vec<AuditEvent> = Vec::new();
    let check = async |written: &[AuditEvent], sessions: &[&NewSession], absent: &[&NewSession]| {
        let mut newest_first = written.to_vec();
        newest_first.reverse();
        assert_eq!(store.recent(id, None, 100).await.unwrap(), newest_first);
        for new in sessions {
            assert_eq!(
                store.find_session(new.session.id).await.unwrap().as_ref(),
                Some(&new.session)
            );
        }
        for new in absent {
            assert_eq!(store.find_session(new.session.id).await.unwrap(), None);
        }
    };

    let created = event(AuditKind::AccountCreated, 1);
    let first = starting(1);
    store
        .create_user(
            ann.clone(),
            journal(vec![created.clone()], Some(first.clone())),
        )
        .await
        .unwrap();
    written.push(created);
    let twin = starting(2);
    assert_eq!(
        store
            .create_user(
                ann.clone(),
                journal(
                    vec![event(AuditKind::AccountCreated, 2)],
                    Some(twin.clone())
                )
            )
            .await,
        Err(StoreError::EmailTaken)
    );
    check(&written, &[&first], &[&twin]).await;

    let passkey = sample_passkey(id, b"journal-passkey", at(3));
    let registered = event(AuditKind::PasskeyRegistered, 3);
    store
        .insert_passkey(passkey.clone(), 20, journal(vec![registered.clone()], None))
        .await
        .unwrap();
    written.push(registered);
    let over = sample_passkey(id, b"journal-over-the-limit", at(4));
    assert_eq!(
        store
            .insert_passkey(
                over,
                1,
                journal(vec![event(AuditKind::PasskeyRegistered, 4)], None)
            )
            .await,
        Err(StoreError::PasskeyLimitReached)
    );
    check(&written, &[], &[]).await;

    let name = PasskeyName::parse("Journal").unwrap().unwrap();
    let renamed = event(AuditKind::PasskeyRenamed, 5);
    assert!(
        store
            .rename_passkey(
                id,
                passkey.id,
                name.clone(),
                journal(vec![renamed.clone()], None)
            )
            .await
            .unwrap()
            .is_some()
    );
    written.push(renamed);
    assert!(
        store
            .rename_passkey(
                id,
                PasskeyId::random(),
                name,
                journal(vec![event(AuditKind::PasskeyRenamed, 6)], None)
            )
            .await
            .unwrap()
            .is_none()
    );
    check(&written, &[], &[]).await;

    let login = event(AuditKind::PasswordLogin, 7);
    let second = starting(7);
    store
        .create_session(second.clone(), journal(vec![login.clone()], None))
        .await
        .unwrap();
    written.push(login);
    check(&written, &[&first, &second], &[]).await;

    assert!(
        !store
            .replace_password_hash(
                id,
                Some("not the stored hash".into()),
                "new".into(),
                journal(vec![event(AuditKind::PasswordChanged, 8)], None)
            )
            .await
            .unwrap()
    );
    let removed = event(AuditKind::PasskeyRemoved, 9);
    assert!(
        store
            .delete_passkey(id, passkey.id, journal(vec![removed.clone()], None))
            .await
            .unwrap()
    );
    written.push(removed);
    assert!(
        !store
            .delete_passkey(
                id,
                passkey.id,
                journal(vec![event(AuditKind::PasskeyRemoved, 10)], None)
            )
            .await
            .unwrap()
    );
    check(&written, &[], &[]).await;

    // A passkey-only account: both or neither, log and session included.
    let bob = NewUser {
        password_hash: None,
        ..sample_user("journal-bob@example.com")
    };
    let bobs = sample_passkey(bob.user.id, b"journal-bob", at(11));
    let bob_event = |kind| AuditEvent {
        user_id: bob.user.id,
        ..event(kind, 11)
    };
    let bob_session = NewSession {
        session: sample_session(bob.user.id, 11),
        token: token(11),
    };
    // A credential id Ann holds.
    let stolen = sample_passkey(bob.user.id, b"journal-taken", at(11));
    store
        .insert_passkey(
            sample_passkey(id, b"journal-taken", at(11)),
            20,
            Journal::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .create_user_with_passkey(
                bob.clone(),
                stolen,
                journal(
                    vec![bob_event(AuditKind::AccountCreated)],
                    Some(bob_session.clone())
                )
            )
            .await,
        Err(StoreError::CredentialTaken)
    );
    assert_eq!(store.recent(bob.user.id, None, 10).await.unwrap(), vec![]);
    assert_eq!(
        store.find_session(bob_session.session.id).await.unwrap(),
        None
    );
    let both = vec![
        bob_event(AuditKind::AccountCreated),
        bob_event(AuditKind::PasskeyRegistered),
    ];
    store
        .create_user_with_passkey(
            bob.clone(),
            bobs,
            journal(both.clone(), Some(bob_session.clone())),
        )
        .await
        .unwrap();
    let mut logged = store.recent(bob.user.id, None, 10).await.unwrap();
    logged.sort_by_key(|e| e.id);
    let mut want = both;
    want.sort_by_key(|e| e.id);
    assert_eq!(logged, want);
    assert_eq!(
        store.find_session(bob_session.session.id).await.unwrap(),
        Some(bob_session.session)
    );
}

/// [`crate::Outbox`]'s promises, and the outbox arguments of the calls
/// that write changes.
pub async fn outbox<S: UserRepository + CredentialRepository + crate::Outbox>(store: S) {
    const A: &str = "http://a.test/hook";
    const B: &str = "http://b.test/hook";
    assert_eq!(store.backlog().await.unwrap(), 0);

    // Written with the change, one delivery per endpoint…
    let ann = sample_user("outbox-ann@example.com");
    let created = sample_event(0, &[A, B]);
    store
        .create_user(ann.clone(), Journal::outbox(vec![created.clone()]))
        .await
        .unwrap();
    assert_eq!(store.backlog().await.unwrap(), 2);
    // …and not at all when the change is refused or does not apply.
    let twin = sample_user("outbox-ann@example.com");
    assert_eq!(
        store
            .create_user(twin, Journal::outbox(vec![sample_event(0, &[A])]))
            .await,
        Err(StoreError::EmailTaken)
    );
    let passkey = sample_passkey(ann.user.id, b"outbox-credential", at(1));
    store
        .insert_passkey(
            passkey.clone(),
            0,
            Journal::outbox(vec![sample_event(1, &[A])]),
        )
        .await
        .unwrap_err();
    let renamed = store
        .rename_passkey(
            ann.user.id,
            PasskeyId::random(),
            PasskeyName::parse("Nope").unwrap().unwrap(),
            Journal::outbox(vec![sample_event(1, &[A])]),
        )
        .await
        .unwrap();
    assert_eq!(renamed, None);
    assert!(
        !store
            .delete_passkey(
                ann.user.id,
                PasskeyId::random(),
                Journal::outbox(vec![sample_event(1, &[A])])
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_password_hash(
                ann.user.id,
                None,
                "x".into(),
                Journal::outbox(vec![sample_event(1, &[A])])
            )
            .await
            .unwrap()
    );
    let usage = PasskeyUse {
        id: PasskeyId::random(),
        sign_count: 1,
        backed_up: false,
        used_at: at(1),
    };
    let used = AuditEvent {
        id: Uuid::new_v4(),
        user_id: ann.user.id,
        kind: AuditKind::PasskeyUsed,
        code: None,
        passkey_id: Some(usage.id.0),
        origin: RequestOrigin::default(),
        at: at(1),
    };
    assert!(
        !store
            .record_passkey_use(usage, used, None, vec![sample_event(1, &[A])])
            .await
            .unwrap()
    );
    assert_eq!(
        store.backlog().await.unwrap(),
        2,
        "refused changes enqueued"
    );

    // Claiming: due ones, each attempt counted, leased.
    assert!(
        store
            .claim_due(at(-1), at(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let mut claimed = store.claim_due(at(5), at(30), 10).await.unwrap();
    claimed.sort_by(|x, y| x.endpoint.cmp(&y.endpoint));
    assert_eq!(claimed.len(), 2);
    assert_eq!(
        claimed
            .iter()
            .map(|d| d.endpoint.as_str())
            .collect::<Vec<_>>(),
        [A, B]
    );
    for delivery in &claimed {
        assert_eq!(delivery.event_id, created.id);
        assert_eq!(delivery.payload, created.payload);
        assert_eq!(delivery.attempts, 1);
    }
    assert_ne!(claimed[0].id, claimed[1].id);
    assert!(
        store
            .claim_due(at(29), at(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "a claimed delivery is leased"
    );
    let again = store.claim_due(at(30), at(60), 10).await.unwrap();
    assert_eq!(again.len(), 2, "a lease that ran out is claimed again");
    assert!(again.iter().all(|d| d.attempts == 2));

    // Outcomes.
    let (to_a, to_b) = (claimed[0].id, claimed[1].id);
    store.mark_delivered(to_a, at(31)).await.unwrap();
    assert_eq!(store.backlog().await.unwrap(), 1);
    store
        .record_failure(to_b, "HTTP 500".into(), Some(at(100)))
        .await
        .unwrap();
    assert!(
        store
            .claim_due(at(99), at(200), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retried = store.claim_due(at(100), at(200), 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (to_b, 3));
    store
        .record_failure(to_b, "HTTP 500".into(), None)
        .await
        .unwrap();
    assert_eq!(store.backlog().await.unwrap(), 0, "dead is not pending");
    assert!(
        store
            .claim_due(at(10_000), at(20_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    store.mark_delivered(to_b, at(300)).await.unwrap();
    assert!(
        store
            .claim_due(at(10_000), at(20_000), 10)
            .await
            .unwrap()
            .is_empty(),
        "a dead delivery stays dead"
    );

    // Changes that apply write their events.
    store
        .insert_passkey(
            passkey.clone(),
            20,
            Journal::outbox(vec![sample_event(400, &[A])]),
        )
        .await
        .unwrap();
    store
        .rename_passkey(
            ann.user.id,
            passkey.id,
            PasskeyName::parse("Work").unwrap().unwrap(),
            Journal::outbox(vec![sample_event(401, &[A])]),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .delete_passkey(
                ann.user.id,
                passkey.id,
                Journal::outbox(vec![sample_event(402, &[A])])
            )
            .await
            .unwrap()
    );
    assert_eq!(store.backlog().await.unwrap(), 3);

    // Events without a change, oldest first, at most `limit`.
    store
        .enqueue(vec![sample_event(403, &[B]), sample_event(404, &[B])])
        .await
        .unwrap();
    assert_eq!(store.backlog().await.unwrap(), 5);
    let first = store.claim_due(at(500), at(600), 4).await.unwrap();
    assert_eq!(first.len(), 4);
    assert_eq!(
        first
            .iter()
            .map(|d| d.endpoint.as_str())
            .collect::<Vec<_>>(),
        [A, A, A, B]
    );
    for delivery in &first {
        store.mark_delivered(delivery.id, at(500)).await.unwrap();
    }
    assert_eq!(store.claim_due(at(500), at(600), 4).await.unwrap().len(), 1);

    // Delivered rows are purged after a while; pending ones stay.
    assert_eq!(store.purge_delivered(at(400)).await.unwrap(), 1);
    assert_eq!(store.purge_delivered(at(501)).await.unwrap(), 4);
    assert_eq!(store.backlog().await.unwrap(), 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryCeremonies, MemoryStore};

    #[tokio::test]
    async fn memory_store_keeps_the_user_contract() {
        user_repository(MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn memory_store_keeps_the_credential_contract() {
        credential_repository(MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn memory_store_keeps_the_account_guards() {
        account_guards(MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn memory_ceremonies_keep_the_challenge_contract() {
        challenge_store(MemoryCeremonies::new(), UserId::random(), UserId::random()).await;
    }

    #[tokio::test]
    async fn memory_store_keeps_the_audit_contract() {
        audit_log(MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn memory_store_keeps_the_session_contract() {
        session_repository(MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn memory_store_is_ready() {
        readiness(MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn memory_store_keeps_the_outbox_contract() {
        outbox(MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn the_recording_notifier_keeps_the_notifier_contract() {
        let recording = crate::memory::RecordingNotifier::default();
        let notified = notifier(recording.clone()).await;
        assert_eq!(recording.sent(), notified);
    }

    #[tokio::test]
    async fn memory_store_writes_the_events_of_changes() {
        change_events(MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn memory_store_writes_the_journals_of_changes() {
        journals(MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn memory_store_keeps_the_forced_removal_contract() {
        forced_removal(MemoryStore::new()).await;
    }
}
