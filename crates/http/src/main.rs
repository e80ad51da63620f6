//! `monetro`: the passkey service. `monetro` (or `monetro serve`) runs it;
//! `monetro migrate` applies database migrations and exits;
//! `monetro generate-key` prints a new token signing key.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use monetro_http::config::Config;
use monetro_http::startup::{Application, open_store};
use monetro_http::telemetry;

#[derive(Parser)]
#[command(version, about = "Monetro passkey service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Print a new P-256 token signing key (PKCS#8 PEM) for configuration.
    GenerateKey,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::GenerateKey) = cli.command {
        println!("{}", monetro_adapters::generate_signing_key_pem().map_err(anyhow::Error::msg)?);
        return Ok(());
    }
    let config = Config::load().context("invalid configuration")?;
    telemetry::init(&config.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            open_store(&config).await?;
            Ok(())
        }
        Command::Serve | Command::GenerateKey => {
            let application = Application::build(config).await?;
            application.run_until_stopped().await.context("server failed")
        }
    }
}
