//! The client's address, for logs and rate limits. Forwarding headers
//! (`X-Forwarded-For`, `Forwarded`) are believed only when the connection
//! comes from a configured trusted proxy; then the right-most address that
//! is not itself a trusted proxy is the client. Anything else is spoofable.

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// From CIDRs or single addresses (`10.0.0.0/8`, `127.0.0.1`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("server.trusted_proxies: {entry:?} is not an address or CIDR")
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request that arrived from `peer` with the
    /// given header values.
    pub fn client_ip(
        &self,
        peer: IpAddr,
        forwarded: Option<&str>,
        x_forwarded_for: Option<&str>,
    ) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let chain: Vec<IpAddr> = match (forwarded, x_forwarded_for) {
            (Some(forwarded), _) => forwarded_for(forwarded),
            (None, Some(list)) => list
                .split(',')
                .filter_map(|hop| parse_ip(hop.trim()))
                .collect(),
            (None, None) => Vec::new(),
        };
        chain
            .into_iter()
            .rev()
            .find(|hop| !self.trusts(*hop))
            .unwrap_or(peer)
    }
}

/// The `for=` addresses of an RFC 7239 `Forwarded` header, in order.
fn forwarded_for(header: &str) -> Vec<IpAddr> {
    header
        .split(',')
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            name.eq_ignore_ascii_case("for")
                .then(|| parse_ip(value.trim().trim_matches('"')))?
        })
        .collect()
}

/// `203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    text.rsplit_once(':')
        .and_then(|(host, _port)| host.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_cannot_claim_another_address() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        let client = proxies.client_ip(ip("203.0.113.9"), None, Some("198.51.100.1"));
        assert_eq!(client, ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("127.0.0.1"), Some("for=1.2.3.4"), None),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn trusted_proxy_chains_resolve_to_the_first_untrusted_hop_from_the_right() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap();
        let header = "198.51.100.66, 203.0.113.5, 10.1.2.3";
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), None, Some(header)),
            ip("203.0.113.5")
        );
        let forwarded = r#"for=198.51.100.66, for="[2001:db8::7]:4711";proto=https, for=10.0.0.2"#;
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), Some(forwarded), None),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn garbage_headers_fall_back_to_the_peer() {
        let proxies = TrustedProxies::parse(&["127.0.0.1".into()]).unwrap();
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), None, Some("unknown, , x")),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn bad_configuration_is_reported() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
    }
}
