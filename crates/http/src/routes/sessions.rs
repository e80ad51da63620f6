//! Sessions: refreshing tokens, signing out, the list of sessions and
//! ending one; re-authentication (step-up) within a session.

use actix_web::{HttpRequest, HttpResponse, web};
use monetro_app::{App, AuthenticationCredential, Deps, Reauthentication};
use monetro_domain::Error;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::dto::{
    AuthenticationResponseJson, OptionsEnvelope, SessionBody, SessionInfoBody, SessionListBody,
};
use crate::error::{ApiError, ErrorBody, answers};
use crate::extract::{Admitted, Authenticated, Ceremonies, Requester, Slot, bearer_token};
use crate::limits::RateLimits;
use crate::routes::accounts::session_response;
use crate::routes::{BodyLimit, Object, optional_body};

/// A refresh token.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Refresh)]
pub struct RefreshBody {
    /// The `refreshToken` of the last session body.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    refresh_token: String,
}

/// What to sign out.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(as = Logout)]
pub struct LogoutBody {
    /// The session's refresh token: ends its session without a bearer
    /// token. Absent or null: the bearer token's session ends.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    refresh_token: Option<String>,
}

/// A proof that the signed-in person is still there: exactly one of a
/// passkey assertion (after `reauthenticate-options`) or the password.
#[derive(Deserialize, ToSchema)]
#[schema(as = Reauthenticate)]
pub struct ReauthenticateBody {
    #[schema(value_type = Option<AuthenticationResponseJson>)]
    credential: Option<AuthenticationCredential>,
    /// The account's password.
    #[schema(max_length = 256, example = "correct horse battery")]
    password: Option<String>,
}

/// Trades a refresh token for new tokens.
///
/// The refresh token is single use: the answer carries the next one. A
/// refresh token that was already traded ends its whole session.
#[utoipa::path(
    post,
    path = "/api/auth/token/refresh",
    operation_id = "refreshToken",
    tag = "sessions",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "New tokens for the same session; `auth_time` is kept",
            body = SessionBody,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not the documented \
            shape, or `refreshToken` is not 43 characters of base64url", body = ErrorBody),
        (status = 401, description = "`UNAUTHORIZED`: the refresh token is unknown, expired, \
            its session ended, or it was already used (which ends the session)",
            body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 429, description = answers::RATE_LIMITED, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn refresh<D: Deps>(
    _admitted: Admitted,
    requester: Requester,
    app: web::Data<App<D>>,
    body: web::Json<Object<RefreshBody>>,
) -> Result<HttpResponse, ApiError> {
    let Object(RefreshBody { refresh_token }) = body.into_inner();
    let session = app.refresh(&refresh_token, &requester.0).await?;
    Ok(session_response(HttpResponse::Ok(), &session))
}

/// Signs out: ends a session.
///
/// With `refreshToken` in the body, its session ends and no bearer token
/// is needed (nor checked): a page whose access token expired can still
/// sign out. Otherwise the bearer token's session ends. Its access tokens
/// stop working at once. An unknown or already ended refresh token ends
/// nothing and still answers `204`.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    operation_id = "logout",
    tag = "sessions",
    // The bearer token or the body's refresh token: either signs out.
    security((), ("bearer" = [])),
    request_body = Option<LogoutBody>,
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not the documented \
            shape, or `refreshToken` is not 43 characters of base64url", body = ErrorBody),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn logout<D: Deps>(
    req: HttpRequest,
    requester: Requester,
    app: web::Data<App<D>>,
    limit: web::Data<BodyLimit>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body: LogoutBody = optional_body(&req, payload, &limit).await?;
    if let Some(refresh_token) = body.refresh_token {
        app.logout_with_refresh_token(&refresh_token, &requester.0)
            .await?;
    } else {
        let token = bearer_token(&req).ok_or(Error::Unauthorized)?;
        let verified = app.authenticate(&token).await?;
        app.logout(&verified, &requester.0).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's active sessions, most recently seen first.
#[utoipa::path(
    get,
    path = "/api/auth/sessions",
    operation_id = "listSessions",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The sessions; `current` marks the caller's",
            body = SessionListBody),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn list<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
) -> Result<HttpResponse, ApiError> {
    let sessions = app.sessions(auth.user_id).await?;
    let current = auth.token.session_id;
    Ok(HttpResponse::Ok().json(SessionListBody {
        sessions: sessions
            .iter()
            .map(|s| SessionInfoBody::new(s, current))
            .collect(),
    }))
}

/// Ends one of the caller's sessions (the current one too): its refresh
/// token and access tokens stop working.
#[utoipa::path(
    delete,
    path = "/api/auth/sessions/{id}",
    operation_id = "endSession",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The session's `id`")),
    responses(
        (status = 204, description = "Ended"),
        (status = 400, description = "`VALIDATION_FAILED`: the id is not a UUID", body = ErrorBody),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = "`SESSION_NOT_FOUND`: no such active session of the \
            caller", body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn end<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
    requester: Requester,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    app.end_session(auth.user_id, &id, &requester.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Request options for re-authenticating with one of the caller's
/// passkeys.
#[utoipa::path(
    post,
    path = "/api/auth/reauthenticate-options",
    operation_id = "reauthenticateOptions",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`PublicKeyCredentialRequestOptionsJSON` in `publicKey`: \
            `allowCredentials` lists the caller's passkeys, `userVerification` `required`",
            body = OptionsEnvelope,
            headers(("Set-Cookie" = String, description = "`monetro_ceremony` (HttpOnly): the \
                ceremony's handle, for the finish call"))),
        (status = 401, description = answers::UNAUTHORIZED, body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn reauthenticate_options<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
    ceremonies: Ceremonies,
) -> Result<HttpResponse, ApiError> {
    let (handle, options) = app.start_reauthentication(auth.user_id).await?;
    ceremonies.remember(Slot::Reauthentication, &handle)?;
    Ok(HttpResponse::Ok().json(OptionsEnvelope {
        public_key: options,
    }))
}

/// Re-authenticates within the current session (step-up).
///
/// With a user-verified assertion of one of the caller's passkeys (after
/// `reauthenticate-options`), or the account's password. The answer's
/// tokens carry a fresh `auth_time`; the session's previous refresh token
/// is rotated out.
#[utoipa::path(
    post,
    path = "/api/auth/reauthenticate",
    operation_id = "reauthenticate",
    tag = "sessions",
    security(("bearer" = [])),
    request_body = ReauthenticateBody,
    responses(
        (status = 200, description = "Re-authenticated: new tokens for the same session",
            body = SessionBody,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "`VALIDATION_FAILED`: the body is not the documented \
            shape (exactly one of `credential` and `password`); `CHALLENGE_NOT_FOUND`: no live \
            re-authentication ceremony of the caller in the cookie; `CHALLENGE_EXPIRED`: the \
            ceremony is older than its TTL", body = ErrorBody),
        (status = 401, description = "`UNAUTHORIZED` / `TOKEN_EXPIRED`: as for every bearer \
            call; `AUTHENTICATION_FAILED`: the assertion did not verify (user verification \
            included) or is not of the caller's passkeys; `INVALID_CREDENTIALS`: wrong \
            password, or the account has none", body = ErrorBody),
        (status = 404, description = "`PASSKEY_NOT_FOUND` (`Unknown Passkey`): the credential \
            id is not stored; `credentialId` and `rpId` are set", body = ErrorBody),
        (status = 413, description = answers::TOO_LARGE, body = ErrorBody),
        (status = 429, description = answers::RATE_LIMITED, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn reauthenticate<D: Deps>(
    _admitted: Admitted,
    auth: Authenticated<D>,
    requester: Requester,
    app: web::Data<App<D>>,
    limits: web::Data<RateLimits>,
    ceremonies: Ceremonies,
    body: web::Json<Object<ReauthenticateBody>>,
) -> Result<HttpResponse, ApiError> {
    let Object(body) = body.into_inner();
    let proof = match (body.credential, body.password) {
        (Some(credential), None) => Reauthentication::Passkey(credential),
        (None, Some(password)) => {
            // Password guesses count against the account, as logins do.
            limits.check_account(&auth.user_id.to_string())?;
            Reauthentication::Password(password)
        }
        _ => {
            return Err(ApiError::validation(
                "send exactly one of credential and password",
            ));
        }
    };
    let handle = ceremonies.handle(Slot::Reauthentication);
    let session = app
        .reauthenticate(&auth.token, proof, handle.as_ref(), &requester.0)
        .await?;
    Ok(session_response(HttpResponse::Ok(), &session))
}
