//! Decision latency for a 100-rule policy (issue target: under 1 µs per decision).
//!
//! `cargo bench -p hush-policy --bench evaluate`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use hush_patterns::RuleSet;
use hush_policy::{Context, Loader, Policy, Request, Right, Tier};

/// 40 command rules, 40 filesystem rules, 15 MCP rules and 5 secret grants.
fn hundred_rules() -> String {
    let mut s = String::from("[network]\nmode = \"allowlist\"\nallow = [\"api.github.com:443\", \"*.npmjs.org:443\"]\n[environment]\nallow = [\"PATH\", \"LC_*\"]\n");
    for i in 0..40 {
        let effect = if i % 10 == 9 { "deny" } else { "allow" };
        s.push_str(&format!(
            "[[commands]]\nid = \"cmd{i}\"\nprogram = \"tool{i}\"\nargs = [\"sub{i}\", \"*\"]\neffect = \"{effect}\"\n"
        ));
    }
    for i in 0..40 {
        let effect = if i % 10 == 9 { "deny" } else { "allow" };
        s.push_str(&format!(
            "[[filesystem]]\nid = \"fs{i}\"\npaths = [\"${{workspace}}/dir{i}/**\", \"/srv/data{i}/*.csv\"]\nrights = [\"read\", \"write\"]\neffect = \"{effect}\"\n"
        ));
    }
    for i in 0..15 {
        s.push_str(&format!(
            "[[mcp]]\nid = \"mcp{i}\"\nserver = \"server{i}\"\ntool = \"read_*\"\n[mcp.args.path]\npaths = [\"${{workspace}}/**\"]\n"
        ));
    }
    for i in 0..5 {
        s.push_str(&format!(
            "[[secrets]]\nid = \"sec{i}\"\nname = \"entry{i}\"\nenv = \"TOKEN_{i}\"\nprograms = [\"tool{i}\"]\n"
        ));
    }
    s
}

fn policy(rules: Option<Arc<RuleSet>>) -> Policy {
    let mut l = Loader::new(Context::new("/work/proj", "/home/me", "/tmp"));
    l.secret_rules(rules)
        .text(Tier::Project, "bench.toml", &hundred_rules());
    let p = l.load().expect("bench policy loads");
    assert_eq!(p.rule_count(), 100);
    p
}

fn bench(c: &mut Criterion) {
    let with_pack = policy(Some(Arc::new(RuleSet::builtin().unwrap())));
    let without = policy(None);
    let exec = Request::exec("tool7", ["sub7", "--verbose", "src/main.rs"], "/work/proj");
    let file = Request::file("/work/proj/dir12/notes.txt", Right::Read, "/work/proj");
    let mcp = Request::tool(
        "server3",
        "read_file",
        serde_json::json!({ "path": "src/lib.rs" }),
    );
    let connect = Request::connect("registry.npmjs.org", 443);
    assert!(with_pack.evaluate(&exec).is_allowed());
    assert!(with_pack.evaluate(&file).is_allowed());
    assert!(with_pack.evaluate(&mcp).is_allowed());
    assert!(with_pack.evaluate(&connect).is_allowed());

    let mut g = c.benchmark_group("evaluate-100-rules");
    g.bench_function("exec", |b| b.iter(|| without.evaluate(black_box(&exec))));
    g.bench_function("exec+secret-scan", |b| {
        b.iter(|| with_pack.evaluate(black_box(&exec)))
    });
    g.bench_function("file", |b| b.iter(|| without.evaluate(black_box(&file))));
    g.bench_function("mcp", |b| b.iter(|| without.evaluate(black_box(&mcp))));
    g.bench_function("mcp+secret-scan", |b| {
        b.iter(|| with_pack.evaluate(black_box(&mcp)))
    });
    g.bench_function("connect", |b| {
        b.iter(|| without.evaluate(black_box(&connect)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
