//! Headers every response carries, and CORS for configured client origins.

use actix_cors::Cors;
use actix_web::http::{Method, header};
use actix_web::middleware::DefaultHeaders;
use url::Url;

/// Security headers for every response (a handler's own value wins, as the
/// pages' stricter Content-Security-Policy does). HSTS only when the service
/// is reached over https: on `http://localhost` it would be wrong.
pub fn default_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .add(("Cross-Origin-Opener-Policy", "same-origin"));
    if https {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// CORS origins are compared with the browser's `Origin` header as text, so
/// each must be written as a browser writes one: `scheme://host[:port]`,
/// lower-case, without path or trailing slash (anything else would never
/// match, or stop the server's workers from starting).
pub fn check_cors_origins(origins: &[String]) -> Result<(), String> {
    for origin in origins {
        let written = Url::parse(origin)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http"))
            .map(|url| url.origin().ascii_serialization());
        if written.as_deref() != Some(origin.as_str()) {
            return Err(format!(
                "server.cors_origins: {origin:?} is not an origin such as https://app.example"
            ));
        }
    }
    Ok(())
}

/// CORS for the browser apps on `origins` (other origins get no CORS
/// headers, so browsers keep their responses from scripts). Credentials are
/// allowed so the ceremony cookie travels with cross-origin calls.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([header::RETRY_AFTER])
        .supports_credentials()
        .max_age(600)
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

#[cfg(test)]
mod tests {
    use super::check_cors_origins;

    #[test]
    fn cors_origins_must_be_written_as_browsers_send_them() {
        let ok = ["https://app.example", "http://localhost:3000"].map(String::from);
        assert!(check_cors_origins(&ok).is_ok());
        for bad in [
            "*",
            "app.example",
            "https://app.example/",
            "https://App.example",
            "https://app.example:443",
            "https://app.example/path",
            "ftp://app.example",
        ] {
            assert!(check_cors_origins(&[bad.into()]).is_err(), "{bad} accepted");
        }
    }
}
