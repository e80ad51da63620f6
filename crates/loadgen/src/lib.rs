//! `monetro-loadgen`: a load generator for the Monetro passkey service that
//! speaks only the HTTP contract (`../shared/API.md`), so it can be pointed
//! at any server implementing it.
//!
//! Each user has its own software authenticator (a P-256 passkey from
//! [`monetro_softauthn`]) that signs real assertions over the server's real
//! challenges; each virtual user has its own cookie jar, so the ceremony
//! cookie of an options call comes back with its finish call.
//!
//! Two phases, run by [`run`]:
//!
//! 1. **Set-up**: `--users` accounts, each signed up with one passkey
//!    registered, created `--setup-concurrency` at a time, and saved to a
//!    state file (`--state`) that later runs against the same base URL and
//!    RP ID reuse (a first sign-in checks the server still knows them).
//! 2. **Timed run**: `--concurrency` virtual users loop operations for
//!    `--duration` (after an optional `--warmup`): full usernameless passkey
//!    sign-ins (`authenticate-options` with `{}` then `authenticate`), or a
//!    `--mix` with extra passkey registrations, passkey lists and password
//!    logins. Each virtual user owns a disjoint share of the accounts.
//!
//! Every non-2xx answer and transport error is counted by endpoint, status
//! and error `code` in the [`Report`]; latencies go into HDR histograms.
//! Load goes to loopback addresses only unless `--allow-remote`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use monetro_loadgen::{Options, Stop, run};
//! let mut options = Options::for_target("http://127.0.0.1:8080", "http://localhost:8080", "localhost")?;
//! options.users = 20;
//! options.concurrency = 4;
//! options.duration = std::time::Duration::from_secs(2);
//! let report = run(&options, &Stop::new()).await?;
//! print!("{}", report.to_text());
//! assert_eq!(report.error_total(), 0);
//! # Ok(()) }
//! ```

pub mod cpu;
mod engine;
pub mod http;
mod ops;
pub mod options;
pub mod report;
pub mod state;
pub mod stats;
pub mod target;

pub use engine::{Stop, run};
pub use http::{ClientMode, Endpoint};
pub use options::{Mix, Options};
pub use report::Report;
pub use state::{StateFile, UserRecord};
pub use stats::Flow;
