//! Engine benchmarks: rule-set compile time, search throughput on generated logs, and the
//! prefilter design against the alternatives the issue asked to measure (one Aho-Corasick DFA
//! over the keywords; regex-automata's multi-pattern search over all rule regexes).
//!
//! `cargo bench -p hush-patterns --bench engine`. Whole-corpus throughput against gitleaks and
//! kingfisher is measured by `bench/engine.sh` (the `throughput` example), not here.

#![allow(clippy::print_stderr)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hush_patterns::{KnownValuesBuilder, RuleSet};

/// Deterministic synthetic application logs (JSON, nginx, logfmt), with a fake credential
/// about every 5,000 lines, `size` bytes.
fn logs(size: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = Vec::with_capacity(size + 512);
    let mut line = 0u64;
    while out.len() < size {
        line += 1;
        let r = next();
        let hex = format!("{:016x}{:016x}", next(), next());
        let s = match r % 3 {
            0 => format!(
                "{{\"ts\":\"2024-05-01T00:00:{:02}.{:03}Z\",\"level\":\"info\",\"service\":\"orders\",\"msg\":\"request completed\",\"request_id\":\"{}-{}\",\"trace_id\":\"{hex}\",\"method\":\"GET\",\"path\":\"/api/v1/orders/{}\",\"status\":200,\"duration_ms\":{}}}\n",
                r % 60, r % 1000, &hex[..8], &hex[8..12], r % 100000, r % 400
            ),
            1 => format!(
                "10.0.{}.{} - - [01/May/2024:00:00:{:02} +0000] \"GET /api/v2/products?page={}&limit=20 HTTP/1.1\" 200 {} \"https://www.example.com/\" \"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\" rt=0.012\n",
                r % 256, (r >> 8) % 256, r % 60, r % 200, r % 30000
            ),
            _ => format!(
                "time=2024-05-01T00:00:{:02}Z level=debug msg=\"cache miss\" component=cache service=cart request_id={} latency_ms={} host=ip-10-0-{}-{}\n",
                r % 60, &hex[..32], r % 3000, r % 256, (r >> 8) % 256
            ),
        };
        out.extend_from_slice(s.as_bytes());
        if line % 5000 == 0 {
            let token: String = (0..36)
                .map(|_| alnum[(next() % 62) as usize] as char)
                .collect();
            out.extend_from_slice(
                format!("time=x level=warn msg=\"call failed\" auth=\"token ghp_{token}\"\n")
                    .as_bytes(),
            );
        }
    }
    out
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.bench_function("builtin", |b| {
        b.iter(|| black_box(RuleSet::builtin().unwrap()))
    });
    g.bench_function("builtin+all-regexes", |b| {
        b.iter(|| {
            let set = RuleSet::builtin().unwrap();
            set.compile_all().unwrap();
            black_box(set)
        })
    });
    g.finish();
}

fn search(c: &mut Criterion) {
    let hay = logs(8 << 20);
    let set = RuleSet::builtin().unwrap();
    set.compile_all().unwrap();
    let mut kb = KnownValuesBuilder::new();
    kb.add("DB_PASSWORD", b"hunter2-but-longer-Zq9").unwrap();
    let known = kb.build().unwrap();
    let combined = kb.build_for(&set).unwrap();
    let mut g = c.benchmark_group("search");
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("ruleset", "logs-8MiB"), |b| {
        b.iter(|| black_box(set.find(&hay)))
    });
    g.bench_function(BenchmarkId::new("ruleset+known", "logs-8MiB"), |b| {
        b.iter(|| black_box(set.find_with_known(&hay, &known)))
    });
    g.bench_function(
        BenchmarkId::new("ruleset+known-combined", "logs-8MiB"),
        |b| b.iter(|| black_box(set.find_with_known(&hay, &combined))),
    );
    g.finish();
}

/// The alternatives to the trigram prefilter, on the same data.
fn strategies(c: &mut Criterion) {
    let hay = logs(8 << 20);
    let set = RuleSet::builtin().unwrap();
    let keywords: Vec<String> = set
        .rules()
        .iter()
        .flat_map(|r| r.keywords().iter().cloned())
        .collect();
    let mut g = c.benchmark_group("strategy");
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.sample_size(10);
    g.bench_function("trigram-prefilter+confirm (RuleSet::find)", |b| {
        b.iter(|| black_box(set.find(&hay)))
    });
    let ac = aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(&keywords)
        .unwrap();
    g.bench_function("aho-corasick-dfa keywords only (no confirm)", |b| {
        b.iter(|| black_box(ac.find_overlapping_iter(&hay).count()))
    });
    let patterns: Vec<&str> = set.rules().iter().map(|r| r.pattern()).collect();
    let multi = regex_automata::meta::Regex::builder()
        .syntax(
            regex_automata::util::syntax::Config::new()
                .unicode(false)
                .utf8(false),
        )
        .configure(
            regex_automata::meta::Regex::config()
                .nfa_size_limit(Some(1 << 30))
                .hybrid_cache_capacity(64 << 20),
        )
        .build_many(&patterns);
    match multi {
        Ok(multi) => {
            g.bench_function("regex-automata multi-pattern (all rules)", |b| {
                b.iter(|| black_box(multi.find_iter(&hay).count()))
            });
        }
        Err(e) => eprintln!("regex-automata multi-pattern: cannot build over all rules: {e}"),
    }
    g.finish();
}

criterion_group!(benches, compile, search, strategies);
criterion_main!(benches);
