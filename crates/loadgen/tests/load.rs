//! Short loads against the real service, in-process on SQLite.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, Instant};

use monetro_loadgen::{ClientMode, Mix, Report, StateFile, Stop, run};
use serde_json::Value;

use common::{TempDir, loadgen, spawn};

fn assert_no_errors(report: &Report) {
    assert_eq!(report.error_total(), 0, "{}", report.to_text());
    assert_eq!(report.exit_code(false), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_run_has_no_errors_and_the_state_file_is_reused() {
    let server = spawn().await;
    let dir = TempDir::new("state");
    let state = dir.file("state.json");
    let json = dir.file("report.json");
    let mut options = server.options(20, 4, Duration::from_secs(2));
    options.state = Some(state.clone());

    let report = run(&options, &Stop::new()).await.unwrap();
    assert_no_errors(&report);
    assert_eq!(
        (report.setup.reused_users, report.setup.created_users),
        (0, 20)
    );
    assert_eq!(
        report.setup.phase.counts(monetro_loadgen::Flow::SetupUser),
        (20, 0)
    );
    assert!(report.sign_ins.ok > 0, "{}", report.to_text());
    assert_eq!(report.sign_ins.failed, 0);
    assert!(report.sign_ins.per_second > 0.0);
    assert!(!report.interrupted);
    // Both calls of every sign-in, and nothing else, in the timed run.
    let endpoints = &report.run.endpoints;
    assert_eq!(
        endpoints.keys().collect::<Vec<_>>(),
        ["authenticate", "authenticate-options"]
    );
    for endpoint in endpoints.values() {
        assert_eq!(endpoint.requests, report.sign_ins.ok);
        assert_eq!((endpoint.non_2xx, endpoint.transport_errors), (0, 0));
        let latency = endpoint.latency_ms.as_ref().unwrap();
        assert!(latency.p50 > 0.0 && latency.p50 <= latency.p90);
        assert!(latency.p90 <= latency.p99 && latency.p99 <= latency.max);
    }
    let full = report.sign_ins.latency_ms.as_ref().unwrap();
    assert_eq!(full.count, report.sign_ins.ok);
    let options_p50 = endpoints["authenticate-options"]
        .latency_ms
        .as_ref()
        .unwrap()
        .p50;
    assert!(full.p50 >= options_p50);
    assert!(report.run.elapsed_secs >= 2.0 && report.run.elapsed_secs < 4.0);

    // The JSON report carries the documented fields.
    report.write_json(&json).unwrap();
    let doc: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(
        doc["tool"]
            .as_str()
            .unwrap()
            .starts_with("monetro-loadgen ")
    );
    assert_eq!(doc["target"]["baseUrl"], server.base);
    assert_eq!(doc["target"]["origin"], server.origin);
    assert_eq!(doc["target"]["rpId"], "localhost");
    assert_eq!(doc["settings"]["users"], 20);
    assert_eq!(doc["settings"]["concurrency"], 4);
    assert_eq!(doc["settings"]["virtualUsers"], 4);
    assert_eq!(doc["settings"]["threads"], 1);
    assert_eq!(doc["settings"]["durationSecs"], 2.0);
    assert_eq!(doc["settings"]["mix"]["signin"], 100);
    assert_eq!(doc["settings"]["mix"]["password"], 0);
    assert_eq!(doc["settings"]["client"], "shared");
    assert_eq!(doc["setup"]["createdUsers"], 20);
    assert_eq!(doc["setup"]["operations"]["setup-user"]["ok"], 20);
    assert_eq!(doc["setup"]["endpoints"]["signup"]["requests"], 20);
    assert_eq!(doc["signIns"]["ok"], report.sign_ins.ok);
    assert_eq!(doc["signIns"]["failed"], 0);
    assert!(doc["signIns"]["perSecond"].as_f64().unwrap() > 0.0);
    for key in ["count", "mean", "p50", "p90", "p99", "max"] {
        assert!(doc["signIns"]["latencyMs"][key].is_number(), "{key}");
        assert!(
            doc["run"]["operations"]["signin"]["latencyMs"][key].is_number(),
            "{key}"
        );
        assert!(
            doc["run"]["endpoints"]["authenticate"]["latencyMs"][key].is_number(),
            "{key}"
        );
    }
    assert_eq!(doc["run"]["endpoints"]["authenticate"]["non2xx"], 0);
    assert_eq!(
        doc["run"]["endpoints"]["authenticate"]["transportErrors"],
        0
    );
    assert_eq!(doc["run"]["errors"], Value::Array(vec![]));
    assert_eq!(doc["errors"]["total"], 0);
    assert_eq!(doc["interrupted"], false);
    if cfg!(target_os = "linux") {
        assert!(doc["loadgenCpu"]["perOperationMicros"].as_f64().unwrap() > 0.0);
    }
    // The file parses back into the library's type.
    let back: Report = serde_json::from_value(doc).unwrap();
    assert_eq!(back, report);

    // The state file holds the users; a second run reuses them all.
    let saved = StateFile::load(&state).unwrap().unwrap();
    assert_eq!(saved.users.len(), 20);
    assert_eq!(saved.base_url, server.base);
    assert_eq!(saved.rp_id, "localhost");
    let again = run(&options, &Stop::new()).await.unwrap();
    assert_no_errors(&again);
    assert_eq!(
        (again.setup.reused_users, again.setup.created_users),
        (20, 0)
    );
    assert!(
        !again.setup.phase.endpoints.contains_key("signup"),
        "no new sign-ups: {:?}",
        again.setup.phase.endpoints
    );
    assert!(again.sign_ins.ok > 0);

    // More users than saved: only the missing ones are created.
    options.users = 24;
    let more = run(&options, &Stop::new()).await.unwrap();
    assert_no_errors(&more);
    assert_eq!((more.setup.reused_users, more.setup.created_users), (20, 4));
    assert_eq!(more.setup.phase.endpoints["signup"].requests, 4);
    assert_eq!(StateFile::load(&state).unwrap().unwrap().users.len(), 24);

    // A state file of another target is refused, not silently replaced.
    let mut other = options.clone();
    other.base_url = format!("http://localhost:{}", server.port);
    let err = run(&other, &Stop::new()).await.unwrap_err().to_string();
    assert!(err.contains("state file"), "{err}");
    assert_eq!(
        StateFile::load(&state).unwrap().unwrap().base_url,
        server.base
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_origin_is_reported_by_code_with_a_failing_exit_status() {
    let server = spawn().await;
    let dir = TempDir::new("origin");
    let state = dir.file("state.json");
    // Set-up only (duration 0), with the right origin.
    let mut options = server.options(6, 2, Duration::ZERO);
    options.state = Some(state.clone());
    let setup = run(&options, &Stop::new()).await.unwrap();
    assert_no_errors(&setup);
    assert_eq!(setup.setup.created_users, 6);
    assert_eq!(setup.sign_ins.ok + setup.sign_ins.failed, 0);

    // Then sign-ins whose clientDataJSON names an origin the service does
    // not accept (same RP ID, other port): every authenticate is a 401.
    let json = dir.file("report.json");
    let args = |allow_errors: bool| {
        let mut args: Vec<String> = [
            "--base-url",
            &server.base,
            "--origin",
            "http://localhost:1",
            "--rp-id",
            "localhost",
            "--users",
            "6",
            "--concurrency",
            "2",
            "--duration",
            "1s",
            "--quiet",
            "--state",
            state.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        if allow_errors {
            args.push("--allow-errors".to_owned());
        }
        args
    };
    let output = loadgen(args(false)).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("AUTHENTICATION_FAILED"), "{stdout}");
    assert!(stdout.contains("401"), "{stdout}");
    assert!(stdout.contains("0 ok"), "{stdout}");

    let doc: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let report: Report = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(report.setup.reused_users, 6);
    assert_eq!(report.sign_ins.ok, 0);
    let failed = report.sign_ins.failed;
    assert!(failed > 0, "{stdout}");
    assert_eq!(
        doc["run"]["errors"],
        serde_json::json!([{
            "endpoint": "authenticate",
            "status": 401,
            "code": "AUTHENTICATION_FAILED",
            "count": failed,
        }])
    );
    assert_eq!(report.run.endpoints["authenticate"].non_2xx, failed);
    assert_eq!(report.run.endpoints["authenticate-options"].non_2xx, 0);
    // The state check before the run failed the same way, and counts too.
    assert_eq!(report.errors.setup, 1);
    assert_eq!(report.setup.phase.errors[0].code, "AUTHENTICATION_FAILED");
    assert_eq!(report.errors.total, failed + 1);

    // --allow-errors: same report, exit status 0.
    let output = loadgen(args(true)).await;
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("AUTHENTICATION_FAILED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mix_of_operations_runs_without_errors() {
    let server = spawn().await;
    let mut options = server.options(6, 3, Duration::from_secs(2));
    options.mix = Mix::parse("signin=40,register=20,list=20,password=20").unwrap();
    options.warmup = Duration::from_millis(300);
    options.threads = 2;
    let report = run(&options, &Stop::new()).await.unwrap();
    assert_no_errors(&report);
    for kind in ["signin", "register", "list", "password"] {
        let op = report
            .run
            .operations
            .get(kind)
            .unwrap_or_else(|| panic!("no {kind}: {}", report.to_text()));
        assert!(op.ok > 0 && op.failed == 0, "{kind}: {}", report.to_text());
    }
    for endpoint in ["register-options", "register", "list", "login"] {
        assert!(report.run.endpoints.contains_key(endpoint), "{endpoint}");
    }
    assert!(report.warmup.operations.contains_key("signin"));
    assert_eq!(report.settings.mix["register"], 20);
    let text = report.to_text();
    assert!(
        text.contains("full sign-in") && text.contains("errors     none"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_run_starts_exactly_the_scheduled_operations() {
    let server = spawn().await;
    let mut options = server.options(4, 4, Duration::from_secs(2));
    options.warmup = Duration::ZERO;
    options.rate = Some(40.0);
    let report = run(&options, &Stop::new()).await.unwrap();
    assert_no_errors(&report);
    // 4 virtual users, each every 100 ms, staggered by 25 ms, for 2 s: 80
    // starts, however fast the service answers (closed loop, 4 virtual
    // users do hundreds in 2 s).
    assert_eq!(report.sign_ins.ok, 80, "{}", report.to_text());
    assert!(
        (35.0..=41.0).contains(&report.sign_ins.per_second),
        "{}",
        report.to_text()
    );
    assert_eq!(report.settings.rate, Some(40.0));
    assert!(report.to_text().contains("paced at 40/s (open loop)"));

    for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        options.rate = Some(rate);
        let refused = run(&options, &Stop::new()).await.unwrap_err();
        assert!(refused.to_string().contains("--rate"), "{refused}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_per_virtual_user_with_its_own_cookie_store_works_too() {
    let server = spawn().await;
    let mut options = server.options(4, 2, Duration::from_secs(1));
    options.client = ClientMode::PerVu;
    let report = run(&options, &Stop::new()).await.unwrap();
    assert_no_errors(&report);
    assert!(report.sign_ins.ok > 0);
    assert_eq!(report.settings.client, "per-vu");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stop_signal_ends_a_long_run_with_a_report() {
    let server = spawn().await;
    let options = server.options(4, 2, Duration::from_secs(600));
    let stop = Stop::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        trigger.trigger();
    });
    let started = Instant::now();
    let report = run(&options, &stop).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(report.interrupted);
    assert_no_errors(&report);
    assert!(report.sign_ins.ok > 0);
    assert!(report.run.elapsed_secs < 30.0);
    assert!(report.to_text().contains("INTERRUPTED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_the_server_does_not_know_is_refused() {
    let first = spawn().await;
    let dir = TempDir::new("stale");
    let state = dir.file("state.json");
    let mut options = first.options(2, 1, Duration::ZERO);
    options.state = Some(state.clone());
    assert_no_errors(&run(&options, &Stop::new()).await.unwrap());

    // The same file pointed at a fresh database (as after a reset).
    let second = spawn().await;
    let mut saved = StateFile::load(&state).unwrap().unwrap();
    saved.base_url = second.base.clone();
    saved.save(&state).unwrap();
    let mut options = second.options(2, 1, Duration::from_secs(1));
    options.state = Some(state.clone());
    let err = run(&options, &Stop::new()).await.unwrap_err().to_string();
    assert!(
        err.contains("PASSKEY_NOT_FOUND") && err.contains("--fresh-state"),
        "{err}"
    );

    // --fresh-state sets up new users there and replaces the file.
    options.fresh_state = true;
    let report = run(&options, &Stop::new()).await.unwrap();
    assert_no_errors(&report);
    assert_eq!(report.setup.created_users, 2);
    assert!(report.sign_ins.ok > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_and_unreachable_targets_are_refused_before_any_load() {
    let output = loadgen(
        ["--base-url", "http://10.11.12.13:8080", "--duration", "1s"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a loopback address"), "{stderr}");
    assert!(output.stdout.is_empty());

    // Nothing listens on port 1.
    let mut options = monetro_loadgen::Options::for_target(
        "http://127.0.0.1:1",
        "http://localhost:1",
        "localhost",
    )
    .unwrap();
    options.quiet = true;
    let err = run(&options, &Stop::new()).await.unwrap_err().to_string();
    assert!(err.contains("cannot reach"), "{err}");
}
