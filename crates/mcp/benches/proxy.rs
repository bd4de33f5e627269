//! CPU time the guard adds per message, in process (no pipes, no server): a `tools/call`
//! request through all checks and the guard, and tool results of several sizes through pairing
//! and redaction. `bench/mcp.sh` measures the round trip through the real binary.
//!
//! `cargo bench -p hush-mcp --bench proxy`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hush_mcp::{Checker, PathConfig, Proxy, ProxyConfig, RateConfig, Rules};
use hush_patterns::{KnownValuesBuilder, RuleSet};
use serde_json::json;

fn proxy() -> Proxy {
    let rules = Arc::new(RuleSet::builtin().expect("built-in rules"));
    let mut kb = KnownValuesBuilder::new();
    kb.add("API_KEY", b"bench-known-value-0123456789")
        .expect("long enough");
    let known = Arc::new(kb.build_for(&rules).expect("known values"));
    let root = std::env::temp_dir();
    let checker = Checker::new(
        rules.clone(),
        known.clone(),
        PathConfig {
            roots: vec![root.clone()],
            base: root,
            home: None,
        },
    );
    let guard = Rules {
        blocked: vec!["delete_file".into()],
        confirm: vec![],
    };
    let mut config = ProxyConfig::new(vec!["bench".into()], rules, known, checker, Box::new(guard));
    config.rates = RateConfig {
        per_tool: u32::MAX,
        per_server: u32::MAX,
    };
    Proxy::new(config)
}

fn bench(c: &mut Criterion) {
    let p = proxy();
    let dir = std::env::temp_dir().join("notes.txt");
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "read_file", "arguments": {"path": dir, "encoding": "utf-8"}}})
    .to_string()
        + "\n";
    c.bench_function("tools/call request", |b| {
        b.iter(|| black_box(p.client_message(black_box(call.as_bytes()))))
    });
    let mut g = c.benchmark_group("tools/call result");
    for size in [256usize, 4096, 65536] {
        let text: String = "lorem ipsum dolor sit amet, consectetur adipiscing elit\n"
            .repeat(size / 56 + 1)[..size]
            .to_string();
        let result = json!({"jsonrpc": "2.0", "id": 1,
            "result": {"content": [{"type": "text", "text": text}], "isError": false}})
        .to_string()
            + "\n";
        g.throughput(Throughput::Bytes(result.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &result, |b, r| {
            b.iter(|| black_box(p.server_message(black_box(r.as_bytes()))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
