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
    /// Exit 0 when the service on the configured address answers /healthz
    /// (for container health checks, where no curl is installed).
    Healthcheck,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::GenerateKey) = cli.command {
        println!(
            "{}",
            monetro_adapters::generate_signing_key_pem().map_err(anyhow::Error::msg)?
        );
        return Ok(());
    }
    let config = Config::load().context("invalid configuration")?;
    telemetry::init(&config.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Healthcheck => healthcheck(&config.server.bind),
        Command::Migrate => {
            open_store(&config).await?;
            Ok(())
        }
        Command::Serve | Command::GenerateKey => {
            let application = Application::build(config).await?;
            application
                .run_until_stopped()
                .await
                .context("server failed")
        }
    }
}

/// A minimal HTTP/1.1 `GET /healthz` against the configured address.
fn healthcheck(bind: &str) -> anyhow::Result<()> {
    use std::io::{Read as _, Write as _};
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    let mut address: SocketAddr = bind
        .parse()
        .with_context(|| format!("server.bind {bind:?}"))?;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.1 200"),
        "unhealthy: {}",
        String::from_utf8_lossy(&head)
    );
    Ok(())
}
