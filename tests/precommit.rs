//! The `.pre-commit-hooks.yaml` hooks, run by the real `pre-commit` tool (from PyPI; `.ci/run`
//! installs it) in a scratch repository.

use crate::util::{available, fake_token, Repo};

#[test]
fn pre_commit_framework_runs_the_hush_hook() {
    if !available(
        std::process::Command::new("pre-commit").arg("--version"),
        "the pre-commit test",
        "python3 -m pip install pre-commit",
    ) {
        return;
    }
    // A hook repository holding this project's .pre-commit-hooks.yaml.
    let hooks = Repo::new();
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.pre-commit-hooks.yaml"
    ))
    .expect("read .pre-commit-hooks.yaml");
    hooks.write(".pre-commit-hooks.yaml", yaml);
    let rev = hooks.commit_all("hooks");

    let project = Repo::new();
    project.write(
        ".pre-commit-config.yaml",
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: hush-system\n",
            hooks.path().display()
        ),
    );
    project.write("README.md", "project\n");
    project.commit_all("init");

    let cache = tempfile::tempdir().expect("tempdir");
    let pre_commit = |args: &[&str]| {
        project
            .with_hush_on_path("pre-commit")
            .args(args)
            .env("PRE_COMMIT_HOME", cache.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("run pre-commit")
    };

    // A staged secret fails the hook and names the place.
    project.write("app.env", format!("TOKEN={}\n", fake_token(40)));
    project.git(&["add", "app.env"]);
    let out = pre_commit(&["run"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("app.env:1:7: hush.github.pat"), "{text}");
    assert!(
        !text.contains(&fake_token(40)[4..]),
        "the secret must be masked (output not shown: it would print it)"
    );

    // Installed as the git hook, it blocks `git commit`.
    let out = pre_commit(&["install"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let commit = |msg: &str| {
        project
            .with_hush_on_path("git")
            .args(["commit", "-q", "-m", msg])
            .env("PRE_COMMIT_HOME", cache.path())
            .output()
            .expect("git commit")
    };
    assert!(
        !commit("leak").status.success(),
        "the secret commit must be blocked"
    );

    // Clean staged content passes.
    project.git(&["rm", "-q", "--cached", "app.env"]);
    project.write("ok.txt", "nothing secret\n");
    project.git(&["add", "ok.txt"]);
    let out = commit("clean");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
