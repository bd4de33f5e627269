//! Verification: every record's own hash, the chain, sequence numbers, every checkpoint's
//! signature, and every checkpoint's head against the record it names.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use ed25519_dalek::VerifyingKey;

use crate::checkpoint::Checkpoint;
use crate::error::AuditError;
use crate::event::Event;
use crate::key::parse_public_key;
use crate::record::{decode, parse_hash, LineError, GENESIS, MAX_RECORD_BYTES};
use crate::writer::checkpoint_path;

/// What kind of tampering (or damage) verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A line is not a record (or a checkpoint).
    Malformed,
    /// A record's content does not match its hash.
    Edited,
    /// Sequence numbers skip: records were removed.
    Deleted,
    /// A sequence number repeats or goes back: records were inserted or moved.
    Reordered,
    /// A record's `prev` is not the previous record's hash.
    BrokenChain,
    /// The log ends before a signed checkpoint: its tail was removed.
    Truncated,
    /// A record does not match the head a checkpoint signed: it was rewritten (with the chain
    /// recomputed).
    CheckpointMismatch,
    /// A checkpoint's signature does not verify.
    BadSignature,
    /// A session ended without its final checkpoint: checkpoints were removed.
    MissingCheckpoint,
}

impl ProblemKind {
    /// A short lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Malformed => "malformed",
            ProblemKind::Edited => "edited",
            ProblemKind::Deleted => "deleted",
            ProblemKind::Reordered => "reordered",
            ProblemKind::BrokenChain => "broken-chain",
            ProblemKind::Truncated => "truncated",
            ProblemKind::CheckpointMismatch => "checkpoint-mismatch",
            ProblemKind::BadSignature => "bad-signature",
            ProblemKind::MissingCheckpoint => "missing-checkpoint",
        }
    }
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// 1-based line in the log (or in the checkpoint file for checkpoint problems).
    pub line: u64,
    /// Whether `line` is in the checkpoint file.
    pub in_checkpoints: bool,
    /// The record's sequence number, when known.
    pub seq: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = if self.in_checkpoints {
            "checkpoints"
        } else {
            "log"
        };
        write!(f, "{} at {file} line {}", self.kind.as_str(), self.line)?;
        if let Some(s) = self.seq {
            write!(f, " (seq {s})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Records read.
    pub records: u64,
    /// Distinct sessions.
    pub sessions: u64,
    /// Checkpoints read.
    pub checkpoints: u64,
    /// The last sequence number.
    pub last_seq: u64,
    /// The last checkpoint's sequence number (0: none).
    pub signed_through: u64,
    /// The key that signed the checkpoints (hex).
    pub key: Option<String>,
    /// Whether the key was given by the caller (true) or only read from the checkpoint file.
    pub anchored: bool,
    /// The first problem, if any.
    pub problem: Option<Problem>,
}

impl Report {
    /// No problem found.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }

    /// Records after the last checkpoint: protected by the chain only.
    pub fn unsigned_tail(&self) -> u64 {
        self.last_seq.saturating_sub(self.signed_through)
    }
}

/// Verifies the log at `log` and its `<log>.checkpoints`. `key` is the trusted public key
/// (hex); without it the key named in the checkpoint file is used and the report says the
/// result is not anchored.
///
/// # Errors
///
/// [`AuditError::Io`] when the log cannot be read; [`AuditError::PublicKey`] for a bad `key`.
/// Tampering is not an error: it is the report's `problem`.
pub fn verify(log: &Path, key: Option<&str>) -> Result<Report, AuditError> {
    let ckpt = checkpoint_path(log);
    let open_log = || -> std::io::Result<Option<Reader<'_>>> {
        Ok(Some(Box::new(std::io::BufReader::new(
            std::fs::File::open(log)?,
        ))))
    };
    let open_ckpt = || -> std::io::Result<Option<Reader<'_>>> {
        match std::fs::File::open(&ckpt) {
            Ok(f) => Ok(Some(Box::new(std::io::BufReader::new(f)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    };
    verify_sources((log, &open_log), (&ckpt, &open_ckpt), key)
}

/// [`verify`] on a log and its checkpoints held in memory (empty `checkpoints`: none).
///
/// # Errors
///
/// [`AuditError::PublicKey`] for a bad `key`.
pub fn verify_bytes(
    log: &[u8],
    checkpoints: &[u8],
    key: Option<&str>,
) -> Result<Report, AuditError> {
    let open_log = || -> std::io::Result<Option<Reader<'_>>> { Ok(Some(Box::new(log))) };
    let open_ckpt = || -> std::io::Result<Option<Reader<'_>>> {
        Ok((!checkpoints.is_empty()).then(|| Box::new(checkpoints) as Reader<'_>))
    };
    verify_sources(
        (Path::new("<log>"), &open_log),
        (Path::new("<checkpoints>"), &open_ckpt),
        key,
    )
}

type Reader<'a> = Box<dyn BufRead + 'a>;
/// Opens a source afresh (`None`: it does not exist). Named by the path in errors.
type Open<'a, 'b> = (
    &'b Path,
    &'b dyn Fn() -> std::io::Result<Option<Reader<'a>>>,
);

fn verify_sources(
    log: Open<'_, '_>,
    ckpt: Open<'_, '_>,
    key: Option<&str>,
) -> Result<Report, AuditError> {
    let trusted = key.map(parse_public_key).transpose()?;
    let mut report = Report {
        records: 0,
        sessions: 0,
        checkpoints: 0,
        last_seq: 0,
        signed_through: 0,
        key: key.map(|k| k.trim().to_string()),
        anchored: trusted.is_some(),
        problem: None,
    };
    let checkpoints = match read_checkpoints(ckpt, trusted, &mut report)? {
        Ok(c) => c,
        Err(p) => {
            report.problem = Some(p);
            return Ok(report);
        }
    };
    if let Err(p) = check_records(log, &checkpoints, &mut report)? {
        report.problem = Some(p);
    }
    Ok(report)
}

/// `seq -> (checkpoint line, checkpoint)`.
type Checkpoints = BTreeMap<u64, (u64, Checkpoint)>;

fn read_checkpoints(
    (path, open): Open<'_, '_>,
    trusted: Option<VerifyingKey>,
    report: &mut Report,
) -> Result<Result<Checkpoints, Problem>, AuditError> {
    let Some(file) = open().map_err(|e| AuditError::io(path, e))? else {
        return Ok(Ok(BTreeMap::new()));
    };
    let mut key = trusted;
    let mut out = BTreeMap::new();
    let mut last = 0;
    let problem = |kind, line, seq, message: String| Problem {
        kind,
        line,
        in_checkpoints: true,
        seq,
        message,
    };
    for (i, line) in bounded_lines(file).enumerate() {
        let n = i as u64 + 1;
        let line = line.map_err(|e| AuditError::io(path, e))?;
        let Some(line) = line else {
            return Ok(Err(problem(
                ProblemKind::Malformed,
                n,
                None,
                "line too long".into(),
            )));
        };
        let c: Checkpoint = match serde_json::from_slice(&line) {
            Ok(c) => c,
            Err(_) => {
                return Ok(Err(problem(
                    ProblemKind::Malformed,
                    n,
                    None,
                    "not a checkpoint".into(),
                )))
            }
        };
        let k = match key {
            Some(k) => k,
            None => match parse_public_key(&c.key) {
                Ok(k) => {
                    report.key = Some(c.key.clone());
                    key = Some(k);
                    k
                }
                Err(_) => {
                    return Ok(Err(problem(
                        ProblemKind::Malformed,
                        n,
                        Some(c.seq),
                        "bad public key".into(),
                    )))
                }
            },
        };
        if !c.verify(&k) {
            return Ok(Err(problem(
                ProblemKind::BadSignature,
                n,
                Some(c.seq),
                "signature does not verify with the trusted key".into(),
            )));
        }
        if c.seq < last {
            return Ok(Err(problem(
                ProblemKind::Reordered,
                n,
                Some(c.seq),
                format!("checkpoint for seq {} after one for seq {last}", c.seq),
            )));
        }
        last = c.seq;
        report.checkpoints += 1;
        report.signed_through = c.seq;
        out.insert(c.seq, (n, c));
    }
    Ok(Ok(out))
}

fn check_records(
    (log, open): Open<'_, '_>,
    checkpoints: &Checkpoints,
    report: &mut Report,
) -> Result<Result<(), Problem>, AuditError> {
    let file = open()
        .map_err(|e| AuditError::io(log, e))?
        .ok_or_else(|| AuditError::io(log, std::io::ErrorKind::NotFound.into()))?;
    let mut prev_hash = GENESIS;
    let mut prev_seq = 0u64;
    let mut sessions: HashMap<String, ()> = HashMap::new();
    let mut ended: Vec<(u64, u64, String)> = Vec::new();
    let problem = |kind, line, seq, message: String| Problem {
        kind,
        line,
        in_checkpoints: false,
        seq,
        message,
    };
    for (i, line) in bounded_lines(file).enumerate() {
        let n = i as u64 + 1;
        let line = line.map_err(|e| AuditError::io(log, e))?;
        let Some(line) = line else {
            return Ok(Err(problem(
                ProblemKind::Malformed,
                n,
                None,
                format!("line longer than {MAX_RECORD_BYTES} bytes"),
            )));
        };
        let (r, hash) = match decode(&line) {
            Ok(x) => x,
            Err(LineError::HashMismatch) => {
                let seq = serde_json::from_slice::<serde_json::Value>(&line)
                    .ok()
                    .and_then(|v| v["seq"].as_u64());
                return Ok(Err(problem(
                    ProblemKind::Edited,
                    n,
                    seq,
                    "content does not match its hash".into(),
                )));
            }
            Err(LineError::Malformed(m)) => {
                return Ok(Err(problem(ProblemKind::Malformed, n, None, m)))
            }
        };
        let expected = prev_seq.saturating_add(1);
        if r.seq > expected {
            if seq_appears_later((log, open), n, expected)? {
                return Ok(Err(problem(
                    ProblemKind::Reordered,
                    n,
                    Some(r.seq),
                    format!("seq {} follows seq {prev_seq}; seq {expected} comes later: records were moved", r.seq),
                )));
            }
            return Ok(Err(problem(
                ProblemKind::Deleted,
                n,
                Some(r.seq),
                format!(
                    "seq {} follows seq {prev_seq}: {} record(s) missing",
                    r.seq,
                    r.seq - expected
                ),
            )));
        }
        if r.seq < expected {
            return Ok(Err(problem(
                ProblemKind::Reordered,
                n,
                Some(r.seq),
                format!(
                    "seq {} follows seq {prev_seq}: a record was inserted or moved",
                    r.seq
                ),
            )));
        }
        if parse_hash(&r.prev) != Some(prev_hash) {
            return Ok(Err(problem(
                ProblemKind::BrokenChain,
                n,
                Some(r.seq),
                "`prev` is not the hash of the record before it: a record was inserted, removed or replaced".into(),
            )));
        }
        if let Some((cl, c)) = checkpoints.get(&r.seq) {
            if parse_hash(&c.head) != Some(hash) {
                return Ok(Err(problem(
                    ProblemKind::CheckpointMismatch,
                    n,
                    Some(r.seq),
                    format!("does not match the head signed at checkpoints line {cl}: the log was rewritten up to here"),
                )));
            }
        }
        if sessions.insert(r.session.clone(), ()).is_none() {
            report.sessions += 1;
        }
        if matches!(r.event, Event::SessionEnd { .. }) {
            ended.push((n, r.seq, r.session.clone()));
        }
        prev_hash = hash;
        prev_seq = r.seq;
        report.records += 1;
        report.last_seq = r.seq;
    }
    if let Some((&seq, (cl, _))) = checkpoints.iter().next_back() {
        if seq > prev_seq {
            return Ok(Err(Problem {
                kind: ProblemKind::Truncated,
                line: report.records + 1,
                in_checkpoints: false,
                seq: Some(prev_seq.saturating_add(1)),
                message: format!(
                    "the log ends at seq {prev_seq} but checkpoints line {cl} signed seq {seq}: {} record(s) removed from the end",
                    seq - prev_seq
                ),
            }));
        }
    }
    if !checkpoints.is_empty() {
        for (line, seq, session) in ended {
            let covered = checkpoints
                .get(&seq)
                .is_some_and(|(_, c)| c.is_final && c.session == session);
            if !covered {
                return Ok(Err(problem(
                    ProblemKind::MissingCheckpoint,
                    line,
                    Some(seq),
                    format!("session `{session}` ended here but its final checkpoint is missing: checkpoints were removed"),
                )));
            }
        }
    }
    Ok(Ok(()))
}

/// Whether a record with `seq` comes after line `after` (tells a move from a deletion).
fn seq_appears_later((log, open): Open<'_, '_>, after: u64, seq: u64) -> Result<bool, AuditError> {
    let Some(file) = open().map_err(|e| AuditError::io(log, e))? else {
        return Ok(false);
    };
    for line in bounded_lines(file).skip(after as usize) {
        let Some(line) = line.map_err(|e| AuditError::io(log, e))? else {
            continue;
        };
        #[derive(serde::Deserialize)]
        struct Seq {
            seq: u64,
        }
        if serde_json::from_slice::<Seq>(&line).is_ok_and(|s| s.seq == seq) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Lines without their `\n`; `None` for a line longer than [`MAX_RECORD_BYTES`] (skipped
/// without holding it in memory).
fn bounded_lines<R: BufRead>(mut r: R) -> impl Iterator<Item = std::io::Result<Option<Vec<u8>>>> {
    std::iter::from_fn(move || {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let buf = match r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(Err(e)),
            };
            if buf.is_empty() {
                if line.is_empty() && !too_long {
                    return None;
                }
                break;
            }
            let (take, done) = match memchr_nl(buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            if !too_long {
                line.extend_from_slice(&buf[..take]);
                if line.len() > MAX_RECORD_BYTES + 1 {
                    too_long = true;
                    line = Vec::new();
                }
            }
            r.consume(take);
            if done {
                break;
            }
        }
        if too_long {
            return Some(Ok(None));
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Some(Ok(Some(line)))
    })
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// Reads every record of a log for reports, stopping at the first unreadable line.
///
/// # Errors
///
/// [`AuditError::Io`] when the log cannot be read. A malformed or edited line ends the
/// iteration with `Err` naming its line; verification is [`verify`]'s job.
pub fn read_records(
    log: &Path,
) -> Result<impl Iterator<Item = Result<crate::Record, String>>, AuditError> {
    let file = std::fs::File::open(log).map_err(|e| AuditError::io(log, e))?;
    Ok(records_from(std::io::BufReader::new(file)))
}

/// [`read_records`] over any reader (a log held in memory, a pipe).
pub fn records_from<R: BufRead>(reader: R) -> impl Iterator<Item = Result<crate::Record, String>> {
    let mut stop = false;
    bounded_lines(reader).enumerate().map_while(move |(i, l)| {
        if stop {
            return None;
        }
        let n = i + 1;
        let r = match l {
            Err(e) => Err(format!("line {n}: {e}")),
            Ok(None) => Err(format!("line {n}: longer than {MAX_RECORD_BYTES} bytes")),
            Ok(Some(line)) => decode(&line).map(|(r, _)| r).map_err(|e| match e {
                LineError::HashMismatch => format!("line {n}: content does not match its hash"),
                LineError::Malformed(m) => format!("line {n}: {m}"),
            }),
        };
        stop = r.is_err();
        Some(r)
    })
}
