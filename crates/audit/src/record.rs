//! The record line format and its hash chain.
//!
//! A record is one JSON line with fields in this order:
//! `{"seq":N,"time":"RFC 3339","session":"ID","prev":"HEX","event":{...},"hash":"HEX"}`.
//! Inside `event`, `kind` comes first and the other fields follow in lexicographic order.
//! `hash` is SHA-256 over the line's bytes up to (not including) `,"hash":"`, so it covers
//! `prev`, the previous record's hash: changing, removing, inserting or moving any record
//! breaks every link after it. The first record's `prev` is 64 zeros.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::event::Event;

/// `prev` of the first record.
pub const GENESIS: [u8; 32] = [0; 32];
/// `,"hash":"` + 64 hex digits + `"}`.
pub(crate) const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;
/// Longest record line accepted when reading, in bytes.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// One parsed record.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Record {
    /// Position in the log, from 1, with no gaps.
    pub seq: u64,
    /// When it was written (RFC 3339, UTC).
    pub time: String,
    /// The writer session.
    pub session: String,
    /// The previous record's hash (hex).
    pub prev: String,
    /// What happened.
    pub event: Event,
    /// This record's hash (hex).
    pub hash: String,
}

/// Appends the line for a record to `out` and returns its hash.
pub(crate) fn encode(
    out: &mut Vec<u8>,
    seq: u64,
    time: &str,
    session: &str,
    prev: &[u8; 32],
    event: &serde_json::Value,
) -> [u8; 32] {
    let start = out.len();
    // INVARIANT: strings, integers and `Value`s always serialise into a Vec.
    out.extend_from_slice(format!("{{\"seq\":{seq},\"time\":").as_bytes());
    let _ = serde_json::to_writer(&mut *out, time);
    out.extend_from_slice(b",\"session\":");
    let _ = serde_json::to_writer(&mut *out, session);
    out.extend_from_slice(b",\"prev\":\"");
    out.extend_from_slice(hex::encode(prev).as_bytes());
    out.extend_from_slice(b"\",\"event\":");
    match event {
        // `kind` first, the other fields in serde_json's (sorted) map order.
        serde_json::Value::Object(m) => {
            out.push(b'{');
            let mut first = true;
            for (k, v) in m
                .get_key_value("kind")
                .into_iter()
                .chain(m.iter().filter(|(k, _)| *k != "kind"))
            {
                if !first {
                    out.push(b',');
                }
                first = false;
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                let _ = serde_json::to_writer(&mut *out, v);
            }
            out.push(b'}');
        }
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
    let hash: [u8; 32] = Sha256::digest(&out[start..]).into();
    out.extend_from_slice(b",\"hash\":\"");
    out.extend_from_slice(hex::encode(hash).as_bytes());
    out.extend_from_slice(b"\"}\n");
    hash
}

/// Why a line is not a well-formed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineError {
    /// Not in the record layout, or not JSON of the record schema.
    Malformed(String),
    /// Well-formed, but the hash does not match the content.
    HashMismatch,
}

/// Checks a line's own hash and parses it.
pub(crate) fn decode(line: &[u8]) -> Result<(Record, [u8; 32]), LineError> {
    if line.len() > MAX_RECORD_BYTES {
        return Err(LineError::Malformed(format!(
            "longer than {MAX_RECORD_BYTES} bytes"
        )));
    }
    if line.len() < HASH_SUFFIX_LEN + 2 || !line.ends_with(b"\"}") {
        return Err(LineError::Malformed("not a record line".into()));
    }
    let split = line.len() - HASH_SUFFIX_LEN;
    let (body, suffix) = line.split_at(split);
    if !suffix.starts_with(b",\"hash\":\"") {
        return Err(LineError::Malformed(
            "no `hash` at the end of the line".into(),
        ));
    }
    let mut stated = [0u8; 32];
    hex::decode_to_slice(&suffix[9..9 + 64], &mut stated)
        .map_err(|_| LineError::Malformed("`hash` is not 64 hex digits".into()))?;
    let actual: [u8; 32] = Sha256::digest(body).into();
    let record: Record = serde_json::from_slice(line).map_err(|e| {
        LineError::Malformed(format!("not a record: {}", strip_position(&e.to_string())))
    })?;
    if actual != stated {
        return Err(LineError::HashMismatch);
    }
    Ok((record, actual))
}

/// serde_json appends " at line 1 column N"; the caller names the line itself.
fn strip_position(s: &str) -> &str {
    s.split(" at line ").next().unwrap_or(s)
}

pub(crate) fn parse_hash(s: &str) -> Option<[u8; 32]> {
    let mut h = [0u8; 32];
    hex::decode_to_slice(s, &mut h).ok()?;
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_round_trips_and_detects_edits() {
        let ev = serde_json::to_value(Event::Note {
            id: None,
            message: "hello".into(),
        })
        .unwrap();
        let mut out = Vec::new();
        let h = encode(&mut out, 1, "2026-01-01T00:00:00Z", "s1", &GENESIS, &ev);
        let line = &out[..out.len() - 1];
        assert!(line.starts_with(
            b"{\"seq\":1,\"time\":\"2026-01-01T00:00:00Z\",\"session\":\"s1\",\"prev\":\"0000"
        ));
        let (r, h2) = decode(line).unwrap();
        assert_eq!((r.seq, h2), (1, h));
        let edited = String::from_utf8(line.to_vec())
            .unwrap()
            .replace("hello", "hellO");
        assert_eq!(
            decode(edited.as_bytes()).unwrap_err(),
            LineError::HashMismatch
        );
        assert!(matches!(decode(b"{}"), Err(LineError::Malformed(_))));
    }
}
