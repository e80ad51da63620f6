//! The operations a virtual user performs, each a sequence of contract
//! calls recorded into a [`Trace`].

use std::borrow::Cow;
use std::time::{Duration, Instant};

use monetro_softauthn::{CounterMode, SoftAuthenticator, SoftAuthnError};
use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::{Browser, Endpoint, Payload, Target};
use crate::state::UserRecord;
use crate::stats::Trace;

/// A bearer token is renewed when it has less than this left.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

/// A user during a run: the saved record and the latest bearer token.
#[derive(Debug)]
pub(crate) struct User {
    pub(crate) record: UserRecord,
    token: Option<(HeaderValue, Instant)>,
}

impl User {
    pub(crate) fn new(record: UserRecord) -> Self {
        Self {
            record,
            token: None,
        }
    }

    /// The bearer header while the token is good for a while.
    pub(crate) fn fresh_token(&self) -> Option<&HeaderValue> {
        self.token
            .as_ref()
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(header, _)| header)
    }

    fn keep_token(&mut self, session: &SessionBody<'_>) {
        let lifetime = Duration::from_secs(session.expires_in).saturating_sub(TOKEN_MARGIN);
        self.token = HeaderValue::from_str(&format!("Bearer {}", session.token))
            .ok()
            .map(|header| (header, Instant::now() + lifetime));
    }
}

/// A new authenticator for a load user: a synced passkey (counter always
/// 0, backed up), so a state file stays valid whatever happened after it
/// was written.
pub(crate) fn new_authenticator() -> SoftAuthenticator {
    SoftAuthenticator::new().with_counter_mode(CounterMode::AlwaysZeroSynced)
}

#[derive(Deserialize)]
struct OptionsBody {
    #[serde(rename = "publicKey")]
    public_key: Value,
}

#[derive(Deserialize)]
struct SessionBody<'a> {
    #[serde(borrow)]
    token: Cow<'a, str>,
    #[serde(rename = "expiresIn")]
    expires_in: u64,
}

#[derive(Serialize)]
struct CredentialBody<'a> {
    credential: &'a Value,
}

#[derive(Serialize)]
struct RegisterBody<'a> {
    name: &'a str,
    credential: &'a Value,
}

#[derive(Serialize)]
struct AccountBody<'a> {
    email: &'a str,
    password: &'a str,
}

/// The code under which an authenticator refusal is counted.
fn client_code(error: &SoftAuthnError) -> &'static str {
    match error {
        SoftAuthnError::InvalidOptions(_) => "CLIENT_TYPE_ERROR",
        SoftAuthnError::Security(_) => "CLIENT_SECURITY_ERROR",
        SoftAuthnError::Excluded => "CLIENT_INVALID_STATE",
        SoftAuthnError::NoCredential => "CLIENT_NOT_ALLOWED",
        SoftAuthnError::UnsupportedAlgorithm => "CLIENT_NOT_SUPPORTED",
        SoftAuthnError::Internal(_) => "CLIENT_INTERNAL",
    }
}

/// Parses options, checking the RP ID they name (`rp_id_at` finds it).
fn options_of(
    body: &[u8],
    endpoint: Endpoint,
    target: &Target,
    rp_id_at: fn(&Value) -> Option<&str>,
    trace: &mut Trace,
) -> Option<Value> {
    let Ok(options) = serde_json::from_slice::<OptionsBody>(body) else {
        trace.bad_answer(endpoint, "UNEXPECTED_BODY");
        return None;
    };
    match rp_id_at(&options.public_key) {
        Some(rp_id) if rp_id != target.rp_id => {
            trace.bad_answer(endpoint, "UNEXPECTED_RP_ID");
            None
        }
        _ => Some(options.public_key),
    }
}

fn json_payload<T: Serialize>(value: &T) -> Payload {
    // Serialising these values (maps with string keys) cannot fail.
    Payload::Json(serde_json::to_vec(value).unwrap_or_default())
}

/// A full usernameless passkey sign-in; keeps the token when `keep_token`.
pub(crate) async fn sign_in(
    browser: &mut Browser,
    target: &Target,
    user: &mut User,
    keep_token: bool,
    trace: &mut Trace,
) {
    let Some(body) = browser
        .send(
            target,
            Endpoint::AuthenticateOptions,
            Payload::Static(b"{}"),
            None,
            trace,
        )
        .await
    else {
        return;
    };
    let Some(options) = options_of(
        &body,
        Endpoint::AuthenticateOptions,
        target,
        |pk| pk.get("rpId").and_then(Value::as_str),
        trace,
    ) else {
        return;
    };
    let credential = match user
        .record
        .authenticator
        .authenticate(&options, &target.origin)
    {
        Ok(credential) => credential,
        Err(e) => {
            trace.client_error(Endpoint::Authenticate, client_code(&e));
            return;
        }
    };
    let payload = json_payload(&CredentialBody {
        credential: &credential,
    });
    let Some(body) = browser
        .send(target, Endpoint::Authenticate, payload, None, trace)
        .await
    else {
        return;
    };
    session_of(&body, Endpoint::Authenticate, user, keep_token, trace);
}

fn session_of(body: &[u8], endpoint: Endpoint, user: &mut User, keep: bool, trace: &mut Trace) {
    match serde_json::from_slice::<SessionBody<'_>>(body) {
        Ok(session) if !session.token.is_empty() => {
            if keep {
                user.keep_token(&session);
            }
        }
        _ => trace.bad_answer(endpoint, "UNEXPECTED_BODY"),
    }
}

/// A password login; keeps the token when `keep_token`.
pub(crate) async fn password_login(
    browser: &mut Browser,
    target: &Target,
    user: &mut User,
    keep_token: bool,
    trace: &mut Trace,
) {
    let payload = json_payload(&AccountBody {
        email: &user.record.email,
        password: &user.record.password,
    });
    if let Some(body) = browser
        .send(target, Endpoint::Login, payload, None, trace)
        .await
    {
        session_of(&body, Endpoint::Login, user, keep_token, trace);
    }
}

/// `GET /api/auth/passkey/list` with the user's token.
pub(crate) async fn list(
    browser: &mut Browser,
    target: &Target,
    bearer: &HeaderValue,
    trace: &mut Trace,
) {
    if let Some(body) = browser
        .send(target, Endpoint::List, Payload::None, Some(bearer), trace)
        .await
        && serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("passkeys").map(Value::is_array))
            != Some(true)
    {
        trace.bad_answer(Endpoint::List, "UNEXPECTED_BODY");
    }
}

/// Registers a new passkey on the user's authenticator.
pub(crate) async fn register_passkey(
    browser: &mut Browser,
    target: &Target,
    authenticator: &mut SoftAuthenticator,
    bearer: &HeaderValue,
    trace: &mut Trace,
) {
    let Some(body) = browser
        .send(
            target,
            Endpoint::RegisterOptions,
            Payload::None,
            Some(bearer),
            trace,
        )
        .await
    else {
        return;
    };
    let Some(options) = options_of(
        &body,
        Endpoint::RegisterOptions,
        target,
        |pk| {
            pk.get("rp")
                .and_then(|rp| rp.get("id"))
                .and_then(Value::as_str)
        },
        trace,
    ) else {
        return;
    };
    let credential = match authenticator.register(&options, &target.origin) {
        Ok(credential) => credential,
        Err(e) => {
            trace.client_error(Endpoint::Register, client_code(&e));
            return;
        }
    };
    let payload = json_payload(&RegisterBody {
        name: "loadgen",
        credential: &credential,
    });
    if let Some(body) = browser
        .send(target, Endpoint::Register, payload, Some(bearer), trace)
        .await
        && serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("passkey").map(Value::is_object))
            != Some(true)
    {
        trace.bad_answer(Endpoint::Register, "UNEXPECTED_BODY");
    }
}

/// Signs up a new user and registers one passkey; the record when both
/// succeeded.
pub(crate) async fn set_up_user(
    browser: &mut Browser,
    target: &Target,
    email: String,
    password: String,
    trace: &mut Trace,
) -> Option<UserRecord> {
    let payload = json_payload(&AccountBody {
        email: &email,
        password: &password,
    });
    let body = browser
        .send(target, Endpoint::Signup, payload, None, trace)
        .await?;
    let mut user = User::new(UserRecord {
        email,
        password,
        authenticator: new_authenticator(),
    });
    session_of(&body, Endpoint::Signup, &mut user, true, trace);
    let bearer = user.token.take().map(|(header, _)| header)?;
    register_passkey(
        browser,
        target,
        &mut user.record.authenticator,
        &bearer,
        trace,
    )
    .await;
    trace.ok().then_some(user.record)
}
