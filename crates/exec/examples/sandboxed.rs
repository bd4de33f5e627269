//! A minimal tool executor on `hush-exec`: runs its arguments as a command in the sandbox,
//! with read access to the current directory and one injected secret.
//!
//! ```sh
//! DEMO_TOKEN=generated-demo-value-0123456789 \
//!   cargo run -p hush-exec --example sandboxed -- sh -c 'ls; echo "token: $DEMO_TOKEN"'
//! ```
//!
//! The same binary is its own sandbox helper: started with `__sandbox-exec`, it calls
//! `helper_main` before doing anything else.

#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use hush_exec::{helper_main, Level, Rights, Sandbox, SandboxSpec, HELPER_ARG};
use secrecy::SecretString;

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == HELPER_ARG) {
        return ExitCode::from(u8::try_from(helper_main()).unwrap_or(125));
    }
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: sandboxed CMD [ARGS...]");
        return ExitCode::from(2);
    };
    let mut spec = SandboxSpec::new();
    spec.allow_system().allow(".", Rights::READ);
    spec.require = Some(Level::Landlock);
    let helper = std::env::current_exe().expect("own path");
    let mut run = Sandbox::new(helper, program, spec);
    run.args(args);
    if let Some(path) = std::env::var_os("PATH") {
        run.search_path(path);
    }
    if let Ok(token) = std::env::var("DEMO_TOKEN") {
        run.secret_env("DEMO_TOKEN", SecretString::from(token));
    }
    match run.run(std::io::stdout(), std::io::stderr()) {
        Ok(outcome) => {
            eprintln!("{}", outcome.enforcement);
            ExitCode::from(u8::try_from(outcome.exit_code()).unwrap_or(125))
        }
        Err(e) => {
            eprintln!("sandboxed: {e}");
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(125))
        }
    }
}
