//! Exact output through `fmt` with the redacting writer and fields: no secret reaches the sink
//! through messages, event fields, span fields, `Debug` of a struct, errors, or JSON.

mod common;

use common::{token, Capture};
use hush_tracing::{LeakDetectLayer, RedactingFields, RedactingMakeWriter, Shield};
use tracing_subscriber::layer::SubscriberExt;

fn text_subscriber(capture: &Capture, shield: &Shield) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(RedactingMakeWriter::new(capture.clone(), shield.clone()))
        .fmt_fields(RedactingFields::new(shield.clone()))
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .finish()
}

#[derive(Debug)]
#[allow(dead_code)] // read through Debug only
struct Config {
    name: String,
    dsn: String,
}

#[derive(Debug)]
struct LoginError(String);

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "login refused for {}", self.0)
    }
}
impl std::error::Error for LoginError {}

#[test]
fn messages_fields_spans_debug_and_errors_are_redacted() {
    let shield = Shield::builtin().unwrap();
    let capture = Capture::default();
    let t = token();
    tracing::subscriber::with_default(text_subscriber(&capture, &shield), || {
        tracing::info!(password = "hunter2", user = "bob", "login with token {t}");
        let span = tracing::info_span!("request", api_key = %"k-123456789", id = 7);
        let _g = span.enter();
        tracing::warn!(auth = %format!("token {t}"), "calling upstream");
        let cfg = Config {
            name: "orders".into(),
            dsn: format!(
                "postgres://app:{}@db.internal:5432/orders",
                "Wq8zR2vLp9TmX4"
            ),
        };
        tracing::debug!(?cfg, "loaded");
        tracing::error!(
            error = &LoginError(t.clone()) as &dyn std::error::Error,
            "failed"
        );
    });
    let out = capture.text();
    assert!(!out.contains(&t), "{out}");
    assert!(
        !out.contains("hunter2") && !out.contains("k-123456789") && !out.contains("Wq8zR2vLp9TmX4"),
        "{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        " INFO login with token [REDACTED:hush.github.pat] password=[REDACTED] user=\"bob\""
    );
    assert_eq!(
        lines[1],
        " WARN request{api_key=[REDACTED] id=7}: calling upstream auth=token [REDACTED:hush.github.pat]"
    );
    assert!(
        lines[2].ends_with("loaded cfg=Config { name: \"orders\", dsn: \"postgres://app:[REDACTED:hush.credentials.url-password]@db.internal:5432/orders\" }"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].ends_with("failed error=login refused for [REDACTED:hush.github.pat]"),
        "{}",
        lines[3]
    );
}

#[test]
fn an_event_written_in_pieces_is_redacted_whole() {
    // The fmt layer writes an event's parts separately; a token split between a field name and
    // its value must still be found. A formatter that writes byte by byte shows the same.
    let shield = Shield::builtin().unwrap();
    let capture = Capture::default();
    let w = RedactingMakeWriter::new(capture.clone(), shield);
    {
        use std::io::Write;
        use tracing_subscriber::fmt::MakeWriter;
        let mut ev = w.make_writer();
        for b in format!("key={}\n", token()).bytes() {
            ev.write_all(&[b]).unwrap();
        }
    }
    assert_eq!(capture.text(), "key=[REDACTED:hush.github.pat]\n");
}

#[test]
fn json_lines_stay_valid_and_sensitive_names_are_masked() {
    let shield = Shield::builtin().unwrap();
    let capture = Capture::default();
    let t = token();
    let sub = tracing_subscriber::fmt()
        .json()
        .with_writer(RedactingMakeWriter::new(capture.clone(), shield.clone()).json(true))
        .without_time()
        .finish();
    tracing::subscriber::with_default(sub, || {
        tracing::info!(password = "hunter2", header = %format!("Bearer {t}"), "sent \"quoted\" {t}");
    });
    let out = capture.text();
    assert!(!out.contains(&t) && !out.contains("hunter2"), "{out}");
    for line in out.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["fields"]["password"], "[REDACTED]");
    }
}

#[test]
fn secrets_registered_at_runtime_are_masked_from_then_on() {
    let shield = Shield::builtin().unwrap();
    let capture = Capture::default();
    let value = "vault-value-Xq93LmZ".to_string();
    tracing::subscriber::with_default(text_subscriber(&capture, &shield), || {
        tracing::info!("before {value}");
        shield.register("DB_PASSWORD", value.as_bytes()).unwrap();
        tracing::info!("after {value}");
        let b64 = "dmF1bHQtdmFsdWUtWHE5M0xtWg==";
        tracing::info!("encoded {b64}");
    });
    let out = capture.text();
    assert!(out.contains(&format!("before {value}")), "{out}");
    assert!(out.contains("after [REDACTED:hush.known-value]"), "{out}");
    assert!(out.contains("encoded [REDACTED:hush.known-value]"), "{out}");
    assert!(shield.register("PIN", b"1234").is_err());
}

#[test]
fn leak_detector_counts_and_can_panic() {
    let shield = Shield::builtin().unwrap();
    let layer = LeakDetectLayer::new(shield.clone());
    let counter = layer.counter();
    let sub = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(sub, || {
        tracing::info!("clean event");
        tracing::info!(token = "abc", "sensitive name");
        tracing::info!("carries {}", token());
    });
    assert_eq!(counter.get(), 2);
    let strict =
        tracing_subscriber::registry().with(LeakDetectLayer::new(shield).panic_on_leak(true));
    let t = token();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tracing::subscriber::with_default(strict, || tracing::info!("carries {t}"));
    }));
    let err = result.unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("hush.github.pat") && !msg.contains(&t),
        "{msg}"
    );
}
