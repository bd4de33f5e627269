//! CPU time the guard adds per message, in process (no pipes, no server): a `tools/call`
//! request through all checks and the guard (the built-in rules, and a policy through
//! `PolicyGuard`), and tool results of several sizes through pairing and redaction.
//! `bench/mcp.sh` measures the round trip through the real binary with a sandboxed server.
//!
//! `cargo bench -p hush-mcp --bench proxy`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hush_mcp::{Checker, Guard, PathConfig, PolicyGuard, Proxy, ProxyConfig, RateConfig, Rules};
use hush_patterns::{KnownValuesBuilder, RuleSet};
use hush_policy::{Context, Loader, PolicyHandle, Tier};
use serde_json::json;

/// The filesystem server's rules, as in `examples/mcp-filesystem.toml`.
const POLICY: &str = r#"
[[mcp]]
id = "fs-read"
server = "filesystem"
tool = "{read_file,read_text_file,list_directory,search_files,get_file_info}"
[mcp.args.path]
paths = ["${tmp}/**"]
required = true

[[mcp]]
id = "fs-write"
server = "filesystem"
tool = "{write_file,edit_file}"
effect = "confirm"
[mcp.args.path]
paths = ["${tmp}/**"]
required = true

[[mcp]]
id = "fs-move"
server = "filesystem"
tool = "move_file"
effect = "deny"
"#;

fn policy_guard() -> Box<dyn Guard> {
    let tmp = std::env::temp_dir();
    let mut loader = Loader::new(Context::new(tmp.clone(), tmp.clone(), tmp));
    loader.text(Tier::Project, "bench.toml", POLICY);
    let handle = PolicyHandle::new(loader).expect("bench policy");
    Box::new(PolicyGuard::new(Arc::new(handle), "filesystem"))
}

fn proxy(guard: Box<dyn Guard>) -> Proxy {
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
    let mut config = ProxyConfig::new(vec!["bench".into()], rules, known, checker, guard);
    config.rates = RateConfig {
        per_tool: u32::MAX,
        per_server: u32::MAX,
    };
    Proxy::new(config)
}

fn rules_guard() -> Box<dyn Guard> {
    Box::new(Rules {
        blocked: vec!["delete_file".into()],
        confirm: vec![],
    })
}

fn bench(c: &mut Criterion) {
    let p = proxy(rules_guard());
    let dir = std::env::temp_dir().join("notes.txt");
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "read_file", "arguments": {"path": dir, "encoding": "utf-8"}}})
    .to_string()
        + "\n";
    c.bench_function("tools/call request", |b| {
        b.iter(|| black_box(p.client_message(black_box(call.as_bytes()))))
    });
    let with_policy = proxy(policy_guard());
    c.bench_function("tools/call request (policy guard)", |b| {
        b.iter(|| {
            let a = with_policy.client_message(black_box(call.as_bytes()));
            assert!(a.to_server.is_some(), "the policy allows the call");
            black_box(a)
        })
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
