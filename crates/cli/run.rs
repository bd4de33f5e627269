//! `hush run`: run one command in the sandbox with redacted output.
//!
//! Glue only: flags become a `SandboxSpec` and a `Sandbox`; `hush_exec` does the work.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use hush_exec::{Level, Limits, Network, Rights, Sandbox, SandboxSpec, Stdin};
use secrecy::SecretString;

use crate::Outcome;

/// Run a command in a sandbox, with its output redacted.
#[derive(Debug, Args)]
#[command(after_long_help = "\
The command runs directly (no shell) with an empty environment plus the variables named by \
--env and --secret-env, stdin closed (unless --stdin), in a new session, with core dumps off. \
Filesystem access is denied except read+execute on system directories (/usr, /bin, /lib*, \
/etc, ...), read on /sys, the harmless /dev nodes, and the paths you allow. /proc is not \
allowed by default: it shows every process, and their command lines to anyone. The command \
holds no capabilities, even when hush runs as root.

Sandbox levels (--require-sandbox, and -v to show what was reached):
  basic     empty environment, new session, rlimits; no kernel confinement
  landlock  Landlock enforces the filesystem rules (possibly without rights newer than the kernel's ABI)
  strict    Landlock enforces every requested right, and --network off is enforced (seccomp \
refuses non-unix sockets, Landlock refuses TCP)
  isolated  strict, inside new user, PID, mount and network namespaces (a private /proc; with \
--allow-host, hush's proxy is the only network)

--allow-host HOST[:PORT] allows HTTP(S) through hush's proxy to those hosts only (HTTP_PROXY and \
friends are set): names resolve outside the sandbox, and loopback, private, link-local and cloud \
metadata addresses are refused unless the entry is that address (or `localhost`). Refused \
requests are printed. Memory and process limits use a cgroup v2 of the run when one is \
delegated to you, rlimits otherwise (-v says which).

Exit status: the command's own; 128+N when it was killed by signal N; 124 when hush stopped it \
(--timeout, --max-output, or --max-processes without a cgroup: then hush counts the \
command's processes every 10 ms and kills them all past the limit); 125 when hush itself failed; 126 when the command could not be \
executed or the sandbox level was not reached; 127 when it was not found.

With --policy FILE the policy decides instead of the flags: the command must be allowed \
(deny exits 126 with the reasons and rule ids on stderr; `confirm` asks on /dev/tty and \
denies with no terminal or no answer in 60 s), the environment is the variables the policy's \
[environment] allows plus the secrets it grants, taken from the vault (--vault, else \
$HUSH_VAULT or the default vault; unlocked only when a secret is granted, with \
--passphrase-fd, HUSH_VAULT_PASSPHRASE_FILE, the keyring or a prompt), and the sandbox \
follows its filesystem, network and limits. --audit-log records every step, with no secret.

--commands FILE (or - for stdin) runs one command per line, each a JSON array of strings \
([\"git\", \"status\"]), in turn, under one audit session; blank lines are skipped. After \
each, `hush: [N] exit CODE` goes to stderr. The exit status is 0 when every command exited \
0, else the last non-zero one. --watch-policy reloads the policy when its files change \
(checked again before every command, so an edit applies to the next one); an invalid edit \
keeps the last good policy.")]
pub(crate) struct RunArgs {
    /// Decide, confine and inject secrets with this policy file (see docs/policy.md).
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "network", "allow_read", "allow_write", "allow_exec", "env", "secret_env", "stdin",
        "timeout", "max_output", "max_cpu", "max_memory", "max_processes", "max_open_files",
    ])]
    pub(crate) policy: Option<PathBuf>,
    /// The directory `${workspace}` stands for in the policy [default: the current directory].
    #[arg(long, value_name = "DIR", requires = "policy")]
    pub(crate) workspace: Option<PathBuf>,
    /// The vault granted secrets come from [default: $HUSH_VAULT, else
    /// $XDG_DATA_HOME/hush/vault].
    #[arg(long, value_name = "PATH", requires = "policy")]
    pub(crate) vault: Option<PathBuf>,
    /// Read the vault passphrase from file descriptor N (up to the first newline).
    #[arg(long, value_name = "N", requires = "policy")]
    pub(crate) passphrase_fd: Option<u32>,
    /// Append every step to this audit log (hash-chained, redacted).
    #[arg(long, value_name = "LOG", requires = "policy")]
    pub(crate) audit_log: Option<PathBuf>,
    /// Sign the audit log's checkpoints with this key file (see `hush audit keygen`).
    #[arg(long, value_name = "FILE", requires = "audit_log")]
    pub(crate) audit_key: Option<PathBuf>,
    /// Reload the policy when its files change; the next command uses the edit.
    #[arg(long, requires = "policy")]
    pub(crate) watch_policy: bool,
    /// Run the commands in FILE (`-`: stdin), one JSON array of strings per line, in turn.
    #[arg(
        long,
        value_name = "FILE",
        requires = "policy",
        conflicts_with = "command"
    )]
    pub(crate) commands: Option<PathBuf>,
    /// Refuse to run unless the sandbox reaches LEVEL: basic, landlock, strict or isolated.
    #[arg(long, value_name = "LEVEL")]
    pub(crate) require_sandbox: Option<Level>,
    /// Network access: off (no sockets but unix ones) or on.
    #[arg(long, value_enum, default_value_t = NetworkArg::Off)]
    pub(crate) network: NetworkArg,
    /// Allow HTTP(S) to HOST[:PORT] through hush's proxy (repeatable; replaces --network):
    /// `api.example.com:443`, `*.example.com`, `10.0.0.5:8080`, `localhost:3000`. Names must
    /// resolve to public addresses; name an address (or `localhost`) to reach a private one.
    #[arg(long, value_name = "HOST[:PORT]", conflicts_with = "network")]
    pub(crate) allow_host: Vec<hush_exec::HostPort>,
    /// Allow reading PATH and everything beneath it (repeatable).
    #[arg(long, value_name = "PATH")]
    pub(crate) allow_read: Vec<PathBuf>,
    /// Allow reading, writing, creating and deleting under PATH (repeatable).
    #[arg(long, value_name = "PATH")]
    pub(crate) allow_write: Vec<PathBuf>,
    /// Allow reading and executing PATH and everything beneath it (repeatable).
    #[arg(long, value_name = "PATH")]
    pub(crate) allow_exec: Vec<PathBuf>,
    /// Pass the environment variable NAME to the command (repeatable; everything else is dropped).
    #[arg(long = "env", value_name = "NAME")]
    pub(crate) env: Vec<String>,
    /// Pass NAME like --env, and redact its value from the output in any encoding (repeatable).
    #[arg(long = "secret-env", value_name = "NAME")]
    pub(crate) secret_env: Vec<String>,
    /// Let the command read hush's standard input.
    #[arg(long)]
    pub(crate) stdin: bool,
    /// Give the command a terminal for stdout and one for stderr, so it colours and flushes
    /// its output as on a terminal (still redacted, the two streams still apart; most tools
    /// also need `--env TERM` to colour).
    #[arg(long)]
    pub(crate) tty: bool,
    /// Stop the command after SECS seconds: SIGTERM to all its processes, SIGKILL 2 s later.
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<f64>,
    /// Stop the command once it has written BYTES bytes to stdout and stderr together.
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_output: Option<u64>,
    /// CPU time limit in seconds (RLIMIT_CPU).
    #[arg(long, value_name = "SECS")]
    pub(crate) max_cpu: Option<u64>,
    /// Address-space limit in MiB (RLIMIT_AS).
    #[arg(long, value_name = "MB")]
    pub(crate) max_memory: Option<u64>,
    /// Limit on the command's processes: a cgroup's pids.max when one is delegated, else
    /// RLIMIT_NPROC plus a watchdog that kills every process of the run past N (exit 124).
    #[arg(long, value_name = "N")]
    pub(crate) max_processes: Option<u64>,
    /// Limit on open files per process (RLIMIT_NOFILE).
    #[arg(long, value_name = "N")]
    pub(crate) max_open_files: Option<u64>,
    /// Do not enter user, PID and network namespaces.
    #[arg(long)]
    pub(crate) no_namespaces: bool,
    /// Print the sandbox level and mechanisms reached to stderr as the command starts (always
    /// printed below `strict`).
    #[arg(short, long)]
    pub(crate) verbose: bool,
    /// The command and its arguments.
    #[arg(required_unless_present = "commands", last = true, value_name = "CMD")]
    pub(crate) command: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum NetworkArg {
    Off,
    On,
}

/// Variables passed as they are, and secrets (name, value) to inject.
type FlagsEnv = (Vec<(OsString, OsString)>, Vec<(String, SecretString)>);

/// The variables `--env` passes (those that are set) and the values `--secret-env` injects
/// (each must be set, as UTF-8), from hush's own environment.
pub(crate) fn flags_env(env: &[String], secret_env: &[String]) -> anyhow::Result<FlagsEnv> {
    let passed = env
        .iter()
        .filter_map(|name| Some((OsString::from(name), std::env::var_os(name)?)))
        .collect();
    let mut secrets = Vec::new();
    for name in secret_env {
        let value = std::env::var(name).with_context(|| {
            format!("environment variable `{name}` (from --secret-env) is not set or not UTF-8")
        })?;
        secrets.push((name.clone(), SecretString::from(value)));
    }
    Ok((passed, secrets))
}

pub(crate) fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    if args.policy.is_some() {
        return crate::run_policy::run(args);
    }
    let mut spec = flags_spec(
        &args.allow_read,
        &args.allow_exec,
        &args.allow_write,
        &args.allow_host,
        args.network,
    )?;
    spec.stdin = if args.stdin {
        Stdin::Inherit
    } else {
        Stdin::Closed
    };
    spec.namespaces = !args.no_namespaces;
    spec.require = args.require_sandbox;
    let mut limits = Limits::default();
    if let Some(secs) = args.timeout {
        if !(secs.is_finite() && secs > 0.0) {
            bail!("--timeout must be a positive number of seconds, not `{secs}`");
        }
        limits.wall = Some(Duration::from_secs_f64(secs));
    }
    limits.max_output = args.max_output;
    limits.cpu_secs = args.max_cpu;
    limits.memory_mb = args.max_memory;
    limits.max_processes = args.max_processes;
    limits.max_open_files = args.max_open_files;
    spec.limits = limits;

    let helper =
        std::env::current_exe().context("cannot find the hush binary to run the sandbox helper")?;
    let (program, rest) = args.command.split_first().context("no command given")?;
    // The built-in rules, compiled only if the command writes something.
    let mut sandbox = Sandbox::new(helper, program, spec);
    sandbox.args(rest.iter().cloned()).terminal(args.tty);
    let verbose = args.verbose;
    sandbox.on_start(move |enforcement| {
        if verbose || enforcement.level < Level::Strict {
            let _ = writeln!(std::io::stderr(), "hush: {enforcement}");
        }
    });
    if let Some(path) = std::env::var_os("PATH") {
        sandbox.search_path(path);
    }
    let (env, secrets) = flags_env(&args.env, &args.secret_env)?;
    for (name, value) in env {
        sandbox.env(name, value);
    }
    for (name, value) in secrets {
        sandbox.secret_env(&name, value);
    }

    let outcome = match sandbox.run(std::io::stdout(), std::io::stderr()) {
        Ok(o) => o,
        // As for any command in a pipeline: a closed reader ends it quietly.
        Err(e) if e.is_broken_pipe() => return Ok(Outcome::Clean),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "hush: error: {e}");
            return Ok(Outcome::Exit(exit_byte(e.exit_code())));
        }
    };
    let mut err = std::io::stderr().lock();
    for refused in &outcome.refused {
        let _ = writeln!(err, "hush: network proxy refused {refused}");
    }
    let why = match outcome.stopped {
        Some(hush_exec::Stop::Timeout) => Some(format!(
            "after the {}s timeout",
            args.timeout.unwrap_or(0.0)
        )),
        Some(hush_exec::Stop::OutputLimit) => Some(format!(
            "output exceeded --max-output {} bytes",
            args.max_output.unwrap_or(0)
        )),
        Some(hush_exec::Stop::Processes) => Some(format!(
            "process limit {} exceeded",
            args.max_processes.unwrap_or(0)
        )),
        _ => None,
    };
    if let Some(why) = why {
        let _ = writeln!(err, "hush: stopped `{}`: {why}", program.to_string_lossy());
    }
    Ok(Outcome::Exit(exit_byte(outcome.exit_code())))
}

/// The sandbox the `--allow-*` and `--network` flags describe (also `hush mcp`'s without a
/// policy): system directories, then the paths given.
pub(crate) fn flags_spec(
    read: &[PathBuf],
    exec: &[PathBuf],
    write: &[PathBuf],
    hosts: &[hush_exec::HostPort],
    network: NetworkArg,
) -> anyhow::Result<SandboxSpec> {
    let mut spec = SandboxSpec::new();
    spec.allow_system();
    for (paths, rights) in [
        (read, Rights::READ),
        (exec, Rights::READ_EXECUTE),
        (write, Rights::READ_WRITE),
    ] {
        for p in paths {
            spec.allow(absolute(p)?, rights);
        }
    }
    spec.network = match network {
        _ if !hosts.is_empty() => Network::Allow(hosts.to_vec()),
        NetworkArg::Off => Network::Off,
        NetworkArg::On => Network::On,
    };
    Ok(spec)
}

fn absolute(p: &std::path::Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot resolve `{}`", p.display()))
}

pub(crate) fn exit_byte(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(125)
}
