//! The web pages as HTTP sees them: routes, content types, the security
//! headers, the assets the HTML refers to, and no inline code anywhere (the
//! browser tests in `e2e/` cover what the pages do).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Backend, TestApp};
use reqwest::header::HeaderMap;
use reqwest::{Method, Response, StatusCode};

const PAGES: [&str; 3] = ["/login", "/signup", "/settings/security/passkeys"];

async fn app() -> TestApp {
    common::spawn(Backend::Sqlite).await.unwrap()
}

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(app: &TestApp, path: &str) -> Response {
    client()
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The security headers every page answer carries.
fn assert_secured(headers: &HeaderMap, what: &str) {
    let csp = header(headers, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.split(';').any(|d| d.trim() == directive),
            "{what}: CSP lacks {directive:?}: {csp}"
        );
    }
    assert!(
        !csp.contains("unsafe-"),
        "{what}: CSP allows unsafe code: {csp}"
    );
    assert_eq!(
        header(headers, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(header(headers, "referrer-policy"), "no-referrer", "{what}");
}

/// The values of `attribute` in `html` (double-quoted, as the pages write them).
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// The asset URLs a page refers to.
fn assets_of(html: &str) -> Vec<&str> {
    let mut urls: Vec<&str> = attribute_values(html, "src")
        .into_iter()
        .chain(attribute_values(html, "href"))
        .filter(|url| url.starts_with("/assets/"))
        .collect();
    urls.sort_unstable();
    urls.dedup();
    urls
}

/// The text inside each `<tag …>` of `html`.
fn tags(html: &str) -> impl Iterator<Item = &str> {
    html.split('<')
        .skip(1)
        .map(|chunk| &chunk[..chunk.find('>').unwrap_or(chunk.len())])
}

async fn page_html(app: &TestApp, path: &str) -> String {
    let response = get(app, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn every_page_is_html_with_a_strict_policy_and_never_stored() {
    let app = app().await;
    for path in PAGES {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert_eq!(
            header(headers, "content-type"),
            "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(header(headers, "cache-control"), "no-store", "{path}");
        assert_secured(headers, path);
        let html = response.text().await.unwrap();
        assert!(html.starts_with("<!doctype html>"), "{path}");
        // Query strings (the login page's `?expired`) reach the page too.
        let response = get(&app, &format!("{path}?expired")).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}?expired");
    }
}

#[tokio::test]
async fn the_root_redirects_to_the_login_page() {
    let app = app().await;
    let response = get(&app, "/").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(header(response.headers(), "location"), "/login");
    assert_eq!(header(response.headers(), "cache-control"), "no-store");
    assert_secured(response.headers(), "/");
}

#[tokio::test]
async fn head_is_answered_and_other_methods_are_not_allowed() {
    let app = app().await;
    for path in PAGES {
        let response = client()
            .head(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "HEAD {path}");
        assert!(response.bytes().await.unwrap().is_empty(), "HEAD {path}");
        let answer = common::answer(
            client()
                .request(Method::POST, format!("{}{path}", app.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        answer.assert_error(405, "METHOD_NOT_ALLOWED");
    }
}

#[tokio::test]
async fn assets_the_pages_refer_to_are_served_content_hashed_and_cached_for_good() {
    let app = app().await;
    let mut served = Vec::new();
    for path in PAGES {
        let html = page_html(&app, path).await;
        let assets = assets_of(&html);
        assert!(
            assets.iter().any(|url| url.ends_with(".js"))
                && assets.iter().any(|url| url.ends_with(".css")),
            "{path} loads no script or stylesheet: {assets:?}"
        );
        for url in assets {
            let file = url.trim_start_matches("/assets/");
            let parts: Vec<&str> = file.split('.').collect();
            assert!(
                parts.len() == 3
                    && parts[1].len() == 16
                    && parts[1].bytes().all(|b| b.is_ascii_hexdigit()),
                "{url} is not content-hashed"
            );
            let response = get(&app, url).await;
            assert_eq!(response.status(), StatusCode::OK, "{url}");
            let headers = response.headers();
            let expected = match parts[2] {
                "js" => "text/javascript; charset=utf-8",
                "css" => "text/css; charset=utf-8",
                "svg" => "image/svg+xml",
                other => panic!("unexpected asset type {other}"),
            };
            assert_eq!(header(headers, "content-type"), expected, "{url}");
            let cache = header(headers, "cache-control");
            assert!(
                cache.contains("max-age=31536000") && cache.contains("immutable"),
                "{url}: {cache}"
            );
            assert_secured(headers, url);
            assert!(!response.bytes().await.unwrap().is_empty(), "{url}");
            served.push(url.to_owned());
        }
    }
    // The same script and stylesheet on every page.
    served.sort_unstable();
    served.dedup();
    assert_eq!(served.len(), 3, "{served:?}");
}

#[tokio::test]
async fn unknown_or_unhashed_assets_are_json_404s() {
    let app = app().await;
    for url in [
        "/assets/app.js",
        "/assets/app.0000000000000000.js",
        "/assets/nothing",
    ] {
        let answer = common::answer(get(&app, url).await).await;
        answer.assert_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn no_page_has_inline_code_or_styles() {
    let app = app().await;
    for path in PAGES {
        let html = page_html(&app, path).await;
        let lower = html.to_ascii_lowercase();
        for (at, _) in lower.match_indices("<script") {
            let rest = &lower[at..];
            let open_end = rest.find('>').unwrap();
            assert!(
                rest[..open_end].contains(" src=\"/assets/"),
                "{path}: inline script {}",
                &rest[..open_end]
            );
            assert!(
                rest[open_end + 1..].starts_with("</script>"),
                "{path}: a script element with content"
            );
        }
        for tag in tags(&lower) {
            for token in tag.split_whitespace() {
                let name = token.split('=').next().unwrap();
                assert!(
                    !(token.contains('=')
                        && name.starts_with("on")
                        && name.bytes().all(|b| b.is_ascii_alphabetic())),
                    "{path}: inline event handler in <{tag}>"
                );
                assert!(name != "style", "{path}: inline style in <{tag}>");
            }
        }
        assert!(!lower.contains("<style"), "{path}: a style element");
        assert!(!lower.contains("javascript:"), "{path}: a javascript: URL");
    }
}

#[tokio::test]
async fn pages_carry_the_names_people_and_tests_rely_on() {
    let app = app().await;
    let login = page_html(&app, "/login").await;
    let signup = page_html(&app, "/signup").await;
    let passkeys = page_html(&app, "/settings/security/passkeys").await;
    for (page, html, names) in [
        (
            "login",
            &login,
            &[
                "<label for=\"email\">Email</label>",
                "<label for=\"password\">Password</label>",
                "autocomplete=\"username webauthn\"",
                ">Sign in</button>",
                ">Sign in with Passkey</button>",
                "<a href=\"/signup\">Sign up</a>",
            ][..],
        ),
        (
            "signup",
            &signup,
            &[
                "<label for=\"email\">Email</label>",
                "<label for=\"password\">Password</label>",
                "<label for=\"display-name\">Display name</label>",
                ">Sign up</button>",
            ][..],
        ),
        (
            "passkeys",
            &passkeys,
            &[
                "<label for=\"passkey-name\">Passkey name</label>",
                ">Add Passkey</button>",
                ">Rename</button>",
                ">Remove</button>",
                ">Sign out</button>",
            ][..],
        ),
    ] {
        for name in names {
            assert!(html.contains(name), "{page} lacks {name}");
        }
        // Every label names an element of the page.
        for id in attribute_values(html, "for") {
            assert!(
                html.contains(&format!(" id=\"{id}\"")),
                "{page}: label for missing #{id}"
            );
        }
    }
}

#[tokio::test]
async fn the_script_shows_the_documented_messages_and_never_writes_html() {
    let app = app().await;
    let html = page_html(&app, "/login").await;
    let script = assets_of(&html)
        .into_iter()
        .find(|url| url.ends_with(".js"))
        .unwrap()
        .to_owned();
    let source = get(&app, &script).await.text().await.unwrap();
    for message in [
        "Registration was cancelled or blocked by the browser",
        "Unknown Passkey",
        "WebAuthn is not supported on sites with TLS certificate errors",
        "signalUnknownCredential",
        "signalAllAcceptedCredentials",
        "signalCurrentUserDetails",
        "parseCreationOptionsFromJSON",
        "parseRequestOptionsFromJSON",
    ] {
        assert!(source.contains(message), "the script lacks {message:?}");
    }
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ] {
        assert!(!source.contains(sink), "the script uses {sink}");
    }
}
