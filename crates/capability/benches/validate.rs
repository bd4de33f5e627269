//! Token validation: parse, MAC chain, expiry, depth, revocation, access check, for tokens of
//! 1, 3 and 8 links (`Authority::validate` with no event sink); parsing alone for 3 links.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hush_capability::{Access, Authority, Grant, Operation, Request, Resource, Scope};
use secrecy::ExposeSecret;

fn token(a: &Authority, links: usize) -> String {
    let req = |agent: &str, grants: &[&str]| Request {
        agent: agent.into(),
        scope: Scope::new(grants.iter().map(|g| Grant::parse(g).expect("grant"))),
        ttl: Duration::from_secs(3600),
        max_depth: 8,
    };
    let mut t = a
        .request(&req(
            "agent-0",
            &[
                "read,write,list path:/home/me/project",
                "call tool:fs/*",
                "connect host:*.example.com",
            ],
        ))
        .expect("request")
        .encode();
    for i in 1..links {
        t = a
            .delegate(
                t.expose_secret(),
                &req(
                    &format!("agent-{i}"),
                    &["read,list path:/home/me/project", "call tool:fs/read_*"],
                ),
            )
            .expect("delegate")
            .encode();
    }
    t.expose_secret().to_string()
}

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
    let three = token(&a, 3);
    c.bench_function("parse/3", |b| {
        b.iter(|| hush_capability::Token::parse(std::hint::black_box(&three)))
    });
    let mut g = c.benchmark_group("validate");
    for links in [1, 3, 8] {
        let text = token(&a, links);
        assert!(a.validate(&text, &access).is_ok());
        g.bench_with_input(BenchmarkId::from_parameter(links), &text, |b, text| {
            b.iter(|| a.validate(std::hint::black_box(text), &access))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
