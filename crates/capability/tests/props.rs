//! Property tests: scope intersection is exact, commutative, associative and idempotent, and a
//! delegated token never allows what its parent does not.

use std::time::Duration;

use hush_capability::{
    Access, Authority, Grant, Operation, Operations, Pattern, Request, Resource, Scope,
};
use proptest::prelude::*;
use secrecy::ExposeSecret;

const OPS: [Operation; 7] = [
    Operation::Read,
    Operation::Write,
    Operation::Delete,
    Operation::List,
    Operation::Exec,
    Operation::Connect,
    Operation::Call,
];

fn path_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "ab"]), 0..4)
        .prop_map(|segs| format!("/{}", segs.join("/")))
}

fn host_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["x.com", "a.x.com", "b.a.x.com", "y.org", "a.y.org"])
        .prop_map(str::to_string)
}

fn name_pattern() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "*",
        "r*",
        "re*",
        "read",
        "read_file",
        "write",
        "fs",
        "f*",
    ])
    .prop_map(str::to_string)
}

fn tool_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["read", "read_file", "re", "write", "fs", "f"])
        .prop_map(str::to_string)
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        path_text().prop_map(|p| format!("path:{p}")),
        (
            prop_oneof![
                Just("*".to_string()),
                host_name(),
                host_name().prop_map(|h| format!("*.{h}"))
            ],
            prop::option::of(prop::sample::select(vec![80u16, 443]))
        )
            .prop_map(|(h, p)| match p {
                Some(p) => format!("host:{h}:{p}"),
                None => format!("host:{h}"),
            }),
        (name_pattern(), name_pattern()).prop_map(|(s, t)| format!("tool:{s}/{t}")),
    ]
    .prop_map(|text| Pattern::parse(&text).expect("generated patterns parse"))
}

fn scope() -> impl Strategy<Value = Scope> {
    prop::collection::vec(
        (1u16..128, pattern())
            .prop_map(|(bits, p)| Grant::new(Operations::from_bits(bits).expect("7 bits"), p)),
        0..5,
    )
    .prop_map(Scope::new)
}

fn resource() -> impl Strategy<Value = Resource> {
    prop_oneof![
        path_text(),
        (host_name(), prop::sample::select(vec![80u16, 443, 22]))
            .prop_map(|(h, p)| format!("host:{h}:{p}")),
        (tool_name(), tool_name()).prop_map(|(s, t)| format!("tool:{s}/{t}")),
    ]
    .prop_map(|text| Resource::parse(&text).expect("generated resources parse"))
}

fn accesses() -> impl Strategy<Value = Vec<(Resource, Operation)>> {
    prop::collection::vec((resource(), prop::sample::select(OPS.to_vec())), 1..24)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn intersection_is_exact_commutative_and_idempotent(
        a in scope(), b in scope(), c in scope(), probes in accesses()
    ) {
        let ab = a.intersect(&b);
        prop_assert_eq!(&ab, &b.intersect(&a));
        prop_assert_eq!(&a.intersect(&a), &a);
        prop_assert_eq!(ab.intersect(&c), a.intersect(&b.intersect(&c)));
        prop_assert!(ab.is_subset(&a) && ab.is_subset(&b));
        for g in a.grants().iter().chain(b.grants()) {
            for h in a.grants().iter().chain(b.grants()) {
                let (p, q) = (&g.pattern, &h.pattern);
                prop_assert_eq!(p.is_subset(q), p.intersect(q).as_ref() == Some(p), "{} ⊆ {}", p, q);
            }
        }
        for (r, op) in &probes {
            prop_assert_eq!(ab.allows(r, *op), a.allows(r, *op) && b.allows(r, *op), "{} {}", op, r);
        }
    }

    #[test]
    fn a_delegated_token_allows_a_subset_of_its_parent(
        parent in scope(), asked in scope(), probes in accesses(), ttl in 1u64..10_000
    ) {
        prop_assume!(!parent.is_empty());
        let a = Authority::ephemeral().unwrap();
        let p = a.request(&Request {
            agent: "p".into(), scope: parent.clone(), ttl: Duration::from_secs(3600), max_depth: 2,
        }).unwrap();
        let child = a.delegate(p.encode().expose_secret(), &Request {
            agent: "c".into(), scope: asked.clone(), ttl: Duration::from_secs(ttl), max_depth: 5,
        });
        let Ok(child) = child else {
            // Refused only when nothing of what was asked is in the parent.
            prop_assert!(parent.intersect(&asked).is_empty());
            return Ok(());
        };
        let (pt, ct) = (p.encode(), child.encode());
        let (ce, pe) = (child.effective().unwrap(), p.effective().unwrap());
        prop_assert!(ce.scope.is_subset(&parent));
        prop_assert!(ce.expires <= pe.expires);
        prop_assert!(ce.remaining_depth < pe.remaining_depth);
        let now = p.leaf().issued;
        for (resource, operation) in probes {
            let access = Access { resource, operation, now };
            if a.validate(ct.expose_secret(), &access).is_ok() {
                prop_assert!(a.validate(pt.expose_secret(), &access).is_ok(), "{:?}", access);
            }
        }
    }
}
