//! `hush rules list` and `hush rules check`.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use hush_patterns::{RuleSet, RuleSetBuilder};

use crate::Outcome;

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Print the rule catalogue.
    List(ListArgs),
    /// Verify every example and negative example of the built-in rules, or of FILES.
    ///
    /// With FILES, their rules are loaded on top of the built-in pack (a rule with a built-in id
    /// replaces it) and only theirs are checked. Exits 1 if any example fails.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RuleSource {
    /// Load rules from FILE too (hush or gitleaks format; repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub(crate) rules: Vec<PathBuf>,
    /// Leave out the built-in rule pack.
    #[arg(long)]
    pub(crate) no_builtin: bool,
    /// Disable a rule by id (repeatable).
    #[arg(long, value_name = "ID")]
    pub(crate) disable: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    source: RuleSource,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Rule files to check (default: the built-in pack).
    files: Vec<PathBuf>,
    /// Leave out the built-in rule pack.
    #[arg(long)]
    no_builtin: bool,
}

pub(crate) fn run(cmd: RulesCommand) -> anyhow::Result<Outcome> {
    match cmd {
        RulesCommand::List(args) => list(&args),
        RulesCommand::Check(args) => check(&args),
    }
}

/// Builds the rule set the flags describe, printing import notes to stderr.
pub(crate) fn load(
    builtin: bool,
    files: &[PathBuf],
    disable: &[String],
) -> anyhow::Result<RuleSet> {
    let mut builder = RuleSetBuilder::new();
    builder.builtin(builtin);
    for file in files {
        let notes = builder.add_path(file)?;
        for note in notes {
            eprintln!("hush: note: {note}");
        }
    }
    for id in disable {
        builder.disable(id);
    }
    builder.build().with_context(|| {
        if builtin {
            "cannot build the rule set (if the built-in pack is at fault, `--no-builtin` leaves it out)"
        } else {
            "cannot build the rule set"
        }
    })
}

fn list(args: &ListArgs) -> anyhow::Result<Outcome> {
    let set = load(
        !args.source.no_builtin,
        &args.source.rules,
        &args.source.disable,
    )?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Json => {
            let rules: Vec<serde_json::Value> = set
                .rules()
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id(),
                        "name": r.name(),
                        "regex": r.pattern(),
                        "keywords": r.keywords(),
                        "max_len": r.max_len(),
                        "confirmation": r.confirmation(),
                        "entropy": r.entropy(),
                        "priority": r.priority(),
                        "examples": r.examples().len(),
                        "negative_examples": r.negative_examples().len(),
                        "references": r.references(),
                        "source": r.origin().to_string(),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &rules)?;
            writeln!(out)?;
        }
        Format::Text => {
            let width = set.rules().iter().map(|r| r.id().len()).max().unwrap_or(0);
            for r in set.rules() {
                writeln!(out, "{:width$}  {}", r.id(), r.name())?;
            }
            writeln!(out, "{} rules", set.len())?;
        }
    }
    out.flush()?;
    Ok(Outcome::Clean)
}

fn check(args: &CheckArgs) -> anyhow::Result<Outcome> {
    let set = load(!args.no_builtin, &args.files, &[])?;
    let selected: Option<HashSet<String>> = if args.files.is_empty() {
        None
    } else {
        let only = load(false, &args.files, &[])?;
        Some(only.rules().iter().map(|r| r.id().to_string()).collect())
    };
    let failures = set.check_examples(|id| selected.as_ref().is_none_or(|s| s.contains(id)));
    let checked: Vec<_> = set
        .rules()
        .iter()
        .filter(|r| selected.as_ref().is_none_or(|s| s.contains(r.id())))
        .collect();
    let examples: usize = checked
        .iter()
        .map(|r| r.examples().len() + r.negative_examples().len())
        .sum();
    let mut err = std::io::stderr().lock();
    for f in &failures {
        writeln!(err, "FAIL {f}")?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "checked {} rules, {} examples: {} failed",
        checked.len(),
        examples,
        failures.len()
    )?;
    Ok(if failures.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Failed
    })
}
