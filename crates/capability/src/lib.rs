//! Capability tokens for hush: self-contained, attenuable, revocable, verified offline in
//! microseconds.
//!
//! # How it fits together
//!
//! - A [`Token`] is a chain of [`Link`]s, macaroon style. The root link (id, agent, issuer,
//!   grants, expiry, delegation depth) is signed with HMAC-SHA256 under the authority's root
//!   key; each delegation appends a link whose MAC is keyed by the previous MAC. The token
//!   carries only the last MAC, so a holder can append (narrow) but never remove, reorder or
//!   change a link. Text form: `hushcap1.` + base64url of a compact binary body (the format is
//!   in `token.rs`); parsing is bounded ([`MAX_TOKEN_LEN`], [`MAX_LINKS`], [`MAX_GRANTS`]) and
//!   never panics.
//! - What a link allows is a [`Scope`]: [`Grant`]s of [`Operations`] on a [`Pattern`] (path
//!   prefixes, host patterns, `server/tool` patterns). A token allows an access only when
//!   **every** link does, so its effective constraints are the intersection over its links
//!   ([`Token::effective`]): attenuation can only narrow. Expiry is always enforced (a link
//!   past its expiry fails the whole token, so a child never outlives its parent), and each
//!   link bounds how many links may follow it.
//! - The [`Authority`] holds the key and a registry: [`Authority::request`] (checked against a
//!   [`Ceiling`], e.g. [`Limits`]), [`Authority::delegate`], [`Authority::validate`],
//!   [`Authority::revoke`] (by link id, so revoking a token revokes everything derived from it:
//!   every link id of a chain is checked), [`Authority::revoke_all_for_agent`],
//!   [`Authority::list`], [`Authority::request_for_plan`]. Its directory holds `key` (0600,
//!   generated on first use) and `capabilities.json` (issued-token metadata and revocations,
//!   0600, replaced atomically under an `flock`); other processes see revocations within
//!   [`Authority::with_refresh_interval`]. Every event goes to an [`EventSink`].
//! - [`resources_in_arguments`] lists the paths and URLs in an MCP tool call's arguments, for
//!   the guard's check.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use hush_capability::{Access, Authority, Grant, Operation, Request, Resource, Scope};
//! use secrecy::ExposeSecret;
//!
//! let dir = tempfile::tempdir()?;
//! let authority = Authority::open(dir.path())?;
//! let token = authority.request(&Request {
//!     agent: "planner".into(),
//!     scope: Scope::new([Grant::parse("read,write path:/home/me/project")?]),
//!     ttl: Duration::from_secs(3600),
//!     max_depth: 1,
//! })?;
//! // The planner hands a read-only slice of its capability to a helper.
//! let child = authority.delegate(token.encode().expose_secret(), &Request {
//!     agent: "helper".into(),
//!     scope: Scope::new([Grant::parse("read path:/home/me/project/src")?]),
//!     ttl: Duration::from_secs(600),
//!     max_depth: 0,
//! })?;
//! let text = child.encode();
//! let now = child.leaf().issued;
//! let read = |p: &str, operation| Access { resource: Resource::parse(p).unwrap(), operation, now };
//! assert!(authority.validate(text.expose_secret(), &read("/home/me/project/src/a.rs", Operation::Read)).is_ok());
//! assert!(authority.validate(text.expose_secret(), &read("/home/me/project/src/a.rs", Operation::Write)).is_err());
//! assert!(authority.validate(text.expose_secret(), &read("/home/me/project/README", Operation::Read)).is_err());
//! // Revoking the parent revokes the child.
//! authority.revoke(token.id())?;
//! assert!(authority.validate(text.expose_secret(), &read("/home/me/project/src/a.rs", Operation::Read)).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What this crate does not promise
//!
//! - Tokens are bearer credentials: whoever holds one can use it (and narrow it). Keep them out
//!   of logs; [`Token::encode`] returns a `SecretString`, and events name link ids only.
//! - The MAC is symmetric: only holders of the root key can verify, and they could also mint.
//!   The key file is the trust anchor; keep it 0600 on the host that checks.
//! - Path checks are lexical: `..` is refused, symlinks are not resolved (the MCP guard's own
//!   argument checks and the sandbox handle those).
//! - Offline delegations ([`Token::attenuate`]) are valid but not in the registry, so
//!   [`Authority::list`] does not show them; revoking an ancestor or the agent still reaches
//!   them.
//! - Revocation by another process reaches a running validator within its refresh interval
//!   (200 ms by default), not instantly; a store file that can't be re-read fails closed.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod args;
mod authority;
mod error;
mod scope;
mod store;
mod token;

pub use args::{resources_in_arguments, MAX_ARGUMENT_RESOURCES};
pub use authority::{
    Access, Action, Authority, Ceiling, Event, EventSink, Limits, Listed, Plan, Request, Revoked,
    Status, Step,
};
pub use error::{CapError, ParseError, Rejection, ScopeError};
pub use scope::{Grant, Operation, Operations, Pattern, Resource, Scope, MAX_PATTERN_LEN};
pub use store::{Record, Revocation, STORE_VERSION};
pub use token::{
    valid_name, Constraints, Link, LinkId, Token, MAX_GRANTS, MAX_LINKS, MAX_SKEW, MAX_TOKEN_LEN,
    PREFIX,
};
