//! The safety check on where load goes: loopback only, unless allowed.

use std::net::{IpAddr, SocketAddr};

use reqwest::Url;
use url::Host;

/// Whether `ip` is a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x).
#[must_use]
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether a host name is `localhost` (or a name under `.localhost`).
#[must_use]
pub fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Checks that `base` is a plain-HTTP URL whose host is a loopback address
/// or `localhost`, and returns the addresses to pin a host name to (every
/// address it resolves to must be loopback too). With `allow_remote`, any
/// host is accepted and nothing is pinned.
///
/// # Errors
/// When the URL is not `http://`, has no host, is not loopback (without
/// `allow_remote`), or its name does not resolve to loopback addresses only.
pub async fn check_base_url(base: &Url, allow_remote: bool) -> anyhow::Result<Vec<SocketAddr>> {
    anyhow::ensure!(
        base.scheme() == "http",
        "--base-url {base}: only http:// is supported (the service is benchmarked on loopback, without TLS)"
    );
    let port = base.port_or_known_default().unwrap_or(80);
    let refuse = || {
        anyhow::anyhow!(
            "--base-url {base} is not a loopback address (127.0.0.0/8, localhost, [::1]); \
             this tool sends load only to this machine unless --allow-remote is given"
        )
    };
    match base.host() {
        None => anyhow::bail!("--base-url {base} has no host"),
        Some(_) if allow_remote => Ok(Vec::new()),
        Some(Host::Ipv4(ip)) if is_loopback_ip(IpAddr::V4(ip)) => Ok(Vec::new()),
        Some(Host::Ipv6(ip)) if is_loopback_ip(IpAddr::V6(ip)) => Ok(Vec::new()),
        Some(Host::Domain(name)) if is_localhost_name(name) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                .await
                .map_err(|e| anyhow::anyhow!("cannot resolve {name}: {e}"))?
                .collect();
            anyhow::ensure!(!addrs.is_empty(), "{name} resolves to no address");
            if let Some(bad) = addrs.iter().find(|a| !is_loopback_ip(a.ip())) {
                anyhow::bail!(
                    "{name} resolves to {bad}, which is not a loopback address; refusing (use --allow-remote to override)"
                );
            }
            Ok(addrs)
        }
        Some(_) => Err(refuse()),
    }
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

    async fn check(url: &str, allow_remote: bool) -> anyhow::Result<Vec<SocketAddr>> {
        check_base_url(&Url::parse(url).unwrap(), allow_remote).await
    }

    #[tokio::test]
    async fn loopback_targets_are_accepted() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3:1",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]:8080",
        ] {
            assert!(check(url, false).await.unwrap().is_empty(), "{url}");
        }
        let pinned = check("http://localhost:8080", false).await.unwrap();
        assert!(!pinned.is_empty());
        assert!(
            pinned
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 8080)
        );
    }

    #[tokio::test]
    async fn other_targets_are_refused_without_allow_remote() {
        for url in [
            "http://10.0.0.1:8080",
            "http://192.168.1.1",
            "http://8.8.8.8",
            "http://0.0.0.0:8080",
            "http://[::]:8080",
            "http://[2001:db8::1]",
            "http://example.com",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
        ] {
            let err = check(url, false).await.unwrap_err().to_string();
            assert!(err.contains("not a loopback"), "{url}: {err}");
        }
        // Allowed explicitly (nothing is resolved or contacted here).
        assert!(check("http://10.0.0.1:8080", true).await.is_ok());
    }

    #[tokio::test]
    async fn https_and_odd_schemes_are_refused() {
        assert!(check("https://127.0.0.1", false).await.is_err());
        assert!(check("ftp://127.0.0.1", true).await.is_err());
    }
}
