//! Integration tests: one binary that links once and runs the real `hush` executable.

/// Says a test was skipped, on the real stderr: `eprintln!` is captured by the test harness
/// and shown only for failing tests, and a skip must never be silent.
macro_rules! skipped {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod util;

mod audit;
mod cap;
mod mcp;
mod mcp_policy;
mod policy;
mod precommit;
mod rules;
mod run;
mod scan;
mod vault;
