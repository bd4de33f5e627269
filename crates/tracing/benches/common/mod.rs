//! The events and subscribers both benchmarks measure.

use hush_tracing::{RedactingFields, RedactingMakeWriter, Shield};
use tracing::Dispatch;

/// A generated fake GitHub token.
pub(crate) fn token() -> String {
    format!("ghp_{}", "Zq9r8s7t6u5v4w3x2y1z0a9b8c7d6e5f4g3h")
}

/// One `info!` event with three fields, carrying `tok` in its message or not.
pub(crate) fn emit(with_secret: bool, tok: &str) {
    if with_secret {
        tracing::info!(
            user_id = 4812,
            path = "/api/v1/orders/991",
            status = 200,
            "upstream call with token {tok}"
        );
    } else {
        tracing::info!(
            user_id = 4812,
            path = "/api/v1/orders/991",
            status = 200,
            "request completed in {} ms",
            12
        );
    }
}

/// A `fmt` subscriber writing to `io::sink`, text or JSON, plain or redacted by `shield`.
pub(crate) fn dispatch(json: bool, redact: bool, shield: &Shield) -> Dispatch {
    let sink = std::io::sink;
    match (json, redact) {
        (false, false) => Dispatch::new(
            tracing_subscriber::fmt()
                .with_writer(sink)
                .with_ansi(false)
                .finish(),
        ),
        (false, true) => Dispatch::new(
            tracing_subscriber::fmt()
                .with_writer(RedactingMakeWriter::new(sink, shield.clone()))
                .fmt_fields(RedactingFields::new(shield.clone()).names_only())
                .with_ansi(false)
                .finish(),
        ),
        (true, false) => Dispatch::new(tracing_subscriber::fmt().json().with_writer(sink).finish()),
        (true, true) => Dispatch::new(
            tracing_subscriber::fmt()
                .json()
                .with_writer(RedactingMakeWriter::new(sink, shield.clone()).json(true))
                .finish(),
        ),
    }
}
