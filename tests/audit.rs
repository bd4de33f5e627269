//! `hush audit keygen|verify|review|stats` through the real binary, on a log written by
//! `hush policy explain --audit`.

use std::path::{Path, PathBuf};

use crate::util::{hush, run};

fn ide_policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policy/profile-ide.toml")
}

/// A signed log of four decisions in `dir`; returns (log, key file, public key).
fn signed_log(dir: &Path) -> (PathBuf, PathBuf, String) {
    let key = dir.join("audit.key");
    let log = dir.join("audit.jsonl");
    let (code, public, err) = run(hush().args(["audit", "keygen"]).arg(&key));
    assert_eq!(code, 0, "{err}");
    let token = concat!("ghp_", "R8vKq2LmZx4TnW7yPbC3dF6hJ9sA1eU5gQ0o");
    for cmd in [
        vec!["git", "status"],
        vec!["git", "push", "origin", "main"],
        vec!["curl", "https://example.com"],
        vec!["grep", token, "src"],
    ] {
        let (code, out, err) = run(hush()
            .args(["policy", "explain"])
            .arg(ide_policy())
            .arg("--workspace")
            .arg(dir)
            .arg("--audit")
            .arg(&log)
            .arg("--audit-key")
            .arg(&key)
            .arg("--")
            .args(&cmd));
        assert!(code == 0 || code == 1, "{out}{err}");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(token), "a secret reached the audit log");
    (log, key, public.trim().to_string())
}

#[test]
fn verify_accepts_a_clean_log_and_names_the_first_tampered_record() {
    let dir = tempfile::tempdir().unwrap();
    let (log, key, public) = signed_log(dir.path());
    let (code, out, err) = run(hush()
        .args(["audit", "verify"])
        .arg(&log)
        .arg("--public-key")
        .arg(&public));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(": 16 records in 4 session(s), 4 signed checkpoint(s) through seq 16\n"),
        "{out}"
    );

    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(
        &log,
        text.replacen("\"effect\":\"deny\"", "\"effect\":\"allow\"", 1),
    )
    .unwrap();
    let (code, out, _) = run(hush()
        .args(["audit", "verify"])
        .arg(&log)
        .arg("--key")
        .arg(&key));
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("TAMPERED: "), "{out}");
    assert!(
        out.contains(": edited at log line 11 (seq 11): content does not match its hash"),
        "{out}"
    );

    let (code, out, _) = run(hush()
        .args(["audit", "verify", "--format", "json"])
        .arg(&log));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["problem"]["kind"], "edited");
    assert_eq!(v["problem"]["line"], 11);
}

#[test]
fn review_reports_denied_confirmed_and_high_risk_calls() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _, public) = signed_log(dir.path());
    let (code, out, err) = run(hush()
        .args([
            "audit",
            "review",
            "--format",
            "json",
            "--public-key",
            &public,
        ])
        .arg(&log));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["integrity"]["ok"], true);
    let r = &v["review"];
    assert_eq!(r["requests"], 4);
    assert_eq!(r["denied"].as_array().unwrap().len(), 2);
    assert_eq!(r["confirmed"][0]["target"], "git push origin main");
    assert_eq!(
        r["high_risk"][0]["target"],
        "grep [REDACTED:hush.github.pat] src"
    );
    assert_eq!(r["tools"]["git"]["calls"], 2);
    let (code, out, _) = run(hush().args(["audit", "review"]).arg(&log));
    assert_eq!(code, 0);
    assert!(out.contains("\ndenied: 2\n"), "{out}");
    assert!(out.contains("key not pinned"), "{out}");
}

#[test]
fn stats_summarise_decisions_as_text_and_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _, _) = signed_log(dir.path());
    let (code, out, _) = run(hush().args(["audit", "stats"]).arg(&log));
    assert_eq!(code, 0);
    assert!(
        out.starts_with("decisions: 4 (allow 1, confirm 1, deny 2)\n"),
        "{out}"
    );
    let (code, out, _) = run(hush()
        .args(["audit", "stats", "--format", "prometheus"])
        .arg(&log));
    assert_eq!(code, 0);
    assert!(
        out.contains("hush_policy_decisions_total{effect=\"deny\"} 2\n"),
        "{out}"
    );
    assert!(
        out.contains("hush_policy_rule_hits_total{rule=\"ide.git\"} 2\n"),
        "{out}"
    );
    assert!(
        out.contains("hush_policy_risk_flags_total{kind=\"secret-in-argument\"} 1\n"),
        "{out}"
    );
    assert!(
        out.contains("hush_policy_decision_seconds_count 4\n"),
        "{out}"
    );
}

#[test]
fn keygen_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    assert_eq!(run(hush().args(["audit", "keygen"]).arg(&key)).0, 0);
    let (code, _, err) = run(hush().args(["audit", "keygen"]).arg(&key));
    assert_eq!(code, 2);
    assert!(err.contains("File exists"), "{err}");
}
