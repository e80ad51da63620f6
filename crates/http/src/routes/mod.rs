//! The routes of the HTTP contract, and the JSON answers for everything
//! outside it (unknown routes, wrong methods, malformed bodies).

mod accounts;
mod operations;
mod passkeys;

pub use operations::RelatedOrigins;

use actix_web::error::JsonPayloadError;
use actix_web::{HttpRequest, Resource, web};
use monetro_app::Deps;

use crate::error::ApiError;

/// Registers every route for an app over `D`.
pub fn configure<D: Deps>(body_limit: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(json_config(body_limit))
            .app_data(web::Data::new(BodyLimit(body_limit)))
            .app_data(
                web::PathConfig::default()
                    .error_handler(|e, _| ApiError::validation(e.to_string()).into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| ApiError::validation(e.to_string()).into()),
            )
            .service(route("/healthz").get(operations::healthz))
            .service(route("/readyz").get(operations::readyz::<D>))
            .service(route("/.well-known/jwks.json").get(operations::jwks::<D>))
            .service(route("/.well-known/webauthn").get(operations::related_origins))
            .service(route("/metrics").get(operations::metrics::<D>))
            .service(route("/api/auth/signup").post(accounts::signup::<D>))
            .service(route("/api/auth/login").post(accounts::login::<D>))
            .service(route("/api/auth/me").get(accounts::me::<D>))
            .service(route("/api/auth/audit").get(accounts::audit::<D>))
            .service(
                route("/api/auth/passkey/register-options").get(passkeys::register_options::<D>),
            )
            .service(route("/api/auth/passkey/register").post(passkeys::register::<D>))
            .service(
                route("/api/auth/passkey/authenticate-options")
                    .post(passkeys::authenticate_options::<D>),
            )
            .service(route("/api/auth/passkey/authenticate").post(passkeys::authenticate::<D>))
            .service(route("/api/auth/passkey/list").get(passkeys::list::<D>))
            .service(
                route("/api/auth/passkey/{id}")
                    .route(web::delete().to(passkeys::delete::<D>))
                    .route(web::patch().to(passkeys::rename::<D>)),
            );
    }
}

/// The largest request body accepted, in bytes.
pub struct BodyLimit(pub usize);

/// A resource that answers `405 METHOD_NOT_ALLOWED` for methods it lacks.
fn route(path: &str) -> Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<String, _>(ApiError::MethodNotAllowed)
    }))
}

/// `404 NOT_FOUND` for a path no route matches.
pub async fn not_found() -> Result<String, ApiError> {
    Err(ApiError::NotFound)
}

fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |error, _: &HttpRequest| {
            let answer = match &error {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => {
                    ApiError::PayloadTooLarge { limit }
                }
                JsonPayloadError::ContentType => {
                    ApiError::validation("Content-Type must be application/json")
                }
                JsonPayloadError::Deserialize(e) => {
                    ApiError::validation(format!("invalid body: {e}"))
                }
                other => ApiError::validation(format!("unreadable body: {other}")),
            };
            answer.into()
        })
}
