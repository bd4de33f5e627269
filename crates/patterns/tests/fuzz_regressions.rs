//! Replays the inputs committed under `fuzz/regressions/` through the same calls the fuzz
//! targets make, so every crash the fuzzers ever found stays fixed without a fuzzer.

use std::path::{Path, PathBuf};

use hush_patterns::{KnownValuesBuilder, RuleSet, RuleSetBuilder};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|p| {
            let d = std::fs::read(&p).unwrap();
            (p, d)
        })
        .collect()
}

fn load(text: &str) -> bool {
    let mut b = RuleSetBuilder::new();
    b.builtin(false);
    if b.add_toml("fuzz.toml".as_ref(), text).is_err() {
        return false;
    }
    match b.build() {
        Ok(set) => {
            let _ = set.find(text.as_bytes());
            let _ = set.check_examples(|_| true);
            true
        }
        Err(_) => false,
    }
}

#[test]
fn rules_toml_regressions_load_or_fail_cleanly() {
    for (path, data) in inputs("rules_toml") {
        if let Ok(text) = std::str::from_utf8(&data) {
            // Every committed rule-file regression is malformed and must be refused.
            assert!(!load(text), "{} loaded", path.display());
        }
    }
}

#[test]
fn gitleaks_toml_regressions_load_or_fail_cleanly() {
    for (path, data) in inputs("gitleaks_toml") {
        let text = format!("title = \"fuzz\"\n{}", String::from_utf8_lossy(&data));
        assert!(!load(&text), "{} loaded", path.display());
    }
}

#[test]
fn haystack_regressions_search_within_bounds() {
    let set = RuleSet::builtin().unwrap();
    let mut kb = KnownValuesBuilder::new();
    kb.add("FUZZ", b"fuzz-known-value/+=").unwrap();
    let known = kb.build().unwrap();
    for (_, data) in inputs("haystack") {
        for f in set.find_all(&data, Some(&known)) {
            assert!(f.span.end <= data.len() && f.secret_span.end <= data.len());
        }
    }
}
