//! A service that logs through `tracing` and `log` with every path redacted.
//!
//! `cargo run -p hush-tracing --example service` (add `-- --json` for JSON lines).

use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let json = std::env::args().any(|a| a == "--json");
    // The three lines: install, then register secrets as they are read.
    let shield = hush_tracing::Builder::new().json(json).init()?;
    let db_password = "correct-horse-battery-staple-42"; // as read from a vault
    shield.register("DB_PASSWORD", db_password.as_bytes())?;

    // A fake token, assembled at runtime so the repository holds no live-looking key.
    let token = format!("ghp_{}", "Zq9r8s7t6u5v4w3x2y1z0a9b8c7d6e5f4g3h");
    tracing::info!(user = "bob", password = "hunter2", "login");
    tracing::warn!("upstream rejected token {token}");
    tracing::info!(dsn = %format!("postgres://app:{db_password}@db.internal/app"), "connecting");
    log::error!("legacy code logged the password {db_password}");

    // Code that prints directly goes through a redacting stderr.
    let mut err = hush_tracing::redacting_stderr(&shield)?;
    writeln!(err, "direct print of {token}")?;
    err.finish()?;

    // Panics are redacted too.
    let _ = std::panic::catch_unwind(|| {
        panic!(
            "failed with {}",
            "ghp_".to_string() + "Zq9r8s7t6u5v4w3x2y1z0a9b8c7d6e5f4g3h"
        )
    });
    Ok(())
}
