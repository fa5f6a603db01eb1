//! Address ranges ([`Cidr`]) and the client address behind reverse proxies ([`client_ip`]).
//!
//! # Ranges
//!
//! A [`Cidr`] is written `10.0.0.0/8`, `2001:db8::/32`, or as a bare address (`192.0.2.7` is
//! `192.0.2.7/32`, `2001:db8::1` is `2001:db8::1/128`). Parsing is strict so that a typo in the
//! admin console is refused rather than silently widening or narrowing a rule:
//!
//! * the prefix is decimal digits only (no sign, no leading zero), at most 32 for IPv4 and 128
//!   for IPv6;
//! * the address may have no bits set beyond the prefix (`10.0.0.1/8` is refused: did the
//!   administrator mean `10.0.0.0/8` or `10.0.0.1/32`?);
//! * IPv6 zone identifiers (`fe80::1%eth0`) are refused.
//!
//! An IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, which dual-stack sockets report for IPv4
//! clients) is matched as its IPv4 address *and* as itself, so both `192.0.2.0/24` and
//! `::ffff:0:0/96` cover it.
//!
//! ```
//! use passlogic_idp_core::policy::ip::Cidr;
//! let net: Cidr = "10.0.0.0/8".parse().unwrap();
//! assert!(net.contains("10.255.255.255".parse().unwrap()));
//! assert!(!net.contains("11.0.0.0".parse().unwrap()));
//! assert!("10.0.0.1/8".parse::<Cidr>().is_err());
//! ```
//!
//! # The client behind proxies
//!
//! [`client_ip`] believes forwarding headers only when the socket peer is one of the trusted
//! proxies; see its documentation for the walk and the fallback on malformed entries.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a range was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// The text before `/` is not an IPv4 or IPv6 address.
    #[error("{0:?} is not an IP address")]
    Address(String),
    /// The prefix length is not a plain decimal number.
    #[error("{0:?} is not a prefix length")]
    Prefix(String),
    /// The prefix is longer than the address (32 for IPv4, 128 for IPv6).
    #[error("prefix /{prefix} is longer than the address ({max} bits)")]
    PrefixTooLong {
        /// The prefix given.
        prefix: u32,
        /// The address width.
        max: u8,
    },
    /// The address has bits set after the prefix.
    #[error("{addr}/{prefix} has host bits set; the network is {network}/{prefix}")]
    HostBits {
        /// The address given.
        addr: IpAddr,
        /// The prefix given.
        prefix: u8,
        /// The network address the administrator probably meant.
        network: IpAddr,
    },
}

/// An IPv4 or IPv6 address range (`10.0.0.0/8`, `2001:db8::/32`, or a bare address).
///
/// Serialised as its text form; deserialisation applies the same checks as [`str::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// A range from a network address and prefix length, with the checks of [`str::parse`].
    pub fn new(network: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let max = width(network);
        if prefix > max {
            return Err(CidrError::PrefixTooLong {
                prefix: prefix.into(),
                max,
            });
        }
        let masked = mask(network, prefix);
        if masked != network {
            return Err(CidrError::HostBits {
                addr: network,
                prefix,
                network: masked,
            });
        }
        Ok(Cidr { network, prefix })
    }

    /// The range holding exactly one address (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Cidr {
        Cidr {
            network: addr,
            prefix: width(addr),
        }
    }

    /// The network address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `addr` lies in the range. An IPv4 range never holds a (non-mapped) IPv6 address
    /// and the other way round; an IPv4-mapped IPv6 address is also tried as its IPv4 form.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.contains_exact(addr) || {
            let canonical = addr.to_canonical();
            canonical != addr && self.contains_exact(canonical)
        }
    }

    fn contains_exact(&self, addr: IpAddr) -> bool {
        match (self.network, addr) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(addr, self.prefix) == self.network
            }
            _ => false,
        }
    }
}

/// Whether any range of `list` holds `addr`.
pub fn any_contains(list: &[Cidr], addr: IpAddr) -> bool {
    list.iter().any(|c| c.contains(addr))
}

fn width(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let s = s.trim();
        let (addr_text, prefix_text) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| CidrError::Address(addr_text.to_owned()))?;
        let Some(p) = prefix_text else {
            return Ok(Cidr::host(addr));
        };
        let plain = !p.is_empty()
            && p.len() <= 3
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p == "0" || !p.starts_with('0'));
        if !plain {
            return Err(CidrError::Prefix(p.to_owned()));
        }
        let prefix: u32 = p.parse().map_err(|_| CidrError::Prefix(p.to_owned()))?;
        let max = width(addr);
        let prefix = u8::try_from(prefix)
            .ok()
            .filter(|p| *p <= max)
            .ok_or(CidrError::PrefixTooLong { prefix, max })?;
        Cidr::new(addr, prefix)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl TryFrom<String> for Cidr {
    type Error = CidrError;
    fn try_from(s: String) -> Result<Cidr, CidrError> {
        s.parse()
    }
}

impl From<Cidr> for String {
    fn from(c: Cidr) -> String {
        c.to_string()
    }
}

/// How [`resolve_client_ip`] arrived at its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientIpOrigin {
    /// The socket peer itself: it is not a trusted proxy, or it sent no forwarding header.
    Socket,
    /// A forwarding header entry: the rightmost hop that is not a trusted proxy, or the
    /// leftmost hop when every hop is trusted.
    Header,
    /// A malformed entry stopped the walk; the address is the trusted proxy that reported it.
    /// Access rules then see a proxy's address, so the server may prefer to refuse the request.
    MalformedFallback,
}

/// The client's address and how it was found; see [`client_ip`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp {
    /// The address access rules should use.
    pub addr: IpAddr,
    /// Where it came from.
    pub origin: ClientIpOrigin,
}

/// The address of the client behind zero or more reverse proxies.
///
/// * When `socket_peer` is not in `trusted_proxies`, the forwarding headers are ignored
///   entirely (anyone can write them) and the peer is the client.
/// * Otherwise the hops of `X-Forwarded-For` (or, when that header is absent, the `for=`
///   parameters of RFC 7239 `Forwarded`) are walked from the right, i.e. from the hop nearest
///   to us. Each trusted proxy is skipped; the first hop that is not a trusted proxy is the
///   client. When every hop is a trusted proxy, the leftmost one is returned.
/// * A malformed entry (not an address, `unknown`, an obfuscated `_name`, a bare IPv6 address
///   in `Forwarded` without brackets, an empty element, a broken quoted string) stops the walk:
///   nothing to its left can be attributed, so the result falls back to the last trusted hop,
///   i.e. the proxy that wrote the malformed entry (the socket peer when it is the rightmost).
///   [`resolve_client_ip`] reports this case as [`ClientIpOrigin::MalformedFallback`].
///
/// Several header lines of the same name must be joined with `,` in order by the caller. Only
/// one header is consulted: if the proxies set `Forwarded`, the server should pass `None` for
/// `X-Forwarded-For` (and the other way round), because a client may send the header the
/// proxies do not overwrite.
///
/// `X-Forwarded-For` entries are plain addresses; `1.2.3.4:5678` and `[2001:db8::1]:443`
/// (written by some load balancers) are accepted as well. In `Forwarded`, IPv6 must be
/// bracketed (`for="[2001:db8::1]:443"`), ports and quoted strings are accepted.
///
/// ```
/// use passlogic_idp_core::policy::ip::{client_ip, Cidr};
/// let proxies = ["10.0.0.0/8".parse::<Cidr>().unwrap()];
/// let peer = "10.0.0.5".parse().unwrap();
/// let ip = client_ip(peer, Some("198.51.100.9, 10.0.0.7"), None, &proxies);
/// assert_eq!(ip, "198.51.100.9".parse::<std::net::IpAddr>().unwrap());
/// // The same header from an untrusted peer is ignored.
/// let peer = "203.0.113.1".parse().unwrap();
/// assert_eq!(client_ip(peer, Some("10.1.1.1"), None, &proxies), peer);
/// ```
pub fn client_ip(
    socket_peer: IpAddr,
    forwarded_for: Option<&str>,
    forwarded: Option<&str>,
    trusted_proxies: &[Cidr],
) -> IpAddr {
    resolve_client_ip(socket_peer, forwarded_for, forwarded, trusted_proxies).addr
}

/// [`client_ip`], also telling how the address was found.
pub fn resolve_client_ip(
    socket_peer: IpAddr,
    forwarded_for: Option<&str>,
    forwarded: Option<&str>,
    trusted_proxies: &[Cidr],
) -> ClientIp {
    let socket = ClientIp {
        addr: socket_peer,
        origin: ClientIpOrigin::Socket,
    };
    if !any_contains(trusted_proxies, socket_peer) {
        return socket;
    }
    let hops: Vec<Option<IpAddr>> = match (forwarded_for, forwarded) {
        (Some(xff), _) => xff.split(',').map(parse_xff_hop).collect(),
        (None, Some(fwd)) => parse_forwarded(fwd),
        (None, None) => return socket,
    };
    let mut last = socket;
    for hop in hops.into_iter().rev() {
        match hop {
            None => {
                return ClientIp {
                    addr: last.addr,
                    origin: ClientIpOrigin::MalformedFallback,
                }
            }
            Some(addr) => {
                last = ClientIp {
                    addr,
                    origin: ClientIpOrigin::Header,
                };
                if !any_contains(trusted_proxies, addr) {
                    return last;
                }
            }
        }
    }
    last
}

fn parse_xff_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The `for=` node of every element of a `Forwarded` header, left to right; `None` for an
/// element that has no usable address.
fn parse_forwarded(header: &str) -> Vec<Option<IpAddr>> {
    split_unquoted(header, ',')
        .into_iter()
        .map(|element| element.and_then(forwarded_element_for))
        .collect()
}

fn forwarded_element_for(element: &str) -> Option<IpAddr> {
    let mut found: Option<&str> = None;
    for pair in split_unquoted(element, ';') {
        let pair = pair?.trim();
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("for") {
            if found.is_some() {
                return None; // a parameter may occur once per element (RFC 7239 section 4)
            }
            found = Some(value.trim());
        }
    }
    parse_node(&unquote(found?)?)
}

/// Splits on `sep` outside quoted strings. A part with an unterminated quote is `None`.
fn split_unquoted(s: &str, sep: char) -> Vec<Option<&str>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quote = false;
            }
        } else if c == '"' {
            in_quote = true;
        } else if c == sep {
            parts.push(s.get(start..i));
            start = i + c.len_utf8();
        }
    }
    parts.push(if in_quote { None } else { s.get(start..) });
    parts
}

/// A token or a quoted string (RFC 7230 `quoted-string`, with `\` escapes) to its value.
fn unquote(v: &str) -> Option<String> {
    let Some(inner) = v.strip_prefix('"') else {
        return Some(v.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// RFC 7239 `node`: `IPv4[:port]` or `"[IPv6]"[:port]`; `unknown` and obfuscated names give
/// `None`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(valid_port)) {
            return None;
        }
        return v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (host, port) = match node.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (node, None),
    };
    if port.is_some_and(|p| !valid_port(p)) {
        return None;
    }
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

fn valid_port(p: &str) -> bool {
    if let Some(obf) = p.strip_prefix('_') {
        return !obf.is_empty()
            && obf
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    }
    !p.is_empty()
        && p.len() <= 5
        && p.bytes().all(|b| b.is_ascii_digit())
        && p.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_contains_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("10.0.0.0/8", "10.0.0.0", true),
            ("10.0.0.0/8", "10.255.255.255", true),
            ("10.0.0.0/8", "9.255.255.255", false),
            ("10.0.0.0/8", "11.0.0.0", false),
            ("192.168.1.0/24", "192.168.1.255", true),
            ("192.168.1.0/24", "192.168.2.0", false),
            ("192.168.1.128/25", "192.168.1.127", false),
            ("192.168.1.128/25", "192.168.1.128", true),
            ("0.0.0.0/0", "0.0.0.0", true),
            ("0.0.0.0/0", "255.255.255.255", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("192.0.2.7/32", "192.0.2.7", true),
            ("192.0.2.7/32", "192.0.2.8", false),
            ("192.0.2.7", "192.0.2.7", true),
            ("192.0.2.7", "192.0.2.6", false),
            ("2001:db8::/32", "2001:db8::1", true),
            (
                "2001:db8::/32",
                "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
                true,
            ),
            ("2001:db8::/32", "2001:db9::", false),
            (
                "2001:db8::/32",
                "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
                false,
            ),
            ("2001:db8::/32", "10.0.0.1", false),
            ("::/0", "::", true),
            ("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("::/0", "10.0.0.1", false),
            ("2001:db8::1/128", "2001:db8::1", true),
            ("2001:db8::1/128", "2001:db8::2", false),
            ("2001:db8::1", "2001:db8::1", true),
            ("2001:db8::1", "2001:db8::", false),
            ("fe80::/10", "febf::1", true),
            ("fe80::/10", "fec0::1", false),
            // IPv4-mapped IPv6 peers match IPv4 ranges and the mapped range.
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("10.0.0.0/8", "::ffff:11.1.2.3", false),
            ("::ffff:0:0/96", "::ffff:10.1.2.3", true),
            ("::ffff:0:0/96", "10.1.2.3", false),
        ];
        for (range, addr, want) in cases {
            assert_eq!(cidr(range).contains(ip(addr)), *want, "{range} ∋ {addr}");
        }
    }

    #[test]
    fn cidr_refuses_invalid() {
        let bad = [
            "",
            "/8",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/08",
            "10.0.0.0/8/8",
            "10.0.0.0/ 8",
            "10.0.0.0/1000",
            "10.0.0.0/99999999999999999999",
            "10.0.0.1/8",
            "10.0.0/8",
            "256.0.0.0/8",
            "10.0.0.0.0/8",
            "2001:db8::/129",
            "2001:db8::1/32",
            "2001:db8:::/32",
            "fe80::1%eth0",
            "fe80::1%eth0/128",
            "example.com/8",
            "[2001:db8::]/32",
            "10.0.0.0/8,11.0.0.0/8",
        ];
        for s in bad {
            assert!(s.parse::<Cidr>().is_err(), "{s:?} must be refused");
        }
        assert!(matches!(
            "10.0.0.1/8".parse::<Cidr>(),
            Err(CidrError::HostBits { .. })
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::PrefixTooLong {
                prefix: 33,
                max: 32
            })
        ));
    }

    #[test]
    fn cidr_round_trips_and_serde() {
        for s in [
            "10.0.0.0/8",
            "0.0.0.0/0",
            "2001:db8::/32",
            "::/0",
            "192.0.2.7/32",
        ] {
            assert_eq!(cidr(s).to_string(), s);
        }
        assert_eq!(cidr(" 192.0.2.7 ").to_string(), "192.0.2.7/32");
        assert_eq!(cidr("2001:db8::1").to_string(), "2001:db8::1/128");
        let v: Vec<Cidr> = serde_json::from_str(r#"["10.0.0.0/8","2001:db8::/32"]"#).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"["10.0.0.0/8","2001:db8::/32"]"#
        );
        assert!(serde_json::from_str::<Cidr>(r#""10.0.0.1/8""#).is_err());
        assert!(Cidr::new(ip("10.0.0.0"), 40).is_err());
    }

    #[test]
    fn client_ip_table() {
        let trusted = [cidr("10.0.0.0/8"), cidr("2001:db8:ffff::/48")];
        // (peer, X-Forwarded-For, Forwarded, expected, origin)
        use ClientIpOrigin::*;
        type Row = (
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
            &'static str,
            ClientIpOrigin,
        );
        let cases: &[Row] = &[
            // Untrusted peers: headers ignored entirely, even spoofed internal addresses.
            ("203.0.113.5", Some("10.0.0.1"), None, "203.0.113.5", Socket),
            (
                "203.0.113.5",
                None,
                Some("for=10.0.0.1"),
                "203.0.113.5",
                Socket,
            ),
            (
                "203.0.113.5",
                Some("garbage"),
                Some("for=unknown"),
                "203.0.113.5",
                Socket,
            ),
            (
                "2001:db8:1::1",
                Some("10.0.0.1"),
                None,
                "2001:db8:1::1",
                Socket,
            ),
            // Trusted peer without headers.
            ("10.0.0.2", None, None, "10.0.0.2", Socket),
            // One trusted proxy.
            (
                "10.0.0.2",
                Some("198.51.100.7"),
                None,
                "198.51.100.7",
                Header,
            ),
            // A client-supplied (spoofed) leftmost entry is not believed: the rightmost
            // untrusted hop is the client.
            (
                "10.0.0.2",
                Some("10.9.9.9, 6.6.6.6, 198.51.100.7"),
                None,
                "198.51.100.7",
                Header,
            ),
            (
                "10.0.0.2",
                Some("1.2.3.4, 198.51.100.7"),
                None,
                "198.51.100.7",
                Header,
            ),
            // A chain of trusted proxies.
            (
                "10.0.0.2",
                Some("198.51.100.7, 10.0.0.3, 10.0.0.4"),
                None,
                "198.51.100.7",
                Header,
            ),
            (
                "10.0.0.2",
                Some("198.51.100.7,10.0.0.3,2001:db8:ffff::9"),
                None,
                "198.51.100.7",
                Header,
            ),
            // Every hop trusted: the leftmost.
            (
                "10.0.0.2",
                Some("10.0.0.3, 10.0.0.4"),
                None,
                "10.0.0.3",
                Header,
            ),
            // IPv6 and ports in X-Forwarded-For.
            ("10.0.0.2", Some("2001:db8::5"), None, "2001:db8::5", Header),
            (
                "10.0.0.2",
                Some("[2001:db8::5]:443"),
                None,
                "2001:db8::5",
                Header,
            ),
            (
                "10.0.0.2",
                Some("198.51.100.7:5000"),
                None,
                "198.51.100.7",
                Header,
            ),
            // Malformed: stop, fall back to the last trusted hop.
            (
                "10.0.0.2",
                Some("garbage"),
                None,
                "10.0.0.2",
                MalformedFallback,
            ),
            ("10.0.0.2", Some(""), None, "10.0.0.2", MalformedFallback),
            (
                "10.0.0.2",
                Some("198.51.100.7, , 10.0.0.3"),
                None,
                "10.0.0.3",
                MalformedFallback,
            ),
            (
                "10.0.0.2",
                Some("198.51.100.7, unknown"),
                None,
                "10.0.0.2",
                MalformedFallback,
            ),
            // An untrusted hop right of a malformed one is still found first.
            (
                "10.0.0.2",
                Some("garbage, 198.51.100.7"),
                None,
                "198.51.100.7",
                Header,
            ),
            // X-Forwarded-For wins over Forwarded when both are given.
            (
                "10.0.0.2",
                Some("198.51.100.7"),
                Some("for=192.0.2.1"),
                "198.51.100.7",
                Header,
            ),
            // Forwarded.
            (
                "10.0.0.2",
                None,
                Some("for=192.0.2.60;proto=http;by=203.0.113.43"),
                "192.0.2.60",
                Header,
            ),
            (
                "10.0.0.2",
                None,
                Some(r#"for="[2001:db8::1]:443""#),
                "2001:db8::1",
                Header,
            ),
            (
                "10.0.0.2",
                None,
                Some(r#"For="[2001:db8::1]""#),
                "2001:db8::1",
                Header,
            ),
            (
                "10.0.0.2",
                None,
                Some(r#"for="192.0.2.60:8080""#),
                "192.0.2.60",
                Header,
            ),
            (
                "10.0.0.2",
                None,
                Some("for=192.0.2.60:8080"),
                "192.0.2.60",
                Header,
            ),
            (
                "10.0.0.2",
                None,
                Some(r#"for="[2001:db8::1]:_gazonk""#),
                "2001:db8::1",
                Header,
            ),
            (
                "10.0.0.2",
                None,
                Some(r#"for=192.0.2.43, for="[2001:db8:cafe::17]:4711", for=10.0.0.3"#),
                "2001:db8:cafe::17",
                Header,
            ),
            (
                "10.0.0.2",
                None,
                Some(r#"for=198.51.100.1;proto=https, for="[2001:db8:ffff::2]""#),
                "198.51.100.1",
                Header,
            ),
            // A quoted comma does not split elements.
            (
                "10.0.0.2",
                None,
                Some(r#"for=192.0.2.1;x="a,b""#),
                "192.0.2.1",
                Header,
            ),
            (
                "10.0.0.2",
                None,
                Some("for=unknown"),
                "10.0.0.2",
                MalformedFallback,
            ),
            (
                "10.0.0.2",
                None,
                Some("for=_hidden, for=10.0.0.3"),
                "10.0.0.3",
                MalformedFallback,
            ),
            (
                "10.0.0.2",
                None,
                Some("for=2001:db8::1"),
                "10.0.0.2",
                MalformedFallback,
            ),
            (
                "10.0.0.2",
                None,
                Some(r#"for="[2001:db8::1"#),
                "10.0.0.2",
                MalformedFallback,
            ),
            (
                "10.0.0.2",
                None,
                Some(r#"for="[2001:db8::1]:99999""#),
                "10.0.0.2",
                MalformedFallback,
            ),
            (
                "10.0.0.2",
                None,
                Some("proto=https"),
                "10.0.0.2",
                MalformedFallback,
            ),
            (
                "10.0.0.2",
                None,
                Some("for=192.0.2.1;for=192.0.2.2"),
                "10.0.0.2",
                MalformedFallback,
            ),
            (
                "10.0.0.2",
                None,
                Some(r#"for="192.0.2.1"#),
                "10.0.0.2",
                MalformedFallback,
            ),
            // Dual-stack peer reported as IPv4-mapped IPv6 is still a trusted proxy.
            (
                "::ffff:10.0.0.2",
                Some("198.51.100.7"),
                None,
                "198.51.100.7",
                Header,
            ),
        ];
        for (peer, xff, fwd, want, origin) in cases {
            let got = resolve_client_ip(ip(peer), *xff, *fwd, &trusted);
            assert_eq!(got.addr, ip(want), "peer {peer} xff {xff:?} fwd {fwd:?}");
            assert_eq!(got.origin, *origin, "peer {peer} xff {xff:?} fwd {fwd:?}");
            assert_eq!(client_ip(ip(peer), *xff, *fwd, &trusted), ip(want));
        }
    }

    #[test]
    fn client_ip_without_trusted_proxies_is_the_peer() {
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("198.51.100.7"), None, &[]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn client_ip_survives_hostile_input() {
        let trusted = [cidr("0.0.0.0/0")];
        let long = "1.1.1.1,".repeat(10_000);
        for h in [
            "\"",
            "\\",
            "for=\"\\",
            "for=\"\\\"",
            "[",
            "]",
            "for=[",
            "for=[]:",
            "ä,ö;ü=\"é\"",
            long.as_str(),
        ] {
            let _ = client_ip(ip("10.0.0.2"), Some(h), None, &trusted);
            let _ = client_ip(ip("10.0.0.2"), None, Some(h), &trusted);
        }
    }
}
