//! The phases: set-up (users from the state file, the missing ones
//! created), then the timed run of the virtual users.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::cpu::CpuTime;
use crate::http::{Browser, ClientFactory, Target};
use crate::ops::{self, User};
use crate::options::{Mix, Options};
use crate::report::{
    CpuReport, ErrorTotals, Report, SettingsReport, SetupReport, SignInSummary, TargetReport,
};
use crate::state::{StateFile, UserRecord};
use crate::stats::{Flow, Stats, Trace, round};

/// Asks a run to stop early (Ctrl-C): virtual users finish the request
/// they are in and stop; the report covers what was done.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<StopInner>);

#[derive(Debug, Default)]
struct StopInner {
    flag: AtomicBool,
    notify: Notify,
}

impl Stop {
    /// A stop signal not yet triggered.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Triggers it.
    pub fn trigger(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether it was triggered.
    #[must_use]
    pub fn is_triggered(&self) -> bool {
        self.0.flag.load(Ordering::Relaxed)
    }

    /// Waits until it is triggered.
    pub async fn triggered(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}

/// Counters the progress line reads while a phase runs.
#[derive(Debug, Default)]
struct Live {
    signins_ok: AtomicU64,
    signins_failed: AtomicU64,
    operations: AtomicU64,
    errors: AtomicU64,
}

fn lock(stats: &Mutex<Stats>) -> std::sync::MutexGuard<'_, Stats> {
    stats.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records a finished operation into `stats` and the live counters.
fn finish(stats: &Mutex<Stats>, live: &Live, flow: Flow, trace: &Trace, started: Instant) {
    let elapsed = started.elapsed();
    lock(stats).record(flow, trace, elapsed);
    live.operations.fetch_add(1, Ordering::Relaxed);
    if !trace.ok() {
        live.errors.fetch_add(1, Ordering::Relaxed);
    }
    if flow == Flow::SignIn {
        let counter = if trace.ok() {
            &live.signins_ok
        } else {
            &live.signins_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A small xorshift generator for picking operations (not for secrets).
struct XorShift(u64);

impl XorShift {
    fn seeded() -> Self {
        Self(uuid::Uuid::new_v4().as_u64_pair().0 | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Rates over the last progress interval.
#[derive(Debug, Clone, Copy)]
struct Rates {
    /// Successful sign-ins per second.
    sign_ins: f64,
    /// Finished operations (any kind, any outcome) per second.
    operations: f64,
}

/// Prints a progress line on stderr every second until aborted.
fn spawn_progress(
    live: Arc<Live>,
    describe: impl Fn(&Live, f64, Rates) -> String + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        let mut last_ops = 0u64;
        let mut last_signins = 0u64;
        let mut last = Instant::now();
        loop {
            interval.tick().await;
            let now = Instant::now();
            let dt = now.duration_since(last).as_secs_f64().max(1e-3);
            let signins = live.signins_ok.load(Ordering::Relaxed);
            let ops = live.operations.load(Ordering::Relaxed);
            let rates = Rates {
                sign_ins: signins.saturating_sub(last_signins) as f64 / dt,
                operations: ops.saturating_sub(last_ops) as f64 / dt,
            };
            eprintln!(
                "loadgen: {}",
                describe(&live, started.elapsed().as_secs_f64(), rates)
            );
            last_ops = ops;
            last_signins = signins;
            last = now;
        }
    })
}

/// The set-up phase's outcome.
struct SetUp {
    users: Vec<UserRecord>,
    reused: usize,
    created: usize,
    failed: usize,
    elapsed: Duration,
    stats: Stats,
}

async fn set_up(
    options: &Options,
    target: &Arc<Target>,
    factory: &ClientFactory,
    stop: &Stop,
) -> anyhow::Result<SetUp> {
    let started = Instant::now();
    let mut state = StateFile::new(target.base_str(), &target.rp_id, &target.origin);
    if let Some(path) = &options.state
        && !options.fresh_state
        && let Some(saved) = StateFile::load(path)?
    {
        anyhow::ensure!(
            saved.matches(target.base_str(), &target.rp_id),
            "state file {} holds users of {} (rp id {}), not of {} (rp id {}); \
             use another --state file, or --fresh-state to replace it",
            path.display(),
            saved.base_url,
            saved.rp_id,
            target.base_str(),
            target.rp_id
        );
        state = saved;
    }
    let reused = state.users.len().min(options.users);
    let missing = options.users - reused;
    let stats = Arc::new(Mutex::new(Stats::default()));
    let live = Arc::new(Live::default());

    // A reused state is only useful if the server still knows its passkeys.
    if reused > 0
        && let Some(first) = state.users.first()
    {
        let mut browser = factory.browser()?;
        let mut user = User::new(first.clone());
        let mut trace = Trace::default();
        let t0 = Instant::now();
        ops::sign_in(&mut browser, target, &mut user, false, &mut trace).await;
        finish(&stats, &live, Flow::SignIn, &trace, t0);
        let unknown = lock(&stats)
            .summary(Duration::ZERO)
            .errors
            .iter()
            .any(|e| e.code == "PASSKEY_NOT_FOUND" && e.endpoint == "authenticate");
        anyhow::ensure!(
            !unknown,
            "the service does not know the passkeys of the state file ({} answers 404 \
             PASSKEY_NOT_FOUND: was its database reset?); run with --fresh-state",
            target.base_str()
        );
    }

    let mut created_users = Vec::new();
    if missing > 0 {
        let prefix: String = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .chars()
            .take(10)
            .collect();
        let progress = (!options.quiet).then(|| {
            spawn_progress(live.clone(), move |live, secs, rates| {
                format!(
                    "set-up {:.0}s  users {}/{missing} ({:.0}/s)  errors {}",
                    secs,
                    live.operations.load(Ordering::Relaxed) - live.errors.load(Ordering::Relaxed),
                    rates.operations,
                    live.errors.load(Ordering::Relaxed)
                )
            })
        });
        let next = Arc::new(AtomicU64::new(0));
        let created = Arc::new(Mutex::new(Vec::with_capacity(missing)));
        let mut workers = Vec::new();
        for _ in 0..options.setup_concurrency.min(missing) {
            let mut browser = factory.browser()?;
            let (target, next, created, stats, live, stop) = (
                target.clone(),
                next.clone(),
                created.clone(),
                stats.clone(),
                live.clone(),
                stop.clone(),
            );
            let prefix = prefix.clone();
            let missing = missing as u64;
            workers.push(tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= missing || stop.is_triggered() {
                        break;
                    }
                    let email = format!("loadgen-{prefix}-{index}@example.com");
                    let password = format!("lg-{}", uuid::Uuid::new_v4().simple());
                    let mut trace = Trace::default();
                    let t0 = Instant::now();
                    let record =
                        ops::set_up_user(&mut browser, &target, email, password, &mut trace).await;
                    finish(&stats, &live, Flow::SetupUser, &trace, t0);
                    if let Some(record) = record {
                        created
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(record);
                    }
                }
            }));
        }
        for worker in workers {
            worker.await?;
        }
        if let Some(progress) = progress {
            progress.abort();
        }
        created_users =
            std::mem::take(&mut *created.lock().unwrap_or_else(PoisonError::into_inner));
    }

    let created = created_users.len();
    let failed = usize::try_from(lock(&stats).flow_counts(Flow::SetupUser).1).unwrap_or(usize::MAX);
    if created > 0 {
        state.users.extend(created_users);
        if let Some(path) = &options.state {
            state.save(path)?;
        }
    }
    state.users.truncate(options.users);
    let stats = std::mem::take(&mut *lock(&stats));
    Ok(SetUp {
        users: state.users,
        reused,
        created,
        failed,
        elapsed: started.elapsed(),
        stats,
    })
}

/// What the virtual users share.
struct RunShared {
    target: Arc<Target>,
    mix: Mix,
    warmup_end: Instant,
    end: Instant,
    /// With `--rate`: the first scheduled start and the time between two
    /// scheduled starts of one virtual user.
    pace: Option<Pace>,
    stop: Stop,
    warmup: Mutex<Stats>,
    run: Mutex<Stats>,
    live: Arc<Live>,
}

/// The open-loop schedule of `--rate`: virtual user `i` of `n` starts at
/// `start + interval × i / n`, then every `interval` (= n / rate).
#[derive(Clone, Copy)]
struct Pace {
    start: Instant,
    interval: Duration,
    virtual_users: u32,
}

impl Pace {
    fn new(start: Instant, rate: f64, virtual_users: usize) -> Self {
        let virtual_users = u32::try_from(virtual_users.max(1)).unwrap_or(u32::MAX);
        Self {
            start,
            interval: Duration::from_secs_f64(f64::from(virtual_users) / rate),
            virtual_users,
        }
    }

    fn first(&self, index: u32) -> Instant {
        self.start + self.interval * index / self.virtual_users
    }
}

async fn virtual_user(
    shared: Arc<RunShared>,
    index: u32,
    mut browser: Browser,
    mut users: Vec<User>,
) -> Instant {
    let mut random = XorShift::seeded();
    let keep_token = shared.mix.needs_token();
    let mut next = 0usize;
    let mut scheduled = shared.pace.map(|pace| pace.first(index));
    loop {
        // Paced: wait for the scheduled start and count latency from it,
        // even when the previous operation made this one late.
        let started = scheduled.unwrap_or_else(Instant::now);
        if started >= shared.end || shared.stop.is_triggered() {
            return Instant::now();
        }
        if let (Some(at), Some(pace)) = (scheduled, shared.pace) {
            tokio::time::sleep_until(at.into()).await;
            scheduled = Some(at + pace.interval);
        }
        let stats = if started < shared.warmup_end {
            &shared.warmup
        } else {
            &shared.run
        };
        let count = users.len();
        let Some(user) = users.get_mut(next) else {
            return started;
        };
        next = (next + 1) % count.max(1);
        let mut flow = shared.mix.pick(random.next());
        let mut trace = Trace::default();
        // Register and list need a bearer token: sign in first when the
        // user has none (that sign-in is the operation counted).
        let bearer = match flow {
            Flow::Register | Flow::List => user.fresh_token().cloned(),
            _ => None,
        };
        if matches!(flow, Flow::Register | Flow::List) && bearer.is_none() {
            flow = Flow::SignIn;
        }
        let target = &shared.target;
        match (flow, bearer) {
            (Flow::Register, Some(bearer)) => {
                // A passkey from another device: the user's authenticator
                // already holds a credential the options exclude.
                let mut device = ops::new_authenticator();
                ops::register_passkey(&mut browser, target, &mut device, &bearer, &mut trace).await;
            }
            (Flow::List, Some(bearer)) => {
                ops::list(&mut browser, target, &bearer, &mut trace).await;
            }
            (Flow::Password, _) => {
                ops::password_login(&mut browser, target, user, keep_token, &mut trace).await;
            }
            _ => {
                flow = Flow::SignIn;
                ops::sign_in(&mut browser, target, user, keep_token, &mut trace).await;
            }
        }
        finish(stats, &shared.live, flow, &trace, started);
    }
}

/// Runs set-up and the timed run as `options` say, and reports.
///
/// # Errors
/// Before any load: bad options, a refused or unreachable target, an
/// unusable state file. Errors of requests are counted in the report.
pub async fn run(options: &Options, stop: &Stop) -> anyhow::Result<Report> {
    options.validate()?;
    let base = reqwest::Url::parse(&options.base_url)
        .map_err(|e| anyhow::anyhow!("--base-url {}: {e}", options.base_url))?;
    let pinned = crate::target::check_base_url(&base, options.allow_remote).await?;
    let target = Arc::new(Target::new(
        base,
        options.origin.clone(),
        options.rp_id.clone(),
        pinned,
    )?);
    let factory = ClientFactory::new(
        &target,
        options.client,
        options.timeout,
        options.concurrency.max(options.setup_concurrency),
    )?;
    match target.probe(factory.shared(), "/healthz").await {
        Ok(status) if (200..300).contains(&status) => {}
        Ok(status) => anyhow::bail!("{}/healthz answered {status}", target.base_str()),
        Err(e) => anyhow::bail!("cannot reach {}: {e}", target.base_str()),
    }

    let setup = set_up(options, &target, &factory, stop).await?;
    let virtual_users = options.concurrency.min(setup.users.len());
    if virtual_users < options.concurrency && !options.quiet {
        eprintln!(
            "loadgen: only {} users are available: running {virtual_users} virtual users",
            setup.users.len()
        );
    }

    // Each virtual user gets its own browser and accounts of its own.
    let mut partitions: Vec<Vec<User>> = (0..virtual_users).map(|_| Vec::new()).collect();
    for (i, record) in setup.users.into_iter().enumerate() {
        if let Some(part) = partitions.get_mut(i % virtual_users.max(1)) {
            part.push(User::new(record));
        }
    }

    let cpu_before = CpuTime::now();
    let started = Instant::now();
    let timed = !options.duration.is_zero() && virtual_users > 0 && !stop.is_triggered();
    let warmup = if timed {
        options.warmup
    } else {
        Duration::ZERO
    };
    let shared = Arc::new(RunShared {
        target: target.clone(),
        mix: options.mix.clone(),
        warmup_end: started + warmup,
        end: started
            + warmup
            + if timed {
                options.duration
            } else {
                Duration::ZERO
            },
        pace: options
            .rate
            .map(|rate| Pace::new(started, rate, virtual_users)),
        stop: stop.clone(),
        warmup: Mutex::new(Stats::default()),
        run: Mutex::new(Stats::default()),
        live: Arc::new(Live::default()),
    });
    let mut last_finish = started;
    if timed {
        let progress = (!options.quiet).then(|| {
            let (warmup, duration) = (warmup.as_secs_f64(), options.duration.as_secs_f64());
            spawn_progress(shared.live.clone(), move |live, secs, rates| {
                let phase = if secs < warmup {
                    format!("warm-up {secs:.0}/{warmup:.0}s")
                } else {
                    format!("run {:.0}/{duration:.0}s", secs - warmup)
                };
                format!(
                    "{phase}  sign-ins {} ({:.0}/s)  failed {}  errors {}",
                    live.signins_ok.load(Ordering::Relaxed),
                    rates.sign_ins,
                    live.signins_failed.load(Ordering::Relaxed),
                    live.errors.load(Ordering::Relaxed)
                )
            })
        });
        let mut tasks = Vec::with_capacity(virtual_users);
        for (index, users) in (0..).zip(partitions) {
            let browser = factory.browser()?;
            tasks.push(tokio::spawn(virtual_user(
                shared.clone(),
                index,
                browser,
                users,
            )));
        }
        for task in tasks {
            last_finish = last_finish.max(task.await?);
        }
        if let Some(progress) = progress {
            progress.abort();
        }
    }
    let cpu = CpuTime::now()
        .zip(cpu_before)
        .map(|(after, before)| after.since(before));

    // The run window starts after the warm-up and ends when the last
    // operation started in it has finished.
    let run_elapsed = last_finish.saturating_duration_since(started + warmup);
    let warmup_elapsed = last_finish.saturating_duration_since(started).min(warmup);
    let run_report = lock(&shared.run).summary(run_elapsed);
    let warmup_report = lock(&shared.warmup).summary(warmup_elapsed);
    let setup_report = setup.stats.summary(setup.elapsed);
    let (ok, failed) = run_report.counts(Flow::SignIn);
    let sign_ins = SignInSummary {
        ok,
        failed,
        per_second: run_report
            .operations
            .get(Flow::SignIn.name())
            .map_or(0.0, |o| o.per_second),
        latency_ms: run_report
            .operations
            .get(Flow::SignIn.name())
            .and_then(|o| o.latency_ms.clone()),
    };
    let errors = ErrorTotals {
        setup: setup_report.error_total(),
        warmup: warmup_report.error_total(),
        run: run_report.error_total(),
        total: setup_report.error_total() + warmup_report.error_total() + run_report.error_total(),
    };
    let operations: u64 = run_report
        .operations
        .values()
        .chain(warmup_report.operations.values())
        .map(|o| o.ok + o.failed)
        .sum();
    let wall = last_finish.saturating_duration_since(started).as_secs_f64();
    let loadgen_cpu = cpu.filter(|_| timed).map(|cpu| {
        let total = (cpu.user + cpu.system).as_secs_f64();
        CpuReport {
            user_secs: round(cpu.user.as_secs_f64(), 2),
            system_secs: round(cpu.system.as_secs_f64(), 2),
            cores: if wall > 0.0 {
                round(total / wall, 3)
            } else {
                0.0
            },
            per_operation_micros: if operations > 0 {
                round(total * 1e6 / operations as f64, 1)
            } else {
                0.0
            },
        }
    });
    Ok(Report {
        tool: format!("monetro-loadgen {}", env!("CARGO_PKG_VERSION")),
        target: TargetReport {
            base_url: target.base_str().to_owned(),
            origin: target.origin.clone(),
            rp_id: target.rp_id.clone(),
        },
        settings: SettingsReport {
            users: options.users,
            concurrency: options.concurrency,
            virtual_users,
            setup_concurrency: options.setup_concurrency,
            threads: options.threads,
            duration_secs: options.duration.as_secs_f64(),
            rate: options.rate,
            warmup_secs: options.warmup.as_secs_f64(),
            timeout_secs: options.timeout.as_secs_f64(),
            mix: options.mix.as_map(),
            client: match options.client {
                crate::http::ClientMode::Shared => "shared",
                crate::http::ClientMode::PerVu => "per-vu",
            }
            .to_owned(),
            state_file: options.state.as_ref().map(|p| p.display().to_string()),
        },
        setup: SetupReport {
            reused_users: setup.reused,
            created_users: setup.created,
            failed_users: setup.failed,
            phase: setup_report,
        },
        warmup: warmup_report,
        run: run_report,
        sign_ins,
        errors,
        interrupted: stop.is_triggered(),
        loadgen_cpu,
    })
}
