//! The authority end to end: attenuation, expiry, revocation (cascading, per agent),
//! persistence across restarts, the ceiling, plans, and the events.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hush_capability::{
    Access, Action, Authority, CapError, Event, Grant, Limits, Operation, Rejection, Request,
    Resource, Scope, Status, Step,
};
use secrecy::ExposeSecret;

const T0: u64 = 1_800_000_000;

fn req(agent: &str, grants: &[&str], ttl: u64, depth: u8) -> Request {
    Request {
        agent: agent.into(),
        scope: Scope::new(grants.iter().map(|g| Grant::parse(g).unwrap())),
        ttl: Duration::from_secs(ttl),
        max_depth: depth,
    }
}

fn access(resource: &str, op: Operation, now: u64) -> Access {
    Access {
        resource: Resource::parse(resource).unwrap(),
        operation: op,
        now,
    }
}

struct Fixture {
    authority: Authority,
    clock: Arc<AtomicU64>,
    events: Arc<Mutex<Vec<Event>>>,
}

fn open(dir: &Path) -> Fixture {
    let clock = Arc::new(AtomicU64::new(T0));
    let events = Arc::new(Mutex::new(Vec::new()));
    let (c, e) = (clock.clone(), events.clone());
    let authority = Authority::open(dir)
        .unwrap()
        .with_clock(move || c.load(Ordering::SeqCst))
        .with_sink(move |ev: &Event| e.lock().unwrap().push(ev.clone()))
        .with_refresh_interval(Duration::ZERO);
    Fixture {
        authority,
        clock,
        events,
    }
}

/// A token's text for `r`.
fn issue(f: &Fixture, r: &Request) -> secrecy::SecretString {
    f.authority.request(r).unwrap().encode()
}

fn actions(f: &Fixture) -> Vec<&'static str> {
    f.events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.action.as_str())
        .collect()
}

#[test]
fn delegation_only_narrows() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let a = &f.authority;
    let parent = a
        .request(&req(
            "planner",
            &["read,write path:/p", "call tool:fs/*"],
            3600,
            2,
        ))
        .unwrap();
    // Asks for more than the parent has: gets only the overlap.
    let child = a
        .delegate(
            parent.encode().expose_secret(),
            &req(
                "helper",
                &["read,exec path:/", "call tool:*/read_*", "connect host:*"],
                99_999,
                9,
            ),
        )
        .unwrap();
    let e = child.effective().unwrap();
    let grants: Vec<String> = e.scope.grants().iter().map(Grant::to_string).collect();
    assert_eq!(grants, vec!["read path:/p", "call tool:fs/read_*"]);
    assert_eq!(e.expires, T0 + 3600, "a child cannot outlive its parent");
    assert_eq!(e.remaining_depth, 1);
    let text = child.encode();
    let t = text.expose_secret();
    assert!(a.validate(t, &access("/p/x", Operation::Read, T0)).is_ok());
    for (res, op) in [
        ("/p/x", Operation::Write),
        ("/p/x", Operation::Exec),
        ("/q", Operation::Read),
        ("tool:fs/write_file", Operation::Call),
        ("host:example.com", Operation::Connect),
    ] {
        assert!(
            matches!(
                a.validate(t, &access(res, op, T0)),
                Err(Rejection::NotAllowed { .. })
            ),
            "{op} {res}"
        );
    }
    // Nothing in common: refused.
    assert!(matches!(
        a.delegate(t, &req("x", &["write path:/p"], 60, 0)),
        Err(CapError::Invalid(_))
    ));
    // Depth: parent 2 → child 1 → grandchild 0 → no further.
    let g = a
        .delegate(t, &req("g", &["read path:/p/a"], 60, 5))
        .unwrap();
    assert_eq!(g.effective().unwrap().remaining_depth, 0);
    assert!(matches!(
        a.delegate(
            g.encode().expose_secret(),
            &req("h", &["read path:/p/a"], 60, 0)
        ),
        Err(CapError::Invalid(m)) if m.contains("no further delegation")
    ));
    assert_eq!(
        actions(&f),
        vec![
            "requested",
            "granted",
            "delegated",
            "validated",
            "validation-failed",
            "validation-failed",
            "validation-failed",
            "validation-failed",
            "validation-failed",
            "denied",
            "delegated",
            "denied"
        ]
    );
}

#[test]
fn expired_tokens_fail() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let t = issue(&f, &req("a", &["read path:/p"], 60, 0));
    let t = t.expose_secret();
    assert!(f
        .authority
        .validate(t, &access("/p", Operation::Read, T0 + 59))
        .is_ok());
    assert!(matches!(
        f.authority
            .validate(t, &access("/p", Operation::Read, T0 + 60)),
        Err(Rejection::Expired { expires, .. }) if expires == T0 + 60
    ));
    // An expired parent can't be delegated.
    f.clock.store(T0 + 61, Ordering::SeqCst);
    assert!(matches!(
        f.authority.delegate(t, &req("b", &["read path:/p"], 10, 0)),
        Err(CapError::Parent(Rejection::Expired { .. }))
    ));
    assert_eq!(
        f.authority.list().unwrap()[0].status,
        Status::Expired,
        "list shows the expiry"
    );
}

#[test]
fn revocation_cascades_to_descendants_only() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let a = &f.authority;
    let root = a.request(&req("r", &["read path:/p"], 3600, 3)).unwrap();
    let rt = root.encode();
    let mid = a
        .delegate(rt.expose_secret(), &req("m", &["read path:/p"], 600, 3))
        .unwrap();
    let mt = mid.encode();
    let leaf = a
        .delegate(mt.expose_secret(), &req("l", &["read path:/p/x"], 600, 0))
        .unwrap();
    let lt = leaf.encode();
    let sibling = a
        .delegate(rt.expose_secret(), &req("s", &["read path:/p"], 600, 0))
        .unwrap();
    let st = sibling.encode();
    // Offline delegation, never recorded.
    let offline = mid
        .attenuate(hush_capability::Link {
            id: hush_capability::LinkId([7; 16]),
            issued: T0,
            expires: T0 + 10,
            max_depth: 0,
            issuer: "m".into(),
            agent: "o".into(),
            scope: Scope::new([Grant::parse("read path:/p/y").unwrap()]),
        })
        .unwrap();
    let ot = offline.encode();
    let ok = |t: &str, p: &str| a.validate(t, &access(p, Operation::Read, T0)).is_ok();
    assert!(ok(ot.expose_secret(), "/p/y"));

    let out = a.revoke(mid.id()).unwrap();
    assert!(out.known);
    assert_eq!(out.cascaded, vec![leaf.id().to_string()]);
    assert!(!ok(mt.expose_secret(), "/p"));
    assert!(matches!(
        a.validate(lt.expose_secret(), &access("/p/x", Operation::Read, T0)),
        Err(Rejection::Revoked { id }) if id == mid.id().to_string()
    ));
    assert!(!ok(ot.expose_secret(), "/p/y"), "offline child revoked too");
    assert!(ok(rt.expose_secret(), "/p"), "the parent is untouched");
    assert!(ok(st.expose_secret(), "/p"), "the sibling is untouched");
    let status: Vec<(String, &str)> = a
        .list()
        .unwrap()
        .into_iter()
        .map(|l| (l.record.agent, l.status.as_str()))
        .collect();
    assert_eq!(
        status,
        vec![
            ("r".into(), "active"),
            ("m".into(), "revoked"),
            ("l".into(), "revoked-ancestor"),
            ("s".into(), "active"),
        ]
    );
    // Revoking the root takes everything.
    a.revoke(root.id()).unwrap();
    assert!(!ok(st.expose_secret(), "/p"));
}

#[test]
fn revoke_all_for_agent_spares_other_agents_and_later_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let a = &f.authority;
    let t1 = a
        .request(&req("bot", &["read path:/p"], 3600, 1))
        .unwrap()
        .encode();
    let t2 = a
        .request(&req("bot", &["call tool:fs/*"], 3600, 0))
        .unwrap()
        .encode();
    let other = a
        .request(&req("human", &["read path:/p"], 3600, 1))
        .unwrap()
        .encode();
    // A delegation to bot from someone else's token.
    let to_bot = a
        .delegate(
            other.expose_secret(),
            &req("bot", &["read path:/p/a"], 60, 0),
        )
        .unwrap()
        .encode();
    let revoked = a.revoke_all_for_agent("bot").unwrap();
    assert_eq!(revoked.len(), 3);
    for t in [&t1, &to_bot] {
        assert!(matches!(
            a.validate(t.expose_secret(), &access("/p/a", Operation::Read, T0)),
            Err(Rejection::Revoked { .. })
        ));
    }
    assert!(a
        .validate(
            t2.expose_secret(),
            &access("tool:fs/x", Operation::Call, T0)
        )
        .is_err());
    assert!(a
        .validate(other.expose_secret(), &access("/p", Operation::Read, T0))
        .is_ok());
    // Same second, after the revocation: a new token for bot is valid.
    let fresh = a
        .request(&req("bot", &["read path:/p"], 3600, 0))
        .unwrap()
        .encode();
    assert!(a
        .validate(fresh.expose_secret(), &access("/p", Operation::Read, T0))
        .is_ok());
}

#[test]
fn revocations_and_records_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (t, kept, id) = {
        let f = open(dir.path());
        let t = f
            .authority
            .request(&req("a", &["read path:/p"], 3600, 0))
            .unwrap();
        let kept = f
            .authority
            .request(&req("b", &["read path:/p"], 3600, 0))
            .unwrap();
        f.authority.revoke(t.id()).unwrap();
        f.authority.revoke_all_for_agent("c").unwrap();
        (t.encode(), kept.encode(), t.id())
    };
    use std::os::unix::fs::PermissionsExt;
    for name in ["key", "capabilities.json"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    let f = open(dir.path());
    let a = &f.authority;
    assert!(matches!(
        a.validate(t.expose_secret(), &access("/p", Operation::Read, T0)),
        Err(Rejection::Revoked { id: r }) if r == id.to_string()
    ));
    // Same key after the restart: the other token still verifies.
    assert!(a
        .validate(kept.expose_secret(), &access("/p", Operation::Read, T0))
        .is_ok());
    assert_eq!(a.list().unwrap().len(), 2);
    // Two authorities on one store: a revocation by one reaches the other.
    let g = open(dir.path());
    g.authority.revoke(token_id(&kept)).unwrap();
    assert!(a
        .validate(kept.expose_secret(), &access("/p", Operation::Read, T0))
        .is_err());
    // A loose key file is refused.
    std::fs::set_permissions(
        dir.path().join("key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    assert!(matches!(
        Authority::open(dir.path()),
        Err(CapError::Permissions { .. })
    ));
}

fn token_id(t: &secrecy::SecretString) -> hush_capability::LinkId {
    hush_capability::Token::parse(t.expose_secret())
        .unwrap()
        .id()
}

#[test]
fn the_ceiling_decides_requests() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits::from_toml(
        Path::new("ceiling.toml"),
        r#"
max_ttl_secs = 3600
max_depth = 1
agents = ["bot"]
grants = ["read,list path:/p", "call tool:fs/*"]
"#,
    )
    .unwrap();
    let f = open(dir.path());
    let a = f.authority.with_ceiling(limits);
    assert!(a
        .request(&req("bot", &["read path:/p/x", "call tool:fs/read"], 60, 1))
        .is_ok());
    for (r, why) in [
        (req("bot", &["write path:/p"], 60, 0), "outside the ceiling"),
        (req("bot", &["read path:/"], 60, 0), "outside the ceiling"),
        (req("bot", &["read path:/p"], 7200, 0), "lifetime"),
        (req("bot", &["read path:/p"], 60, 2), "depth"),
        (req("eve", &["read path:/p"], 60, 0), "may not ask"),
    ] {
        match a.request(&r) {
            Err(CapError::Denied(m)) => assert!(m.contains(why), "{m}"),
            other => panic!("{r:?}: {other:?}"),
        }
    }
    assert!(matches!(
        Limits::from_toml(Path::new("c.toml"), "grants = [\"fly path:/\"]"),
        Err(CapError::Ceiling { message, .. }) if message.contains("grants: `fly path:/`")
    ));
    // Denials are recorded as events, and nothing is issued.
    assert_eq!(a.list().unwrap().len(), 1);
}

#[test]
fn a_plan_gets_one_minimal_token_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let a = &f.authority;
    let steps: Vec<Step> = [
        "read /p/a.txt",
        "write /p/out",
        "call tool:fs/read_file",
        "connect https://api.example.com/v1",
    ]
    .iter()
    .map(|s| Step::parse(s).unwrap())
    .collect();
    let plan = a
        .request_for_plan("bot", &steps, Duration::from_secs(600))
        .unwrap();
    assert_eq!(plan.steps.len(), 4);
    let texts: Vec<_> = plan.steps.iter().map(|(_, t)| t.encode()).collect();
    let check = |i: usize, r: &str, op| {
        a.validate(texts[i].expose_secret(), &access(r, op, T0))
            .is_ok()
    };
    assert!(check(0, "/p/a.txt", Operation::Read));
    assert!(!check(0, "/p/b.txt", Operation::Read));
    assert!(!check(0, "/p/a.txt", Operation::Write));
    assert!(check(1, "/p/out/x", Operation::Write));
    assert!(!check(1, "/p/a.txt", Operation::Read));
    assert!(check(2, "tool:fs/read_file", Operation::Call));
    assert!(!check(2, "tool:fs/write_file", Operation::Call));
    assert!(check(3, "host:api.example.com:443", Operation::Connect));
    assert!(!check(3, "host:api.example.com:80", Operation::Connect));
    // Step tokens can't be delegated further.
    assert!(a
        .delegate(
            texts[0].expose_secret(),
            &req("x", &["read path:/p"], 60, 0)
        )
        .is_err());
    // Revoking the plan revokes every step.
    a.revoke(plan.id).unwrap();
    assert!(!check(2, "tool:fs/read_file", Operation::Call));
    let plans: Vec<Option<String>> = a
        .list()
        .unwrap()
        .into_iter()
        .map(|l| l.record.plan)
        .collect();
    assert_eq!(plans[0].as_deref(), Some("plan"));
    assert_eq!(
        plans[4].as_deref(),
        Some("connect host:api.example.com:443")
    );
}

#[test]
fn events_name_link_ids_never_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let t = f
        .authority
        .request(&req("a", &["read path:/p"], 60, 0))
        .unwrap();
    let text = t.encode();
    let _ = f
        .authority
        .validate(text.expose_secret(), &access("/q", Operation::Read, T0));
    let _ = f
        .authority
        .validate("hushcap1.garbage", &access("/q", Operation::Read, T0));
    f.authority.revoke(t.id()).unwrap();
    let events = f.events.lock().unwrap();
    let secret_part = &text.expose_secret()[20..40];
    for e in events.iter() {
        let dbg = format!("{e:?}");
        assert!(
            !dbg.contains(secret_part),
            "an event's Debug holds the token: {}",
            dbg.replace(secret_part, "<SECRET>")
        );
    }
    let last = events.last().unwrap();
    assert_eq!(last.action, Action::Revoked);
    assert_eq!(last.token, t.id().to_string());
    assert_eq!(events[3].token, "-");
    assert_eq!(events[3].action, Action::ValidationFailed);
}

#[test]
fn an_unreadable_revocation_list_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let f = open(dir.path());
    let t = issue(&f, &req("a", &["read path:/p"], 60, 0));
    let ok = || {
        f.authority
            .validate(t.expose_secret(), &access("/p", Operation::Read, T0))
    };
    assert!(ok().is_ok());
    std::fs::write(dir.path().join("capabilities.json"), "{not json").unwrap();
    assert!(matches!(ok(), Err(Rejection::Unavailable(m)) if m.contains("capabilities.json")));
}
