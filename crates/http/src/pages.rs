//! The web pages: `/login`, `/signup` and `/settings/security/passkeys`,
//! and the assets they load, all embedded in the binary and served from
//! memory. The pages are plain HTML with one ES module and one stylesheet
//! (`crates/http/pages/`); they talk to the JSON API with `fetch`.
//!
//! Asset URLs carry a hash of their content (`/assets/app.3f9c….js`), put
//! into the HTML when the pages are first built, so assets can be cached
//! for a year while the HTML itself is never stored. Every answer here
//! carries a strict Content-Security-Policy: no inline code, no `eval`,
//! same-origin connections only.

use std::sync::LazyLock;

use actix_web::http::Method;
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpResponse, HttpResponseBuilder, Resource, web};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorBody};

/// The policy of every answer of this module. Trusted Types are required
/// too: the script never assigns HTML strings to the DOM.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; \
    trusted-types 'none'";

/// Where `/` sends a browser; the login page's script forwards a signed-in
/// person (a stored token that `/api/auth/me` accepts) to their passkeys.
const LOGIN_PATH: &str = "/login";

/// A file under `pages/` served as `/assets/<stem>.<hash>.<ext>`.
struct Source {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const SOURCES: [Source; 3] = [
    Source {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../pages/app.js"),
    },
    Source {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../pages/app.css"),
    },
    Source {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../pages/icon.svg"),
    },
];

struct Asset {
    /// The content-hashed file name, e.g. `app.3f9c0a1b2c3d4e5f.js`.
    file: String,
    source: &'static Source,
}

/// The pages with their asset URLs filled in, and the assets by name.
struct Site {
    login: String,
    signup: String,
    passkeys: String,
    assets: Vec<Asset>,
}

static SITE: LazyLock<Site> = LazyLock::new(Site::build);

impl Site {
    fn build() -> Self {
        let assets: Vec<Asset> = SOURCES
            .iter()
            .map(|source| {
                let hash: String = Sha256::digest(source.body)
                    .iter()
                    .take(8)
                    .map(|byte| format!("{byte:02x}"))
                    .collect();
                let file = match source.name.rsplit_once('.') {
                    Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
                    None => format!("{}.{hash}", source.name),
                };
                Asset { file, source }
            })
            .collect();
        let page = |html: &str| {
            assets.iter().fold(html.to_owned(), |html, asset| {
                html.replace(
                    &format!("\"/assets/{}\"", asset.source.name),
                    &format!("\"/assets/{}\"", asset.file),
                )
            })
        };
        Self {
            login: page(include_str!("../pages/login.html")),
            signup: page(include_str!("../pages/signup.html")),
            passkeys: page(include_str!("../pages/passkeys.html")),
            assets,
        }
    }
}

#[derive(Clone, Copy)]
enum Page {
    Login,
    Signup,
    Passkeys,
}

/// Builds the resource serving one path of [`table`].
type Serve = fn(&'static str) -> Resource;

/// Every route of this module: its path and how to serve it (GET and HEAD,
/// `405 METHOD_NOT_ALLOWED` otherwise). It registers them ([`configure`])
/// and tells [`crate::routes::served_routes`] which routes the pages add
/// ([`served_routes`]).
fn table() -> [(&'static str, Serve); 5] {
    [
        ("/", |path| get_or_head(path, home)),
        ("/login", |path| get_or_head(path, login)),
        ("/signup", |path| get_or_head(path, signup)),
        ("/settings/security/passkeys", |path| {
            get_or_head(path, passkeys)
        }),
        ("/assets/{file}", |path| get_or_head(path, asset)),
    ]
}

/// The method and path pattern of every route of this module. Each also
/// answers HEAD, which OpenAPI implies by GET, so only GET is listed.
pub fn served_routes() -> Vec<(Method, &'static str)> {
    table()
        .into_iter()
        .map(|(path, _)| (Method::GET, path))
        .collect()
}

/// Registers the pages and their assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Hash the assets now rather than on the first request.
    LazyLock::force(&SITE);
    for (path, serve) in table() {
        cfg.service(serve(path));
    }
}

/// A resource answering GET and HEAD with `handler`, and
/// `405 METHOD_NOT_ALLOWED` otherwise (as the API's routes do).
fn get_or_head<F, Args>(path: &str, handler: F) -> Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    crate::routes::resource(path, &[Method::GET, Method::HEAD])
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
}

/// The security headers of every answer here (the service's default headers
/// add the rest; these must hold whatever they become).
fn secured(mut response: HttpResponseBuilder) -> HttpResponseBuilder {
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    response
}

fn no_store() -> CacheControl {
    CacheControl(vec![CacheDirective::NoStore])
}

fn html(page: Page) -> HttpResponse {
    let site: &'static Site = &SITE;
    let body = match page {
        Page::Login => &site.login,
        Page::Signup => &site.signup,
        Page::Passkeys => &site.passkeys,
    };
    secured(HttpResponse::Ok())
        .content_type("text/html; charset=utf-8")
        .insert_header(no_store())
        .body(body.as_str())
}

/// The entry point: on to the login page.
///
/// The login page's script forwards a signed-in person to their passkeys.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "home",
    tag = "pages",
    responses((status = 302, description = "On to the login page",
        headers(
            ("Location" = String, description = "`/login`"),
            ("Cache-Control" = String, description = "`no-store`"),
        ))),
)]
pub async fn home() -> HttpResponse {
    secured(HttpResponse::Found())
        .insert_header((header::LOCATION, LOGIN_PATH))
        .insert_header(no_store())
        .finish()
}

/// The login page: password login and passkey sign-in.
#[utoipa::path(
    get,
    path = "/login",
    operation_id = "loginPage",
    tag = "pages",
    responses((status = 200, description = "The login page: password login and passkey \
        sign-in (with passkey autofill)", body = String, content_type = "text/html",
        headers(("Cache-Control" = String, description = "`no-store`")))),
)]
pub async fn login() -> HttpResponse {
    html(Page::Login)
}

/// The sign-up page.
#[utoipa::path(
    get,
    path = "/signup",
    operation_id = "signupPage",
    tag = "pages",
    responses((status = 200, description = "The sign-up page: create an account with an \
        email and a password", body = String, content_type = "text/html",
        headers(("Cache-Control" = String, description = "`no-store`")))),
)]
pub async fn signup() -> HttpResponse {
    html(Page::Signup)
}

/// The passkey settings page.
#[utoipa::path(
    get,
    path = "/settings/security/passkeys",
    operation_id = "passkeysPage",
    tag = "pages",
    responses((status = 200, description = "The signed-in person's passkeys: add, rename \
        and remove them", body = String, content_type = "text/html",
        headers(("Cache-Control" = String, description = "`no-store`")))),
)]
pub async fn passkeys() -> HttpResponse {
    html(Page::Passkeys)
}

/// A script, stylesheet or image the pages load.
///
/// The name carries a hash of the content, so an asset is cached for good.
#[utoipa::path(
    get,
    path = "/assets/{file}",
    operation_id = "asset",
    tag = "pages",
    params(("file" = String, Path, description = "The content-hashed file name the pages \
        refer to, e.g. `app.3f9c0a1b2c3d4e5f.js`")),
    responses(
        (status = 200, description = "The asset", content(
            (String = "text/javascript"),
            (String = "text/css"),
            (String = "image/svg+xml"),
        ), headers(("Cache-Control" = String,
            description = "`public, max-age=31536000, immutable`"))),
        (status = 404, description = "`NOT_FOUND`: no asset of that name (an unhashed or \
            outdated name included)", body = ErrorBody),
    )
)]
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let site: &'static Site = &SITE;
    let asset = site
        .assets
        .iter()
        .find(|asset| asset.file == *file)
        .ok_or(ApiError::NotFound)?;
    Ok(secured(HttpResponse::Ok())
        .content_type(asset.source.content_type)
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(31_536_000),
            CacheDirective::Extension("immutable".into(), None),
        ]))
        .body(asset.source.body))
}
