//! What is counted: requests per endpoint, operations per kind, latencies in
//! HDR histograms, and every error by endpoint, status and code.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::http::Endpoint;

/// Highest latency a histogram holds exactly (one hour, in µs); longer
/// ones are recorded as this value.
const HISTOGRAM_MAX_MICROS: u64 = 3_600_000_000;
/// Significant decimal digits of the histograms (0.1 % resolution).
const HISTOGRAM_DIGITS: u8 = 3;

/// The kinds of operation a virtual user performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    /// A full passkey sign-in: authenticate-options, assertion, authenticate.
    SignIn,
    /// An extra passkey: register-options, attestation, register.
    Register,
    /// `GET /api/auth/passkey/list` with the bearer token.
    List,
    /// A password login.
    Password,
    /// Set-up of one user: signup, register-options, register.
    SetupUser,
}

impl Flow {
    /// Every flow, in report order.
    pub const ALL: [Self; 5] = [
        Self::SignIn,
        Self::Register,
        Self::List,
        Self::Password,
        Self::SetupUser,
    ];
    /// Number of flows.
    pub const COUNT: usize = Self::ALL.len();

    /// Name used in reports and in `--mix`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::SignIn => "signin",
            Self::Register => "register",
            Self::List => "list",
            Self::Password => "password",
            Self::SetupUser => "setup-user",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One counted error: where, which status (`None` for transport and
/// client-side errors) and which code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ErrorKey {
    /// The endpoint whose call failed.
    pub endpoint: Endpoint,
    /// HTTP status, `None` when there was no HTTP answer.
    pub status: Option<u16>,
    /// The `code` of the JSON error body, or one of the load generator's
    /// own codes (`TRANSPORT_*`, `NO_ERROR_CODE`, `UNEXPECTED_BODY`,
    /// `UNEXPECTED_RP_ID`, `CLIENT_AUTHENTICATOR`).
    pub code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepOutcome {
    /// 2xx answer.
    Ok,
    /// Non-2xx answer.
    Non2xx,
    /// No HTTP answer (connection, timeout, body).
    Transport,
}

#[derive(Debug, Clone, Copy)]
struct Step {
    endpoint: Endpoint,
    status: Option<u16>,
    latency: Duration,
    outcome: StepOutcome,
}

/// The requests of one operation, recorded in one go when it ends.
#[derive(Debug, Default)]
pub struct Trace {
    steps: [Option<Step>; 4],
    error: Option<ErrorKey>,
}

impl Trace {
    fn push(&mut self, step: Step) {
        if let Some(slot) = self.steps.iter_mut().find(|s| s.is_none()) {
            *slot = Some(step);
        }
    }

    /// An HTTP answer; `error_code` is set for a non-2xx one.
    pub(crate) fn answered(
        &mut self,
        endpoint: Endpoint,
        status: u16,
        latency: Duration,
        error_code: Option<String>,
    ) {
        let outcome = if error_code.is_some() {
            StepOutcome::Non2xx
        } else {
            StepOutcome::Ok
        };
        self.push(Step {
            endpoint,
            status: Some(status),
            latency,
            outcome,
        });
        if let Some(code) = error_code {
            self.error = Some(ErrorKey {
                endpoint,
                status: Some(status),
                code,
            });
        }
    }

    /// A request without an HTTP answer.
    pub(crate) fn transport_error(&mut self, endpoint: Endpoint, latency: Duration, code: &str) {
        self.push(Step {
            endpoint,
            status: None,
            latency,
            outcome: StepOutcome::Transport,
        });
        self.error = Some(ErrorKey {
            endpoint,
            status: None,
            code: code.to_owned(),
        });
    }

    /// A failure on the load generator's side of `endpoint`'s step, such
    /// as the authenticator refusing the options.
    pub(crate) fn client_error(&mut self, endpoint: Endpoint, code: &str) {
        self.error = Some(ErrorKey {
            endpoint,
            status: None,
            code: code.to_owned(),
        });
    }

    /// A 2xx answer of `endpoint` whose body the load generator cannot use.
    /// The request still counts as answered; the operation fails.
    pub(crate) fn bad_answer(&mut self, endpoint: Endpoint, code: &str) {
        let status = self
            .steps
            .iter()
            .flatten()
            .rev()
            .find(|s| s.endpoint == endpoint)
            .and_then(|s| s.status);
        self.error = Some(ErrorKey {
            endpoint,
            status,
            code: code.to_owned(),
        });
    }

    /// Whether no step failed.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

fn new_histogram() -> Option<Histogram<u64>> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_MICROS, HISTOGRAM_DIGITS).ok()
}

fn record(histogram: &mut Option<Histogram<u64>>, latency: Duration) {
    if histogram.is_none() {
        *histogram = new_histogram();
    }
    if let Some(h) = histogram {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        h.saturating_record(micros);
    }
}

#[derive(Debug, Default)]
struct EndpointStats {
    requests: u64,
    non_2xx: u64,
    transport_errors: u64,
    latency: Option<Histogram<u64>>,
}

#[derive(Debug, Default)]
struct FlowStats {
    ok: u64,
    failed: u64,
    latency: Option<Histogram<u64>>,
}

/// The figures of one phase (set-up, warm-up or run).
#[derive(Debug)]
pub struct Stats {
    endpoints: [EndpointStats; Endpoint::COUNT],
    flows: [FlowStats; Flow::COUNT],
    errors: BTreeMap<ErrorKey, u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            endpoints: std::array::from_fn(|_| EndpointStats::default()),
            flows: std::array::from_fn(|_| FlowStats::default()),
            errors: BTreeMap::new(),
        }
    }
}

impl Stats {
    /// Records a finished operation of kind `flow` that took `elapsed`.
    /// Endpoint latencies include non-2xx answers; the operation's latency
    /// only successful operations.
    pub fn record(&mut self, flow: Flow, trace: &Trace, elapsed: Duration) {
        for step in trace.steps.iter().flatten() {
            let Some(stats) = self.endpoints.get_mut(step.endpoint.index()) else {
                continue;
            };
            stats.requests += 1;
            match step.outcome {
                StepOutcome::Ok => record(&mut stats.latency, step.latency),
                StepOutcome::Non2xx => {
                    stats.non_2xx += 1;
                    record(&mut stats.latency, step.latency);
                }
                StepOutcome::Transport => stats.transport_errors += 1,
            }
        }
        if let Some(stats) = self.flows.get_mut(flow.index()) {
            if trace.ok() {
                stats.ok += 1;
                record(&mut stats.latency, elapsed);
            } else {
                stats.failed += 1;
            }
        }
        if let Some(key) = &trace.error {
            match self.errors.get_mut(key) {
                Some(count) => *count += 1,
                None => {
                    self.errors.insert(key.clone(), 1);
                }
            }
        }
    }

    /// Successful and failed operations of `flow`.
    #[must_use]
    pub fn flow_counts(&self, flow: Flow) -> (u64, u64) {
        self.flows
            .get(flow.index())
            .map_or((0, 0), |f| (f.ok, f.failed))
    }

    /// All errors counted.
    #[must_use]
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The summary of this phase over `elapsed`.
    #[must_use]
    pub fn summary(&self, elapsed: Duration) -> PhaseReport {
        let secs = elapsed.as_secs_f64();
        let per_second = |n: u64| {
            if secs > 0.0 {
                round(n as f64 / secs, 1)
            } else {
                0.0
            }
        };
        let mut operations = BTreeMap::new();
        for flow in Flow::ALL {
            let Some(stats) = self.flows.get(flow.index()) else {
                continue;
            };
            if stats.ok + stats.failed == 0 {
                continue;
            }
            operations.insert(
                flow.name().to_owned(),
                OperationReport {
                    ok: stats.ok,
                    failed: stats.failed,
                    per_second: per_second(stats.ok),
                    latency_ms: stats.latency.as_ref().map(LatencySummary::of),
                },
            );
        }
        let mut endpoints = BTreeMap::new();
        for endpoint in Endpoint::ALL {
            let Some(stats) = self.endpoints.get(endpoint.index()) else {
                continue;
            };
            if stats.requests == 0 {
                continue;
            }
            endpoints.insert(
                endpoint.name().to_owned(),
                EndpointReport {
                    requests: stats.requests,
                    non_2xx: stats.non_2xx,
                    transport_errors: stats.transport_errors,
                    latency_ms: stats.latency.as_ref().map(LatencySummary::of),
                },
            );
        }
        let mut errors: Vec<ErrorCount> = self
            .errors
            .iter()
            .map(|(key, &count)| ErrorCount {
                endpoint: key.endpoint.name().to_owned(),
                status: key.status,
                code: key.code.clone(),
                count,
            })
            .collect();
        errors.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
        PhaseReport {
            elapsed_secs: round(secs, 3),
            operations,
            endpoints,
            errors,
        }
    }
}

pub(crate) fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl LatencySummary {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |micros: u64| round(micros as f64 / 1000.0, 3);
        Self {
            count: h.len(),
            mean: round(h.mean() / 1000.0, 3),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

/// Counts of one kind of operation.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationReport {
    /// Operations whose every request answered 2xx.
    pub ok: u64,
    /// Operations that ended with an error.
    pub failed: u64,
    /// `ok` per second of the phase.
    pub per_second: f64,
    /// Latency of the successful operations, end to end (including the
    /// authenticator's work between the requests).
    pub latency_ms: Option<LatencySummary>,
}

/// Counts of one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointReport {
    /// Requests sent.
    pub requests: u64,
    /// Answers with a status outside 2xx.
    #[serde(rename = "non2xx")]
    pub non_2xx: u64,
    /// Requests that got no HTTP answer.
    pub transport_errors: u64,
    /// Latency of the HTTP answers (2xx and non-2xx), request sent to body
    /// read.
    pub latency_ms: Option<LatencySummary>,
}

/// One line of the error table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCount {
    /// Endpoint name.
    pub endpoint: String,
    /// HTTP status, `null` for transport and client-side errors.
    pub status: Option<u16>,
    /// Error code.
    pub code: String,
    /// How many times.
    pub count: u64,
}

/// The figures of one phase.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseReport {
    /// Wall-clock length of the phase.
    pub elapsed_secs: f64,
    /// Per kind of operation (`signin`, `register`, `list`, `password`,
    /// `setup-user`), only those performed.
    pub operations: BTreeMap<String, OperationReport>,
    /// Per endpoint, only those called.
    pub endpoints: BTreeMap<String, EndpointReport>,
    /// Every error, most frequent first.
    pub errors: Vec<ErrorCount>,
}

impl PhaseReport {
    /// Sum of the error counts.
    #[must_use]
    pub fn error_total(&self) -> u64 {
        self.errors.iter().map(|e| e.count).sum()
    }

    /// `(ok, failed)` of an operation kind.
    #[must_use]
    pub fn counts(&self, flow: Flow) -> (u64, u64) {
        self.operations
            .get(flow.name())
            .map_or((0, 0), |o| (o.ok, o.failed))
    }
}
