//! Import of gitleaks-format configurations (`.gitleaks.toml`).
//!
//! hush honours `[[rules]]` (`id`, `description`, `regex`, `secretGroup`, `entropy`, `keywords`),
//! rule and global allowlists (`regexes`, `stopwords`, `regexTarget`, `targetRules`). Whatever it
//! cannot honour exactly is returned as an [`ImportNote`] instead of being silently dropped.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Spanned, Table, Value};

use crate::error::{Error, Origin, Result};
use crate::rule::{self, AllowTarget, RuleSpec, DEFAULT_PRIORITY, MIN_KEYWORD_LEN};

/// The match-length cap given to imported rules whose regex is unbounded.
pub const GITLEAKS_DEFAULT_MAX_LEN: usize = 4096;

/// Something in a gitleaks configuration that hush does not honour exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportNote {
    /// The configuration file.
    pub file: PathBuf,
    /// The rule concerned, if any.
    pub rule_id: Option<String>,
    /// What hush does instead.
    pub message: String,
    /// True for the `paths` of a global allowlist that applies to every rule unconditionally:
    /// the rule engine cannot honour them (it searches streams), but a file scanner can, and
    /// then need not show the note.
    pub global_paths: bool,
}

impl std::fmt::Display for ImportNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule_id {
            Some(id) => write!(f, "{}: rule `{id}`: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

#[derive(Deserialize)]
struct SpannedRules {
    #[serde(default)]
    rules: Vec<Spanned<Table>>,
}

/// Heuristic: does this TOML text use gitleaks keys rather than hush's?
pub(crate) fn looks_like_gitleaks(text: &str) -> bool {
    let Ok(table) = text.parse::<Table>() else {
        return false;
    };
    if ["title", "extend", "allowlist", "allowlists"]
        .iter()
        .any(|k| table.contains_key(*k))
    {
        return true;
    }
    let Some(Value::Array(rules)) = table.get("rules") else {
        return false;
    };
    rules.iter().any(|r| {
        r.as_table().is_some_and(|t| {
            [
                "description",
                "secretGroup",
                "allowlist",
                "allowlists",
                "tags",
                "path",
            ]
            .iter()
            .any(|k| t.contains_key(*k))
                || !t.contains_key("name")
        })
    })
}

struct Ctx<'a> {
    file: &'a Path,
    notes: Vec<ImportNote>,
}

impl Ctx<'_> {
    fn note(&mut self, rule_id: Option<&str>, message: impl Into<String>) {
        self.notes.push(ImportNote {
            file: self.file.to_path_buf(),
            rule_id: rule_id.map(str::to_string),
            message: message.into(),
            global_paths: false,
        });
    }
}

fn bad(file: &Path, line: usize, rule_id: &str, reason: impl Into<String>) -> Error {
    Error::Rule {
        origin: Origin {
            file: file.to_path_buf(),
            line,
        },
        rule_id: rule_id.to_string(),
        reason: reason.into(),
    }
}

fn strings(
    v: Option<&Value>,
    file: &Path,
    line: usize,
    id: &str,
    key: &str,
) -> Result<Vec<String>> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_string).ok_or_else(|| {
                    bad(
                        file,
                        line,
                        id,
                        format!("`{key}` must be an array of strings"),
                    )
                })
            })
            .collect(),
        Some(_) => Err(bad(
            file,
            line,
            id,
            format!("`{key}` must be an array of strings"),
        )),
    }
}

/// One parsed allowlist: target, regexes, stopwords, and the rules it is limited to.
type ParsedAllow = (AllowTarget, Vec<String>, Vec<String>, Vec<String>);

fn allowlist(ctx: &mut Ctx<'_>, t: &Table, line: usize, id: Option<&str>) -> Result<ParsedAllow> {
    let who = id.unwrap_or("<global allowlist>");
    let target = match t.get("regexTarget").and_then(Value::as_str) {
        None | Some("secret") => AllowTarget::Secret,
        Some("match") => AllowTarget::Match,
        Some("line") => AllowTarget::Line,
        Some(other) => {
            return Err(bad(
                ctx.file,
                line,
                who,
                format!("unknown `regexTarget = \"{other}\"`; use `secret`, `match` or `line`"),
            ))
        }
    };
    let regexes = strings(t.get("regexes"), ctx.file, line, who, "regexes")?;
    let stopwords = strings(t.get("stopwords"), ctx.file, line, who, "stopwords")?;
    let targets = strings(t.get("targetRules"), ctx.file, line, who, "targetRules")?;
    let and = t.get("condition").and_then(Value::as_str) == Some("AND");
    for key in ["paths", "commits"] {
        if t.get(key)
            .is_some_and(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        {
            if and {
                ctx.note(id, format!("allowlist `{key}` with `condition = \"AND\"` cannot be checked on a stream; the allowlist's regexes and stopwords apply without it"));
            } else {
                ctx.note(id, format!("allowlist `{key}` are not honoured (hush searches streams without paths or commits); use `.hushignore` or a baseline for them"));
                if let Some(n) = ctx.notes.last_mut() {
                    n.global_paths = key == "paths" && id.is_none() && targets.is_empty();
                }
            }
        }
    }
    for key in t.keys() {
        if ![
            "description",
            "condition",
            "regexTarget",
            "regexes",
            "stopwords",
            "paths",
            "commits",
            "targetRules",
        ]
        .contains(&key.as_str())
        {
            ctx.note(id, format!("unknown allowlist key `{key}` ignored"));
        }
    }
    Ok((target, regexes, stopwords, targets))
}

fn sub_allowlists(
    ctx: &mut Ctx<'_>,
    t: &Table,
    single: &str,
    many: &str,
    line: usize,
    id: Option<&str>,
) -> Result<Vec<ParsedAllow>> {
    let who = id.unwrap_or("<config>");
    // `allowlist` is one table, `allowlists` an array of them: gather both, then parse each.
    let mut tables: Vec<&Table> = Vec::new();
    if let Some(v) = t.get(single) {
        tables.push(
            v.as_table()
                .ok_or_else(|| bad(ctx.file, line, who, format!("`{single}` must be a table")))?,
        );
    }
    if let Some(v) = t.get(many) {
        let not_tables = || {
            bad(
                ctx.file,
                line,
                who,
                format!("`{many}` must be an array of tables"),
            )
        };
        for item in v.as_array().ok_or_else(not_tables)? {
            tables.push(item.as_table().ok_or_else(not_tables)?);
        }
    }
    let mut out = Vec::with_capacity(tables.len());
    for tab in tables {
        out.push(allowlist(ctx, tab, line, id)?);
    }
    Ok(out)
}

/// Parses a gitleaks configuration into rule specs plus notes on what is not honoured.
pub(crate) fn parse(file: &Path, text: &str) -> Result<(Vec<RuleSpec>, Vec<ImportNote>)> {
    let table: Table = toml::from_str(text).map_err(|e| rule::syntax_error(file, text, &e))?;
    let spanned: SpannedRules =
        toml::from_str(text).map_err(|e| rule::syntax_error(file, text, &e))?;
    let mut ctx = Ctx {
        file,
        notes: Vec::new(),
    };
    for key in table.keys() {
        if ![
            "title",
            "description",
            "extend",
            "allowlist",
            "allowlists",
            "rules",
            "minVersion",
        ]
        .contains(&key.as_str())
        {
            ctx.note(None, format!("unknown top-level key `{key}` ignored"));
        }
    }
    if let Some(ext) = table.get("extend").and_then(Value::as_table) {
        if ext.get("useDefault").and_then(Value::as_bool) == Some(true) {
            ctx.note(None, "`[extend] useDefault = true`: the gitleaks default rules are replaced by hush's built-in pack");
        }
        if let Some(p) = ext.get("path").and_then(Value::as_str) {
            ctx.note(None, format!("`[extend] path = \"{p}\"` is not followed; load that file with another `--rules`"));
        }
        if let Some(Value::Array(ids)) = ext.get("disabledRules") {
            if !ids.is_empty() {
                ctx.note(None, "`[extend] disabledRules` names gitleaks rules, which hush does not have; disable hush rules by id with `--disable`");
            }
        }
    } else if table.contains_key("rules") {
        ctx.note(None, "this configuration does not extend the gitleaks defaults; hush still runs its built-in rules unless told `--no-builtin`");
    }
    let global = sub_allowlists(&mut ctx, &table, "allowlist", "allowlists", 0, None)?;
    let mut specs = Vec::new();
    let mut keyworded = 0;
    for r in spanned.rules {
        let line = rule::line_of(text, r.span().start);
        let t = r.into_inner();
        let raw_id = t
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if raw_id.is_empty() {
            return Err(bad(file, line, "<missing id>", "every rule needs an `id`"));
        }
        let id: String = raw_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        if id != raw_id {
            ctx.note(
                Some(&raw_id),
                format!("rule id renamed to `{id}` (hush ids are lowercase ASCII)"),
            );
        }
        for key in t.keys() {
            if ![
                "id",
                "description",
                "regex",
                "secretGroup",
                "entropy",
                "keywords",
                "path",
                "tags",
                "allowlist",
                "allowlists",
                "report",
                "skipReport",
            ]
            .contains(&key.as_str())
            {
                ctx.note(Some(&id), format!("unknown rule key `{key}` ignored"));
            }
        }
        let Some(regex) = t.get("regex").and_then(Value::as_str) else {
            ctx.note(
                Some(&id),
                "rule has no `regex` (a path-only rule); skipped, since hush matches content",
            );
            continue;
        };
        if t.contains_key("path") {
            ctx.note(
                Some(&id),
                "`path` is not honoured: the rule applies to every input",
            );
        }
        let secret_group = match t.get("secretGroup") {
            None => None,
            Some(Value::Integer(g)) if *g >= 0 => Some(*g as usize),
            Some(_) => {
                return Err(bad(
                    file,
                    line,
                    &id,
                    "`secretGroup` must be a non-negative integer",
                ))
            }
        };
        let entropy = match t.get("entropy") {
            None => None,
            Some(Value::Float(e)) => Some(*e),
            Some(Value::Integer(e)) => Some(*e as f64),
            Some(_) => return Err(bad(file, line, &id, "`entropy` must be a number")),
        };
        let mut keywords = Vec::new();
        for k in strings(t.get("keywords"), file, line, &id, "keywords")? {
            if k.len() < MIN_KEYWORD_LEN {
                ctx.note(
                    Some(&id),
                    format!("keyword `{k}` is shorter than {MIN_KEYWORD_LEN} bytes and is dropped"),
                );
            } else {
                keywords.push(k.to_ascii_lowercase());
            }
        }
        if keywords.is_empty() {
            ctx.note(
                Some(&id),
                "rule has no usable keyword; it runs on every input (slower)",
            );
        } else {
            keyworded += 1;
        }
        let bounded = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(regex)
            .ok()
            .and_then(|h| h.properties().maximum_len());
        let max_len = if bounded.is_none() {
            ctx.note(Some(&id), format!("regex is unbounded; matches longer than {GITLEAKS_DEFAULT_MAX_LEN} bytes are not reported"));
            Some(GITLEAKS_DEFAULT_MAX_LEN)
        } else {
            None
        };
        let mut allows: Vec<(AllowTarget, Vec<String>, Vec<String>)> = Vec::new();
        for (target, regexes, stopwords, _) in
            sub_allowlists(&mut ctx, &t, "allowlist", "allowlists", line, Some(&id))?
        {
            allows.push((target, regexes, stopwords));
        }
        for (target, regexes, stopwords, targets) in &global {
            if targets.is_empty() || targets.iter().any(|x| *x == raw_id || *x == id) {
                allows.push((*target, regexes.clone(), stopwords.clone()));
            }
        }
        specs.push(RuleSpec {
            name: t
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or(&id)
                .to_string(),
            id,
            regex: regex.to_string(),
            secret_group,
            keywords,
            max_len,
            entropy,
            allows,
            priority: DEFAULT_PRIORITY,
            keyword_in_match: false,
            examples: Vec::new(),
            negative_examples: Vec::new(),
            references: Vec::new(),
            origin: Origin {
                file: file.to_path_buf(),
                line,
            },
            compiled: None,
        });
    }
    if keyworded > 0 {
        ctx.note(None, format!("{keyworded} rule(s) with keywords: a keyword must occur within the rule's maximum match length of a match, not merely anywhere in the file"));
    }
    if !global.is_empty() {
        ctx.note(
            None,
            "global allowlists apply to this file's rules only, not to hush's built-in rules",
        );
    }
    Ok((specs, ctx.notes))
}
