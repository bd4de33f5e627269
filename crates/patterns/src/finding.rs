//! What a search reports.

use std::ops::Range;
use std::sync::Arc;

/// How the secret was written in the haystack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// As is.
    Plain,
    /// Inside base64 (standard or URL-safe); spans cover the encoded characters.
    Base64,
    /// Inside a percent-encoded span; spans cover the encoded characters.
    Percent,
    /// JSON string escaping (known values only).
    JsonEscaped,
    /// Shell quoting or backslash escaping (known values only).
    ShellEscaped,
    /// Hexadecimal (known values only).
    Hex,
}

impl Encoding {
    /// A short lowercase name: `plain`, `base64`, `percent`, `json`, `shell`, `hex`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::Base64 => "base64",
            Encoding::Percent => "percent",
            Encoding::JsonEscaped => "json",
            Encoding::ShellEscaped => "shell",
            Encoding::Hex => "hex",
        }
    }
}

/// One secret found in a haystack.
///
/// Offsets are byte offsets into the haystack that was searched. `Debug` prints offsets and the
/// rule id, never haystack bytes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Finding {
    /// The rule that matched, or [`KNOWN_VALUE_RULE_ID`](crate::KNOWN_VALUE_RULE_ID).
    pub rule_id: Arc<str>,
    /// The whole match (including context such as `password=`).
    pub span: Range<usize>,
    /// The secret itself: what a redactor replaces.
    pub secret_span: Range<usize>,
    /// Shannon entropy of the (decoded) secret, bits per byte; 0.0 for known values.
    pub entropy: f64,
    /// How the secret was encoded where it was found.
    pub encoding: Encoding,
    /// For known values, the caller's label (e.g. the environment variable name).
    pub label: Option<Arc<str>>,
    pub(crate) priority: i32,
}

impl Finding {
    /// The rule's priority (known values rank highest): of two findings on the same span, the
    /// one to name.
    pub fn priority(&self) -> i32 {
        self.priority
    }

    /// Length of the secret span in bytes.
    pub fn secret_len(&self) -> usize {
        self.secret_span.end - self.secret_span.start
    }
}
