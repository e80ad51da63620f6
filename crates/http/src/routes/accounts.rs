//! Sign-up, password login and the signed-in user.

use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use monetro_app::{App, Deps, Session, Signup};
use serde::Deserialize;
use serde_json::json;

use crate::dto::{AuditEventBody, SessionBody, UserBody};
use crate::error::ApiError;
use crate::extract::{Admitted, Authenticated, Requester};
use crate::limits::RateLimits;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignupBody {
    email: String,
    password: String,
    display_name: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
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

pub async fn signup<D: Deps>(
    _admitted: Admitted,
    requester: Requester,
    app: web::Data<App<D>>,
    body: web::Json<SignupBody>,
) -> Result<HttpResponse, ApiError> {
    let SignupBody {
        email,
        password,
        display_name,
    } = body.into_inner();
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

pub async fn login<D: Deps>(
    _admitted: Admitted,
    requester: Requester,
    app: web::Data<App<D>>,
    limits: web::Data<RateLimits>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let LoginBody { email, password } = body.into_inner();
    limits.check_account(&email)?;
    let session = app.login(&email, password, &requester.0).await?;
    Ok(session_response(HttpResponse::Ok(), &session))
}

pub async fn me<D: Deps>(
    app: web::Data<App<D>>,
    auth: Authenticated<D>,
) -> Result<HttpResponse, ApiError> {
    let (user, passkey_count) = app.me(auth.user_id).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "user": UserBody::from(&user), "passkeyCount": passkey_count })))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    limit: Option<u32>,
    before: Option<String>,
}

/// Events on one page unless the client asks for another size.
const DEFAULT_AUDIT_PAGE: u32 = 20;

/// The caller's own security log, newest first. `nextBefore` (the last
/// event's id) fetches the next page; it is null on the last page.
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
    Ok(HttpResponse::Ok().json(json!({ "events": events, "nextBefore": next_before })))
}
