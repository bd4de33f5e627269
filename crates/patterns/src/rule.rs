//! The rule schema (as read from TOML) and a validated, compiled rule.

use std::path::Path;

use std::sync::OnceLock;

use regex_automata::meta::Regex;
use serde::Deserialize;

use crate::error::{Error, Origin, Result};

/// Default `priority` of a rule.
pub(crate) const DEFAULT_PRIORITY: i32 = 50;
/// Longest `max_len` accepted: 1 MiB. Longer windows would make streaming buffers unbounded
/// in practice.
pub(crate) const MAX_RULE_LEN: usize = 1 << 20;
/// Shortest keyword accepted: shorter ones would fire on every line.
pub(crate) const MIN_KEYWORD_LEN: usize = 3;

/// A rule file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    #[serde(default)]
    pub(crate) rules: Vec<toml::Spanned<RawRule>>,
}

/// One `[[rules]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) regex: String,
    #[serde(default)]
    pub(crate) secret_group: Option<usize>,
    #[serde(default)]
    pub(crate) keywords: Vec<String>,
    #[serde(default)]
    pub(crate) max_len: Option<usize>,
    #[serde(default)]
    pub(crate) entropy: Option<f64>,
    #[serde(default)]
    pub(crate) allow: Vec<String>,
    #[serde(default)]
    pub(crate) stopwords: Vec<String>,
    #[serde(default)]
    pub(crate) priority: Option<i32>,
    #[serde(default)]
    pub(crate) examples: Vec<RawExample>,
    #[serde(default)]
    pub(crate) negative_examples: Vec<String>,
    #[serde(default)]
    pub(crate) references: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawExample {
    Text(String),
    Stated { text: String, secret: String },
}

/// What part of the text an `allow` regex is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AllowTarget {
    Secret,
    Match,
    Line,
}

/// Interned `allow` regexes, by pattern.
pub(crate) type AllowInterner = std::collections::HashMap<String, std::sync::Arc<LazyRegex>>;

/// An `allow` regex compiled on first use.
#[derive(Debug)]
pub(crate) struct LazyRegex {
    pattern: String,
    cell: OnceLock<Regex>,
}

impl LazyRegex {
    pub(crate) fn is_match(&self, hay: &[u8]) -> bool {
        self.cell
            .get_or_init(|| {
                // INVARIANT: the pattern parsed at load, user rules compile it eagerly and the
                // built-in pack is compiled by the test suite, so this does not fail.
                compile_regex(&self.pattern).unwrap_or_else(|e| {
                    unreachable!("allow regex `{}` does not compile: {e}", self.pattern)
                })
            })
            .is_match(hay)
    }

    pub(crate) fn try_compile(&self) -> std::result::Result<(), String> {
        if self.cell.get().is_none() {
            let _ = self.cell.set(compile_regex(&self.pattern)?);
        }
        Ok(())
    }
}

/// An allow-list entry: regexes and stopwords, checked against a target.
#[derive(Debug)]
pub(crate) struct Allow {
    pub(crate) target: AllowTarget,
    pub(crate) regexes: Vec<std::sync::Arc<LazyRegex>>,
    /// Lowercased.
    pub(crate) stopwords: Vec<Vec<u8>>,
}

/// An example a rule must (or must not) match.
#[derive(Clone, Debug)]
pub struct Example {
    /// The text to scan.
    pub text: String,
    /// The exact secret the rule must extract, when stated.
    pub secret: Option<String>,
}

/// A validated rule with its compiled regex.
///
/// Obtained from [`RuleSet::rules`](crate::RuleSet::rules).
#[derive(Debug)]
pub struct Rule {
    pub(crate) id: String,
    pub(crate) id_arc: std::sync::Arc<str>,
    pub(crate) name: String,
    pub(crate) pattern: String,
    /// Compiled on first use: most rules never see a keyword hit in a given run, and compiling
    /// all of them up front would dominate start-up (see `benches/engine.rs`).
    pub(crate) regex: OnceLock<Regex>,
    pub(crate) secret_group: usize,
    pub(crate) keywords: Vec<String>,
    pub(crate) max_len: usize,
    pub(crate) entropy: Option<f64>,
    pub(crate) allows: Vec<Allow>,
    pub(crate) priority: i32,
    /// When true (hush rules) a match must contain a keyword occurrence; when false
    /// (imported gitleaks rules) a keyword within `max_len` bytes of the match suffices.
    pub(crate) keyword_in_match: bool,
    /// Every match holds one of the keywords this many bytes from its start, so the regex runs
    /// anchored there for each keyword hit instead of in a window around it.
    pub(crate) anchored: Option<usize>,
    /// For rules that are not anchored: the longest a match can extend before the keyword
    /// occurrence it contains, when the regex shows it.
    pub(crate) keyword_offset: Option<usize>,
    /// The regex before that keyword, searched backwards from a hit to find where a match can
    /// start (built on first use).
    pub(crate) head: Option<regex_syntax::hir::Hir>,
    /// Bytes between the end of the head and the keyword (fixed).
    pub(crate) head_gap: usize,
    pub(crate) rev_head: OnceLock<Option<RevHead>>,
    /// The regex as searched (large counted repetitions unbounded, see [`unbound`]).
    pub(crate) search_hir: regex_syntax::hir::Hir,
    /// Spellings of the keywords to look for in base64 (see [`keyword_forms`]).
    pub(crate) keyword_forms: Vec<Vec<u8>>,
    /// The regex can match a line break, so a match can still be growing across lines.
    pub(crate) multiline: bool,
    pub(crate) examples: Vec<Example>,
    pub(crate) negative_examples: Vec<String>,
    pub(crate) references: Vec<String>,
    pub(crate) origin: Origin,
}

impl Rule {
    /// The namespaced id, e.g. `hush.github.pat`.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The human-readable name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The regex as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
    /// The compiled regex, compiling it on first use.
    pub(crate) fn regex(&self) -> &Regex {
        self.regex.get_or_init(|| {
            // INVARIANT: user rules arrive compiled (`compile_eagerly`), and every built-in rule
            // is compiled by the test suite (`builtin_rules_compile`), so this cannot fail for a
            // pattern that parsed.
            compile_hir(&self.search_hir).unwrap_or_else(|e| {
                unreachable!(
                    "rule `{}` passed validation but does not compile: {e}",
                    self.id
                )
            })
        })
    }
    /// The reverse head searcher, when the regex has a bounded head before a keyword.
    pub(crate) fn rev_head(&self) -> Option<&RevHead> {
        self.rev_head
            .get_or_init(|| self.head.as_ref().and_then(RevHead::new))
            .as_ref()
    }
    /// Compiles the regex and its `allow` regexes now, reporting an error instead of deferring it.
    pub(crate) fn try_compile(&self) -> std::result::Result<(), String> {
        if self.regex.get().is_none() {
            let r = compile_hir(&self.search_hir)?;
            let _ = self.regex.set(r);
        }
        for allow in &self.allows {
            for lazy in &allow.regexes {
                lazy.try_compile()?;
            }
        }
        Ok(())
    }
    /// The prefilter keywords (lowercase).
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }
    /// The longest match this rule reports, in bytes.
    pub fn max_len(&self) -> usize {
        self.max_len
    }
    /// The minimum Shannon entropy (bits per byte) of the secret, if any.
    pub fn entropy(&self) -> Option<f64> {
        self.entropy
    }
    /// Tie-break priority for overlapping findings of equal length.
    pub fn priority(&self) -> i32 {
        self.priority
    }
    /// Texts that must produce a finding of this rule.
    pub fn examples(&self) -> &[Example] {
        &self.examples
    }
    /// Texts that must not produce a finding of this rule.
    pub fn negative_examples(&self) -> &[String] {
        &self.negative_examples
    }
    /// Documentation links.
    pub fn references(&self) -> &[String] {
        &self.references
    }
    /// How the regex is confirmed around keyword hits, cheapest first: `anchored` (every match
    /// starts with a keyword), `reverse` (a bounded head before the keyword is searched
    /// backwards, then the regex runs anchored), or `window` (the regex runs over `max_len`
    /// bytes on each side). Rules on frequent keywords should not be `window`.
    pub fn confirmation(&self) -> &'static str {
        if self.anchored.is_some() {
            "anchored"
        } else if self.keyword_offset.is_some() {
            "reverse"
        } else {
            "window"
        }
    }
    /// The file and line the rule was loaded from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

/// Parameters for compiling one rule, shared by the hush and gitleaks loaders.
#[derive(Clone)]
pub(crate) struct RuleSpec {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) regex: String,
    pub(crate) secret_group: Option<usize>,
    pub(crate) keywords: Vec<String>,
    pub(crate) max_len: Option<usize>,
    pub(crate) entropy: Option<f64>,
    pub(crate) allows: Vec<(AllowTarget, Vec<String>, Vec<String>)>,
    pub(crate) priority: i32,
    pub(crate) keyword_in_match: bool,
    pub(crate) examples: Vec<Example>,
    pub(crate) negative_examples: Vec<String>,
    pub(crate) references: Vec<String>,
    pub(crate) origin: Origin,
    /// The regex, once compiled (user rules are compiled when loaded, to fail early).
    pub(crate) compiled: Option<Regex>,
}

/// The syntax every rule regex is parsed with: bytes, ASCII classes.
pub(crate) fn syntax_config() -> regex_automata::util::syntax::Config {
    regex_automata::util::syntax::Config::new()
        .unicode(false)
        .utf8(false)
}

pub(crate) fn compile_regex(pattern: &str) -> std::result::Result<Regex, String> {
    Regex::builder()
        .syntax(syntax_config())
        .configure(
            Regex::config()
                .utf8_empty(false)
                .nfa_size_limit(Some(20 << 20))
                .hybrid_cache_capacity(2 << 20),
        )
        .build(pattern)
        .map_err(|e| e.to_string().replace('\n', " "))
}

fn regex_config() -> regex_automata::meta::Config {
    Regex::config()
        .utf8_empty(false)
        .nfa_size_limit(Some(20 << 20))
        .hybrid_cache_capacity(2 << 20)
        // Matches are short and confirmed near keyword hits: the lazy DFA finds them and the
        // bounded backtracker extracts groups. A one-pass DFA per rule only adds compile time
        // (benches/engine.rs: compiling every regex 53 -> 50 ms, search +7%).
        .onepass(false)
}

/// Compiles a (rewritten) rule regex for searching.
pub(crate) fn compile_hir(hir: &regex_syntax::hir::Hir) -> std::result::Result<Regex, String> {
    Regex::builder()
        .configure(regex_config())
        .build_from_hir(hir)
        .map_err(|e| e.to_string().replace('\n', " "))
}

/// Counted repetitions with an upper bound above this are searched as unbounded.
const UNBOUND_ABOVE: u32 = 32;

/// Rewrites `x{m,n}` with `n > 32` (and `n > m`) as `x{m,}`.
///
/// A counted repetition compiles to `n` copies of its operand, and a lazy DFA over a long run of
/// matching bytes then builds a new state per byte (`[^"]{16,8192}` thrashes its cache). The
/// match-length bound is computed from the regex as written and enforced on every match, so the
/// rewrite only changes which over-long candidates are dropped.
pub(crate) fn unbound(hir: &regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Capture, Hir, HirKind, Repetition};
    match hir.kind() {
        HirKind::Repetition(rep) => {
            let max = match rep.max {
                Some(n) if n > UNBOUND_ABOVE && n > rep.min => None,
                other => other,
            };
            Hir::repetition(Repetition {
                min: rep.min,
                max,
                greedy: rep.greedy,
                sub: Box::new(unbound(&rep.sub)),
            })
        }
        HirKind::Capture(cap) => Hir::capture(Capture {
            index: cap.index,
            name: cap.name.clone(),
            sub: Box::new(unbound(&cap.sub)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(unbound).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(unbound).collect()),
        _ => hir.clone(),
    }
}

/// The spellings of each keyword worth encoding for the base64 prefilter: as written, lower,
/// upper and capitalised, plus the exact case of every regex literal that contains it (`AIza`,
/// `eyJ`, `PuTTY-User-Key-File-`) and of every occurrence in the rule's examples
/// (`SharedAccessKey`), since base64 is case-sensitive.
pub(crate) fn keyword_forms(
    hir: &regex_syntax::hir::Hir,
    written: &[String],
    examples: &[Example],
) -> Vec<Vec<u8>> {
    let mut literals = Vec::new();
    collect_literals(hir, &mut literals);
    literals.extend(examples.iter().map(|e| e.text.as_bytes().to_vec()));
    let mut forms: Vec<Vec<u8>> = Vec::new();
    let mut push = |f: Vec<u8>| {
        if !forms.contains(&f) {
            forms.push(f);
        }
    };
    for k in written {
        let lower = k.to_ascii_lowercase().into_bytes();
        push(k.clone().into_bytes());
        push(lower.clone());
        push(k.to_ascii_uppercase().into_bytes());
        let mut cap = lower.clone();
        if let Some(c) = cap.first_mut() {
            c.make_ascii_uppercase();
        }
        push(cap);
        for lit in &literals {
            let folded = lit.to_ascii_lowercase();
            let mut from = 0;
            while let Some(at) = memchr::memmem::find(&folded[from..], &lower) {
                let at = from + at;
                push(lit[at..at + lower.len()].to_vec());
                from = at + 1;
            }
        }
    }
    forms
}

/// True when some match of `hir` can contain `\n` or `\r`.
fn can_match_newline(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Literal(lit) => lit.0.iter().any(|&b| b == b'\n' || b == b'\r'),
        HirKind::Class(Class::Bytes(cls)) => cls.ranges().iter().any(|r| {
            (r.start()..=r.end()).contains(&b'\n') || (r.start()..=r.end()).contains(&b'\r')
        }),
        HirKind::Class(Class::Unicode(cls)) => cls.ranges().iter().any(|r| {
            (r.start()..=r.end()).contains(&'\n') || (r.start()..=r.end()).contains(&'\r')
        }),
        HirKind::Repetition(rep) => rep.max != Some(0) && can_match_newline(&rep.sub),
        HirKind::Capture(cap) => can_match_newline(&cap.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().any(can_match_newline),
        HirKind::Empty | HirKind::Look(_) => false,
    }
}

fn collect_literals(hir: &regex_syntax::hir::Hir, out: &mut Vec<Vec<u8>>) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Literal(lit) => out.push(lit.0.to_vec()),
        HirKind::Repetition(rep) => collect_literals(&rep.sub, out),
        HirKind::Capture(cap) => collect_literals(&cap.sub, out),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().for_each(|s| collect_literals(s, out));
        }
        _ => {}
    }
}

/// For a concatenation whose tail provably starts with a keyword: the head before it, and the
/// longest that head can be (the farthest a match can start before the keyword it contains).
/// The third value is the fixed distance from the end of the head to the keyword.
fn keyword_split(
    hir: &regex_syntax::hir::Hir,
    keywords: &[String],
) -> Option<(usize, regex_syntax::hir::Hir, usize)> {
    use regex_syntax::hir::Hir;
    if keywords.is_empty() {
        return None;
    }
    let mut items = Vec::new();
    flatten(hir, &mut items);
    // Fold each item once: folding commutes with concatenation, and folding every suffix
    // afresh made this quadratic in the regex's size.
    let folded: Vec<Hir> = items.iter().map(fold_case).collect();
    let mut head = 0usize;
    for i in 0..items.len() {
        if let Some(gap) = folded_keyword_offset(&Hir::concat(folded[i..].to_vec()), keywords) {
            return Some((head, Hir::concat(items[..i].to_vec()), gap));
        }
        head = head.checked_add(items[i].properties().maximum_len()?)?;
    }
    None
}

/// The items of a concatenation, looking through capture groups (which do not matter to where
/// a match can start).
fn flatten(hir: &regex_syntax::hir::Hir, out: &mut Vec<regex_syntax::hir::Hir>) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Capture(cap) => flatten(&cap.sub, out),
        HirKind::Concat(subs) => subs.iter().for_each(|s| flatten(s, out)),
        _ => out.push(hir.clone()),
    }
}

type CacheFn = Box<
    dyn Fn() -> regex_automata::hybrid::dfa::Cache
        + Send
        + Sync
        + std::panic::UnwindSafe
        + std::panic::RefUnwindSafe,
>;

/// A reverse lazy DFA for a rule's head, with a pool of search caches.
pub(crate) struct RevHead {
    dfa: regex_automata::hybrid::dfa::DFA,
    pool: regex_automata::util::pool::Pool<regex_automata::hybrid::dfa::Cache, CacheFn>,
}

impl std::fmt::Debug for RevHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RevHead")
    }
}

impl RevHead {
    fn new(head: &regex_syntax::hir::Hir) -> Option<RevHead> {
        use regex_automata::hybrid::dfa::DFA;
        use regex_automata::nfa::thompson;
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .reverse(true)
                    .which_captures(thompson::WhichCaptures::None),
            )
            .build_from_hir(head)
            .ok()?;
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(regex_automata::MatchKind::All)
                    .cache_capacity(1 << 20),
            )
            .build_from_nfa(nfa)
            .ok()?;
        let for_pool = dfa.clone();
        let create: CacheFn = Box::new(move || for_pool.create_cache());
        Some(RevHead {
            dfa,
            pool: regex_automata::util::pool::Pool::new(create),
        })
    }

    /// The earliest position from which the head matches up to the end of `input` (searched
    /// backwards, anchored at the end). `Err` when the lazy DFA gave up.
    pub(crate) fn earliest_start(
        &self,
        input: &regex_automata::Input<'_>,
    ) -> std::result::Result<Option<usize>, regex_automata::MatchError> {
        let mut cache = self.pool.get();
        Ok(self
            .dfa
            .try_search_rev(&mut cache, input)?
            .map(|hm| hm.offset()))
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
}

impl RuleSpec {
    pub(crate) fn from_raw(raw: RawRule, origin: Origin) -> RuleSpec {
        RuleSpec {
            id: raw.id,
            name: raw.name,
            regex: raw.regex,
            secret_group: raw.secret_group,
            keywords: raw.keywords,
            max_len: raw.max_len,
            entropy: raw.entropy,
            allows: if raw.allow.is_empty() && raw.stopwords.is_empty() {
                vec![]
            } else {
                vec![(AllowTarget::Secret, raw.allow, raw.stopwords)]
            },
            priority: raw.priority.unwrap_or(DEFAULT_PRIORITY),
            keyword_in_match: true,
            examples: raw
                .examples
                .into_iter()
                .map(|e| match e {
                    RawExample::Text(text) => Example { text, secret: None },
                    RawExample::Stated { text, secret } => Example {
                        text,
                        secret: Some(secret),
                    },
                })
                .collect(),
            negative_examples: raw.negative_examples,
            references: raw.references,
            origin,
            compiled: None,
        }
    }

    /// Validates the rule and compiles its regex now, so that errors surface at load time.
    pub(crate) fn compile_eagerly(mut self) -> Result<RuleSpec> {
        let checked = self.clone().compile()?;
        for allow in &checked.allows {
            for lazy in &allow.regexes {
                lazy.try_compile().map_err(|e| Error::Rule {
                    origin: checked.origin.clone(),
                    rule_id: checked.id.clone(),
                    reason: format!("invalid `allow` regex `{}`: {e}", lazy.pattern),
                })?;
            }
        }
        let fail = |e: String| Error::Rule {
            origin: checked.origin.clone(),
            rule_id: checked.id.clone(),
            reason: format!("invalid `regex`: {e}"),
        };
        self.compiled = Some(compile_hir(&checked.search_hir).map_err(fail)?);
        Ok(self)
    }

    /// Validates the rule; the regex is parsed and checked now and compiled on first use.
    pub(crate) fn compile(self) -> Result<Rule> {
        self.compile_with(&mut AllowInterner::new())
    }

    /// [`compile`](Self::compile), sharing `allow` regexes with other rules through `interner`
    /// (the generic rules repeat one list of two dozen).
    pub(crate) fn compile_with(self, interner: &mut AllowInterner) -> Result<Rule> {
        let fail = |reason: String| Error::Rule {
            origin: self.origin.clone(),
            rule_id: if self.id.is_empty() {
                "<missing id>".to_string()
            } else {
                self.id.clone()
            },
            reason,
        };
        if !valid_id(&self.id) {
            return Err(fail(
                "rule ids are lowercase ASCII letters, digits, `.`, `-` and `_`, e.g. `hush.github.pat`"
                    .into(),
            ));
        }
        if self.name.trim().is_empty() {
            return Err(fail(
                "`name` is empty; give the rule a human-readable name".into(),
            ));
        }
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(&self.regex)
            .map_err(|e| {
                fail(format!(
                    "invalid `regex`: {}",
                    e.to_string().replace('\n', " ")
                ))
            })?;
        let props = hir.properties();
        let groups = props.explicit_captures_len();
        let secret_group = match self.secret_group {
            Some(g) if g > groups => {
                return Err(fail(format!(
                    "`secret_group = {g}` but the regex has only {groups} capture group(s)"
                )))
            }
            Some(g) => g,
            None if groups >= 1 => 1,
            None => 0,
        };
        let max_len = match (props.maximum_len(), self.max_len) {
            (_, Some(0)) => return Err(fail("`max_len` must be at least 1".into())),
            (Some(bound), Some(declared)) => bound.min(declared),
            (Some(bound), None) => bound,
            (None, Some(declared)) => declared,
            (None, None) => {
                return Err(fail(
                    "the regex has no maximum match length (it uses `+`, `*` or `{n,}`); \
                     bound its repetitions or declare `max_len`"
                        .into(),
                ))
            }
        };
        if max_len == 0 {
            return Err(fail("the regex can only match the empty string".into()));
        }
        if max_len > MAX_RULE_LEN {
            return Err(fail(format!(
                "the longest match is {max_len} bytes, over the limit of {MAX_RULE_LEN}; \
                 bound the regex more tightly or declare a smaller `max_len`"
            )));
        }
        if props.minimum_len() == Some(0) {
            return Err(fail(
                "the regex can match the empty string; require at least one byte".into(),
            ));
        }
        let mut keywords = Vec::with_capacity(self.keywords.len());
        for k in &self.keywords {
            if k.len() < MIN_KEYWORD_LEN {
                return Err(fail(format!(
                    "keyword `{k}` is shorter than {MIN_KEYWORD_LEN} bytes; use a longer, rarer literal"
                )));
            }
            keywords.push(k.to_ascii_lowercase());
        }
        keywords.sort();
        keywords.dedup();
        if let Some(e) = self.entropy {
            if !(0.0..=8.0).contains(&e) {
                return Err(fail(format!(
                    "`entropy = {e}` is outside 0.0..=8.0 bits per byte"
                )));
            }
        }
        let anchored = if self.keyword_in_match {
            fixed_keyword_offset(&hir, &keywords)
        } else {
            None
        };
        let (keyword_offset, head, head_gap) = match self.keyword_in_match && anchored.is_none() {
            true => match keyword_split(&hir, &keywords) {
                Some((offset, head, gap)) => (Some(offset + gap), Some(unbound(&head)), gap),
                None => (None, None, 0),
            },
            false => (None, None, 0),
        };
        let search_hir = unbound(&hir);
        let keyword_forms = keyword_forms(&hir, &self.keywords, &self.examples);
        let multiline = can_match_newline(&hir);
        let regex = OnceLock::new();
        if let Some(compiled) = self.compiled {
            let _ = regex.set(compiled);
        }
        let mut allows = Vec::with_capacity(self.allows.len());
        for (target, regexes, stopwords) in self.allows {
            let mut compiled = Vec::with_capacity(regexes.len());
            for r in &regexes {
                let lazy = match interner.get(r) {
                    Some(lazy) => lazy.clone(),
                    None => {
                        // Parse now (errors surface at load); compile on first use.
                        regex_syntax::ParserBuilder::new()
                            .unicode(false)
                            .utf8(false)
                            .build()
                            .parse(r)
                            .map_err(|e| {
                                fail(format!(
                                    "invalid `allow` regex `{r}`: {}",
                                    e.to_string().replace('\n', " ")
                                ))
                            })?;
                        let lazy = std::sync::Arc::new(LazyRegex {
                            pattern: r.clone(),
                            cell: OnceLock::new(),
                        });
                        interner.insert(r.clone(), lazy.clone());
                        lazy
                    }
                };
                compiled.push(lazy);
            }
            allows.push(Allow {
                target,
                regexes: compiled,
                stopwords: stopwords
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| s.to_ascii_lowercase().into_bytes())
                    .collect(),
            });
        }
        Ok(Rule {
            id_arc: std::sync::Arc::from(self.id.as_str()),
            id: self.id,
            name: self.name,
            pattern: self.regex,
            regex,
            secret_group,
            keywords,
            max_len,
            entropy: self.entropy,
            allows,
            priority: self.priority,
            keyword_in_match: self.keyword_in_match,
            anchored,
            keyword_offset,
            head,
            head_gap,
            rev_head: OnceLock::new(),
            search_hir,
            keyword_forms,
            multiline,
            examples: self.examples,
            negative_examples: self.negative_examples,
            references: self.references,
            origin: self.origin,
        })
    }
}

/// Rewrites ASCII case-insensitive letter classes (`[Aa]`, what `(?i)a` becomes) as the
/// lower-case literal, so literal extraction sees `password` rather than 256 case variants.
/// Keywords match case-insensitively, so conclusions drawn on the folded regex hold.
fn fold_case(hir: &regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Capture, Class, Hir, HirKind, Repetition};
    match hir.kind() {
        HirKind::Class(Class::Bytes(cls)) => {
            let ranges = cls.ranges();
            if ranges.len() == 2
                && ranges.iter().all(|r| r.start() == r.end())
                && ranges[0].start().is_ascii_uppercase()
                && ranges[1].start() == ranges[0].start().to_ascii_lowercase()
            {
                return Hir::literal([ranges[1].start()]);
            }
            hir.clone()
        }
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            min: rep.min,
            max: rep.max,
            greedy: rep.greedy,
            sub: Box::new(fold_case(&rep.sub)),
        }),
        HirKind::Capture(cap) => Hir::capture(Capture {
            index: cap.index,
            name: cap.name.clone(),
            sub: Box::new(fold_case(&cap.sub)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(fold_case).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(fold_case).collect()),
        _ => hir.clone(),
    }
}

/// When every match of `hir` provably holds one of `keywords` (lowercase) at the same offset
/// from its start, that offset (judged from the regex's prefix literals, case-folded).
fn fixed_keyword_offset(hir: &regex_syntax::hir::Hir, keywords: &[String]) -> Option<usize> {
    if keywords.is_empty() {
        return None;
    }
    folded_keyword_offset(&fold_case(hir), keywords)
}

/// [`fixed_keyword_offset`] of a regex already passed through [`fold_case`].
fn folded_keyword_offset(folded: &regex_syntax::hir::Hir, keywords: &[String]) -> Option<usize> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(folded);
    let literals = seq.literals()?;
    let mut offset = None;
    for lit in literals {
        let lower = lit.as_bytes().to_ascii_lowercase();
        let at = keywords
            .iter()
            .filter_map(|k| memchr::memmem::find(&lower, k.as_bytes()))
            .min()?;
        match offset {
            None => offset = Some(at),
            Some(o) if o == at => {}
            Some(_) => return None,
        }
    }
    offset
}

/// Parses a hush rule file into specs. `file` is only used in messages.
pub(crate) fn parse_file(file: &Path, text: &str) -> Result<Vec<RuleSpec>> {
    let raw: RawFile = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
    Ok(raw
        .rules
        .into_iter()
        .map(|spanned| {
            let line = line_of(text, spanned.span().start);
            RuleSpec::from_raw(
                spanned.into_inner(),
                Origin {
                    file: file.to_path_buf(),
                    line,
                },
            )
        })
        .collect())
}

pub(crate) fn syntax_error(file: &Path, text: &str, e: &toml::de::Error) -> Error {
    let (line, column) = match e.span() {
        Some(span) => {
            let line = line_of(text, span.start);
            let line_start = text[..span.start.min(text.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            (line, span.start.saturating_sub(line_start) + 1)
        }
        None => (0, 0),
    };
    Error::Syntax {
        file: file.to_path_buf(),
        line,
        column,
        message: e.message().replace('\n', " "),
    }
}

/// 1-based line number of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    memchr::memchr_iter(b'\n', &text.as_bytes()[..end]).count() + 1
}
