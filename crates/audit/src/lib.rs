//! hush audit logs: a tamper-evident record of what tools asked, what the policy decided and
//! what happened, with no secret in it.
//!
//! # Format
//!
//! - **Records** (`audit.jsonl`): JSON Lines with a fixed field order,
//!   `{"seq":N,"time":"…","session":"…","prev":"HEX","event":{"kind":"…",…},"hash":"HEX"}`.
//!   `hash` is SHA-256 over the line's bytes before `,"hash":"`; `prev` is the previous
//!   record's hash (64 zeros for the first). `seq` counts from 1 with no gaps across every
//!   session that shares the file.
//! - **Checkpoints** (`audit.jsonl.checkpoints`): every N records of a session
//!   ([`Options::checkpoint_every`], default 100) and when it closes (`"final":true`), an
//!   Ed25519 signature over `(seq, head hash, time, session, final)`.
//!
//! # What verification detects
//!
//! [`verify`] names the first bad record: an **edit** (hash mismatch), a **deletion** (a gap
//! in `seq`), **insertion or reordering** (`seq` repeats or goes back; `prev` mismatch), a
//! **rewrite with recomputed hashes** (a record differs from the head a checkpoint signed),
//! **tail truncation** (a checkpoint signs a `seq` beyond the end of the log), removed
//! checkpoints (a `session_end` record without its final checkpoint), and forged
//! checkpoints (signature).
//!
//! # What it does not promise
//!
//! - The SHA-256 chain is unkeyed: someone who can write the log can rewrite the records
//!   after the last checkpoint and recompute their hashes. Checkpoints bound that window to
//!   N records and close it at session end; a crash leaves up to N unsigned records.
//! - Deleting the tail of the log *and* the matching tail of the checkpoint file together,
//!   back to an earlier checkpoint, is only detectable against a copy kept elsewhere (ship
//!   checkpoints off the host, or compare `hush audit verify` output over time).
//! - Without a trusted public key ([`verify`]'s `key`), a forger who replaces the checkpoint
//!   file with one signed by their own key goes unnoticed: pin the key.
//!
//! # Example
//!
//! ```
//! use hush_audit::{verify, AuditWriter, CheckpointKey, Event, Options, Sanitizer, Target};
//!
//! let dir = tempfile::tempdir()?;
//! let log = dir.path().join("audit.jsonl");
//! let key = CheckpointKey::generate()?;
//! let public = key.public_hex();
//! let mut w = AuditWriter::open(&log, Sanitizer::builtin()?, Some(key), Options::default())?;
//! w.append(&Event::Request {
//!     id: "1".into(),
//!     target: Target::Command { argv: vec!["git".into(), "status".into()] },
//!     cwd: None,
//! })?;
//! w.close()?;
//! let report = verify(&log, Some(&public))?;
//! assert!(report.is_ok());
//! assert_eq!(report.records, 3); // session_start, request, session_end
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checkpoint;
mod error;
mod event;
mod key;
mod record;
mod review;
mod sanitize;
mod verify;
mod writer;

pub use checkpoint::Checkpoint;
pub use error::AuditError;
pub use event::{Event, Flag, Injected, Target};
pub use key::{parse_public_key, CheckpointKey};
pub use record::{Record, GENESIS, MAX_RECORD_BYTES};
pub use review::{Call, Review, ToolCounts};
pub use sanitize::Sanitizer;
pub use verify::{read_records, records_from, verify, verify_bytes, Problem, ProblemKind, Report};
pub use writer::{checkpoint_path, AuditWriter, Clock, Durability, Options, SystemClock};
