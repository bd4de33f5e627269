//! The hush detection engine: rule files, a compiled [`RuleSet`], and [`Finding`]s.
//!
//! # How it fits together
//!
//! - A **rule** (see `patterns/README.md` in the repository) is a regex with the secret in a
//!   capture group, literal **keywords**, and filters (entropy, allow-lists). Every rule has a
//!   bounded maximum match length, computed from its regex or declared as `max_len`.
//! - [`RuleSetBuilder`] loads the built-in pack and users' files (hush or gitleaks format),
//!   validates every rule with file, line and id in its errors, and compiles a [`RuleSet`]:
//!   immutable, `Send + Sync`, built once and shared.
//! - [`RuleSet::find`] runs one prefilter pass over all keywords (and their base64 and
//!   percent-encoded forms); each rule's regex then runs only in a window of its `max_len` around
//!   its keyword hits, and a match counts only if it contains the keyword. Encoded hits are
//!   decoded and searched again (to depth 2) and reported against the encoded span.
//! - [`KnownValues`] finds exact registered secrets (from a vault or the environment) verbatim
//!   and base64, percent, JSON, shell and hex encoded.
//!
//! ```
//! use hush_patterns::{KnownValuesBuilder, RuleSet};
//!
//! let rules = RuleSet::builtin()?;
//! // A fake token, split in the source so that scanning this repository stays clean.
//! let line = concat!("curl -H 'Authorization: token ghp_", "R8vKq2LmZx4TnW7yPbC3dF6hJ9sA1eU5gQ0o'");
//! let found = rules.find(line.as_bytes());
//! assert_eq!(&*found[0].rule_id, "hush.github.pat");
//!
//! let mut known = KnownValuesBuilder::new();
//! known.add("DB_PASSWORD", b"correct horse battery staple")?;
//! let known = known.build()?;
//! let hay = b"dsn: Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZQ==";
//! let found = rules.find_with_known(hay, &known);
//! assert_eq!(found[0].label.as_deref(), Some("DB_PASSWORD"));
//! # Ok::<(), hush_patterns::Error>(())
//! ```
//!
//! # What this crate does not promise
//!
//! - It does not verify credentials with their providers or check token checksums.
//! - Matching is bounded: a rule never reports a match longer than its `max_len`, and keywords
//!   must occur inside a hush rule's match (within `max_len` of it for imported gitleaks rules).
//! - [`KnownValues`] keeps copies of registered values inside its automaton, in memory that is
//!   not zeroized on drop (the builder's own copies are).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builtin;
mod check;
mod common_grams;
mod decode;
mod error;
mod filter;
mod finding;
mod gitleaks;
mod known;
mod prefilter;
mod rule;
mod set;

pub use check::{CheckFailure, CheckFailureKind};
pub use error::{Error, Origin, Result};
pub use filter::{is_placeholder, shannon_entropy};
pub use finding::{Encoding, Finding};
pub use gitleaks::{ImportNote, GITLEAKS_DEFAULT_MAX_LEN};
pub use known::{KnownValues, KnownValuesBuilder, KNOWN_VALUE_RULE_ID, MIN_KNOWN_VALUE_LEN};
pub use rule::{Example, Rule};
pub use set::{RuleCost, RuleSet, RuleSetBuilder, MAX_DECODE_DEPTH};

/// The names of the built-in rule files, in load order.
pub fn builtin_files() -> impl Iterator<Item = &'static str> {
    builtin::FILES.iter().map(|(name, _)| *name)
}
