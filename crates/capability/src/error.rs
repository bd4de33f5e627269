//! Errors. None of them carries a token, a MAC or the root key.

use std::path::PathBuf;

/// A pattern, resource, grant or operation that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// Over [`crate::MAX_PATTERN_LEN`].
    #[error("too long; patterns and resources are at most 255 bytes")]
    TooLong,
    /// No known prefix.
    #[error("unknown kind; write `path:/abs`, `host:NAME[:PORT]`, `tool:SERVER/TOOL` or a URL")]
    Unknown,
    /// A relative path.
    #[error("a path must be absolute (start with `/`)")]
    Relative,
    /// A `..` segment.
    #[error("a path may not contain `..` segments; write the resolved path")]
    DotDot,
    /// NUL, bad percent-encoding or non-UTF-8.
    #[error("a path holds NUL, bad percent-encoding or non-UTF-8")]
    Character,
    /// A malformed host.
    #[error("a host must be a DNS name, an IPv4 address or `[IPv6]`, optionally `*.` first")]
    Host,
    /// A malformed port.
    #[error("a port must be a number from 0 to 65535")]
    Port,
    /// A malformed tool pattern.
    #[error("a tool is `SERVER/TOOL`, each a name or a prefix ending in `*`, without spaces")]
    Tool,
    /// An unknown operation.
    #[error("unknown operation `{0}`; use read, write, delete, list, exec, connect, call or `*`")]
    Operation(String),
    /// No operation.
    #[error("no operation given")]
    Empty,
    /// A grant without a pattern.
    #[error("a grant is `OPS PATTERN`, e.g. `read,write path:/home/me/project`")]
    Grant,
}

/// A token text that is not a well-formed token. Parsing checks structure only; the MAC is
/// checked by [`crate::Authority::verify`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Over [`crate::MAX_TOKEN_LEN`].
    #[error("the token is over {0} bytes")]
    TooLong(usize),
    /// Not `hushcap1.` followed by base64url.
    #[error("not a hush capability token (it must start with `hushcap1.`)")]
    Prefix,
    /// Bad base64url.
    #[error("the token is not valid base64url")]
    Base64,
    /// The body ends early or has bytes left over.
    #[error("the token is truncated or has trailing bytes")]
    Truncated,
    /// Too many or no links.
    #[error("a token has 1 to {max} links, not {got}")]
    Links {
        /// Links found.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The links' grants intersect into more combinations than [`crate::Token::effective`]
    /// works through.
    #[error("the links' grants intersect into too many combinations; delegate with fewer grants")]
    TooComplex,
    /// Too many grants in a link.
    #[error("a link has at most {0} grants")]
    Grants(usize),
    /// A string field that is not UTF-8 or not a valid name.
    #[error("link {link}: the {field} is not a valid name")]
    Name {
        /// The link's index.
        link: usize,
        /// `issuer` or `agent`.
        field: &'static str,
    },
    /// Unknown operation bits.
    #[error("link {0}: unknown operations")]
    Operations(usize),
    /// A grant's pattern does not parse or is not in canonical form.
    #[error("link {link}: grant pattern: {error}")]
    Pattern {
        /// The link's index.
        link: usize,
        /// Why.
        error: ScopeError,
    },
}

/// Why a token does not allow an access. The `Display` text goes to audit records: it names
/// link ids, never the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Not a well-formed token.
    #[error("malformed token: {0}")]
    Malformed(#[from] ParseError),
    /// The MAC chain does not check out: tampered, truncated, reordered, or another key.
    #[error("bad signature (tampered, or issued under another key)")]
    Signature,
    /// A link's expiry has passed.
    #[error("link {id} expired at {expires}")]
    Expired {
        /// The link.
        id: String,
        /// Its expiry, Unix seconds.
        expires: u64,
    },
    /// A link claims to be issued in the future.
    #[error("link {id} is issued in the future")]
    NotYetValid {
        /// The link.
        id: String,
    },
    /// A link, or an ancestor, is revoked.
    #[error("link {id} is revoked")]
    Revoked {
        /// The revoked link.
        id: String,
    },
    /// Every token of the link's agent issued before a cut-off is revoked.
    #[error("tokens of agent `{agent}` issued before {cutoff} are revoked")]
    AgentRevoked {
        /// The agent.
        agent: String,
        /// The cut-off, Unix seconds.
        cutoff: u64,
    },
    /// More links after a link than its `max_depth` allows.
    #[error("link {id} allows {max_depth} further delegations, the token has {found}")]
    Depth {
        /// The link.
        id: String,
        /// Its limit.
        max_depth: u8,
        /// Links after it.
        found: usize,
    },
    /// The store's revocations could not be re-read: any token might be revoked, so none
    /// validates until they can.
    #[error("the revocation list can't be read ({0}); fix the capability store")]
    Unavailable(String),
    /// The token is valid but no grant of link `id` allows the access.
    #[error("link {id} does not allow `{operation}` on `{resource}`")]
    NotAllowed {
        /// The first link that does not allow it.
        id: String,
        /// The resource.
        resource: String,
        /// The operation.
        operation: String,
    },
}

/// Errors of the [`crate::Authority`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CapError {
    /// Reading or writing a store file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A store file that does not parse.
    #[error("{}: {message}; fix or remove the file", path.display())]
    Store {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A key or store file others can read or write, or owned by someone else.
    #[error("{}: must be owned by you and not accessible by others; run `chmod 600 {}`", path.display(), path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
    },
    /// No randomness from the OS.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
    /// The ceiling refused a request.
    #[error("request denied: {0}")]
    Denied(String),
    /// A request or delegation that makes no sense (empty scope, bad agent name, depth).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The parent token of a delegation is not valid.
    #[error("the parent token is not valid: {0}")]
    Parent(#[from] Rejection),
    /// A ceiling file that does not parse.
    #[error("{}: {message}", path.display())]
    Ceiling {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}
