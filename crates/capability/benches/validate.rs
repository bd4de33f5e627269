//! Token validation: parse, MAC chain, expiry, depth, revocation, access check, for tokens of
//! 1, 3 and 8 links (`Authority::validate` with no event sink); parsing alone for 3 links; the
//! check `hush mcp --require-capability` adds to a tool call.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hush_capability::{Access, Authority, Grant, Operation, Request, Resource, Scope};
use secrecy::ExposeSecret;

/// A token of `links` links: a root with `root` grants, then delegations asking for `child`.
fn token(a: &Authority, links: usize, root: &[&str], child: &[&str]) -> String {
    let req = |agent: &str, grants: &[&str]| Request {
        agent: agent.into(),
        scope: Scope::new(grants.iter().map(|g| Grant::parse(g).expect("grant"))),
        ttl: Duration::from_secs(3600),
        max_depth: 8,
    };
    let mut t = a.request(&req("agent-0", root)).expect("request").encode();
    for i in 1..links {
        t = a
            .delegate(t.expose_secret(), &req(&format!("agent-{i}"), child))
            .expect("delegate")
            .encode();
    }
    t.expose_secret().to_string()
}

const ROOT: &[&str] = &[
    "read,write,list path:/home/me/project",
    "call tool:fs/*",
    "connect host:*.example.com",
];
const CHILD: &[&str] = &["read,list path:/home/me/project", "call tool:fs/read_*"];

fn bench(c: &mut Criterion) {
    let a = Authority::ephemeral().expect("authority");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let access = Access {
        resource: Resource::parse("/home/me/project/src/main.rs").expect("resource"),
        operation: Operation::Read,
        now,
    };
    let three = token(&a, 3, ROOT, CHILD);
    let three_call = token(
        &a,
        3,
        &["call path:/home/me", "call tool:fs/*"],
        &["call path:/home/me/project", "call tool:fs/read_*"],
    );
    c.bench_function("parse/3", |b| {
        b.iter(|| hush_capability::Token::parse(std::hint::black_box(&three)))
    });
    let mut g = c.benchmark_group("validate");
    for links in [1, 3, 8] {
        let text = token(&a, links, ROOT, CHILD);
        assert!(a.validate(&text, &access).is_ok());
        g.bench_with_input(BenchmarkId::from_parameter(links), &text, |b, text| {
            b.iter(|| a.validate(std::hint::black_box(text), &access))
        });
    }
    g.finish();

    // What `hush mcp --require-capability` adds to a tool call: the resources of its
    // arguments, then one validation of the tool and each resource.
    let arguments =
        serde_json::json!({"path": "src/main.rs", "encoding": "utf-8", "max_lines": 200});
    let base = std::path::Path::new("/home/me/project");
    let check = || {
        let mut accesses = vec![Access {
            resource: Resource::parse("tool:fs/read_file").expect("tool"),
            operation: Operation::Call,
            now,
        }];
        let found =
            hush_capability::resources_in_arguments(&arguments, base, None).expect("resources");
        accesses.extend(found.into_iter().map(|resource| Access {
            resource,
            operation: Operation::Call,
            now,
        }));
        a.validate_all(std::hint::black_box(&three_call), &accesses)
    };
    assert!(check().is_ok());
    c.bench_function("mcp call check/3", |b| b.iter(check));
}

criterion_group!(benches, bench);
criterion_main!(benches);
