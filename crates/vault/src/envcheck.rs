//! Environment-variable validation: an [`EnvSpec`] of expected variables, checked for presence,
//! format (a detection rule, a regex, a minimum length) and weak values, with rule matching
//! supplied by the caller through [`RuleMatcher`].

use std::ops::Range;

use regex_automata::meta::Regex;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::entry::validate_name;
use crate::{Error, MemoryStore, Result};

/// Detection rules, as the env check needs them. `hush` plugs in `hush_patterns::RuleSet`.
pub trait RuleMatcher {
    /// True when a rule with this id exists.
    fn has_rule(&self, id: &str) -> bool;
    /// The rules that find a secret in the variable `name` set to `value`: `(rule id, secret
    /// span in value)`. Implementations may search `NAME=value` so that rules keyed on the
    /// variable name (`AWS_SECRET_ACCESS_KEY=...`) fire.
    fn find(&self, name: &str, value: &[u8]) -> Vec<(String, Range<usize>)>;
}

/// A matcher with no rules (spec-less checks then find nothing).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRules;

impl RuleMatcher for NoRules {
    fn has_rule(&self, _: &str) -> bool {
        false
    }
    fn find(&self, _: &str, _: &[u8]) -> Vec<(String, Range<usize>)> {
        Vec::new()
    }
}

/// A TOML spec of the variables a program expects:
///
/// ```toml
/// [[var]]
/// name = "STRIPE_SECRET_KEY"
/// rule = "hush.stripe.secret-key"   # a detection rule id the value must match
/// min_len = 32
///
/// [[var]]
/// name = "DATABASE_URL"
/// regex = '^postgres(ql)?://'       # searched in the value (anchor it to match whole)
///
/// [[var]]
/// name = "SENTRY_DSN"
/// required = false                  # default true
/// allow_test_keys = true            # default false: `sk_test_...` draws a warning
/// ```
#[derive(Debug)]
pub struct EnvSpec {
    vars: Vec<VarSpec>,
}

/// One expected variable.
#[derive(Debug)]
#[non_exhaustive]
pub struct VarSpec {
    /// The variable name.
    pub name: String,
    /// Missing is an error (true) or a note (false).
    pub required: bool,
    /// A detection rule the value must match.
    pub rule: Option<String>,
    /// A regex the value must match (unanchored search).
    pub regex: Option<String>,
    regex_compiled: Option<Regex>,
    /// Shortest acceptable value, in characters.
    pub min_len: Option<usize>,
    /// Test-mode keys (`sk_test_`) are fine here.
    pub allow_test_keys: bool,
    /// What the variable is for (shown in reports).
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(default)]
    var: Vec<RawVar>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVar {
    name: String,
    #[serde(default = "yes")]
    required: bool,
    rule: Option<String>,
    regex: Option<String>,
    min_len: Option<usize>,
    #[serde(default)]
    allow_test_keys: bool,
    description: Option<String>,
}

fn yes() -> bool {
    true
}

impl EnvSpec {
    /// Parses a spec; `origin` (the file name) prefixes every error.
    ///
    /// # Errors
    ///
    /// [`Error::Spec`] for TOML errors (with line and column), unknown keys, invalid or
    /// duplicate names, and regexes that do not compile.
    pub fn parse(text: &str, origin: &str) -> Result<EnvSpec> {
        let spec_err = |reason: String| Error::Spec {
            origin: origin.to_owned(),
            reason,
        };
        let raw: RawSpec = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    let col = s.start - text[..s.start].rfind('\n').map_or(0, |n| n + 1) + 1;
                    format!("{line}:{col}: ")
                })
                .unwrap_or_default();
            spec_err(format!("{at}{}", e.message()))
        })?;
        let mut vars: Vec<VarSpec> = Vec::with_capacity(raw.var.len());
        for v in raw.var {
            validate_name(&v.name).map_err(|e| spec_err(e.to_string()))?;
            if vars.iter().any(|o| o.name == v.name) {
                return Err(spec_err(format!("variable `{}` is listed twice", v.name)));
            }
            let regex_compiled =
                match &v.regex {
                    Some(r) => Some(Regex::new(r).map_err(|e| {
                        spec_err(format!("variable `{}`: invalid regex: {e}", v.name))
                    })?),
                    None => None,
                };
            vars.push(VarSpec {
                name: v.name,
                required: v.required,
                rule: v.rule,
                regex: v.regex,
                regex_compiled,
                min_len: v.min_len,
                allow_test_keys: v.allow_test_keys,
                description: v.description,
            });
        }
        Ok(EnvSpec { vars })
    }

    /// The variables, in file order.
    pub fn vars(&self) -> &[VarSpec] {
        &self.vars
    }

    /// Checks that every `rule` the spec names exists in `rules`.
    ///
    /// # Errors
    ///
    /// [`Error::Spec`] naming the variable and the unknown rule.
    pub fn validate_rules(&self, rules: &dyn RuleMatcher, origin: &str) -> Result<()> {
        for v in &self.vars {
            if let Some(r) = &v.rule {
                if !rules.has_rule(r) {
                    return Err(Error::Spec {
                        origin: origin.to_owned(),
                        reason: format!(
                            "variable `{}`: unknown rule `{r}` (see `hush rules list`)",
                            v.name
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing (an optional variable is unset).
    Note,
    /// Suspicious: a placeholder, test or weak value.
    Warning,
    /// The spec is not met.
    Error,
}

/// What is wrong with a variable. No variant carries the value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// Unset (or empty).
    Missing,
    /// Fewer characters than the spec's `min_len`.
    TooShort {
        /// Its length.
        len: usize,
        /// The spec's minimum.
        min: usize,
    },
    /// The spec's rule finds nothing in the value.
    RuleMismatch {
        /// The rule id.
        rule: String,
    },
    /// The spec's regex does not match.
    RegexMismatch,
    /// A documentation placeholder or template (`changeme`, `your_key_here`, `${X}`, `xxxxxx`).
    Placeholder,
    /// A published documentation example key (`...EXAMPLE`, GitHub's and Stripe's doc keys).
    ExampleKey,
    /// A test-mode or sandbox key (`sk_test_`, `pk_test_`, `sandbox`).
    TestKey,
    /// A common password or trivially guessable value.
    WeakValue,
    /// Too little entropy for a credential.
    LowEntropy {
        /// Estimated total bits (Shannon entropy per character × length).
        bits: u32,
    },
    /// Shorter than any real credential (without a `min_len` in the spec).
    Short {
        /// Its length.
        len: usize,
    },
}

/// One finding about one variable.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Problem {
    /// How bad it is.
    pub severity: Severity,
    /// What it is.
    pub kind: ProblemKind,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ProblemKind::Missing => write!(f, "is not set"),
            ProblemKind::TooShort { len, min } => {
                write!(f, "is {len} characters long; the spec wants at least {min}")
            }
            ProblemKind::RuleMismatch { rule } => write!(f, "does not match rule `{rule}`"),
            ProblemKind::RegexMismatch => write!(f, "does not match the spec's regex"),
            ProblemKind::Placeholder => write!(f, "looks like a placeholder, not a credential"),
            ProblemKind::ExampleKey => write!(f, "is a documentation example key"),
            ProblemKind::TestKey => write!(f, "is a test-mode or sandbox key"),
            ProblemKind::WeakValue => write!(f, "is a common password or guessable value"),
            ProblemKind::LowEntropy { bits } => {
                write!(f, "has low entropy (about {bits} bits; 64+ expected)")
            }
            ProblemKind::Short { len } => {
                write!(f, "is only {len} characters long, short for a credential")
            }
        }
    }
}

/// The result for one variable.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VarReport {
    /// The variable name.
    pub name: String,
    /// Whether it is set (non-empty).
    pub present: bool,
    /// Rules that find a secret in its value.
    pub rules: Vec<String>,
    /// What is wrong, worst first.
    pub problems: Vec<Problem>,
}

/// The result of [`check`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Report {
    /// One per checked variable: the spec's order, or sorted by name without a spec.
    pub vars: Vec<VarReport>,
}

impl Report {
    /// Number of problems of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.vars
            .iter()
            .flat_map(|v| &v.problems)
            .filter(|p| p.severity == severity)
            .count()
    }
}

/// Checks `env` against `spec`; without a spec, checks every variable in which `rules` find a
/// secret (for weak, test and placeholder values).
pub fn check(spec: Option<&EnvSpec>, env: &MemoryStore, rules: &dyn RuleMatcher) -> Report {
    let mut report = Report::default();
    match spec {
        Some(spec) => {
            for v in &spec.vars {
                report.vars.push(check_var(v, env.get(&v.name), rules));
            }
        }
        None => {
            for (name, value) in env.iter() {
                let found = rules.find(name, value.expose_secret().as_bytes());
                if found.is_empty() {
                    continue;
                }
                let mut r = VarReport {
                    name: name.to_owned(),
                    present: true,
                    rules: rule_ids(found),
                    problems: Vec::new(),
                };
                heuristics(value.expose_secret(), false, None, &mut r.problems);
                report.vars.push(r);
            }
        }
    }
    for v in &mut report.vars {
        v.problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
    }
    report
}

fn rule_ids(found: Vec<(String, Range<usize>)>) -> Vec<String> {
    let mut ids: Vec<String> = found.into_iter().map(|(id, _)| id).collect();
    ids.sort();
    ids.dedup();
    ids
}

fn check_var(spec: &VarSpec, value: Option<&SecretString>, rules: &dyn RuleMatcher) -> VarReport {
    let mut r = VarReport {
        name: spec.name.clone(),
        present: false,
        rules: Vec::new(),
        problems: Vec::new(),
    };
    let Some(value) = value.map(|v| v.expose_secret()).filter(|v| !v.is_empty()) else {
        r.problems.push(Problem {
            severity: if spec.required {
                Severity::Error
            } else {
                Severity::Note
            },
            kind: ProblemKind::Missing,
        });
        return r;
    };
    r.present = true;
    r.rules = rule_ids(rules.find(&spec.name, value.as_bytes()));
    let err = |kind| Problem {
        severity: Severity::Error,
        kind,
    };
    let len = value.chars().count();
    if let Some(min) = spec.min_len {
        if len < min {
            r.problems.push(err(ProblemKind::TooShort { len, min }));
        }
    }
    if let Some(rule) = &spec.rule {
        if !r.rules.iter().any(|id| id == rule) {
            r.problems
                .push(err(ProblemKind::RuleMismatch { rule: rule.clone() }));
        }
    }
    if let Some(re) = &spec.regex_compiled {
        if !re.is_match(value) {
            r.problems.push(err(ProblemKind::RegexMismatch));
        }
    }
    heuristics(value, spec.allow_test_keys, spec.min_len, &mut r.problems);
    r
}

/// Common passwords and stand-in values, compared case-insensitively to the whole value.
const WEAK_VALUES: &[&str] = &[
    "password",
    "passw0rd",
    "password1",
    "password123",
    "123456",
    "12345678",
    "123456789",
    "qwerty",
    "letmein",
    "admin",
    "administrator",
    "root",
    "secret",
    "hunter2",
    "welcome",
    "monkey",
    "dragon",
    "abc123",
    "iloveyou",
    "trustno1",
    "default",
    "guest",
    "master",
    "test",
    "testing",
    "token",
    "apikey",
    "api_key",
    "key",
    "pass",
    "foo",
    "bar",
    "foobar",
    "null",
    "none",
    "undefined",
    "true",
    "false",
    "todo",
    "fixme",
    "tbd",
    "secretkey",
    "mysecret",
    "supersecret",
    "s3cr3t",
    "p@ssw0rd",
    "p@ssword",
];

/// Words that mark placeholders anywhere in a value (lowercase).
const PLACEHOLDER_WORDS: &[&str] = &[
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "your key",
    "insert_",
    "insert-",
    "replace_me",
    "replace-me",
    "replaceme",
    "redacted",
    "dummy",
    "fake",
    "sample",
    "not_set",
    "notset",
    "${",
    "{{",
    "...",
    "todo",
    "xxxx",
    "****",
];

/// Infixes of test-mode and sandbox keys (lowercase).
const TEST_MARKERS: &[&str] = &[
    "sk_test_",
    "pk_test_",
    "rk_test_",
    "whsec_test",
    "_test_",
    "-test-",
    "sandbox",
    "sq0csb-",
];
/// Prefixes of test keys (lowercase).
const TEST_PREFIXES: &[&str] = &["test_", "test-", "testkey", "testtoken"];

/// SHA-256 digests of credentials published in providers' documentation (kept as digests so
/// the repository holds nothing that looks like a key): GitHub's example personal access
/// token, Stripe's long-standing test-mode secret and publishable keys from its API docs.
const DOCUMENTATION_KEYS: &[[u8; 32]] = &[
    hex32("3543c50b0cb9cea8e55eb1f529b79f043cb250d485fde7b66cabbb5183add7da"),
    hex32("2cafc0970149a84f3b9e62eaf169f36f59907a3b3e31f7b82e68c69cd27f7326"),
    hex32("b1471f544ceeea31333bde7e1ecbaad6eac0d4a749412ad29bd66ef895b81c6b"),
    hex32("f2d6ca16515033e5dce14eba840b979d27b5cbae24bb3e5bf484339667f86397"),
];

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not a lowercase hex digit"),
    }
}

fn is_documentation_key(value: &str) -> bool {
    use sha2::{Digest, Sha256};
    let digest: [u8; 32] = Sha256::digest(value.as_bytes()).into();
    DOCUMENTATION_KEYS.contains(&digest)
}

/// Minimum estimated entropy, in bits, of a value that claims to be a credential.
const MIN_BITS: f64 = 64.0;
/// Values shorter than this draw a warning when the spec gives no `min_len`.
const SHORT: usize = 16;

fn heuristics(value: &str, allow_test: bool, min_len: Option<usize>, out: &mut Vec<Problem>) {
    let warn = |kind| Problem {
        severity: Severity::Warning,
        kind,
    };
    let lower = zeroize::Zeroizing::new(value.to_ascii_lowercase());
    if lower.contains("example") || lower.contains("not-a-real") || is_documentation_key(value) {
        out.push(warn(ProblemKind::ExampleKey));
    } else if PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w))
        || repeated_run(value)
        || lower.find('<').is_some_and(|at| lower[at..].contains('>'))
    {
        out.push(warn(ProblemKind::Placeholder));
    } else if WEAK_VALUES.iter().any(|w| *lower == **w) {
        out.push(warn(ProblemKind::WeakValue));
    }
    if !allow_test
        && (TEST_MARKERS.iter().any(|m| lower.contains(m))
            || TEST_PREFIXES.iter().any(|p| lower.starts_with(p)))
    {
        out.push(warn(ProblemKind::TestKey));
    }
    let len = value.chars().count();
    if min_len.is_none() && len < SHORT {
        out.push(warn(ProblemKind::Short { len }));
    }
    let bits = shannon_entropy(value.as_bytes()) * value.len() as f64;
    if bits < MIN_BITS && !out.iter().any(|p| p.kind == ProblemKind::WeakValue) {
        out.push(warn(ProblemKind::LowEntropy { bits: bits as u32 }));
    }
}

/// Six or more of one character in a row (`xxxxxx`, `000000`) in a value under 64 bytes.
fn repeated_run(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() < 64 && b.windows(6).any(|w| w.iter().all(|&c| c == w[0]))
}

/// Shannon entropy in bits per byte. (The same estimate as `hush_patterns::shannon_entropy`;
/// this crate may not depend on the engine.)
fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::secret_from_str;

    /// One fake rule: `acme_` followed by 24 lowercase alphanumerics.
    struct Acme;
    impl RuleMatcher for Acme {
        fn has_rule(&self, id: &str) -> bool {
            id == "acme.key"
        }
        fn find(&self, _: &str, v: &[u8]) -> Vec<(String, Range<usize>)> {
            let re = Regex::new(r"acme_[a-z0-9]{24}").unwrap();
            re.find_iter(v)
                .map(|m| ("acme.key".to_owned(), m.range()))
                .collect()
        }
    }

    fn env(pairs: &[(&str, &str)]) -> MemoryStore {
        let mut m = MemoryStore::new();
        for (k, v) in pairs {
            m.insert(k, secret_from_str(v)).unwrap();
        }
        m
    }

    fn kinds(r: &VarReport) -> Vec<ProblemKind> {
        r.problems.iter().map(|p| p.kind.clone()).collect()
    }

    const SPEC: &str = r#"
[[var]]
name = "ACME_KEY"
rule = "acme.key"

[[var]]
name = "DB_URL"
regex = '^postgres://'
min_len = 20

[[var]]
name = "OPTIONAL"
required = false
"#;

    #[test]
    fn spec_checks_presence_rule_regex_and_length() {
        let spec = EnvSpec::parse(SPEC, "spec.toml").unwrap();
        spec.validate_rules(&Acme, "spec.toml").unwrap();
        let good = env(&[
            ("ACME_KEY", "acme_q8w7e6r5t4y3u2i1o9p0a8s7"),
            (
                "DB_URL",
                concat!("postgres://u:", "Zq8vN3kLp0Xw", "@db/app"),
            ),
        ]);
        let r = check(Some(&spec), &good, &Acme);
        assert_eq!(r.count(Severity::Error), 0, "{r:?}");
        assert_eq!(r.vars[0].rules, ["acme.key"]);
        assert_eq!(kinds(&r.vars[2]), [ProblemKind::Missing]);
        assert_eq!(r.vars[2].problems[0].severity, Severity::Note);

        let bad = env(&[("ACME_KEY", "acme_short"), ("DB_URL", "mysql://x")]);
        let r = check(Some(&spec), &bad, &Acme);
        assert!(kinds(&r.vars[0]).contains(&ProblemKind::RuleMismatch {
            rule: "acme.key".into()
        }));
        let db = kinds(&r.vars[1]);
        assert!(db.contains(&ProblemKind::RegexMismatch), "{db:?}");
        assert!(
            db.contains(&ProblemKind::TooShort { len: 9, min: 20 }),
            "{db:?}"
        );
        let r = check(Some(&spec), &MemoryStore::new(), &Acme);
        assert_eq!(r.count(Severity::Error), 2);
    }

    #[test]
    fn heuristics_flag_placeholders_test_and_weak_values() {
        let spec = EnvSpec::parse(
            "[[var]]\nname='A'\n[[var]]\nname='B'\n[[var]]\nname='C'\n[[var]]\nname='D'\n[[var]]\nname='E'\n[[var]]\nname='F'\nallow_test_keys=true\n",
            "s",
        )
        .unwrap();
        let e = env(&[
            ("A", "your_api_key_here"),
            ("B", "AKIAIOSFODNN7EXAMPLE"),
            ("C", concat!("sk_test_", "Zq8vN3kLp0XwR5tY7uI9oP2a")),
            ("D", "hunter2"),
            ("E", "aaaabbbbaaaabbbbaaaabbbb"),
            ("F", concat!("sk_test_", "Zq8vN3kLp0XwR5tY7uI9oP2a")),
        ]);
        let r = check(Some(&spec), &e, &NoRules);
        assert!(kinds(&r.vars[0]).contains(&ProblemKind::Placeholder));
        assert!(kinds(&r.vars[1]).contains(&ProblemKind::ExampleKey));
        assert!(kinds(&r.vars[2]).contains(&ProblemKind::TestKey));
        assert!(kinds(&r.vars[3]).contains(&ProblemKind::WeakValue));
        assert!(matches!(
            kinds(&r.vars[4])[..],
            [ProblemKind::LowEntropy { .. }]
        ));
        assert!(kinds(&r.vars[5]).is_empty(), "{:?}", r.vars[5]);
        assert_eq!(r.count(Severity::Error), 0);
    }

    #[test]
    fn published_documentation_keys_are_recognised() {
        // Split so that scanning this repository stays clean.
        let github_docs = concat!("ghp_16C7e42F292c6912E", "7710c838347Ae178B4a");
        let stripe_docs = concat!("sk_test_4eC39HqLyjW", "DarjtT1zdp7dc");
        assert!(is_documentation_key(github_docs));
        assert!(is_documentation_key(stripe_docs));
        let one_off = format!("{}b", &github_docs[..github_docs.len() - 1]);
        assert!(!is_documentation_key(&one_off));
        let spec = EnvSpec::parse("[[var]]\nname='G'\n", "s").unwrap();
        let r = check(Some(&spec), &env(&[("G", github_docs)]), &NoRules);
        assert_eq!(kinds(&r.vars[0]), [ProblemKind::ExampleKey]);
    }

    #[test]
    fn without_spec_only_values_with_findings_are_checked() {
        let e = env(&[
            ("HOME", "/home/me"),
            ("K", "acme_q8w7e6r5t4y3u2i1o9p0a8s7"),
            ("T", "acme_test_0000"),
        ]);
        let r = check(None, &e, &Acme);
        assert_eq!(r.vars.len(), 1);
        assert_eq!(r.vars[0].name, "K");
        assert!(r.vars[0].problems.is_empty(), "{:?}", r.vars[0]);
    }

    #[test]
    fn spec_errors_name_the_file_and_variable() {
        let e = EnvSpec::parse("[[var]]\nname = 'A'\nbogus = 1\n", "s.toml").unwrap_err();
        assert!(e.to_string().starts_with("s.toml: 3:1: "), "{e}");
        let e = EnvSpec::parse("[[var]]\nname = 'A'\nregex = '('\n", "s.toml").unwrap_err();
        assert!(e.to_string().contains("variable `A`: invalid regex"), "{e}");
        let e = EnvSpec::parse("[[var]]\nname='A'\n[[var]]\nname='A'\n", "s.toml").unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
        let spec = EnvSpec::parse("[[var]]\nname='A'\nrule='nope'\n", "s.toml").unwrap();
        let e = spec.validate_rules(&Acme, "s.toml").unwrap_err();
        assert!(e.to_string().contains("unknown rule `nope`"), "{e}");
    }

    #[test]
    fn problems_never_show_values() {
        let spec = EnvSpec::parse(SPEC, "s").unwrap();
        let e = env(&[("ACME_KEY", "zz-v4lue-zz"), ("DB_URL", "zz-v4lue-zz")]);
        let r = check(Some(&spec), &e, &Acme);
        let text = format!("{r:?}")
            + &r.vars
                .iter()
                .flat_map(|v| &v.problems)
                .map(|p| p.to_string())
                .collect::<String>();
        assert!(!text.contains("v4lue"), "{text}");
    }
}
