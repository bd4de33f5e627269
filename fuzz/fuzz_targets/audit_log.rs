//! Arbitrary bytes as an audit log and its checkpoint file (split at the first 0xff byte):
//! verification and review may report problems, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (log, ckpt) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let report = hush_audit::verify_bytes(log, ckpt, None).expect("in-memory verify has no I/O");
    assert!(report.records <= log.len() as u64);
    let _ = hush_audit::Review::from_records(hush_audit::records_from(log)).to_text();
});
