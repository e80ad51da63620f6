//! Health, readiness, the key set, related origins and metrics.

use actix_web::{HttpResponse, web};
use monetro_app::{App, Deps};

use crate::dto::{JwksBody, RelatedOriginsBody, StatusBody};
use crate::error::{ApiError, ErrorBody, answers};
use crate::metrics::Metrics;

/// 200 while the process runs.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    responses((status = 200, description = "The process runs: `{\"status\": \"ok\"}`",
        body = StatusBody)),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusBody { status: "ok" })
}

/// 200 when the database (and the ceremony store) answers, else 503.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready: `{\"status\": \"ready\"}`", body = StatusBody),
        (status = 500, description = answers::INTERNAL, body = ErrorBody),
        (status = 503, description = answers::UNAVAILABLE, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait: `1`"))),
    )
)]
pub async fn readyz<D: Deps>(app: web::Data<App<D>>) -> Result<HttpResponse, ApiError> {
    app.ready().await?;
    Ok(HttpResponse::Ok().json(StatusBody { status: "ready" }))
}

/// The public keys that verify the service's tokens.
///
/// `kid` in a token's header names its key.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks",
    tag = "operations",
    responses((status = 200, description = "The key set", body = JwksBody,
        headers(("Cache-Control" = String, description = "`public, max-age=300`")))),
)]
pub async fn jwks<D: Deps>(app: web::Data<App<D>>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(JwksBody::from_set(app.jwks()))
}

/// The other sites allowed to use this RP ID.
///
/// WebAuthn Related Origin Requests, from `webauthn.related_origins`.
#[utoipa::path(
    get,
    path = "/.well-known/webauthn",
    operation_id = "relatedOrigins",
    tag = "operations",
    responses((status = 200, description = "`webauthn.related_origins`",
        body = RelatedOriginsBody,
        headers(("Cache-Control" = String, description = "`public, max-age=3600`")))),
)]
pub async fn related_origins(origins: web::Data<RelatedOrigins>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(RelatedOriginsBody {
            origins: origins.0.clone(),
        })
}

/// The origins served at `/.well-known/webauthn`.
pub struct RelatedOrigins(pub Vec<String>);

/// Prometheus text exposition.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses((status = 200, description = "Requests and latency by route, ceremony outcomes \
        by code, pool connections", body = String, content_type = "text/plain; version=0.0.4")),
)]
pub async fn metrics<D: Deps>(app: web::Data<App<D>>, metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render(app.pool_stats()))
}
