//! `hush rules list` and `hush rules check`.

use crate::util::{hush, run};

#[test]
fn builtin_pack_passes_its_own_examples() {
    let (code, out, err) = run(hush().args(["rules", "check"]));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains(" 0 failed"), "{out}");
}

#[test]
fn list_json_has_every_rule_with_examples() {
    let (code, out, err) = run(hush().args(["rules", "list", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let rules: Vec<serde_json::Value> = serde_json::from_str(&out).expect("json");
    assert!(rules.len() >= 150, "only {} rules", rules.len());
    for r in &rules {
        assert!(r["examples"].as_u64().unwrap() >= 1, "{r}");
        assert!(r["id"].as_str().unwrap().starts_with("hush."), "{r}");
    }
}

#[test]
fn check_reports_a_broken_example_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(
        &file,
        r#"
[[rules]]
id = "acme.key"
name = "ACME key"
regex = '''\b(acme_[a-z0-9]{16})\b'''
keywords = ["acme_"]
examples = ["k = acme_q8w7e6r5t4y3u2i1", { text = "acme_q8w7e6r5t4y3u2i1", secret = "acme_0000000000000000" }]
negative_examples = ["acme_z9x8c7v6b5n4m3l2"]
"#,
    )
    .unwrap();
    let (code, out, err) = run(hush().args(["rules", "check"]).arg(&file));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("checked 1 rules, 3 examples: 2 failed"),
        "{out}"
    );
    assert!(
        err.contains("mine.toml:2: rule `acme.key`: example \"acme_q8w7e6r5t4y3u2i1\" yields"),
        "{err}"
    );
    assert!(
        err.contains("negative example \"acme_z9x8c7v6b5n4m3l2\" matched"),
        "{err}"
    );
}

#[test]
fn invalid_rule_file_exits_2_naming_file_line_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "# comment\n\n[[rules]]\nid = \"acme.unbounded\"\nname = \"x\"\nregex = 'acme_[a-z]+'\nkeywords = [\"acme_\"]\nexamples = [\"acme_abc\"]\n",
    )
    .unwrap();
    let (code, _, err) = run(hush().args(["rules", "check", "--no-builtin"]).arg(&file));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.toml:3: rule `acme.unbounded`: the regex has no maximum match length"),
        "{err}"
    );
}

#[test]
fn toml_syntax_error_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("syntax.toml");
    std::fs::write(&file, "[[rules]]\nid = \"a.b\"\nname = \n").unwrap();
    let (code, _, err) = run(hush()
        .args(["rules", "list", "--no-builtin", "--rules"])
        .arg(&file));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("syntax.toml:3:"), "{err}");
}

#[test]
fn gitleaks_configs_list_and_check_with_notes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".gitleaks.toml");
    std::fs::write(
        &file,
        r#"
title = "team"
[[rules]]
id = "team-key"
description = "Team API key"
regex = '''team_[a-z0-9]{24}'''
keywords = ["team_"]
path = '''\.env$'''
"#,
    )
    .unwrap();
    let (code, out, err) = run(hush().args(["rules", "check", "--no-builtin"]).arg(&file));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("checked 1 rules, 0 examples: 0 failed"),
        "{out}"
    );
    assert!(
        err.contains("rule `team-key`: `path` is not honoured"),
        "{err}"
    );
    let (code, out, _) = run(hush()
        .args(["rules", "list", "--no-builtin", "--rules"])
        .arg(&file));
    assert_eq!(code, 0);
    assert!(out.contains("team-key") && out.contains("1 rules"), "{out}");
}
