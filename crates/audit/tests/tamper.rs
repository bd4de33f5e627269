//! Tamper tests: a clean log verifies; every kind of tampering is detected at the right line.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use hush_audit::{
    checkpoint_path, verify, AuditError, AuditWriter, CheckpointKey, Clock, Event, Options,
    ProblemKind, Sanitizer, Target,
};
use sha2::{Digest, Sha256};

#[derive(Debug, Default)]
struct TestClock(AtomicU64);

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        let s = self.0.fetch_add(1, Ordering::Relaxed);
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }
}

const SEED: [u8; 32] = [7; 32];

fn public() -> String {
    CheckpointKey::from_seed(&SEED).public_hex()
}

fn opts(session: &str) -> Options {
    let mut o = Options::default();
    o.checkpoint_every = 10;
    o.session = Some(session.into());
    o
}

/// A closed log of `n` requests (plus session start and end), checkpoints every 10 records.
fn write_log(dir: &Path, n: usize) -> PathBuf {
    let log = dir.join("audit.jsonl");
    let mut w = AuditWriter::open_with_clock(
        &log,
        Sanitizer::danger_unredacted(),
        Some(CheckpointKey::from_seed(&SEED)),
        opts("s1"),
        Box::new(TestClock::default()),
    )
    .unwrap();
    for i in 0..n {
        w.append(&Event::Request {
            id: i.to_string(),
            target: Target::Command {
                argv: vec!["ls".into(), format!("dir{i}")],
            },
            cwd: Some("/w".into()),
        })
        .unwrap();
    }
    w.close().unwrap();
    log
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(p: &Path, lines: &[String]) {
    let mut s = lines.join("\n");
    if !lines.is_empty() {
        s.push('\n');
    }
    std::fs::write(p, s).unwrap();
}

/// Recomputes a line's own hash after its body was changed (what a careful forger does).
fn rehash(line: &str) -> String {
    let body = &line[..line.len() - 75];
    format!(
        "{body},\"hash\":\"{}\"}}",
        hex::encode(Sha256::digest(body.as_bytes()))
    )
}

fn hash_of(line: &str) -> &str {
    &line[line.len() - 66..line.len() - 2]
}

fn problem(log: &Path) -> (ProblemKind, u64, bool) {
    let r = verify(log, Some(&public())).unwrap();
    let p = r
        .problem
        .unwrap_or_else(|| panic!("no problem found in {log:?}"));
    (p.kind, p.line, p.in_checkpoints)
}

#[test]
fn a_clean_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 25);
    let r = verify(&log, Some(&public())).unwrap();
    assert!(r.is_ok(), "{:?}", r.problem);
    assert_eq!((r.records, r.last_seq, r.sessions), (27, 27, 1));
    assert_eq!(
        (r.checkpoints, r.signed_through, r.unsigned_tail()),
        (3, 27, 0)
    );
    assert!(r.anchored);
    // Unanchored: the key named in the checkpoints is used, and said so.
    let r = verify(&log, None).unwrap();
    assert!(r.is_ok() && !r.anchored && r.key == Some(public()));
}

#[test]
fn an_edited_record_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 25);
    let mut l = lines(&log);
    l[4] = l[4].replace("dir3", "dir9");
    write_lines(&log, &l);
    assert_eq!(problem(&log), (ProblemKind::Edited, 5, false));
}

#[test]
fn a_deleted_record_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 25);
    let mut l = lines(&log);
    l.remove(4);
    write_lines(&log, &l);
    assert_eq!(problem(&log), (ProblemKind::Deleted, 5, false));
}

#[test]
fn reordered_records_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 25);
    let mut l = lines(&log);
    l.swap(4, 5);
    write_lines(&log, &l);
    assert_eq!(problem(&log), (ProblemKind::Reordered, 5, false));
}

#[test]
fn an_inserted_record_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 25);
    let mut l = lines(&log);
    // A forged copy of record 5 with a valid self-hash, inserted after it.
    let forged = rehash(&l[4].replace("dir3", "evil"));
    l.insert(5, forged);
    write_lines(&log, &l);
    assert_eq!(problem(&log), (ProblemKind::Reordered, 6, false));
}

#[test]
fn a_rewrite_with_a_recomputed_chain_hits_the_next_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 25);
    let mut l = lines(&log);
    l[2] = rehash(&l[2].replace("dir1", "dirX"));
    for i in 3..l.len() {
        let prev = hash_of(&l[i - 1]).to_string();
        let start = l[i].find("\"prev\":\"").unwrap() + 8;
        let mut s = l[i].clone();
        s.replace_range(start..start + 64, &prev);
        l[i] = rehash(&s);
    }
    write_lines(&log, &l);
    // Record 10 is the first one a signed checkpoint names.
    assert_eq!(problem(&log), (ProblemKind::CheckpointMismatch, 10, false));
}

#[test]
fn tail_truncation_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 25);
    let mut l = lines(&log);
    l.truncate(l.len() - 3);
    write_lines(&log, &l);
    let r = verify(&log, Some(&public())).unwrap();
    let p = r.problem.unwrap();
    assert_eq!(p.kind, ProblemKind::Truncated);
    assert_eq!(p.seq, Some(25));
    assert!(
        p.message.contains("3 record(s) removed from the end"),
        "{}",
        p.message
    );
    // Everything truncated away, the checkpoints still say there was a log.
    write_lines(&log, &[]);
    assert_eq!(problem(&log).0, ProblemKind::Truncated);
}

#[test]
fn a_removed_final_checkpoint_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 25);
    let ck = checkpoint_path(&log);
    let mut c = lines(&ck);
    c.pop();
    write_lines(&ck, &c);
    assert_eq!(problem(&log), (ProblemKind::MissingCheckpoint, 27, false));
}

#[test]
fn forged_checkpoints_and_wrong_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 25);
    let ck = checkpoint_path(&log);
    let good = lines(&ck);
    let mut c = good.clone();
    c[0] = c[0].replace("\"seq\":10", "\"seq\":11");
    write_lines(&ck, &c);
    assert_eq!(problem(&log), (ProblemKind::BadSignature, 1, true));
    write_lines(&ck, &good);
    let other = CheckpointKey::from_seed(&[9; 32]).public_hex();
    let r = verify(&log, Some(&other)).unwrap();
    assert_eq!(r.problem.unwrap().kind, ProblemKind::BadSignature);
}

#[test]
fn malformed_lines_are_named_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 5);
    let mut l = lines(&log);
    l[2] = "{\"seq\":3}".into();
    write_lines(&log, &l);
    assert_eq!(problem(&log), (ProblemKind::Malformed, 3, false));
    std::fs::write(&log, [0xff, 0xfe, b'\n']).unwrap();
    assert_eq!(problem(&log).0, ProblemKind::Malformed);
}

#[test]
fn secrets_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    let token = concat!("ghp_", "R8vKq2LmZx4TnW7yPbC3dF6hJ9sA1eU5gQ0o");
    let mut known = hush_patterns::KnownValuesBuilder::new();
    known
        .add("DB_PASSWORD", b"correct horse battery staple")
        .unwrap();
    let sanitizer = Sanitizer::builtin()
        .unwrap()
        .with_known(known.build().unwrap());
    let mut w = AuditWriter::open(&log, sanitizer, None, Options::default()).unwrap();
    w.append(&Event::Request {
        id: "1".into(),
        target: Target::Tool {
            server: "s".into(),
            tool: "t".into(),
            arguments: serde_json::json!({ "auth": format!("token {token}"), token: 1, "pw": ["correct horse battery staple"] }),
        },
        cwd: None,
    })
    .unwrap();
    assert_eq!(w.redactions(), 3);
    w.close().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains(token) && !text.contains("battery"),
        "the log holds a secret value:\n{}",
        text.replace(token, "<SECRET>")
            .replace("battery", "<SECRET>")
    );
    assert!(text.contains("token [REDACTED:hush.github.pat]"), "{text}");
    assert!(
        text.contains("\"pw\":[\"[REDACTED:hush.known-value]\"]"),
        "{text}"
    );
    assert!(
        text.contains("\"event\":{\"kind\":\"request\",\"cwd\":null,\"id\":\"1\""),
        "{text}"
    );
    assert!(verify(&log, None).unwrap().is_ok());
}

#[test]
fn two_writers_share_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    let key = || Some(CheckpointKey::from_seed(&SEED));
    let mut a = AuditWriter::open(&log, Sanitizer::danger_unredacted(), key(), opts("a")).unwrap();
    let mut b = AuditWriter::open(&log, Sanitizer::danger_unredacted(), key(), opts("b")).unwrap();
    for i in 0..30 {
        let w = if i % 3 == 0 { &mut a } else { &mut b };
        w.append(&Event::Note {
            id: None,
            message: format!("n{i}"),
        })
        .unwrap();
    }
    a.close().unwrap();
    b.close().unwrap();
    let r = verify(&log, Some(&public())).unwrap();
    assert!(r.is_ok(), "{:?}", r.problem);
    assert_eq!((r.records, r.sessions), (34, 2));
}

#[test]
fn an_interrupted_last_line_stops_appending() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 2);
    let mut text = std::fs::read(&log).unwrap();
    text.extend_from_slice(b"{\"seq\":5,\"ti");
    std::fs::write(&log, text).unwrap();
    let err = AuditWriter::open(
        &log,
        Sanitizer::danger_unredacted(),
        None,
        Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::Tail { .. }), "{err}");
    assert!(
        err.to_string().contains("the last line is incomplete"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn key_files_are_private_and_checked() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("audit.key");
    let k = CheckpointKey::create(&f).unwrap();
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        CheckpointKey::load(&f).unwrap().public_hex(),
        k.public_hex()
    );
    assert!(CheckpointKey::create(&f).is_err(), "overwrote a key");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = CheckpointKey::load(&f).unwrap_err().to_string();
    assert!(
        err.contains("mode 0644 lets others read it: run `chmod 600"),
        "{err}"
    );
    assert!(!format!("{k:?}").contains(&hex::encode([7u8; 32])));
}
