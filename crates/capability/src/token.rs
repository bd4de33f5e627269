//! The token format and its MAC chain.
//!
//! ```text
//! token   = "hushcap1." base64url-nopad(body)
//! body    = version:u8 (1) | links:u8 (1..=16) | link* | mac:[32]
//! link    = len:u16 | payload                          (len = payload bytes, at most 4096)
//! payload = id:[16] | issued:u64 | expires:u64 | max_depth:u8
//!           | issuer:str8 | agent:str8 | grants:u8 (1..=32) | (ops:u16 | pattern:str8)*
//! str8    = len:u8 | UTF-8 bytes
//! ```
//!
//! Integers are big-endian. The MAC chain is
//! `m0 = HMAC-SHA256(root key, "hush-capability-v1\0" | payload0)`,
//! `m(i) = HMAC-SHA256(m(i-1), payload(i))`, and the token carries the last one. Whoever holds a
//! token can append a link (they know its MAC), but cannot remove, reorder or change one: every
//! earlier MAC is a key they never see.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;

use crate::error::{ParseError, Rejection};
use crate::scope::{Grant, Operation, Operations, Pattern, Resource, Scope};

/// What every token text starts with.
pub const PREFIX: &str = "hushcap1.";
/// The longest token text accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// The most links in a token (so at most 15 delegations).
pub const MAX_LINKS: usize = 16;
/// The most grants in a link.
pub const MAX_GRANTS: usize = 32;
/// How far in the future a link's issue time may be (clock skew between hosts), seconds.
pub const MAX_SKEW: u64 = 300;

const VERSION: u8 = 1;
const DOMAIN: &[u8] = b"hush-capability-v1\0";
const MAX_PAYLOAD: usize = 4096;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// A link's id: 16 random bytes, shown as 32 hex digits. Revoking it invalidates every token
/// whose chain holds it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub [u8; 16]);

impl LinkId {
    /// A fresh random id.
    ///
    /// # Errors
    /// The OS's error text when it has no randomness.
    pub fn random() -> Result<LinkId, String> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| e.to_string())?;
        Ok(LinkId(b))
    }
}

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkId({self})")
    }
}

impl FromStr for LinkId {
    type Err = String;

    fn from_str(s: &str) -> Result<LinkId, String> {
        let mut b = [0u8; 16];
        hex::decode_to_slice(s, &mut b)
            .map_err(|_| format!("`{s}` is not a link id (32 hex digits)"))?;
        Ok(LinkId(b))
    }
}

/// One link of a token: who it is for, what it allows, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Its id.
    pub id: LinkId,
    /// When it was made, Unix seconds.
    pub issued: u64,
    /// When it stops being valid, Unix seconds (exclusive).
    pub expires: u64,
    /// How many links may follow it.
    pub max_depth: u8,
    /// Who made it (the authority's name for a root link, the delegating agent otherwise).
    pub issuer: String,
    /// Who it is for.
    pub agent: String,
    /// What it allows.
    pub scope: Scope,
}

/// The effective constraints of a token: the intersection over its links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraints {
    /// What every link allows.
    pub scope: Scope,
    /// The earliest expiry.
    pub expires: u64,
    /// Further delegations allowed.
    pub remaining_depth: u8,
}

/// A parsed token. Its MAC is a bearer secret: `Debug` leaves it out and [`Token::encode`]
/// returns a [`SecretString`].
#[derive(Clone)]
pub struct Token {
    links: Vec<Link>,
    /// The body as sent, without the MAC: version, link count, then each link's length and
    /// payload.
    body: Vec<u8>,
    /// Where each payload sits in `body`.
    spans: Vec<(usize, usize)>,
    mac: [u8; 32],
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("links", &self.links)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// A new root token, signed with `key`.
    pub(crate) fn root(key: &HmacSha256, link: Link) -> Token {
        let payload = encode_link(&link);
        let mut m = key.clone();
        m.update(DOMAIN);
        m.update(&payload);
        let mut t = Token {
            links: vec![link],
            body: vec![VERSION, 0],
            spans: Vec::with_capacity(1),
            mac: m.finalize().into_bytes().into(),
        };
        t.push_payload(&payload);
        t
    }

    fn push_payload(&mut self, payload: &[u8]) {
        // INVARIANT: payloads are at most MAX_PAYLOAD bytes and a token has at most MAX_LINKS.
        self.body
            .extend_from_slice(&(payload.len() as u16).to_be_bytes());
        let start = self.body.len();
        self.body.extend_from_slice(payload);
        self.spans.push((start, self.body.len()));
        self.body[1] = self.spans.len() as u8;
    }

    fn payload(&self, i: usize) -> &[u8] {
        let (a, b) = self.spans[i];
        &self.body[a..b]
    }

    /// This token with one more link. Anyone holding a token can do this offline (it needs no
    /// key); the new link only narrows, since a token allows what every link allows. The
    /// result is valid only if the link's expiry and depth fit ([`crate::Authority::delegate`]
    /// checks them first and records the link; this does not).
    ///
    /// # Errors
    /// [`ParseError::Links`] when the token already has [`MAX_LINKS`] links,
    /// [`ParseError::Grants`] for more than [`MAX_GRANTS`] grants.
    pub fn attenuate(&self, link: Link) -> Result<Token, ParseError> {
        if self.links.len() >= MAX_LINKS {
            return Err(ParseError::Links {
                got: self.links.len() + 1,
                max: MAX_LINKS,
            });
        }
        if link.scope.grants().len() > MAX_GRANTS {
            return Err(ParseError::Grants(MAX_GRANTS));
        }
        let payload = encode_link(&link);
        if payload.len() > MAX_PAYLOAD {
            return Err(ParseError::Truncated);
        }
        let mac = next_mac(&self.mac, &payload).ok_or(ParseError::Truncated)?;
        let mut t = self.clone();
        t.links.push(link);
        t.push_payload(&payload);
        t.mac = mac;
        Ok(t)
    }

    /// The links, root first.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The last link's id: the token's id.
    pub fn id(&self) -> LinkId {
        self.leaf().id
    }

    /// The last link.
    pub fn leaf(&self) -> &Link {
        // INVARIANT: a token has at least one link (root, parse).
        &self.links[self.links.len() - 1]
    }

    /// The text form, `hushcap1.…`.
    pub fn encode(&self) -> SecretString {
        let mut body = Vec::with_capacity(self.body.len() + 32);
        body.extend_from_slice(&self.body);
        body.extend_from_slice(&self.mac);
        let mut text = String::with_capacity(PREFIX.len() + body.len() * 4 / 3 + 4);
        text.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(&body, &mut text);
        zeroize::Zeroize::zeroize(&mut body);
        SecretString::from(text)
    }

    /// Parses a token's text. Structure only: [`crate::Authority::verify`] checks the MACs,
    /// expiry, depth and revocation.
    ///
    /// # Errors
    /// [`ParseError`]; never panics, whatever the input.
    pub fn parse(text: &str) -> Result<Token, ParseError> {
        if text.len() > MAX_TOKEN_LEN {
            return Err(ParseError::TooLong(MAX_TOKEN_LEN));
        }
        let b64 = text.strip_prefix(PREFIX).ok_or(ParseError::Prefix)?;
        let mut body = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| ParseError::Base64)?;
        let total = body.len();
        let mut r = Reader(&body);
        if r.u8()? != VERSION {
            return Err(ParseError::Prefix);
        }
        let n = usize::from(r.u8()?);
        if n == 0 || n > MAX_LINKS {
            return Err(ParseError::Links {
                got: n,
                max: MAX_LINKS,
            });
        }
        let mut links = Vec::with_capacity(n);
        let mut spans = Vec::with_capacity(n);
        for i in 0..n {
            let len = usize::from(r.u16()?);
            if len > MAX_PAYLOAD {
                return Err(ParseError::Truncated);
            }
            let start = total - r.0.len();
            links.push(decode_link(i, r.take(len)?)?);
            spans.push((start, start + len));
        }
        let mac: [u8; 32] = r.take(32)?.try_into().map_err(|_| ParseError::Truncated)?;
        if !r.0.is_empty() {
            return Err(ParseError::Truncated);
        }
        body.truncate(total - 32);
        Ok(Token {
            links,
            body,
            spans,
            mac,
        })
    }

    /// Checks the MAC chain under `key`, then expiry, issue times and depth at `now`.
    /// Revocation is the caller's ([`crate::Authority`] checks every link id).
    pub(crate) fn check(&self, key: &HmacSha256, now: u64) -> Result<(), Rejection> {
        let mut m = key.clone();
        m.update(DOMAIN);
        m.update(self.payload(0));
        for i in 1..self.spans.len() {
            let prev: [u8; 32] = m.finalize().into_bytes().into();
            m = HmacSha256::new_from_slice(&prev).map_err(|_| Rejection::Signature)?;
            m.update(self.payload(i));
        }
        m.verify_slice(&self.mac)
            .map_err(|_| Rejection::Signature)?;
        let n = self.links.len();
        for (i, l) in self.links.iter().enumerate() {
            if now >= l.expires {
                return Err(Rejection::Expired {
                    id: l.id.to_string(),
                    expires: l.expires,
                });
            }
            if l.issued > now.saturating_add(MAX_SKEW) {
                return Err(Rejection::NotYetValid {
                    id: l.id.to_string(),
                });
            }
            let after = n - 1 - i;
            if after > usize::from(l.max_depth) {
                return Err(Rejection::Depth {
                    id: l.id.to_string(),
                    max_depth: l.max_depth,
                    found: after,
                });
            }
        }
        Ok(())
    }

    /// Whether every link allows `op` on `resource` (the intersection of the links allows it).
    ///
    /// # Errors
    /// [`Rejection::NotAllowed`] naming the first link that does not.
    pub fn allows(&self, resource: &Resource, op: Operation) -> Result<(), Rejection> {
        match self.links.iter().find(|l| !l.scope.allows(resource, op)) {
            None => Ok(()),
            Some(l) => Err(Rejection::NotAllowed {
                id: l.id.to_string(),
                resource: resource.to_string(),
                operation: op.to_string(),
            }),
        }
    }

    /// The effective constraints: the scopes intersected, the earliest expiry, the fewest
    /// further delegations any link allows. Validation does not need it (it checks every link);
    /// delegation and listings do.
    ///
    /// # Errors
    /// [`ParseError::TooComplex`] when intersecting two links' grants would take more than
    /// `MAX_GRANTS²` pairs: only a token narrowed offline with many overlapping grants gets
    /// there, and the work would grow quadratically with it.
    pub fn effective(&self) -> Result<Constraints, ParseError> {
        let n = self.links.len();
        let mut scope = self.links[0].scope.clone();
        for l in &self.links[1..] {
            if scope.grants().len() * l.scope.grants().len() > MAX_GRANTS * MAX_GRANTS {
                return Err(ParseError::TooComplex);
            }
            scope = scope.intersect(&l.scope);
        }
        let expires = self.links.iter().map(|l| l.expires).min().unwrap_or(0);
        let remaining_depth = self
            .links
            .iter()
            .enumerate()
            .map(|(i, l)| usize::from(l.max_depth).saturating_sub(n - 1 - i))
            .min()
            .unwrap_or(0);
        Ok(Constraints {
            scope,
            expires,
            remaining_depth: u8::try_from(remaining_depth).unwrap_or(u8::MAX),
        })
    }
}

fn next_mac(prev: &[u8; 32], payload: &[u8]) -> Option<[u8; 32]> {
    let mut m = HmacSha256::new_from_slice(prev).ok()?;
    m.update(payload);
    Some(m.finalize().into_bytes().into())
}

fn push_str8(out: &mut Vec<u8>, s: &str) {
    // INVARIANT: callers pass names and patterns of at most 255 bytes (checked when a link is
    // built); a longer one is cut at a char boundary rather than mis-encoded.
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&s.as_bytes()[..end]);
}

fn encode_link(l: &Link) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + l.scope.grants().len() * 32);
    out.extend_from_slice(&l.id.0);
    out.extend_from_slice(&l.issued.to_be_bytes());
    out.extend_from_slice(&l.expires.to_be_bytes());
    out.push(l.max_depth);
    push_str8(&mut out, &l.issuer);
    push_str8(&mut out, &l.agent);
    let grants = &l.scope.grants()[..l.scope.grants().len().min(MAX_GRANTS)];
    out.push(grants.len() as u8);
    for g in grants {
        out.extend_from_slice(&g.ops.bits().to_be_bytes());
        push_str8(&mut out, &g.pattern.to_string());
    }
    out
}

/// Whether `name` can be an agent or issuer name: 1 to 64 bytes, no whitespace or control
/// characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn decode_link(i: usize, payload: &[u8]) -> Result<Link, ParseError> {
    let mut r = Reader(payload);
    let id = LinkId(r.take(16)?.try_into().map_err(|_| ParseError::Truncated)?);
    let issued = r.u64()?;
    let expires = r.u64()?;
    let max_depth = r.u8()?;
    let issuer = r.name(i, "issuer")?;
    let agent = r.name(i, "agent")?;
    let count = usize::from(r.u8()?);
    if count == 0 || count > MAX_GRANTS {
        return Err(ParseError::Grants(MAX_GRANTS));
    }
    let mut grants = Vec::with_capacity(count);
    for _ in 0..count {
        let ops = Operations::from_bits(r.u16()?)
            .filter(|o| !o.is_empty())
            .ok_or(ParseError::Operations(i))?;
        let text = r.str8()?.ok_or(ParseError::Pattern {
            link: i,
            error: crate::ScopeError::Character,
        })?;
        let pattern =
            Pattern::parse(text).map_err(|error| ParseError::Pattern { link: i, error })?;
        grants.push(Grant::new(ops, pattern));
    }
    if !r.0.is_empty() {
        return Err(ParseError::Truncated);
    }
    Ok(Link {
        id,
        issued,
        expires,
        max_depth,
        issuer,
        agent,
        scope: Scope::from_decoded(grants),
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.0.len() < n {
            return Err(ParseError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ParseError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u64(&mut self) -> Result<u64, ParseError> {
        let b: [u8; 8] = self
            .take(8)?
            .try_into()
            .map_err(|_| ParseError::Truncated)?;
        Ok(u64::from_be_bytes(b))
    }

    /// A str8; `None` when it is not UTF-8.
    fn str8(&mut self) -> Result<Option<&'a str>, ParseError> {
        let n = usize::from(self.u8()?);
        Ok(std::str::from_utf8(self.take(n)?).ok())
    }

    fn name(&mut self, link: usize, field: &'static str) -> Result<String, ParseError> {
        match self.str8()? {
            Some(s) if valid_name(s) => Ok(s.to_string()),
            _ => Err(ParseError::Name { link, field }),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn key(b: u8) -> HmacSha256 {
        HmacSha256::new_from_slice(&[b; 32]).unwrap()
    }

    fn link(id: u8, expires: u64, depth: u8, grants: &[&str]) -> Link {
        Link {
            id: LinkId([id; 16]),
            issued: 100,
            expires,
            max_depth: depth,
            issuer: "hush".into(),
            agent: format!("agent-{id}"),
            scope: Scope::new(grants.iter().map(|g| Grant::parse(g).unwrap())),
        }
    }

    #[test]
    fn round_trips_and_checks() {
        let k = key(1);
        let t = Token::root(
            &k,
            link(1, 1000, 2, &["read,write path:/p", "call tool:fs/*"]),
        );
        let t = t.attenuate(link(2, 900, 1, &["read path:/p/src"])).unwrap();
        let text = t.encode();
        assert!(text.expose_secret().starts_with(PREFIX));
        let back = Token::parse(text.expose_secret()).unwrap();
        assert_eq!(back.links(), t.links());
        assert_eq!(back.check(&k, 500), Ok(()));
        assert_eq!(back.check(&key(2), 500), Err(Rejection::Signature));
        assert!(matches!(
            back.check(&k, 900),
            Err(Rejection::Expired { .. })
        ));
        let e = back.effective().unwrap();
        assert_eq!(e.expires, 900);
        assert_eq!(e.remaining_depth, 1);
        let g: Vec<String> = e.scope.grants().iter().map(Grant::to_string).collect();
        assert_eq!(g, vec!["read path:/p/src"]);
        assert!(!format!("{back:?}").contains("mac"));
    }

    #[test]
    fn depth_is_enforced_on_every_link() {
        let k = key(1);
        let t = Token::root(&k, link(1, 1000, 1, &["read path:/"]));
        let t = t.attenuate(link(2, 1000, 5, &["read path:/"])).unwrap();
        assert_eq!(t.check(&k, 500), Ok(()));
        let t = t.attenuate(link(3, 1000, 5, &["read path:/"])).unwrap();
        assert!(matches!(
            t.check(&k, 500),
            Err(Rejection::Depth { found: 2, .. })
        ));
    }

    #[test]
    fn the_effective_scope_of_a_pathological_chain_is_refused() {
        let k = key(1);
        let many = |f: &dyn Fn(usize) -> String| -> Vec<String> { (0..32).map(f).collect() };
        let servers = many(&|i| format!("call tool:s{i}/*"));
        let tools = many(&|j| format!("call tool:*/t{j}"));
        let servers: Vec<&str> = servers.iter().map(String::as_str).collect();
        let tools: Vec<&str> = tools.iter().map(String::as_str).collect();
        let t = Token::root(&k, link(1, 1000, 5, &servers));
        let t = t.attenuate(link(2, 1000, 5, &tools)).unwrap();
        assert_eq!(t.effective().unwrap().scope.grants().len(), 1024);
        let t = t
            .attenuate(link(3, 1000, 5, &["call tool:s1/*", "call tool:s2/*"]))
            .unwrap();
        assert_eq!(t.effective().unwrap_err(), ParseError::TooComplex);
        // Validation does not need it.
        assert_eq!(t.check(&k, 500), Ok(()));
        let r = Resource::parse("tool:s1/t7").unwrap();
        assert_eq!(t.allows(&r, Operation::Call), Ok(()));
    }

    #[test]
    fn rejects_malformed_text() {
        assert_eq!(Token::parse("x").unwrap_err(), ParseError::Prefix);
        assert_eq!(Token::parse("hushcap1.!!").unwrap_err(), ParseError::Base64);
        assert_eq!(
            Token::parse("hushcap1.").unwrap_err(),
            ParseError::Truncated
        );
        assert_eq!(
            Token::parse(&"a".repeat(MAX_TOKEN_LEN + 1)).unwrap_err(),
            ParseError::TooLong(MAX_TOKEN_LEN)
        );
        let k = key(1);
        let text = Token::root(&k, link(1, 1000, 0, &["read path:/"])).encode();
        let mut extra = text.expose_secret().to_string();
        extra.push_str("AA");
        assert!(Token::parse(&extra).is_err());
    }
}
