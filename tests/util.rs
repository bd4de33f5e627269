//! Helpers shared by the integration tests.

use std::process::{Command, Output};

/// The `hush` binary built for this test run.
pub(crate) fn hush() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hush"))
}

/// Runs `cmd` and returns (exit code, stdout, stderr).
pub(crate) fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("spawn hush");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}
