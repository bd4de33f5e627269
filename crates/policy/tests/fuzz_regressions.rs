//! Replays `fuzz/regressions/policy_toml/` through the calls the `policy_toml` fuzz target
//! makes, so every input the fuzzer ever found stays handled without a fuzzer.

use std::path::Path;

use hush_policy::{Context, Loader, Request, Right, Tier};

#[test]
fn policy_toml_regressions_load_or_fail_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/policy_toml");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        n += 1;
        let mut loader = Loader::new(Context::new("/w", "/home/u", "/tmp"));
        loader
            .secret_rules(None)
            .text(Tier::Project, "fuzz.toml", text);
        let Ok(policy) = loader.load() else { continue };
        let _ = policy.run_tests();
        for req in [
            Request::exec("git", ["status", "../x", "a;b"], "/w"),
            Request::exec("sh", ["-c", "x"], "/w"),
            Request::file("~/.ssh/id_rsa", Right::Read, "/w"),
            Request::connect("example.com", 443),
            Request::tool(
                "fs",
                "read_file",
                serde_json::json!({ "path": "../../etc/passwd" }),
            ),
        ] {
            let d = policy.evaluate(&req);
            assert!(
                !d.reasons.iter().any(|r| r.contains("internal failure")),
                "{}: {d:?}",
                path.display()
            );
        }
    }
    assert!(n >= 3, "no regression inputs in {}", dir.display());
}
