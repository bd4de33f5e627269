//! `RedactingFields`: field values masked by name and by the rules before they are formatted.

use std::fmt;

use tracing_core::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;

use crate::Shield;

/// Field names whose values are always masked (matched case-insensitively, with `-` read as
/// `_`, as the whole name or its last `_`-separated part: `db_password`, `x-api-key`).
pub const SENSITIVE_NAMES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "set_cookie",
    "setcookie",
    "private_key",
    "privatekey",
];

/// The length of the shortest of [`SENSITIVE_NAMES`].
const MIN_NAME_LEN: usize = {
    let mut min = usize::MAX;
    let mut i = 0;
    while i < SENSITIVE_NAMES.len() {
        if SENSITIVE_NAMES[i].len() < min {
            min = SENSITIVE_NAMES[i].len();
        }
        i += 1;
    }
    min
};

// INVARIANT: every name has the three bytes `TAILS` reads.
const _: () = assert!(MIN_NAME_LEN >= 3);

/// The last three bytes of each of [`SENSITIVE_NAMES`], packed: most keys end otherwise and are
/// ruled out by a few integer comparisons (this runs for every key of every event).
const TAILS: [u32; SENSITIVE_NAMES.len()] = {
    let mut t = [0; SENSITIVE_NAMES.len()];
    let mut i = 0;
    while i < SENSITIVE_NAMES.len() {
        let n = SENSITIVE_NAMES[i].as_bytes();
        t[i] = u32::from_le_bytes([n[n.len() - 3], n[n.len() - 2], n[n.len() - 1], 0]);
        i += 1;
    }
    t
};

/// True when `name` (a field name, or the text before a JSON key's closing quote) may end in one
/// of [`SENSITIVE_NAMES`].
pub(crate) fn may_end_sensitive(name: &[u8]) -> bool {
    if name.len() < MIN_NAME_LEN {
        return false;
    }
    let tail = &name[name.len() - 3..];
    let key = u32::from_le_bytes([norm(tail[0]), norm(tail[1]), norm(tail[2]), 0]);
    TAILS.contains(&key)
}

/// `b` lower-cased, with `-` read as `_`.
fn norm(b: u8) -> u8 {
    if b == b'-' {
        b'_'
    } else {
        b.to_ascii_lowercase()
    }
}

/// True when `name` is `s` or ends with `_s`, compared normalised (no allocation: this runs for
/// every field of every event).
pub(crate) fn name_matches(name: &str, s: &str) -> bool {
    bytes_match(name.as_bytes(), s.as_bytes())
}

fn bytes_match(name: &[u8], s: &[u8]) -> bool {
    let eq = |a: &[u8]| a.len() == s.len() && a.iter().zip(s).all(|(&x, &y)| norm(x) == y);
    eq(name)
        || (name.len() > s.len()
            && norm(name[name.len() - s.len() - 1]) == b'_'
            && eq(&name[name.len() - s.len()..]))
}

/// True when a field called `name` holds a secret by its name alone.
pub(crate) fn is_sensitive_name(name: &str) -> bool {
    is_sensitive_key(name.as_bytes())
}

/// [`is_sensitive_name`] on raw bytes (a JSON key).
pub(crate) fn is_sensitive_key(key: &[u8]) -> bool {
    may_end_sensitive(key)
        && SENSITIVE_NAMES
            .iter()
            .any(|s| bytes_match(key, s.as_bytes()))
}

/// A [`FormatFields`] that writes fields like `tracing-subscriber`'s default (`message` bare,
/// then `name=value`), with the values of sensitive names replaced by `[REDACTED]` and every
/// other value searched by the rules and registered secrets.
#[derive(Debug, Clone)]
pub struct RedactingFields {
    shield: Shield,
    extra_names: Vec<String>,
    values: bool,
}

impl RedactingFields {
    /// Masks [`SENSITIVE_NAMES`] and what `shield` finds.
    pub fn new(shield: Shield) -> Self {
        RedactingFields {
            shield,
            extra_names: Vec::new(),
            values: true,
        }
    }

    /// Masks by name only, leaving values to a [`RedactingMakeWriter`](crate::RedactingMakeWriter)
    /// that redacts the whole event anyway: one search per event instead of one per field.
    pub fn names_only(mut self) -> Self {
        self.values = false;
        self
    }

    /// Also masks fields with these names (matched like [`SENSITIVE_NAMES`]).
    pub fn with_names(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.extra_names.extend(
            names
                .into_iter()
                .map(|n| n.into().to_ascii_lowercase().replace('-', "_")),
        );
        self
    }

    fn sensitive(&self, name: &str) -> bool {
        is_sensitive_name(name) || self.extra_names.iter().any(|s| name_matches(name, s))
    }
}

impl<'writer> FormatFields<'writer> for RedactingFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut v = Visitor {
            fields: self,
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut v);
        v.result
    }
}

struct Visitor<'a, 'w> {
    fields: &'a RedactingFields,
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Visitor<'_, '_> {
    fn emit(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        let name = field.name();
        if self.fields.sensitive(name) {
            self.result = write!(self.writer, "{sep}{name}=[REDACTED]");
            return;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        if !self.fields.values {
            self.result = if name == "message" {
                write!(self.writer, "{sep}{value}")
            } else {
                write!(self.writer, "{sep}{name}={value}")
            };
            return;
        }
        let owned = value.to_string();
        let text = self.fields.shield.redact_str(&owned);
        self.result = if name == "message" {
            write!(self.writer, "{sep}{text}")
        } else {
            write!(self.writer, "{sep}{name}={text}")
        };
    }
}

impl Visit for Visitor<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.emit(field, format_args!("{value}"));
        } else {
            self.emit(field, format_args!("{value:?}"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.emit(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.emit(field, format_args!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_names() {
        for name in [
            "password",
            "DB_PASSWORD",
            "db-password",
            "api_key",
            "x-api-key",
            "ApiKey",
            "access_token",
            "set-cookie",
            "Authorization",
            "private_key",
        ] {
            assert!(is_sensitive_name(name), "{name}");
        }
        for name in [
            "user",
            "path",
            "token_count",
            "passwords_total",
            "status",
            "tokenizer",
        ] {
            assert!(!is_sensitive_name(name), "{name}");
        }
        // The length and last-bytes shortcuts cover every listed name; they read the names as
        // written, so the names must be normalised already.
        for n in SENSITIVE_NAMES {
            assert!(n.bytes().all(|b| norm(b) == b), "{n} is not normalised");
            assert!(is_sensitive_key(n.as_bytes()), "{n}");
            assert!(is_sensitive_key(n.to_ascii_uppercase().as_bytes()), "{n}");
        }
        assert!(!is_sensitive_key(b"") && !is_sensitive_key(b"oken"));
    }
}
