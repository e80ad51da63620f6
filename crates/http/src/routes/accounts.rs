//! Sign-up, password login and the signed-in user.

use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use monetro_app::{App, Deps, Session, Signup};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::dto::{AuditEventBody, AuditPage, MeBody, SessionBody, UserBody};
use crate::error::{ApiError, ErrorBody, answers};
use crate::extract::{Admitted, Authenticated, Recent, Requester};
use crate::limits::RateLimits;
use crate::routes::Object;

/// A new account.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Signup)]
pub struct SignupBody {
    /// An address such as `ann@example.com` (at most 254 characters);
    /// trimmed and lower-cased.
    #[schema(format = Email, max_length = 254, example = "ann@example.com")]
    email: String,
    /// Stored only as an Argon2id hash.
    #[schema(min_length = 8, max_length = 256, example = "correct horse battery")]
    password: String,
    /// 1–64 characters after trimming, no control characters; blank or
    /// null counts as absent.
    #[schema(
        max_length = 64,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$",
        example = "Ann"
    )]
    display_name: Option<String>,
}

/// Email and password.
#[derive(Deserialize, ToSchema)]
#[schema(as = Login)]
pub struct LoginBody {
    /// The account's address (must be one, else `400`).
    #[schema(format = Email, max_length = 254, example = "ann@example.com")]
    email: String,
    /// Longer than 256 characters is refused before any hashing.
    #[schema(max_length = 256, example = "correct horse battery")]
    password: String,
}

/// A new password, and the current one when the account has one.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SetPassword)]
pub struct SetPasswordBody {
    /// Stored only as an Argon2id hash.
    #[schema(min_length = 8, max_length = 256, example = "correct horse battery")]
    password: String,
    /// Required when the account has a password already (ignored when it
    /// has none, e.g. after signing up with a passkey).
    #[schema(max_length = 256, example = "the old password")]
    current_password: Option<String>,
}

/// A session body; tokens are never cached.
pub(crate) fn session_response(
    mut response: actix_web::HttpResponseBuilder,
    session: &Session,
) -> HttpResponse {
    response
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(SessionBody::from(session))
}

/// Creates an account and signs it in.
#[utoipa::path(
    post,
    path = "/api/auth/signup",
    operation_id = "signup",
    tag = "accounts",
    request_body = SignupBody,
    responses(
        (status = 201, description = "The account, signed in", body = SessionBody,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = answers::BAD_BODY, body = ErrorBody),
        (status = 409, description = "`EMAIL_TAKEN`: the email is already in use",
            body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 429, description = answers::RATE_LIMITED, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn signup<D: Deps>(
    _admitted: Admitted,
    requester: Requester,
    app: web::Data<App<D>>,
    body: web::Json<Object<SignupBody>>,
) -> Result<HttpResponse, ApiError> {
    let Object(SignupBody {
        email,
        password,
        display_name,
    }) = body.into_inner();
    let session = app
        .signup(
            Signup {
                email,
                password,
                display_name,
            },
            &requester.0,
        )
        .await?;
    Ok(session_response(HttpResponse::Created(), &session))
}

/// Password login.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    operation_id = "login",
    tag = "accounts",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = SessionBody,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = answers::BAD_BODY, body = ErrorBody),
        (status = 401, description = "`INVALID_CREDENTIALS`: wrong email or password (the same \
            answer for both)", body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 429, description = answers::RATE_LIMITED, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn login<D: Deps>(
    _admitted: Admitted,
    requester: Requester,
    app: web::Data<App<D>>,
    limits: web::Data<RateLimits>,
    body: web::Json<Object<LoginBody>>,
) -> Result<HttpResponse, ApiError> {
    let Object(LoginBody { email, password }) = body.into_inner();
    limits.check_account(&email)?;
    let session = app.login(&email, password, &requester.0).await?;
    Ok(session_response(HttpResponse::Ok(), &session))
}

/// The signed-in user and how many passkeys they have.
#[utoipa::path(
    get,
    path = "/api/auth/me",
    operation_id = "me",
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = MeBody),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn me<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
) -> Result<HttpResponse, ApiError> {
    let me = app.me(auth.user_id).await?;
    Ok(HttpResponse::Ok().json(MeBody {
        passkey_count: me.passkey_count,
        has_password: me.has_password,
        user: UserBody::from(&me.user),
    }))
}

/// Paging through the security log.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events on the page (20 when absent).
    #[param(minimum = 1, maximum = 100, nullable = false)]
    limit: Option<u32>,
    /// The `nextBefore` of the previous page: only older events.
    #[param(format = Uuid, nullable = false)]
    before: Option<String>,
}

/// Events on one page unless the client asks for another size.
pub(crate) const DEFAULT_AUDIT_PAGE: u32 = 20;

/// The caller's own security log, newest first.
///
/// `nextBefore` (the last event's id) fetches the next page; it is null on
/// the last page.
#[utoipa::path(
    get,
    path = "/api/auth/audit",
    operation_id = "audit",
    tag = "accounts",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 400, description = "`VALIDATION_FAILED`: `limit` is not 1–100 or `before` is \
            not an event id", body = ErrorBody),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn audit<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_PAGE);
    let events = app
        .audit_events(auth.user_id, query.before.as_deref(), limit)
        .await?;
    let next_before = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.id.to_string()))
        .flatten();
    let events: Vec<AuditEventBody> = events.iter().map(AuditEventBody::from).collect();
    Ok(HttpResponse::Ok().json(AuditPage {
        events,
        next_before,
    }))
}

/// Sets or changes the caller's password.
///
/// An account without a password (signed up with a passkey) sends only
/// `password`; an account with one sends `currentPassword` too.
#[utoipa::path(
    put,
    path = "/api/auth/password",
    operation_id = "setPassword",
    tag = "accounts",
    security(("bearer" = [])),
    request_body = SetPasswordBody,
    responses(
        (status = 204, description = "The password is set; password login works with it"),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not the documented \
            shape, or the new password is not 8–256 characters", body = ErrorBody),
        (status = 401, description = "`UNAUTHORIZED` / `TOKEN_EXPIRED`: as for every bearer \
            call; `INVALID_CREDENTIALS`: the account has a password and `currentPassword` is \
            missing or wrong", body = ErrorBody),
        (status = 403, description = answers::REAUTHENTICATE, body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 429, description = answers::RATE_LIMITED, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn set_password<D: Deps>(
    _admitted: Admitted,
    Recent(auth): Recent<D>,
    requester: Requester,
    app: web::Data<App<D>>,
    body: web::Json<Object<SetPasswordBody>>,
) -> Result<HttpResponse, ApiError> {
    let Object(SetPasswordBody {
        password,
        current_password,
    }) = body.into_inner();
    app.set_password(auth.user_id, password, current_password, &requester.0)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
