//! `log` records go through the same redacting writer (its own test binary: the logger is
//! process-global).

mod common;

use common::{token, Capture};
use hush_tracing::{RedactingFields, RedactingMakeWriter, Shield};

#[test]
fn log_records_are_redacted() {
    let shield = Shield::builtin().unwrap();
    let capture = Capture::default();
    let sub = tracing_subscriber::fmt()
        .with_writer(RedactingMakeWriter::new(capture.clone(), shield.clone()))
        .fmt_fields(RedactingFields::new(shield))
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(sub).unwrap();
    tracing_log::LogTracer::init().unwrap();
    let t = token();
    log::warn!("legacy crate logged {t}");
    let out = capture.text();
    assert!(!out.contains(&t), "{out}");
    assert!(
        out.contains("legacy crate logged [REDACTED:hush.github.pat]"),
        "{out}"
    );
}
