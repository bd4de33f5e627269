//! `RedactingMakeWriter`: every formatted event is redacted as a whole before the sink sees it.

use std::io::{self, Write};

use tracing_core::Metadata;
use tracing_subscriber::fmt::MakeWriter;

use crate::fields::{is_sensitive_key, is_sensitive_name};
use crate::Shield;

/// Wraps any [`MakeWriter`] (stdout, stderr, files, `tracing-appender`'s non-blocking writer):
/// the writer it hands out gathers one event, however many pieces the formatter writes it in,
/// and writes it redacted when the event is done.
#[derive(Debug, Clone)]
pub struct RedactingMakeWriter<M> {
    inner: M,
    shield: Shield,
    json: bool,
}

impl<M> RedactingMakeWriter<M> {
    /// Redacts what `inner` would receive.
    pub fn new(inner: M, shield: Shield) -> Self {
        RedactingMakeWriter {
            inner,
            shield,
            json: false,
        }
    }

    /// Output lines are JSON objects (`fmt().json()`): also mask the values of sensitive field
    /// names (`password`, `token`, ... see [`RedactingFields`](crate::RedactingFields)), and keep
    /// every line valid JSON.
    pub fn json(mut self, json: bool) -> Self {
        self.json = json;
        self
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = EventWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter::new(self.inner.make_writer(), self.shield.clone(), self.json)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        EventWriter::new(
            self.inner.make_writer_for(meta),
            self.shield.clone(),
            self.json,
        )
    }
}

/// The writer for one event: buffers, then writes redacted on drop.
#[derive(Debug)]
pub struct EventWriter<W: Write> {
    inner: W,
    shield: Shield,
    json: bool,
    buf: Vec<u8>,
}

impl<W: Write> EventWriter<W> {
    fn new(inner: W, shield: Shield, json: bool) -> Self {
        // Reuse this thread's event buffer: one allocation per thread, not per event.
        let buf = SPARE.with(|s| std::mem::take(&mut *s.borrow_mut()));
        EventWriter {
            inner,
            shield,
            json,
            buf,
        }
    }

    fn write_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let masked = if self.json {
            mask_json_lines(&self.buf)
        } else {
            None
        };
        let text = masked.as_deref().unwrap_or(&self.buf);
        match self.shield.redact(text) {
            Some(out) => self.inner.write_all(&out),
            None => self.inner.write_all(text),
        }
    }
}

impl<W: Write> Write for EventWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    /// Events are redacted whole: flushing mid-event would split them, so it only flushes the
    /// inner writer.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for EventWriter<W> {
    fn drop(&mut self) {
        // A failing sink has nowhere to report to; the fmt layer ignores write errors too.
        let _ = self.write_out();
        let mut buf = std::mem::take(&mut self.buf);
        if buf.capacity() <= MAX_SPARE {
            buf.clear();
            SPARE.with(|s| *s.borrow_mut() = buf);
        }
    }
}

/// Events larger than this do not keep their buffer around.
const MAX_SPARE: usize = 64 << 10;

thread_local! {
    static SPARE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// For JSON lines: replaces the values of sensitive field names with `"[REDACTED]"`; `None` when
/// nothing changed. Lines that are not JSON objects, or hold no sensitive name, pass unchanged
/// (and are still searched by the rules afterwards).
fn mask_json_lines(text: &[u8]) -> Option<Vec<u8>> {
    if !may_hold_sensitive_key(text) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|&b| b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        if !may_hold_sensitive_key(body) {
            out.extend_from_slice(line);
            continue;
        }
        let masked = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(mut v) if v.is_object() => {
                if mask_value(&mut v) {
                    serde_json::to_vec(&v).ok()
                } else {
                    None
                }
            }
            _ => None,
        };
        match masked {
            Some(m) => {
                out.extend_from_slice(&m);
                if line.ends_with(b"\n") {
                    out.push(b'\n');
                }
            }
            None => out.extend_from_slice(line),
        }
    }
    Some(out)
}

/// A cheap test before parsing, without allocating: is some key (`"...":`) a sensitive name?
/// Keys end in `":`; colons are few in a log line, so start from them.
fn may_hold_sensitive_key(line: &[u8]) -> bool {
    memchr::memchr_iter(b':', line).any(|c| {
        if c == 0 || line[c - 1] != b'"' {
            return false;
        }
        let close = c - 1;
        let from = close.saturating_sub(64);
        // Over-reporting (a quote inside a value) just means a parse; the rules pass that
        // follows covers values either way.
        line[from..close]
            .iter()
            .rposition(|&b| b == b'"')
            .is_some_and(|open| is_sensitive_key(&line[from + open + 1..close]))
    })
}

/// Masks sensitive keys anywhere in `v`; true if anything changed.
fn mask_value(v: &mut serde_json::Value) -> bool {
    let mut changed = false;
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_sensitive_name(k) && !val.is_null() {
                    *val = serde_json::Value::String("[REDACTED]".into());
                    changed = true;
                } else {
                    changed |= mask_value(val);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                changed |= mask_value(item);
            }
        }
        _ => {}
    }
    changed
}
