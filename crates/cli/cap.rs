//! `hush cap request|delegate|validate|revoke|revoke-agent|list|plan`: capability tokens from
//! the command line, and the capability check `hush mcp --require-capability` plugs into the
//! guard.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hush_capability::{
    resources_in_arguments, Access, Authority, Event, Grant, Limits, LinkId, Operation, Rejection,
    Request, Resource, Scope, Step, Token,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::Outcome;

#[derive(Debug, Args)]
#[command(after_help = "\
Tokens are bearer credentials: whoever holds one can use it. They print on stdout only; pass
them back on stdin (`-`, the default) rather than in argv, where other users can see them.

Grants are `OPS PATTERN`: OPS is a comma list of read, write, delete, list, exec, connect, call
(or `*`); PATTERN is `path:/abs/prefix`, `host:NAME[:PORT]` (`*.example.com`, `*`) or
`tool:SERVER/TOOL` (each a name or a prefix ending in `*`).

When the store holds `ceiling.toml`, requests are checked against it:
  max_ttl_secs = 28800
  max_depth = 2
  agents = [\"claude\"]
  grants = [\"read,list path:/home/me/project\", \"call tool:fs/*\"]")]
pub(crate) struct CapArgs {
    /// The authority's directory: root key, issued tokens, revocations [default:
    /// $XDG_CONFIG_HOME/hush/capabilities, else ~/.config/hush/capabilities].
    #[arg(long, value_name = "DIR", global = true)]
    store: Option<PathBuf>,
    /// Append every capability event to this audit log (redacted, hash-chained).
    #[arg(long, value_name = "LOG", global = true)]
    audit_log: Option<PathBuf>,
    /// Sign the audit log's checkpoints with this key file (see `hush audit keygen`).
    #[arg(long, value_name = "FILE", global = true, requires = "audit_log")]
    audit_key: Option<PathBuf>,
    #[command(subcommand)]
    command: CapCommand,
}

#[derive(Debug, Subcommand)]
enum CapCommand {
    /// Issue a token for an agent (checked against the store's ceiling.toml, if any).
    Request(Box<IssueArgs>),
    /// Attenuate a token for another agent: the child allows what both allow.
    Delegate {
        /// The parent token, or `-` to read it from stdin.
        #[arg(default_value = "-", value_name = "TOKEN")]
        token: String,
        #[command(flatten)]
        issue: Box<IssueArgs>,
    },
    /// Check whether a token allows an operation on resources (exit 0: allowed, 1: not).
    Validate {
        /// The token, or `-` to read it from stdin.
        #[arg(default_value = "-", value_name = "TOKEN")]
        token: String,
        /// The operation (read, write, delete, list, exec, connect, call).
        #[arg(long, value_name = "OP")]
        op: String,
        /// A resource: `/path`, `file:///path`, `https://host/…`, `host:NAME[:PORT]`,
        /// `tool:SERVER/TOOL` (repeatable; each must be allowed).
        #[arg(long = "resource", value_name = "URI", required = true)]
        resources: Vec<String>,
    },
    /// Revoke a token (by id, or the token itself on stdin) and every token derived from it.
    Revoke {
        /// The link id (from `hush cap list`), or `-` to read a token from stdin.
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Revoke every token issued to an agent so far.
    RevokeAgent {
        /// The agent.
        #[arg(value_name = "AGENT")]
        agent: String,
    },
    /// List the tokens this authority issued or delegated, with their status.
    List {
        /// JSON Lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Issue one minimal token per planned step (JSON on stdout).
    Plan {
        /// Who the plan is for.
        #[arg(long, value_name = "NAME")]
        agent: String,
        /// A step, `OP RESOURCE` (`read /home/me/project/a.txt`, `call tool:fs/read_file`;
        /// repeatable, in order).
        #[arg(long = "step", value_name = "STEP", required = true)]
        steps: Vec<String>,
        /// Lifetime of the tokens (`90s`, `15m`, `8h`).
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
}

#[derive(Debug, Args)]
struct IssueArgs {
    /// Who the token is for.
    #[arg(long, value_name = "NAME")]
    agent: String,
    /// A grant, `OPS PATTERN` (repeatable).
    #[arg(long = "grant", value_name = "GRANT", required = true)]
    grants: Vec<String>,
    /// Lifetime (`90s`, `15m`, `8h`); a delegated token never outlives its parent.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
    ttl: Duration,
    /// How many further delegations the token allows.
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_depth: u8,
    /// Print JSON (id, agent, expiry, grants, token) instead of the bare token.
    #[arg(long)]
    json: bool,
}

/// The default store directory.
pub(crate) fn default_store() -> anyhow::Result<PathBuf> {
    Ok(crate::mcp::config_dir("--store DIR")?.join("capabilities"))
}

/// An audit log that capability events go to; errors are kept for the end of the command.
struct AuditLog {
    writer: Mutex<Option<hush_audit::AuditWriter>>,
    error: Mutex<Option<String>>,
}

impl AuditLog {
    fn open(log: &Path, key: Option<&PathBuf>) -> anyhow::Result<Arc<AuditLog>> {
        let key = key
            .map(|k| hush_audit::CheckpointKey::load(k))
            .transpose()?;
        let mut opts = hush_audit::Options::default();
        opts.tool = "hush cap".into();
        let sanitizer = hush_audit::Sanitizer::builtin()
            .context("cannot build the redactor for audit records")?;
        let w = hush_audit::AuditWriter::open(log, sanitizer, key, opts)
            .with_context(|| format!("cannot open the audit log `{}`", log.display()))?;
        Ok(Arc::new(AuditLog {
            writer: Mutex::new(Some(w)),
            error: Mutex::new(None),
        }))
    }

    fn record(&self, e: &Event) {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = w.as_mut() else { return };
        if let Err(err) = w.append(&audit_event(e)) {
            self.error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(err.to_string());
        }
    }

    fn close(&self) -> anyhow::Result<()> {
        if let Some(w) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            w.close()?;
        }
        if let Some(e) = self.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bail!("the audit log lost events: {e}");
        }
        Ok(())
    }
}

/// The audit record of a capability event.
pub(crate) fn audit_event(e: &Event) -> hush_audit::Event {
    hush_audit::Event::Capability {
        action: e.action.as_str().into(),
        token: e.token.clone(),
        agent: e.agent.clone(),
        detail: e.detail.clone(),
    }
}

fn authority(store: &Path, audit: Option<&Arc<AuditLog>>) -> anyhow::Result<Authority> {
    let mut a = Authority::open(store)
        .with_context(|| format!("cannot open the capability store `{}`", store.display()))?;
    let ceiling = store.join("ceiling.toml");
    if ceiling.exists() {
        a = a.with_ceiling(Limits::load(&ceiling)?);
    }
    if let Some(log) = audit {
        let log = log.clone();
        a = a.with_sink(move |e: &Event| log.record(e));
    }
    Ok(a)
}

/// A token from the argument, or from stdin for `-`.
fn read_token(arg: &str) -> anyhow::Result<SecretString> {
    if arg != "-" {
        return Ok(SecretString::from(arg.trim().to_string()));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(hush_capability::MAX_TOKEN_LEN as u64 + 2)
        .read_line(&mut line)
        .context("cannot read the token from stdin")?;
    let token = SecretString::from(line.trim().to_string());
    zeroize::Zeroize::zeroize(&mut line);
    if token.expose_secret().is_empty() {
        bail!("no token on stdin; pipe one in or pass it as an argument");
    }
    Ok(token)
}

fn request_of(a: &IssueArgs) -> anyhow::Result<Request> {
    let mut grants = Vec::new();
    for g in &a.grants {
        grants.push(Grant::parse(g).with_context(|| format!("bad grant `{g}`"))?);
    }
    Ok(Request {
        agent: a.agent.clone(),
        scope: Scope::new(grants),
        ttl: a.ttl,
        max_depth: a.max_depth,
    })
}

fn print_token(t: &Token, json: bool) -> anyhow::Result<()> {
    let text = t.encode();
    let mut out = std::io::stdout().lock();
    if json {
        let e = t.effective()?;
        let v = json!({
            "id": t.id().to_string(),
            "agent": t.leaf().agent,
            "issued": t.leaf().issued,
            "expires": e.expires,
            "max_depth": e.remaining_depth,
            "grants": e.scope.grants().iter().map(Grant::to_string).collect::<Vec<_>>(),
            "token": text.expose_secret(),
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "{}", text.expose_secret())?;
    }
    Ok(())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) fn run(args: CapArgs) -> anyhow::Result<Outcome> {
    let store = match &args.store {
        Some(s) => s.clone(),
        None => default_store()?,
    };
    let audit = args
        .audit_log
        .as_deref()
        .map(|log| AuditLog::open(log, args.audit_key.as_ref()))
        .transpose()?;
    let result = command(&store, audit.as_ref(), args.command);
    if let Some(log) = audit {
        log.close()?;
    }
    result
}

fn command(
    store: &Path,
    audit: Option<&Arc<AuditLog>>,
    cmd: CapCommand,
) -> anyhow::Result<Outcome> {
    let a = authority(store, audit)?;
    match cmd {
        CapCommand::Request(i) => {
            let t = a.request(&request_of(&i)?)?;
            print_token(&t, i.json)?;
        }
        CapCommand::Delegate { token, issue } => {
            let parent = read_token(&token)?;
            let t = a.delegate(parent.expose_secret(), &request_of(&issue)?)?;
            print_token(&t, issue.json)?;
        }
        CapCommand::Validate {
            token,
            op,
            resources,
        } => {
            let token = read_token(&token)?;
            let operation = Operation::parse(&op)?;
            let now = now();
            let mut accesses = Vec::new();
            for r in &resources {
                accesses.push(Access {
                    resource: Resource::parse(r).with_context(|| format!("bad resource `{r}`"))?,
                    operation,
                    now,
                });
            }
            return Ok(match a.validate_all(token.expose_secret(), &accesses) {
                Ok(t) => {
                    println!("allowed: token {} (agent `{}`)", t.id(), t.leaf().agent);
                    Outcome::Clean
                }
                Err(e) => {
                    println!("denied: {e}");
                    Outcome::Failed
                }
            });
        }
        CapCommand::Revoke { id } => {
            let id: LinkId = if id == "-" {
                let t = read_token("-")?;
                Token::parse(t.expose_secret())?.id()
            } else {
                id.parse().map_err(|e: String| anyhow::anyhow!(e))?
            };
            let r = a.revoke(id)?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "revoked {id}{}",
                if r.known {
                    ""
                } else {
                    " (not issued by this store; revoked all the same)"
                }
            )?;
            for c in &r.cascaded {
                writeln!(out, "  and derived token {c}")?;
            }
        }
        CapCommand::RevokeAgent { agent } => {
            let ids = a.revoke_all_for_agent(&agent)?;
            println!(
                "revoked every token of `{agent}` issued until now ({} recorded)",
                ids.len()
            );
        }
        CapCommand::List { json } => list(&a, json)?,
        CapCommand::Plan { agent, steps, ttl } => {
            let mut parsed = Vec::new();
            for s in &steps {
                parsed.push(Step::parse(s).with_context(|| format!("bad step `{s}`"))?);
            }
            let plan = a.request_for_plan(&agent, &parsed, ttl)?;
            let steps: Vec<_> = plan
                .steps
                .iter()
                .map(|(s, t)| {
                    json!({
                        "step": s.to_string(),
                        "id": t.id().to_string(),
                        "expires": t.effective().map_or(0, |e| e.expires),
                        "token": t.encode().expose_secret(),
                    })
                })
                .collect();
            let v = json!({"plan": plan.id.to_string(), "agent": agent, "steps": steps});
            writeln!(std::io::stdout().lock(), "{v}")?;
        }
    }
    Ok(Outcome::Clean)
}

fn list(a: &Authority, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let all = a.list()?;
    if json {
        for l in &all {
            let r = &l.record;
            let v = json!({
                "id": r.id, "parent": r.chain.last(), "chain": r.chain, "agent": r.agent,
                "issuer": r.issuer, "grants": r.grants, "issued": r.issued, "expires": r.expires,
                "max_depth": r.max_depth, "plan": r.plan, "status": l.status.as_str(),
            });
            writeln!(out, "{v}")?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<32}  {:<16}  {:<16}  {:<20}  GRANTS",
        "ID", "AGENT", "STATUS", "EXPIRES"
    )?;
    for l in &all {
        let r = &l.record;
        let expires = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + Duration::from_secs(r.expires),
        );
        writeln!(
            out,
            "{:<32}  {:<16}  {:<16}  {:<20}  {}",
            r.id,
            r.agent,
            l.status.as_str(),
            expires,
            r.grants.join("; ")
        )?;
    }
    Ok(())
}

/// The capability check of `hush mcp`: tokens from `_meta["hush/capability"]`, the tool as
/// `tool:SERVER/TOOL` and every path or URL in the arguments, all with the operation `call`.
pub(crate) struct McpCapabilities {
    authority: Authority,
    server: String,
    base: PathBuf,
    home: Option<PathBuf>,
    required: bool,
}

impl McpCapabilities {
    pub(crate) fn new(
        store: &Path,
        server: String,
        base: PathBuf,
        required: bool,
    ) -> anyhow::Result<McpCapabilities> {
        if !hush_capability::valid_name(&server) || server.contains(['/', '*']) {
            bail!(
                "`{server}` can't name a server in capability patterns; pass `--server-name NAME`"
            );
        }
        let authority = Authority::open(store)
            .with_context(|| format!("cannot open the capability store `{}`", store.display()))?;
        Ok(McpCapabilities {
            authority,
            server,
            base,
            home: std::env::var_os("HOME").map(PathBuf::from),
            required,
        })
    }
}

impl hush_mcp::CapabilityCheck for McpCapabilities {
    fn check(&self, call: &hush_mcp::CapabilityCall<'_>) -> Option<hush_mcp::CapabilityVerdict> {
        use hush_mcp::CapabilityVerdict as V;
        let Some(text) = call.token else {
            return self.required.then(|| {
                V::new(
                    false,
                    None,
                    None,
                    "no capability token, and one is required".into(),
                )
            });
        };
        let who = || match Token::parse(text) {
            Ok(t) => (Some(t.id().to_string()), Some(t.leaf().agent.clone())),
            Err(_) => (None, None),
        };
        let denied = |detail: String| {
            let (id, agent) = who();
            Some(V::new(false, id, agent, detail))
        };
        let now = now();
        let call_on = |resource| Access {
            resource,
            operation: Operation::Call,
            now,
        };
        let tool = format!("tool:{}/{}", self.server, call.tool);
        let mut accesses = match Resource::parse(&tool) {
            Ok(resource) => vec![call_on(resource)],
            Err(e) => return denied(format!("tool name: {e}")),
        };
        match resources_in_arguments(call.arguments, &self.base, self.home.as_deref()) {
            Ok(rs) => accesses.extend(rs.into_iter().map(call_on)),
            Err(e) => return denied(format!("arguments: {e}")),
        }
        match self.authority.validate_all(text, &accesses) {
            Ok(t) => Some(V::new(
                true,
                Some(t.id().to_string()),
                Some(t.leaf().agent.clone()),
                format!(
                    "allows call of {tool} on {} resource(s)",
                    accesses.len() - 1
                ),
            )),
            Err(e @ Rejection::NotAllowed { .. }) => denied(e.to_string()),
            Err(e) => denied(format!("invalid token: {e}")),
        }
    }
}
