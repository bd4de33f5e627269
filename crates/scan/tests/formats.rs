//! Every report format, snapshotted with insta, and SARIF validated against the official
//! 2.1.0 schema (tests/data/sarif-schema-2.1.0.json, from OASIS).

use std::sync::Arc;

use hush_patterns::RuleSet;
use hush_scan::report::{render, Format, RenderOptions};
use hush_scan::{Commit, Detection, Scanner, Stats};

/// A fake token from a fixed seed, so snapshots are stable (never a real credential).
fn fake(prefix: &str, seed: u64, len: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let body: String = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect();
    format!("{prefix}{body}")
}

fn detections() -> (Arc<RuleSet>, Vec<Detection>) {
    let rules = Arc::new(RuleSet::builtin().expect("builtin rules"));
    let scanner = Scanner::new(rules.clone(), None);
    let mut stats = Stats::default();
    let file = format!(
        "# service settings\nGITHUB_TOKEN = \"{}\"\nname = \"a <b> & 'c'\"  # {}\n",
        fake("ghp_", 1, 36),
        fake("ghp_", 2, 36)
    );
    let mut all = scanner.scan_bytes(
        &Arc::from("config/app settings.py"),
        file.as_bytes(),
        None,
        &mut stats,
    );
    let commit = Arc::new(Commit::new(
        "0123456789abcdef0123456789abcdef01234567",
        "Ann Example",
        "ann@example.com",
        "2026-01-02T03:04:05+00:00",
        "add deploy script",
    ));
    let script = format!("#!/bin/sh\nexport TOKEN={}\n", fake("ghp_", 3, 36));
    all.extend(scanner.scan_bytes(
        &Arc::from("deploy.sh"),
        script.as_bytes(),
        Some(&commit),
        &mut stats,
    ));
    assert_eq!(all.len(), 3, "{all:?}");
    (rules, all)
}

fn rendered(format: Format, show: bool) -> String {
    let (rules, found) = detections();
    let opts = RenderOptions::new(&rules, "0.0.0-test").show_secrets(show);
    let mut out = Vec::new();
    render(format, &found, &opts, &mut out).expect("render");
    String::from_utf8(out).expect("utf8")
}

#[test]
fn text() {
    insta::assert_snapshot!(rendered(Format::Text, false));
}

#[test]
fn json() {
    insta::assert_snapshot!(rendered(Format::Json, false));
}

#[test]
fn json_lines() {
    insta::assert_snapshot!(rendered(Format::JsonLines, false));
}

#[test]
fn sarif() {
    insta::assert_snapshot!(rendered(Format::Sarif, false));
}

#[test]
fn junit() {
    insta::assert_snapshot!(rendered(Format::Junit, false));
}

#[test]
fn no_format_prints_a_secret_unless_asked() {
    let (_, found) = detections();
    let secrets: Vec<String> = found
        .iter()
        .map(|d| secrecy::ExposeSecret::expose_secret(d.secret()).to_string())
        .collect();
    for format in [
        Format::Text,
        Format::Json,
        Format::JsonLines,
        Format::Sarif,
        Format::Junit,
    ] {
        let masked = rendered(format, false);
        let shown = rendered(format, true);
        for s in &secrets {
            assert!(!masked.contains(&s[4..]), "{format:?} leaks a secret");
            assert!(
                shown.contains(s.as_str()),
                "{format:?} --show-secrets hides a secret"
            );
        }
    }
}

#[test]
fn junit_is_well_formed_xml_escaping_markup() {
    let xml = rendered(Format::Junit, false);
    assert!(xml.contains("a &lt;b&gt; &amp; &apos;c&apos;"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 3);
    assert_eq!(xml.matches("</testcase>").count(), 3);
}

/// Validates SARIF against the official schema with Python's `jsonschema` (installed by
/// `.ci/run`). Without it the test says so and passes, except under CI, where it fails.
#[test]
#[allow(clippy::print_stderr)] // Tells the developer when the check did not run.
fn sarif_validates_against_the_official_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("out.sarif");
    std::fs::write(&file, rendered(Format::Sarif, false)).expect("write");
    let empty = dir.path().join("empty.sarif");
    let rules = RuleSet::builtin().expect("rules");
    let mut out = Vec::new();
    render(
        Format::Sarif,
        &[],
        &RenderOptions::new(&rules, "0.0.0"),
        &mut out,
    )
    .expect("render");
    std::fs::write(&empty, out).expect("write");
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sarif-schema-2.1.0.json"
    );
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  v = jsonschema.Draft7Validator(schema)\n\
                  for f in sys.argv[2:]:\n\
                  \x20   errs = sorted(v.iter_errors(json.load(open(f))), key=str)\n\
                  \x20   for e in errs: print(f, list(e.path), e.message)\n\
                  \x20   assert not errs, f\n\
                  print('valid')\n";
    let probe = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with jsonschema is required under CI (pip install jsonschema)"
        );
        {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr().lock(),
                "SKIPPED: sarif schema validation needs `python3 -m pip install jsonschema`"
            );
        }
        return;
    }
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(schema)
        .arg(&file)
        .arg(&empty)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "SARIF is not valid:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
