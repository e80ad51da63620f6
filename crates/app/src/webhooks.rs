//! Events for other systems: what the use cases put into the outbox with
//! their changes, and the dispatcher that delivers it, signed, with retries.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac as _};
use monetro_domain::{Error, EventType, OutboxDelivery, OutboxEvent, RequestOrigin, UserId};
use monetro_ports::{Clock, Outbox, WebhookTransport};
use rand::Rng as _;
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use crate::{App, Deps};

/// Header with the event's id: the same on every attempt and endpoint, for
/// receivers to drop duplicates.
pub const EVENT_ID_HEADER: &str = "Monetro-Event-Id";
/// Header with the event's type.
pub const EVENT_TYPE_HEADER: &str = "Monetro-Event-Type";
/// Header with `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "Monetro-Signature";

/// A receiver of webhooks.
#[derive(Clone)]
pub struct WebhookEndpoint {
    /// Where events are POSTed; also the endpoint's name in the outbox.
    pub url: String,
    /// The HMAC key of its signatures.
    pub secret: Vec<u8>,
    /// The event types it receives; `None` for all.
    pub events: Option<Vec<EventType>>,
}

impl WebhookEndpoint {
    fn wants(&self, event_type: EventType) -> bool {
        self.events
            .as_ref()
            .is_none_or(|types| types.contains(&event_type))
    }
}

/// `v1` of the signature header: hex HMAC-SHA256 under `secret` of
/// `"<timestamp>.<body>"`.
pub fn sign(secret: &[u8], timestamp: i64, body: &str) -> Result<String, Error> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|e| Error::Unexpected(format!("webhook secret: {e}")))?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// The body's `data`: the user (absent for an unknown credential), where
/// the request came from, and `fields`.
pub(crate) fn event_data(user: Option<UserId>, origin: &RequestOrigin, fields: Value) -> Value {
    let mut data = json!({
        "userId": user.map(|u| u.0),
        "clientIp": origin.client_ip,
        "userAgent": origin.user_agent,
    });
    if let (Some(data), Value::Object(fields)) = (data.as_object_mut(), fields) {
        data.extend(fields);
    }
    data
}

/// Events of one type and moment for the endpoints that subscribe to it.
#[derive(Clone)]
pub(crate) struct EventFactory {
    event_type: EventType,
    endpoints: Vec<String>,
    occurred_at: DateTime<Utc>,
}

impl EventFactory {
    /// The event with `data`; nothing when no endpoint subscribes.
    pub(crate) fn event(&self, data: Value) -> Vec<OutboxEvent> {
        if self.endpoints.is_empty() {
            return Vec::new();
        }
        let id = Uuid::now_v7();
        let payload = json!({
            "id": id,
            "type": self.event_type.as_str(),
            "occurredAt": self.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": data,
        });
        vec![OutboxEvent {
            id,
            event_type: self.event_type,
            occurred_at: self.occurred_at,
            payload: payload.to_string(),
            endpoints: self.endpoints.clone(),
        }]
    }
}

impl<D: Deps> App<D> {
    /// The event of now for the endpoints that subscribe to `event_type`;
    /// nothing when none does, so a service without webhooks writes no
    /// outbox rows.
    pub(crate) fn outbox_event(&self, event_type: EventType, data: Value) -> Vec<OutboxEvent> {
        self.event_factory(event_type).event(data)
    }

    /// Makes events of `event_type`, occurring now, for its subscribers;
    /// for stores that learn an event's subject inside their transaction.
    pub(crate) fn event_factory(&self, event_type: EventType) -> EventFactory {
        EventFactory {
            event_type,
            endpoints: self
                .settings
                .webhooks
                .iter()
                .filter(|endpoint| endpoint.wants(event_type))
                .map(|endpoint| endpoint.url.clone())
                .collect(),
            occurred_at: self.clock.now(),
        }
    }

    /// Enqueues events that report no stored change. Best effort, like the
    /// security-log event of a failed attempt: a failure is logged and does
    /// not fail the request.
    pub(crate) async fn enqueue_events(&self, events: Vec<OutboxEvent>) {
        if events.is_empty() {
            return;
        }
        if let Err(error) = self.store.enqueue(events).await {
            tracing::error!(%error, "webhook event not enqueued");
        }
    }
}

/// When deliveries are retried and when they are given up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts before a delivery is dead (at least 1).
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a claimed delivery is kept from other dispatchers: longer
    /// than a POST can take.
    pub lease: Duration,
    /// Deliveries claimed at once.
    pub batch: u32,
    /// Delivered rows are deleted after this long.
    pub retain_delivered: Duration,
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt: the backoff doubled
    /// `attempts - 1` times, capped, then a random part of its upper half
    /// taken off ("equal jitter"), so receivers coming back are not hit by
    /// every retry at once.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doubled = self
            .initial_backoff
            .saturating_mul(2_u32.saturating_pow(attempts.saturating_sub(1)));
        let capped = doubled.min(self.max_backoff);
        let half = capped / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=capped - half)
    }
}

/// What one dispatch round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub claimed: usize,
    pub delivered: usize,
    /// Failed, to be retried.
    pub retried: usize,
    /// Failed for the last time (or their endpoint is no longer configured).
    pub dead: usize,
}

enum Outcome {
    Delivered,
    Retried,
    Dead,
}

/// Delivers the outbox: claims due deliveries, signs and POSTs them, and
/// records each outcome. Several dispatchers (one per instance) may share
/// one outbox.
pub struct WebhookDispatcher<O, T, C> {
    outbox: O,
    transport: T,
    clock: C,
    /// Secrets by endpoint URL.
    endpoints: HashMap<String, Vec<u8>>,
    policy: RetryPolicy,
}

impl<O: Outbox, T: WebhookTransport, C: Clock> WebhookDispatcher<O, T, C> {
    pub fn new(
        outbox: O,
        transport: T,
        clock: C,
        endpoints: &[WebhookEndpoint],
        policy: RetryPolicy,
    ) -> Self {
        Self {
            outbox,
            transport,
            clock,
            endpoints: endpoints
                .iter()
                .map(|e| (e.url.clone(), e.secret.clone()))
                .collect(),
            policy,
        }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// One round: the due deliveries (at most a batch), POSTed
    /// concurrently.
    pub async fn run_once(&self) -> Result<DispatchReport, Error> {
        let now = self.clock.now();
        let lease_until = now + self.policy.lease;
        let claimed = self
            .outbox
            .claim_due(now, lease_until, self.policy.batch)
            .await?;
        let mut report = DispatchReport {
            claimed: claimed.len(),
            ..DispatchReport::default()
        };
        let outcomes =
            futures_util::future::join_all(claimed.into_iter().map(|d| self.deliver(d))).await;
        for outcome in outcomes {
            match outcome {
                Ok(Outcome::Delivered) => report.delivered += 1,
                Ok(Outcome::Retried) => report.retried += 1,
                Ok(Outcome::Dead) => report.dead += 1,
                // The delivery stays leased and is tried again after the
                // lease: at least once, maybe twice.
                Err(error) => tracing::error!(%error, "webhook outcome not recorded"),
            }
        }
        Ok(report)
    }

    async fn deliver(&self, delivery: OutboxDelivery) -> Result<Outcome, Error> {
        let Some(secret) = self.endpoints.get(&delivery.endpoint) else {
            tracing::warn!(endpoint = %delivery.endpoint, event = %delivery.event_id, "webhook endpoint no longer configured: delivery given up");
            self.outbox
                .record_failure(delivery.id, "endpoint no longer configured".into(), None)
                .await?;
            return Ok(Outcome::Dead);
        };
        let timestamp = self.clock.now().timestamp();
        let signature = sign(secret, timestamp, &delivery.payload)?;
        let headers = vec![
            (EVENT_ID_HEADER, delivery.event_id.to_string()),
            (EVENT_TYPE_HEADER, event_type_of(&delivery.payload)),
            (SIGNATURE_HEADER, format!("t={timestamp},v1={signature}")),
        ];
        let sent = self
            .transport
            .post(&delivery.endpoint, headers, delivery.payload.clone())
            .await;
        let now = self.clock.now();
        match sent {
            Ok(()) => {
                self.outbox.mark_delivered(delivery.id, now).await?;
                tracing::debug!(endpoint = %delivery.endpoint, event = %delivery.event_id, "webhook delivered");
                Ok(Outcome::Delivered)
            }
            Err(error) if delivery.attempts >= self.policy.max_attempts => {
                tracing::warn!(endpoint = %delivery.endpoint, event = %delivery.event_id, attempts = delivery.attempts, %error, "webhook given up");
                self.outbox
                    .record_failure(delivery.id, error.0, None)
                    .await?;
                Ok(Outcome::Dead)
            }
            Err(error) => {
                let retry_at = now + self.policy.backoff(delivery.attempts);
                tracing::info!(endpoint = %delivery.endpoint, event = %delivery.event_id, attempts = delivery.attempts, %error, %retry_at, "webhook failed, will retry");
                self.outbox
                    .record_failure(delivery.id, error.0, Some(retry_at))
                    .await?;
                Ok(Outcome::Retried)
            }
        }
    }

    /// Deliveries waiting, for the backlog gauge.
    pub async fn backlog(&self) -> Result<u64, Error> {
        Ok(self.outbox.backlog().await?)
    }

    /// Deletes delivered rows older than the retention.
    pub async fn purge_delivered(&self) -> Result<u64, Error> {
        let cutoff: DateTime<Utc> = self.clock.now() - self.policy.retain_delivered;
        Ok(self.outbox.purge_delivered(cutoff).await?)
    }
}

/// The body's `type` (the dispatcher sends what the outbox holds).
fn event_type_of(payload: &str) -> String {
    serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|body| body.get("type")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}
