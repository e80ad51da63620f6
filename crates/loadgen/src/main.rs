//! `loadgen`: see `docs/LOADGEN.md`.

use std::process::ExitCode;

use clap::Parser as _;
use monetro_loadgen::{Options, Stop, run};

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let stop = Stop::new();
        let on_signal = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "loadgen: stopping after the requests in flight (Ctrl-C again to quit now)"
                );
                on_signal.trigger();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        });
        match run(&options, &stop).await {
            Ok(report) => {
                print!("{}", report.to_text());
                if let Some(path) = &options.json
                    && let Err(e) = report.write_json(path)
                {
                    eprintln!("loadgen: {e:#}");
                    return ExitCode::from(2);
                }
                ExitCode::from(report.exit_code(options.allow_errors))
            }
            Err(e) => {
                eprintln!("loadgen: {e:#}");
                ExitCode::from(2)
            }
        }
    })
}
