//! `hush mcp [FLAGS] -- SERVER_CMD ARGS`: run an MCP server over stdio, under the sandbox,
//! behind the guard.
//!
//! Glue only: flags (or a policy) become a `SandboxSpec`, a `Guard` and a `ProxyConfig`;
//! `hush_exec` starts the server (`Sandbox::spawn_piped`) and `hush_mcp::Proxy` runs between
//! its pipes and ours. Audit events go to a hush-audit log (`mcp_audit.rs`).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use hush_exec::{Level, Sandbox, SandboxSpec, SecretSource, Status, Stdin};
use hush_mcp::{
    server_id, Checker, Guard, PathConfig, PolicyGuard, Proxy, ProxyConfig, RateConfig, Rules,
    ServerLevel, TrustStore, TtyPrompt,
};
use hush_patterns::{KnownValuesBuilder, RuleSet};
use hush_policy::{Effect, Loader, PolicyHandle, ReloadEvent, Request, Tier};
use secrecy::{ExposeSecret, SecretString};

use crate::mcp_audit::McpAudit;
use crate::run::NetworkArg;
use crate::Outcome;

#[derive(Debug, Args)]
#[command(after_help = "\
Put hush in front of the server in the MCP client's configuration:
  \"command\": \"hush\", \"args\": [\"mcp\", \"--policy\", \"/home/me/agent.toml\", \"--\",
                             \"npx\", \"@modelcontextprotocol/server-filesystem\", \"/home/me/project\"]

The server runs in the sandbox (as `hush run` runs a command): an empty environment plus the
variables allowed, its filesystem limited to system directories and the paths allowed, no network
unless allowed. With --policy, the policy says all of it: which tool calls are allowed, confirmed
or denied (`[[mcp]]` rules, server named by --server-name), the sandbox, the environment and the
secrets the server receives from the vault; the server command itself must be allowed by the
policy's command rules. Without a policy, the flags below are the rules.

Tool calls are checked (traversal, roots, sensitive paths, injection, secrets), rate limited, and
confirmed on the controlling terminal when the policy or the risk says so; with no terminal, a
confirmation is a denial. Results, errors and the server's stderr are redacted. Trust answers are
kept in the trust file (see `hush trust`); a server trusted as `sandboxed` always runs at the
strongest sandbox level the machine offers and is refused below `strict`.

Exit status: the server's own; 126 when the policy denies the server command or the sandbox
level is not reached; 127 when the server is not found; 2 when hush itself failed.")]
pub(crate) struct McpArgs {
    /// The trust file [default: $XDG_CONFIG_HOME/hush/mcp-trust.json, else
    /// ~/.config/hush/mcp-trust.json].
    #[arg(long, value_name = "FILE")]
    trust_file: Option<PathBuf>,
    /// Hide this tool from `tools/list` and deny its calls (repeatable; without --policy).
    #[arg(long = "block", value_name = "TOOL", conflicts_with = "policy")]
    block: Vec<String>,
    /// Ask before every call of this tool (repeatable; without --policy).
    #[arg(long = "confirm", value_name = "TOOL", conflicts_with = "policy")]
    confirm: Vec<String>,
    /// Paths in tool arguments must resolve inside one of these (repeatable). Without any, only
    /// traversal and sensitive paths are flagged.
    #[arg(long = "allow-root", value_name = "PATH")]
    allow_root: Vec<PathBuf>,
    /// Redact the value of this environment variable everywhere, in every encoding, and treat it
    /// in tool arguments as exfiltration (repeatable; the server does not receive it).
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
    /// Append every tool call, decision, confirmation and redaction to this hash-chained audit
    /// log (redacted; `hush audit review FILE`, `hush audit verify FILE`).
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Sign the audit log's checkpoints with this key file (see `hush audit keygen`).
    #[arg(long, value_name = "FILE", requires = "audit_log")]
    audit_key: Option<PathBuf>,

    /// The policy: tool rules for the guard, and the sandbox, environment and secrets for the
    /// server.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Reload the policy when its files change (an invalid edit keeps the last good policy).
    #[arg(long, requires = "policy")]
    watch_policy: bool,
    /// The server's name in the policy's `[[mcp]]` rules and in capability patterns
    /// (`tool:NAME/TOOL`) [default: from the command:
    /// `@scope/server-NAME`, `mcp-server-NAME` and `NAME-mcp` give NAME].
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,

    /// Refuse to start the server unless the sandbox reaches LEVEL: basic, landlock, strict or
    /// isolated.
    #[arg(long, value_name = "LEVEL")]
    require_sandbox: Option<Level>,
    /// Let the server read PATH and everything beneath it (repeatable; without --policy).
    #[arg(long, value_name = "PATH", conflicts_with = "policy")]
    allow_read: Vec<PathBuf>,
    /// Let the server read, write, create and delete under PATH (repeatable; without --policy).
    #[arg(long, value_name = "PATH", conflicts_with = "policy")]
    allow_write: Vec<PathBuf>,
    /// Let the server read and execute PATH and everything beneath it (repeatable; without
    /// --policy).
    #[arg(long, value_name = "PATH", conflicts_with = "policy")]
    allow_exec: Vec<PathBuf>,
    /// The server's network access: off (no sockets but unix ones) or on (without --policy).
    #[arg(long, value_enum, default_value_t = NetworkArg::Off, conflicts_with = "policy")]
    network: NetworkArg,
    /// Let the server reach HOST[:PORT] over HTTP(S) through hush's proxy (repeatable; replaces
    /// --network; without --policy): `api.example.com:443`, `*.example.com`, `localhost:3000`.
    #[arg(long, value_name = "HOST[:PORT]", conflicts_with_all = ["network", "policy"])]
    allow_host: Vec<hush_exec::HostPort>,
    /// Pass the environment variable NAME to the server (repeatable; everything else is
    /// dropped; with --policy, its `[environment]` decides).
    #[arg(long = "env", value_name = "NAME", conflicts_with = "policy")]
    env: Vec<String>,
    /// Pass NAME like --env, and redact its value everywhere (repeatable; with --policy, its
    /// `[[secrets]]` grants come from the vault).
    #[arg(long = "secret-env", value_name = "NAME", conflicts_with = "policy")]
    secret_env: Vec<String>,
    /// The vault granted secrets come from [default: $HUSH_VAULT, else
    /// $XDG_DATA_HOME/hush/vault].
    #[arg(long, value_name = "PATH", requires = "policy")]
    vault: Option<PathBuf>,
    /// Read the vault passphrase from file descriptor N (up to the first newline).
    #[arg(long, value_name = "N", requires = "policy")]
    passphrase_fd: Option<u32>,
    /// Do not enter user, PID and network namespaces (ignored for `sandboxed` servers).
    #[arg(long)]
    no_namespaces: bool,
    #[command(flatten)]
    capability: CapabilityArgs,
    /// The server command and its arguments.
    #[arg(required = true, last = true, value_name = "SERVER_CMD")]
    command: Vec<String>,
}

/// `$XDG_CONFIG_HOME/hush`, else `~/.config/hush`; `flag` is named when neither is set.
pub(crate) fn config_dir(flag: &str) -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h).join(".config"),
            None => bail!("neither XDG_CONFIG_HOME nor HOME is set; pass `{flag}`"),
        },
    };
    Ok(base.join("hush"))
}

/// The default trust file.
pub(crate) fn default_trust_file() -> anyhow::Result<PathBuf> {
    Ok(config_dir("--trust-file FILE")?.join("mcp-trust.json"))
}

/// The server's name in a policy, from its command line: the package or program name without
/// runner and `server-`/`mcp-server-`/`-mcp` decorations. A script path names its package
/// (`node_modules/@scope/server-x/dist/index.js` → `x`) or, failing that, its directory.
fn derive_server_name(command: &[String]) -> String {
    const RUNNERS: &[&str] = &[
        "npx", "node", "uvx", "uv", "python", "python3", "pipx", "deno", "bun", "bunx", "run",
        "-m", "-y", "--yes",
    ];
    const GENERIC: &[&str] = &[
        "index.js",
        "index.mjs",
        "index.cjs",
        "index.ts",
        "main.js",
        "server.js",
        "main.py",
        "server.py",
        "__main__.py",
        "dist",
        "build",
        "lib",
        "src",
        "bin",
        "out",
    ];
    let strip_version = |s: &str| s.split('@').next().unwrap_or(s).to_string();
    let name_of = |arg: &str| -> String {
        if let Some(scoped) = arg.strip_prefix('@') {
            // `@scope/server-x@1.2` → `server-x`.
            let rest = scoped.split_once('/').map_or(scoped, |(_, rest)| rest);
            return strip_version(rest);
        }
        if !arg.contains('/') {
            return strip_version(arg);
        }
        let parts: Vec<&str> = arg.split('/').filter(|p| !p.is_empty()).collect();
        if let Some(i) = parts.iter().rposition(|p| *p == "node_modules") {
            match parts.get(i + 1) {
                Some(scope) if scope.starts_with('@') => {
                    return parts.get(i + 2).map_or(String::new(), |p| p.to_string())
                }
                Some(p) => return p.to_string(),
                None => {}
            }
        }
        parts
            .iter()
            .rev()
            .find(|p| !GENERIC.contains(p))
            .map_or(String::new(), |p| p.to_string())
    };
    let name = command
        .iter()
        .filter(|a| !a.starts_with('-') && !RUNNERS.contains(&a.rsplit('/').next().unwrap_or(a)))
        .map(|a| name_of(a))
        .find(|n| !n.is_empty())
        .unwrap_or_else(|| command.first().map(|c| name_of(c)).unwrap_or_default());
    let name = [".py", ".js", ".mjs", ".cjs", ".ts"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(&name)
        .to_string();
    let name = name
        .strip_prefix("mcp-server-")
        .or_else(|| name.strip_prefix("server-"))
        .or_else(|| name.strip_suffix("-mcp-server"))
        .or_else(|| name.strip_suffix("-mcp"))
        .unwrap_or(&name);
    name.to_string()
}

fn load_policy(file: &Path, watch: bool) -> anyhow::Result<Arc<PolicyHandle>> {
    let ctx = crate::policy::context(None)?;
    let mut loader = Loader::new(ctx);
    loader.file(Tier::Project, file);
    let handle = PolicyHandle::new(loader)
        .with_context(|| format!("cannot load the policy `{}`", file.display()))?;
    if watch {
        handle
            .watch()
            .with_context(|| format!("cannot watch the policy `{}`", file.display()))?;
    }
    Ok(Arc::new(handle))
}

/// A refusal before anything runs: the message, exit 126.
fn refuse(message: &str, audit: &McpAudit) -> Outcome {
    audit.note(None, message);
    let _ = writeln!(std::io::stderr(), "hush mcp: error: {message}");
    Outcome::Exit(126)
}

/// `program` as given when it holds a `/`, else its first match in `$PATH` (as the sandbox
/// will find it), for the policy's command rules.
fn resolve_program(program: &str) -> String {
    if program.contains('/') {
        return program.to_string();
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(program))
                .find(|c| c.is_file())
        })
        .map_or_else(|| program.to_string(), |p| p.display().to_string())
}

/// What the policy gives the server: its sandbox, the variables of ours it may see and the
/// secrets it is granted (from the vault). `Err(Outcome)` when the policy refuses the server.
struct Granted {
    spec: SandboxSpec,
    env: Vec<(OsString, OsString)>,
    secrets: Vec<(String, String, SecretString)>,
}

fn from_policy(
    args: &McpArgs,
    policy: &PolicyHandle,
    audit: &McpAudit,
) -> anyhow::Result<Result<Granted, Outcome>> {
    let (program, rest) = args
        .command
        .split_first()
        .context("no server command after `--`")?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let current = policy.current();
    let request = hush_policy::canonicalize_request(&Request::exec(
        resolve_program(program),
        rest.iter().cloned(),
        cwd.to_string_lossy(),
    ));
    let started = std::time::Instant::now();
    let d = policy.evaluate(&request);
    audit.server_request(&request, &d, started.elapsed());
    if d.effect != Effect::Allow {
        let why = d.reasons.join("; ");
        let what = if d.effect == Effect::Confirm {
            "needs a confirmation, which hush mcp cannot ask for before the client connects: \
             allow it in the policy"
        } else {
            "is denied by the policy: allow it with a `[[commands]]` rule"
        };
        let message = format!("the server command `{program}` {what} ({why})");
        return Ok(Err(refuse(&message, audit)));
    }
    let mut secrets = Vec::new();
    if !d.secrets.is_empty() {
        let ctx = crate::vault::Ctx {
            path: crate::vault::vault_path(args.vault.clone())?,
            passphrase_fd: args.passphrase_fd,
        };
        let vault = crate::vault::unlock(&ctx, false)?;
        for g in &d.secrets {
            let Some(value) = SecretSource::secret(&vault, &g.name) else {
                let message = format!(
                    "secret `{}` (granted as `{}`) is not in the vault: add it with \
                     `hush vault set {}` or remove the grant from the policy",
                    g.name, g.env, g.name
                );
                return Ok(Err(refuse(&message, audit)));
            };
            secrets.push((g.name.clone(), g.env.clone(), value));
        }
    }
    let (spec, notes) = hush_exec::policy_spec(&current)?;
    for n in &notes {
        audit.note(Some("server"), n);
    }
    let env = std::env::vars_os()
        .filter(|(k, _)| {
            let name = k.to_string_lossy();
            current.env_allowed(&name) && !secrets.iter().any(|(_, e, _)| *e == name)
        })
        .collect();
    Ok(Ok(Granted { spec, env, secrets }))
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
}

impl CapabilityArgs {
    /// The check, for the server called `server` (`--server-name`) in `tool:SERVER/TOOL`.
    fn checker(
        self,
        server: String,
        base: PathBuf,
    ) -> anyhow::Result<Option<Box<dyn hush_mcp::CapabilityCheck>>> {
        if !self.require_capability && self.capability_store.is_none() {
            return Ok(None);
        }
        let store = match self.capability_store {
            Some(s) => s,
            None => crate::cap::default_store()?,
        };
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
    let trust_path = match &args.trust_file {
        Some(p) => p.clone(),
        None => default_trust_file()?,
    };
    let trust = TrustStore::load(&trust_path)?;
    let id = server_id(&args.command);
    let server_name = args
        .server_name
        .clone()
        .unwrap_or_else(|| derive_server_name(&args.command));
    let policy = args
        .policy
        .as_deref()
        .map(|p| load_policy(p, args.watch_policy))
        .transpose()?;
    // A level the policy pins wins over the trust file's.
    let level = policy
        .as_ref()
        .and_then(|p| PolicyGuard::new(p.clone(), server_name.clone()).pinned_server_level())
        .unwrap_or_else(|| trust.effective(&id, "", None, unix_now()).server);
    let sources = policy
        .as_ref()
        .map(|p| p.current().sources().to_vec())
        .unwrap_or_default();
    let audit = McpAudit::open(
        args.audit_log.as_deref(),
        args.audit_key.as_ref(),
        &sources,
        server_name.clone(),
        rules.clone(),
    )?;
    if let (Some(p), true) = (&policy, args.watch_policy) {
        let audit = audit.clone();
        p.on_reload(move |e| {
            let line = match e {
                ReloadEvent::Reloaded { generation } => {
                    format!("policy reloaded (generation {generation})")
                }
                ReloadEvent::Rejected { error } => {
                    format!("policy edit refused, the last good policy stays: {error}")
                }
                _ => return,
            };
            audit.note(None, &line);
            let _ = writeln!(std::io::stderr(), "hush mcp: {line}");
        });
    }

    let granted = match &policy {
        Some(p) => match from_policy(&args, p, &audit)? {
            Ok(g) => g,
            Err(refused) => {
                audit.close();
                return Ok(refused);
            }
        },
        None => {
            let (env, secrets) = crate::run::flags_env(&args.env, &args.secret_env)?;
            let secrets = secrets
                .into_iter()
                .map(|(name, value)| (name.clone(), name, value))
                .collect();
            let spec = crate::run::flags_spec(
                &args.allow_read,
                &args.allow_exec,
                &args.allow_write,
                &args.allow_host,
                args.network,
            )?;
            Granted { spec, env, secrets }
        }
    };
    let Granted {
        mut spec,
        env,
        secrets,
    } = granted;
    spec.stdin = Stdin::Closed;
    spec.namespaces = !args.no_namespaces;
    spec.require = args.require_sandbox;
    if level == ServerLevel::Sandboxed {
        // The strongest the machine offers, and never below strict.
        spec.namespaces = true;
        spec.require = Some(spec.require.map_or(Level::Strict, |r| r.max(Level::Strict)));
    }

    // Every value the server may echo is known to the proxy's redactor and to the audit log
    // before the server starts.
    let mut known = KnownValuesBuilder::new();
    for name in &args.values_from_env {
        let Some(value) = std::env::var_os(name) else {
            bail!("environment variable `{name}` is not set; set it or drop `--values-from-env {name}`");
        };
        let mut bytes = value.into_encoded_bytes();
        known
            .add(name, &bytes)
            .with_context(|| format!("cannot register `{name}`"))?;
        audit.add_known(name, &bytes)?;
        bytes.fill(0);
    }
    for (name, env, value) in &secrets {
        let bytes = value.expose_secret().as_bytes();
        known
            .add(env, bytes)
            .with_context(|| format!("cannot register the secret `{name}` for redaction"))?;
        audit.add_known(env, bytes)?;
    }
    let known = Arc::new(
        known
            .build_for(&rules)
            .context("registering secret values")?,
    );
    audit.secrets(
        secrets
            .iter()
            .map(|(name, env, _)| (name.clone(), env.clone())),
    );

    let (program, rest) = args
        .command
        .split_first()
        .context("no server command after `--`")?;
    let helper =
        std::env::current_exe().context("cannot find the hush binary to run the sandbox helper")?;
    let mut sandbox = Sandbox::new(helper, program, spec);
    sandbox.args(rest.iter().cloned()).rules(rules.clone());
    if let Some(path) = std::env::var_os("PATH") {
        sandbox.search_path(path);
    }
    for (name, value) in env {
        sandbox.env(name, value);
    }
    for (_, env, value) in secrets {
        sandbox.secret_env(&env, value);
    }
    let started = std::time::Instant::now();
    let mut server = match sandbox.spawn_piped() {
        Ok(s) => s,
        Err(e) => {
            let code = u8::try_from(e.exit_code()).unwrap_or(125);
            audit.note(None, &format!("the server did not start: {e}"));
            audit.close();
            let _ = writeln!(std::io::stderr(), "hush mcp: error: {e}");
            return Ok(Outcome::Exit(code));
        }
    };
    let enforcement = server.enforcement().clone();
    if enforcement.level < Level::Strict {
        let _ = writeln!(std::io::stderr(), "hush mcp: server {enforcement}");
    }
    audit.enforcement(&enforcement);

    let base = std::env::current_dir().context("cannot read the current directory")?;
    let capability = args.capability.checker(server_name.clone(), base.clone())?;
    let checker = Checker::new(
        rules.clone(),
        known.clone(),
        PathConfig {
            roots: args.allow_root.clone(),
            base,
            home: std::env::var_os("HOME").map(PathBuf::from),
        },
    );
    let guard: Box<dyn Guard> = match &policy {
        Some(p) => Box::new(PolicyGuard::new(p.clone(), server_name.clone())),
        None => Box::new(Rules {
            blocked: args.block.clone(),
            confirm: args.confirm.clone(),
        }),
    };
    let mut config = ProxyConfig::new(args.command.clone(), rules, known, checker, guard);
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
    config.audit = audit.sink();
    config.capability = capability;

    let (Some(server_in), Some(server_out), Some(server_err)) = (
        server.stdin.take(),
        server.stdout.take(),
        server.stderr.take(),
    ) else {
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
    if result.is_err() {
        // Fail closed: nothing more passes once a message can't be checked.
        server.kill();
    }
    let ended = server.wait();
    audit.exit(ended.as_ref().ok(), started.elapsed());
    audit.close();
    result?;
    Ok(match ended?.status {
        Status::Exited(0) => Outcome::Clean,
        Status::Exited(c) => Outcome::Exit(u8::try_from(c).unwrap_or(1)),
        Status::Signaled(s) => Outcome::Exit(u8::try_from(128 + s).unwrap_or(1)),
        _ => Outcome::Failed,
    })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::derive_server_name;

    #[test]
    fn server_names_come_from_the_package_or_program() {
        let n =
            |c: &[&str]| derive_server_name(&c.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            n(&["npx", "-y", "@modelcontextprotocol/server-filesystem", "/p"]),
            "filesystem"
        );
        assert_eq!(n(&["uvx", "mcp-server-time"]), "time");
        assert_eq!(n(&["/venv/bin/mcp-server-git", "--repo", "."]), "git");
        assert_eq!(n(&["python3", "-m", "weather-mcp"]), "weather");
        assert_eq!(n(&["my-tool"]), "my-tool");
        assert_eq!(
            n(&[
                "/usr/bin/node",
                "/x/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js",
                "/p"
            ]),
            "filesystem"
        );
        assert_eq!(n(&["python3", "/srv/weather/server.py"]), "weather");
        assert_eq!(n(&["python3", "/t/fake_server.py"]), "fake_server");
    }
}
