//! The bounded roll buffer. See `DESIGN.md` for the algorithm and its invariants.

use std::collections::BTreeMap;
use std::sync::Arc;

use hush_patterns::{KnownValues, RuleSet};

use crate::replace::Replacer;
use crate::style::Style;

/// Default bytes of new input gathered before a search, on top of the window. Larger batches
/// spend less time re-searching the left context (about 7% here with a 300 KiB window, 15% when
/// the search is split across two threads); 16 MiB measured 5% faster but put peak memory near
/// the 64 MiB the `redact` issue allows.
pub const DEFAULT_BATCH: usize = 8 << 20;

/// Default limit on buffered bytes (`--max-buffer`).
pub const DEFAULT_MAX_BUFFER: usize = 64 << 20;

/// A trailing run shorter than this is released on a pause even if it could begin a secret:
/// at most 3 bytes of a secret would show, and prompts and progress counters stay readable.
const MIN_HELD_TOKEN: usize = 4;

/// The rule id reported for bytes redacted because input paused mid-token for longer than the
/// allowed delay and they could not be proven clean.
pub const PARTIAL_RULE_ID: &str = "hush.partial";

/// Errors from the streaming redactor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// Holding the bytes that are not yet proven clean would exceed the memory limit. Nothing
    /// unchecked was written.
    #[error(
        "{needed} bytes are pending redaction, over the limit of {limit} (--max-buffer); \
         stopping rather than passing unchecked bytes (raise --max-buffer if this input is legitimate)"
    )]
    BufferLimit {
        /// The limit.
        limit: usize,
        /// What would have been needed.
        needed: usize,
    },
    /// The search window of the rules alone is larger than the memory limit.
    #[error(
        "the rules need a {window}-byte window, more than the {limit}-byte buffer limit; \
         raise --max-buffer or drop the rule with the largest max_len"
    )]
    WindowTooLarge {
        /// The window.
        window: usize,
        /// The limit.
        limit: usize,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Options for a [`Redactor`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Options {
    /// The replacement style.
    pub style: Style,
    /// Keep JSON lines valid: never split an escape sequence, never replace a string quote.
    pub json: bool,
    /// Stop with [`StreamError::BufferLimit`] rather than hold more than this many bytes.
    pub max_buffer: usize,
    /// New bytes gathered between two searches (at least 1). Output does not depend on it;
    /// larger is faster, smaller holds less.
    pub batch: usize,
    /// Threads a large search is split across (at least 1). Output does not depend on it.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            style: Style::Label,
            json: false,
            max_buffer: DEFAULT_MAX_BUFFER,
            batch: DEFAULT_BATCH,
            threads: 1,
        }
    }
}

impl Options {
    /// Options with this style, the rest default.
    pub fn with_style(style: Style) -> Options {
        Options {
            style,
            ..Options::default()
        }
    }
}

/// Per-rule redaction counts (never values).
pub type Counts = BTreeMap<String, u64>;

/// A streaming redactor: feed it bytes with [`push`](Self::push), take the clean bytes it
/// returns, and [`finish`](Self::finish) at the end of input.
///
/// # Guarantees
/// - Output is the same whatever the input's chunking: a pure function of the bytes pushed
///   (the pause operations, [`flush_idle`](Self::flush_idle) and
///   [`flush_expired`](Self::flush_expired), are the only time-dependent exits, and only
///   redact more).
/// - Bytes are released only when no match can still cover them, or redacted.
/// - Memory is bounded by the window plus one batch, or the call fails with
///   [`StreamError::BufferLimit`] and writes nothing unchecked.
#[derive(Debug)]
pub struct Redactor {
    rules: Arc<RuleSet>,
    known: Arc<KnownValues>,
    opts: Options,
    replacer: Replacer,
    /// Bytes before `emitted` were written (kept as left context); the rest are pending.
    buf: Vec<u8>,
    emitted: usize,
    /// The search window: the longest span any finding can cover.
    window: usize,
    counts: Counts,
}

impl Redactor {
    /// A redactor over `rules` and registered `known` values.
    ///
    /// # Errors
    /// [`StreamError::WindowTooLarge`] when the rules' window does not fit `opts.max_buffer`.
    pub fn new(
        rules: Arc<RuleSet>,
        known: Arc<KnownValues>,
        mut opts: Options,
    ) -> Result<Redactor, StreamError> {
        let window = rules.max_len().max(known.max_len());
        if 2 * window + opts.batch.max(1) > opts.max_buffer {
            return Err(StreamError::WindowTooLarge {
                window,
                limit: opts.max_buffer,
            });
        }
        let replacer = Replacer::new(&rules, std::mem::take(&mut opts.style), opts.json);
        Ok(Redactor {
            rules,
            known,
            opts,
            replacer,
            buf: Vec::new(),
            emitted: 0,
            window,
            counts: Counts::new(),
        })
    }

    /// The search window in bytes: how far back a secret can start and still be found.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Redactions so far, per rule id.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Bytes received but not yet written.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.emitted
    }

    /// Takes `input`; appends to `out` every byte that is now proven clean (or redacted).
    ///
    /// # Errors
    /// [`StreamError::BufferLimit`] if the pending bytes would exceed the limit.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), StreamError> {
        // Feed large inputs in batches so the buffer stays bounded whatever the caller passes.
        let batch = self.opts.batch.max(1);
        for piece in input.chunks(batch) {
            let needed = self.pending() + piece.len();
            if needed > self.opts.max_buffer {
                return Err(StreamError::BufferLimit {
                    limit: self.opts.max_buffer,
                    needed,
                });
            }
            self.buf.extend_from_slice(piece);
            if self.pending() >= self.window + batch {
                let limit = self.buf.len() - self.window;
                self.emit(limit, false, out);
            }
        }
        Ok(())
    }

    /// End of input: writes everything that is left, redacted.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let end = self.buf.len();
        self.emit(end, false, out);
        self.buf.clear();
        self.emitted = 0;
    }

    /// Input paused: writes everything that can no longer become part of a secret, holding back
    /// only a trailing token that could still be the start of one and an open multi-line match
    /// (a PEM block without its END line yet). Returns how many bytes are held.
    pub fn flush_idle(&mut self, out: &mut Vec<u8>) -> usize {
        let held = self.hold_len();
        let limit = self.buf.len() - held.min(self.pending());
        self.emit(limit, false, out);
        self.pending()
    }

    /// The pause outlasted the allowed delay: the held bytes could not be proven clean, so they
    /// are redacted (as [`PARTIAL_RULE_ID`] where no rule matched) rather than released.
    pub fn flush_expired(&mut self, out: &mut Vec<u8>) {
        let end = self.buf.len();
        self.emit(end, true, out);
    }

    /// How many trailing bytes may still turn out to be part of a secret.
    fn hold_len(&self) -> usize {
        let pending = &self.buf[self.emitted..];
        // A trailing token: bytes after the last separator.
        let token = pending
            .iter()
            .rev()
            .take_while(|&&b| !is_separator(b))
            .count();
        let token = if token >= MIN_HELD_TOKEN { token } else { 0 };
        let multiline = self.rules.incomplete_tail(&self.buf);
        let known = self.known.partial_tail(&self.buf);
        token.max(multiline).max(known)
    }

    /// Writes pending bytes up to `limit` (further if a redacted span crosses it), replacing
    /// every secret span; with `partial`, also redacts whatever is left up to `limit` that no
    /// rule matched, as one span. Then drops left context beyond the window.
    fn emit(&mut self, limit: usize, partial: bool, out: &mut Vec<u8>) {
        if limit <= self.emitted && !partial {
            return;
        }
        let emitted = self.emitted;
        let merged = self
            .replacer
            .spans(&self.buf, emitted, |hay| self.search(hay));
        let mut pos = self.emitted;
        for (start, end, rule_id) in merged {
            if start >= limit {
                break;
            }
            if end <= pos {
                continue; // inside a span already replaced
            }
            let start = start.max(pos);
            out.extend_from_slice(&self.buf[pos..start]);
            self.replace(start, end, &rule_id, out);
            pos = end;
        }
        if pos < limit {
            if partial {
                self.replace(pos, limit, PARTIAL_RULE_ID, out);
            } else {
                out.extend_from_slice(&self.buf[pos..limit]);
            }
            pos = limit;
        }
        self.emitted = pos;
        // Keep `window` bytes of left context for matches that start before the pending bytes.
        if self.emitted > self.window {
            let drop = self.emitted - self.window;
            self.buf.drain(..drop);
            self.emitted -= drop;
        }
    }

    /// All findings in `hay`, the search split across `threads` when `hay` is large.
    ///
    /// Part `i` owns the findings whose secret starts in its slice and searches that slice with
    /// `window` bytes on each side: by locality (DESIGN.md) it finds exactly what a search of
    /// the whole would find there, and no match it owns reaches the edges of what it searched.
    fn search(&self, hay: &[u8]) -> Vec<hush_patterns::Finding> {
        let parts = self.opts.threads.max(1);
        let w = self.window;
        if parts == 1 || hay.len() < parts * 4 * w.max(64) {
            return self.rules.find_all(hay, Some(&self.known));
        }
        let step = hay.len() / parts;
        let (rules, known) = (&*self.rules, &*self.known);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..parts)
                .map(|i| {
                    let lo = i * step;
                    let hi = if i + 1 == parts { hay.len() } else { lo + step };
                    let a = lo.saturating_sub(w);
                    let b = (hi + w).min(hay.len());
                    scope.spawn(move || {
                        let mut found = rules.find_all(&hay[a..b], Some(known));
                        found.retain(|f| (lo..hi).contains(&(f.secret_span.start + a)));
                        for f in &mut found {
                            f.span = f.span.start + a..f.span.end + a;
                            f.secret_span = f.secret_span.start + a..f.secret_span.end + a;
                        }
                        found
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    }

    fn replace(&mut self, start: usize, end: usize, rule_id: &str, out: &mut Vec<u8>) {
        *self.counts.entry(rule_id.to_string()).or_default() += 1;
        self.replacer.replace(&self.buf, start, end, rule_id, out);
    }
}

/// Bytes that end a token for the pause hold: whitespace, quotes, and brackets and commas that
/// separate values. `=`, `:`, `/`, `@`, `.` are not: URLs and assignments stay one token.
fn is_separator(b: u8) -> bool {
    b.is_ascii_whitespace() || b"\"'`,;()[]{}<>".contains(&b)
}
