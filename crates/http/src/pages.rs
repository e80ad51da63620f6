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

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpResponse, HttpResponseBuilder, Resource, web};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

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

/// Registers the pages and their assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Hash the assets now rather than on the first request.
    LazyLock::force(&SITE);
    cfg.service(get_or_head("/", home))
        .service(page("/login", Page::Login))
        .service(page("/signup", Page::Signup))
        .service(page("/settings/security/passkeys", Page::Passkeys))
        .service(get_or_head("/assets/{file}", asset));
}

/// A resource answering GET and HEAD with `handler`, and
/// `405 METHOD_NOT_ALLOWED` otherwise (as the API's routes do).
fn get_or_head<F, Args>(path: &str, handler: F) -> Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::MethodNotAllowed)
        }))
}

fn page(path: &str, page: Page) -> Resource {
    get_or_head(path, move || async move { html(page) })
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

async fn home() -> HttpResponse {
    secured(HttpResponse::Found())
        .insert_header((header::LOCATION, LOGIN_PATH))
        .insert_header(no_store())
        .finish()
}

async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
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
