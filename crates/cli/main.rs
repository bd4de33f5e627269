//! `hush`: secret scanning, git hooks, redaction rules, and (in later commands) vault, policy and
//! execution.
//!
//! The CLI is glue: it parses flags into a config, calls the libraries, and turns results into
//! output and exit codes (0 clean, 1 findings or failed checks, 2 usage or internal error).

#![forbid(unsafe_code)]
// The binary's job is to print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod hook;
mod mcp;
mod rules;
mod scan;
mod trust;

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
    /// Run an MCP server (stdio) behind a guard: checked tool calls, trust, redacted results.
    Mcp(Box<mcp::McpArgs>),
    /// List, revoke, suspend or resume trust in MCP servers and tools.
    #[command(subcommand)]
    Trust(trust::TrustCommand),
}

/// How a command ended, mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 1: findings, or failed checks.
    Failed,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Rules(cmd) => rules::run(cmd),
        Command::Scan(args) => scan::run(*args),
        Command::Hook(cmd) => hook::run(cmd),
        Command::Mcp(args) => mcp::run(*args),
        Command::Trust(cmd) => trust::run(cmd),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
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
