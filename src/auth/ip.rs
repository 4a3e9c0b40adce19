//! Client addresses: who is really calling (through trusted proxies) and CIDR allow-lists.

use actix_web::HttpRequest;
use ipnet::IpNet;
use std::net::IpAddr;

/// Parses a comma-separated list of CIDRs or plain addresses (a plain address is a /32 or /128).
pub fn parse_cidrs(list: &str) -> Result<Vec<IpNet>, String> {
    crate::lists::comma_separated(list)
        .map(|s| parse_net(s).ok_or_else(|| format!("{s:?} is not an address or CIDR")))
        .collect()
}

/// One CIDR or plain address.
pub fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// The caller's address. `X-Forwarded-For` is believed only when the peer is a trusted proxy;
/// then the right-most address that is not itself a trusted proxy is the client.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    Some(resolve(peer, &forwarded, trusted))
}

fn resolve(peer: IpAddr, forwarded: &str, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded
        .rsplit(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A garbled hop: stop at the last address we could trust.
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_trusted_only_from_proxies() {
        let proxies = parse_cidrs("10.0.0.0/8, 192.168.1.1").expect("valid");
        // A direct caller cannot spoof its address.
        assert_eq!(resolve(ip("8.8.8.8"), "1.1.1.1", &proxies), ip("8.8.8.8"));
        // Through a proxy, the right-most untrusted hop is the client.
        assert_eq!(
            resolve(ip("10.1.1.1"), "1.1.1.1, 2.2.2.2, 192.168.1.1", &proxies),
            ip("2.2.2.2")
        );
        assert_eq!(resolve(ip("10.1.1.1"), "", &proxies), ip("10.1.1.1"));
        assert_eq!(
            resolve(ip("10.1.1.1"), "junk, 3.3.3.3", &proxies),
            ip("3.3.3.3")
        );
    }

    #[test]
    fn cidr_lists_parse_or_name_the_bad_entry() {
        assert_eq!(parse_cidrs("").expect("empty").len(), 0);
        assert!(parse_cidrs("1.2.3.4, ::1, 10.0.0.0/8").is_ok());
        assert!(
            parse_cidrs("10.0.0.0/33")
                .expect_err("bad")
                .contains("10.0.0.0/33")
        );
    }
}
