//! `hush env check`: are the variables a program expects set, well-formed and real?

use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use hush_patterns::RuleSet;
use hush_vault::{EnvSpec, ExposeSecret, MemoryStore, RuleMatcher, SecretString, Severity};
use zeroize::Zeroizing;

use crate::rules::Format;
use crate::Outcome;

#[derive(Debug, Subcommand)]
pub(crate) enum EnvCommand {
    /// Check environment variables against a spec, or every variable holding a detected secret.
    ///
    /// Prints names and problems, never values. Exits 1 on errors (missing required variable,
    /// rule, regex or length mismatch), or on warnings too with `--strict`.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// A TOML spec of expected variables (`[[var]]` tables: name, required, rule, regex,
    /// min_len, allow_test_keys, description).
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Check the secrets stored in the vault instead of the environment.
    #[arg(long)]
    from_vault: bool,
    /// The vault file, with `--from-vault` [default: as for `hush vault`].
    #[arg(long, value_name = "PATH", requires = "from_vault")]
    vault: Option<PathBuf>,
    /// Read the vault passphrase from file descriptor N, with `--from-vault`.
    #[arg(long, value_name = "N", requires = "from_vault")]
    passphrase_fd: Option<u32>,
    /// Exit 1 on warnings too (placeholder, test, example or weak values).
    #[arg(long)]
    strict: bool,
    /// Load rules from FILE too (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// The engine's rules as the vault crate's [`RuleMatcher`]: each value is searched as
/// `NAME=value`, so rules keyed on the variable name fire too.
struct Rules(RuleSet);

impl RuleMatcher for Rules {
    fn has_rule(&self, id: &str) -> bool {
        self.0.rule(id).is_some()
    }

    fn find(&self, name: &str, value: &[u8]) -> Vec<(String, Range<usize>)> {
        let offset = name.len() + 1;
        let mut hay = Zeroizing::new(Vec::with_capacity(offset + value.len()));
        hay.extend_from_slice(name.as_bytes());
        hay.push(b'=');
        hay.extend_from_slice(value);
        self.0
            .find(&hay)
            .into_iter()
            .filter(|f| f.secret_span.start >= offset)
            .map(|f| {
                let span = f.secret_span.start - offset..f.secret_span.end - offset;
                (f.rule_id.to_string(), span)
            })
            .collect()
    }
}

pub(crate) fn run(cmd: EnvCommand) -> anyhow::Result<Outcome> {
    match cmd {
        EnvCommand::Check(args) => check(&args),
    }
}

/// The process environment as a store: variables with valid names and UTF-8, non-empty values.
fn environment() -> MemoryStore {
    let mut env = MemoryStore::new();
    for (name, value) in std::env::vars_os() {
        let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
            continue;
        };
        let _ = env.insert(name, SecretString::from(value.to_owned()));
    }
    env
}

fn from_vault(args: &CheckArgs) -> anyhow::Result<MemoryStore> {
    let ctx = crate::vault::Ctx {
        path: crate::vault::vault_path(args.vault.clone())?,
        passphrase_fd: args.passphrase_fd,
    };
    let vault = crate::vault::unlock(&ctx, false)?;
    let mut store = MemoryStore::new();
    for e in vault.entries() {
        store.insert(
            e.name(),
            SecretString::from(e.value().expose_secret().to_owned()),
        )?;
    }
    Ok(store)
}

fn check(args: &CheckArgs) -> anyhow::Result<Outcome> {
    let rules = Rules(crate::rules::load(true, &args.rules, &[])?);
    let spec = match &args.spec {
        Some(path) => {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the spec `{origin}`"))?;
            let spec = EnvSpec::parse(&text, &origin)?;
            spec.validate_rules(&rules, &origin)?;
            Some(spec)
        }
        None => None,
    };
    let env = if args.from_vault {
        from_vault(args)?
    } else {
        environment()
    };
    let report = hush_vault::check(spec.as_ref(), &env, &rules);
    drop(env);

    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Json => {
            let vars: Vec<serde_json::Value> = report
                .vars
                .iter()
                .map(|v| {
                    serde_json::json!({
                        "name": v.name,
                        "present": v.present,
                        "rules": v.rules,
                        "problems": v.problems.iter().map(|p| serde_json::json!({
                            "severity": severity(p.severity),
                            "message": p.to_string(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let doc = serde_json::json!({"vars": vars, "errors": errors, "warnings": warnings});
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Text => {
            for v in &report.vars {
                let rules = if v.rules.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", v.rules.join(", "))
                };
                if v.problems.is_empty() {
                    writeln!(out, "ok       {}{rules}", v.name)?;
                }
                for p in &v.problems {
                    writeln!(out, "{:8} {}{rules}: {p}", severity(p.severity), v.name)?;
                }
            }
            writeln!(
                out,
                "checked {} variables: {errors} errors, {warnings} warnings",
                report.vars.len()
            )?;
        }
    }
    out.flush()?;
    Ok(if errors > 0 || (args.strict && warnings > 0) {
        Outcome::Failed
    } else {
        Outcome::Clean
    })
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        _ => "note",
    }
}
