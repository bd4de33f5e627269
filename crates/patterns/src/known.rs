//! Exact matching of registered secret values in their encoded forms.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::decode::{self, Alphabet};
use crate::error::{Error, Result};
use crate::finding::{Encoding, Finding};
use crate::prefilter::Prefilter;

/// Values shorter than this would match ordinary text and are refused.
pub const MIN_KNOWN_VALUE_LEN: usize = 8;

/// The rule id of findings that come from registered values.
pub const KNOWN_VALUE_RULE_ID: &str = "hush.known-value";

/// Collects secret values to find verbatim and encoded.
///
/// The builder keeps its copies in zeroizing buffers and wipes them when dropped.
#[derive(Default)]
pub struct KnownValuesBuilder {
    values: Vec<(Arc<str>, Zeroizing<Vec<u8>>)>,
}

impl std::fmt::Debug for KnownValuesBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownValuesBuilder")
            .field(
                "labels",
                &self.values.iter().map(|(l, _)| l).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl KnownValuesBuilder {
    /// An empty builder.
    pub fn new() -> KnownValuesBuilder {
        KnownValuesBuilder::default()
    }

    /// Registers `value` under `label` (a name such as an environment variable, never the value).
    ///
    /// # Errors
    /// [`Error::KnownValueTooShort`] when `value` is shorter than [`MIN_KNOWN_VALUE_LEN`] bytes.
    pub fn add(&mut self, label: &str, value: &[u8]) -> Result<&mut Self> {
        if value.len() < MIN_KNOWN_VALUE_LEN {
            return Err(Error::KnownValueTooShort {
                label: label.to_string(),
                len: value.len(),
                min: MIN_KNOWN_VALUE_LEN,
            });
        }
        let mut copy = Zeroizing::new(Vec::with_capacity(value.len()));
        copy.extend_from_slice(value);
        self.values.push((Arc::from(label), copy));
        Ok(self)
    }

    /// Registers every non-empty line of `path` (`\n` or `\r\n` separated) as a value labelled
    /// `path:line`. The file must not be accessible to other users (mode 0600 or stricter); it
    /// is read into memory that is wiped on drop.
    ///
    /// # Errors
    /// [`Error::ValuesFileMode`] for a group- or world-accessible file, [`Error::ValuesIo`] when
    /// it cannot be read, [`Error::KnownValueTooShort`] for a short line.
    pub fn add_file(&mut self, path: &std::path::Path) -> Result<&mut Self> {
        use std::io::Read;
        let io = |source| Error::ValuesIo {
            file: path.to_path_buf(),
            source,
        };
        let mut f = std::fs::File::open(path).map_err(io)?;
        let meta = f.metadata().map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Error::ValuesFileMode {
                    file: path.to_path_buf(),
                    mode,
                });
            }
        }
        // Pre-sized so the buffer never reallocates and leaves unwiped copies behind.
        let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        let mut data = Zeroizing::new(Vec::with_capacity(len.saturating_add(1)));
        f.read_to_end(&mut data).map_err(io)?;
        for (n, line) in data.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                self.add(&format!("{}:{}", path.display(), n + 1), line)?;
            }
        }
        Ok(self)
    }

    /// Number of values registered.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when no value is registered.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Like [`build`](Self::build), and also compiles the values into one prefilter with `rules`,
    /// so that [`RuleSet::find_all`](crate::RuleSet::find_all) with `rules` finds rule matches
    /// and values in a single pass (with any other rule set it falls back to two).
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn build_for(&self, rules: &crate::RuleSet) -> Result<KnownValues> {
        self.build_impl(Some(rules))
    }

    /// Compiles the values and all their encodings into one automaton.
    ///
    /// # Errors
    /// [`Error::Prefilter`] if the automaton cannot be built (out of memory limits).
    pub fn build(&self) -> Result<KnownValues> {
        self.build_impl(None)
    }

    fn build_impl(&self, rules: Option<&crate::RuleSet>) -> Result<KnownValues> {
        let mut patterns: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut meta = Vec::new();
        for (index, (_, value)) in self.values.iter().enumerate() {
            let mut push = |p: Vec<u8>, encoding: Encoding, lead: usize, tail: usize| {
                let p = Zeroizing::new(p);
                if p.len() >= MIN_KNOWN_VALUE_LEN && !patterns.iter().any(|q| **q == *p) {
                    patterns.push(p);
                    meta.push(Variant {
                        value: index,
                        encoding,
                        lead,
                        tail,
                    });
                }
            };
            push(value.to_vec(), Encoding::Plain, 0, 0);
            for alphabet in [Alphabet::Standard, Alphabet::UrlSafe] {
                for align in 0..3 {
                    let (stable, _) = decode::b64_stable(value, align, alphabet);
                    // A partially dependent character may precede (align > 0) and follow
                    // (unless the value ends a group); they are redacted too.
                    let tail = usize::from((align + value.len()) % 3 != 0) + 2;
                    push(stable, Encoding::Base64, usize::from(align > 0), tail);
                }
            }
            let pct = decode::percent_encode(value);
            push(pct.to_ascii_lowercase(), Encoding::Percent, 0, 0);
            push(pct, Encoding::Percent, 0, 0);
            push(json_escape(value), Encoding::JsonEscaped, 0, 0);
            push(
                json_escape(value)
                    .iter()
                    .flat_map(|&b| slash_escape(b))
                    .collect(),
                Encoding::JsonEscaped,
                0,
                0,
            );
            push(shell_single_quote(value), Encoding::ShellEscaped, 0, 0);
            push(shell_backslash(value), Encoding::ShellEscaped, 0, 0);
            push(hex(value, b"0123456789abcdef"), Encoding::Hex, 0, 0);
            push(hex(value, b"0123456789ABCDEF"), Encoding::Hex, 0, 0);
        }
        let ac = if patterns.is_empty() {
            None
        } else {
            Some(Prefilter::new(
                patterns.iter().map(|p| (p.to_vec(), false)).collect(),
            ))
        };
        // Variant i is pattern `own + i` of the combined prefilter.
        let combined = match rules {
            Some(rules) if !patterns.is_empty() => {
                let (id, rule_patterns) = rules.prefilter_patterns();
                let mut all = rule_patterns.to_vec();
                all.extend(patterns.iter().map(|p| (p.to_vec(), false)));
                Some((id, Prefilter::new(all)))
            }
            _ => None,
        };
        Ok(KnownValues {
            ac,
            combined,
            rule_id: Arc::from(KNOWN_VALUE_RULE_ID),
            variants: meta,
            labels: self.values.iter().map(|(l, _)| l.clone()).collect(),
        })
    }
}

#[derive(Debug)]
struct Variant {
    value: usize,
    encoding: Encoding,
    /// Bytes before the hit that may still encode part of the value (base64 edges).
    lead: usize,
    /// Bytes after the hit that may still encode part of the value, or padding.
    tail: usize,
}

/// A compiled set of registered secret values.
///
/// # What this does not promise
/// The automaton holds copies of the values (and their encodings) in ordinary heap memory that is
/// not zeroized when it is dropped. Keep the `KnownValues` for as long as the secrets are in use
/// anyway, and rely on the vault's process hardening (no core dumps) for the rest.
pub struct KnownValues {
    ac: Option<Prefilter>,
    /// A prefilter holding a rule set's patterns and these values', with the set's id.
    combined: Option<(u64, Prefilter)>,
    rule_id: Arc<str>,
    variants: Vec<Variant>,
    labels: Vec<Arc<str>>,
}

impl std::fmt::Debug for KnownValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownValues")
            .field("labels", &self.labels)
            .field("patterns", &self.ac.as_ref().map_or(0, Prefilter::len))
            .finish()
    }
}

impl KnownValues {
    /// A set that matches nothing.
    pub fn empty() -> KnownValues {
        KnownValues {
            ac: None,
            combined: None,
            rule_id: Arc::from(KNOWN_VALUE_RULE_ID),
            variants: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The longest encoded form, in bytes, including the edges redacted with it.
    pub fn max_len(&self) -> usize {
        self.ac.as_ref().map_or(0, |ac| ac.max_len() + 3 + 2)
    }

    /// The length of the longest suffix of `hay` that is a proper prefix of a registered value
    /// (or of one of its encodings): bytes a streaming redactor must not release yet.
    pub fn partial_tail(&self, hay: &[u8]) -> usize {
        let Some(ac) = &self.ac else { return 0 };
        let mut best = 0;
        for p in ac.patterns() {
            let max = (p.len() - 1).min(hay.len());
            for k in (best + 1..=max).rev() {
                if hay[hay.len() - k..] == p[..k] {
                    best = k;
                    break;
                }
            }
        }
        best
    }

    pub(crate) fn find_into(&self, hay: &[u8], out: &mut Vec<Finding>) {
        let Some(ac) = &self.ac else { return };
        ac.for_each(hay, |pat, s, e| self.push_hit(pat as usize, hay, s, e, out));
    }

    /// The prefilter combined with `rules_id`'s patterns, if these values were built for it.
    pub(crate) fn combined_for(&self, rules_id: u64) -> Option<&Prefilter> {
        self.combined
            .as_ref()
            .filter(|(id, _)| *id == rules_id)
            .map(|(_, pf)| pf)
    }

    /// Records a hit of variant `variant` at `s..e` as a finding.
    pub(crate) fn push_hit(
        &self,
        variant: usize,
        hay: &[u8],
        s: usize,
        e: usize,
        out: &mut Vec<Finding>,
    ) {
        {
            let v = &self.variants[variant];
            let mut start = s;
            let mut end = e;
            if v.encoding == Encoding::Base64 {
                for _ in 0..v.lead {
                    if start > 0 && decode::is_b64(hay[start - 1]) {
                        start -= 1;
                    }
                }
                let limit = (end + v.tail).min(hay.len());
                while end < limit && (decode::is_b64(hay[end]) || hay[end] == b'=') {
                    end += 1;
                }
            }
            out.push(Finding {
                rule_id: self.rule_id.clone(),
                span: start..end,
                secret_span: start..end,
                entropy: 0.0,
                encoding: v.encoding,
                label: Some(self.labels[v.value].clone()),
                priority: i32::MAX,
            });
        }
    }
}

fn json_escape(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() + 8);
    for &b in v {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out
}

fn slash_escape(b: u8) -> Vec<u8> {
    if b == b'/' {
        b"\\/".to_vec()
    } else {
        vec![b]
    }
}

fn shell_single_quote(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() + 8);
    for &b in v {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out
}

fn shell_backslash(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() + 8);
    for &b in v {
        if b" !\"#$&'()*,;<>?[\\]^`{|}~".contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

fn hex(v: &[u8], digits: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 2);
    for &b in v {
        out.push(digits[usize::from(b >> 4)]);
        out.push(digits[usize::from(b & 15)]);
    }
    out
}
