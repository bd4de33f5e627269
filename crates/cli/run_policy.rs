//! `hush run --policy FILE`: glue between the flags and `hush_exec::Executor`.

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use hush_exec::{Executor, Level, SecretSource, Stop, TtyConfirm};
use hush_patterns::RuleSet;
use hush_policy::{Loader, PolicyHandle, Tier};
use secrecy::SecretString;

use crate::run::{exit_byte, RunArgs};
use crate::Outcome;

/// The vault, unlocked the first time a granted secret is needed: policies that grant none
/// never ask for a passphrase.
struct LazyVault {
    ctx: crate::vault::Ctx,
    vault: OnceLock<Option<hush_vault::Vault>>,
}

impl SecretSource for LazyVault {
    fn secret(&self, name: &str) -> Option<SecretString> {
        self.vault
            .get_or_init(|| match crate::vault::unlock(&self.ctx, false) {
                Ok(v) => Some(v),
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "hush: error: {e:#}");
                    None
                }
            })
            .as_ref()?
            .secret(name)
    }
}

pub(crate) fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let file = args.policy.clone().context("no policy given")?;
    let ctx = crate::policy::context(args.workspace.as_ref())?;
    // One compiled rule pack for the policy's argument checks, the audit sanitizer and the
    // output redactor.
    let rules = Arc::new(RuleSet::builtin().context("cannot compile the built-in rules")?);
    let mut loader = Loader::new(ctx);
    loader
        .file(Tier::Project, &file)
        .secret_rules(Some(Arc::clone(&rules)));
    let handle = PolicyHandle::new(loader)?;
    if args.watch_policy {
        handle
            .watch()
            .with_context(|| format!("cannot watch `{}` for changes", file.display()))?;
    }
    let helper =
        std::env::current_exe().context("cannot find the hush binary to run the sandbox helper")?;
    let mut exec = Executor::new(helper, handle.clone());
    let vault = crate::vault::Ctx {
        path: crate::vault::vault_path(args.vault.clone())?,
        passphrase_fd: args.passphrase_fd,
    };
    exec.secrets(LazyVault {
        ctx: vault,
        vault: OnceLock::new(),
    })
    .confirm(TtyConfirm::default())
    .require(args.require_sandbox)
    .namespaces(!args.no_namespaces)
    .terminal(args.tty)
    .environment(std::env::vars_os())
    .reload_on_change(args.watch_policy)
    .close_stdin(args.commands.as_deref() == Some(Path::new("-")))
    .rules(Arc::clone(&rules));
    if let Some(path) = std::env::var_os("PATH") {
        exec.search_path(path);
    }
    if let Some(log) = &args.audit_log {
        let sources = handle.current().sources().to_vec();
        let writer = crate::audit::open_writer(
            log,
            args.audit_key.as_ref(),
            &sources,
            "hush run",
            Some(Arc::clone(&rules)),
        )?;
        exec.audit(writer);
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let verbose = args.verbose;

    let Some(list) = &args.commands else {
        let code = run_one(&exec, &args.command, &cwd, verbose);
        return Ok(Outcome::Exit(code));
    };
    let reader: Box<dyn BufRead> = if list == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(list)
            .with_context(|| format!("cannot open the command list `{}`", list.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut status = 0u8;
    for (n, line) in reader.lines().enumerate() {
        let n = n + 1;
        let line = line.with_context(|| format!("cannot read the command list at line {n}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let code = match serde_json::from_str::<Vec<String>>(&line) {
            Ok(argv) if !argv.is_empty() => {
                let argv: Vec<OsString> = argv.into_iter().map(OsString::from).collect();
                run_one(&exec, &argv, &cwd, verbose)
            }
            Ok(_) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "hush: command list line {n}: empty command"
                );
                2
            }
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "hush: command list line {n}: not a JSON array of strings ({e}): skipped"
                );
                2
            }
        };
        let _ = writeln!(std::io::stderr(), "hush: [{n}] exit {code}");
        if code != 0 {
            status = code;
        }
    }
    Ok(Outcome::Exit(status))
}

/// Runs one command; returns its exit code, having said on stderr why hush stopped or refused
/// it.
fn run_one(exec: &Executor, argv: &[OsString], cwd: &Path, verbose: bool) -> u8 {
    let outcome = match exec.run(argv, cwd, std::io::stdout(), std::io::stderr()) {
        Ok(o) => o,
        Err(e) if e.is_broken_pipe() => return 0,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "hush: {e}");
            return exit_byte(e.exit_code());
        }
    };
    let mut err = std::io::stderr().lock();
    if verbose || outcome.enforcement.level < Level::Strict {
        let _ = writeln!(err, "hush: {}", outcome.enforcement);
    }
    let limits = exec.policy().current().limits();
    let why = match outcome.stopped {
        Some(Stop::Timeout) => Some(format!(
            "after the policy's {}s wall-clock limit",
            limits.wall_seconds.unwrap_or(0)
        )),
        Some(Stop::OutputLimit) => Some(format!(
            "output exceeded the policy's {} bytes",
            limits.output_bytes.unwrap_or(0)
        )),
        Some(Stop::Processes) => Some(format!(
            "the policy's process limit {} exceeded",
            limits.processes.unwrap_or(0)
        )),
        _ => None,
    };
    if let Some(why) = why {
        let program = argv
            .first()
            .map(|p| p.to_string_lossy())
            .unwrap_or_default();
        let _ = writeln!(err, "hush: stopped `{program}`: {why}");
    }
    exit_byte(outcome.exit_code())
}
