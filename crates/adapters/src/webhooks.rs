//! Webhook requests over HTTP or HTTPS (reqwest with rustls; the
//! certificates of receivers are checked against Mozilla's roots, built in
//! through `webpki-roots`, and any extra CAs configured).

use std::time::Duration;

use monetro_ports::{DeliveryError, WebhookTransport};

/// The most of a failure's description kept in the outbox.
const MAX_ERROR: usize = 500;

/// POSTs webhooks with a timeout; redirects are not followed.
#[derive(Clone)]
pub struct HttpWebhooks {
    client: reqwest::Client,
}

impl HttpWebhooks {
    /// `extra_roots`: PEM certificates (one or more) of CAs trusted besides
    /// the built-in roots, e.g. a private CA of internal receivers.
    pub fn new(timeout: Duration, extra_roots: Option<&[u8]>) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Monetro-Webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = extra_roots {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("not PEM certificates: {e}"))?;
            if roots.is_empty() {
                return Err("no certificate in it".into());
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(Self { client })
    }
}

impl WebhookTransport for HttpWebhooks {
    async fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: String,
    ) -> Result<(), DeliveryError> {
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| failure(&describe(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(failure(&format!("HTTP {}", status.as_u16())))
        }
    }
}

/// The error and its causes: reqwest's own message ("error sending
/// request") hides why, e.g. an untrusted certificate.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

fn failure(description: &str) -> DeliveryError {
    DeliveryError(description.chars().take(MAX_ERROR).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_roots_must_be_pem_certificates() {
        let timeout = Duration::from_secs(1);
        assert!(HttpWebhooks::new(timeout, None).is_ok());
        assert!(HttpWebhooks::new(timeout, Some(b"not a certificate")).is_err());
        assert!(HttpWebhooks::new(timeout, Some(b"")).is_err());
    }
}
