//! Replays `fuzz/regressions/audit_log/` through the calls the `audit_log` fuzz target makes.

use std::path::Path;

#[test]
fn audit_log_regressions_verify_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/audit_log");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let (log, ckpt) = match data.iter().position(|&b| b == 0xff) {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (&data[..], &[][..]),
        };
        let report = hush_audit::verify_bytes(log, ckpt, None).unwrap();
        assert!(report.records <= log.len() as u64);
        // Every committed input is damaged in some way.
        assert!(!report.is_ok(), "{report:?}");
        let _ = hush_audit::Review::from_records(hush_audit::records_from(log)).to_text();
        n += 1;
    }
    assert!(n >= 3);
}
