//! Events per second through `tracing-subscriber`'s `fmt` layer, plain and redacted, text and
//! JSON, events with and without a secret. Output goes to `io::sink`.
//!
//! `cargo bench -p hush-tracing --bench overhead`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hush_tracing::{RedactingFields, RedactingMakeWriter, Shield};
use tracing::Dispatch;

fn token() -> String {
    format!("ghp_{}", "Zq9r8s7t6u5v4w3x2y1z0a9b8c7d6e5f4g3h")
}

fn emit(with_secret: bool, tok: &str) {
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

fn dispatch(json: bool, redact: bool, shield: &Shield) -> Dispatch {
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

fn overhead(c: &mut Criterion) {
    let shield = Shield::builtin().unwrap();
    let tok = token();
    for json in [false, true] {
        let mut g = c.benchmark_group(if json { "json" } else { "text" });
        g.throughput(Throughput::Elements(1));
        for secret in [false, true] {
            for redact in [false, true] {
                let name = format!(
                    "{}/{}",
                    if redact { "redacted" } else { "plain" },
                    if secret { "with-secret" } else { "no-secret" }
                );
                let d = dispatch(json, redact, &shield);
                tracing::dispatcher::with_default(&d, || {
                    g.bench_function(&name, |b| b.iter(|| emit(black_box(secret), &tok)));
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, overhead);
criterion_main!(benches);
