//! Terminal escape sequences (colours, cursor moves) around and inside secrets.
//!
//! `ls --color`, test runners and loggers colour their output; a token printed as
//! `ghp_abc\x1b[1mdef` must still be found, and the colour codes must survive redaction so
//! the terminal state stays right.

/// Length of the escape sequence starting at `buf[i]` (which is ESC), or 0 if none is complete.
fn sequence_len(buf: &[u8], i: usize) -> usize {
    match buf.get(i + 1) {
        // CSI: ESC [ parameters intermediates final
        Some(b'[') => {
            let mut j = i + 2;
            while j < buf.len() && (0x30..=0x3f).contains(&buf[j]) {
                j += 1;
            }
            while j < buf.len() && (0x20..=0x2f).contains(&buf[j]) {
                j += 1;
            }
            if j < buf.len() && (0x40..=0x7e).contains(&buf[j]) {
                j + 1 - i
            } else {
                0
            }
        }
        // OSC: ESC ] ... BEL | ESC \   (bounded: titles and hyperlinks are short)
        Some(b']') => {
            let end = (i + 2 + 4096).min(buf.len());
            let mut j = i + 2;
            while j < end {
                if buf[j] == 0x07 {
                    return j + 1 - i;
                }
                if buf[j] == 0x1b && buf.get(j + 1) == Some(&b'\\') {
                    return j + 2 - i;
                }
                j += 1;
            }
            0
        }
        // Two-byte sequences: ESC followed by 0x40..=0x5f (other than [ and ]).
        Some(&b) if (0x40..=0x5f).contains(&b) => 2,
        _ => 0,
    }
}

/// `buf` with escape sequences removed, and for every byte of the result (plus one past the
/// end) its offset in `buf`. `None` when `buf` has no escape sequence.
pub(crate) fn strip(buf: &[u8]) -> Option<(Vec<u8>, Vec<usize>)> {
    memchr_esc(buf)?;
    let mut clean = Vec::with_capacity(buf.len());
    let mut map = Vec::with_capacity(buf.len() + 1);
    let mut i = 0;
    let mut any = false;
    while i < buf.len() {
        if buf[i] == 0x1b {
            let n = sequence_len(buf, i);
            if n > 0 {
                i += n;
                any = true;
                continue;
            }
        }
        clean.push(buf[i]);
        map.push(i);
        i += 1;
    }
    map.push(buf.len());
    any.then_some((clean, map))
}

/// The escape sequences inside `buf[start..end]`, concatenated in order.
pub(crate) fn sequences_in(buf: &[u8], start: usize, end: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = start;
    while i < end {
        if buf[i] == 0x1b {
            let n = sequence_len(buf, i);
            if n > 0 {
                out.extend_from_slice(&buf[i..(i + n).min(end)]);
                i += n;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn memchr_esc(buf: &[u8]) -> Option<usize> {
    memchr::memchr(0x1b, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_maps() {
        let buf = b"a\x1b[31mbc\x1b[0m\x1b]8;;http://x\x07d\x1bMe";
        let (clean, map) = strip(buf).unwrap();
        assert_eq!(clean, b"abcde");
        assert_eq!(map[0], 0);
        assert_eq!(buf[map[1]], b'b');
        assert_eq!(buf[map[3]], b'd');
        assert_eq!(*map.last().unwrap(), buf.len());
        assert_eq!(
            sequences_in(buf, 0, buf.len()),
            b"\x1b[31m\x1b[0m\x1b]8;;http://x\x07\x1bM"
        );
        assert!(strip(b"plain").is_none());
        // An incomplete sequence is left as data.
        assert_eq!(strip(b"x\x1b[31").map(|s| s.0), None);
    }
}
