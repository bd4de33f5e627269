//! `hush trust list | revoke | suspend | resume`: the MCP trust file.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use hush_mcp::{TrustStore, Validity};

use crate::Outcome;

#[derive(Debug, Subcommand)]
pub(crate) enum TrustCommand {
    /// Show trusted servers and tools.
    List(ListArgs),
    /// Withdraw trust in a server or one of its tools (kept as revoked, for the record).
    Revoke(TargetArgs),
    /// Deny every call to a server or tool until `hush trust resume`.
    Suspend(TargetArgs),
    /// Lift a suspension.
    Resume(TargetArgs),
}

#[derive(Debug, Args)]
pub(crate) struct FileArg {
    /// The trust file [default: as for `hush mcp`].
    #[arg(long, value_name = "FILE")]
    trust_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    file: FileArg,
    /// Print the trust file as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// The server id (or a unique prefix), as shown by `hush trust list`.
    server: String,
    /// A tool of that server, instead of the whole server.
    #[arg(long, value_name = "NAME")]
    tool: Option<String>,
    #[command(flatten)]
    file: FileArg,
}

fn load(file: &FileArg) -> anyhow::Result<TrustStore> {
    let path = match &file.trust_file {
        Some(p) => p.clone(),
        None => crate::mcp::default_trust_file()?,
    };
    Ok(TrustStore::load(&path)?)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn state(v: &Validity, now: u64) -> String {
    if v.revoked {
        "revoked".into()
    } else if v.expires.is_some_and(|e| now >= e) {
        "expired".into()
    } else if v.suspended {
        "suspended".into()
    } else if let Some(e) = v.expires {
        format!("active, {}d left", (e - now).div_ceil(86_400))
    } else {
        "active".into()
    }
}

fn level_name<T: serde::Serialize>(level: &T) -> String {
    serde_json::to_value(level)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub(crate) fn run(cmd: TrustCommand) -> anyhow::Result<Outcome> {
    let mut out = std::io::stdout().lock();
    let (target, f): (TargetArgs, fn(&mut Validity)) = match cmd {
        TrustCommand::List(args) => {
            let store = load(&args.file)?;
            if args.json {
                serde_json::to_writer_pretty(&mut out, store.file())?;
                writeln!(out)?;
                return Ok(Outcome::Clean);
            }
            let now = now();
            if store.file().servers.is_empty() {
                writeln!(out, "no trusted servers or tools")?;
            }
            for (id, s) in &store.file().servers {
                let level = s
                    .level
                    .map_or("untrusted (default)".into(), |l| level_name(&l));
                writeln!(
                    out,
                    "{id}  {level}  [{}]  {}",
                    state(&s.validity, now),
                    s.command.join(" ")
                )?;
                for (name, t) in &s.tools {
                    let changed = if t.changed_to.is_some() {
                        ", definition changed: untrusted"
                    } else {
                        ""
                    };
                    writeln!(
                        out,
                        "    tool {name}  {}  [{}{changed}]  sha256:{}",
                        level_name(&t.level),
                        state(&t.validity, now),
                        t.hash.get(..12).unwrap_or(&t.hash),
                    )?;
                }
            }
            return Ok(Outcome::Clean);
        }
        TrustCommand::Revoke(t) => (t, |v| v.revoked = true),
        TrustCommand::Suspend(t) => (t, |v| v.suspended = true),
        TrustCommand::Resume(t) => (t, |v| v.suspended = false),
    };
    let mut store = load(&target.file)?;
    let stamp = now();
    let id = store.update(&target.server, target.tool.as_deref(), |v| {
        f(v);
        v.updated = stamp;
    })?;
    store.save()?;
    let what = match &target.tool {
        Some(t) => format!("tool `{t}` of server {id}"),
        None => format!("server {id}"),
    };
    writeln!(
        out,
        "{what}: {}",
        state(
            &{
                let s = &store.file().servers[&id];
                match &target.tool {
                    Some(t) => s.tools[t].validity.clone(),
                    None => s.validity.clone(),
                }
            },
            stamp
        )
    )?;
    Ok(Outcome::Clean)
}
