//! Arbitrary text as a policy file: loading may fail, never panic; what loads must evaluate
//! every kind of request without an internal failure, and run its own tests.
#![no_main]

use hush_policy::{Context, Loader, Request, Right, Tier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut loader = Loader::new(Context::new("/w", "/home/u", "/tmp"));
    loader.secret_rules(None).text(Tier::Project, "fuzz.toml", text);
    let Ok(policy) = loader.load() else { return };
    let _ = policy.run_tests();
    for req in [
        Request::exec("git", ["status", "../x", "a;b"], "/w"),
        Request::exec("sh", ["-c", "x"], "/w"),
        Request::file("~/.ssh/id_rsa", Right::Read, "/w"),
        Request::connect("example.com", 443),
        Request::tool("fs", "read_file", serde_json::json!({ "path": "../../etc/passwd" })),
    ] {
        let d = policy.evaluate(&req);
        assert!(!d.reasons.iter().any(|r| r.contains("internal failure")), "{d:?}");
    }
});
