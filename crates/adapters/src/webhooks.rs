//! Webhook requests over HTTP (reqwest, plain `http://` only: this build
//! carries no TLS stack).

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
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Monetro-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
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
        let response = request.send().await.map_err(|e| failure(&e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(failure(&format!("HTTP {}", status.as_u16())))
        }
    }
}

fn failure(description: &str) -> DeliveryError {
    DeliveryError(description.chars().take(MAX_ERROR).collect())
}
