//! Filters every finding passes before it is reported: entropy and placeholders.

/// Shannon entropy of `bytes` in bits per byte (0.0 for an empty slice).
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark documentation placeholders, matched case-insensitively anywhere in a secret.
const PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"example",
    b"changeme",
    b"change_me",
    b"change-me",
    b"placeholder",
    b"your_",
    b"your-",
    b"redacted",
    b"dummy",
    b"replace_me",
    b"replace-me",
    b"replaceme",
];

/// Template syntaxes, opener and closer: a secret holding an opener followed later by its
/// closer is a reference, not a value. (A lone `$(` occurs in random keys, e.g. Django's.)
const TEMPLATE_MARKERS: &[(&[u8], &[u8])] = &[
    (b"${", b"}"),
    (b"{{", b"}}"),
    (b"$(", b")"),
    (b"%(", b")"),
    (b"#{", b"}"),
    (b"<%", b"%>"),
];

/// Length of a run of one repeated byte, or of consecutive ascending bytes, that marks a placeholder.
const RUN_LEN: usize = 6;
/// Secrets longer than this may contain runs (`//////////` in AWS session tokens).
const LONG_SECRET: usize = 64;

/// True when `secret` is plainly a placeholder or template, not a credential.
///
/// Checks documentation words (`example`, `changeme`, `your_`...), template markers (`${`, `{{`,
/// `$(`...), `<...>` wrappers, and runs of one repeated byte (`xxxxxx`, `******`) or ascending
/// bytes (`123456`, `abcdef`) of at least 6.
pub fn is_placeholder(secret: &[u8]) -> bool {
    if TEMPLATE_MARKERS.iter().any(|(open, close)| {
        memchr::memmem::find(secret, open)
            .is_some_and(|at| memchr::memmem::find(&secret[at + open.len()..], close).is_some())
    }) {
        return true;
    }
    if let (Some(open), Some(close)) = (memchr::memchr(b'<', secret), memchr::memrchr(b'>', secret))
    {
        if open < close {
            return true;
        }
    }
    let mut same = 1;
    let mut ascending = 1;
    for w in secret.windows(2) {
        same = if w[0] == w[1] { same + 1 } else { 1 };
        ascending = if w[0].is_ascii_alphanumeric() && w[1] == w[0].wrapping_add(1) {
            ascending + 1
        } else {
            1
        };
        // Long random secrets (session tokens, macaroons) may hold a run by design; a run
        // marks a placeholder only in a short secret or when it is a quarter of the secret.
        let run = same.max(ascending);
        if run >= RUN_LEN && (secret.len() < LONG_SECRET || run * 4 >= secret.len()) {
            return true;
        }
    }
    if secret.len() < 5 {
        return false;
    }
    let mut lower = [0u8; 256];
    // Placeholder words are short and sit near the front in practice, but scan the whole
    // secret in windows so long secrets are checked without allocating.
    let mut start = 0;
    while start < secret.len() {
        let end = (start + lower.len()).min(secret.len());
        let chunk = &mut lower[..end - start];
        chunk.copy_from_slice(&secret[start..end]);
        chunk.make_ascii_lowercase();
        if PLACEHOLDER_WORDS
            .iter()
            .any(|w| memchr::memmem::find(chunk, w).is_some())
        {
            return true;
        }
        if end == secret.len() {
            break;
        }
        start = end - 16; // overlap by more than the longest word
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_uniform_and_constant() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!((shannon_entropy(b"aabb") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn placeholders() {
        for p in [
            &b"AKIAIOSFODNN7EXAMPLE"[..],
            b"xxxxxxxxxxxxxxxx",
            b"sk_live_************",
            b"${GITHUB_TOKEN}",
            b"{{ api_key }}",
            b"$(cat /run/secret)",
            b"<YOUR TOKEN>",
            b"changeme",
            b"your-api-key-here",
            b"sk_live_1234567890",
            b"abcdefgh",
            b"[REDACTED]",
        ] {
            assert!(is_placeholder(p), "{}", String::from_utf8_lossy(p));
        }
        for s in [
            &b"ghp_0Jq4Zc8pLkV3nTmW7yRbX2sAeD5fH9gUoI1K"[..], // hush:allow(fake test value)
            b"x7Gq!2$pa-_Zr9",
            b"k9$(w2_q8%(zt!m7u4vb0c^r6", // Django-style key: openers without closers
            b"AKIA2MV5PZQ3X7RNB4TD",      // hush:allow(fake test value)
        ] {
            assert!(!is_placeholder(s), "{}", String::from_utf8_lossy(s));
        }
        let mut long = vec![b'a'; 0];
        for i in 0..600u32 {
            long.push(b"QwErTy0192"[(i % 10) as usize]);
        }
        assert!(!is_placeholder(&long));
        long.extend_from_slice(b"Example");
        assert!(is_placeholder(&long));
    }
}
