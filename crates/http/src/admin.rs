//! The admin API: operators look accounts up, see their passkeys,
//! sessions and security log, remove passkeys and end sessions. It is served on its own listener
//! (`admin.bind`, see [`crate::startup`]), never on the public one, and
//! every request on that listener needs the configured admin token, checked
//! before routing, so even unknown paths answer `401` without it.
//!
//! Its routes have their own table ([`served_routes`]) and their own
//! OpenAPI document (`GET /admin/api/openapi.json`, [`AdminApiDoc`]); the
//! public document does not list them.

use std::future::Future;
use std::sync::LazyLock;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError as _, Route, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use monetro_app::{AdminUser, App, Deps, Removal};
use monetro_domain::Error;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tracing_actix_web::RequestId;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::config::AdminConfig;
use crate::dto::{
    AuditEventBody, AuditPage, PasskeyBody, PasskeyListBody, SessionInfoBody, SessionListBody,
    UserBody,
};
use crate::error::{ApiError, ErrorBody, answers};
use crate::extract::{Requester, client_ip};
use crate::routes::accounts::DEFAULT_AUDIT_PAGE;

/// The configured admin token, kept only as its SHA-256 digest.
#[derive(Clone)]
pub struct AdminToken([u8; 32]);

impl AdminToken {
    /// The token of `config`, or why the admin API cannot start with it.
    pub fn from_config(config: &AdminConfig) -> anyhow::Result<Self> {
        let token = config.token.as_ref().map(SecretString::expose_secret);
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        let Some(token) = token else {
            anyhow::bail!(
                "admin.bind is set but admin.token is not: set MONETRO__ADMIN__TOKEN to a \
                 random string of at least {} characters, or unset admin.bind",
                AdminConfig::MIN_TOKEN_LEN
            );
        };
        anyhow::ensure!(
            token.chars().count() >= AdminConfig::MIN_TOKEN_LEN,
            "admin.token must be at least {} characters",
            AdminConfig::MIN_TOKEN_LEN
        );
        Ok(Self(Sha256::digest(token.as_bytes()).into()))
    }

    /// Whether `presented` is the token. Digests of equal length are
    /// compared without an early exit, so the time taken tells nothing
    /// about how much of a guess was right.
    fn accepts(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        presented
            .iter()
            .zip(self.0.iter())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
    }
}

/// Lets a request through to the admin routes only with
/// `Authorization: Bearer <admin token>`; otherwise answers
/// `401 UNAUTHORIZED` with the contract's error body.
pub fn require_token<S, B>(
    token: &AdminToken,
    request: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let authorized = bearer(request.request()).is_some_and(|presented| token.accepts(presented));
    let outcome = if authorized {
        Ok(service.call(request))
    } else {
        tracing::warn!(
            request_id = %request_id(request.request()),
            client = %client_ip(request.request()),
            path = request.path(),
            "admin request refused: admin token missing or wrong"
        );
        let refusal = ApiError::from(Error::Unauthorized).error_response();
        Err(request.into_response(refusal))
    };
    async move {
        match outcome {
            Ok(call) => call.await.map(ServiceResponse::map_into_left_body),
            Err(refusal) => Ok(refusal.map_into_right_body()),
        }
    }
}

fn bearer(request: &HttpRequest) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

fn request_id(request: &HttpRequest) -> String {
    use actix_web::HttpMessage as _;
    request
        .extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Every admin route for an app over `D`: method, path pattern, handler.
fn table<D: Deps>() -> Vec<(Method, &'static str, Route)> {
    vec![
        (Method::GET, "/admin/api/openapi.json", web::to(document)),
        (Method::GET, "/admin/api/users", web::to(find_user::<D>)),
        (Method::GET, "/admin/api/users/{id}", web::to(user::<D>)),
        (
            Method::GET,
            "/admin/api/users/{id}/passkeys",
            web::to(passkeys::<D>),
        ),
        (
            Method::DELETE,
            "/admin/api/users/{id}/passkeys/{passkeyId}",
            web::to(remove_passkey::<D>),
        ),
        (
            Method::GET,
            "/admin/api/users/{id}/audit",
            web::to(audit::<D>),
        ),
        (
            Method::GET,
            "/admin/api/users/{id}/sessions",
            web::to(sessions::<D>),
        ),
        (
            Method::DELETE,
            "/admin/api/users/{id}/sessions",
            web::to(end_sessions::<D>),
        ),
        (
            Method::DELETE,
            "/admin/api/users/{id}/sessions/{sessionId}",
            web::to(end_session::<D>),
        ),
    ]
}

/// The method and path pattern of every admin route (the production
/// wiring), for the test that compares them with the admin document.
pub fn served_routes() -> Vec<(Method, &'static str)> {
    table::<crate::startup::ServiceDeps>()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect()
}

/// Registers the admin routes for an app over `D`; a path's missing
/// methods answer `405`, malformed paths and queries `400`.
pub fn configure<D: Deps>() -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(
            web::PathConfig::default()
                .error_handler(|e, _| ApiError::validation(e.to_string()).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| ApiError::validation(e.to_string()).into()),
        );
        crate::routes::register(cfg, table::<D>());
    }
}

/// An account as an operator sees it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AdminUser)]
pub struct AdminUserBody {
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    created_at: String,
    /// Whether the account can sign in with a password; without one, its
    /// last passkey is its last way to sign in.
    has_password: bool,
    passkey_count: u64,
    user: UserBody,
}

impl From<&AdminUser> for AdminUserBody {
    fn from(account: &AdminUser) -> Self {
        Self {
            created_at: account
                .user
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            has_password: account.has_password,
            passkey_count: account.passkey_count,
            user: UserBody::from(&account.user),
        }
    }
}

/// Which account to find.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindQuery {
    /// The account's address; trimmed and lower-cased before the lookup.
    #[param(example = "ann@example.com")]
    email: String,
}

/// Whether to remove the last way to sign in too.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveQuery {
    /// `true`: remove the passkey even when it is the last way to sign in
    /// to an account without a password. Absent or `false`: such a removal
    /// answers `409 LAST_CREDENTIAL`.
    #[param(nullable = false)]
    force: Option<bool>,
}

/// Paging through an account's security log.
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

const USER_ID: &str = "The account's `id` (a UUID)";

/// Finds the account with an email.
#[utoipa::path(
    get,
    path = "/admin/api/users",
    operation_id = "adminFindUser",
    tag = "admin",
    security(("adminToken" = [])),
    params(FindQuery),
    responses(
        (status = 200, description = "The account", body = AdminUserBody),
        (status = 400, description = "`VALIDATION_FAILED`: `email` is missing or not an address",
            body = ErrorBody),
        (status = 401, description = ADMIN_UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`: no account has this email",
            body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn find_user<D: Deps>(
    app: web::Data<App<D>>,
    request_id: RequestId,
    query: web::Query<FindQuery>,
) -> Result<HttpResponse, ApiError> {
    let account = app.admin_find_user(&query.email).await?;
    tracing::info!(%request_id, user = %account.user.id, "admin: user found by email");
    Ok(HttpResponse::Ok().json(AdminUserBody::from(&account)))
}

/// One account.
#[utoipa::path(
    get,
    path = "/admin/api/users/{id}",
    operation_id = "adminGetUser",
    tag = "admin",
    security(("adminToken" = [])),
    params(("id" = String, Path, format = Uuid, description = USER_ID)),
    responses(
        (status = 200, description = "The account", body = AdminUserBody),
        (status = 400, description = "`VALIDATION_FAILED`: the id is not a UUID",
            body = ErrorBody),
        (status = 401, description = ADMIN_UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`: no such account", body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn user<D: Deps>(
    app: web::Data<App<D>>,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let account = app.admin_user(&id).await?;
    tracing::info!(%request_id, user = %account.user.id, "admin: user read");
    Ok(HttpResponse::Ok().json(AdminUserBody::from(&account)))
}

/// An account's passkeys, newest first (the shape of the user's own list).
#[utoipa::path(
    get,
    path = "/admin/api/users/{id}/passkeys",
    operation_id = "adminListPasskeys",
    tag = "admin",
    security(("adminToken" = [])),
    params(("id" = String, Path, format = Uuid, description = USER_ID)),
    responses(
        (status = 200, description = "The account's passkeys", body = PasskeyListBody),
        (status = 400, description = "`VALIDATION_FAILED`: the id is not a UUID",
            body = ErrorBody),
        (status = 401, description = ADMIN_UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`: no such account", body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn passkeys<D: Deps>(
    app: web::Data<App<D>>,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let list = app.admin_passkeys(&id).await?;
    tracing::info!(%request_id, user = %id, count = list.passkeys.len(), "admin: passkeys listed");
    let passkeys: Vec<PasskeyBody> = list.passkeys.iter().map(PasskeyBody::from).collect();
    Ok(HttpResponse::Ok().json(PasskeyListBody {
        passkeys,
        rp_id: list.rp_id,
        user_handle: URL_SAFE_NO_PAD.encode(list.user_handle.as_bytes()),
    }))
}

/// Removes one of an account's passkeys.
///
/// Recorded in the account's security log as `passkey.removed_by_admin`,
/// with the operator's address and user agent. The last way to sign in to
/// an account without a password stays unless `force=true`.
#[utoipa::path(
    delete,
    path = "/admin/api/users/{id}/passkeys/{passkeyId}",
    operation_id = "adminRemovePasskey",
    tag = "admin",
    security(("adminToken" = [])),
    params(
        ("id" = String, Path, format = Uuid, description = USER_ID),
        ("passkeyId" = String, Path, format = Uuid, description = "The passkey's `id`"),
        RemoveQuery,
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "`VALIDATION_FAILED`: an id is not a UUID, or `force` is \
            not `true` or `false`", body = ErrorBody),
        (status = 401, description = ADMIN_UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`: no such account; \
            `PASSKEY_NOT_FOUND`: no such passkey of this account", body = ErrorBody),
        (status = 409, description = "`LAST_CREDENTIAL`: without `force=true`, the account has \
            no password and this is its only passkey; nothing was removed", body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn remove_passkey<D: Deps>(
    app: web::Data<App<D>>,
    request_id: RequestId,
    requester: Requester,
    path: web::Path<(String, String)>,
    query: web::Query<RemoveQuery>,
) -> Result<HttpResponse, ApiError> {
    let (user_id, passkey_id) = path.into_inner();
    let force = query.force.unwrap_or(false);
    let removal = if force {
        Removal::Forced
    } else {
        Removal::Guarded
    };
    let outcome = app
        .admin_remove_passkey(&user_id, &passkey_id, removal, &requester.0)
        .await;
    match &outcome {
        Ok(()) => tracing::info!(
            %request_id, user = %user_id, passkey = %passkey_id, force,
            "admin: passkey removed"
        ),
        Err(error) => tracing::info!(
            %request_id, user = %user_id, passkey = %passkey_id, force,
            code = error.code().as_str(), "admin: passkey not removed"
        ),
    }
    outcome?;
    Ok(HttpResponse::NoContent().finish())
}

/// An account's security log, newest first, paged as the user's own.
#[utoipa::path(
    get,
    path = "/admin/api/users/{id}/audit",
    operation_id = "adminAudit",
    tag = "admin",
    security(("adminToken" = [])),
    params(("id" = String, Path, format = Uuid, description = USER_ID), AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 400, description = "`VALIDATION_FAILED`: the id is not a UUID, `limit` is not \
            1–100 or `before` is not an event id", body = ErrorBody),
        (status = 401, description = ADMIN_UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`: no such account", body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn audit<D: Deps>(
    app: web::Data<App<D>>,
    request_id: RequestId,
    id: web::Path<String>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_PAGE);
    let events = app
        .admin_audit_events(&id, query.before.as_deref(), limit)
        .await?;
    tracing::info!(%request_id, user = %id, count = events.len(), "admin: audit events read");
    let next_before = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.id.to_string()))
        .flatten();
    let events: Vec<AuditEventBody> = events.iter().map(AuditEventBody::from).collect();
    Ok(HttpResponse::Ok().json(AuditPage {
        events,
        next_before,
    }))
}

/// An account's active sessions, most recently seen first.
///
/// The shape of the user's own list; `current` is always `false` (the
/// operator's token belongs to no session).
#[utoipa::path(
    get,
    path = "/admin/api/users/{id}/sessions",
    operation_id = "adminListSessions",
    tag = "admin",
    security(("adminToken" = [])),
    params(("id" = String, Path, format = Uuid, description = USER_ID)),
    responses(
        (status = 200, description = "The account's active sessions", body = SessionListBody),
        (status = 400, description = "`VALIDATION_FAILED`: the id is not a UUID",
            body = ErrorBody),
        (status = 401, description = ADMIN_UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`: no such account", body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn sessions<D: Deps>(
    app: web::Data<App<D>>,
    request_id: RequestId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sessions = app.admin_sessions(&id).await?;
    tracing::info!(%request_id, user = %id, count = sessions.len(), "admin: sessions listed");
    Ok(HttpResponse::Ok().json(SessionListBody {
        sessions: sessions
            .iter()
            .map(|s| SessionInfoBody::new(s, None))
            .collect(),
    }))
}

/// Ends one of an account's sessions.
///
/// Its refresh token and access tokens stop working at once; other systems
/// get `session.revoked` with `reason` `admin`.
#[utoipa::path(
    delete,
    path = "/admin/api/users/{id}/sessions/{sessionId}",
    operation_id = "adminEndSession",
    tag = "admin",
    security(("adminToken" = [])),
    params(
        ("id" = String, Path, format = Uuid, description = USER_ID),
        ("sessionId" = String, Path, format = Uuid, description = "The session's `id`"),
    ),
    responses(
        (status = 204, description = "Ended"),
        (status = 400, description = "`VALIDATION_FAILED`: an id is not a UUID",
            body = ErrorBody),
        (status = 401, description = ADMIN_UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`: no such account; \
            `SESSION_NOT_FOUND`: no such active session of this account", body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn end_session<D: Deps>(
    app: web::Data<App<D>>,
    request_id: RequestId,
    requester: Requester,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (user_id, session_id) = path.into_inner();
    let outcome = app
        .admin_end_session(&user_id, &session_id, &requester.0)
        .await;
    match &outcome {
        Ok(()) => tracing::info!(%request_id, user = %user_id, session = %session_id,
            "admin: session ended"),
        Err(error) => tracing::info!(%request_id, user = %user_id, session = %session_id,
            code = error.code().as_str(), "admin: session not ended"),
    }
    outcome?;
    Ok(HttpResponse::NoContent().finish())
}

/// How many sessions an operator ended.
#[derive(Serialize, ToSchema)]
#[schema(as = AdminEndedSessions)]
pub struct EndedSessionsBody {
    /// The sessions that were active and are now ended (0 when none was).
    ended: u64,
}

/// Ends every active session of an account.
///
/// Signs the person out everywhere (a stolen device, a compromised
/// account); each ended session gets its `session.revoked` event.
#[utoipa::path(
    delete,
    path = "/admin/api/users/{id}/sessions",
    operation_id = "adminEndSessions",
    tag = "admin",
    security(("adminToken" = [])),
    params(("id" = String, Path, format = Uuid, description = USER_ID)),
    responses(
        (status = 200, description = "Ended; how many", body = EndedSessionsBody),
        (status = 400, description = "`VALIDATION_FAILED`: the id is not a UUID",
            body = ErrorBody),
        (status = 401, description = ADMIN_UNAUTHORIZED, body = ErrorBody),
        (status = 404, description = "`USER_NOT_FOUND`: no such account", body = ErrorBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn end_sessions<D: Deps>(
    app: web::Data<App<D>>,
    request_id: RequestId,
    requester: Requester,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ended = app.admin_end_sessions(&id, &requester.0).await?;
    tracing::info!(%request_id, user = %id, ended, "admin: all sessions ended");
    Ok(HttpResponse::Ok().json(EndedSessionsBody { ended }))
}

const ADMIN_UNAUTHORIZED: &str = "`UNAUTHORIZED`: the admin token is missing or wrong \
    (every path of the admin listener answers so without it)";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Monetro passkey service: admin API",
        version = env!("CARGO_PKG_VERSION"),
        description = "For operators, on the admin listener only (`admin.bind`), never on the \
            public one. Every request needs `Authorization: Bearer <admin.token>`. Every \
            non-2xx answer has the body `{\"error\": {\"code\", \"message\"}}`; an unknown \
            route answers `404 NOT_FOUND` and a method a route lacks `405 METHOD_NOT_ALLOWED`.",
    ),
    paths(
        find_user,
        user,
        passkeys,
        remove_passkey,
        audit,
        sessions,
        end_sessions,
        end_session,
        document
    ),
    modifiers(&AdminTokenScheme),
    tags((name = "admin", description = "Accounts, their passkeys, sessions and security log")),
)]
pub struct AdminApiDoc;

/// The `adminToken` security scheme every admin operation names.
struct AdminTokenScheme;

impl Modify for AdminTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "adminToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The configured `admin.token` (at least 32 characters). Missing or \
                         wrong: `401 UNAUTHORIZED`.",
                    ))
                    .build(),
            ),
        );
    }
}

static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(AdminApiDoc::openapi);

/// This document.
#[utoipa::path(
    get,
    path = "/admin/api/openapi.json",
    operation_id = "adminOpenapi",
    tag = "admin",
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of the admin API", body = Object),
        (status = 401, description = ADMIN_UNAUTHORIZED, body = ErrorBody),
    ),
)]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(&*DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(token: Option<&str>) -> AdminConfig {
        AdminConfig {
            bind: Some("127.0.0.1:0".into()),
            token: token.map(|t| SecretString::from(t.to_owned())),
        }
    }

    #[test]
    fn a_token_is_required_and_long_enough() {
        assert!(AdminToken::from_config(&config(None)).is_err());
        assert!(AdminToken::from_config(&config(Some("   "))).is_err());
        assert!(AdminToken::from_config(&config(Some(&"x".repeat(31)))).is_err());
        assert!(AdminToken::from_config(&config(Some(&"x".repeat(32)))).is_ok());
    }

    #[test]
    fn only_the_token_itself_is_accepted() {
        let token = "k".repeat(40);
        let admin = AdminToken::from_config(&config(Some(&token))).unwrap();
        assert!(admin.accepts(&token));
        for wrong in ["", "k", &"k".repeat(39), &"k".repeat(41), &"K".repeat(40)] {
            assert!(!admin.accepts(wrong), "{wrong:?}");
        }
    }
}
