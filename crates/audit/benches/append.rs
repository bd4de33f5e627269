//! Audit append throughput (issue target: over 100k records/s with fsync batching).
//!
//! `cargo bench -p hush-audit --bench append`. Each iteration appends a batch of decision
//! records to a fresh log in a temp dir (so the file system's write path is included) and
//! closes it (final fsync and checkpoint included).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hush_audit::{AuditWriter, CheckpointKey, Durability, Event, Flag, Options, Sanitizer, Target};
use hush_patterns::RuleSet;

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .flat_map(|i| {
            let id = format!("r{i}");
            [
                Event::Request {
                    id: id.clone(),
                    target: Target::Command {
                        argv: vec![
                            "git".into(),
                            "log".into(),
                            "--oneline".into(),
                            format!("src/file{i}.rs"),
                        ],
                    },
                    cwd: Some("/work/proj".into()),
                },
                Event::Decision {
                    id,
                    effect: "allow".into(),
                    reasons: vec!["allowed by rule `ide.git` (project tier)".into()],
                    rules: vec!["ide.git".into()],
                    risk: "low".into(),
                    flags: vec![Flag {
                        kind: "network".into(),
                        level: "medium".into(),
                        detail: "`git`".into(),
                    }],
                    latency_ns: 900,
                },
            ]
        })
        .collect()
}

fn run(events: &[Event], durability: Durability, sanitizer: impl Fn() -> Sanitizer) {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Options::default();
    o.durability = durability;
    o.checkpoint_every = 1000;
    let mut w = AuditWriter::open(
        &dir.path().join("a.jsonl"),
        sanitizer(),
        Some(CheckpointKey::from_seed(&[1; 32])),
        o,
    )
    .unwrap();
    for e in events {
        w.append(black_box(e)).unwrap();
    }
    w.close().unwrap();
}

fn bench(c: &mut Criterion) {
    let evs = events(5_000);
    // The rule pack compiles once, as in a long-running executor.
    let rules = Arc::new(RuleSet::builtin().unwrap());
    let builtin = || Sanitizer::new(rules.clone());
    let mut g = c.benchmark_group("audit-append");
    g.sample_size(10);
    g.throughput(Throughput::Elements(evs.len() as u64));
    for (name, d) in [
        ("batch-1000", Durability::Batch(1000)),
        ("flush", Durability::Flush),
    ] {
        g.bench_function(format!("{name}/unredacted"), |b| {
            b.iter_batched(
                || (),
                |()| run(&evs, d, Sanitizer::danger_unredacted),
                BatchSize::PerIteration,
            )
        });
        g.bench_function(format!("{name}/redacted"), |b| {
            b.iter_batched(|| (), |()| run(&evs, d, builtin), BatchSize::PerIteration)
        });
    }
    let few = events(100);
    g.throughput(Throughput::Elements(few.len() as u64));
    g.bench_function("sync-every-record/unredacted", |b| {
        b.iter_batched(
            || (),
            |()| run(&few, Durability::Sync, Sanitizer::danger_unredacted),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
