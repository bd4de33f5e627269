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
    "private_key",
];

/// True when a field called `name` holds a secret by its name alone.
pub(crate) fn is_sensitive_name(name: &str) -> bool {
    let norm = name.to_ascii_lowercase().replace('-', "_");
    SENSITIVE_NAMES.iter().any(|s| {
        norm == *s
            || norm.ends_with(&format!("_{s}"))
            || norm.ends_with(&format!("_{}", s.replace('_', "")))
    })
}

/// A [`FormatFields`] that writes fields like `tracing-subscriber`'s default (`message` bare,
/// then `name=value`), with the values of sensitive names replaced by `[REDACTED]` and every
/// other value searched by the rules and registered secrets.
#[derive(Debug, Clone)]
pub struct RedactingFields {
    shield: Shield,
    extra_names: Vec<String>,
}

impl RedactingFields {
    /// Masks [`SENSITIVE_NAMES`] and what `shield` finds.
    pub fn new(shield: Shield) -> Self {
        RedactingFields {
            shield,
            extra_names: Vec::new(),
        }
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
        if is_sensitive_name(name) {
            return true;
        }
        let norm = name.to_ascii_lowercase().replace('-', "_");
        self.extra_names
            .iter()
            .any(|s| norm == *s || norm.ends_with(&format!("_{s}")))
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
        let text = value.to_string();
        let text = self.fields.shield.redact_str(&text);
        self.result = if name == "message" {
            write!(self.writer, "{sep}{text}")
        } else if let Some(raw) = name.strip_prefix("r#") {
            write!(self.writer, "{sep}{raw}={text}")
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
