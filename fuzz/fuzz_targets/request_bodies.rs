//! Request bodies through the real routes, extractors and error mapping
//! into the use cases (over the in-memory ports), as the service runs them.
//! Never panics and never answers 5xx: a bad body is a `400` with the
//! contract's error shape. Signup, login, sign-in options and rename are
//! accepted exactly when the domain's rules accept their fields, and what
//! they accept comes back normalised.
//!
//! Input: a line `METHOD PATH [anon] [text]` (`anon`: no bearer token,
//! `text`: `Content-Type: text/plain`), then the body. The account
//! `ann@example.com` / `correct horse` exists and owns passkey
//! `00000000-0000-4000-8000-000000000001`.
#![no_main]

use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE};
use actix_web::http::{Method, Uri};
use actix_web::{test, web};
use chrono::TimeZone as _;
use libfuzzer_sys::fuzz_target;
use monetro_app::Signup;
use monetro_domain::{
    CredentialId, DisplayName, Email, Passkey, PasskeyId, PasskeyName, Password, RequestOrigin,
};
use monetro_fuzz::{Memory, MemoryDeps, block_on, member, status_of_code, strict_json};
use monetro_http::config::Config;
use monetro_http::{Metrics, RateLimits, routes};
use monetro_ports::{CredentialRepository as _, Journal};
use serde_json::Value;
use uuid::Uuid;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse";
const PASSKEY_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0001);
const BODY_LIMIT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|b| *b == b'\n') {
        Some(end) => (
            data.get(..end).unwrap_or_default(),
            data.get(end + 1..).unwrap_or_default(),
        ),
        None => (data, &[][..]),
    };
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    let mut words = head.split(' ');
    let (Some(method), Some(path)) = (words.next(), words.next()) else {
        return;
    };
    let flags: Vec<&str> = words.collect();
    let (Ok(method), Ok(_)) = (Method::from_bytes(method.as_bytes()), path.parse::<Uri>()) else {
        return;
    };
    if !path.starts_with('/') {
        return;
    }
    let request = Request {
        method,
        path,
        anonymous: flags.contains(&"anon"),
        json: !flags.contains(&"text"),
        body,
    };
    block_on(exchange(&request));
});

struct Request<'a> {
    method: Method,
    path: &'a str,
    anonymous: bool,
    json: bool,
    body: &'a [u8],
}

async fn exchange(request: &Request<'_>) {
    let memory = Memory::new();
    let session = memory
        .app
        .signup(
            Signup {
                email: EMAIL.into(),
                password: PASSWORD.into(),
                display_name: Some("Ann".into()),
            },
            &RequestOrigin::default(),
        )
        .await;
    let Ok(session) = session else {
        panic!("the fixture's signup failed");
    };
    let passkey = Passkey {
        id: PasskeyId(PASSKEY_ID),
        user_id: session.user.id,
        name: PasskeyName::fallback("MacBook Touch ID"),
        credential_id: match CredentialId::new(vec![1, 2, 3, 4]) {
            Ok(id) => id,
            Err(e) => panic!("{e:?}"),
        },
        verifier: "{}".into(),
        sign_count: 0,
        backup_eligible: true,
        backed_up: true,
        transports: vec!["internal".into()],
        aaguid: Uuid::nil(),
        created_at: chrono::Utc.timestamp_opt(0, 0).single().unwrap_or_default(),
        last_used_at: None,
    };
    if let Err(e) = memory
        .store
        .insert_passkey(passkey, 20, Journal::default())
        .await
    {
        panic!("the fixture's passkey: {e:?}");
    }
    let mut limits = match Config::defaults() {
        Ok(config) => config.rate_limit,
        Err(e) => panic!("{e}"),
    };
    limits.enabled = false;
    let metrics = match Metrics::new() {
        Ok(metrics) => metrics,
        Err(e) => panic!("{e}"),
    };
    let service = test::init_service(
        actix_web::App::new()
            .app_data(web::Data::new(memory.app))
            .app_data(web::Data::new(RateLimits::new(&limits)))
            .app_data(web::Data::new(metrics))
            .configure(routes::configure::<MemoryDeps>(BODY_LIMIT))
            .default_service(web::to(routes::not_found)),
    )
    .await;
    let mut call = test::TestRequest::default()
        .method(request.method.clone())
        .uri(request.path)
        .set_payload(request.body.to_vec());
    call = call.insert_header((
        CONTENT_TYPE,
        if request.json {
            "application/json"
        } else {
            "text/plain"
        },
    ));
    if !request.anonymous {
        call = call.insert_header((AUTHORIZATION, format!("Bearer {}", session.token.token)));
    }
    let response = test::call_service(&service, call.to_request()).await;
    let status = response.status().as_u16();
    let answer = test::read_body(response).await;
    let answer: Value = if answer.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&answer) {
            Ok(answer) => answer,
            Err(e) => panic!("{status} answer is not JSON: {e}"),
        }
    };
    assert!(status < 500, "{status}: {answer}");
    let code = if status >= 400 {
        let code = member(&answer, &["error", "code"])
            .as_str()
            .unwrap_or_default();
        assert_eq!(status_of_code(code), Some(status), "{status} with {answer}");
        assert!(
            member(&answer, &["error", "message"])
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "no message: {answer}"
        );
        Some(code)
    } else {
        None
    };
    let outcome = Outcome {
        status,
        code,
        answer: &answer,
    };
    let body = strict_json(request.body)
        .filter(|_| request.json)
        .filter(Value::is_object);
    let authenticated = !request.anonymous;
    let path = request.path.split('?').next().unwrap_or_default();
    match (request.method.as_str(), path) {
        ("POST", "/api/auth/signup") => signup(&outcome, body.as_ref()),
        ("POST", "/api/auth/login") => login(&outcome, body.as_ref()),
        ("POST", "/api/auth/passkey/authenticate-options") => {
            let blank = request.body.iter().all(u8::is_ascii_whitespace);
            authenticate_options(&outcome, blank, body.as_ref());
        }
        ("POST", "/api/auth/passkey/register") if authenticated => finish(&outcome, body.as_ref()),
        ("POST", "/api/auth/passkey/authenticate") => finish(&outcome, body.as_ref()),
        ("PATCH", path) if authenticated => {
            if let Some(id) = path.strip_prefix("/api/auth/passkey/") {
                rename(&outcome, id, body.as_ref());
            }
        }
        _ => {}
    }
}

struct Outcome<'a> {
    status: u16,
    code: Option<&'a str>,
    answer: &'a Value,
}

impl Outcome<'_> {
    fn expect(&self, status: u16, code: Option<&str>, why: &str) {
        assert_eq!(
            (self.status, self.code),
            (status, code),
            "{why}: {}",
            self.answer
        );
    }

    fn refused(&self, why: &str) {
        self.expect(400, Some("VALIDATION_FAILED"), why);
    }
}

/// A member that must be a string; `Err` when it is something else.
fn string<'v>(body: &'v Value, name: &str) -> Result<Option<&'v str>, ()> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

fn signup(outcome: &Outcome<'_>, body: Option<&Value>) {
    let Some(body) = body else {
        return outcome.refused("not a JSON object");
    };
    let (Ok(Some(email)), Ok(Some(password)), Ok(display_name)) = (
        string(body, "email"),
        string(body, "password"),
        string(body, "displayName"),
    ) else {
        return outcome.refused("not the documented shape");
    };
    let (Ok(email), Ok(_), Ok(display_name)) = (
        Email::parse(email),
        Password::new(password.to_owned()),
        display_name.map(DisplayName::parse).transpose(),
    ) else {
        return outcome.refused("a field the domain refuses");
    };
    if email.as_str() == EMAIL {
        return outcome.expect(409, Some("EMAIL_TAKEN"), "the fixture's email");
    }
    outcome.expect(201, None, "a valid signup");
    let user = member(outcome.answer, &["user"]);
    assert_eq!(member(user, &["email"]).as_str(), Some(email.as_str()));
    let display_name = display_name.flatten();
    assert_eq!(
        member(user, &["displayName"]).as_str(),
        display_name.as_ref().map(DisplayName::as_str)
    );
}

fn login(outcome: &Outcome<'_>, body: Option<&Value>) {
    let Some(body) = body else {
        return outcome.refused("not a JSON object");
    };
    let (Ok(Some(email)), Ok(Some(password))) = (string(body, "email"), string(body, "password"))
    else {
        return outcome.refused("not the documented shape");
    };
    let (Ok(email), Ok(_)) = (Email::parse(email), Password::attempt(password.to_owned())) else {
        return outcome.refused("a field the domain refuses");
    };
    if email.as_str() == EMAIL && password == PASSWORD {
        outcome.expect(200, None, "the fixture's credentials");
        assert_eq!(
            member(outcome.answer, &["user", "email"]).as_str(),
            Some(EMAIL)
        );
    } else {
        outcome.expect(401, Some("INVALID_CREDENTIALS"), "other credentials");
    }
}

fn authenticate_options(outcome: &Outcome<'_>, blank: bool, body: Option<&Value>) {
    if blank {
        return outcome.expect(200, None, "no body");
    }
    let Some(body) = body else {
        return outcome.refused("not a JSON object");
    };
    match string(body, "email") {
        Ok(None) => outcome.expect(200, None, "usernameless"),
        Ok(Some(email)) if Email::parse(email).is_ok() => outcome.expect(200, None, "an email"),
        _ => outcome.refused("not an email"),
    }
    if outcome.status == 200 {
        assert!(member(outcome.answer, &["publicKey", "challenge"]).is_string());
    }
}

/// Without a ceremony in the cookie a finish call fails on its body or on
/// the missing ceremony, never later.
fn finish(outcome: &Outcome<'_>, body: Option<&Value>) {
    if body.is_none() {
        return outcome.refused("not a JSON object");
    }
    assert!(
        matches!(
            outcome.code,
            Some("VALIDATION_FAILED" | "CHALLENGE_NOT_FOUND")
        ),
        "a finish call without a ceremony: {}",
        outcome.answer
    );
}

fn rename(outcome: &Outcome<'_>, id: &str, body: Option<&Value>) {
    if id.contains(['/', '%']) || id.is_empty() || outcome.status == 405 {
        return;
    }
    let Some(body) = body else {
        return outcome.refused("not a JSON object");
    };
    let Ok(Some(name)) = string(body, "name") else {
        return outcome.refused("not the documented shape");
    };
    let (Ok(Some(name)), Ok(id)) = (PasskeyName::parse(name), PasskeyId::parse(id)) else {
        return outcome.refused("a blank or long name, or not a passkey id");
    };
    if id != PasskeyId(PASSKEY_ID) {
        return outcome.expect(404, Some("PASSKEY_NOT_FOUND"), "another passkey");
    }
    outcome.expect(200, None, "a valid rename");
    assert_eq!(
        member(outcome.answer, &["passkey", "name"]).as_str(),
        Some(name.as_str())
    );
}
