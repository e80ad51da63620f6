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

use std::fmt;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, Resource, Route, web};
use monetro_app::Deps;
use serde::Deserialize;
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};

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
            .app_data(web::PathConfig::default().error_handler(|e, _| {
                let message = match e {
                    PathError::Deserialize(e) => format!("invalid path: {e}"),
                    _ => "invalid path".into(),
                };
                ApiError::validation(message).into()
            }))
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                let message = match e {
                    QueryPayloadError::Deserialize(e) => format!("invalid query: {e}"),
                    _ => "invalid query".into(),
                };
                ApiError::validation(message).into()
            }));
        register(cfg, table::<D>());
    }
}

/// One resource per path with its routes; other methods answer `405` with
/// `Allow` naming the path's methods.
pub(crate) fn register(cfg: &mut web::ServiceConfig, table: Vec<(Method, &'static str, Route)>) {
    let mut paths: Vec<(&'static str, Vec<Method>, Vec<Route>)> = Vec::new();
    for (method, path, route) in table {
        let route = route.method(method.clone());
        match paths.iter_mut().find(|(known, _, _)| *known == path) {
            Some((_, methods, routes)) => {
                methods.push(method);
                routes.push(route);
            }
            None => paths.push((path, vec![method], vec![route])),
        }
    }
    for (path, methods, routes) in paths {
        let resource = resource(path, &methods);
        cfg.service(routes.into_iter().fold(resource, Resource::route));
    }
}

/// The largest request body accepted, in bytes.
pub struct BodyLimit(pub usize);

/// A resource that answers `405 METHOD_NOT_ALLOWED`, with `Allow`
/// listing `methods`, for the methods it lacks.
pub(crate) fn resource(path: &str, methods: &[Method]) -> Resource {
    let allow = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move { Err::<String, _>(ApiError::MethodNotAllowed { allow }) }
    }))
}

/// `404 NOT_FOUND` for a path no route matches.
pub async fn not_found() -> Result<String, ApiError> {
    Err(ApiError::NotFound)
}

/// A request body that may be absent (empty or only white space: the
/// defaults) or a JSON object of `T`'s shape.
/// A body announced larger than the limit is refused before it is read.
pub async fn optional_body<T: DeserializeOwned + Default>(
    request: &HttpRequest,
    payload: web::Payload,
    limit: &BodyLimit,
) -> Result<T, ApiError> {
    let too_large = ApiError::PayloadTooLarge { limit: limit.0 };
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<usize>().ok());
    if announced.is_some_and(|length| length > limit.0) {
        return Err(too_large);
    }
    let body = payload
        .to_bytes_limited(limit.0)
        .await
        .map_err(|_| too_large)?
        .map_err(|_| ApiError::validation(UNREADABLE_BODY))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if !is_json(request) {
        return Err(ApiError::validation(NOT_JSON));
    }
    serde_json::from_slice::<Object<T>>(&body)
        .map(|Object(body)| body)
        .map_err(|e| ApiError::validation(invalid_body(&e)))
}

/// A request body that must be a JSON object. Serde alone would also read a
/// struct from an array of its members' values (`["ann@example.com", …]`),
/// which is not the documented shape. A member name that appears twice in
/// any object of the body is refused too: which of the two counts would
/// depend on the parser (I-JSON, RFC 7493, forbids duplicates).
pub struct Object<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Object<T> {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        match deserializer.deserialize_any(UniqueMembers)? {
            Value::Object(members) => T::deserialize(Value::Object(members))
                .map(Self)
                .map_err(De::Error::custom),
            _ => Err(De::Error::custom("the body must be a JSON object")),
        }
    }
}

/// Reads any JSON value, refusing objects with a member name twice.
struct UniqueMembers;

impl<'de> DeserializeSeed<'de> for UniqueMembers {
    type Value = Value;

    fn deserialize<De: Deserializer<'de>>(self, deserializer: De) -> Result<Value, De::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueMembers {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = items.next_element_seed(UniqueMembers)? {
            values.push(value);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(name) = members.next_key::<String>()? {
            if object.contains_key(&name) {
                return Err(A::Error::custom(format_args!("duplicate member `{name}`")));
            }
            let value = members.next_value_seed(UniqueMembers)?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

/// What a client is told about a body that is not the documented JSON:
/// serde's words, without the names of Rust structs they may mention
/// ("expected struct CredProps" becomes "expected an object"), and bounded,
/// since they may quote the body.
pub(crate) fn invalid_body(error: &serde_json::Error) -> String {
    const MAX_CHARS: usize = 200;
    let text = error.to_string();
    let mut words: Vec<String> = Vec::new();
    let mut rest = text.split(' ');
    while let Some(word) = rest.next() {
        if word != "struct" {
            words.push(word.to_owned());
            continue;
        }
        while matches!(
            words.last().map(String::as_str),
            Some("tuple" | "unit" | "newtype")
        ) {
            words.pop();
        }
        let name = rest.next().unwrap_or_default();
        let punctuation = name.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
        words.push(format!("an object{punctuation}"));
    }
    let message = format!("invalid body: {}", words.join(" "));
    if message.chars().count() <= MAX_CHARS {
        return message;
    }
    message.chars().take(MAX_CHARS).chain(['…']).collect()
}

/// What a client is told when its body is not said to be JSON.
pub(crate) const NOT_JSON: &str = "Content-Type must be application/json";

/// What a client is told when its body could not be read to its end.
pub(crate) const UNREADABLE_BODY: &str = "the request body was not received completely and in time";

/// Whether a request says its body is JSON: `application/json`, or any
/// type whose subtype is `json` or ends in `+json`, as actix-web's `Json`
/// extractor accepts. A `charset` parameter changes nothing: JSON is UTF-8
/// (RFC 8259).
pub(crate) fn is_json(request: &HttpRequest) -> bool {
    use actix_web::HttpMessage as _;
    matches!(request.mime_type(), Ok(Some(mime))
        if mime.subtype() == "json" || mime.suffix().is_some_and(|suffix| suffix == "json"))
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
                JsonPayloadError::ContentType => ApiError::validation(NOT_JSON),
                JsonPayloadError::Deserialize(e) => ApiError::validation(invalid_body(e)),
                _ => ApiError::validation(UNREADABLE_BODY),
            };
            answer.into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Inner {
        a: u8,
    }

    #[derive(Deserialize)]
    struct Outer {
        inner: Inner,
        kind: Kind,
        pair: Option<(u8, u8)>,
        wrapped: Option<Wrapped>,
    }

    #[derive(Deserialize)]
    struct Wrapped(u8, u8);

    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        One,
    }

    fn parse(json: &str) -> Result<Outer, serde_json::Error> {
        serde_json::from_str::<Object<Outer>>(json).map(|Object(outer)| outer)
    }

    fn message(json: &str) -> String {
        invalid_body(&parse(json).err().unwrap())
    }

    #[test]
    fn a_good_body_reads() {
        let outer = parse(
            r#"{"inner": {"a": 1}, "kind": "one", "pair": [1, 2], "wrapped": [3, 4], "x": 0}"#,
        )
        .unwrap();
        assert_eq!(outer.inner.a, 1);
        assert!(matches!(outer.kind, Kind::One));
        assert_eq!(outer.pair, Some((1, 2)));
        assert!(matches!(outer.wrapped, Some(Wrapped(3, 4))));
    }

    #[test]
    fn messages_name_no_rust_types() {
        for (json, expected) in [
            (r#"{"inner": 5, "kind": "one"}"#, "expected an object"),
            (
                r#"{"inner": {"a": 1}, "kind": "one", "pair": [1, 2], "wrapped": "x"}"#,
                "expected an object",
            ),
            (
                r#"{"inner": {"a": 1}, "kind": "two"}"#,
                "unknown variant `two`, expected `one`",
            ),
            (
                r#"{"inner": {"a": 1}, "kind": "one", "pair": 5}"#,
                "expected a tuple of size 2",
            ),
            (r#"{"inner": {"a": "x"}, "kind": "one"}"#, "expected u8"),
        ] {
            let message = message(json);
            assert!(message.contains(expected), "{json}: {message}");
            for internal in ["Inner", "Kind", "Outer", "struct", "enum", "::"] {
                assert!(!message.contains(internal), "{json}: {message}");
            }
        }
    }

    #[test]
    fn messages_are_bounded() {
        let json = format!(r#"{{"inner": "{}", "kind": "one"}}"#, "x".repeat(10_000));
        let message = message(&json);
        assert!(message.chars().count() <= 201, "{message}");
        assert!(message.ends_with('…'));
    }

    #[test]
    fn a_member_twice_is_refused_at_any_depth() {
        for json in [
            r#"{"inner": {"a": 1}, "inner": {"a": 2}, "kind": "one"}"#,
            r#"{"inner": {"a": 1, "a": 2}, "kind": "one"}"#,
            r#"{"inner": {"a": 1}, "kind": "one", "x": [{"b": 1, "b": 1}]}"#,
        ] {
            assert!(message(json).contains("duplicate member"), "{json}");
        }
    }

    #[test]
    fn the_body_must_be_an_object() {
        for json in [r#"[{"a": 1}, "one", null]"#, "null", "5", r#""one""#] {
            assert!(message(json).contains("must be a JSON object"), "{json}");
        }
    }
}
