//! `RedactWriter`: a `Write` adaptor for library users.

use std::io::{self, Write};
use std::sync::Arc;

use hush_patterns::{KnownValues, RuleSet};

use crate::redactor::{Counts, Options, Redactor, StreamError};

/// Redacts everything written through it before it reaches the inner writer.
///
/// Bytes are held until they are proven clean; [`flush`](Write::flush) writes all that cannot
/// still become part of a secret (as on an input pause), and [`finish`](Self::finish) writes the
/// rest at the end. Dropping without `finish` discards held bytes rather than write them
/// unchecked.
///
/// ```
/// use std::io::Write;
/// use std::sync::Arc;
/// use hush_patterns::{KnownValues, RuleSet};
/// use hush_stream::{Options, RedactWriter};
///
/// let rules = Arc::new(RuleSet::builtin()?);
/// let mut w = RedactWriter::new(Vec::new(), rules, Arc::new(KnownValues::empty()), Options::default())?;
/// // A fake token, split in the source so that scanning this repository stays clean.
/// write!(w, "{}", concat!("auth=\"token ghp_", "R8vKq2LmZx4TnW7yPbC3dF6hJ9sA1eU5gQ0o\"\n"))?;
/// let out = w.finish()?;
/// assert_eq!(out, b"auth=\"token [REDACTED:hush.github.pat]\"\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RedactWriter<W: Write> {
    inner: Option<W>,
    redactor: Redactor,
    out: Vec<u8>,
}

impl<W: Write> RedactWriter<W> {
    /// Wraps `inner`.
    ///
    /// # Errors
    /// As [`Redactor::new`].
    pub fn new(
        inner: W,
        rules: Arc<RuleSet>,
        known: Arc<KnownValues>,
        opts: Options,
    ) -> Result<Self, StreamError> {
        Ok(RedactWriter {
            inner: Some(inner),
            redactor: Redactor::new(rules, known, opts)?,
            out: Vec::new(),
        })
    }

    /// Redactions so far, per rule id.
    pub fn counts(&self) -> &Counts {
        self.redactor.counts()
    }

    /// Writes everything still held (redacted), flushes, and returns the inner writer.
    ///
    /// # Errors
    /// The inner writer's errors.
    pub fn finish(mut self) -> io::Result<W> {
        self.redactor.finish(&mut self.out);
        let mut inner = self.inner.take().expect("inner is present until finish");
        inner.write_all(&self.out)?;
        inner.flush()?;
        Ok(inner)
    }

    fn drain(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            let inner = self.inner.as_mut().expect("inner is present until finish");
            inner.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }
}

impl<W: Write> Write for RedactWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.redactor
            .push(buf, &mut self.out)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
        self.drain()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.redactor.flush_idle(&mut self.out);
        self.drain()?;
        self.inner
            .as_mut()
            .expect("inner is present until finish")
            .flush()
    }
}
