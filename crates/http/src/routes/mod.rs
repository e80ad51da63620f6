//! The routes of the HTTP contract, and the JSON answers for everything
//! outside it (unknown routes, wrong methods, malformed bodies).
//!
//! One table ([`table`]) lists every route of the API: it registers them
//! and, with the web pages' own table ([`crate::pages`]), it tells the
//! OpenAPI test which routes the service serves ([`served_routes`]).

pub(crate) mod accounts;
pub(crate) mod operations;
pub(crate) mod passkeys;
pub(crate) mod sessions;

pub use operations::RelatedOrigins;

use actix_web::error::JsonPayloadError;
use actix_web::http::Method;
use actix_web::{HttpRequest, Resource, Route, web};
use monetro_app::Deps;
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _};

use crate::error::ApiError;
use crate::openapi;

/// Every route of the API for an app over `D`: method, path pattern and
/// handler. A path may appear with several methods.
fn table<D: Deps>() -> Vec<(Method, &'static str, Route)> {
    vec![
        (Method::GET, "/healthz", web::to(operations::healthz)),
        (Method::GET, "/readyz", web::to(operations::readyz::<D>)),
        (
            Method::GET,
            "/.well-known/jwks.json",
            web::to(operations::jwks::<D>),
        ),
        (
            Method::GET,
            "/.well-known/webauthn",
            web::to(operations::related_origins),
        ),
        (Method::GET, "/metrics", web::to(operations::metrics::<D>)),
        (Method::GET, "/api/openapi.json", web::to(openapi::document)),
        (
            Method::POST,
            "/api/auth/signup",
            web::to(accounts::signup::<D>),
        ),
        (
            Method::POST,
            "/api/auth/login",
            web::to(accounts::login::<D>),
        ),
        (Method::GET, "/api/auth/me", web::to(accounts::me::<D>)),
        (
            Method::GET,
            "/api/auth/audit",
            web::to(accounts::audit::<D>),
        ),
        (
            Method::PUT,
            "/api/auth/password",
            web::to(accounts::set_password::<D>),
        ),
        (
            Method::POST,
            "/api/auth/passkey/signup-options",
            web::to(passkeys::signup_options::<D>),
        ),
        (
            Method::POST,
            "/api/auth/passkey/signup",
            web::to(passkeys::signup::<D>),
        ),
        (
            Method::GET,
            "/api/auth/passkey/register-options",
            web::to(passkeys::register_options::<D>),
        ),
        (
            Method::POST,
            "/api/auth/passkey/register-options",
            web::to(passkeys::register_options_with_hints::<D>),
        ),
        (
            Method::POST,
            "/api/auth/passkey/register",
            web::to(passkeys::register::<D>),
        ),
        (
            Method::POST,
            "/api/auth/passkey/authenticate-options",
            web::to(passkeys::authenticate_options::<D>),
        ),
        (
            Method::POST,
            "/api/auth/passkey/authenticate",
            web::to(passkeys::authenticate::<D>),
        ),
        (
            Method::GET,
            "/api/auth/passkey/list",
            web::to(passkeys::list::<D>),
        ),
        (
            Method::DELETE,
            "/api/auth/passkey/{id}",
            web::to(passkeys::delete::<D>),
        ),
        (
            Method::PATCH,
            "/api/auth/passkey/{id}",
            web::to(passkeys::rename::<D>),
        ),
        (
            Method::POST,
            "/api/auth/token/refresh",
            web::to(sessions::refresh::<D>),
        ),
        (
            Method::POST,
            "/api/auth/logout",
            web::to(sessions::logout::<D>),
        ),
        (
            Method::GET,
            "/api/auth/sessions",
            web::to(sessions::list::<D>),
        ),
        (
            Method::DELETE,
            "/api/auth/sessions/{id}",
            web::to(sessions::end::<D>),
        ),
        (
            Method::POST,
            "/api/auth/reauthenticate-options",
            web::to(sessions::reauthenticate_options::<D>),
        ),
        (
            Method::POST,
            "/api/auth/reauthenticate",
            web::to(sessions::reauthenticate::<D>),
        ),
    ]
}

/// The method and path pattern of every route the service serves (the
/// production wiring, [`crate::startup::ServiceDeps`]): the API's, then the
/// web pages'. The pages also answer HEAD wherever they answer GET; OpenAPI
/// implies HEAD by GET, so it is not listed.
pub fn served_routes() -> Vec<(Method, &'static str)> {
    table::<crate::startup::ServiceDeps>()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .chain(crate::pages::served_routes())
        .collect()
}

/// Registers every route for an app over `D`: one resource per path, which
/// answers `405 METHOD_NOT_ALLOWED` for the methods it lacks.
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
            );
        let mut paths: Vec<(&'static str, Vec<Route>)> = Vec::new();
        for (method, path, route) in table::<D>() {
            let route = route.method(method);
            match paths.iter_mut().find(|(known, _)| *known == path) {
                Some((_, routes)) => routes.push(route),
                None => paths.push((path, vec![route])),
            }
        }
        for (path, routes) in paths {
            cfg.service(routes.into_iter().fold(resource(path), Resource::route));
        }
    }
}

/// The largest request body accepted, in bytes.
pub struct BodyLimit(pub usize);

/// A resource that answers `405 METHOD_NOT_ALLOWED` for methods it lacks.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<String, _>(ApiError::MethodNotAllowed)
    }))
}

/// `404 NOT_FOUND` for a path no route matches.
pub async fn not_found() -> Result<String, ApiError> {
    Err(ApiError::NotFound)
}

/// A request body that may be absent (empty or only white space: the
/// defaults) or a JSON object of `T`'s shape.
pub async fn optional_body<T: DeserializeOwned + Default>(
    payload: web::Payload,
    limit: &BodyLimit,
) -> Result<T, ApiError> {
    let body = payload
        .to_bytes_limited(limit.0)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit: limit.0 })?
        .map_err(|e| ApiError::validation(format!("unreadable body: {e}")))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice::<Object<T>>(&body)
        .map(|Object(body)| body)
        .map_err(|e| ApiError::validation(format!("invalid body: {e}")))
}

/// A request body that must be a JSON object. Serde alone would also read a
/// struct from an array of its members' values (`["ann@example.com", …]`),
/// which is not the documented shape.
pub struct Object<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Object<T> {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        let members = serde_json::Map::deserialize(deserializer)?;
        T::deserialize(serde_json::Value::Object(members))
            .map(Self)
            .map_err(De::Error::custom)
    }
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
