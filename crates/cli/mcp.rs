//! `hush mcp [FLAGS] -- SERVER_CMD ARGS`: run an MCP server over stdio behind the guard.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use hush_mcp::{
    AuditEvent, Checker, Decision, PathConfig, Proxy, ProxyConfig, RateConfig, Rules, TrustStore,
    TtyPrompt,
};
use hush_patterns::{KnownValuesBuilder, RuleSet};

use crate::Outcome;

#[derive(Debug, Args)]
#[command(after_help = "\
Put hush in front of the server in the MCP client's configuration:
  \"command\": \"hush\", \"args\": [\"mcp\", \"--allow-root\", \"/home/me/project\", \"--\",
                             \"npx\", \"@modelcontextprotocol/server-filesystem\", \"/home/me/project\"]

The server is spawned directly (no shell) with hush's environment. Tool calls are checked
(traversal, roots, sensitive paths, injection, secrets), rate limited, and confirmed on the
controlling terminal when risky; with no terminal, a confirmation is a denial. Results, errors and
the server's stderr are redacted. Trust answers are kept in the trust file (see `hush trust`).

Declarative policies (`--policy FILE`) and running the server under the OS sandbox arrive with
the policy and exec crates; until then the flags below are the rules.")]
pub(crate) struct McpArgs {
    /// The trust file [default: $XDG_CONFIG_HOME/hush/mcp-trust.json, else
    /// ~/.config/hush/mcp-trust.json].
    #[arg(long, value_name = "FILE")]
    trust_file: Option<PathBuf>,
    /// Hide this tool from `tools/list` and deny its calls (repeatable).
    #[arg(long = "block", value_name = "TOOL")]
    block: Vec<String>,
    /// Ask before every call of this tool (repeatable).
    #[arg(long = "confirm", value_name = "TOOL")]
    confirm: Vec<String>,
    /// Paths in tool arguments must resolve inside one of these (repeatable). Without any, only
    /// traversal and sensitive paths are flagged.
    #[arg(long = "allow-root", value_name = "PATH")]
    allow_root: Vec<PathBuf>,
    /// Redact the value of this environment variable everywhere, in every encoding, and treat it
    /// in tool arguments as exfiltration (repeatable).
    #[arg(long = "values-from-env", value_name = "NAME")]
    values_from_env: Vec<String>,
    /// Calls a minute per tool (also the burst size).
    #[arg(long, value_name = "N", default_value_t = 60)]
    rate_limit: u32,
    /// Calls a minute to the server, all tools together (also the burst size).
    #[arg(long, value_name = "N", default_value_t = 300)]
    server_rate_limit: u32,
    /// Seconds to wait for an answer on the terminal before denying.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    confirm_timeout: u64,
    /// Days an "always" answer lasts (0: until revoked).
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    trust_days: u64,
    /// Append audit events as JSON Lines to this file (created 0600).
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    #[command(flatten)]
    capability: CapabilityArgs,
    /// The server command and its arguments.
    #[arg(required = true, last = true, value_name = "SERVER_CMD")]
    command: Vec<String>,
}

/// The default trust file.
pub(crate) fn default_trust_file() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h).join(".config"),
            None => bail!("neither XDG_CONFIG_HOME nor HOME is set; pass `--trust-file FILE`"),
        },
    };
    Ok(base.join("hush").join("mcp-trust.json"))
}

fn audit_sink(log: Option<PathBuf>) -> anyhow::Result<hush_mcp::AuditSink> {
    let file = match log {
        Some(path) => {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("cannot open audit log `{}`", path.display()))?;
            Some(Mutex::new(f))
        }
        None => None,
    };
    Ok(Box::new(move |e: &AuditEvent| {
        if let Some(f) = &file {
            if let Ok(mut line) = serde_json::to_vec(e) {
                line.push(b'\n');
                let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
                let _ = f.write_all(&line);
            }
        }
        // The client shows the server's stderr in its logs: say what hush did, without details
        // a model could read back.
        let note = match e {
            AuditEvent::ToolCall {
                tool,
                decision: Decision::Denied,
                risk,
                reasons,
                ..
            } => {
                let why: Vec<String> = reasons
                    .iter()
                    .map(|r| {
                        let check = serde_json::to_value(r.check).unwrap_or_default();
                        format!("{} at {}", check.as_str().unwrap_or("?"), r.at)
                    })
                    .collect();
                Some(format!(
                    "denied `{tool}` (risk {}{}{})",
                    risk.as_str(),
                    if why.is_empty() { "" } else { ": " },
                    why.join(", ")
                ))
            }
            AuditEvent::RequestDenied { method, risk, .. } => {
                Some(format!("denied `{method}` (risk {})", risk.as_str()))
            }
            AuditEvent::DefinitionChanged { tool, scope, .. } => Some(format!(
                "the definition of tool `{tool}` changed ({scope}); it is untrusted again"
            )),
            AuditEvent::Anomaly { tool, anomaly, .. } => Some(format!(
                "anomaly `{}` after a call to `{tool}`; later calls are riskier",
                anomaly.as_str()
            )),
            AuditEvent::TrustFileError { error } => Some(format!("warning: {error}")),
            _ => None,
        };
        if let Some(note) = note {
            // Tool names and argument keys come from the model or the server: no control
            // characters reach the log or terminal.
            let note: String = note
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            let _ = writeln!(std::io::stderr(), "hush mcp: {note}");
        }
    }))
}

/// Capability tokens on tool calls (`hush cap`).
#[derive(Debug, Args)]
struct CapabilityArgs {
    /// Deny every tool call that does not carry a valid capability token allowing it, in
    /// `params._meta["hush/capability"]` (the tool as `tool:SERVER/TOOL` and every path or
    /// URL in the arguments, with the operation `call`).
    #[arg(long)]
    require_capability: bool,
    /// Check tokens against this store (see `hush cap --store`); tokens are checked when they
    /// are present even without `--require-capability`.
    #[arg(long, value_name = "DIR")]
    capability_store: Option<PathBuf>,
    /// The server's name in `tool:SERVER/TOOL` patterns [default: from the server command,
    /// e.g. `server-filesystem` for `npx @modelcontextprotocol/server-filesystem`].
    #[arg(long, value_name = "NAME")]
    capability_server: Option<String>,
}

impl CapabilityArgs {
    fn checker(
        self,
        command: &[String],
        base: PathBuf,
    ) -> anyhow::Result<Option<Box<dyn hush_mcp::CapabilityCheck>>> {
        if !self.require_capability && self.capability_store.is_none() {
            return Ok(None);
        }
        let store = match self.capability_store {
            Some(s) => s,
            None => crate::cap::default_store()?,
        };
        let server = self
            .capability_server
            .unwrap_or_else(|| crate::cap::server_name(command));
        Ok(Some(Box::new(crate::cap::McpCapabilities::new(
            &store,
            server,
            base,
            self.require_capability,
        )?)))
    }
}

pub(crate) fn run(args: McpArgs) -> anyhow::Result<Outcome> {
    let rules = Arc::new(RuleSet::builtin().context("loading the built-in rules")?);
    let mut known = KnownValuesBuilder::new();
    for name in &args.values_from_env {
        let Some(value) = std::env::var_os(name) else {
            bail!("environment variable `{name}` is not set; set it or drop `--values-from-env {name}`");
        };
        let bytes = value.into_encoded_bytes();
        known
            .add(name, &bytes)
            .with_context(|| format!("cannot register `{name}`"))?;
        let mut bytes = bytes;
        bytes.fill(0);
    }
    let known = Arc::new(
        known
            .build_for(&rules)
            .context("registering secret values")?,
    );
    let trust_path = match args.trust_file {
        Some(p) => p,
        None => default_trust_file()?,
    };
    let trust = TrustStore::load(&trust_path)?;
    let base = std::env::current_dir().context("cannot read the current directory")?;
    let capability = args.capability.checker(&args.command, base.clone())?;
    let checker = Checker::new(
        rules.clone(),
        known.clone(),
        PathConfig {
            roots: args.allow_root,
            base,
            home: std::env::var_os("HOME").map(PathBuf::from),
        },
    );
    let guard = Rules {
        blocked: args.block,
        confirm: args.confirm,
    };
    let mut config = ProxyConfig::new(args.command.clone(), rules, known, checker, Box::new(guard));
    config.prompt = Box::new(TtyPrompt {
        device: PathBuf::from("/dev/tty"),
        timeout: Duration::from_secs(args.confirm_timeout),
    });
    config.trust = trust;
    config.trust_ttl = (args.trust_days > 0).then(|| Duration::from_secs(args.trust_days * 86_400));
    config.rates = RateConfig {
        per_tool: args.rate_limit,
        per_server: args.server_rate_limit,
    };
    config.audit = audit_sink(args.audit_log)?;
    config.capability = capability;

    let (program, rest) = args
        .command
        .split_first()
        .context("no server command after `--`")?;
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start the server `{program}`"))?;
    let (Some(server_in), Some(server_out), Some(server_err)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        bail!("the server's pipes were not set up");
    };
    let proxy = Arc::new(Proxy::new(config));
    let result = proxy.run(
        std::io::stdin(),
        std::io::stdout(),
        server_in,
        server_out,
        Some((server_err, std::io::stderr())),
    );
    if let Err(e) = result {
        // Fail closed: nothing more passes once a message can't be checked.
        let _ = child.kill();
        let _ = child.wait();
        return Err(e.into());
    }
    let status = child.wait().context("waiting for the server")?;
    Ok(if status.success() {
        Outcome::Clean
    } else {
        Outcome::Failed
    })
}
