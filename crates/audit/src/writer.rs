//! Appending records: redact, chain, write under an exclusive lock (so several processes can
//! share one log), sign checkpoints.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::checkpoint::Checkpoint;
use crate::error::AuditError;
use crate::event::Event;
use crate::key::CheckpointKey;
use crate::record::{decode, encode, GENESIS};
use crate::sanitize::Sanitizer;

/// Where the time of a record comes from (a fixed clock in tests).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// When records reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// `write` and `fdatasync` every record: survives power loss, slowest.
    Sync,
    /// `write` every record (it survives a crash of the process), `fdatasync` at every
    /// checkpoint and at close.
    Flush,
    /// Keep up to N records in memory, then `write` + `fdatasync` them together. Fastest; a
    /// crash loses at most N records.
    Batch(usize),
}

/// How a writer behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Sign a checkpoint after this many records of this session (and at close).
    pub checkpoint_every: u64,
    /// When records reach the disk.
    pub durability: Durability,
    /// The session id (default: 128 random bits, hex).
    pub session: Option<String>,
    /// Who writes (`hush run`, `hush mcp`, a library's name), for the session-start record.
    pub tool: String,
    /// Policy files in force, for the session-start record.
    pub policy: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            checkpoint_every: 100,
            durability: Durability::Flush,
            session: None,
            tool: "hush".into(),
            policy: Vec::new(),
        }
    }
}

/// The checkpoint file beside a log: `<log>.checkpoints`.
pub fn checkpoint_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(".checkpoints");
    PathBuf::from(s)
}

/// Appends hash-chained, redacted records to a log, and signed checkpoints beside it.
///
/// Dropping a writer closes it like [`AuditWriter::close`], ignoring errors; call `close` to
/// see them.
#[derive(Debug)]
pub struct AuditWriter {
    path: PathBuf,
    ckpt_path: PathBuf,
    file: File,
    /// The same open file, shared with the lock guard (no `dup` per write).
    lock: std::sync::Arc<File>,
    ckpt: File,
    sanitizer: Sanitizer,
    key: Option<CheckpointKey>,
    clock: Box<dyn Clock>,
    opts: Options,
    session: String,
    seq: u64,
    head: [u8; 32],
    known_len: u64,
    pending: Vec<(serde_json::Value, String)>,
    buf: Vec<u8>,
    written: u64,
    since_checkpoint: u64,
    redactions: u64,
    closed: bool,
}

impl AuditWriter {
    /// Opens (or creates, mode 0600) the log at `path` and writes a `session_start` record.
    /// Without a key no checkpoints are signed, and truncation of the tail cannot be detected.
    ///
    /// # Errors
    ///
    /// [`AuditError::Io`] when the files cannot be opened or locked; [`AuditError::Tail`]
    /// when the log's last line is not a whole record (appending would break the chain).
    pub fn open(
        path: &Path,
        sanitizer: Sanitizer,
        key: Option<CheckpointKey>,
        opts: Options,
    ) -> Result<AuditWriter, AuditError> {
        AuditWriter::open_with_clock(path, sanitizer, key, opts, Box::new(SystemClock))
    }

    /// [`AuditWriter::open`] with a clock.
    ///
    /// # Errors
    ///
    /// As [`AuditWriter::open`].
    pub fn open_with_clock(
        path: &Path,
        sanitizer: Sanitizer,
        key: Option<CheckpointKey>,
        opts: Options,
        clock: Box<dyn Clock>,
    ) -> Result<AuditWriter, AuditError> {
        let file = open_append(path)?;
        let lock = std::sync::Arc::new(file.try_clone().map_err(|e| AuditError::io(path, e))?);
        let ckpt_path = checkpoint_path(path);
        let ckpt = open_append(&ckpt_path)?;
        let session = match &opts.session {
            Some(s) => s.clone(),
            None => {
                let mut b = [0u8; 16];
                getrandom::fill(&mut b).map_err(|e| {
                    AuditError::Encode(format!("no randomness for a session id: {e}"))
                })?;
                hex::encode(b)
            }
        };
        let mut w = AuditWriter {
            path: path.to_path_buf(),
            ckpt_path,
            file,
            lock,
            ckpt,
            sanitizer,
            key,
            clock,
            session,
            seq: 0,
            head: GENESIS,
            known_len: u64::MAX,
            pending: Vec::new(),
            buf: Vec::new(),
            written: 0,
            since_checkpoint: 0,
            redactions: 0,
            closed: false,
            opts,
        };
        let start = Event::SessionStart {
            tool: w.opts.tool.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            policy: w.opts.policy.clone(),
        };
        w.append(&start)?;
        w.flush()?;
        Ok(w)
    }

    /// The session id.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// Redacts `value` from every later record, in any encoding (see
    /// [`Sanitizer::add_known`]): register each secret before handing it to a tool.
    ///
    /// # Errors
    ///
    /// [`AuditError::Encode`] when the value cannot be registered.
    pub fn add_known(&mut self, label: &str, value: &[u8]) -> Result<(), AuditError> {
        self.sanitizer.add_known(label, value)
    }

    /// Replacements the redactor made so far.
    pub fn redactions(&self) -> u64 {
        self.redactions
    }

    /// Appends an event (redacted). With [`Durability::Batch`] it may stay in memory until the
    /// batch is full or [`AuditWriter::flush`] is called.
    ///
    /// # Errors
    ///
    /// [`AuditError::Io`] when writing fails; the event is then not recorded.
    pub fn append(&mut self, event: &Event) -> Result<(), AuditError> {
        let mut v = serde_json::to_value(event).map_err(|e| AuditError::Encode(e.to_string()))?;
        self.redactions += self.sanitizer.clean(&mut v);
        let time = humantime::format_rfc3339_micros(self.clock.now()).to_string();
        self.pending.push((v, time));
        let batch = match self.opts.durability {
            Durability::Batch(n) => n.max(1),
            _ => 1,
        };
        if self.pending.len() >= batch {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes pending records (and any checkpoint that falls due).
    ///
    /// # Errors
    ///
    /// [`AuditError::Io`] or [`AuditError::Tail`].
    pub fn flush(&mut self) -> Result<(), AuditError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let _lock = Lock::exclusive(&self.lock, &self.path)?;
        self.sync_tail()?;
        self.buf.clear();
        let pending = std::mem::take(&mut self.pending);
        let mut due = false;
        for (v, time) in &pending {
            self.seq = self.seq.checked_add(1).ok_or_else(|| AuditError::Tail {
                path: self.path.clone(),
                line: 0,
                message: "the last record's seq is the largest possible: start a new log".into(),
            })?;
            self.head = encode(&mut self.buf, self.seq, time, &self.session, &self.head, v);
            self.written += 1;
            self.since_checkpoint += 1;
            if self.since_checkpoint >= self.opts.checkpoint_every {
                // A checkpoint covers everything written so far.
                self.write_buf()?;
                self.checkpoint_locked(false)?;
                due = true;
            }
        }
        self.write_buf()?;
        if !due
            && matches!(
                self.opts.durability,
                Durability::Sync | Durability::Batch(_)
            )
        {
            self.file
                .sync_data()
                .map_err(|e| AuditError::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Writes pending records and signs a checkpoint now.
    ///
    /// # Errors
    ///
    /// [`AuditError::Io`] or [`AuditError::Tail`].
    pub fn checkpoint(&mut self) -> Result<(), AuditError> {
        self.flush()?;
        let _lock = Lock::exclusive(&self.lock, &self.path)?;
        self.sync_tail()?;
        self.checkpoint_locked(false)
    }

    /// Writes a `session_end` record and a final checkpoint, and syncs both files.
    ///
    /// # Errors
    ///
    /// [`AuditError::Io`] or [`AuditError::Tail`].
    pub fn close(mut self) -> Result<(), AuditError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), AuditError> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let end = Event::SessionEnd {
            records: self.written + self.pending.len() as u64 + 1,
        };
        self.append(&end)?;
        self.flush()?;
        let _lock = Lock::exclusive(&self.lock, &self.path)?;
        self.sync_tail()?;
        self.checkpoint_locked(true)?;
        self.file
            .sync_data()
            .map_err(|e| AuditError::io(&self.path, e))
    }

    fn write_buf(&mut self) -> Result<(), AuditError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&self.buf)
            .map_err(|e| AuditError::io(&self.path, e))?;
        self.known_len = self.known_len.saturating_add(self.buf.len() as u64);
        self.buf.clear();
        Ok(())
    }

    /// With the lock held: sign `(seq, head)` after making the records durable.
    fn checkpoint_locked(&mut self, is_final: bool) -> Result<(), AuditError> {
        self.since_checkpoint = 0;
        let Some(key) = &self.key else { return Ok(()) };
        if self.seq == 0 {
            return Ok(());
        }
        self.file
            .sync_data()
            .map_err(|e| AuditError::io(&self.path, e))?;
        let time = humantime::format_rfc3339_micros(self.clock.now()).to_string();
        let c = Checkpoint::sign(key, self.seq, &self.head, &time, &self.session, is_final);
        let mut line = serde_json::to_vec(&c).map_err(|e| AuditError::Encode(e.to_string()))?;
        line.push(b'\n');
        self.ckpt
            .write_all(&line)
            .and_then(|()| self.ckpt.sync_data())
            .map_err(|e| AuditError::io(&self.ckpt_path, e))
    }

    /// With the lock held: if another writer appended since our last write, continue the
    /// chain from the file's real last record.
    fn sync_tail(&mut self) -> Result<(), AuditError> {
        let len = self
            .file
            .metadata()
            .map_err(|e| AuditError::io(&self.path, e))?
            .len();
        if len == self.known_len {
            return Ok(());
        }
        let (seq, head) = read_tail(&mut self.file, &self.path, len)?;
        self.seq = seq;
        self.head = head;
        self.known_len = len;
        Ok(())
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn open_append(path: &Path) -> Result<File, AuditError> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map_err(|e| AuditError::io(path, e))
}

/// The last record's `(seq, hash)` of a log `len` bytes long, read from its end.
fn read_tail(file: &mut File, path: &Path, len: u64) -> Result<(u64, [u8; 32]), AuditError> {
    if len == 0 {
        return Ok((0, GENESIS));
    }
    let window = len.min(crate::record::MAX_RECORD_BYTES as u64 + 2);
    let mut buf = vec![0u8; window as usize];
    file.seek(SeekFrom::Start(len - window))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|e| AuditError::io(path, e))?;
    let tail_err = |message: String| AuditError::Tail {
        path: path.to_path_buf(),
        line: 0,
        message,
    };
    if buf.last() != Some(&b'\n') {
        return Err(tail_err(
            "the last line is incomplete (a write was interrupted)".into(),
        ));
    }
    let body = &buf[..buf.len() - 1];
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if start == 0 && window < len {
        return Err(tail_err("the last line is too long to be a record".into()));
    }
    let (r, hash) = decode(&body[start..]).map_err(|e| tail_err(format!("{e:?}")))?;
    Ok((r.seq, hash))
}

/// An exclusive `flock` on the log, released on drop (no-op where `flock` does not exist).
struct Lock {
    #[cfg(unix)]
    file: std::sync::Arc<File>,
}

impl Lock {
    fn exclusive(file: &std::sync::Arc<File>, path: &Path) -> Result<Lock, AuditError> {
        #[cfg(unix)]
        {
            rustix::fs::flock(&**file, rustix::fs::FlockOperation::LockExclusive)
                .map_err(|e| AuditError::io(path, e.into()))?;
            Ok(Lock { file: file.clone() })
        }
        #[cfg(not(unix))]
        {
            let _ = (file, path);
            Ok(Lock {})
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = rustix::fs::flock(&*self.file, rustix::fs::FlockOperation::Unlock);
    }
}
