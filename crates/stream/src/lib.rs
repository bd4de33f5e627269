//! Streaming redaction: secrets never get through, even split across reads.
//!
//! - [`Redactor`] is the core: a bounded roll buffer driven by a
//!   [`RuleSet`](hush_patterns::RuleSet) and registered
//!   [`KnownValues`](hush_patterns::KnownValues). Push bytes in, take clean bytes out. Output is
//!   byte-identical however the input is chunked. The algorithm and its invariants are in
//!   `DESIGN.md`.
//! - [`RedactWriter`] wraps any `Write`.
//! - [`Redaction`] redacts complete texts in one go (log events, messages).
//! - [`copy`] pipes a reader to a writer with prompt output when input pauses and a bounded hold
//!   (`max_delay`) for bytes that might still be a secret.
//! - [`Style`] chooses the replacement: `[REDACTED:<rule-id>]`, `***`, `ghp_****`, or a keyed
//!   hash that correlates equal secrets without revealing them.
//!
//! # What this crate does not promise
//!
//! - A secret longer than its rule's `max_len`, or split by bytes the rule does not allow, is not
//!   a match and is not redacted.
//! - On a pause longer than `max_delay`, a trailing partial token is redacted as
//!   `hush.partial` even if it would have turned out harmless.
//! - A trailing run shorter than 4 bytes is released on a pause: at most 3 bytes of a secret
//!   that continues after the pause can show.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ansi;
mod json;
mod pipe;
pub mod prompt;
mod redactor;
mod replace;
mod style;
mod writer;

pub use pipe::copy;
pub use redactor::{
    Counts, Options, Redactor, StreamError, DEFAULT_BATCH, DEFAULT_MAX_BUFFER, PARTIAL_RULE_ID,
};
pub use replace::Redaction;
pub use style::{HashKey, Style, StyleError};
pub use writer::RedactWriter;
