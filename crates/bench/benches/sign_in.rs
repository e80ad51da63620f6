//! The CPU floors of one passkey sign-in, measured in process:
//!
//! - `p256_verify`: one ECDSA P-256 signature check, the heart of an
//!   assertion's verification;
//! - `p256_sign`: one ECDSA P-256 signature with a parsed key, the floor of
//!   signing a session token;
//! - `jwt_issue_es256`: signing the session token with jsonwebtoken;
//! - `finish_sign_in_no_io`: the whole finish step of the use case
//!   (ceremony lookup, assertion verification, counter update, token) over
//!   in-memory ports, so nothing but computation is timed;
//! - `sign_in_options_no_io`: the options step likewise.
//!
//! `cargo bench -p monetro-bench`; figures in docs/BENCHMARKS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use monetro_adapters::{JwtIssuer, SystemClock, TokenSettings, generate_signing_key_pem};
use monetro_app::{App, AuthenticationCredential, Deps, RegistrationCredential, Settings, Signup};
use monetro_domain::RequestOrigin;
use monetro_ports::TokenIssuer as _;
use monetro_ports::memory::{MemoryCeremonies, MemoryStore, PlainHasher, RecordingNotifier};
use monetro_softauthn::SoftAuthenticator;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey};

const ORIGIN: &str = "http://localhost:8080";

struct BenchDeps;

impl Deps for BenchDeps {
    type Store = MemoryStore;
    type Ceremonies = MemoryCeremonies;
    type Tokens = JwtIssuer;
    type Hasher = PlainHasher;
    type Clock = SystemClock;
    type Notifier = RecordingNotifier;
}

fn tokens() -> JwtIssuer {
    JwtIssuer::new(TokenSettings {
        issuer: "monetro".into(),
        audience: "monetro".into(),
        lifetime_secs: 900,
        signing_key_pem: generate_signing_key_pem().unwrap(),
        retired_key_pems: vec![],
    })
    .unwrap()
}

fn app() -> App<BenchDeps> {
    let settings = Settings {
        rp_id: "localhost".into(),
        rp_name: "Monetro".into(),
        origins: vec![ORIGIN.parse().unwrap()],
        allow_subdomains: false,
        ceremony_ttl: Duration::from_secs(300),
        ceremony_grace: Duration::from_secs(3600),
        decoy_key: b"bench".to_vec(),
        max_passkeys_per_user: 20,
        hints: Vec::new(),
        webhooks: Vec::new(),
        refresh_ttl: Duration::from_secs(30 * 86_400),
        step_up_window: Duration::from_secs(600),
    };
    App::new(
        MemoryStore::new(),
        MemoryCeremonies::new(),
        tokens(),
        PlainHasher,
        SystemClock,
        settings,
    )
    .unwrap()
}

fn floors(c: &mut Criterion) {
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let message = [7u8; 69];
    let signature: Signature = key.sign(&message);
    let verifying = *key.verifying_key();
    c.bench_function("p256_verify", |b| {
        b.iter(|| verifying.verify(&message, &signature).unwrap())
    });
    c.bench_function("p256_sign", |b| {
        b.iter(|| -> Signature { key.sign(&message) })
    });

    let issuer = tokens();
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let grant = monetro_ports::AccessGrant {
        user: monetro_domain::UserId::random(),
        session: monetro_domain::SessionId::random(),
        amr: &["webauthn"],
        auth_time: now,
    };
    c.bench_function("jwt_issue_es256", |b| {
        b.iter(|| issuer.issue(&grant, now).unwrap())
    });
}

fn ceremonies(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let app = app();
    let origin = RequestOrigin::default();
    let mut authenticator = SoftAuthenticator::new();
    runtime.block_on(async {
        let session = app
            .signup(
                Signup {
                    email: "bench@example.com".into(),
                    password: "correct horse".into(),
                    display_name: None,
                },
                &origin,
            )
            .await
            .unwrap();
        let (handle, options) = app.start_registration(session.user.id, None).await.unwrap();
        let credential: RegistrationCredential =
            serde_json::from_value(authenticator.register(&options, ORIGIN).unwrap()).unwrap();
        app.finish_registration(session.user.id, Some(&handle), None, &credential, &origin)
            .await
            .unwrap();
    });

    c.bench_function("sign_in_options_no_io", |b| {
        b.iter(|| {
            runtime
                .block_on(app.start_authentication(None, None))
                .unwrap()
        })
    });

    // The test authenticator's side of a sign-in (parse the options, sign,
    // build the JSON): what the load generator spends per sign-in.
    let (_, options) = runtime
        .block_on(app.start_authentication(None, None))
        .unwrap();
    c.bench_function("softauthn_assertion", |b| {
        b.iter(|| authenticator.authenticate(&options, ORIGIN).unwrap())
    });

    c.bench_function("finish_sign_in_no_io", |b| {
        b.iter_batched(
            || {
                let (handle, options) = runtime
                    .block_on(app.start_authentication(None, None))
                    .unwrap();
                let response = authenticator.authenticate(&options, ORIGIN).unwrap();
                let assertion: AuthenticationCredential = serde_json::from_value(response).unwrap();
                (handle, assertion)
            },
            |(handle, assertion)| {
                runtime
                    .block_on(app.finish_authentication(Some(&handle), &assertion, &origin))
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, floors, ceremonies);
criterion_main!(benches);
