//! Every string of every event goes through the redactor before it is written.

use std::sync::Arc;

use hush_patterns::{KnownValues, KnownValuesBuilder, RuleSet};
use hush_stream::{Options, Redaction};

use crate::error::AuditError;

/// Redacts secrets (the rule pack and registered known values) from events.
#[derive(Debug)]
pub struct Sanitizer {
    redaction: Option<Redaction>,
    known: KnownValues,
    /// Values registered while the writer runs ([`Sanitizer::add_known`]), and their compiled
    /// form; kept apart from `known` so that neither replaces the other.
    added_src: KnownValuesBuilder,
    added: KnownValues,
}

impl Sanitizer {
    /// Redacts with `rules` (label style: `[REDACTED:rule-id]`).
    pub fn new(rules: Arc<RuleSet>) -> Sanitizer {
        Sanitizer {
            redaction: Some(Redaction::new(rules, Options::default())),
            known: KnownValues::empty(),
            added_src: KnownValuesBuilder::new(),
            added: KnownValues::empty(),
        }
    }

    /// Redacts with the built-in rule pack.
    ///
    /// # Errors
    ///
    /// [`AuditError::Encode`] if the pack does not compile.
    pub fn builtin() -> Result<Sanitizer, AuditError> {
        let rules = RuleSet::builtin().map_err(|e| AuditError::Encode(e.to_string()))?;
        Ok(Sanitizer::new(Arc::new(rules)))
    }

    /// Also redacts these exact values (the secrets injected into a tool), in any encoding.
    #[must_use]
    pub fn with_known(mut self, known: KnownValues) -> Sanitizer {
        self.known = known;
        self
    }

    /// Writes events as they are. Only for benchmarks and tests of the format itself.
    pub fn danger_unredacted() -> Sanitizer {
        Sanitizer {
            redaction: None,
            known: KnownValues::empty(),
            added_src: KnownValuesBuilder::new(),
            added: KnownValues::empty(),
        }
    }

    /// Also redacts `value` (labelled `label`, a name, never the value) from every later
    /// record: for an executor that learns a secret while it runs (the ones it injects).
    /// Values stay registered for the writer's life.
    ///
    /// # Errors
    ///
    /// [`AuditError::Encode`] when the value is too short to match safely or the values do not
    /// compile.
    pub fn add_known(&mut self, label: &str, value: &[u8]) -> Result<(), AuditError> {
        let Some(r) = &self.redaction else {
            return Ok(());
        };
        self.added_src
            .add(label, value)
            .map_err(|e| AuditError::Encode(e.to_string()))?;
        self.added = self
            .added_src
            .build_for(r.rules())
            .map_err(|e| AuditError::Encode(e.to_string()))?;
        Ok(())
    }

    /// Redacts every string (and object key) in `v`; returns how many replacements were made.
    pub(crate) fn clean(&self, v: &mut serde_json::Value) -> u64 {
        let Some(r) = &self.redaction else { return 0 };
        let mut n = clean_value(r, &self.known, v);
        if !self.added.is_empty() {
            n += clean_value(r, &self.added, v);
        }
        n
    }
}

fn clean_str(r: &Redaction, known: &KnownValues, s: &mut String) -> u64 {
    let mut out = Vec::new();
    let n = r.redact_into(s.as_bytes(), known, &mut out);
    if n > 0 {
        *s = String::from_utf8_lossy(&out).into_owned();
    }
    n as u64
}

fn clean_value(r: &Redaction, known: &KnownValues, v: &mut serde_json::Value) -> u64 {
    match v {
        serde_json::Value::String(s) => clean_str(r, known, s),
        serde_json::Value::Array(xs) => xs.iter_mut().map(|x| clean_value(r, known, x)).sum(),
        serde_json::Value::Object(m) => {
            let mut n = 0;
            let old = std::mem::take(m);
            for (mut k, mut x) in old {
                n += clean_str(r, known, &mut k);
                n += clean_value(r, known, &mut x);
                m.insert(k, x);
            }
            n
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_added_later_are_redacted_in_any_encoding_and_earlier_ones_stay() {
        let mut s = Sanitizer::new(Arc::new(RuleSet::builtin().unwrap()));
        let first = "generated-value-one-0123456789abcdef";
        let second = "generated-value-two-fedcba9876543210";
        let text = |v: &str| serde_json::json!({ "message": format!("saw {v} here") });
        let mut v = text(first);
        assert_eq!(s.clean(&mut v), 0, "nothing registered yet");
        s.add_known("FIRST", first.as_bytes()).unwrap();
        s.add_known("SECOND", second.as_bytes()).unwrap();
        for value in [first, second] {
            let mut v = text(value);
            assert_eq!(s.clean(&mut v), 1);
            assert!(!v.to_string().contains(value), "{v}");
        }
        // Base64 of the value is caught too.
        let b64 = "Z2VuZXJhdGVkLXZhbHVlLW9uZS0wMTIzNDU2Nzg5YWJjZGVm";
        let mut v = text(b64);
        assert_eq!(s.clean(&mut v), 1, "{v}");
        assert!(s.add_known("SHORT", b"abc").is_err());
    }
}
