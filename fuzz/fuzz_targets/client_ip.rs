//! The client address behind trusted proxies (`server.trusted_proxies`,
//! `Forwarded`, `X-Forwarded-For`): never panics; a peer that is not a
//! trusted proxy is the client whatever its headers say, and a forwarded
//! address is believed only when it is not itself a trusted proxy.
//!
//! Input: four lines, the proxies (comma-separated), the peer address, the
//! `Forwarded` header and the `X-Forwarded-For` header (`-` for none).
#![no_main]

use std::net::IpAddr;

use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use monetro_http::TrustedProxies;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(4, '\n');
    let entries: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    let peer = lines.next().unwrap_or_default();
    let forwarded = lines.next().filter(|h| *h != "-");
    let x_forwarded_for = lines.next().filter(|h| *h != "-");

    let expected: Option<Vec<IpNet>> = entries
        .iter()
        .map(|e| {
            e.parse::<IpNet>()
                .ok()
                .or_else(|| e.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect();
    let proxies = match TrustedProxies::parse(&entries) {
        Ok(proxies) => proxies,
        Err(message) => {
            assert!(expected.is_none(), "{entries:?} refused: {message}");
            assert!(message.starts_with("server.trusted_proxies: "));
            return;
        }
    };
    let Some(nets) = expected else {
        panic!("{entries:?} accepted");
    };
    let trusted = |ip: IpAddr| nets.iter().any(|net| net.contains(&ip));

    let Ok(peer) = peer.parse::<IpAddr>() else {
        return;
    };
    let client = proxies.client_ip(peer, forwarded, x_forwarded_for);
    if !trusted(peer) {
        assert_eq!(
            client, peer,
            "an untrusted peer was overruled by its headers"
        );
    } else if client != peer {
        assert!(
            !trusted(client),
            "{client} is a trusted proxy, not a client"
        );
        assert!(
            forwarded.is_some() || x_forwarded_for.is_some(),
            "{client} came from no header"
        );
    }
});
