//! Health, readiness and the key set.

use actix_web::{HttpResponse, web};
use monetro_app::{App, Deps};
use serde_json::json;

use crate::error::ApiError;
use crate::metrics::Metrics;

/// 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// 200 when the database answers, else 503.
pub async fn readyz<D: Deps>(app: web::Data<App<D>>) -> Result<HttpResponse, ApiError> {
    app.ready().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

pub async fn jwks<D: Deps>(app: web::Data<App<D>>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(app.jwks())
}

/// WebAuthn Related Origin Requests: the other sites allowed to use this
/// RP ID (from configuration).
pub async fn related_origins(origins: web::Data<RelatedOrigins>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(json!({ "origins": origins.0 }))
}

/// The origins served at `/.well-known/webauthn`.
pub struct RelatedOrigins(pub Vec<String>);

/// Prometheus text exposition.
pub async fn metrics<D: Deps>(app: web::Data<App<D>>, metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render(app.pool_stats()))
}
