//! Command-line options (also the library's configuration).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::http::ClientMode;
use crate::stats::Flow;

/// Load generator for the Monetro passkey service: real WebAuthn sign-ins
/// over the HTTP contract (../shared/API.md), against loopback only.
#[derive(Debug, Clone, Parser)]
#[command(name = "loadgen", version, about, long_about = None)]
pub struct Options {
    /// Where requests go. Must be loopback (127.0.0.0/8, localhost, [::1])
    /// unless --allow-remote.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub base_url: String,

    /// WebAuthn origin the authenticator writes into clientDataJSON (one of
    /// the service's MONETRO_RP_ORIGINS).
    #[arg(long, default_value = "http://localhost:8080", value_name = "URL")]
    pub origin: String,

    /// RP ID the service is expected to use (MONETRO_RP_ID); options naming
    /// another one count as UNEXPECTED_RP_ID errors.
    #[arg(long, default_value = "localhost", value_name = "ID")]
    pub rp_id: String,

    /// Users (accounts with one passkey each) to have: reused from --state,
    /// the missing ones created in the set-up phase.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub users: usize,

    /// Users created at once during set-up (each signup hashes a password).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub setup_concurrency: usize,

    /// Virtual users looping operations during the timed run.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,

    /// Length of the timed run (e.g. 30s, 2m, 500ms; 0 = set-up only).
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Duration,

    /// Warm-up before the timed run, same load, not counted in the figures
    /// (its errors are reported).
    #[arg(long, default_value = "0s", value_parser = parse_duration, value_name = "DURATION")]
    pub warmup: Duration,

    /// Operation weights: signin (full passkey sign-in), register (an extra
    /// passkey), list (GET passkey/list), password (password login).
    #[arg(long, default_value = "signin=100", value_parser = Mix::parse, value_name = "WEIGHTS")]
    pub mix: Mix,

    /// State file: users are read from it when it matches --base-url and
    /// --rp-id, and it is (re)written after a set-up that created users.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Ignore an existing --state file and set up new users (the file is
    /// overwritten).
    #[arg(long)]
    pub fresh_state: bool,

    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Worker threads of the load generator's runtime.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,

    /// HTTP clients: `shared` (one connection pool, cookies kept per virtual
    /// user by the load generator) or `per-vu` (a reqwest client with its
    /// own cookie store per virtual user).
    #[arg(long, value_enum, default_value_t = ClientMode::Shared)]
    pub client: ClientMode,

    /// Per-request timeout (a timed-out request counts as TRANSPORT_TIMEOUT).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Paces the timed run to this many operations per second in total
    /// (open loop): each virtual user starts its operations on a fixed
    /// schedule, and latency counts from the scheduled start, so a slow
    /// answer shows in the percentiles instead of delaying the next request
    /// (no coordinated omission). Without it, each virtual user starts its
    /// next operation as soon as the last one ends (closed loop).
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,

    /// Allow a --base-url that is not a loopback address.
    #[arg(long)]
    pub allow_remote: bool,

    /// Exit with status 0 even when errors were counted.
    #[arg(long)]
    pub allow_errors: bool,

    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

impl Options {
    /// Options for `base_url` with every other value at its default.
    ///
    /// # Errors
    /// Never in practice (the defaults parse).
    pub fn for_target(base_url: &str, origin: &str, rp_id: &str) -> anyhow::Result<Self> {
        Ok(Self::try_parse_from([
            "loadgen",
            "--base-url",
            base_url,
            "--origin",
            origin,
            "--rp-id",
            rp_id,
        ])?)
    }

    /// Checks the values clap cannot.
    ///
    /// # Errors
    /// On a zero count or an unusable URL.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.users > 0, "--users must be at least 1");
        anyhow::ensure!(self.concurrency > 0, "--concurrency must be at least 1");
        anyhow::ensure!(
            self.setup_concurrency > 0,
            "--setup-concurrency must be at least 1"
        );
        anyhow::ensure!(self.threads > 0, "--threads must be at least 1");
        anyhow::ensure!(!self.timeout.is_zero(), "--timeout must be positive");
        if let Some(rate) = self.rate {
            anyhow::ensure!(
                (0.1..=1e6).contains(&rate),
                "--rate must be between 0.1 and 1000000 operations per second"
            );
        }
        anyhow::ensure!(
            self.concurrency <= self.users,
            "--concurrency {} is more than --users {}: each virtual user signs in as accounts of its own",
            self.concurrency,
            self.users
        );
        let origin = reqwest::Url::parse(&self.origin)
            .map_err(|e| anyhow::anyhow!("--origin {}: {e}", self.origin))?;
        anyhow::ensure!(
            origin.host_str().is_some(),
            "--origin {} has no host",
            self.origin
        );
        Ok(())
    }
}

/// Weights of the operation kinds of the timed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    /// `(kind, weight)` of the kinds with a weight above zero.
    weights: Vec<(Flow, u32)>,
    total: u64,
}

/// The kinds `--mix` accepts.
pub const MIX_KINDS: [Flow; 4] = [Flow::SignIn, Flow::Register, Flow::List, Flow::Password];

impl Default for Mix {
    fn default() -> Self {
        Self {
            weights: vec![(Flow::SignIn, 100)],
            total: 100,
        }
    }
}

impl Mix {
    /// Parses `signin=100,register=0,list=0,password=0` (kinds left out
    /// weigh 0).
    ///
    /// # Errors
    /// On an unknown kind, a bad number, or all weights zero.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut weights: Vec<(Flow, u32)> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected KIND=WEIGHT"))?;
            let flow = MIX_KINDS
                .iter()
                .copied()
                .find(|f| f.name() == name.trim())
                .ok_or_else(|| {
                    format!("unknown kind `{name}` (signin, register, list, password)")
                })?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("`{part}`: the weight must be a whole number"))?;
            weights.retain(|(f, _)| *f != flow);
            if weight > 0 {
                weights.push((flow, weight));
            }
        }
        weights.sort_by_key(|(f, _)| *f);
        let total = weights.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return Err("at least one weight must be above 0".to_owned());
        }
        Ok(Self { weights, total })
    }

    /// The kind for a random number.
    #[must_use]
    pub fn pick(&self, random: u64) -> Flow {
        let mut at = random % self.total.max(1);
        for (flow, weight) in &self.weights {
            if at < u64::from(*weight) {
                return *flow;
            }
            at -= u64::from(*weight);
        }
        Flow::SignIn
    }

    /// The weight of a kind.
    #[must_use]
    pub fn weight(&self, flow: Flow) -> u32 {
        self.weights
            .iter()
            .find(|(f, _)| *f == flow)
            .map_or(0, |(_, w)| *w)
    }

    /// Whether some kind needs a bearer token (register, list).
    #[must_use]
    pub fn needs_token(&self) -> bool {
        self.weight(Flow::Register) > 0 || self.weight(Flow::List) > 0
    }

    /// Every kind with its weight (zero included).
    #[must_use]
    pub fn as_map(&self) -> BTreeMap<String, u32> {
        MIX_KINDS
            .iter()
            .map(|f| (f.name().to_owned(), self.weight(*f)))
            .collect()
    }

    /// `signin=90,list=10`.
    #[must_use]
    pub fn describe(&self) -> String {
        self.weights
            .iter()
            .map(|(f, w)| format!("{}={w}", f.name()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Parses `30s`, `500ms`, `2m`, `1h`, `1m30s` or a plain number of seconds.
///
/// # Errors
/// On anything else.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|e| format!("`{text}`: {e}"));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err("empty duration".to_owned());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}`: a number needs a unit (ms, s, m, h)"))?;
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{text}`: `{number}` is not a number"))?;
        let secs = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" | "min" => value * 60.0,
            "h" => value * 3600.0,
            _ => return Err(format!("`{text}`: unknown unit `{unit}` (ms, s, m, h)")),
        };
        total += Duration::try_from_secs_f64(secs).map_err(|e| format!("`{text}`: {e}"))?;
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("15").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        for bad in ["", "s", "10x", "-1", "abc", "5 s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mixes() {
        let mix = Mix::parse("signin=100,register=0,list=0,password=0").unwrap();
        assert_eq!(mix, Mix::default());
        assert!(!mix.needs_token());
        assert_eq!(mix.pick(12345), Flow::SignIn);

        let mix = Mix::parse("signin=2, list=1 ,password=1").unwrap();
        assert!(mix.needs_token());
        assert_eq!(mix.describe(), "signin=2,list=1,password=1");
        let picks: Vec<Flow> = (0..4).map(|r| mix.pick(r)).collect();
        assert_eq!(
            picks,
            [Flow::SignIn, Flow::SignIn, Flow::List, Flow::Password]
        );
        assert_eq!(mix.as_map()["register"], 0);

        for bad in ["", "signin=0", "login=1", "signin", "signin=-1", "signin=x"] {
            assert!(Mix::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_and_validation() {
        let options =
            Options::for_target("http://127.0.0.1:1", "http://localhost:1", "localhost").unwrap();
        assert_eq!(options.users, 100);
        assert_eq!(options.concurrency, 8);
        assert_eq!(options.threads, 1);
        assert_eq!(options.duration, Duration::from_secs(30));
        assert_eq!(options.client, ClientMode::Shared);
        options.validate().unwrap();

        let too_many =
            Options::try_parse_from(["loadgen", "--users", "2", "--concurrency", "3"]).unwrap();
        assert!(too_many.validate().is_err());
        assert!(Options::try_parse_from(["loadgen", "--mix", "nope=1"]).is_err());
        assert!(Options::try_parse_from(["loadgen", "--duration", "10parsecs"]).is_err());
    }
}
