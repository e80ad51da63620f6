//! The end-of-run report: the same figures as text (stdout) and JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::stats::{ErrorCount, LatencySummary, PhaseReport};

/// Everything a run measured. Serialised as the `--json` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `monetro-loadgen <version>`.
    pub tool: String,
    /// Where the load went.
    pub target: TargetReport,
    /// The settings of the run.
    pub settings: SettingsReport,
    /// Set-up phase: users reused and created.
    pub setup: SetupReport,
    /// Warm-up phase (not in the headline figures; errors still count).
    pub warmup: PhaseReport,
    /// The timed run.
    pub run: PhaseReport,
    /// Headline: full passkey sign-ins of the timed run.
    pub sign_ins: SignInSummary,
    /// Error totals of every phase.
    pub errors: ErrorTotals,
    /// Whether Ctrl-C (or the library's stop signal) ended the run early.
    pub interrupted: bool,
    /// CPU the load generator itself used in the warm-up and run (Linux).
    pub loadgen_cpu: Option<CpuReport>,
}

/// Where the load went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetReport {
    /// `--base-url`.
    pub base_url: String,
    /// `--origin`.
    pub origin: String,
    /// `--rp-id`.
    pub rp_id: String,
}

/// The settings of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsReport {
    /// `--users`.
    pub users: usize,
    /// `--concurrency`.
    pub concurrency: usize,
    /// Virtual users actually run (fewer than `concurrency` only when the
    /// set-up could not create enough users).
    pub virtual_users: usize,
    /// `--setup-concurrency`.
    pub setup_concurrency: usize,
    /// `--threads`.
    pub threads: usize,
    /// `--duration` in seconds.
    pub duration_secs: f64,
    /// `--rate`: the paced total rate, when the run was open loop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// `--warmup` in seconds.
    pub warmup_secs: f64,
    /// `--timeout` in seconds.
    pub timeout_secs: f64,
    /// `--mix`, every kind with its weight.
    pub mix: BTreeMap<String, u32>,
    /// `--client`.
    pub client: String,
    /// `--state`.
    pub state_file: Option<String>,
}

/// The set-up phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetupReport {
    /// Users taken from the state file.
    pub reused_users: usize,
    /// Users signed up (with a passkey) by this run.
    pub created_users: usize,
    /// Users whose signup or registration failed (not saved).
    pub failed_users: usize,
    /// Requests, latencies and errors of the phase (`setup-user`
    /// operations, and the `signin` check of a reused state file).
    #[serde(flatten)]
    pub phase: PhaseReport,
}

/// The headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInSummary {
    /// Full sign-ins that succeeded in the timed run.
    pub ok: u64,
    /// Full sign-ins that failed.
    pub failed: u64,
    /// `ok` per second of the timed run.
    pub per_second: f64,
    /// End-to-end latency of the successful sign-ins.
    pub latency_ms: Option<LatencySummary>,
}

/// Error totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorTotals {
    /// All phases.
    pub total: u64,
    /// Set-up phase.
    pub setup: u64,
    /// Warm-up phase.
    pub warmup: u64,
    /// Timed run.
    pub run: u64,
}

/// CPU used by the load generator during the warm-up and the timed run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuReport {
    /// User-mode seconds.
    pub user_secs: f64,
    /// Kernel seconds.
    pub system_secs: f64,
    /// Average cores busy (CPU seconds per wall-clock second).
    pub cores: f64,
    /// CPU microseconds per operation (sign-ins and the other kinds).
    pub per_operation_micros: f64,
}

impl Report {
    /// Errors counted in all phases.
    #[must_use]
    pub fn error_total(&self) -> u64 {
        self.errors.total
    }

    /// The process exit status: 1 when errors were counted (unless
    /// `allow_errors`), else 0.
    #[must_use]
    pub fn exit_code(&self, allow_errors: bool) -> u8 {
        u8::from(self.error_total() > 0 && !allow_errors)
    }

    /// Writes the report as pretty JSON.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    /// The human-readable report.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) {
        let s = &self.settings;
        let _ = writeln!(
            out,
            "{} → {} (origin {}, rp id {})",
            self.tool, self.target.base_url, self.target.origin, self.target.rp_id
        );
        let setup = &self.setup;
        let _ = writeln!(
            out,
            "set-up     {} users: {} reused, {} created, {} failed, in {:.2} s",
            setup.reused_users + setup.created_users,
            setup.reused_users,
            setup.created_users,
            setup.failed_users,
            setup.phase.elapsed_secs
        );
        let mix = s
            .mix
            .iter()
            .filter(|(_, w)| **w > 0)
            .map(|(k, w)| format!("{k}={w}"))
            .collect::<Vec<_>>()
            .join(",");
        let interrupted = if self.interrupted {
            ", INTERRUPTED"
        } else {
            ""
        };
        if self.run.operations.is_empty() && self.warmup.operations.is_empty() {
            let _ = writeln!(out, "run        none (set-up only){interrupted}");
        } else {
            let _ = writeln!(
                out,
                "run        {:.2} s (+{:.1} s warm-up), {} virtual users, {} thread{}, mix {mix}, client {}{}{interrupted}",
                self.run.elapsed_secs,
                self.warmup.elapsed_secs,
                s.virtual_users,
                s.threads,
                if s.threads == 1 { "" } else { "s" },
                s.client,
                s.rate
                    .map(|rate| format!(", paced at {rate}/s (open loop)"))
                    .unwrap_or_default(),
            );
        }
        let _ = writeln!(
            out,
            "sign-ins   {} ok, {} failed: {:.1} sign-ins/s",
            self.sign_ins.ok, self.sign_ins.failed, self.sign_ins.per_second
        );
        if let Some(cpu) = &self.loadgen_cpu {
            let _ = writeln!(
                out,
                "loadgen    {:.2} s user + {:.2} s system CPU = {:.2} cores, {:.0} µs per operation",
                cpu.user_secs, cpu.system_secs, cpu.cores, cpu.per_operation_micros
            );
        }
        for (title, phase) in [("run", &self.run), ("set-up", &setup.phase)] {
            if phase.operations.is_empty() && phase.endpoints.is_empty() {
                continue;
            }
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{:<34}{:>9}{:>8}{:>9}{:>9}{:>9}{:>9}{:>9}",
                format!("{title}: latency (ms)"),
                "count",
                "fail",
                "/s",
                "p50",
                "p90",
                "p99",
                "max"
            );
            for (name, op) in &phase.operations {
                let label = match (name.as_str(), title) {
                    ("signin", "run") => "full sign-in".to_owned(),
                    ("signin", _) => "full sign-in (state check)".to_owned(),
                    (other, _) => format!("{other} (operation)"),
                };
                latency_row(
                    out,
                    &label,
                    op.ok,
                    op.failed,
                    Some(op.per_second),
                    op.latency_ms.as_ref(),
                );
            }
            for (name, endpoint) in &phase.endpoints {
                latency_row(
                    out,
                    &format!("  {name}"),
                    endpoint.requests,
                    endpoint.non_2xx + endpoint.transport_errors,
                    None,
                    endpoint.latency_ms.as_ref(),
                );
            }
        }
        let _ = writeln!(out);
        if self.errors.total == 0 {
            let _ = writeln!(out, "errors     none");
            return;
        }
        let _ = writeln!(
            out,
            "errors     {} (set-up {}, warm-up {}, run {}); every non-2xx and transport error:",
            self.errors.total, self.errors.setup, self.errors.warmup, self.errors.run
        );
        let _ = writeln!(
            out,
            "  {:<8}{:<22}{:>7}  {:<28}{:>9}",
            "phase", "endpoint", "status", "code", "count"
        );
        for (phase, errors) in [
            ("set-up", &setup.phase.errors),
            ("warm-up", &self.warmup.errors),
            ("run", &self.run.errors),
        ] {
            for ErrorCount {
                endpoint,
                status,
                code,
                count,
            } in errors
            {
                let status = status.map_or_else(|| "-".to_owned(), |s| s.to_string());
                let _ = writeln!(
                    out,
                    "  {phase:<8}{endpoint:<22}{status:>7}  {code:<28}{count:>9}"
                );
            }
        }
        let rate_limited = [&setup.phase, &self.warmup, &self.run]
            .iter()
            .any(|p| p.errors.iter().any(|e| e.code == "RATE_LIMITED"));
        if rate_limited {
            let _ = writeln!(
                out,
                "hint: 429 RATE_LIMITED means the service's rate limits are on; for a load test \
                 start it with MONETRO__RATE_LIMIT__ENABLED=false"
            );
        }
    }
}

fn latency_row(
    out: &mut String,
    label: &str,
    count: u64,
    failed: u64,
    per_second: Option<f64>,
    latency: Option<&LatencySummary>,
) {
    let rate = per_second.map_or_else(String::new, |r| format!("{r:.1}"));
    let _ = write!(out, "{label:<34}{count:>9}{failed:>8}{rate:>9}");
    match latency {
        Some(l) => {
            let _ = writeln!(
                out,
                "{:>9.3}{:>9.3}{:>9.3}{:>9.3}",
                l.p50, l.p90, l.p99, l.max
            );
        }
        None => {
            let _ = writeln!(out, "{:>9}{:>9}{:>9}{:>9}", "-", "-", "-", "-");
        }
    }
}
