//! `hush policy check`, `explain` and `profiles` through the real binary.

use std::path::Path;

use crate::util::{hush, run};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/policy")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn check_runs_the_policy_tests() {
    let ws = tempfile::tempdir().unwrap();
    let (code, out, err) = run(hush()
        .args([
            "policy",
            "check",
            &fixture("profile-ide.toml"),
            "--workspace",
        ])
        .arg(ws.path()));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS git push asks\n"), "{out}");
    assert!(
        out.ends_with("is valid: 10 rules, 14 tests, 0 failed\n"),
        "{out}"
    );
}

#[test]
fn check_exits_1_on_a_failing_test_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("agent.toml");
    std::fs::write(
        &f,
        "extends = [\"ide\"]\n\n[[tests]]\nname = \"curl\"\ncommand = [\"curl\", \"https://example.com\"]\nexpect = \"allow\"\n",
    )
    .unwrap();
    let (code, out, err) = run(hush().args(["policy", "check"]).arg(&f));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAIL curl ("), "{out}");
    assert!(
        out.contains("agent.toml:3:1): expected allow, got deny"),
        "{out}"
    );
    assert!(
        out.contains("reason: no command rule allows `curl`"),
        "{out}"
    );
}

#[test]
fn check_exits_2_naming_file_line_and_column() {
    let f = fixture("invalid/unknown-key.toml");
    let (code, out, err) = run(hush().args(["policy", "check", &f]));
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(
        err,
        format!("hush: error: {f}:4:1: unknown field `argz`, expected one of `id`, `program`, `args`, `exact`, `shell`, `effect`, `reason`\n")
    );
}

#[test]
fn explain_prints_decision_rules_reasons_and_risk() {
    let f = fixture("wrappers.toml");
    let (code, out, err) =
        run(hush().args(["policy", "explain", &f, "--", "git", "push", "--force"]));
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with("decision: deny\nrisk: medium\n"), "{out}");
    assert!(out.contains("rules: no-force, git-push\n"), "{out}");
    assert!(
        out.contains(
            "  - denied by rule `no-force` (project tier): force pushes rewrite history\n"
        ),
        "{out}"
    );

    let (code, out, _) = run(hush().args([
        "policy", "explain", &f, "--format", "json", "--", "git", "status",
    ]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["effect"], "allow");
    assert_eq!(v["rules"][0], "git");
}

#[test]
fn explain_covers_paths_connections_and_mcp_calls() {
    let (code, out, _) = run(hush().args([
        "policy",
        "explain",
        &fixture("network.toml"),
        "--connect",
        "api.github.com:80",
    ]));
    assert_eq!(code, 1);
    assert!(out.contains("is not in the network allowlist"), "{out}");
    let (code, out, _) = run(hush().args([
        "policy",
        "explain",
        &fixture("mcp.toml"),
        "--workspace",
        "/",
        "--mcp",
        "filesystem",
        "read_file",
        "--args",
        r#"{"path": "/etc/passwd"}"#,
    ]));
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(hush().args([
        "policy",
        "explain",
        &fixture("profile-ide.toml"),
        "--path",
        "~/.ssh/id_rsa",
    ]));
    assert_eq!(code, 1);
    assert!(out.contains("risk: critical"), "{out}");
}

#[test]
fn profiles_lists_and_prints() {
    let (code, out, _) = run(hush().args(["policy", "profiles"]));
    assert_eq!(code, 0);
    assert_eq!(
        out.lines()
            .map(|l| l.split(':').next().unwrap())
            .collect::<Vec<_>>(),
        ["dev", "prod", "ide", "test"]
    );
    let (code, out, _) = run(hush().args(["policy", "profiles", "ide"]));
    assert_eq!(code, 0);
    assert!(out.contains("id = \"ide.git\""));
    let (code, _, err) = run(hush().args(["policy", "profiles", "nope"]));
    assert_eq!(code, 2);
    assert!(err.contains("unknown profile `nope`"), "{err}");
}

#[test]
fn the_readme_policy_checks_as_shown() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("# agent.toml\nextends")
        .expect("README policy example");
    let end = start + readme[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("agent.toml");
    std::fs::write(&f, &readme[start..end]).unwrap();
    let (code, out, err) =
        run(hush()
            .current_dir(dir.path())
            .args(["policy", "check", "agent.toml"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        readme.contains(&out),
        "README shows other output than:\n{out}"
    );
    let (code, out, _) = run(hush().current_dir(dir.path()).args([
        "policy",
        "explain",
        "agent.toml",
        "--",
        "cat",
        "../../etc/hosts",
    ]));
    assert_eq!(code, 1);
    assert!(
        readme.contains(&out),
        "README shows other output than:\n{out}"
    );
}

#[test]
fn tiers_from_the_command_line_let_a_system_deny_win() {
    let dir = fixture("tiers/deny-wins");
    let (code, out, err) = run(hush().args([
        "policy",
        "explain",
        &format!("{dir}/project.toml"),
        "--system",
        &format!("{dir}/system.toml"),
        "--",
        "curl",
        "https://example.com",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("  - denied by rule `sys.no-curl` (system tier): administrator: no curl\n"),
        "{out}"
    );
    let (code, out, _) = run(hush().args([
        "policy",
        "explain",
        &format!("{dir}/project.toml"),
        "--",
        "curl",
        "https://example.com",
    ]));
    assert_eq!(code, 0, "{out}");
}
