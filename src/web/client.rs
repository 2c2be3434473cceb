//! Whose answer it is: the client's address, from the TCP peer or, behind a reverse
//! proxy the configuration trusts, from the proxy's `X-Forwarded-For` / `Forwarded`
//! (pure). A header from anyone else is a claim anybody can make, so it is ignored.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an address block (expected e.g. 10.0.0.0/8, 2001:db8::/32, 127.0.0.1)")]
pub struct CidrError(pub String);

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, CidrError> {
        let t = s.trim();
        let err = || CidrError(t.to_string());
        let (addr, prefix) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (t, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| err())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(err)?,
            None => max,
        };
        Ok(Cidr { net, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (canonical(self.net), ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn trusted(ip: IpAddr, proxies: &[Cidr]) -> bool {
    proxies.iter().any(|c| c.contains(ip))
}

/// The client's address. The peer, unless it is a trusted proxy: then the hops the
/// proxies recorded (`X-Forwarded-For`, else `Forwarded: for=`) are walked from the
/// right, past every trusted one, to the first that is not. A hop that is not an
/// address (`unknown`, an obfuscated name, garbage) ends the walk at the last address
/// known; when every hop is trusted, the left-most is the client.
pub fn client_ip(
    peer: IpAddr,
    forwarded_for: &[&str],
    forwarded: &[&str],
    proxies: &[Cidr],
) -> IpAddr {
    let peer = canonical(peer);
    if !trusted(peer, proxies) {
        return peer;
    }
    let hops: Vec<&str> = if forwarded_for.iter().any(|h| !h.trim().is_empty()) {
        forwarded_for
            .iter()
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .collect()
    } else {
        forwarded
            .iter()
            .flat_map(|h| h.split(','))
            .filter_map(forwarded_for_param)
            .collect()
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop_address(hop) else {
            break;
        };
        client = ip;
        if !trusted(ip, proxies) {
            break;
        }
    }
    client
}

/// The `for=` of one `Forwarded` element (RFC 7239).
fn forwarded_for_param(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("for")
            .then(|| v.trim().trim_matches('"'))
    })
}

/// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    let inner = hop.strip_prefix('[')?.split(']').next()?;
    inner.parse().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn blocks_parse_and_contain() {
        let cases = [
            ("127.0.0.0/8", "127.9.9.9", true),
            ("127.0.0.0/8", "128.0.0.1", false),
            ("10.1.2.3", "10.1.2.3", true),
            ("10.1.2.3", "10.1.2.4", false),
            ("0.0.0.0/0", "203.0.113.7", true),
            ("2001:db8::/32", "2001:db8:1::5", true),
            ("2001:db8::/32", "2001:db9::5", false),
            ("127.0.0.0/8", "::ffff:127.0.0.1", true),
            ("::/0", "203.0.113.7", false),
        ];
        for (block, addr, inside) in cases {
            let c: Cidr = block.parse().unwrap();
            assert_eq!(c.contains(ip(addr)), inside, "{block} ∋ {addr}");
        }
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0/8", "ten", "10.0.0.0/x"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop_behind_a_trusted_peer() {
        let local = cidrs(&["127.0.0.0/8", "10.0.0.0/8"]);
        // (peer, X-Forwarded-For values, Forwarded values, trusted blocks, the client)
        type Case<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [Cidr], &'a str);
        let cases: [Case<'_>; 14] = [
            // No proxy trusted: the peer, whatever the headers say.
            ("127.0.0.1", &["203.0.113.7"], &[], &[], "127.0.0.1"),
            (
                "198.51.100.1",
                &["203.0.113.7"],
                &[],
                &local,
                "198.51.100.1",
            ),
            // A trusted peer: the hop it recorded.
            ("127.0.0.1", &["203.0.113.7"], &[], &local, "203.0.113.7"),
            ("127.0.0.1", &[], &[], &local, "127.0.0.1"),
            // The client forged a left-most hop: the right-most untrusted one wins.
            (
                "127.0.0.1",
                &["1.2.3.4, 203.0.113.7, 10.0.0.5"],
                &[],
                &local,
                "203.0.113.7",
            ),
            (
                "127.0.0.1",
                &["1.2.3.4", "203.0.113.7"],
                &[],
                &local,
                "203.0.113.7",
            ),
            // Every hop trusted: the left-most.
            (
                "127.0.0.1",
                &["10.0.0.9, 10.0.0.5"],
                &[],
                &local,
                "10.0.0.9",
            ),
            // Garbage stops the walk at the last address known.
            (
                "127.0.0.1",
                &["203.0.113.7, nonsense"],
                &[],
                &local,
                "127.0.0.1",
            ),
            (
                "127.0.0.1",
                &["nonsense, 10.0.0.5"],
                &[],
                &local,
                "10.0.0.5",
            ),
            (
                "127.0.0.1",
                &["203.0.113.7:4711"],
                &[],
                &local,
                "203.0.113.7",
            ),
            (
                "127.0.0.1",
                &["[2001:db8::7]:4711"],
                &[],
                &local,
                "2001:db8::7",
            ),
            // RFC 7239, when there is no X-Forwarded-For.
            (
                "127.0.0.1",
                &[],
                &["for=192.0.2.60;proto=https;by=10.0.0.1"],
                &local,
                "192.0.2.60",
            ),
            (
                "127.0.0.1",
                &[],
                &["For=\"[2001:db8:cafe::17]:4711\", for=10.0.0.2"],
                &local,
                "2001:db8:cafe::17",
            ),
            (
                "::ffff:127.0.0.1",
                &["203.0.113.7"],
                &[],
                &local,
                "203.0.113.7",
            ),
        ];
        for (peer, xff, fwd, proxies, want) in cases {
            assert_eq!(
                client_ip(ip(peer), xff, fwd, proxies),
                ip(want),
                "peer {peer}, X-Forwarded-For {xff:?}, Forwarded {fwd:?}"
            );
        }
    }
}
