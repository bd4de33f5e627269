//! `hush policy check`, `hush policy explain`, `hush policy profiles`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use hush_policy::{canonicalize_request, Context, Decision, Loader, Policy, Request, Right, Tier};

use crate::Outcome;

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Validate a policy and run its `[[tests]]`; exits 1 if a test fails, 2 if it is invalid.
    Check(CheckArgs),
    /// Print the decision for one request, with the rules, reasons and risk behind it.
    ///
    /// Exits 0 when allowed, 1 when denied or when it needs confirmation.
    Explain(Box<ExplainArgs>),
    /// List the built-in profiles, or print one.
    Profiles {
        /// Print this profile's TOML.
        name: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct PolicySource {
    /// The policy file (project tier).
    file: PathBuf,
    /// A system-tier policy: its denies and limits bind FILE.
    #[arg(long, value_name = "FILE")]
    system: Option<PathBuf>,
    /// A user-tier policy: its denies and limits bind FILE.
    #[arg(long, value_name = "FILE")]
    user: Option<PathBuf>,
    /// The directory `${workspace}` stands for [default: the current directory].
    #[arg(long, value_name = "DIR")]
    workspace: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    source: PolicySource,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    source: PolicySource,
    /// The working directory of the request [default: the workspace].
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Ask for this vault entry to be injected (repeatable).
    #[arg(long = "secret", value_name = "NAME")]
    secrets: Vec<String>,
    /// Explain a file access instead of a command.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["connect", "mcp", "command"])]
    path: Option<String>,
    /// The right for `--path`: read, write, create, delete, execute.
    #[arg(long, default_value = "read", requires = "path")]
    right: String,
    /// Explain a network connection (`host:port`).
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["mcp", "command"])]
    connect: Option<String>,
    /// Explain an MCP tool call.
    #[arg(long, num_args = 2, value_names = ["SERVER", "TOOL"], conflicts_with = "command")]
    mcp: Option<Vec<String>>,
    /// The MCP call's arguments (a JSON object).
    #[arg(long = "args", value_name = "JSON", requires = "mcp")]
    mcp_args: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Append the request and the decision to this audit log (redacted, hash-chained).
    #[arg(long, value_name = "LOG")]
    audit: Option<PathBuf>,
    /// Sign the audit log's checkpoints with this key file (see `hush audit keygen`).
    #[arg(long, value_name = "FILE", requires = "audit")]
    audit_key: Option<PathBuf>,
    /// The command and its arguments (after `--`).
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

pub(crate) fn run(cmd: PolicyCommand) -> anyhow::Result<Outcome> {
    match cmd {
        PolicyCommand::Check(a) => check(&a),
        PolicyCommand::Explain(a) => explain(&a),
        PolicyCommand::Profiles { name } => profiles(name.as_deref()),
    }
}

/// The context for the current user: `$HOME`, the temp dir, and the workspace.
pub(crate) fn context(workspace: Option<&PathBuf>) -> anyhow::Result<Context> {
    let ws = match workspace {
        Some(w) => {
            std::fs::canonicalize(w).with_context(|| format!("workspace `{}`", w.display()))?
        }
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|h| h.is_absolute())
        .context("HOME is not set to an absolute path: `~` in policies needs it")?;
    Ok(Context::new(ws, home, std::env::temp_dir()))
}

fn load(src: &PolicySource) -> anyhow::Result<Policy> {
    let ctx = context(src.workspace.as_ref())?;
    let mut l = Loader::new(ctx);
    if let Some(f) = &src.system {
        l.file(Tier::System, f);
    }
    if let Some(f) = &src.user {
        l.file(Tier::User, f);
    }
    l.file(Tier::Project, &src.file);
    Ok(l.load()?)
}

fn check(a: &CheckArgs) -> anyhow::Result<Outcome> {
    let policy = load(&a.source)?;
    let outcomes = policy.run_tests();
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            let tests: Vec<serde_json::Value> = outcomes
                .iter()
                .map(|o| {
                    serde_json::json!({
                        "name": o.name,
                        "location": o.location.to_string(),
                        "passed": o.passed(),
                        "failures": o.failures,
                        "decision": decision_json(&o.decision),
                    })
                })
                .collect();
            let v = serde_json::json!({
                "valid": true,
                "rules": policy.rule_count(),
                "tests": tests,
                "failed": failed,
            });
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        Format::Text => {
            for o in &outcomes {
                if o.passed() {
                    writeln!(out, "PASS {}", o.name)?;
                } else {
                    writeln!(
                        out,
                        "FAIL {} ({}): {}",
                        o.name,
                        o.location,
                        o.failures.join("; ")
                    )?;
                    for r in &o.decision.reasons {
                        writeln!(out, "       reason: {r}")?;
                    }
                }
            }
            writeln!(
                out,
                "policy `{}` is valid: {} rules, {} tests, {} failed",
                a.source.file.display(),
                policy.rule_count(),
                outcomes.len(),
                failed
            )?;
        }
    }
    Ok(if failed == 0 {
        Outcome::Clean
    } else {
        Outcome::Failed
    })
}

fn explain(a: &ExplainArgs) -> anyhow::Result<Outcome> {
    let policy = load(&a.source)?;
    let ctx = policy.context();
    let cwd = match &a.cwd {
        Some(c) => std::path::absolute(c)?,
        None => ctx.workspace().to_path_buf(),
    };
    let cwd = cwd.to_string_lossy().into_owned();
    let request = if let Some(p) = &a.path {
        let right = Right::parse(&a.right).with_context(|| {
            format!(
                "unknown right `{}` (read, write, create, delete, execute)",
                a.right
            )
        })?;
        Request::file(p.clone(), right, cwd)
    } else if let Some(c) = &a.connect {
        let (host, port) = c
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
            .with_context(|| format!("`--connect {c}`: expected `host:port`"))?;
        Request::connect(host, port)
    } else if let Some(m) = &a.mcp {
        let args = match &a.mcp_args {
            Some(j) => serde_json::from_str(j).with_context(|| "`--args` is not valid JSON")?,
            None => serde_json::json!({}),
        };
        Request::tool(m[0].clone(), m[1].clone(), args)
    } else {
        let Some((program, args)) = a.command.split_first() else {
            anyhow::bail!(
                "nothing to explain: give `-- CMD ARGS`, `--path`, `--connect` or `--mcp`"
            );
        };
        Request::exec(program.clone(), args.iter().cloned(), cwd)
            .with_secrets(a.secrets.iter().cloned())
    };
    let request = canonicalize_request(&request);
    let start = std::time::Instant::now();
    let d = policy.evaluate(&request);
    let latency = start.elapsed();
    if let Some(log) = &a.audit {
        let mut w = crate::audit::open_writer(
            log,
            a.audit_key.as_ref(),
            policy.sources(),
            "hush policy explain",
            None,
        )?;
        let id = format!("{}-1", w.session());
        w.append(&crate::audit::request_event(&id, &request))?;
        w.append(&hush_exec::decision_event(
            &id,
            &d,
            crate::audit::nanos(latency),
        ))?;
        w.close()?;
    }
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &decision_json(&d))?;
            writeln!(out)?;
        }
        Format::Text => write_decision(&mut out, &d)?,
    }
    Ok(if d.is_allowed() {
        Outcome::Clean
    } else {
        Outcome::Failed
    })
}

pub(crate) fn decision_json(d: &Decision) -> serde_json::Value {
    serde_json::json!({
        "effect": d.effect.as_str(),
        "reasons": d.reasons,
        "rules": d.rules.iter().map(|r| &**r).collect::<Vec<_>>(),
        "risk": {
            "level": d.risk.level.as_str(),
            "flags": d.risk.flags.iter().map(|f| serde_json::json!({
                "kind": f.kind.as_str(),
                "level": f.level.as_str(),
                "detail": f.detail,
            })).collect::<Vec<_>>(),
        },
        "secrets": d.secrets.iter().map(|s| serde_json::json!({"name": s.name, "env": s.env})).collect::<Vec<_>>(),
    })
}

fn write_decision(out: &mut impl Write, d: &Decision) -> std::io::Result<()> {
    writeln!(out, "decision: {}", d.effect)?;
    writeln!(out, "risk: {}", d.risk.level)?;
    for f in &d.risk.flags {
        writeln!(out, "  - {f}")?;
    }
    if !d.rules.is_empty() {
        let rules: Vec<&str> = d.rules.iter().map(|r| &**r).collect();
        writeln!(out, "rules: {}", rules.join(", "))?;
    }
    writeln!(out, "reasons:")?;
    for r in &d.reasons {
        writeln!(out, "  - {r}")?;
    }
    for s in &d.secrets {
        writeln!(out, "secret: {} <- vault entry `{}`", s.env, s.name)?;
    }
    Ok(())
}

fn profiles(name: Option<&str>) -> anyhow::Result<Outcome> {
    let mut out = std::io::stdout().lock();
    match name {
        None => {
            for n in hush_policy::profile_names() {
                let text = hush_policy::profile_text(n).unwrap_or_default();
                let comment: Vec<&str> = text
                    .lines()
                    .take_while(|l| l.starts_with('#'))
                    .map(|l| l.trim_start_matches('#').trim())
                    .collect();
                let comment = comment.join(" ");
                let summary = comment.split(". ").next().unwrap_or("");
                writeln!(out, "{summary}")?;
            }
        }
        Some(n) => {
            let text = hush_policy::profile_text(n).with_context(|| {
                let names: Vec<&str> = hush_policy::profile_names().collect();
                format!(
                    "unknown profile `{n}` (built-in profiles: {})",
                    names.join(", ")
                )
            })?;
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(Outcome::Clean)
}
