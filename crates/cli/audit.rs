//! `hush audit keygen|verify|review|stats`, and the records `hush policy explain --audit` writes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use hush_audit::{verify, CheckpointKey, Event, Report, Review, Target};
use hush_policy::{Effect, Metrics, Request, RiskLevel};

use crate::Outcome;

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Create a checkpoint signing key (mode 0600) and print its public key.
    Keygen {
        /// Where to write the key; refuses to overwrite.
        file: PathBuf,
    },
    /// Check a log's hash chain and signed checkpoints; exits 1 naming the first bad record.
    Verify(LogArgs),
    /// The post-session report: denied and confirmed calls, high risk, secrets used, per tool.
    Review(LogArgs),
    /// Decision metrics from a log: effects, rule hits, risk flags, latency.
    Stats(StatsArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StatsFormat {
    Text,
    Json,
    Prometheus,
}

#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// The trusted public key (hex) that signed the checkpoints.
    #[arg(long, value_name = "HEX", conflicts_with = "key")]
    public_key: Option<String>,
    /// Take the trusted public key from this key file.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

impl KeyArgs {
    fn public(&self) -> anyhow::Result<Option<String>> {
        Ok(match (&self.public_key, &self.key) {
            (Some(k), _) => Some(k.clone()),
            (None, Some(f)) => Some(CheckpointKey::load(f)?.public_hex()),
            (None, None) => None,
        })
    }
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// The log (its checkpoints are read from LOG.checkpoints).
    log: PathBuf,
    #[command(flatten)]
    key: KeyArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// The log.
    log: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Text)]
    format: StatsFormat,
}

pub(crate) fn run(cmd: AuditCommand) -> anyhow::Result<Outcome> {
    match cmd {
        AuditCommand::Keygen { file } => {
            let key = CheckpointKey::create(&file)?;
            writeln!(std::io::stdout(), "{}", key.public_hex())?;
            Ok(Outcome::Clean)
        }
        AuditCommand::Verify(a) => {
            let report = verify(&a.log, a.key.public()?.as_deref())?;
            let mut out = std::io::stdout().lock();
            match a.format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &report_json(&report))?;
                    writeln!(out)?;
                }
                Format::Text => writeln!(out, "{}", report_line(&a.log, &report))?,
            }
            Ok(if report.is_ok() {
                Outcome::Clean
            } else {
                Outcome::Failed
            })
        }
        AuditCommand::Review(a) => {
            let report = verify(&a.log, a.key.public()?.as_deref())?;
            let review = Review::from_records(hush_audit::read_records(&a.log)?);
            let mut out = std::io::stdout().lock();
            match a.format {
                Format::Json => {
                    let v =
                        serde_json::json!({ "integrity": report_json(&report), "review": review });
                    serde_json::to_writer_pretty(&mut out, &v)?;
                    writeln!(out)?;
                }
                Format::Text => {
                    writeln!(out, "{}\n", report_line(&a.log, &report))?;
                    out.write_all(review.to_text().as_bytes())?;
                }
            }
            Ok(if report.is_ok() {
                Outcome::Clean
            } else {
                Outcome::Failed
            })
        }
        AuditCommand::Stats(a) => stats(&a),
    }
}

fn report_json(r: &Report) -> serde_json::Value {
    serde_json::json!({
        "ok": r.is_ok(),
        "records": r.records,
        "sessions": r.sessions,
        "checkpoints": r.checkpoints,
        "last_seq": r.last_seq,
        "signed_through": r.signed_through,
        "unsigned_tail": r.unsigned_tail(),
        "key": r.key,
        "anchored": r.anchored,
        "problem": r.problem.as_ref().map(|p| serde_json::json!({
            "kind": p.kind.as_str(),
            "file": if p.in_checkpoints { "checkpoints" } else { "log" },
            "line": p.line,
            "seq": p.seq,
            "message": p.message,
        })),
    })
}

fn report_line(log: &Path, r: &Report) -> String {
    match &r.problem {
        Some(p) => format!("TAMPERED: {}: {p}", log.display()),
        None => {
            let mut s = format!(
                "ok: {}: {} records in {} session(s), {} signed checkpoint(s) through seq {}",
                log.display(),
                r.records,
                r.sessions,
                r.checkpoints,
                r.signed_through
            );
            if r.unsigned_tail() > 0 {
                s.push_str(&format!(
                    "; {} record(s) after the last checkpoint are protected by the hash chain only",
                    r.unsigned_tail()
                ));
            }
            if r.checkpoints == 0 {
                s.push_str("; no checkpoints: truncation of the tail cannot be detected");
            } else if !r.anchored {
                s.push_str(
                    "; key not pinned (pass --public-key or --key to verify against a trusted key)",
                );
            }
            s
        }
    }
}

fn stats(a: &StatsArgs) -> anyhow::Result<Outcome> {
    let metrics = Metrics::new();
    let mut read_error = None;
    for r in hush_audit::read_records(&a.log)? {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        };
        if let Event::Decision {
            effect,
            rules,
            risk,
            flags,
            latency_ns,
            ..
        } = r.event
        {
            let effect = Effect::parse(&effect).unwrap_or(Effect::Deny);
            let level = RiskLevel::parse(&risk).unwrap_or(RiskLevel::Low);
            let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
            let flags: Vec<&str> = flags.iter().map(|f| f.kind.as_str()).collect();
            metrics.record_parts(
                effect,
                level,
                &rules,
                &flags,
                Duration::from_nanos(latency_ns),
            );
        }
    }
    if let Some(e) = &read_error {
        eprintln!("hush: warning: stopped reading at {e} (run `hush audit verify`)");
    }
    let snap = metrics.snapshot();
    let mut out = std::io::stdout().lock();
    match a.format {
        StatsFormat::Prometheus => out.write_all(snap.to_prometheus().as_bytes())?,
        StatsFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &snap)?;
            writeln!(out)?;
        }
        StatsFormat::Text => {
            let d = &snap.decisions;
            writeln!(
                out,
                "decisions: {} (allow {}, confirm {}, deny {})",
                snap.total(),
                d["allow"],
                d["confirm"],
                d["deny"]
            )?;
            let levels: Vec<String> = snap
                .risk_levels
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            writeln!(out, "risk: {}", levels.join(", "))?;
            let q = |p| snap.latency_quantile_ns(p).map_or("-".to_string(), fmt_ns);
            writeln!(out, "latency: p50 <= {}, p99 <= {}", q(0.5), q(0.99))?;
            writeln!(out, "rule hits:")?;
            let mut hits: Vec<_> = snap.rule_hits.iter().collect();
            hits.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (r, n) in hits {
                writeln!(out, "  {n:>8}  {r}")?;
            }
            writeln!(out, "risk flags:")?;
            for (f, n) in &snap.risk_flags {
                writeln!(out, "  {n:>8}  {f}")?;
            }
        }
    }
    Ok(Outcome::Clean)
}

fn fmt_ns(ns: u64) -> String {
    if ns == u64::MAX {
        "+inf".into()
    } else if ns >= 1_000_000 {
        format!("{} ms", ns / 1_000_000)
    } else if ns >= 1_000 {
        format!("{} µs", ns as f64 / 1_000.0)
    } else {
        format!("{ns} ns")
    }
}

/// A duration in nanoseconds, saturating (decision latencies in audit records).
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The audit event for a request.
pub(crate) fn request_event(id: &str, req: &Request) -> Event {
    let (target, cwd) = match req {
        Request::Exec(e) => {
            let mut argv = vec![e.program.clone()];
            argv.extend(e.args.iter().cloned());
            (Target::Command { argv }, Some(e.cwd.clone()))
        }
        Request::File(f) => (
            Target::File {
                path: f.path.clone(),
                right: f.right.to_string(),
            },
            Some(f.cwd.clone()),
        ),
        Request::Connect(c) => (
            Target::Connect {
                address: format!("{}:{}", c.host, c.port),
            },
            None,
        ),
        Request::Tool(t) => (
            Target::Tool {
                server: t.server.clone(),
                tool: t.tool.clone(),
                arguments: t.arguments.clone(),
            },
            None,
        ),
        _ => (
            Target::Command {
                argv: vec![req.label()],
            },
            None,
        ),
    };
    Event::Request {
        id: id.to_string(),
        target,
        cwd,
    }
}

/// Opens an audit log for `tool` (`hush policy explain --audit`, `hush run --audit-log`).
pub(crate) fn open_writer(
    log: &Path,
    key: Option<&PathBuf>,
    policy: &[PathBuf],
    tool: &str,
    rules: Option<std::sync::Arc<hush_patterns::RuleSet>>,
) -> anyhow::Result<hush_audit::AuditWriter> {
    let key = key.map(|k| CheckpointKey::load(k)).transpose()?;
    let mut opts = hush_audit::Options::default();
    opts.tool = tool.into();
    opts.policy = policy.iter().map(|p| p.display().to_string()).collect();
    let sanitizer = match rules {
        Some(r) => hush_audit::Sanitizer::new(r),
        None => hush_audit::Sanitizer::builtin()
            .context("cannot build the redactor for audit records")?,
    };
    Ok(hush_audit::AuditWriter::open(log, sanitizer, key, opts)?)
}
