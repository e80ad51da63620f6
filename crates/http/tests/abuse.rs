//! The abuse matrix of docs/ABUSE.md: hostile bodies, encodings and
//! clients. Every refusal is the contract's JSON error with its documented
//! status and code, names nothing internal, and leaves nothing stored.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::fmt::Display;
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use common::{Answer, Backend, Client, TestApp, spawn, spawn_with};
use monetro_softauthn::{SoftAuthenticator, Tweaks};
use reqwest::Method;
use serde_json::{Value, json};

on_every_backend!(
    bodies_up_to_and_over_the_limit,
    ceremony_bodies_at_and_over_the_limit,
    lying_chunked_and_compressed_bodies,
    malformed_json,
    names,
    json_types_unknown_members_and_duplicates,
    content_types,
    credential_encodings,
    attestation_objects,
    assertions,
    client_data_json,
);

const JSON: Option<&str> = Some("application/json");
const SIGNUP: &str = "/api/auth/signup";
const LOGIN: &str = "/api/auth/login";
const OPTIONS: &str = "/api/auth/passkey/authenticate-options";
const AUTHENTICATE: &str = "/api/auth/passkey/authenticate";
const REGISTER: &str = "/api/auth/passkey/register";
const LIST: &str = "/api/auth/passkey/list";

/// Text that would give away what the service is built with.
const INTERNALS: [&str; 12] = [
    "struct ",
    "enum ",
    "deserialize error",
    "Error that occur",
    "PayloadError",
    "serde",
    "actix",
    "diesel",
    "panicked",
    "::",
    "Some(",
    "None",
];

/// Asserts a contract error: status, code, the body's shape, and a message
/// that names nothing internal.
fn refused(answer: &Answer, status: u16, code: &str, case: impl Display) {
    let body = &answer.body;
    assert_eq!(
        (answer.status.as_u16(), answer.code()),
        (status, code),
        "{case}: {body}"
    );
    assert_eq!(body.as_object().unwrap().len(), 1, "{case}: {body}");
    let error = body["error"].as_object().unwrap();
    let known = ["code", "message", "credentialId", "rpId"];
    assert!(
        error.keys().all(|key| known.contains(&key.as_str())),
        "{case}: {body}"
    );
    let message = error["message"].as_str().unwrap();
    for internal in INTERNALS {
        assert!(!message.contains(internal), "{case}: {message}");
    }
}

/// Asserts the body-shape error, `400 VALIDATION_FAILED`.
fn invalid(answer: &Answer, case: impl Display) {
    refused(answer, 400, "VALIDATION_FAILED", case);
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// `value` (an object) with an unknown `pad` member that makes its JSON
/// exactly `size` bytes.
fn sized(value: &Value, size: usize) -> Vec<u8> {
    let mut padded = value.clone();
    padded["pad"] = json!("");
    let bare = serde_json::to_vec(&padded).unwrap().len();
    padded["pad"] = json!("x".repeat(size.checked_sub(bare).unwrap()));
    let bytes = serde_json::to_vec(&padded).unwrap();
    assert_eq!(bytes.len(), size);
    bytes
}

/// A request with these exact body bytes and content type (none when
/// `None`), with the client's token and cookies.
async fn send_raw(
    client: &Client,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Vec<u8>>,
) -> Answer {
    let url = format!("{}{path}", client.app.base);
    let mut request = client.http.request(method, url).body(body.into());
    if let Some(token) = &client.token {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    common::answer(request.send().await.unwrap()).await
}

async fn post_raw(client: &Client, path: &str, body: impl Into<Vec<u8>>) -> Answer {
    send_raw(client, Method::POST, path, JSON, body).await
}

fn signup_body(email: &str) -> Value {
    json!({ "email": email, "password": "correct horse battery" })
}

/// Signs `email` up with a small, honest body: `201` proves that no earlier
/// refused request left the account behind.
async fn assert_not_stored(app: &TestApp, email: &str) {
    let answer = Client::new(app).post(SIGNUP, signup_body(email)).await;
    assert_eq!(answer.status, 201, "{email} was stored: {}", answer.body);
}

/// The path of a passkey.
fn passkey_path(passkey: &Value) -> String {
    format!("/api/auth/passkey/{}", passkey["id"].as_str().unwrap())
}

async fn passkeys(client: &Client) -> Value {
    client.get(LIST).await.body["passkeys"].clone()
}

async fn bodies_up_to_and_over_the_limit(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let limit = app.config.server.body_limit_bytes;
    let anon = Client::new(&app);
    let fitting = [
        100,
        1024,
        8191,
        8192,
        8193,
        16 * 1024,
        32 * 1024,
        limit - 1,
        limit,
    ];
    for (n, size) in fitting.into_iter().enumerate() {
        let email = format!("size{n}@example.com");
        let answer = post_raw(&anon, SIGNUP, sized(&signup_body(&email), size)).await;
        assert_eq!(answer.status, 201, "{size} bytes: {}", answer.body);
        assert_eq!(answer.body["user"]["email"], email.as_str());
    }
    for size in [limit + 1, limit + 2, limit + 4096, 4 * limit, 1024 * 1024] {
        let email = format!("over{size}@example.com");
        let too_large = |answer: &Answer, what| {
            refused(
                answer,
                413,
                "PAYLOAD_TOO_LARGE",
                format_args!("{what} of {size} bytes"),
            );
        };
        too_large(
            &post_raw(&anon, SIGNUP, sized(&signup_body(&email), size)).await,
            "signup",
        );
        assert_not_stored(&app, &email).await;
        too_large(
            &post_raw(&anon, LOGIN, sized(&signup_body(&email), size)).await,
            "login",
        );
        let options = json!({ "email": email });
        too_large(
            &post_raw(&anon, OPTIONS, sized(&options, size)).await,
            "options",
        );
    }
    let answer = post_raw(
        &anon,
        LOGIN,
        sized(&signup_body("size0@example.com"), limit),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let options = json!({ "email": "size0@example.com" });
    let answer = post_raw(&anon, OPTIONS, sized(&options, limit)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Rename one byte over the limit, and at it.
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;
    let path = passkey_path(&passkey);
    let over = sized(&json!({ "name": "Too big" }), limit + 1);
    let answer = send_raw(&ann, Method::PATCH, &path, JSON, over).await;
    refused(&answer, 413, "PAYLOAD_TOO_LARGE", "rename over the limit");
    assert_eq!(passkeys(&ann).await[0]["name"], passkey["name"]);
    let at = sized(&json!({ "name": "Just fits" }), limit);
    let answer = send_raw(&ann, Method::PATCH, &path, JSON, at).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["passkey"]["name"], "Just fits");
}

async fn ceremony_bodies_at_and_over_the_limit(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let limit = app.config.server.body_limit_bytes;
    let mut ann = Client::signup(&app, "ann@example.com").await;

    let options = ann.registration_options().await;
    let credential = ann.authenticator.register(&options, &app.origin).unwrap();
    let body = json!({ "name": "Padded", "credential": credential });
    let answer = post_raw(&ann, REGISTER, sized(&body, limit + 1)).await;
    refused(
        &answer,
        413,
        "PAYLOAD_TOO_LARGE",
        "registration over the limit",
    );
    assert_eq!(ann.get("/api/auth/me").await.body["passkeyCount"], 0);
    // The refused body did not use the challenge up.
    let answer = post_raw(&ann, REGISTER, sized(&body, limit)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["passkey"]["name"], "Padded");

    let before = passkeys(&ann).await;
    let options = ann.sign_in_options(json!({})).await;
    let assertion = ann
        .authenticator
        .authenticate(&options, &app.origin)
        .unwrap();
    let body = json!({ "credential": assertion });
    let answer = post_raw(&ann, AUTHENTICATE, sized(&body, limit + 1)).await;
    refused(&answer, 413, "PAYLOAD_TOO_LARGE", "sign-in over the limit");
    assert_eq!(passkeys(&ann).await, before);
    let answer = post_raw(&ann, AUTHENTICATE, sized(&body, limit)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// The address a test service listens on.
fn address(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

/// An HTTP/1.1 request head (`Host` added) followed by `body`.
fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    [head.as_bytes(), b"\r\n", body].concat()
}

/// `body` in chunked transfer coding, in chunks of `chunk` bytes.
fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for piece in body.chunks(chunk) {
        bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        bytes.extend_from_slice(piece);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

/// The first answer on a connection: status, head and body.
struct RawAnswer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl RawAnswer {
    fn json(&self) -> Answer {
        let body = serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON: {}{}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        });
        Answer {
            status: reqwest::StatusCode::from_u16(self.status).unwrap(),
            headers: reqwest::header::HeaderMap::new(),
            body,
        }
    }

    fn closes(&self) -> bool {
        self.head.to_lowercase().contains("connection: close")
    }
}

/// Parses the first answer in `received`, once it is complete.
fn parse_answer(received: &[u8]) -> Option<RawAnswer> {
    let end = received.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&received[..end]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.trim().parse().unwrap());
    let body = received.get(end + 4..end + 4 + length)?.to_vec();
    Some(RawAnswer { status, head, body })
}

/// Writes `bytes` on a fresh connection (from another thread, so a server
/// that answers before reading everything cannot block the test) and
/// returns the first answer.
async fn exchange(app: &TestApp, bytes: Vec<u8>) -> RawAnswer {
    let address = address(app);
    tokio::task::spawn_blocking(move || {
        let stream = TcpStream::connect(address).unwrap();
        let mut writer = stream.try_clone().unwrap();
        // The server may close once it has answered: later writes may fail.
        let written = thread::spawn(move || writer.write_all(&bytes).is_ok());
        let answer = read_answer(stream);
        written.join().unwrap();
        answer.expect("no answer")
    })
    .await
    .unwrap()
}

/// Reads until a whole answer is in, the connection closes or 20 s pass.
fn read_answer(mut stream: TcpStream) -> Option<RawAnswer> {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0; 16 * 1024];
    while started.elapsed() < Duration::from_secs(20) && parse_answer(&received).is_none() {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    parse_answer(&received)
}

/// A minimal gzip member holding `data` in one stored (uncompressed)
/// DEFLATE block (RFC 1952, RFC 1951 §3.2.4).
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 * (crc & 1));
        }
    }
    let length = u16::try_from(data.len()).unwrap();
    let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1];
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(&(!length).to_le_bytes());
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(&(!crc).to_le_bytes());
    bytes.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    bytes
}

async fn lying_chunked_and_compressed_bodies(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let limit = app.config.server.body_limit_bytes;
    let json = ("Content-Type", "application/json");
    let close = ("Connection", "close");
    let chunked_header = ("Transfer-Encoding", "chunked");
    let signup_bytes = |email: &str| serde_json::to_vec(&signup_body(email)).unwrap();

    // A Content-Length far over the limit is refused before any body is
    // read, whatever the body really is.
    for path in [SIGNUP, OPTIONS] {
        let headers = [json, ("Content-Length", "10000000000"), close];
        let answer = exchange(
            &app,
            request("POST", path, &headers, &signup_bytes("huge@a.b")),
        )
        .await;
        refused(&answer.json(), 413, "PAYLOAD_TOO_LARGE", path);
        assert!(answer.closes(), "{}", answer.head);
    }
    assert_not_stored(&app, "huge@a.b").await;

    // A Content-Length shorter than the body: the service reads that many
    // bytes, which are not a whole JSON document.
    let body = sized(&signup_body("short@a.b"), 512 * 1024);
    let bytes = request("POST", SIGNUP, &[json, ("Content-Length", "64")], &body);
    invalid(&exchange(&app, bytes).await.json(), "short Content-Length");
    assert_not_stored(&app, "short@a.b").await;

    // Chunked bodies (no Content-Length): at the limit fine, over it 413.
    for (size, chunk) in [(limit, 1000), (limit + 1, 8192), (4 * limit, 8192)] {
        let email = format!("chunked{size}@a.b");
        let body = chunked(&sized(&signup_body(&email), size), chunk);
        let answer = exchange(
            &app,
            request("POST", SIGNUP, &[json, chunked_header, close], &body),
        )
        .await;
        if size <= limit {
            assert_eq!(answer.status, 201, "{}", answer.head);
        } else {
            refused(
                &answer.json(),
                413,
                "PAYLOAD_TOO_LARGE",
                format_args!("chunked {size}"),
            );
            assert_not_stored(&app, &email).await;
        }
    }

    // Both Content-Length and chunked (request smuggling), or a chunk size
    // that is not hex: the HTTP layer refuses the request before any
    // handler runs (an empty 400; there is no request to answer).
    let body = chunked(&signup_bytes("smuggled@a.b"), 16);
    let both = request(
        "POST",
        SIGNUP,
        &[json, chunked_header, ("Content-Length", "5")],
        &body,
    );
    let not_hex = [b"zz\r\n".as_slice(), &signup_bytes("smuggled@a.b")].concat();
    let not_hex = request("POST", SIGNUP, &[json, chunked_header, close], &not_hex);
    for bytes in [both, not_hex] {
        let answer = exchange(&app, bytes).await;
        assert_eq!(answer.status, 400, "{}", answer.head);
    }
    assert_not_stored(&app, "smuggled@a.b").await;

    // Compressed request bodies are not inflated (a 64 KiB gzip body can
    // hold 64 MiB): a gzip member is not JSON.
    let request = Client::new(&app)
        .http
        .post(format!("{}{SIGNUP}", app.base))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(&signup_bytes("gzip@a.b")));
    invalid(
        &common::answer(request.send().await.unwrap()).await,
        "gzip body",
    );
    assert_not_stored(&app, "gzip@a.b").await;
}

/// JSON nested `depth` levels deep in arrays.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Every endpoint that reads a JSON body: name, method and path (`rename`
/// is a passkey's path).
fn body_endpoints(rename: &str) -> [(&'static str, Method, String); 6] {
    [
        ("signup", Method::POST, SIGNUP.into()),
        ("login", Method::POST, LOGIN.into()),
        ("options", Method::POST, OPTIONS.into()),
        ("register", Method::POST, REGISTER.into()),
        ("authenticate", Method::POST, AUTHENTICATE.into()),
        ("rename", Method::PATCH, rename.into()),
    ]
}

async fn malformed_json(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;

    let signup_as = |email: &str, rest: &[u8]| {
        let start = format!(r#"{{"email":"{email}","password":"correct horse battery""#);
        [start.as_bytes(), rest].concat()
    };
    let signup = |rest: &[u8]| signup_as("bad@example.com", rest);
    let name = |raw: &[u8]| {
        signup(
            [br#","displayName":""#.as_slice(), raw, b"\"}"]
                .concat()
                .as_slice(),
        )
    };
    let deep = format!(r#","x":{}}}"#, nested(200));
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("10k [", "[".repeat(10_000).into_bytes()),
        ("10k nested objects", r#"{"a":"#.repeat(10_000).into_bytes()),
        ("deep in an unknown member", signup(deep.as_bytes())),
        ("invalid UTF-8 outside strings", signup(b"}\xff")),
        ("invalid UTF-8 in a string", name(b"a\xffb")),
        ("overlong UTF-8", name(b"\xc0\xaf")),
        ("UTF-8 encoded surrogate", name(b"\xed\xa0\x80")),
        ("lone leading surrogate", name(br"\ud800")),
        ("lone trailing surrogate", name(br"\udc00")),
        ("reversed surrogate pair", name(br"\udd11\ud83d")),
        ("raw NUL in a string", name(b"a\0b")),
        ("raw newline in a string", name(b"a\nb")),
        (
            "byte order mark",
            [b"\xef\xbb\xbf".as_slice(), &signup(b"}")].concat(),
        ),
        ("trailing garbage", signup(b"} x")),
        ("two documents", signup(b"}{}")),
        ("truncated", signup(b",")),
        ("single quotes", b"{'email':'bad@example.com'}".to_vec()),
        ("comment", signup(b"/* hi */}")),
        ("trailing comma", signup(b",}")),
        ("NaN", signup(br#","displayName":NaN}"#)),
        ("huge number", signup(br#","displayName":1e999}"#)),
        (
            "form encoding",
            b"email=bad%40example.com&password=correct+horse".to_vec(),
        ),
    ];
    for (case, body) in bodies {
        for (endpoint, method, path) in body_endpoints(&passkey_path(&passkey)) {
            // Sign-in options take no body at all.
            if case == "empty" && path == OPTIONS {
                continue;
            }
            let answer = send_raw(&ann, method, &path, JSON, body.clone()).await;
            invalid(&answer, format_args!("{endpoint}, {case}"));
        }
    }
    assert_not_stored(&app, "bad@example.com").await;
    assert_eq!(passkeys(&ann).await[0]["name"], passkey["name"]);

    // Shallow nesting in an unknown member is just ignored; a surrogate
    // pair is one character.
    let shallow = format!(r#","x":{},"displayName":"\ud83d\udd11"}}"#, nested(20));
    let answer = post_raw(&ann, SIGNUP, signup_as("shallow@a.b", shallow.as_bytes())).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["user"]["displayName"], "🔑");
}

async fn names(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let anon = Client::new(&app);
    for (case, email) in [
        ("NUL", "ann\u{0}@example.com"),
        ("bell", "ann\u{7}@example.com"),
        ("newline", "ann\n@example.com"),
        ("DEL", "ann\u{7f}@example.com"),
        ("C1 control", "ann\u{85}@example.com"),
        ("empty", ""),
        ("blank", "   "),
        ("no domain", "ann@"),
        ("two @", "a@b@example.com"),
    ] {
        let answer = anon.post(SIGNUP, signup_body(email)).await;
        invalid(&answer, format_args!("signup email with {case}"));
        let answer = anon
            .post(LOGIN, json!({ "email": email, "password": "x" }))
            .await;
        invalid(&answer, format_args!("login email with {case}"));
        let answer = anon.post(OPTIONS, json!({ "email": email })).await;
        invalid(&answer, format_args!("options email with {case}"));
    }
    let longest = format!("{}@example.com", "a".repeat(254 - "@example.com".len()));
    let answer = anon.post(SIGNUP, signup_body(&longest)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    invalid(
        &anon.post(SIGNUP, signup_body(&format!("a{longest}"))).await,
        "255 bytes",
    );
    let huge = format!("{}@example.com", "a".repeat(60_000));
    invalid(
        &anon.post(SIGNUP, signup_body(&huge)).await,
        "email of 60 kB",
    );
    let answer = anon.post(SIGNUP, signup_body("Ännä@Exämple.com")).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["user"]["email"], "ännä@exämple.com");

    for (case, name) in [
        ("NUL", "Ann\u{0}".to_owned()),
        ("escape", "Ann\u{1b}[31m".to_owned()),
        ("tab", "A\tnn".to_owned()),
        ("DEL", "Ann\u{7f}".to_owned()),
        ("C1 control", "Ann\u{9b}".to_owned()),
        ("65 characters", "é".repeat(65)),
        ("60 000 characters", "x".repeat(60_000)),
    ] {
        let mut body = signup_body("named@example.com");
        body["displayName"] = json!(name);
        invalid(
            &anon.post(SIGNUP, body).await,
            format_args!("displayName with {case}"),
        );
    }
    assert_not_stored(&app, "named@example.com").await;
    let many_keys = "🔑".repeat(64);
    for (n, (name, stored)) in [
        ("", Value::Null),
        ("  \u{3000} ", Value::Null),
        ("  Ann  ", json!("Ann")),
        ("Ännä 名前 🔑 עברית", json!("Ännä 名前 🔑 עברית")),
        ("e\u{301}", json!("e\u{301}")),
        (many_keys.as_str(), json!(many_keys)),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = signup_body(&format!("unicode{n}@example.com"));
        body["displayName"] = json!(name);
        let answer = anon.post(SIGNUP, body).await;
        assert_eq!(answer.status, 201, "{name:?}: {}", answer.body);
        assert_eq!(answer.body["user"]["displayName"], stored, "{name:?}");
        let token = answer.body["token"].as_str().unwrap().to_owned();
        let me = Client {
            token: Some(token),
            ..Client::new(&app)
        };
        assert_eq!(
            me.get("/api/auth/me").await.body["user"]["displayName"],
            stored
        );
    }

    // Passkey names, on registration and on rename.
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let bad_names = [
        ("NUL", "Key\u{0}".to_owned()),
        ("escape", "Key\u{1b}".to_owned()),
        ("line feed", "Key\nName".to_owned()),
        ("C1 control", "Key\u{80}".to_owned()),
        ("65 characters", "🔑".repeat(65)),
        ("60 000 characters", "k".repeat(60_000)),
    ];
    let options = ann.registration_options().await;
    let credential = ann.authenticator.register(&options, &app.origin).unwrap();
    for (case, name) in &bad_names {
        let answer = ann
            .post(REGISTER, json!({ "name": name, "credential": credential }))
            .await;
        invalid(&answer, format_args!("passkey name with {case}"));
    }
    assert_eq!(ann.get("/api/auth/me").await.body["passkeyCount"], 0);
    // A bad name does not use the challenge up; a unicode one is kept.
    let body = json!({ "name": " Clé 🔑 ключ ", "credential": credential });
    let answer = ann.post(REGISTER, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["passkey"]["name"], "Clé 🔑 ключ");
    let path = passkey_path(&answer.body["passkey"]);
    for blank in ["", " \t "] {
        ann.authenticator = SoftAuthenticator::new();
        let answer = ann.register_with(Some(blank), &Tweaks::default()).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert_eq!(answer.body["passkey"]["name"], "Passkey");
    }

    let before = passkeys(&ann).await;
    let blank_names = [("empty", String::new()), ("blank", " \u{3000} ".to_owned())];
    for (case, name) in bad_names.iter().chain(&blank_names) {
        let answer = ann
            .send(Method::PATCH, &path, Some(&json!({ "name": name })))
            .await;
        invalid(&answer, format_args!("rename with {case}"));
    }
    assert_eq!(passkeys(&ann).await, before);
    for name in ["Ключ Маши", "🔑", &"語".repeat(64)] {
        let answer = ann
            .send(Method::PATCH, &path, Some(&json!({ "name": name })))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["passkey"]["name"], name);
        let listed = passkeys(&ann).await;
        assert!(
            listed.as_array().unwrap().iter().any(|p| p["name"] == name),
            "{listed}"
        );
    }
}

/// `credential` with the member at `path` (dot-separated) set to `value`,
/// in a finish body.
fn with(credential: &Value, path: &str, value: Value) -> Value {
    let mut credential = credential.clone();
    let (parent, member) = path.rsplit_once('.').unwrap_or(("", path));
    let pointer = if parent.is_empty() {
        String::new()
    } else {
        format!("/{}", parent.replace('.', "/"))
    };
    credential.pointer_mut(&pointer).unwrap()[member] = value;
    json!({ "credential": credential })
}

async fn json_types_unknown_members_and_duplicates(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let anon = Client::new(&app);
    let password = "correct horse battery";
    for body in [
        json!({ "email": 5, "password": password }),
        json!({ "email": true, "password": password }),
        json!({ "email": null, "password": password }),
        json!({ "email": ["typed@example.com"], "password": password }),
        json!({ "email": { "address": "typed@example.com" }, "password": password }),
        json!({ "email": "typed@example.com", "password": 12_345_678 }),
        json!({ "email": "typed@example.com", "password": null }),
        json!({ "email": "typed@example.com" }),
        json!(null),
        json!(42),
        json!("typed@example.com"),
        json!(["typed@example.com", password]),
    ] {
        invalid(
            &anon.post(SIGNUP, body.clone()).await,
            format_args!("signup {body}"),
        );
        invalid(
            &anon.post(LOGIN, body.clone()).await,
            format_args!("login {body}"),
        );
    }
    for name in [
        json!(5),
        json!(["Ann"]),
        json!(1.5e300),
        json!({}),
        json!(false),
    ] {
        let mut body = signup_body("typed@example.com");
        body["displayName"] = name;
        invalid(
            &anon.post(SIGNUP, body.clone()).await,
            format_args!("signup {body}"),
        );
    }
    assert_not_stored(&app, "typed@example.com").await;

    // Unknown members are ignored, whatever they claim.
    let body = json!({ "email": "extra@example.com", "password": password, "role": "admin",
                       "id": "00000000-0000-0000-0000-000000000001", "emailVerified": true,
                       "user": { "email": "other@example.com" } });
    let answer = anon.post(SIGNUP, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let user = answer.body["user"].as_object().unwrap();
    assert_eq!(user["email"], "extra@example.com");
    assert_ne!(user["id"], "00000000-0000-0000-0000-000000000001");
    assert!(!user.contains_key("role"));
    assert_not_stored(&app, "other@example.com").await;

    // A member twice, at the top or deeper down, is refused.
    for body in [
        r#"{"email":"dup1@a.b","email":"dup2@a.b","password":"correct horse battery"}"#,
        r#"{"email":"dup1@a.b","password":"correct horse battery","x":{"a":1,"a":2}}"#,
        r#"{"email":"dup1@a.b","password":"correct horse battery","x":[{},{"a":1,"a":1}]}"#,
    ] {
        invalid(&post_raw(&anon, SIGNUP, body).await, body);
    }
    assert_not_stored(&app, "dup1@a.b").await;
    assert_not_stored(&app, "dup2@a.b").await;

    // Sign-in options: null is no email, anything but a string is refused.
    let answer = anon.post(OPTIONS, json!({ "email": null, "x": 1 })).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["publicKey"]["allowCredentials"], json!([]));
    for body in [
        json!({ "email": 5 }),
        json!({ "email": ["a@b.c"] }),
        json!({ "email": {} }),
        json!(null),
        json!([]),
        json!("a@b.c"),
    ] {
        invalid(
            &anon.post(OPTIONS, body.clone()).await,
            format_args!("options {body}"),
        );
    }
    let twice = r#"{"email":"a@b.c","email":null}"#;
    invalid(
        &post_raw(&anon, OPTIONS, twice).await,
        "options with a duplicate email",
    );

    // Registration bodies.
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let options = ann.registration_options().await;
    let credential = ann.authenticator.register(&options, &app.origin).unwrap();
    for body in [
        json!({ "name": 5, "credential": credential }),
        json!({ "name": ["Key"], "credential": credential }),
        json!({ "credential": null }),
        json!({ "credential": [credential] }),
        json!({ "name": "Key" }),
        with(&credential, "response", json!(null)),
        with(&credential, "response", json!("attestation")),
        with(&credential, "response.transports", json!("usb")),
        with(&credential, "response.transports", json!(["usb", 5])),
        with(&credential, "response.transports", json!([null])),
        with(&credential, "response.clientDataJSON", json!(5)),
        with(&credential, "response.clientDataJSON", json!(null)),
        with(&credential, "response.attestationObject", json!([1, 2, 3])),
        with(&credential, "rawId", json!(null)),
        with(&credential, "id", json!(7)),
        with(&credential, "type", json!(null)),
        with(&credential, "type", json!("public-key ")),
        with(&credential, "clientExtensionResults", json!(null)),
        with(&credential, "clientExtensionResults", json!([])),
        with(&credential, "clientExtensionResults.credProps", json!(5)),
        with(
            &credential,
            "clientExtensionResults.credProps",
            json!([true]),
        ),
        with(
            &credential,
            "clientExtensionResults.credProtect",
            json!("sometimes"),
        ),
        with(
            &credential,
            "clientExtensionResults.minPinLength",
            json!(-1),
        ),
        with(
            &credential,
            "clientExtensionResults.hmacSecret",
            json!("yes"),
        ),
    ] {
        invalid(
            &ann.post(REGISTER, body.clone()).await,
            format_args!("register {body}"),
        );
    }
    assert_eq!(ann.get("/api/auth/me").await.body["passkeyCount"], 0);
    // Unknown members, unknown transports and a null name are fine; the
    // refused bodies above left the ceremony alive.
    let mut body = with(
        &credential,
        "response.transports",
        json!(["usb", "carrier-pigeon"]),
    );
    body["name"] = json!(null);
    body["credential"]["response"]["unknown"] = json!({ "deep": [1, 2] });
    body["credential"]["authenticatorAttachment"] = json!({ "odd": true });
    body["credential"]["clientExtensionResults"]["futureExtension"] = json!(1);
    body["extra"] = json!("ignored");
    let answer = ann.post(REGISTER, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["passkey"]["name"], "Passkey");

    // Rename bodies.
    let path = passkey_path(&answer.body["passkey"]);
    for body in [
        json!({ "name": null }),
        json!({ "name": 5 }),
        json!({ "name": ["Key"] }),
        json!({ "name": { "text": "Key" } }),
        json!({}),
        json!(null),
        json!(["Key"]),
        json!("Key"),
    ] {
        let answer = ann.send(Method::PATCH, &path, Some(&body)).await;
        invalid(&answer, format_args!("rename {body}"));
    }
    let answer = send_raw(
        &ann,
        Method::PATCH,
        &path,
        JSON,
        r#"{"name":"A","name":"B"}"#,
    )
    .await;
    invalid(&answer, "rename with a duplicate name");
    assert_eq!(passkeys(&ann).await[0]["name"], "Passkey");
    let body = json!({ "name": "Laptop", "id": "other" });
    let answer = ann.send(Method::PATCH, &path, Some(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["passkey"]["name"], "Laptop");

    // Sign-in bodies.
    let before = passkeys(&ann).await;
    let options = ann.sign_in_options(json!({})).await;
    let assertion = ann
        .authenticator
        .authenticate(&options, &app.origin)
        .unwrap();
    for body in [
        json!({ "credential": null }),
        json!({ "credential": "assertion" }),
        json!({}),
        with(&assertion, "response.userHandle", json!(5)),
        with(&assertion, "response.userHandle", json!([])),
        with(&assertion, "response.signature", json!(null)),
        with(&assertion, "response.authenticatorData", json!({})),
        with(&assertion, "response.clientDataJSON", json!(true)),
        with(&assertion, "clientExtensionResults", json!([])),
        with(&assertion, "clientExtensionResults.appid", json!("yes")),
    ] {
        invalid(
            &ann.post(AUTHENTICATE, body.clone()).await,
            format_args!("sign-in {body}"),
        );
    }
    assert_eq!(passkeys(&ann).await, before);
    let mut body = with(&assertion, "response.unknown", json!([{}]));
    body["credential"]["clientExtensionResults"] = json!({ "futureExtension": {} });
    body["x"] = json!(1);
    let answer = ann.post(AUTHENTICATE, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn content_types(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let passkey = ann.register().await;
    let refused_types = [
        None,
        Some("text/plain"),
        Some("text/plain; charset=utf-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/octet-stream"),
        Some("application/jsonp"),
        Some("json"),
        Some("application/json;;;=="),
        Some(""),
    ];
    for content_type in refused_types {
        for (endpoint, method, path) in body_endpoints(&passkey_path(&passkey)) {
            let body = match endpoint {
                "rename" => json!({ "name": "Typed" }),
                "options" => json!({ "email": "ann@example.com" }),
                _ => signup_body("typed@example.com"),
            };
            let answer = send_raw(&ann, method, &path, content_type, body.to_string()).await;
            invalid(&answer, format_args!("{endpoint}, {content_type:?}"));
        }
        let form = "email=ann%40example.com";
        let answer = send_raw(&ann, Method::POST, OPTIONS, content_type, form).await;
        invalid(&answer, format_args!("options form, {content_type:?}"));
    }
    assert_not_stored(&app, "typed@example.com").await;
    assert_eq!(passkeys(&ann).await[0]["name"], passkey["name"]);

    // Registration and sign-in with a wrong type keep their ceremony.
    let options = ann.registration_options().await;
    let another = Tweaks {
        ignore_exclude_credentials: true,
        ..Tweaks::default()
    };
    let credential = ann
        .authenticator
        .register_with(&options, &app.origin, &another)
        .unwrap();
    let body = json!({ "credential": credential }).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let answer = send_raw(&ann, Method::POST, REGISTER, content_type, body.clone()).await;
        invalid(&answer, format_args!("register, {content_type:?}"));
    }
    // A charset is meaningless for JSON (RFC 8259) and changes nothing.
    let latin1 = Some("application/json; charset=latin1");
    let answer = send_raw(&ann, Method::POST, REGISTER, latin1, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);

    let options = ann.sign_in_options(json!({})).await;
    let assertion = ann
        .authenticator
        .authenticate(&options, &app.origin)
        .unwrap();
    let body = json!({ "credential": assertion }).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let answer = send_raw(&ann, Method::POST, AUTHENTICATE, content_type, body.clone()).await;
        invalid(&answer, format_args!("sign-in, {content_type:?}"));
    }
    let upper = Some("APPLICATION/JSON; charset=UTF-8");
    let answer = send_raw(&ann, Method::POST, AUTHENTICATE, upper, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Other JSON types are accepted; Latin-1 bytes are still not UTF-8.
    for (n, content_type) in [
        "application/json; charset=latin1",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.monetro+json",
    ]
    .into_iter()
    .enumerate()
    {
        let body = signup_body(&format!("json{n}@example.com")).to_string();
        let answer = send_raw(&ann, Method::POST, SIGNUP, Some(content_type), body).await;
        assert_eq!(answer.status, 201, "{content_type}: {}", answer.body);
    }
    let body =
        b"{\"email\":\"latin@a.b\",\"password\":\"correct horse\",\"displayName\":\"Andr\xe9\"}";
    let answer = send_raw(&ann, Method::POST, SIGNUP, latin1, body.as_slice()).await;
    invalid(&answer, "Latin-1 bytes");
    assert_not_stored(&app, "latin@a.b").await;

    // Sign-in options need no body at all; a blank one counts as none.
    let anon = Client::new(&app);
    for (content_type, body) in [
        (None, ""),
        (Some("text/plain"), ""),
        (Some("text/plain"), " \r\n"),
        (JSON, ""),
    ] {
        let answer = send_raw(&anon, Method::POST, OPTIONS, content_type, body).await;
        assert_eq!(answer.status, 200, "{content_type:?}: {}", answer.body);
    }
}

/// Ways to spoil a base64url value, each a body-shape error.
fn spoiled(value: &str) -> Vec<(&'static str, String)> {
    let mut middle = value.to_owned();
    middle.insert(value.len() / 2, ' ');
    let first = |c: char| format!("{c}{}", &value[1..]);
    // Characters that make the length 4n+1, which no byte string has.
    let dangling = "A".repeat(match value.len() % 4 {
        0 => 1,
        remainder => 5 - remainder,
    });
    vec![
        ("padding", format!("{value}=")),
        ("double padding", format!("{value}==")),
        ("leading space", format!(" {value}")),
        ("trailing newline", format!("{value}\n")),
        ("inner space", middle),
        ("tab", format!("{value}\t")),
        ("+", first('+')),
        ("/", first('/')),
        ("*", first('*')),
        ("non-ASCII", first('é')),
        ("a length of 4n+1", format!("{value}{dangling}")),
    ]
}

/// Sends `credential` with each of its `members` (JSON pointers) spoiled in
/// each way of [`spoiled`], and expects `400 VALIDATION_FAILED` each time.
async fn spoil_each(client: &Client, path: &str, credential: &Value, members: &[&str]) {
    for member in members {
        let value = credential.pointer(member).unwrap().as_str().unwrap();
        for (how, bad) in spoiled(value) {
            let mut spoilt = credential.clone();
            *spoilt.pointer_mut(member).unwrap() = json!(bad);
            let answer = client.post(path, json!({ "credential": spoilt })).await;
            invalid(&answer, format_args!("{path} {member}: {how}"));
        }
    }
}

async fn credential_encodings(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;

    let options = ann.registration_options().await;
    let credential = ann.authenticator.register(&options, &app.origin).unwrap();
    let members = [
        "/id",
        "/rawId",
        "/response/clientDataJSON",
        "/response/attestationObject",
    ];
    spoil_each(&ann, REGISTER, &credential, &members).await;
    for (how, id) in [("empty", String::new()), ("1024 bytes", b64(&[7; 1024]))] {
        let mut spoilt = credential.clone();
        spoilt["id"] = json!(id);
        spoilt["rawId"] = json!(id);
        let answer = ann.post(REGISTER, json!({ "credential": spoilt })).await;
        invalid(&answer, format_args!("registration rawId {how}"));
    }
    assert_eq!(ann.get("/api/auth/me").await.body["passkeyCount"], 0);
    let answer = ann
        .post(REGISTER, json!({ "credential": credential }))
        .await;
    assert_eq!(
        answer.status, 201,
        "the ceremony was used up: {}",
        answer.body
    );

    let before = passkeys(&ann).await;
    let options = ann.sign_in_options(json!({})).await;
    let assertion = ann
        .authenticator
        .authenticate(&options, &app.origin)
        .unwrap();
    let members = [
        "/id",
        "/rawId",
        "/response/clientDataJSON",
        "/response/authenticatorData",
        "/response/signature",
        "/response/userHandle",
    ];
    spoil_each(&ann, AUTHENTICATE, &assertion, &members).await;
    assert_eq!(passkeys(&ann).await, before);
    let answer = ann
        .post(AUTHENTICATE, json!({ "credential": assertion }))
        .await;
    assert_eq!(
        answer.status, 200,
        "the ceremony was used up: {}",
        answer.body
    );
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(value, &mut bytes).unwrap();
    bytes
}

fn cbor_map(object: &[u8]) -> Vec<(Cbor, Cbor)> {
    match ciborium::from_reader(object).unwrap() {
        Cbor::Map(members) => members,
        other => panic!("not a map: {other:?}"),
    }
}

/// The attestation object with `member` replaced, removed (`None`) or added.
fn with_member(object: &[u8], member: &str, value: Option<Cbor>) -> Vec<u8> {
    let mut members = cbor_map(object);
    members.retain(|(key, _)| key.as_text() != Some(member));
    members.extend(value.map(|value| (Cbor::Text(member.into()), value)));
    cbor(&Cbor::Map(members))
}

/// Malformed attestation objects, built from an honest one.
fn spoilt_attestations(object: &[u8]) -> Vec<(String, Vec<u8>)> {
    let members = cbor_map(object);
    let (_, auth_data) = members
        .iter()
        .find(|(key, _)| key.as_text() == Some("authData"))
        .unwrap();
    let data = auth_data.as_bytes().unwrap().clone();
    let start = object
        .windows(data.len())
        .position(|window| window == data)
        .unwrap();
    let id_length = usize::from(u16::from_be_bytes([data[53], data[54]]));
    let replaced = |member, value| with_member(object, member, Some(value));
    let mut cases = Vec::new();
    // Truncated: in the CBOR around authData, and before and inside each part
    // of it (rpIdHash, flags, counter, AAGUID, id length, id, public key).
    let parts = [1, 32, 33, 36, 37, 53, 55, 55 + id_length, data.len() - 1];
    let cuts = [0, 1, 2, 6, start - 1, start]
        .into_iter()
        .chain(parts.map(|p| start + p));
    for cut in cuts.chain([object.len() - 1]) {
        cases.push((format!("cut at {cut}"), object[..cut].to_vec()));
    }
    // authData cut short inside well-formed CBOR.
    for cut in [0, 36, 37, 54, 55 + id_length, data.len() - 1] {
        let short = replaced("authData", Cbor::Bytes(data[..cut].to_vec()));
        cases.push((format!("authData of {cut} bytes"), short));
    }
    let longer = [data.as_slice(), &[0; 8]].concat();
    let as_integers = data.iter().map(|b| Cbor::Integer((*b).into())).collect();
    let mut twice = members.clone();
    twice.push((
        Cbor::Text("authData".into()),
        Cbor::Bytes(data[..37].to_vec()),
    ));
    let huge_auth_data = [
        &object[..start - 2],
        &[0x5a, 0xff, 0xff, 0xff, 0xff],
        &object[start..],
    ];
    cases.extend([
        // Extra bytes after the object, or after the public key in authData.
        ("a trailing byte".into(), [object, &[0]].concat()),
        ("64 trailing bytes".into(), [object, &[0xff; 64]].concat()),
        (
            "authData with trailing bytes".into(),
            replaced("authData", Cbor::Bytes(longer)),
        ),
        // Wrong major types.
        (
            "an array".into(),
            cbor(&Cbor::Array(
                members.iter().map(|(_, v)| v.clone()).collect(),
            )),
        ),
        ("a text string".into(), cbor(&Cbor::Text("none".into()))),
        ("an integer".into(), cbor(&Cbor::Integer(7.into()))),
        ("a byte string".into(), cbor(&Cbor::Bytes(object.to_vec()))),
        ("null".into(), cbor(&Cbor::Null)),
        (
            "authData as text".into(),
            replaced("authData", Cbor::Text(b64(&data))),
        ),
        (
            "authData as an array".into(),
            replaced("authData", Cbor::Array(as_integers)),
        ),
        (
            "fmt as an integer".into(),
            replaced("fmt", Cbor::Integer(0.into())),
        ),
        (
            "an unknown fmt".into(),
            replaced("fmt", Cbor::Text("x".into())),
        ),
        (
            "packed without a statement".into(),
            replaced("fmt", Cbor::Text("packed".into())),
        ),
        (
            "attStmt as an array".into(),
            replaced("attStmt", Cbor::Array(vec![])),
        ),
        ("attStmt as null".into(), replaced("attStmt", Cbor::Null)),
        (
            "none with a statement".into(),
            replaced("attStmt", Cbor::Map(vec![(Cbor::Null, Cbor::Null)])),
        ),
        ("no authData".into(), with_member(object, "authData", None)),
        ("no fmt".into(), with_member(object, "fmt", None)),
        ("an empty map".into(), cbor(&Cbor::Map(vec![]))),
        ("authData twice".into(), cbor(&Cbor::Map(twice))),
        // Lengths the input cannot hold, deep nesting, reserved bytes.
        (
            "a byte string of 2^64-1 bytes".into(),
            [&[0x5b][..], &[0xff; 8]].concat(),
        ),
        (
            "an array of 2^64-1 items".into(),
            [&[0x9b][..], &[0xff; 8]].concat(),
        ),
        (
            "a map of 2^32-1 members".into(),
            [&[0xba][..], &[0xff; 4]].concat(),
        ),
        ("authData of 2^32-1 bytes".into(), huge_auth_data.concat()),
        (
            "10 000 nested arrays".into(),
            [vec![0x81; 10_000], vec![0]].concat(),
        ),
        ("a reserved additional info".into(), vec![0x1c]),
        ("a lone break".into(), vec![0xff]),
    ]);
    cases
}

async fn attestation_objects(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    let options = ann.registration_options().await;
    let honest = SoftAuthenticator::new()
        .register(&options, &app.origin)
        .unwrap();
    let object = unb64(honest["response"]["attestationObject"].as_str().unwrap());
    for (case, spoilt) in spoilt_attestations(&object) {
        // Each failed verification uses its challenge up: fresh options.
        let options = ann.registration_options().await;
        let mut credential = ann.authenticator.register(&options, &app.origin).unwrap();
        credential["response"]["attestationObject"] = json!(b64(&spoilt));
        let answer = ann
            .post(REGISTER, json!({ "credential": credential }))
            .await;
        refused(
            &answer,
            400,
            "REGISTRATION_FAILED",
            format_args!("attestationObject: {case}"),
        );
    }
    assert_eq!(ann.get("/api/auth/me").await.body["passkeyCount"], 0);
    ann.register().await;
}

/// A change to an assertion.
type Spoil = Box<dyn Fn(&mut Value)>;

/// Changes to an honest assertion, each refused as `AUTHENTICATION_FAILED`.
fn spoilt_assertions() -> Vec<(String, Spoil)> {
    fn data(change: impl Fn(&mut Vec<u8>) + 'static) -> Spoil {
        Box::new(move |assertion: &mut Value| {
            let member = &mut assertion["response"]["authenticatorData"];
            let mut bytes = unb64(member.as_str().unwrap());
            change(&mut bytes);
            *member = json!(b64(&bytes));
        })
    }
    fn response(member: &'static str, value: Value) -> Spoil {
        Box::new(move |assertion: &mut Value| assertion["response"][member] = value.clone())
    }
    let mut cases: Vec<(String, Spoil)> = Vec::new();
    for cut in [0, 1, 32, 33, 34, 36] {
        cases.push((
            format!("authenticatorData of {cut} bytes"),
            data(move |d| d.truncate(cut)),
        ));
    }
    cases.extend([
        (
            "authenticatorData with a trailing byte".into(),
            data(|d| d.push(0)),
        ),
        (
            "authenticatorData with 1 kB more".into(),
            data(|d| d.extend([0xa0; 1024])),
        ),
        (
            "extension flag, no extensions".into(),
            data(|d| d[32] |= 0x80),
        ),
        (
            "extension flag, a truncated map".into(),
            data(|d| {
                d[32] |= 0x80;
                d.push(0xa1);
            }),
        ),
        (
            "attested-data flag in an assertion".into(),
            data(|d| d[32] |= 0x40),
        ),
        ("userHandle empty".into(), response("userHandle", json!(""))),
        (
            "userHandle of 1 kB".into(),
            response("userHandle", json!(b64(&[1; 1024]))),
        ),
        (
            "userHandle null".into(),
            response("userHandle", Value::Null),
        ),
    ]);
    for (how, signature) in [
        ("empty", Vec::new()),
        ("one byte", vec![0x30]),
        ("not DER", vec![0xab; 64]),
        ("DER of length 0", vec![0x30, 0x00]),
        ("lying DER length", vec![0x30, 0xff, 0x02, 0x01, 0x01]),
        ("1 kB", vec![0x30; 1024]),
    ] {
        cases.push((
            format!("signature {how}"),
            response("signature", json!(b64(&signature))),
        ));
    }
    cases
}

async fn assertions(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    ann.register().await;
    let before = passkeys(&ann).await;
    for (case, spoil) in spoilt_assertions() {
        let options = ann.sign_in_options(json!({})).await;
        let mut assertion = ann
            .authenticator
            .authenticate(&options, &app.origin)
            .unwrap();
        spoil(&mut assertion);
        let answer = ann
            .post(AUTHENTICATE, json!({ "credential": assertion }))
            .await;
        refused(&answer, 401, "AUTHENTICATION_FAILED", case);
    }
    assert_eq!(
        passkeys(&ann).await,
        before,
        "a refused assertion changed the passkey"
    );
    assert_eq!(ann.sign_in().await.status, 200);
}

/// `clientDataJSON` values that are not a client data object.
fn spoilt_client_data() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty", Vec::new()),
        ("not JSON", b"not json".to_vec()),
        ("an array", b"[]".to_vec()),
        ("a string", br#""webauthn.create""#.to_vec()),
        ("null", b"null".to_vec()),
        ("a number", b"42".to_vec()),
        ("an empty object", b"{}".to_vec()),
        ("invalid UTF-8", b"{\"type\":\"\xff\xfe\"}".to_vec()),
        ("a lone surrogate", br#"{"type":"\ud800"}"#.to_vec()),
        ("10 000 nested arrays", nested(10_000).into_bytes()),
        (
            "members of the wrong type",
            br#"{"type":1,"challenge":[],"origin":{}}"#.to_vec(),
        ),
        (
            "truncated",
            br#"{"type":"webauthn.create","challenge":"#.to_vec(),
        ),
    ]
}

async fn client_data_json(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let mut ann = Client::signup(&app, "ann@example.com").await;
    for (case, raw) in spoilt_client_data() {
        ann.authenticator = SoftAuthenticator::new();
        let tweaks = Tweaks {
            raw_client_data_json: Some(raw),
            ..Tweaks::default()
        };
        let answer = ann.register_with(None, &tweaks).await;
        refused(
            &answer,
            400,
            "REGISTRATION_FAILED",
            format_args!("registration, {case}"),
        );
    }
    assert_eq!(ann.get("/api/auth/me").await.body["passkeyCount"], 0);

    ann.register().await;
    let before = passkeys(&ann).await;
    for (case, raw) in spoilt_client_data() {
        let tweaks = Tweaks {
            raw_client_data_json: Some(raw),
            ..Tweaks::default()
        };
        let (answer, _) = ann.sign_in_with(json!({}), &tweaks).await;
        refused(
            &answer,
            401,
            "AUTHENTICATION_FAILED",
            format_args!("sign-in, {case}"),
        );
    }
    assert_eq!(passkeys(&ann).await, before);
}

/// What a slow client saw: the first answer, if any, and how long the
/// connection lasted.
struct Cut {
    answer: Option<RawAnswer>,
    after: Duration,
}

/// Connects, writes the first `fast` bytes of `bytes` at once and the rest
/// one byte every `pace`, and reads until the server closes the connection
/// (or 20 s pass).
fn trickle(address: SocketAddr, bytes: &[u8], fast: usize, pace: Duration) -> Cut {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(pace)).unwrap();
    let (now, later) = bytes.split_at(fast);
    let mut open = stream.write_all(now).is_ok();
    let mut later = later.iter();
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    while open && started.elapsed() < Duration::from_secs(20) {
        if let Some(byte) = later.next()
            && stream.write_all(&[*byte]).is_err()
        {
            break;
        }
        match stream.read(&mut buffer) {
            Ok(0) => open = false,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => open = false,
        }
    }
    Cut {
        answer: parse_answer(&received),
        after: started.elapsed(),
    }
}

// Slow clients are cut before any handler reaches a database: the tests
// below run on SQLite only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_without_holding_up_others() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.server.client_request_timeout_secs = 1;
        c.server.client_body_timeout_secs = 1;
    })
    .await
    .unwrap();
    let timeout = Duration::from_secs(1);
    let pace = Duration::from_millis(100);
    let address = address(&app);
    let json = ("Content-Type", "application/json");
    let slow_head = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: {}",
        "a".repeat(200)
    );
    let slow_head = slow_head.into_bytes();
    let stalled_body = request("POST", LOGIN, &[json, ("Content-Length", "100")], b"{");
    let trickled_head = request("POST", LOGIN, &[json, ("Content-Length", "1000")], b"");
    let trickled_body = [trickled_head.as_slice(), &[b' '; 1000]].concat();
    let unread_body = request("POST", REGISTER, &[json, ("Content-Length", "100")], b"");
    // Twice as many slow connections of each kind as there are workers.
    let mut clients = Vec::new();
    for _ in 0..2 * app.config.server.workers.max(1) {
        for (kind, bytes, fast) in [
            ("head", slow_head.clone(), 0),
            ("stalled body", stalled_body.clone(), stalled_body.len()),
            ("trickled body", trickled_body.clone(), trickled_head.len()),
            ("unread body", unread_body.clone(), unread_body.len()),
        ] {
            clients.push((
                kind,
                thread::spawn(move || trickle(address, &bytes, fast, pace)),
            ));
        }
    }

    tokio::time::sleep(Duration::from_millis(300)).await;
    let anon = Client::new(&app);
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(anon.get("/healthz").await.status, 200);
        let answer = anon.post(OPTIONS, json!({})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "slow clients held others up: {took:?}"
        );
    }

    for (kind, client) in clients {
        let Cut { answer, after } = client.join().unwrap();
        let answer = answer.unwrap_or_else(|| panic!("{kind}: no answer in {after:?}"));
        match kind {
            "head" => assert_eq!(answer.status, 408, "{kind}: {}", answer.head),
            "unread body" => refused(&answer.json(), 401, "UNAUTHORIZED", kind),
            _ => invalid(&answer.json(), kind),
        }
        if kind != "unread body" {
            assert!(after >= timeout.mul_f32(0.9), "{kind}: cut after {after:?}");
        }
        assert!(after < timeout * 4, "{kind}: open for {after:?}");
        assert!(kind == "head" || answer.closes(), "{kind}: {}", answer.head);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_keep_alive() {
    let healthz = request("GET", "/healthz", &[], b"");
    for keep_alive in [1, 0] {
        let app = spawn_with(Backend::Sqlite, |c| c.server.keep_alive_secs = keep_alive)
            .await
            .unwrap();
        let (address, bytes) = (address(&app), healthz.clone());
        let pace = Duration::from_millis(50);
        let cut = tokio::task::spawn_blocking(move || trickle(address, &bytes, bytes.len(), pace))
            .await
            .unwrap();
        let answer = cut.answer.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.head);
        let kept = Duration::from_secs(keep_alive);
        assert!(
            cut.after >= kept.mul_f32(0.9) && cut.after < kept + Duration::from_secs(2),
            "keep-alive {keep_alive} s: closed after {:?}",
            cut.after
        );
        assert_eq!(answer.closes(), keep_alive == 0, "{}", answer.head);
    }
}
