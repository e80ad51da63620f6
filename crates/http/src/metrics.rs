//! Prometheus metrics, served at `/metrics`: requests and their latency by
//! route, requests in flight, ceremony outcomes by error code, and the
//! connection pool.

use std::time::Duration;

use monetro_app::DispatchReport;
use monetro_domain::Error;
use monetro_ports::PoolStats;
use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Latency buckets, in seconds: sign-ins take milliseconds, password
/// hashing tens of them, a database outage up to the pool timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    in_flight: IntGauge,
    ceremonies: IntCounterVec,
    pool: IntGaugeVec,
    webhook_deliveries: IntCounterVec,
    webhook_backlog: IntGauge,
    notifications: IntCounterVec,
}

/// A request being served: counted in `http_requests_in_flight` until
/// dropped, whether it completes or is abandoned.
pub struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Which ceremony finished.
#[derive(Clone, Copy)]
pub enum Ceremony {
    Registration,
    Authentication,
    Signup,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("monetro".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let in_flight = IntGauge::new(
            "http_requests_in_flight",
            "HTTP requests being served now (a shutdown waits for them)",
        )?;
        let ceremonies = IntCounterVec::new(
            Opts::new(
                "ceremonies_total",
                "Finished WebAuthn ceremonies by kind, result and error code",
            ),
            &["ceremony", "result", "code"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections"),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(ceremonies.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "webhook_deliveries_total",
                "Webhook delivery attempts by result: delivered, retry or dead",
            ),
            &["result"],
        )?;
        let webhook_backlog = IntGauge::new(
            "webhook_outbox_backlog",
            "Webhook deliveries waiting in the outbox (due or scheduled for a retry)",
        )?;
        let notifications = IntCounterVec::new(
            Opts::new(
                "notifications_total",
                "New-passkey emails by result: sent or failed",
            ),
            &["result"],
        )?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        registry.register(Box::new(webhook_backlog.clone()))?;
        registry.register(Box::new(notifications.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            in_flight,
            ceremonies,
            pool,
            webhook_deliveries,
            webhook_backlog,
            notifications,
        })
    }

    /// Counts a request in flight until the guard is dropped.
    pub fn request_started(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// `route` is the matched pattern (e.g. `/api/auth/passkey/{id}`), so
    /// label values stay few whatever the paths requested.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe_ceremony<T>(&self, ceremony: Ceremony, outcome: &Result<T, Error>) {
        let kind = match ceremony {
            Ceremony::Registration => "registration",
            Ceremony::Authentication => "authentication",
            Ceremony::Signup => "signup",
        };
        let (result, code) = match outcome {
            Ok(_) => ("success", ""),
            Err(error) => ("failure", error.code().as_str()),
        };
        self.ceremonies
            .with_label_values(&[kind, result, code])
            .inc();
    }

    pub fn observe_webhooks(&self, report: &DispatchReport) {
        for (result, count) in [
            ("delivered", report.delivered),
            ("retry", report.retried),
            ("dead", report.dead),
        ] {
            self.webhook_deliveries
                .with_label_values(&[result])
                .inc_by(count as u64);
        }
    }

    /// One email's outcome: `sent` or `failed`.
    pub fn observe_notification(&self, result: &str) {
        self.notifications.with_label_values(&[result]).inc();
    }

    pub fn set_webhook_backlog(&self, pending: u64) {
        self.webhook_backlog
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// The text exposition format, with the pool as it is now.
    pub fn render(&self, pool: PoolStats) -> String {
        self.pool
            .with_label_values(&["open"])
            .set(i64::from(pool.open));
        self.pool
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        self.pool
            .with_label_values(&["max"])
            .set(i64::from(pool.max));
        let mut buffer = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_ceremonies_and_pool() {
        let metrics = Metrics::new().unwrap();
        metrics.observe_request(
            "POST",
            "/api/auth/passkey/authenticate",
            200,
            Duration::from_millis(3),
        );
        let serving = metrics.request_started();
        metrics.observe_ceremony::<()>(Ceremony::Authentication, &Ok(()));
        metrics.observe_ceremony::<()>(Ceremony::Authentication, &Err(Error::ChallengeNotFound));
        let text = metrics.render(PoolStats {
            open: 3,
            idle: 2,
            max: 16,
        });
        assert!(text.contains(r#"monetro_http_requests_total{method="POST",route="/api/auth/passkey/authenticate",status="200"} 1"#));
        assert!(text.contains(r#"monetro_ceremonies_total{ceremony="authentication",code="CHALLENGE_NOT_FOUND",result="failure"} 1"#));
        assert!(text.contains(r#"monetro_db_pool_connections{state="max"} 16"#));
        assert!(text.contains("monetro_http_requests_in_flight 1"));
        drop(serving);
        let after = metrics.render(PoolStats {
            open: 3,
            idle: 2,
            max: 16,
        });
        assert!(after.contains("monetro_http_requests_in_flight 0"));
        assert!(text.contains("monetro_http_request_duration_seconds_bucket"));
    }
}
