//! `hush`: secret scanning, git hooks, redaction rules, and (in later commands) vault, policy and
//! execution.
//!
//! The CLI is glue: it parses flags into a config, calls the libraries, and turns results into
//! output and exit codes (0 clean, 1 findings or failed checks, 2 usage or internal error).

#![forbid(unsafe_code)]
// The binary's job is to print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod audit;
mod cap;
mod env;
mod hook;
mod mcp;
mod mcp_audit;
mod policy;
mod rules;
mod run;
mod run_policy;
mod scan;
mod trust;
mod vault;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keep credentials secret wherever software runs tools and writes output.
#[derive(Debug, Parser)]
#[command(name = "hush", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List and check detection rules.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Find secrets in files, stdin, the git index (`--staged`) or history (`--git`).
    Scan(Box<scan::ScanArgs>),
    /// Install or remove the git pre-commit hook that runs `hush scan --staged`.
    #[command(subcommand)]
    Hook(hook::HookCommand),
    /// Keep secrets in an encrypted vault file or the OS keyring.
    Vault(vault::VaultArgs),
    /// Check the environment variables a program expects.
    #[command(subcommand)]
    Env(env::EnvCommand),
    /// Check policies, explain decisions, list built-in profiles.
    #[command(subcommand)]
    Policy(Box<policy::PolicyCommand>),
    /// Verify, review and summarise audit logs.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Run a command in a sandbox (Landlock, seccomp, namespaces) with its output redacted.
    Run(Box<run::RunArgs>),
    /// Run an MCP server (stdio) behind a guard: checked tool calls, trust, redacted results.
    Mcp(Box<mcp::McpArgs>),
    /// List, revoke, suspend or resume trust in MCP servers and tools.
    #[command(subcommand)]
    Trust(trust::TrustCommand),
    /// Issue, delegate, validate and revoke capability tokens.
    Cap(Box<cap::CapArgs>),
}

/// How a command ended, mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 1: findings, or failed checks.
    Failed,
    /// This exit code (`hush run` propagates the command's).
    Exit(u8),
}

fn main() -> ExitCode {
    // The sandbox helper re-executed by `hush run`: before clap, before any thread.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == hush_exec::HELPER_ARG)
    {
        return ExitCode::from(u8::try_from(hush_exec::helper_main()).unwrap_or(125));
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Rules(cmd) => rules::run(cmd),
        Command::Scan(args) => scan::run(*args),
        Command::Hook(cmd) => hook::run(cmd),
        Command::Vault(args) => vault::run(args),
        Command::Env(cmd) => env::run(cmd),
        Command::Policy(cmd) => policy::run(*cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Run(args) => run::run(*args),
        Command::Mcp(args) => mcp::run(*args),
        Command::Trust(cmd) => trust::run(cmd),
        Command::Cap(args) => cap::run(*args),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(std::io::stderr(), "hush: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
