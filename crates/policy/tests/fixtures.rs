//! Policy tests as data: `tests/data/policy/` (see its README).

use std::path::{Path, PathBuf};

use hush_policy::{profile_names, Context, Loader, Policy, Tier};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/policy")
}

fn ctx() -> Context {
    Context::new("/work/proj", "/home/me", "/tmp")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

fn assert_tests_pass(what: &str, policy: &Policy) -> usize {
    let outcomes = policy.run_tests();
    assert!(!outcomes.is_empty(), "{what} has no [[tests]]");
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| {
            format!(
                "{} `{}`: {:?}\n  decision: {:?}",
                o.location, o.name, o.failures, o.decision
            )
        })
        .collect();
    assert!(failed.is_empty(), "{what}:\n{}", failed.join("\n"));
    outcomes.len()
}

#[test]
fn every_fixture_policy_passes_its_tests() {
    let mut n = 0;
    for f in files(&data()) {
        let policy = Loader::new(ctx())
            .file(Tier::Project, &f)
            .load()
            .unwrap_or_else(|e| panic!("{e}"));
        n += assert_tests_pass(&f.display().to_string(), &policy);
    }
    assert!(n >= 50, "only {n} fixture tests");
}

#[test]
fn every_profile_has_a_fixture() {
    for name in profile_names() {
        let f = data().join(format!("profile-{name}.toml"));
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(
            text.contains(&format!("extends = [\"{name}\"]")),
            "{}",
            f.display()
        );
    }
}

#[test]
fn tier_fixtures_pass_their_tests() {
    let mut cases = 0;
    for entry in std::fs::read_dir(data().join("tiers")).unwrap() {
        let dir = entry.unwrap().path();
        let mut loader = Loader::new(ctx());
        for (tier, name) in [
            (Tier::System, "system"),
            (Tier::User, "user"),
            (Tier::Project, "project"),
        ] {
            let f = dir.join(format!("{name}.toml"));
            if f.exists() {
                loader.file(tier, f);
            }
        }
        let policy = loader.load().unwrap_or_else(|e| panic!("{e}"));
        assert_tests_pass(&dir.display().to_string(), &policy);
        cases += 1;
    }
    assert!(cases >= 2);
}

#[test]
fn tiers_take_the_strictest_limits() {
    let dir = data().join("tiers/deny-wins");
    let policy = Loader::new(ctx())
        .file(Tier::System, dir.join("system.toml"))
        .file(Tier::User, dir.join("user.toml"))
        .file(Tier::Project, dir.join("project.toml"))
        .load()
        .unwrap();
    assert_eq!(policy.limits().wall_seconds, Some(60));
    assert_eq!(policy.limits().memory_mb, Some(512));
    assert_eq!(policy.sources().len(), 3);
}

#[test]
fn invalid_fixtures_fail_with_their_exact_message() {
    let files = files(&data().join("invalid"));
    assert!(files.len() >= 25);
    let mut wrong = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: first line must be `# expect: MESSAGE`", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let got = match Loader::new(ctx()).text(Tier::Project, &name, &text).load() {
            Ok(_) => "(loaded)".to_string(),
            Err(e) => e.to_string(),
        };
        if got != expect {
            wrong.push(format!("{name}\n  expect: {expect}\n  got:    {got}"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn every_builtin_profile_loads_alone() {
    for name in profile_names() {
        Loader::new(ctx())
            .profile(Tier::Project, name)
            .load()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn the_documented_example_is_valid_and_passes_its_tests() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md"))
            .unwrap();
    let start = doc
        .find("```toml\n# agent.toml")
        .expect("example in docs/policy.md")
        + "```toml\n".len();
    let end = start + doc[start..].find("\n```").unwrap();
    let policy = Loader::new(ctx())
        .text(Tier::Project, "docs/policy.md", &doc[start..end])
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(assert_tests_pass("docs/policy.md", &policy) >= 10);
}
