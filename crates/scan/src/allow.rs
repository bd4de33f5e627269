//! Inline allow comments: `hush:allow` (and gitleaks' `gitleaks:allow`) on a line suppresses the
//! findings on it, with an optional reason: `# hush:allow(test fixture)`,
//! `// hush:allow: rotated 2026-01`, `<!-- hush:allow documented example -->`.

const MARKERS: [&[u8]; 2] = [b"hush:allow", b"gitleaks:allow"];

/// If `line` carries an allow marker, `Some(reason)` (the reason may be empty).
pub fn inline_allow(line: &[u8]) -> Option<String> {
    MARKERS.iter().find_map(|m| {
        let at = memchr::memmem::find(line, m)?;
        Some(reason(&line[at + m.len()..]))
    })
}

fn reason(rest: &[u8]) -> String {
    let rest = String::from_utf8_lossy(rest);
    let rest = rest.trim_end_matches(['\r', '\n']);
    let text = if let Some(inner) = rest.strip_prefix('(') {
        inner.split(')').next().unwrap_or("")
    } else if let Some(r) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) {
        r
    } else if rest.starts_with(char::is_whitespace) {
        rest
    } else {
        ""
    };
    let mut text = text.trim();
    // Comment closers of the common languages are not part of the reason.
    for closer in ["*/", "-->", "#}", "%>", "--}}", "\"", "'"] {
        text = text.strip_suffix(closer).unwrap_or(text).trim_end();
    }
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::inline_allow;

    #[test]
    fn markers_and_reasons() {
        assert_eq!(inline_allow(b"key = 1 # hush:allow"), Some(String::new()));
        assert_eq!(
            inline_allow(b"key = 1 # hush:allow(test fixture) more"),
            Some("test fixture".into())
        );
        assert_eq!(
            inline_allow(b"x // hush:allow: rotated in May"),
            Some("rotated in May".into())
        );
        assert_eq!(
            inline_allow(b"<!-- hush:allow documented example -->"),
            Some("documented example".into())
        );
        assert_eq!(inline_allow(b"k /* gitleaks:allow */"), Some(String::new()));
        assert_eq!(inline_allow(b"hush:allowed"), Some(String::new()));
        assert_eq!(inline_allow(b"no marker here"), None);
        assert_eq!(inline_allow(b"hush allow"), None);
    }
}
