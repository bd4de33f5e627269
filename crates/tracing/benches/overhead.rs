//! Events per second through `tracing-subscriber`'s `fmt` layer, plain and redacted, text and
//! JSON, events with and without a secret. Output goes to `io::sink`.
//!
//! `cargo bench -p hush-tracing --bench overhead`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hush_tracing::Shield;

mod common;
use common::{dispatch, emit, token};

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
