//! The OpenAPI 3.1 document of the service (the API and the web pages),
//! generated from the handlers' annotations and served at
//! `GET /api/openapi.json`. The test `tests/openapi.rs` checks that it lists
//! exactly the routes of [`crate::routes::served_routes`].

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::Required;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::pages;
use crate::routes::{accounts, operations, passkeys, sessions};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Monetro passkey service",
        version = env!("CARGO_PKG_VERSION"),
        description = "Accounts, password login and passwordless sign-in with passkeys \
            (WebAuthn), issuing ES256 JWTs. Every non-2xx answer has the body \
            `{\"error\": {\"code\", \"message\"}}`; an unknown route answers \
            `404 NOT_FOUND` and a method a route lacks `405 METHOD_NOT_ALLOWED`. \
            Binary values are base64url without padding. The WebAuthn ceremonies keep \
            their state behind the `monetro_ceremony` cookie that the options call sets: \
            send it back with the finish call.",
    ),
    paths(
        accounts::signup,
        accounts::login,
        accounts::me,
        accounts::audit,
        accounts::set_password,
        passkeys::signup_options,
        passkeys::signup,
        passkeys::register_options,
        passkeys::register_options_with_hints,
        passkeys::register,
        passkeys::authenticate_options,
        passkeys::authenticate,
        passkeys::list,
        passkeys::delete,
        passkeys::rename,
        sessions::refresh,
        sessions::logout,
        sessions::list,
        sessions::end,
        sessions::reauthenticate_options,
        sessions::reauthenticate,
        operations::healthz,
        operations::readyz,
        operations::jwks,
        operations::related_origins,
        operations::metrics,
        document,
        pages::home,
        pages::login,
        pages::signup,
        pages::passkeys,
        pages::asset,
    ),
    modifiers(&BearerScheme, &OptionalBody),
    tags(
        (name = "accounts", description = "Sign-up (with a password or with a passkey), \
            password login and changes, the signed-in user and their security log"),
        (name = "passkeys", description = "Registering, listing, renaming and removing \
            passkeys, and signing in with one"),
        (name = "sessions", description = "Refresh tokens, signing out, the list of \
            sessions, and re-authentication before sensitive changes (step-up)"),
        (name = "operations", description = "Health, readiness, keys, related origins, \
            metrics and this document"),
        (name = "pages", description = "The web pages (login, sign-up, passkey settings) \
            and the assets they load; every page route also answers HEAD"),
    ),
)]
pub struct ApiDoc;

/// The `bearer` security scheme the bearer endpoints name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The ES256 token of signup, login, passkey sign-in, refresh or \
                         re-authentication. Missing, malformed or badly signed, or its \
                         session ended: `401 UNAUTHORIZED`; past `exp`: \
                         `401 TOKEN_EXPIRED`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Sign-in options take an optional body. utoipa says "optional" only of an
/// `Option` body, which would also document a `null` body (refused, as any
/// body that is not an object): the body is documented as the object and
/// marked not required here.
struct OptionalBody;

impl Modify for OptionalBody {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let body = openapi
            .paths
            .paths
            .get_mut("/api/auth/passkey/authenticate-options")
            .and_then(|item| item.post.as_mut())
            .and_then(|operation| operation.request_body.as_mut());
        if let Some(body) = body {
            body.required = Some(Required::False);
        }
    }
}

static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of the API",
        body = Object)),
)]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(&*DOCUMENT)
}
