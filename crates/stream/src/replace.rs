//! Turning findings into replaced bytes: span collection (terminal-escape aware), merging, and
//! the replacement itself. Shared by the streaming [`Redactor`](crate::Redactor) and the
//! one-shot [`Redaction`].

use std::collections::HashMap;
use std::sync::Arc;

use hush_patterns::{Finding, KnownValues, RuleSet};

use crate::style::Style;
use crate::{ansi, json};

/// Replaces spans in one style; knows each rule's keywords (for `Style::KeepPrefix`).
#[derive(Debug)]
pub(crate) struct Replacer {
    style: Style,
    json: bool,
    keywords: HashMap<String, Vec<String>>,
}

impl Replacer {
    pub(crate) fn new(rules: &RuleSet, style: Style, json: bool) -> Replacer {
        Replacer {
            style,
            json,
            keywords: rules
                .rules()
                .iter()
                .map(|r| (r.id().to_string(), r.keywords().to_vec()))
                .collect(),
        }
    }

    /// The secret spans of `hay` that end after `from`, merged, sorted. `search` finds the
    /// findings of a haystack; it runs on `hay` with terminal escape sequences taken out (when it
    /// has any) so a coloured token is still one token, and spans are mapped back onto `hay`.
    pub(crate) fn spans(
        &self,
        hay: &[u8],
        from: usize,
        search: impl Fn(&[u8]) -> Vec<Finding>,
    ) -> Vec<(usize, usize, Arc<str>)> {
        let mut spans: Vec<(usize, usize, i32, Arc<str>)> = match ansi::strip(hay) {
            None => search(hay)
                .into_iter()
                .map(|f| {
                    (
                        f.secret_span.start,
                        f.secret_span.end,
                        f.priority(),
                        f.rule_id,
                    )
                })
                .collect(),
            Some((clean, map)) => search(&clean)
                .into_iter()
                .filter(|f| f.secret_span.start < f.secret_span.end)
                .map(|f| {
                    (
                        map[f.secret_span.start],
                        map[f.secret_span.end - 1] + 1,
                        f.priority(),
                        f.rule_id,
                    )
                })
                .collect(),
        };
        spans.retain(|s| s.1 > from && s.0 < s.1);
        if self.json {
            for s in &mut spans {
                (s.0, s.1) = json::widen(hay, s.0, s.1);
            }
        }
        // Overlapping spans become one replacement, labelled by the span that starts first (the
        // longest, then the most specific rule, among those starting together).
        spans.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then(b.1.cmp(&a.1))
                .then(b.2.cmp(&a.2))
                .then(a.3.cmp(&b.3))
        });
        let mut merged: Vec<(usize, usize, Arc<str>)> = Vec::with_capacity(spans.len());
        for (start, end, _, id) in spans {
            match merged.last_mut() {
                Some(last) if start < last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end, id)),
            }
        }
        merged
    }

    /// Writes the replacement for `hay[start..end]`, found by `rule_id`.
    pub(crate) fn replace(
        &self,
        hay: &[u8],
        start: usize,
        end: usize,
        rule_id: &str,
        out: &mut Vec<u8>,
    ) {
        let keywords: &[String] = self.keywords.get(rule_id).map_or(&[], Vec::as_slice);
        if self.json {
            // Keep string delimiters: replace each stretch between unescaped quotes on its own.
            let mut seg = start;
            for q in json::unescaped_quotes(hay, start, end) {
                if q > seg {
                    self.style.write(rule_id, keywords, &hay[seg..q], out);
                }
                out.push(b'"');
                seg = q + 1;
            }
            if seg < end {
                self.style.write(rule_id, keywords, &hay[seg..end], out);
            }
        } else {
            self.style.write(rule_id, keywords, &hay[start..end], out);
        }
        // Colour codes inside the secret survive, so the terminal's state stays right.
        if hay[start..end].contains(&0x1b) {
            out.extend_from_slice(&ansi::sequences_in(hay, start, end));
        }
    }
}

/// One-shot redaction of complete texts (a log event, a message, a panic payload): no buffering,
/// no window, the whole text is searched at once.
///
/// ```
/// use hush_patterns::{KnownValues, RuleSet};
/// use hush_stream::{Options, Redaction};
///
/// let r = Redaction::new(std::sync::Arc::new(RuleSet::builtin()?), Options::default());
/// let mut out = Vec::new();
/// let n = r.redact_into(concat!("token ghp_", "R8vKq2LmZx4TnW7yPbC3dF6hJ9sA1eU5gQ0o").as_bytes(), &KnownValues::empty(), &mut out);
/// assert_eq!((n, out.as_slice()), (1, &b"token [REDACTED:hush.github.pat]"[..]));
/// # Ok::<(), hush_patterns::Error>(())
/// ```
#[derive(Debug)]
pub struct Redaction {
    rules: Arc<RuleSet>,
    replacer: Replacer,
}

impl Redaction {
    /// A redaction over `rules` with the style and JSON setting of `opts` (buffer settings do
    /// not apply).
    pub fn new(rules: Arc<RuleSet>, opts: crate::Options) -> Redaction {
        let replacer = Replacer::new(&rules, opts.style, opts.json);
        Redaction { rules, replacer }
    }

    /// The rules.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// `text` with every secret replaced, or `None` (and no copy) when it holds none.
    pub fn redact(&self, text: &[u8], known: &KnownValues) -> Option<Vec<u8>> {
        let spans = self
            .replacer
            .spans(text, 0, |hay| self.rules.find_all(hay, Some(known)));
        if spans.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(text.len() + 32);
        self.write_spans(text, &spans, &mut out);
        Some(out)
    }

    fn write_spans(&self, text: &[u8], spans: &[(usize, usize, Arc<str>)], out: &mut Vec<u8>) {
        let mut pos = 0;
        for (start, end, rule_id) in spans {
            out.extend_from_slice(&text[pos..*start]);
            self.replacer.replace(text, *start, *end, rule_id, out);
            pos = *end;
        }
        out.extend_from_slice(&text[pos..]);
    }

    /// Appends `text` to `out` with every secret (rules and `known`) replaced; returns how many
    /// replacements were made.
    pub fn redact_into(&self, text: &[u8], known: &KnownValues, out: &mut Vec<u8>) -> usize {
        let spans = self
            .replacer
            .spans(text, 0, |hay| self.rules.find_all(hay, Some(known)));
        let mut pos = 0;
        for (start, end, rule_id) in &spans {
            out.extend_from_slice(&text[pos..*start]);
            self.replacer.replace(text, *start, *end, rule_id, out);
            pos = *end;
        }
        out.extend_from_slice(&text[pos..]);
        spans.len()
    }
}
