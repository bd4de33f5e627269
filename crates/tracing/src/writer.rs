//! `RedactingMakeWriter`: every formatted event is redacted as a whole before the sink sees it.

use std::io::{self, Write};

use tracing_core::Metadata;
use tracing_subscriber::fmt::MakeWriter;

use crate::fields::{is_sensitive_key, is_sensitive_name, may_end_sensitive};
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
    type Writer = EventWriter<'a, M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter::new(self.inner.make_writer(), &self.shield, self.json)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        EventWriter::new(self.inner.make_writer_for(meta), &self.shield, self.json)
    }
}

/// The writer for one event: buffers, then writes redacted on drop.
#[derive(Debug)]
pub struct EventWriter<'a, W: Write> {
    inner: W,
    shield: &'a Shield,
    json: bool,
    buf: Vec<u8>,
}

impl<'a, W: Write> EventWriter<'a, W> {
    fn new(inner: W, shield: &'a Shield, json: bool) -> Self {
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

impl<W: Write> Write for EventWriter<'_, W> {
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

impl<W: Write> Drop for EventWriter<'_, W> {
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
    colons(line).any(|c| {
        if c == 0 || line[c - 1] != b'"' {
            return false;
        }
        let close = c - 1;
        if !may_end_sensitive(&line[..close]) {
            return false;
        }
        let from = close.saturating_sub(64);
        // Over-reporting (a quote inside a value) just means a parse; the rules pass that
        // follows covers values either way.
        line[from..close]
            .iter()
            .rposition(|&b| b == b'"')
            .is_some_and(|open| is_sensitive_key(&line[from + open + 1..close]))
    })
}

/// The offsets of the colons in `text`, eight bytes at a time: `memchr_iter` pays a call and
/// its set-up per colon, which on a log line of a dozen keys cost more than the whole scan.
fn colons(text: &[u8]) -> impl Iterator<Item = usize> + '_ {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const COLONS: u64 = 0x3a3a_3a3a_3a3a_3a3a;
    let words = text.chunks_exact(8);
    let rest = words.remainder();
    let tail = text.len() - rest.len();
    words
        .enumerate()
        .flat_map(|(w, word)| {
            let v = u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ COLONS;
            // The high bit of each byte of `v` that is zero (a colon), exactly.
            let mut zero = !(((v & LOW7) + LOW7) | v | LOW7);
            std::iter::from_fn(move || {
                let bit = zero.trailing_zeros();
                (zero != 0).then(|| {
                    zero &= zero - 1;
                    w * 8 + bit as usize / 8
                })
            })
        })
        .chain(memchr::memchr_iter(b':', rest).map(move |i| tail + i))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colons_are_found_exactly() {
        for text in [
            &b""[..],
            b":",
            b"abc:def:::",
            b"{\"a\":1,\"b\":\"x:y\"}\xba\x3a\xff:\x00:",
            b"0123456789abcdef:0123456:",
        ] {
            let want: Vec<usize> = memchr::memchr_iter(b':', text).collect();
            assert_eq!(colons(text).collect::<Vec<_>>(), want, "{text:?}");
        }
        // Every length and alignment, colons among bytes close to `:` (one bit apart, or high bit).
        let mut x: u32 = 0x9e37_79b9;
        for len in 0..64 {
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    [b':', b':', b'z', 0xba, b';', b'8', b'\0', 0xff][(x % 8) as usize]
                })
                .collect();
            let want: Vec<usize> = memchr::memchr_iter(b':', &text).collect();
            assert_eq!(colons(&text).collect::<Vec<_>>(), want, "{text:?}");
        }
        assert!(may_hold_sensitive_key(b"{\"a\":1,\"db_password\":\"x\"}"));
        assert!(!may_hold_sensitive_key(b"{\"a\":1,\"password_count\":2}"));
    }
}
