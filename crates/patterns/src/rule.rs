//! The rule schema (as read from TOML) and a validated, compiled rule.

use std::path::Path;

use regex_automata::meta::Regex;
use serde::Deserialize;

use crate::error::{Error, Origin, Result};

/// Default `priority` of a rule.
pub(crate) const DEFAULT_PRIORITY: i32 = 50;
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

/// An allow-list entry: regexes and stopwords, checked against a target.
#[derive(Debug)]
pub(crate) struct Allow {
    pub(crate) target: AllowTarget,
    pub(crate) regexes: Vec<Regex>,
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
    pub(crate) regex: Regex,
    pub(crate) secret_group: usize,
    pub(crate) keywords: Vec<String>,
    pub(crate) max_len: usize,
    pub(crate) entropy: Option<f64>,
    pub(crate) allows: Vec<Allow>,
    pub(crate) priority: i32,
    /// When true (hush rules) a match must contain a keyword occurrence; when false
    /// (imported gitleaks rules) a keyword within `max_len` bytes of the match suffices.
    pub(crate) keyword_in_match: bool,
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

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_'))
}

impl RuleSpec {
    pub(crate) fn clone_for_check(spec: &RuleSpec) -> RuleSpec {
        spec.clone()
    }

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
        }
    }

    /// Validates and compiles the rule.
    pub(crate) fn compile(self) -> Result<Rule> {
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
            return Err(fail("`name` is empty; give the rule a human-readable name".into()));
        }
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(&self.regex)
            .map_err(|e| fail(format!("invalid `regex`: {}", e.to_string().replace('\n', " "))))?;
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
        if props.minimum_len() == Some(0) {
            return Err(fail("the regex can match the empty string; require at least one byte".into()));
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
                return Err(fail(format!("`entropy = {e}` is outside 0.0..=8.0 bits per byte")));
            }
        }
        let regex = compile_regex(&self.regex).map_err(|e| fail(format!("invalid `regex`: {e}")))?;
        let mut allows = Vec::with_capacity(self.allows.len());
        for (target, regexes, stopwords) in self.allows {
            let mut compiled = Vec::with_capacity(regexes.len());
            for r in &regexes {
                compiled.push(
                    compile_regex(r).map_err(|e| fail(format!("invalid `allow` regex `{r}`: {e}")))?,
                );
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
            examples: self.examples,
            negative_examples: self.negative_examples,
            references: self.references,
            origin: self.origin,
        })
    }
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
