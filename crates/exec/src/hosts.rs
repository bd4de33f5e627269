//! Network allow-list entries ([`HostPort`]): parsing, matching a requested host, and the
//! address check applied after resolution (private, loopback, metadata and other special
//! addresses are refused unless the entry names them).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest host name accepted (RFC 1035: 253 characters in text form).
const MAX_HOST: usize = 253;

/// A host (and port) the sandboxed program may reach through hush's proxy.
///
/// Forms, as parsed by [`from_str`](str::parse) (the syntax of a policy's `[network] allow`):
///
/// | entry | matches |
/// |---|---|
/// | `api.example.com:443` | that name, that port |
/// | `api.example.com` or `api.example.com:*` | that name, any port |
/// | `*.example.com:443` | any name below `example.com` (not `example.com` itself) |
/// | `*:443` | any name or address |
/// | `192.0.2.7:8080`, `[2001:db8::1]:443` | that address (requested as such) |
/// | `localhost:8080` | the name `localhost` |
///
/// Names are resolved by the proxy, never by the program, and **every address is checked
/// after resolution**: loopback, private (RFC 1918), link-local, CGNAT, unique-local,
/// multicast, unspecified, documentation and reserved ranges, and cloud metadata endpoints
/// (`169.254.169.254`, `fd00:ec2::254`, `168.63.129.16`, ...) are refused, so a public name
/// that resolves to an internal address (DNS rebinding) gets nowhere. Only an entry that is
/// itself an IP address allows that exact address, `localhost` allows loopback addresses,
/// and [`danger_allow_private`](Self::danger_allow_private) allows the non-metadata special
/// ranges for a name (an internal service).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HostPort {
    /// Lowercase host name, `*.` + a name, `*`, or an IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port; `None` allows any port.
    pub port: Option<u16>,
    /// Addresses in private and other special (non-metadata) ranges are allowed for this
    /// entry's names.
    #[serde(default)]
    pub danger_private: bool,
}

/// A malformed allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("network allow entry `{entry}`: {why}")]
#[non_exhaustive]
pub struct HostPortError {
    /// The entry as given.
    pub entry: String,
    /// What is wrong and how to write it.
    pub why: String,
}

impl HostPort {
    /// An entry for `host` (a name, `*.` + a name, `*`, or an IP address without brackets)
    /// and `port` (`None`: any).
    ///
    /// # Errors
    /// A host that is none of those (other wildcards, empty labels, invalid characters), or
    /// port 0.
    pub fn new(host: &str, port: Option<u16>) -> Result<HostPort, HostPortError> {
        let shown = match port {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let err = |why: &str| HostPortError {
            entry: shown.clone(),
            why: why.to_string(),
        };
        if port == Some(0) {
            return Err(err("port 0 cannot be connected to (use 1-65535, or `*`)"));
        }
        let host = host
            .strip_suffix('.')
            .filter(|h| !h.is_empty() && !h.ends_with('*'))
            .unwrap_or(host)
            .to_ascii_lowercase();
        let canonical = if host == "*" {
            host
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            canonical_ip(ip).to_string()
        } else if let Some(domain) = host.strip_prefix("*.") {
            if !valid_name(domain) {
                return Err(err(
                    "`*.` must be followed by a host name such as `example.com`",
                ));
            }
            host
        } else if host.contains('*') {
            return Err(err(
                "only `*` alone and a leading `*.` are supported as wildcards (`*.example.com`)",
            ));
        } else if valid_name(&host) {
            host
        } else {
            return Err(err(
                "not a host name or IP address (letters, digits, `-`, `_` and `.`; IPv6 in \
                 brackets: `[::1]:443`)",
            ));
        };
        Ok(HostPort {
            host: canonical,
            port,
            danger_private: false,
        })
    }

    /// Also allows private, loopback, link-local, CGNAT and unique-local addresses (never
    /// cloud metadata endpoints) for this entry's names: for internal services. The program
    /// can then reach whatever such a name resolves to on the internal network.
    pub fn danger_allow_private(mut self) -> HostPort {
        self.danger_private = true;
        self
    }

    /// Whether a request for `host` (normalised by [`normalize_host`]) and `port` falls under
    /// this entry.
    pub(crate) fn matches(&self, host: &Host, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        if self.host == "*" {
            return true;
        }
        match host {
            Host::Ip(ip) => self.host.parse::<IpAddr>().is_ok_and(|e| e == *ip),
            Host::Name(name) => match self.host.strip_prefix("*.") {
                Some(domain) => name
                    .strip_suffix(domain)
                    .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
                None => *name == self.host,
            },
        }
    }

    /// Why `addr` (one the requested host resolved to) may not be reached through this
    /// entry, or `None` when it may.
    pub(crate) fn refuses(&self, addr: IpAddr) -> Option<Special> {
        let addr = canonical_ip(addr);
        let class = classify(addr)?;
        if self.host.parse::<IpAddr>().is_ok_and(|e| e == addr) {
            return None;
        }
        if self.host == "localhost" && class == Special::Loopback {
            return None;
        }
        if self.danger_private && class != Special::Metadata {
            return None;
        }
        Some(class)
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        match self.port {
            Some(p) => write!(f, ":{p}"),
            None => f.write_str(":*"),
        }
    }
}

impl FromStr for HostPort {
    type Err = HostPortError;

    /// Parses `host`, `host:port`, `host:*`, `[v6]:port` (see the type's table).
    fn from_str(s: &str) -> Result<HostPort, HostPortError> {
        let s = s.trim();
        let err = |why: &str| HostPortError {
            entry: s.to_string(),
            why: why.to_string(),
        };
        let (host, port) = hush_policy::split_host_port(s).map_err(|why| err(&why))?;
        HostPort::new(host, port).map_err(|e| HostPortError {
            entry: s.to_string(),
            why: e.why,
        })
    }
}

/// A requested host, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    Name(String),
    Ip(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// The host of a request (`example.com`, `EXAMPLE.com.`, `10.0.0.1`, `[::1]`), lowercase,
/// without a trailing dot; `None` when it is not a valid name or address (so it cannot be
/// matched, shown or resolved in surprising ways: `127.1` and `0x7f.0.0.1` are refused, as
/// the resolver would read them as addresses).
pub(crate) fn normalize_host(host: &str) -> Option<Host> {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse::<Ipv6Addr>()
            .ok()
            .map(|ip| Host::Ip(canonical_ip(IpAddr::V6(ip))));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(Host::Ip(IpAddr::V4(ip)));
    }
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    // A name whose last label is numeric would be parsed as an address by the resolver.
    let numeric_tail = name
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()) || l.starts_with("0x"));
    (valid_name(&name) && !numeric_tail).then_some(Host::Name(name))
}

/// Letters, digits, `-` and `_` in dot-separated labels of 1-63 bytes, 253 bytes at most.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_HOST
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) as the IPv4 address they reach.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// Why an address is not an ordinary public one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    Unspecified,
    Loopback,
    Private,
    LinkLocal,
    Cgnat,
    UniqueLocal,
    Multicast,
    Metadata,
    /// Documentation, benchmarking, broadcast, reserved and translation prefixes.
    Reserved,
}

impl Special {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Special::Unspecified => "unspecified",
            Special::Loopback => "loopback",
            Special::Private => "private",
            Special::LinkLocal => "link-local",
            Special::Cgnat => "carrier-grade NAT",
            Special::UniqueLocal => "unique-local",
            Special::Multicast => "multicast",
            Special::Metadata => "cloud metadata",
            Special::Reserved => "reserved",
        }
    }
}

/// Cloud metadata and platform endpoints: AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
/// (169.254.169.254), AWS ECS (169.254.170.2), AWS DNS and NTP (169.254.169.253,
/// 169.254.169.123), Alibaba (100.100.100.200), Azure wire server (168.63.129.16), Oracle
/// (192.0.0.192), AWS IPv6 (fd00:ec2::254, fd00:ec2::23, fd00:ec2::123).
const METADATA_V4: [Ipv4Addr; 7] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 169, 253),
    Ipv4Addr::new(169, 254, 169, 123),
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
    Ipv4Addr::new(192, 0, 0, 192),
];
const METADATA_V6: [Ipv6Addr; 3] = [
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23),
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x123),
];

/// The special range `ip` is in, or `None` for an ordinary public address.
pub(crate) fn classify(ip: IpAddr) -> Option<Special> {
    match canonical_ip(ip) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Special> {
    if METADATA_V4.contains(&ip) {
        return Some(Special::Metadata);
    }
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, 0, 0) if ip.is_unspecified() => Special::Unspecified,
        (0, _, _) => Special::Reserved,
        (127, _, _) => Special::Loopback,
        (10, _, _) | (192, 168, _) => Special::Private,
        (172, 16..=31, _) => Special::Private,
        (169, 254, _) => Special::LinkLocal,
        (100, 64..=127, _) => Special::Cgnat,
        (224..=239, _, _) => Special::Multicast,
        (240..=255, _, _) => Special::Reserved,
        // IETF assignments, TEST-NET-1/2/3, 6to4 relay, benchmarking.
        (192, 0, 0) | (192, 0, 2) | (192, 88, 99) | (198, 51, 100) | (203, 0, 113) => {
            Special::Reserved
        }
        (198, 18..=19, _) => Special::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Special> {
    if METADATA_V6.contains(&ip) {
        return Some(Special::Metadata);
    }
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some(Special::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Special::Loopback);
    }
    // Prefixes that carry an IPv4 address: judge by it (NAT64 `64:ff9b::/96`, 6to4
    // `2002::/16`); the deprecated IPv4-compatible `::/96` and the rest of `::/8` are reserved.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return classify_v4(v4);
    }
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return classify_v4(v4);
    }
    Some(match s[0] {
        0xfc00..=0xfdff => Special::UniqueLocal,
        0xfe80..=0xfebf => Special::LinkLocal,
        // Deprecated site-local: private in practice.
        0xfec0..=0xfeff => Special::Private,
        0xff00..=0xffff => Special::Multicast,
        0x0000..=0x00ff => Special::Reserved,
        // Discard-only `100::/64`.
        0x0100 if s[1..4] == [0, 0, 0] => Special::Reserved,
        // Documentation `2001:db8::/32`, Teredo `2001::/32` (an obfuscated IPv4 tunnel),
        // ORCHIDv2 `2001:20::/28`, documentation `3fff::/20`.
        0x2001 if s[1] == 0x0db8 || s[1] == 0 || (0x20..=0x2f).contains(&s[1]) => Special::Reserved,
        0x3fff if s[1] <= 0x0fff => Special::Reserved,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(s: &str) -> HostPort {
        s.parse().unwrap()
    }

    fn host(s: &str) -> Host {
        normalize_host(s).unwrap()
    }

    #[test]
    fn entries_parse_in_every_form() {
        assert_eq!(
            hp("API.Example.com:443"),
            HostPort::new("api.example.com", Some(443)).unwrap()
        );
        assert_eq!(hp("example.com").port, None);
        assert_eq!(hp("example.com:*").port, None);
        assert_eq!(hp("*.example.com:8080").host, "*.example.com");
        assert_eq!(hp("*:443").host, "*");
        assert_eq!(hp("[::1]:8080"), HostPort::new("::1", Some(8080)).unwrap());
        assert_eq!(hp("[::ffff:10.0.0.1]").host, "10.0.0.1");
        assert_eq!(hp("::1").port, None);
        assert_eq!(hp("10.0.0.5:22").host, "10.0.0.5");
        assert_eq!(hp("example.com.:80").host, "example.com");
        assert_eq!(hp("*.example.com:443").to_string(), "*.example.com:443");
        assert_eq!(hp("[::1]").to_string(), "[::1]:*");
    }

    #[test]
    fn malformed_entries_say_what_to_write() {
        for (bad, says) in [
            ("", "empty host"),
            (":443", "empty host"),
            ("example.com:0", "port `0`"),
            ("example.com:http", "port `http`"),
            ("example.com:70000", "port `70000`"),
            ("api-*.example.com", "wildcards"),
            ("*example.com", "wildcards"),
            ("*.", "`*.` must be followed"),
            ("exa mple.com", "not a host name"),
            ("a..b", "not a host name"),
            ("[::1", "unclosed `[`"),
            ("[example.com]:80", "IPv6 address only"),
            ("[::1]80", "`:port`"),
        ] {
            let e = bad.parse::<HostPort>().unwrap_err();
            assert!(e.to_string().contains(says), "{bad:?}: {e}");
            assert!(e.to_string().starts_with("network allow entry `"), "{e}");
        }
        assert!(HostPort::new("example.com", Some(0)).is_err());
    }

    #[test]
    fn names_match_exactly_or_below_a_wildcard() {
        let e = hp("api.example.com:443");
        assert!(e.matches(&host("api.example.com"), 443));
        assert!(e.matches(&host("API.EXAMPLE.COM."), 443));
        assert!(!e.matches(&host("api.example.com"), 80));
        assert!(!e.matches(&host("xapi.example.com"), 443));
        assert!(!e.matches(&host("api.example.com.evil.net"), 443));
        let w = hp("*.example.com");
        assert!(w.matches(&host("a.example.com"), 1));
        assert!(w.matches(&host("a.b.example.com"), 65535));
        assert!(!w.matches(&host("example.com"), 443));
        assert!(!w.matches(&host("badexample.com"), 443));
        assert!(!w.matches(&host("93.184.216.34"), 443));
        assert!(hp("*:443").matches(&host("10.0.0.1"), 443));
        assert!(hp("*").matches(&host("anything.test"), 9));
        let ip = hp("[::1]:8080");
        assert!(ip.matches(&host("[0:0::1]"), 8080));
        assert!(!ip.matches(&host("localhost"), 8080));
        assert!(hp("127.0.0.1:80").matches(&host("[::ffff:127.0.0.1]"), 80));
    }

    #[test]
    fn ambiguous_request_hosts_are_rejected() {
        for bad in [
            "127.1",
            "0x7f.0.0.1",
            "2130706433",
            "a b",
            "",
            "[::1",
            "ex*.com",
            "[nope]",
        ] {
            assert_eq!(normalize_host(bad), None, "{bad:?}");
        }
        assert_eq!(
            normalize_host("Example.COM."),
            Some(Host::Name("example.com".into()))
        );
    }

    #[test]
    fn special_addresses_are_classified() {
        use Special::*;
        for (ip, class) in [
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Reserved)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.0.9", Some(Loopback)),
            ("10.1.2.3", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(Private)),
            ("169.254.1.1", Some(LinkLocal)),
            ("169.254.169.254", Some(Metadata)),
            ("169.254.170.2", Some(Metadata)),
            ("168.63.129.16", Some(Metadata)),
            ("100.100.100.200", Some(Metadata)),
            ("100.64.0.1", Some(Cgnat)),
            ("100.128.0.1", None),
            ("224.0.0.1", Some(Multicast)),
            ("255.255.255.255", Some(Reserved)),
            ("192.0.2.1", Some(Reserved)),
            ("198.18.0.1", Some(Reserved)),
            ("93.184.216.34", None),
            ("8.8.8.8", None),
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:169.254.169.254", Some(Metadata)),
            ("::10.0.0.1", Some(Reserved)),
            ("64:ff9b::a00:1", Some(Private)),
            ("64:ff9b::808:808", None),
            ("2002:a00:1::", Some(Private)),
            ("fd00:ec2::254", Some(Metadata)),
            ("fd12:3456::1", Some(UniqueLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("ff02::1", Some(Multicast)),
            ("2001:db8::1", Some(Reserved)),
            ("2001::1", Some(Reserved)),
            ("2606:4700::1111", None),
        ] {
            assert_eq!(classify(ip.parse().unwrap()), class, "{ip}");
        }
    }

    #[test]
    fn only_entries_naming_an_address_open_special_ones() {
        let addr = |s: &str| s.parse::<IpAddr>().unwrap();
        let by_name = hp("internal.example.com:443");
        assert_eq!(by_name.refuses(addr("10.0.0.1")), Some(Special::Private));
        assert_eq!(by_name.refuses(addr("93.184.216.34")), None);
        let private = by_name.clone().danger_allow_private();
        assert_eq!(private.refuses(addr("10.0.0.1")), None);
        assert_eq!(private.refuses(addr("127.0.0.1")), None);
        assert_eq!(
            private.refuses(addr("169.254.169.254")),
            Some(Special::Metadata)
        );
        assert_eq!(hp("localhost:80").refuses(addr("127.0.0.1")), None);
        assert_eq!(hp("localhost:80").refuses(addr("::1")), None);
        assert_eq!(
            hp("localhost:80").refuses(addr("10.0.0.1")),
            Some(Special::Private)
        );
        assert_eq!(hp("127.0.0.1:80").refuses(addr("127.0.0.1")), None);
        assert_eq!(
            hp("127.0.0.1:80").refuses(addr("127.0.0.2")),
            Some(Special::Loopback)
        );
        assert_eq!(hp("169.254.169.254").refuses(addr("169.254.169.254")), None);
        assert_eq!(
            hp("*:80").refuses(addr("169.254.169.254")),
            Some(Special::Metadata)
        );
    }
}
