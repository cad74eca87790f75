//! Client identity: who a request is counted against ([`ClientKey`]: an IPv4 address
//! or an IPv6 /64), and the client a proxy names in `Forwarded` / `X-Forwarded-For`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Who a request is counted against: an IPv4 address or an IPv6 /64 prefix, packed in
/// 8 bytes. An IPv6 key is the prefix itself; an IPv4 key is `0:ffff:a.b:c.d::/64`,
/// inside the reserved `::/8` block, where no real client's prefix lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ClientKey(pub(super) u64);

/// The top 32 bits that mark an IPv4 key.
pub(super) const V4_TAG: u64 = 0x0000_FFFF;

impl ClientKey {
    /// The key of an IPv4 address.
    pub(crate) fn v4(address: Ipv4Addr) -> Self {
        ClientKey(V4_TAG << 32 | u64::from(u32::from(address)))
    }
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientKey::v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::v4(v4),
                None => ClientKey((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >> 32 == V4_TAG {
            Ipv4Addr::from(self.0 as u32).fmt(f)
        } else {
            write!(f, "{}/64", Ipv6Addr::from(u128::from(self.0) << 64))
        }
    }
}

/// The client a proxy names: `Forwarded: for=` (RFC 7239) first, then
/// `X-Forwarded-For`; in each, the leftmost entry that is a valid IP address (ports and
/// the brackets and quotes of IPv6 are accepted). `None` if neither names one.
///
/// Each argument holds every line of that header, in order.
pub(crate) fn forwarded_client(forwarded: &[&str], x_forwarded_for: &[&str]) -> Option<IpAddr> {
    let from_forwarded = forwarded
        .iter()
        .flat_map(|line| line.split(','))
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("for")
                .then(|| parse_node(value))
                .flatten()
        })
        .next();
    from_forwarded.or_else(|| {
        x_forwarded_for
            .iter()
            .flat_map(|line| line.split(','))
            .find_map(parse_node)
    })
}

/// One address of a forwarding header: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`,
/// `[2001:db8::1]`, `"[2001:db8::1]:443"`.
pub(super) fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok());
        return if port_ok {
            inside.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        } else {
            None
        };
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}
