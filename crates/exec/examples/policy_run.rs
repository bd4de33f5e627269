//! A policy-driven tool executor on `hush-exec`: a policy decides, a memory vault supplies the
//! one secret the policy grants, an audit file records every step, and the command's output
//! comes back redacted.
//!
//! ```sh
//! cargo run -p hush-exec --example policy_run -- sh -c 'echo "token: $DEMO_TOKEN"; ls /usr'
//! cargo run -p hush-exec --example policy_run -- rm -rf /tmp/x    # denied: exit 126
//! ```
//!
//! The audit log is written to `policy_run.audit.jsonl` in the temporary directory; check it
//! with `hush audit verify`. The binary is its own sandbox helper: started with
//! `__sandbox-exec`, it calls `helper_main` before anything else.

#![allow(clippy::print_stderr)]

use std::ffi::OsString;
use std::process::ExitCode;

use hush_audit::{AuditWriter, Options, Sanitizer};
use hush_exec::{helper_main, Executor, NoConfirm, HELPER_ARG};
use hush_policy::{Context, Loader, PolicyHandle, Tier};
use hush_vault::MemoryStore;

const POLICY: &str = r#"
[risk]
low = "allow"
medium = "allow"
high = "confirm"
critical = "deny"

[[filesystem]]
id = "system"
paths = ["/usr/**", "/bin/**", "/lib/**", "/lib64/**", "/etc/**"]
rights = ["read", "execute"]

[[filesystem]]
id = "scratch"
paths = ["${tmp}/**"]
rights = ["read", "write", "create", "delete"]

[[commands]]
id = "shell"
program = "{sh,dash,bash}"
shell = true

[[commands]]
id = "read-tools"
program = "{ls,cat,echo,true}"

[[commands]]
id = "no-rm"
program = "rm"
effect = "deny"
reason = "this executor never deletes"

[[secrets]]
id = "demo"
name = "demo-token"
env = "DEMO_TOKEN"

[environment]
allow = ["PATH", "LANG"]

[limits]
wall_seconds = 30
output_bytes = 1048576
"#;

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == HELPER_ARG) {
        return ExitCode::from(u8::try_from(helper_main()).unwrap_or(125));
    }
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    if argv.is_empty() {
        eprintln!("usage: policy_run CMD [ARGS...]");
        return ExitCode::from(2);
    }
    match run(&argv) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("policy_run: {e}");
            ExitCode::from(125)
        }
    }
}

fn run(argv: &[OsString]) -> Result<u8, Box<dyn std::error::Error>> {
    let cwd = std::env::current_dir()?;
    let tmp = std::env::temp_dir();
    let mut loader = Loader::new(Context::new(&cwd, "/nonexistent-home", &tmp));
    loader.text(Tier::Project, "policy_run.toml", POLICY);
    let policy = PolicyHandle::new(loader)?;

    // A memory vault holding a generated demo value (a real executor opens `hush_vault::Vault`).
    let mut vault = MemoryStore::new();
    vault.insert("demo-token", hush_vault::generate(32)?)?;

    let log = tmp.join("policy_run.audit.jsonl");
    let mut opts = Options::default();
    opts.tool = "policy_run example".into();
    let audit = AuditWriter::open(&log, Sanitizer::builtin()?, None, opts)?;

    let mut exec = Executor::new(std::env::current_exe()?, policy);
    exec.secrets(vault)
        .audit(audit)
        // Unattended: a `confirm` decision is a denial. `TtyConfirm` asks on /dev/tty.
        .confirm(NoConfirm)
        .environment(std::env::vars_os());
    if let Some(path) = std::env::var_os("PATH") {
        exec.search_path(path);
    }
    let code = match exec.run(argv, &cwd, std::io::stdout(), std::io::stderr()) {
        Ok(outcome) => {
            eprintln!("policy_run: {}", outcome.enforcement);
            outcome.exit_code()
        }
        Err(e) => {
            eprintln!("policy_run: {e}");
            e.exit_code()
        }
    };
    eprintln!("policy_run: audit log {}", log.display());
    Ok(u8::try_from(code).unwrap_or(125))
}
