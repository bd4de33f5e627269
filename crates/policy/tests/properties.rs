//! Properties of evaluation: deny always wins, an added allow never denies, no panics.

use hush_policy::{Context, Effect, Loader, Policy, Request, Right, Tier};
use proptest::prelude::*;

const PROGRAMS: &[&str] = &["git", "ls", "cat", "make", "cargo", "g*", "{ls,cat}", "*"];
const ARGS: &[&str] = &["status", "log", "-la", "*", "src/*", "--force", "push"];

fn ctx() -> Context {
    Context::new("/w", "/home/me", "/tmp")
}

#[derive(Debug, Clone)]
struct Cmd {
    program: &'static str,
    args: Vec<&'static str>,
    effect: &'static str,
}

fn cmd(effects: &'static [&'static str]) -> impl Strategy<Value = Cmd> {
    (
        prop::sample::select(PROGRAMS),
        prop::collection::vec(prop::sample::select(ARGS), 0..3),
        prop::sample::select(effects),
    )
        .prop_map(|(program, args, effect)| Cmd {
            program,
            args,
            effect,
        })
}

fn toml(rules: &[Cmd]) -> String {
    let mut s = String::from("[risk]\nhigh = \"allow\"\ncritical = \"allow\"\n");
    for (i, r) in rules.iter().enumerate() {
        let args: Vec<String> = r.args.iter().map(|a| format!("{a:?}")).collect();
        s.push_str(&format!(
            "[[commands]]\nid = \"r{i}\"\nprogram = {:?}\nargs = [{}]\neffect = {:?}\n",
            r.program,
            args.join(", "),
            r.effect
        ));
    }
    s
}

fn load(tiers: &[(Tier, String)]) -> Option<Policy> {
    let mut l = Loader::new(ctx());
    l.secret_rules(None);
    for (t, text) in tiers {
        l.text(*t, format!("{}.toml", t.as_str()), text);
    }
    l.load().ok()
}

fn profiles() -> &'static [Policy] {
    static P: std::sync::OnceLock<Vec<Policy>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        ["dev", "prod", "ide", "test"]
            .iter()
            .map(|n| Loader::new(ctx()).profile(Tier::Project, n).load().unwrap())
            .collect()
    })
}

fn request() -> impl Strategy<Value = Request> {
    (
        prop::sample::select(&["git", "ls", "cat", "make", "cargo", "gcc"][..]),
        prop::collection::vec(
            prop::sample::select(&["status", "log", "-la", "src/a.rs", "--force", "push", "x"][..]),
            0..4,
        ),
    )
        .prop_map(|(p, a)| Request::exec(p, a, "/w"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn deny_always_wins(rules in prop::collection::vec(cmd(&["allow", "confirm"]), 0..8), req in request()) {
        let Request::Exec(e) = &req else { unreachable!() };
        let deny = Cmd { program: PROGRAMS[0], args: vec![], effect: "deny" };
        let deny = Cmd { program: Box::leak(e.program.clone().into_boxed_str()), ..deny };
        let project = toml(&rules);
        let Some(p) = load(&[(Tier::System, toml(&[deny])), (Tier::Project, project)]) else {
            return Err(TestCaseError::reject("generated policy did not load"));
        };
        let d = p.evaluate(&req);
        prop_assert_eq!(d.effect, Effect::Deny, "{:?}", d);
    }

    #[test]
    fn adding_an_allow_rule_never_denies_what_was_allowed(
        rules in prop::collection::vec(cmd(&["allow", "confirm", "deny"]), 0..8),
        extra in cmd(&["allow"]),
        req in request(),
    ) {
        let Some(before) = load(&[(Tier::Project, toml(&rules))]) else {
            return Err(TestCaseError::reject("generated policy did not load"));
        };
        let mut more = rules.clone();
        more.push(extra);
        let Some(after) = load(&[(Tier::Project, toml(&more))]) else {
            return Err(TestCaseError::reject("extended policy did not load"));
        };
        if before.evaluate(&req).effect == Effect::Allow {
            prop_assert_eq!(after.evaluate(&req).effect, Effect::Allow);
        }
    }

    #[test]
    fn evaluation_never_panics(
        program in ".{0,20}",
        args in prop::collection::vec(".{0,40}", 0..6),
        cwd in "(/[a-z.]{0,5}){0,4}|[a-z.]{0,8}",
        path in "[~/a-z.%2eE$]{0,30}",
        host in "[a-z0-9.:\\[\\]-]{0,20}",
        port in any::<u16>(),
        json in "[\\[\\]{}\":,a-z0-9./ ]{0,60}",
    ) {
        for p in profiles() {
            let arguments = serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
            for req in [
                Request::exec(program.clone(), args.clone(), cwd.clone()),
                Request::file(path.clone(), Right::Delete, cwd.clone()),
                Request::connect(host.clone(), port),
                Request::tool(program.clone(), "read_file", arguments.clone()),
            ] {
                let d = p.evaluate(&req);
                prop_assert!(!d.reasons.iter().any(|r| r.contains("internal failure")), "{:?} -> {:?}", req, d);
            }
        }
    }
}

#[test]
fn errors_deny_with_a_reason() {
    let p = Loader::new(ctx())
        .profile(Tier::Project, "dev")
        .load()
        .unwrap();
    for req in [
        Request::exec("", Vec::<String>::new(), "/w"),
        Request::exec("ls", ["a\0b"], "/w"),
        Request::exec("ls", Vec::<String>::new(), "relative"),
        Request::tool("s", "t", serde_json::json!([1, 2])),
    ] {
        let d = p.evaluate(&req);
        assert_eq!(d.effect, Effect::Deny);
        assert!(d.reasons[0].starts_with("evaluation error: "), "{d:?}");
    }
    let deep = (0..100).fold(serde_json::json!("x"), |v, _| serde_json::json!({ "a": v }));
    let d = p.evaluate(&Request::tool("s", "t", deep));
    assert!(d.reasons[0].contains("nest deeper"), "{d:?}");
}

#[test]
fn an_empty_policy_denies_everything() {
    let p = Loader::new(ctx()).load().unwrap();
    assert_eq!(
        p.evaluate(&Request::exec("ls", ["-l"], "/w")).effect,
        Effect::Deny
    );
    assert_eq!(p.evaluate(&Request::connect("a.b", 1)).effect, Effect::Deny);
    assert!(!p.env_allowed("PATH"));
}
