//! Turning engine findings in a buffer into located, masked [`Detection`]s, and searching
//! streams of any length through a bounded window.

use std::io::Read;
use std::sync::Arc;

use hush_patterns::{Encoding, Finding, KnownValues, RuleSet};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::{allow, mask, Commit, Stats};

/// Default bytes read per step when streaming a file.
pub(crate) const DEFAULT_CHUNK: usize = 8 << 20;

/// Bytes of a file's start checked for NUL to decide it is binary (as git and ripgrep do).
const SNIFF_LEN: usize = 8 << 10;

/// Longest context line kept, in characters.
const CONTEXT_CHARS: usize = 160;

/// One secret found by a scan, located and ready to report.
///
/// `Debug` never shows the secret; [`secret`](Self::secret) does, on purpose.
#[non_exhaustive]
pub struct Detection {
    /// Rule id (or `known-value`).
    pub rule_id: Arc<str>,
    /// The rule's human name.
    pub rule_name: Arc<str>,
    /// File path as given or as stored in git, `/`-separated (`-` for stdin).
    pub path: Arc<str>,
    /// 1-based line of the secret's first byte.
    pub line: usize,
    /// 1-based column (in characters) of the secret's first character.
    pub column: usize,
    /// 1-based line of the secret's last byte.
    pub end_line: usize,
    /// 1-based column just past the secret's last character.
    pub end_column: usize,
    /// The commit that added it (history scans).
    pub commit: Option<Arc<Commit>>,
    /// How the secret was written (plain, base64...).
    pub encoding: Encoding,
    /// Shannon entropy of the secret, bits per byte.
    pub entropy: f64,
    /// The line holding the secret with every secret on it masked, cut to 160 characters.
    pub context: String,
    /// A stable id for the finding that does not depend on the secret: rule, path, masked line
    /// (and commit for history), hashed. Used for SARIF fingerprints.
    pub fingerprint: String,
    secret: SecretString,
}

impl Detection {
    /// The secret in plain text. Callers must not print it unless asked to (`--show-secrets`).
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The secret as shown by default: see [`mask`](crate::mask).
    pub fn masked_secret(&self) -> String {
        mask(self.secret.expose_secret())
    }

    /// The secret as the caller wants it shown.
    pub fn shown_secret(&self, show: bool) -> String {
        if show {
            self.secret.expose_secret().to_string()
        } else {
            self.masked_secret()
        }
    }
}

impl std::fmt::Debug for Detection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detection")
            .field("rule_id", &self.rule_id)
            .field("path", &self.path)
            .field("line", &self.line)
            .field("column", &self.column)
            .field("commit", &self.commit.as_ref().map(|c| &c.id))
            .finish_non_exhaustive()
    }
}

/// Searches buffers and streams with one rule set (and optional known values).
#[derive(Clone, Debug)]
pub struct Scanner {
    rules: Arc<RuleSet>,
    known: Option<Arc<KnownValues>>,
    chunk: usize,
    path_allow: Option<Arc<crate::PathAllow>>,
}

/// Where a buffer sits in its file, for line numbers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Origin<'a> {
    /// Lines (newlines) before the buffer's first byte.
    pub(crate) lines_before: usize,
    /// Characters between the start of the line holding the buffer's first byte and that byte
    /// (when a window starts mid-line).
    pub(crate) column_carry: usize,
    /// Line numbers of the buffer's lines when the buffer is a list of added lines (history):
    /// `line_map[i]` is the real 1-based line number of the buffer's `i`-th line.
    pub(crate) line_map: Option<&'a [usize]>,
}

impl Scanner {
    /// A scanner for `rules` and, when given, registered values (build them with
    /// [`KnownValuesBuilder::build_for`](hush_patterns::KnownValuesBuilder::build_for) against
    /// the same rules for a single search pass).
    pub fn new(rules: Arc<RuleSet>, known: Option<Arc<KnownValues>>) -> Scanner {
        Scanner {
            rules,
            known,
            chunk: DEFAULT_CHUNK,
            path_allow: None,
        }
    }

    /// Skips files whose path a gitleaks allowlist names (counted in [`Stats::path_allowed`]).
    pub fn with_path_allow(mut self, allow: crate::PathAllow) -> Scanner {
        self.path_allow = (!allow.is_empty()).then(|| Arc::new(allow));
        self
    }

    /// True (and counted) when `path` is allowlisted and must not be scanned.
    pub(crate) fn path_allowed(&self, path: &str, stats: &mut Stats) -> bool {
        let hit = self.path_allow.as_ref().is_some_and(|a| a.matches(path));
        stats.path_allowed += u64::from(hit);
        hit
    }

    /// Sets the bytes read per step when streaming (at least 64 KiB; tests use less through
    /// [`with_chunk_danger_small`](Self::with_chunk_danger_small)).
    pub fn with_chunk(mut self, chunk: usize) -> Scanner {
        self.chunk = chunk.max(64 << 10);
        self
    }

    /// Sets any chunk size, however small, to exercise window boundaries in tests. Small chunks
    /// cost speed, not correctness.
    pub fn with_chunk_danger_small(mut self, chunk: usize) -> Scanner {
        self.chunk = chunk.max(1);
        self
    }

    pub(crate) fn chunk_size(&self) -> usize {
        self.chunk
    }

    /// The rules.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    fn find(&self, buf: &[u8]) -> Vec<Finding> {
        match &self.known {
            Some(k) => self.rules.find_with_known(buf, k),
            None => self.rules.find(buf),
        }
    }

    /// Searches one in-memory buffer (a whole file or blob).
    pub fn scan_bytes(
        &self,
        path: &Arc<str>,
        buf: &[u8],
        commit: Option<&Arc<Commit>>,
        stats: &mut Stats,
    ) -> Vec<Detection> {
        let findings = self.find(buf);
        let mut out = Vec::new();
        self.locate(
            path,
            buf,
            &findings,
            Origin::default(),
            commit,
            stats,
            &mut out,
        );
        out
    }

    /// Searches a buffer made of added lines whose real line numbers are `line_map`.
    pub(crate) fn scan_lines(
        &self,
        path: &Arc<str>,
        buf: &[u8],
        line_map: &[usize],
        commit: Option<&Arc<Commit>>,
        stats: &mut Stats,
        out: &mut Vec<Detection>,
    ) {
        let findings = self.find(buf);
        let origin = Origin {
            line_map: Some(line_map),
            ..Origin::default()
        };
        self.locate(path, buf, &findings, origin, commit, stats, out);
    }

    /// Searches a stream of any length in bounded memory: about `chunk + 2 × max_len` bytes.
    ///
    /// With `skip_binary`, a stream whose first 8 KiB hold a NUL byte is counted in
    /// [`Stats::binary_skipped`] and not searched.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when reading fails.
    pub fn scan_reader<R: Read>(
        &self,
        path: &Arc<str>,
        mut reader: R,
        skip_binary: bool,
        stats: &mut Stats,
    ) -> crate::Result<Vec<Detection>> {
        let mut buf = Vec::new();
        self.scan_reader_with(path, &mut reader, skip_binary, stats, &mut buf)
    }

    /// [`scan_reader`](Self::scan_reader) reusing `buf` (a per-thread buffer).
    pub(crate) fn scan_reader_with<R: Read>(
        &self,
        path: &Arc<str>,
        reader: &mut R,
        skip_binary: bool,
        stats: &mut Stats,
        buf: &mut Vec<u8>,
    ) -> crate::Result<Vec<Detection>> {
        let io = |e| crate::Error::io(path.as_ref(), e);
        let w = self.rules.max_len();
        buf.clear();
        let mut out = Vec::new();
        let mut lines_before = 0usize;
        let mut column_carry = 0usize;
        // Findings starting before `committed` were reported by the previous window.
        let mut committed = 0usize;
        let mut first = true;
        loop {
            // The first read covers the bytes sniffed for binary content.
            let want = buf.len()
                + if first {
                    self.chunk.max(SNIFF_LEN)
                } else {
                    self.chunk
                };
            let eof = fill(reader, buf, want).map_err(io)?;
            if first {
                first = false;
                if skip_binary && buf[..buf.len().min(SNIFF_LEN)].contains(&0) {
                    stats.binary_skipped += 1;
                    return Ok(Vec::new());
                }
                stats.files += 1;
            }
            // Bytes up to `limit` are final: any finding starting there ends inside the buffer.
            let limit = if eof {
                buf.len()
            } else {
                buf.len().saturating_sub(w)
            };
            let findings: Vec<Finding> = self
                .find(buf)
                .into_iter()
                .filter(|f| f.span.start >= committed && f.span.start < limit)
                .collect();
            let origin = Origin {
                lines_before,
                column_carry,
                line_map: None,
            };
            self.locate(path, buf, &findings, origin, None, stats, &mut out);
            if eof {
                stats.bytes += buf.len() as u64 - committed as u64;
                return Ok(out);
            }
            // Keep `w` bytes of left context, from a line start when one is near.
            let keep_from = limit.saturating_sub(w);
            let keep_from =
                memchr::memrchr(b'\n', &buf[keep_from.saturating_sub(64 << 10)..keep_from])
                    .map_or(keep_from, |i| keep_from.saturating_sub(64 << 10) + i + 1);
            stats.bytes += (limit - committed) as u64;
            let dropped = &buf[..keep_from];
            lines_before += memchr::memchr_iter(b'\n', dropped).count();
            column_carry = match memchr::memrchr(b'\n', dropped) {
                Some(nl) => chars(&dropped[nl + 1..]),
                None => column_carry + chars(dropped),
            };
            buf.drain(..keep_from);
            committed = limit - keep_from;
        }
    }

    /// Locates `findings` (sorted by position) in `buf`, applies inline allows, masks.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn locate(
        &self,
        path: &Arc<str>,
        buf: &[u8],
        findings: &[Finding],
        origin: Origin<'_>,
        commit: Option<&Arc<Commit>>,
        stats: &mut Stats,
        out: &mut Vec<Detection>,
    ) {
        if findings.is_empty() {
            return;
        }
        // Every secret span in the buffer, to mask them all in context lines.
        let secrets: Vec<std::ops::Range<usize>> =
            findings.iter().map(|f| f.secret_span.clone()).collect();
        let mut cursor = LineCursor::default();
        for f in findings {
            let s = &f.secret_span;
            let (line_idx, line_start) = cursor.seek(buf, s.start);
            let end_byte = s.end.max(s.start + 1) - 1;
            let (end_idx, end_start) = cursor.clone().seek(buf, end_byte);
            let line_end =
                memchr::memchr(b'\n', &buf[s.start..]).map_or(buf.len(), |i| s.start + i);
            let last_line_end =
                memchr::memchr(b'\n', &buf[end_byte..]).map_or(buf.len(), |i| end_byte + i);
            let allowed = allow::inline_allow(&buf[line_start..line_end]).is_some()
                || (end_idx != line_idx
                    && allow::inline_allow(&buf[end_start..last_line_end]).is_some());
            if allowed {
                stats.allowed_inline += 1;
                continue;
            }
            let real = |idx: usize| match origin.line_map {
                Some(map) => map.get(idx).copied().unwrap_or(idx + 1),
                None => origin.lines_before + idx + 1,
            };
            let carry = |idx: usize| if idx == 0 { origin.column_carry } else { 0 };
            let column = carry(line_idx) + chars(&buf[line_start..s.start]) + 1;
            let end_column = carry(end_idx) + chars(&buf[end_start..s.end.max(end_start)]) + 1;
            let context = context_line(buf, line_start, line_end, &secrets);
            let rule_name = self
                .rules
                .rule(&f.rule_id)
                .map_or_else(|| Arc::from(known_name(f)), |r| Arc::from(r.name()));
            let secret = SecretString::from(String::from_utf8_lossy(&buf[s.clone()]).into_owned());
            let fingerprint =
                fingerprint(&f.rule_id, path, &context, commit.map(|c| c.id.as_str()));
            out.push(Detection {
                rule_id: f.rule_id.clone(),
                rule_name,
                path: path.clone(),
                line: real(line_idx),
                column,
                end_line: real(end_idx),
                end_column,
                commit: commit.cloned(),
                encoding: f.encoding,
                entropy: f.entropy,
                context,
                fingerprint,
                secret,
            });
        }
    }
}

fn known_name(f: &Finding) -> String {
    match &f.label {
        Some(label) => format!("registered value {label}"),
        None => "registered value".to_string(),
    }
}

/// Reads until `buf` holds `want` bytes or the reader ends; true at end of input.
fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    let need = want.saturating_sub(buf.len());
    // `read_to_end` reads into spare capacity without zero-filling it first.
    let n = reader.by_ref().take(need as u64).read_to_end(buf)?;
    Ok(n < need)
}

/// Line index and line start of byte offsets visited in increasing order.
#[derive(Clone, Default)]
struct LineCursor {
    pos: usize,
    line: usize,
    line_start: usize,
}

impl LineCursor {
    fn seek(&mut self, buf: &[u8], to: usize) -> (usize, usize) {
        let to = to.min(buf.len());
        if to < self.pos {
            *self = LineCursor::default();
        }
        for i in memchr::memchr_iter(b'\n', &buf[self.pos..to]) {
            self.line += 1;
            self.line_start = self.pos + i + 1;
        }
        self.pos = to;
        (self.line, self.line_start)
    }
}

/// Characters in UTF-8 `bytes`: bytes that don't continue a sequence. Additive across cuts in
/// the middle of a character, which a window boundary can make.
fn chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

/// The line `[start, end)` with every secret span on it replaced by its mask, trimmed and cut
/// to [`CONTEXT_CHARS`] around the first secret.
fn context_line(
    buf: &[u8],
    start: usize,
    end: usize,
    secrets: &[std::ops::Range<usize>],
) -> String {
    let mut out = String::new();
    let mut at = start;
    let mut first_secret = None;
    for s in secrets.iter().filter(|s| s.start < end && s.end > start) {
        let (s0, s1) = (s.start.max(start).max(at), s.end.min(end));
        if s0 >= s1 {
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&buf[at..s0]));
        first_secret.get_or_insert(out.chars().count());
        out.push_str(&mask(&String::from_utf8_lossy(&buf[s.start..s.end])));
        at = s1;
    }
    out.push_str(&String::from_utf8_lossy(&buf[at.min(end)..end]));
    let out = out.trim_end_matches('\r');
    let lead = out.len() - out.trim_start().len();
    let out = out.trim();
    let total = out.chars().count();
    if total <= CONTEXT_CHARS {
        return out.to_string();
    }
    let centre = first_secret.unwrap_or(0).saturating_sub(lead);
    let from = centre
        .saturating_sub(CONTEXT_CHARS / 3)
        .min(total - CONTEXT_CHARS);
    let mut cut: String = out.chars().skip(from).take(CONTEXT_CHARS).collect();
    if from > 0 {
        cut.insert(0, '…');
    }
    if from + CONTEXT_CHARS < total {
        cut.push('…');
    }
    cut
}

fn fingerprint(rule: &str, path: &str, context: &str, commit: Option<&str>) -> String {
    let mut h = Sha256::new();
    for part in [rule, path, context, commit.unwrap_or("")] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex(&h.finalize()[..16])
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_masks_every_secret_on_the_line() {
        let line = b"a=SECRETVALUEONE123456 b=SECRETVALUETWO123456";
        let spans = [2..22, 25..45];
        let ctx = context_line(line, 0, line.len(), &spans);
        assert_eq!(ctx, "a=SECR***** b=SECR*****");
    }

    #[test]
    fn long_lines_are_cut_around_the_secret() {
        let mut line = "x".repeat(500);
        line.push_str("TOKEN0123456789abcdef");
        line.push_str(&"y".repeat(500));
        let spans = [std::ops::Range {
            start: 500,
            end: 521,
        }];
        let ctx = context_line(line.as_bytes(), 0, line.len(), &spans);
        assert!(ctx.contains("TOKE*****"), "{ctx}");
        assert!(ctx.starts_with('…') && ctx.ends_with('…'));
        assert!(ctx.chars().count() <= CONTEXT_CHARS + 2);
    }

    #[test]
    fn line_cursor_counts_lines() {
        let buf = b"one\ntwo\nthree\n";
        let mut c = LineCursor::default();
        assert_eq!(c.seek(buf, 1), (0, 0));
        assert_eq!(c.seek(buf, 5), (1, 4));
        assert_eq!(c.seek(buf, 9), (2, 8));
        assert_eq!(c.seek(buf, 0), (0, 0));
    }
}
