//! What a token allows: operations on resources, as grants of `OPS PATTERN`.
//!
//! Patterns are closed under intersection: the intersection of two patterns is either empty or
//! one pattern, and it is exact (a resource matches `a ∩ b` if and only if it matches both). So
//! the intersection of two grant lists is the list of pairwise intersections, and a delegated
//! link can always be written down as the narrowed grants it really allows.

use std::fmt;

use crate::error::ScopeError;

/// The longest pattern or resource text accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 255;

/// One operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// Read a file or resource.
    Read,
    /// Create or change a file or resource.
    Write,
    /// Remove a file or resource.
    Delete,
    /// List a directory or collection.
    List,
    /// Run a program.
    Exec,
    /// Open a network connection.
    Connect,
    /// Call a tool.
    Call,
}

const OPERATIONS: [(Operation, &str); 7] = [
    (Operation::Read, "read"),
    (Operation::Write, "write"),
    (Operation::Delete, "delete"),
    (Operation::List, "list"),
    (Operation::Exec, "exec"),
    (Operation::Connect, "connect"),
    (Operation::Call, "call"),
];

impl Operation {
    fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// Its name (`read`, `write`, ...).
    pub fn as_str(self) -> &'static str {
        OPERATIONS[self as usize].1
    }

    /// Parses a name.
    ///
    /// # Errors
    /// [`ScopeError::Operation`] for an unknown name.
    pub fn parse(name: &str) -> Result<Operation, ScopeError> {
        OPERATIONS
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(op, _)| *op)
            .ok_or_else(|| ScopeError::Operation(name.chars().take(32).collect()))
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Operations(u16);

impl Operations {
    /// Every operation.
    pub const ALL: Operations = Operations((1 << OPERATIONS.len()) - 1);
    /// No operation.
    pub const NONE: Operations = Operations(0);

    /// One operation.
    pub fn only(op: Operation) -> Operations {
        Operations(op.bit())
    }

    /// The set from its bits, if every bit names an operation.
    pub fn from_bits(bits: u16) -> Option<Operations> {
        (bits & !Operations::ALL.0 == 0).then_some(Operations(bits))
    }

    /// Its bits.
    pub fn bits(self) -> u16 {
        self.0
    }

    /// Whether `op` is in the set.
    pub fn contains(self, op: Operation) -> bool {
        self.0 & op.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Operations in both sets.
    pub fn intersect(self, other: Operations) -> Operations {
        Operations(self.0 & other.0)
    }

    /// Operations in either set.
    pub fn union(self, other: Operations) -> Operations {
        Operations(self.0 | other.0)
    }

    /// Whether every operation of `self` is in `other`.
    pub fn is_subset(self, other: Operations) -> bool {
        self.0 & !other.0 == 0
    }

    /// Parses `read,write`, or `*` for every operation.
    ///
    /// # Errors
    /// [`ScopeError::Operation`] for an unknown name, [`ScopeError::Empty`] for no name.
    pub fn parse(text: &str) -> Result<Operations, ScopeError> {
        if text == "*" {
            return Ok(Operations::ALL);
        }
        let mut set = Operations::NONE;
        for name in text.split(',') {
            set.0 |= Operation::parse(name.trim())?.bit();
        }
        if set.is_empty() {
            return Err(ScopeError::Empty);
        }
        Ok(set)
    }
}

impl fmt::Display for Operations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Operations::ALL {
            return f.write_str("*");
        }
        let mut first = true;
        for (op, name) in OPERATIONS {
            if self.contains(op) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Something an agent acts on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    /// A file system path: absolute, normalised (no `.`, `..` or empty segments).
    Path(String),
    /// A network host (lowercase, no trailing dot), with the port when known.
    Host {
        /// The host name or address (`[…]` for IPv6).
        name: String,
        /// The port.
        port: Option<u16>,
    },
    /// An MCP tool.
    Tool {
        /// The server's name.
        server: String,
        /// The tool's name.
        tool: String,
    },
}

impl Resource {
    /// Parses a resource URI: `path:/abs`, `/abs`, `file:///abs` (percent-decoded),
    /// `host:NAME[:PORT]`, `SCHEME://[USER@]HOST[:PORT][/…]`, or `tool:SERVER/TOOL`.
    ///
    /// A path with a `..` segment is refused rather than resolved: a capability check is
    /// lexical, and `..` is how a path escapes a prefix.
    ///
    /// # Errors
    /// [`ScopeError`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Resource, ScopeError> {
        if text.len() > 4 * MAX_PATTERN_LEN {
            return Err(ScopeError::TooLong);
        }
        if let Some(rest) = text.strip_prefix("path:") {
            return Ok(Resource::Path(normalise_path(rest)?));
        }
        if text.starts_with('/') {
            return Ok(Resource::Path(normalise_path(text)?));
        }
        if let Some(rest) = text.strip_prefix("file://") {
            let decoded = percent_decode(rest)?;
            let path = decoded.strip_prefix("localhost").unwrap_or(&decoded);
            return Ok(Resource::Path(normalise_path(path)?));
        }
        if let Some(rest) = text.strip_prefix("host:") {
            let (name, port) = split_port(rest)?;
            return Ok(Resource::Host {
                name: normalise_host(name)?,
                port,
            });
        }
        if let Some(rest) = text.strip_prefix("tool:") {
            let (server, tool) = rest.split_once('/').ok_or(ScopeError::Tool)?;
            check_name(server)?;
            check_name(tool)?;
            return Ok(Resource::Tool {
                server: server.into(),
                tool: tool.into(),
            });
        }
        if let Some((scheme, rest)) = text.split_once("://") {
            if scheme.is_empty()
                || !scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            {
                return Err(ScopeError::Unknown);
            }
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let (name, port) = split_port(authority)?;
            let port = port.or(match scheme.to_ascii_lowercase().as_str() {
                "https" | "wss" => Some(443),
                "http" | "ws" => Some(80),
                _ => None,
            });
            return Ok(Resource::Host {
                name: normalise_host(name)?,
                port,
            });
        }
        Err(ScopeError::Unknown)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Path(p) => write!(f, "path:{p}"),
            Resource::Host { name, port: None } => write!(f, "host:{name}"),
            Resource::Host {
                name,
                port: Some(p),
            } => write!(f, "host:{name}:{p}"),
            Resource::Tool { server, tool } => write!(f, "tool:{server}/{tool}"),
        }
    }
}

/// A host pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum HostPattern {
    /// `*`: any host.
    Any,
    /// `*.example.com`: stored as `.example.com`; never matches `example.com` itself.
    Suffix(String),
    /// One host.
    Exact(String),
}

impl HostPattern {
    fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Suffix(s) => host.len() > s.len() && host.ends_with(s.as_str()),
            HostPattern::Exact(h) => h == host,
        }
    }

    fn is_subset(&self, other: &HostPattern) -> bool {
        use HostPattern::{Any, Exact, Suffix};
        match (self, other) {
            (_, Any) => true,
            (Any, _) => false,
            (Exact(a), Exact(b)) => a == b,
            (Exact(a), s @ Suffix(_)) => s.matches(a),
            (Suffix(a), Suffix(b)) => a.ends_with(b.as_str()),
            (Suffix(_), Exact(_)) => false,
        }
    }

    fn intersect(&self, other: &HostPattern) -> Option<HostPattern> {
        use HostPattern::{Any, Exact, Suffix};
        match (self, other) {
            (Any, x) | (x, Any) => Some(x.clone()),
            (Exact(a), Exact(b)) => (a == b).then(|| Exact(a.clone())),
            (Exact(a), s @ Suffix(_)) | (s @ Suffix(_), Exact(a)) => {
                s.matches(a).then(|| Exact(a.clone()))
            }
            (Suffix(a), Suffix(b)) => {
                if a.ends_with(b.as_str()) {
                    Some(Suffix(a.clone()))
                } else if b.ends_with(a.as_str()) {
                    Some(Suffix(b.clone()))
                } else {
                    None
                }
            }
        }
    }
}

/// A name pattern: one name, or a prefix followed by `*` (`*` alone: any name).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum NamePattern {
    Prefix(String),
    Exact(String),
}

impl NamePattern {
    fn parse(text: &str) -> Result<NamePattern, ScopeError> {
        match text.strip_suffix('*') {
            Some(prefix) => {
                if !prefix.is_empty() {
                    check_name(prefix)?;
                }
                Ok(NamePattern::Prefix(prefix.into()))
            }
            None => {
                check_name(text)?;
                Ok(NamePattern::Exact(text.into()))
            }
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            NamePattern::Prefix(p) => name.starts_with(p.as_str()),
            NamePattern::Exact(n) => n == name,
        }
    }

    fn is_subset(&self, other: &NamePattern) -> bool {
        use NamePattern::{Exact, Prefix};
        match (self, other) {
            (Exact(a), Exact(b)) => a == b,
            (Exact(a), p @ Prefix(_)) => p.matches(a),
            (Prefix(a), Prefix(b)) => a.starts_with(b.as_str()),
            (Prefix(_), Exact(_)) => false,
        }
    }

    fn intersect(&self, other: &NamePattern) -> Option<NamePattern> {
        use NamePattern::{Exact, Prefix};
        match (self, other) {
            (Exact(a), Exact(b)) => (a == b).then(|| Exact(a.clone())),
            (Exact(a), p @ Prefix(_)) | (p @ Prefix(_), Exact(a)) => {
                p.matches(a).then(|| Exact(a.clone()))
            }
            (Prefix(a), Prefix(b)) => {
                if a.starts_with(b.as_str()) {
                    Some(Prefix(a.clone()))
                } else if b.starts_with(a.as_str()) {
                    Some(Prefix(b.clone()))
                } else {
                    None
                }
            }
        }
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamePattern::Prefix(p) => write!(f, "{p}*"),
            NamePattern::Exact(n) => f.write_str(n),
        }
    }
}

/// A set of resources: a path prefix, a host pattern, or a tool pattern.
///
/// - `path:/home/me/project` (or just `/home/me/project`): that path and everything under it,
///   at component boundaries (`/home/me/project2` is not under it). `path:/` is every path.
/// - `host:api.example.com`, `host:*.example.com` (subdomains, not `example.com` itself),
///   `host:*`; an optional `:PORT` limits the port.
/// - `tool:fs/read_file`, `tool:fs/*`, `tool:*/read_*`: `SERVER/TOOL`, each a name or a
///   prefix ending in `*`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern(PatternKind);

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum PatternKind {
    Path(String),
    Host {
        host: HostPattern,
        port: Option<u16>,
    },
    /// Server, tool.
    Tool(NamePattern, NamePattern),
}

impl Pattern {
    /// Parses a pattern (see the type's docs).
    ///
    /// # Errors
    /// [`ScopeError`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Pattern, ScopeError> {
        if text.len() > MAX_PATTERN_LEN {
            return Err(ScopeError::TooLong);
        }
        let kind = if let Some(rest) = text.strip_prefix("path:") {
            PatternKind::Path(normalise_path(rest)?)
        } else if text.starts_with('/') {
            PatternKind::Path(normalise_path(text)?)
        } else if let Some(rest) = text.strip_prefix("host:") {
            let (name, port) = split_port(rest)?;
            let host = if name == "*" {
                HostPattern::Any
            } else if let Some(suffix) = name.strip_prefix("*.") {
                HostPattern::Suffix(format!(".{}", normalise_host(suffix)?))
            } else {
                HostPattern::Exact(normalise_host(name)?)
            };
            PatternKind::Host { host, port }
        } else if let Some(rest) = text.strip_prefix("tool:") {
            let (server, tool) = rest.split_once('/').ok_or(ScopeError::Tool)?;
            PatternKind::Tool(NamePattern::parse(server)?, NamePattern::parse(tool)?)
        } else {
            return Err(ScopeError::Unknown);
        };
        // INVARIANT: the canonical form is never longer than the text it came from (paths and
        // hosts only lose characters, ports lose leading zeros), so it fits a token too.
        Ok(Pattern(kind))
    }

    /// The narrowest pattern matching `resource`: the path (and what is under it), the host
    /// on its port, or the one tool.
    pub fn exactly(resource: &Resource) -> Pattern {
        Pattern(match resource {
            Resource::Path(p) => PatternKind::Path(p.clone()),
            Resource::Host { name, port } => PatternKind::Host {
                host: HostPattern::Exact(name.clone()),
                port: *port,
            },
            Resource::Tool { server, tool } => PatternKind::Tool(
                NamePattern::Exact(server.clone()),
                NamePattern::Exact(tool.clone()),
            ),
        })
    }

    /// Whether `resource` is in the set.
    pub fn matches(&self, resource: &Resource) -> bool {
        match (&self.0, resource) {
            (PatternKind::Path(prefix), Resource::Path(path)) => under(path, prefix),
            (PatternKind::Host { host, port }, Resource::Host { name, port: p }) => {
                host.matches(name) && port.is_none_or(|want| *p == Some(want))
            }
            (PatternKind::Tool(server, tool), Resource::Tool { server: s, tool: t }) => {
                server.matches(s) && tool.matches(t)
            }
            _ => false,
        }
    }

    /// The resources in both sets, or `None` when there is none.
    pub fn intersect(&self, other: &Pattern) -> Option<Pattern> {
        let kind = match (&self.0, &other.0) {
            (PatternKind::Path(a), PatternKind::Path(b)) => {
                if under(a, b) {
                    PatternKind::Path(a.clone())
                } else if under(b, a) {
                    PatternKind::Path(b.clone())
                } else {
                    return None;
                }
            }
            (PatternKind::Host { host: a, port: pa }, PatternKind::Host { host: b, port: pb }) => {
                let port = match (pa, pb) {
                    (None, p) | (p, None) => *p,
                    (Some(x), Some(y)) if x == y => Some(*x),
                    _ => return None,
                };
                PatternKind::Host {
                    host: a.intersect(b)?,
                    port,
                }
            }
            (PatternKind::Tool(sa, ta), PatternKind::Tool(sb, tb)) => {
                PatternKind::Tool(sa.intersect(sb)?, ta.intersect(tb)?)
            }
            _ => return None,
        };
        Some(Pattern(kind))
    }

    /// Whether every resource of `self` is in `other`.
    pub fn is_subset(&self, other: &Pattern) -> bool {
        // INVARIANT: the same as `self.intersect(other) == Some(self)` (a proptest checks it),
        // without allocating: canonicalising scopes calls this for every pair of grants.
        match (&self.0, &other.0) {
            (PatternKind::Path(a), PatternKind::Path(b)) => under(a, b),
            (PatternKind::Host { host: a, port: pa }, PatternKind::Host { host: b, port: pb }) => {
                pb.is_none_or(|q| *pa == Some(q)) && a.is_subset(b)
            }
            (PatternKind::Tool(sa, ta), PatternKind::Tool(sb, tb)) => {
                sa.is_subset(sb) && ta.is_subset(tb)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            PatternKind::Path(p) => write!(f, "path:{p}"),
            PatternKind::Host { host, port } => {
                f.write_str("host:")?;
                match host {
                    HostPattern::Any => f.write_str("*")?,
                    HostPattern::Suffix(s) => write!(f, "*{s}")?,
                    HostPattern::Exact(h) => f.write_str(h)?,
                }
                match port {
                    Some(p) => write!(f, ":{p}"),
                    None => Ok(()),
                }
            }
            PatternKind::Tool(server, tool) => write!(f, "tool:{server}/{tool}"),
        }
    }
}

/// Operations on a set of resources.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grant {
    /// The resources.
    pub pattern: Pattern,
    /// What may be done to them.
    pub ops: Operations,
}

impl Grant {
    /// A grant.
    pub fn new(ops: Operations, pattern: Pattern) -> Grant {
        Grant { pattern, ops }
    }

    /// Parses `OPS PATTERN`: `read,write path:/home/me/project`, `call tool:fs/*`,
    /// `* host:*.example.com`.
    ///
    /// # Errors
    /// [`ScopeError`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Grant, ScopeError> {
        let (ops, pattern) = text.trim().split_once(' ').ok_or(ScopeError::Grant)?;
        Ok(Grant {
            ops: Operations::parse(ops)?,
            pattern: Pattern::parse(pattern.trim())?,
        })
    }

    /// Whether it allows `op` on `resource`.
    pub fn allows(&self, resource: &Resource, op: Operation) -> bool {
        self.ops.contains(op) && self.pattern.matches(resource)
    }

    /// What both allow, or `None`.
    pub fn intersect(&self, other: &Grant) -> Option<Grant> {
        let ops = self.ops.intersect(other.ops);
        if ops.is_empty() {
            return None;
        }
        Some(Grant {
            pattern: self.pattern.intersect(&other.pattern)?,
            ops,
        })
    }

    /// Whether everything it allows, `other` allows.
    pub fn is_subset(&self, other: &Grant) -> bool {
        self.ops.is_subset(other.ops) && self.pattern.is_subset(&other.pattern)
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.ops, self.pattern)
    }
}

/// A set of grants: allows an access when one of them does.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Scope {
    grants: Vec<Grant>,
}

impl Scope {
    /// The scope of these grants, in canonical form: grants on the same pattern merged, each
    /// operation kept only on the widest patterns that have it, sorted.
    pub fn new(grants: impl IntoIterator<Item = Grant>) -> Scope {
        let mut all: Vec<Grant> = Vec::new();
        for g in grants {
            if g.ops.is_empty() {
                continue;
            }
            match all.iter_mut().find(|h| h.pattern == g.pattern) {
                Some(h) => h.ops = h.ops.union(g.ops),
                None => all.push(g),
            }
        }
        // Patterns are unique now, so a pattern inside another is strictly inside it: an
        // operation is kept only on the widest patterns that have it.
        let ops: Vec<Operations> = all
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let mut covered = Operations::NONE;
                for (j, h) in all.iter().enumerate() {
                    if j != i && g.pattern.is_subset(&h.pattern) {
                        covered = covered.union(h.ops);
                    }
                }
                Operations(g.ops.0 & !covered.0)
            })
            .collect();
        let mut grants: Vec<Grant> = all
            .into_iter()
            .zip(ops)
            .filter_map(|(g, ops)| {
                (!ops.is_empty()).then_some(Grant {
                    pattern: g.pattern,
                    ops,
                })
            })
            .collect();
        grants.sort();
        Scope { grants }
    }

    /// Grants as a token carries them (already canonical when the token was made; not
    /// re-canonicalised, so checking a token allocates less).
    pub(crate) fn from_decoded(grants: Vec<Grant>) -> Scope {
        Scope { grants }
    }

    /// The grants.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// Whether it allows nothing.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// Whether one grant allows `op` on `resource`.
    pub fn allows(&self, resource: &Resource, op: Operation) -> bool {
        self.grants.iter().any(|g| g.allows(resource, op))
    }

    /// What both allow: the pairwise intersections, in canonical form.
    pub fn intersect(&self, other: &Scope) -> Scope {
        Scope::new(
            self.grants
                .iter()
                .flat_map(|a| other.grants.iter().filter_map(move |b| a.intersect(b))),
        )
    }

    /// Whether everything it allows, `other` allows: each operation of each grant on a
    /// pattern inside one of `other`'s grants with that operation. (A pattern covered only by
    /// several of `other`'s patterns together counts as not covered; with prefixes and
    /// wildcards over unbounded names that only happens for pathological port lists.)
    pub fn is_subset(&self, other: &Scope) -> bool {
        self.grants.iter().all(|g| {
            OPERATIONS.iter().all(|&(op, _)| {
                !g.ops.contains(op)
                    || other
                        .grants
                        .iter()
                        .any(|h| h.ops.contains(op) && g.pattern.is_subset(&h.pattern))
            })
        })
    }
}

fn under(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || (path.len() > prefix.len()
            && path.starts_with(prefix)
            && path.as_bytes()[prefix.len()] == b'/')
}

/// `/a//b/./c/` → `/a/b/c`; relative paths, `..` segments and NUL are refused.
fn normalise_path(path: &str) -> Result<String, ScopeError> {
    if !path.starts_with('/') {
        return Err(ScopeError::Relative);
    }
    if path.contains('\0') {
        return Err(ScopeError::Character);
    }
    let mut out = String::with_capacity(path.len());
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Err(ScopeError::DotDot),
            s => {
                out.push('/');
                out.push_str(s);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

fn normalise_host(host: &str) -> Result<String, ScopeError> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(ScopeError::Host);
        }
        return Ok(format!("[{}]", inner.to_ascii_lowercase()));
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty()
        || host.len() > 253
        || host.split('.').any(str::is_empty)
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(ScopeError::Host);
    }
    Ok(host.to_ascii_lowercase())
}

/// `name:port` → (name, port); `[v6]:port` too.
fn split_port(text: &str) -> Result<(&str, Option<u16>), ScopeError> {
    let colon = if text.starts_with('[') {
        text.find(']').map(|i| i + 1).filter(|&i| i < text.len())
    } else {
        text.rfind(':')
    };
    match colon {
        Some(i) if text.as_bytes()[i] == b':' => {
            let port = text[i + 1..].parse().map_err(|_| ScopeError::Port)?;
            Ok((&text[..i], Some(port)))
        }
        Some(_) => Err(ScopeError::Host),
        None => Ok((text, None)),
    }
}

/// Server and tool names: 1 to 128 bytes, no `/`, no `*`, no whitespace or control characters.
fn check_name(name: &str) -> Result<(), ScopeError> {
    if name.is_empty()
        || name.len() > 128
        || name
            .chars()
            .any(|c| c == '/' || c == '*' || c.is_whitespace() || c.is_control())
    {
        return Err(ScopeError::Tool);
    }
    Ok(())
}

/// Strict percent-decoding into UTF-8.
fn percent_decode(text: &str) -> Result<String, ScopeError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(ScopeError::Character)?;
            let hex = std::str::from_utf8(hex).map_err(|_| ScopeError::Character)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ScopeError::Character)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ScopeError::Character)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).unwrap()
    }

    fn r(s: &str) -> Resource {
        Resource::parse(s).unwrap()
    }

    #[test]
    fn paths_are_prefixes_at_component_boundaries() {
        let proj = p("path:/home/me/project/");
        assert_eq!(proj.to_string(), "path:/home/me/project");
        assert!(proj.matches(&r("/home/me/project")));
        assert!(proj.matches(&r("/home/me/project/src/./a.rs")));
        assert!(proj.matches(&r("file:///home/me/project/a%20b.txt")));
        assert!(!proj.matches(&r("/home/me/project2/a")));
        assert!(!proj.matches(&r("/home/me")));
        assert_eq!(
            Resource::parse("/home/me/project/../.ssh/id_rsa"),
            Err(ScopeError::DotDot)
        );
        assert_eq!(
            Resource::parse("file:///home/me/project/%2e%2e/x"),
            Err(ScopeError::DotDot)
        );
        assert_eq!(Pattern::parse("path:a/b"), Err(ScopeError::Relative));
        assert!(p("/").matches(&r("/etc/passwd")));
    }

    #[test]
    fn hosts_match_exactly_or_by_subdomain() {
        let sub = p("host:*.Example.com.");
        assert_eq!(sub.to_string(), "host:*.example.com");
        assert!(sub.matches(&r("https://api.example.com/v1")));
        assert!(sub.matches(&r("host:a.b.example.com:22")));
        assert!(!sub.matches(&r("host:example.com")));
        assert!(!sub.matches(&r("host:evilexample.com")));
        let port = p("host:api.example.com:443");
        assert!(port.matches(&r("https://user@API.example.com/x")));
        assert!(!port.matches(&r("http://api.example.com/x")));
        assert!(p("host:*").matches(&r("host:[::1]:8080")));
        assert_eq!(
            r("host:[::1]:8080"),
            Resource::Host {
                name: "[::1]".into(),
                port: Some(8080)
            }
        );
    }

    #[test]
    fn tools_match_server_and_tool_patterns() {
        assert!(p("tool:fs/*").matches(&r("tool:fs/read_file")));
        assert!(p("tool:*/read_*").matches(&r("tool:git/read_log")));
        assert!(!p("tool:fs/read_*").matches(&r("tool:fs/write_file")));
        assert!(!p("tool:fs/read_file").matches(&r("tool:fs2/read_file")));
        assert!(!p("tool:fs/read_file").matches(&r("path:/fs/read_file")));
        assert_eq!(Pattern::parse("tool:fs"), Err(ScopeError::Tool));
    }

    #[test]
    fn intersections_are_exact() {
        let cases = [
            ("path:/a", "path:/a/b", Some("path:/a/b")),
            ("path:/a/b", "path:/a/c", None),
            ("path:/a", "path:/ab", None),
            (
                "host:*.example.com",
                "host:api.example.com",
                Some("host:api.example.com"),
            ),
            (
                "host:*.example.com",
                "host:*.a.example.com",
                Some("host:*.a.example.com"),
            ),
            ("host:*.example.com", "host:example.com", None),
            ("host:*", "host:x.org:22", Some("host:x.org:22")),
            ("host:x.org:22", "host:x.org:23", None),
            ("tool:fs/*", "tool:*/read_*", Some("tool:fs/read_*")),
            ("tool:fs/read_*", "tool:fs/write", None),
            ("tool:fs/*", "path:/fs", None),
        ];
        for (a, b, want) in cases {
            let got = p(a).intersect(&p(b)).map(|x| x.to_string());
            assert_eq!(got.as_deref(), want, "{a} ∩ {b}");
            let back = p(b).intersect(&p(a)).map(|x| x.to_string());
            assert_eq!(back.as_deref(), want, "{b} ∩ {a}");
        }
    }

    #[test]
    fn grants_parse_and_intersect() {
        let a = Grant::parse("read,write path:/home/me").unwrap();
        let b = Grant::parse("write,exec path:/home/me/p").unwrap();
        assert_eq!(
            a.intersect(&b).unwrap().to_string(),
            "write path:/home/me/p"
        );
        assert!(Grant::parse("read,call path:/x")
            .unwrap()
            .intersect(&Grant::parse("exec path:/x").unwrap())
            .is_none());
        assert_eq!(Grant::parse("* tool:fs/*").unwrap().ops, Operations::ALL);
        assert!(matches!(
            Grant::parse("fly path:/x"),
            Err(ScopeError::Operation(_))
        ));
        assert_eq!(Grant::parse("read"), Err(ScopeError::Grant));
    }

    #[test]
    fn scopes_merge_and_drop_covered_grants() {
        let s = Scope::new([
            Grant::parse("read path:/a/b").unwrap(),
            Grant::parse("read path:/a").unwrap(),
            Grant::parse("write path:/a").unwrap(),
        ]);
        let text: Vec<String> = s.grants().iter().map(Grant::to_string).collect();
        assert_eq!(text, vec!["read,write path:/a"]);
    }
}
