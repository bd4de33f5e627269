//! Replays the vault file vectors and any inputs committed under `fuzz/regressions/` through
//! the same calls the fuzz targets make, so every crash a fuzzer found stays fixed.

use std::path::Path;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn vault_file_inputs_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let vectors = files(&root.join("tests/data/vault"));
    assert!(vectors.len() >= 30, "vectors missing");
    let mut unlocked = 0;
    for (name, data) in vectors
        .iter()
        .chain(&files(&root.join("fuzz/regressions/vault_file")))
    {
        let n = hush_vault::fuzzing::vault_file(data);
        if name.ends_with("/good.vault") {
            assert_eq!(n, 2, "{name}: the fuzz passphrase unlocks the good vector");
        }
        unlocked += n;
    }
    assert!(unlocked >= 2);
}

#[test]
fn env_file_inputs_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for (_, data) in files(&root.join("fuzz/regressions/env_files")) {
        if let Ok(text) = std::str::from_utf8(&data) {
            hush_vault::fuzzing::env_files(text);
        }
    }
    hush_vault::fuzzing::env_files("[[var]]\nname = 'A'\nregex = '^x'\n");
    hush_vault::fuzzing::env_files("A=\"unterminated\nB='x'\n");
}
