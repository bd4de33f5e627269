//! Keeping JSON valid when redacting inside strings.

/// Widens `start..end` so that it does not begin or end inside an escape sequence (`\"`, `\\`,
/// `\n`, `\u00e9`): replacing half an escape would leave invalid JSON.
pub(crate) fn widen(buf: &[u8], start: usize, end: usize) -> (usize, usize) {
    let mut start = start;
    // Inside an escape if an odd number of backslashes precede `start`...
    let mut slashes = 0;
    while start > slashes && buf[start - slashes - 1] == b'\\' {
        slashes += 1;
    }
    if slashes % 2 == 1 {
        start -= 1;
    } else if start >= 2 {
        // ...or within the hex digits of a `\uXXXX`.
        let lo = start.saturating_sub(5);
        if let Some(u) = (lo..start)
            .rev()
            .find(|&i| buf[i] == b'u' && i > 0 && buf[i - 1] == b'\\')
        {
            if start - u <= 4 && unescaped(buf, u - 1) {
                start = u - 1;
            }
        }
    }
    let mut end = end;
    // Ends inside an escape: the last byte is an escaping backslash, or within `\uXXXX`.
    let mut i = start;
    while i < end {
        if buf[i] == b'\\' {
            let len = if buf.get(i + 1) == Some(&b'u') { 6 } else { 2 };
            if i + len > end {
                end = (i + len).min(buf.len());
            }
            i += len;
        } else {
            i += 1;
        }
    }
    (start, end.max(start))
}

/// True when an even number of backslashes precede `at`: the byte there is not escaped (a
/// backslash there starts an escape; a quote there delimits a string).
fn unescaped(buf: &[u8], at: usize) -> bool {
    let mut n = 0;
    while at > n && buf[at - n - 1] == b'\\' {
        n += 1;
    }
    n % 2 == 0
}

/// Positions of `"` in `start..end` that are not escaped: string delimiters, which a
/// replacement must keep.
pub(crate) fn unescaped_quotes(buf: &[u8], start: usize, end: usize) -> Vec<usize> {
    (start..end)
        .filter(|&i| buf[i] == b'"' && unescaped(buf, i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widen_never_splits_escapes() {
        let buf = br#"{"a":"x\"secret\\y\u00e9z"}"#;
        // start just after the backslash of \"
        let at = buf.iter().position(|&b| b == b'"').unwrap();
        let s = buf.windows(2).position(|w| w == b"\\\"").unwrap() + 1;
        assert_eq!(widen(buf, s, s + 3).0, s - 1);
        let _ = at;
        // end in the middle of \u00e9
        let u = buf.windows(2).position(|w| w == b"\\u").unwrap();
        let (_, e) = widen(buf, u - 2, u + 3);
        assert_eq!(e, u + 6);
        // start inside \u00e9's digits
        let (s2, _) = widen(buf, u + 3, u + 8);
        assert_eq!(s2, u);
    }

    #[test]
    fn quotes() {
        let buf = br#""a\"b","c""#;
        assert_eq!(unescaped_quotes(buf, 0, buf.len()), vec![0, 5, 7, 9]);
    }
}
