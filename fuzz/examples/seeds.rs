//! Writes the seed corpora, `corpus/<target>/seed-*`: the request bodies of
//! API.md, the credentials and attestation objects of real ceremonies with
//! the software authenticator the tests use, configuration files,
//! forwarding headers and corrupted stored rows.
//!
//! `cargo run --example seeds` in `fuzz/`; the files are committed.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing)]

use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use monetro_app::Signup;
use monetro_domain::RequestOrigin;
use monetro_fuzz::{Memory, ORIGIN, block_on};
use monetro_softauthn::{CounterMode, SoftAuthenticator};
use serde_json::{Value, json};

const ICLOUD: [u8; 16] = [
    0xfb, 0xfc, 0x30, 0x07, 0x15, 0x4e, 0x4e, 0xcc, 0x8c, 0x0b, 0x6e, 0x02, 0x05, 0x57, 0xd7, 0xbd,
];
const YUBIKEY: [u8; 16] = [
    0xcb, 0x69, 0x48, 0x1e, 0x8f, 0xf7, 0x40, 0x39, 0x93, 0xec, 0x0a, 0x27, 0x29, 0xa1, 0x54, 0xa8,
];

fn write(target: &str, name: &str, contents: impl AsRef<[u8]>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(format!("seed-{name}")), contents).expect("seed");
}

/// A registration and a sign-in with each kind of authenticator.
fn ceremonies() -> Vec<(&'static str, Value, Value)> {
    let authenticators = [
        (
            "icloud",
            SoftAuthenticator::new()
                .with_aaguid(ICLOUD)
                .with_counter_mode(CounterMode::AlwaysZeroSynced),
        ),
        (
            "yubikey",
            SoftAuthenticator::new()
                .with_aaguid(YUBIKEY)
                .with_transports(&["usb", "nfc"]),
        ),
        ("zero-aaguid", SoftAuthenticator::new()),
    ];
    let memory = Memory::new();
    let session = block_on(memory.app.signup(
        Signup {
            email: "ann@example.com".into(),
            password: "correct horse".into(),
            display_name: Some("Ann".into()),
        },
        &RequestOrigin::default(),
    ))
    .expect("signup");
    let user = session.user.id;
    authenticators
        .into_iter()
        .map(|(name, mut authenticator)| {
            let (handle, options) =
                block_on(memory.app.start_registration(user, None)).expect("options");
            let registration = authenticator.register(&options, ORIGIN).expect("register");
            let credential = serde_json::from_value(registration.clone()).expect("credential");
            block_on(memory.app.finish_registration(
                user,
                Some(&handle),
                None,
                &credential,
                &RequestOrigin::default(),
            ))
            .expect("registered");
            let (_, options) =
                block_on(memory.app.start_authentication(None, None)).expect("options");
            let assertion = authenticator
                .authenticate(&options, ORIGIN)
                .expect("assertion");
            (name, registration, assertion)
        })
        .collect()
}

fn main() {
    let ceremonies = ceremonies();
    for (name, registration, assertion) in &ceremonies {
        let attestation = registration["response"]["attestationObject"]
            .as_str()
            .unwrap();
        write(
            "registration",
            name,
            URL_SAFE_NO_PAD.decode(attestation).unwrap(),
        );
        write(
            "credential_json",
            &format!("registration-{name}"),
            registration.to_string(),
        );
        write(
            "credential_json",
            &format!("authentication-{name}"),
            assertion.to_string(),
        );
        let register = json!({ "name": "MacBook Touch ID", "credential": registration });
        write(
            "request_bodies",
            &format!("register-{name}"),
            format!("POST /api/auth/passkey/register\n{register}"),
        );
        let authenticate = json!({ "credential": assertion });
        write(
            "request_bodies",
            &format!("authenticate-{name}"),
            format!("POST /api/auth/passkey/authenticate\n{authenticate}"),
        );
    }
    let passkey = "/api/auth/passkey/00000000-0000-4000-8000-000000000001";
    for (name, request) in [
        (
            "signup",
            r#"POST /api/auth/signup
{"email": "bob@example.com", "password": "at least 8 chars", "displayName": "Bob"}"#
                .to_owned(),
        ),
        (
            "signup-taken",
            r#"POST /api/auth/signup anon
{"email": "  Ann@Example.COM ", "password": "correct horse"}"#
                .into(),
        ),
        (
            "signup-array",
            "POST /api/auth/signup\n[\"bob@example.com\", \"correct horse\"]".into(),
        ),
        (
            "login",
            r#"POST /api/auth/login anon
{"email": "ann@example.com", "password": "correct horse"}"#
                .into(),
        ),
        (
            "login-text",
            r#"POST /api/auth/login text
{"email": "ann@example.com", "password": "correct horse"}"#
                .into(),
        ),
        (
            "options-usernameless",
            "POST /api/auth/passkey/authenticate-options anon\n{}".into(),
        ),
        (
            "options-empty",
            "POST /api/auth/passkey/authenticate-options anon\n".into(),
        ),
        (
            "options-email",
            "POST /api/auth/passkey/authenticate-options\n{\"email\": \"ann@example.com\"}".into(),
        ),
        (
            "rename",
            format!("PATCH {passkey}\n{{\"name\": \"Work laptop\"}}"),
        ),
        (
            "rename-blank",
            format!("PATCH {passkey}\n{{\"name\": \"   \"}}"),
        ),
        ("delete", format!("DELETE {passkey}\n")),
        ("me", "GET /api/auth/me\n".into()),
        ("list", "GET /api/auth/passkey/list\n".into()),
        (
            "register-options",
            "GET /api/auth/passkey/register-options\n".into(),
        ),
        (
            "audit",
            "GET /api/auth/audit?limit=5&before=00000000-0000-4000-8000-000000000001\n".into(),
        ),
    ] {
        write("request_bodies", name, request);
    }
    for (name, text) in [
        ("email", "  Ann@Example.COM "),
        ("password", "correct horse battery"),
        ("name", "  MacBook Touch ID "),
        ("emoji", &"🔑".repeat(64)),
        ("control", "Work\u{7}laptop"),
        ("uuid", "6f1c1b5e-9a7e-4c3a-9d55-2f7d3f1c2a10"),
    ] {
        write("domain_values", name, text);
    }
    write("domain_values", "aaguid", ICLOUD);
    write(
        "config",
        "production",
        include_str!("../../config/production.toml"),
    );
    write(
        "config",
        "default",
        include_str!("../../config/default.toml"),
    );
    for (name, text) in [
        (
            "behind-proxy",
            "[webauthn]\nrp_id = \"monetro.example\"\norigins = [\"https://monetro.example\", \"https://app.monetro.example:8443\", \"android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\"]\nrelated_origins = [\"https://monetro.example.org\"]\n\n[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\", \"::1\"]\ncors_origins = [\"https://app.example\"]\n",
        ),
        (
            "environment",
            "[log]\nformat = \"json\"\n#env\nMONETRO_RP_ID=monetro.example\nMONETRO_RP_ORIGINS=https://monetro.example, https://www.monetro.example\nMONETRO__SERVER__TRUSTED_PROXIES=10.0.0.0/8,192.168.1.1\nMONETRO__DATABASE__MAX_CONNECTIONS=32\nMONETRO_CEREMONY_TTL=600\nMONETRO_TOKEN_TTL=3600\n",
        ),
        (
            "durations",
            "[webauthn]\nceremony_ttl_secs = 600\nceremony_grace_secs = 7200\n\n[database]\nmax_connections = 4\nacquire_timeout_secs = 1\n",
        ),
    ] {
        write("config", name, text);
    }
    for (name, text) in [
        (
            "x-forwarded-for",
            "10.0.0.0/8,127.0.0.1\n127.0.0.1\n-\n198.51.100.66, 203.0.113.5, 10.1.2.3",
        ),
        (
            "forwarded",
            "10.0.0.0/8\n10.0.0.1\nfor=198.51.100.66, for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.2\n-",
        ),
        ("untrusted", "10.0.0.0/8\n203.0.113.9\n-\n198.51.100.1"),
        (
            "ipv6",
            "2001:db8::/32,::1\n::1\n-\n2001:db8::1, [2001:db8::2]:443, 192.0.2.1:8080",
        ),
    ] {
        write("client_ip", name, text);
    }
    for (name, text) in [
        ("untouched", ""),
        ("blank-name", "passkeys.name=text:   "),
        ("negative-counter", "passkeys.sign_count=int:-1"),
        ("huge-counter", "passkeys.sign_count=int:4294967296"),
        ("empty-credential-id", "passkeys.credential_id=blob:"),
        ("text-credential-id", "passkeys.credential_id=text:0102"),
        ("transports", "passkeys.transports=text:,,usb,"),
        ("aaguid", "passkeys.aaguid=text:not a uuid"),
        (
            "timestamp",
            "passkeys.created_at=text:yesterday\npasskeys.last_used_at=real:1.5",
        ),
        ("email", "users.email=text:ANN@EXAMPLE.COM"),
        ("display-name", "users.display_name=text:\t"),
        (
            "handle",
            "users.user_handle=blob:00112233445566778899AABBCCDDEEFF",
        ),
        (
            "flags",
            "passkeys.backup_eligible=int:2\npasskeys.backed_up=text:yes",
        ),
    ] {
        write("stored_passkey", name, text);
    }
}
