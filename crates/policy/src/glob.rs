//! Policy globs that cost nothing until they are used.
//!
//! Compiling a glob builds a regex and a DFA: about half a million instructions each, and a
//! policy holds dozens (every command argument, tool, host and path pattern, compared again
//! while validating). Most are plain words (`git`, `read_file`, `home`), which match only
//! themselves: those are compared as bytes and never compiled. The rest compile on first use.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

use globset::{Glob, GlobBuilder, GlobMatcher};

/// A glob with backslash escapes, matched on bytes.
///
/// ```
/// use hush_policy::GlobPattern;
///
/// let p = GlobPattern::new("src/*.rs", true).expect("a glob");
/// assert!(p.is_match("src/main.rs"));
/// assert!(!p.is_match("src/a/main.rs"));
/// assert!(GlobPattern::new("home", true).expect("a glob").is_match("home"));
/// assert!(GlobPattern::new("[", true).is_none());
/// ```
#[derive(Clone, Debug)]
pub struct GlobPattern {
    glob: Glob,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// `*` without `literal_separator`: anything.
    Any,
    /// No glob syntax: exactly the pattern.
    Literal,
    /// Compiled on first use.
    Regex(OnceLock<GlobMatcher>),
}

impl GlobPattern {
    /// Parses `pattern`; with `literal_separator`, `*` and `?` don't match `/`. `None` when
    /// it is not a valid glob (policies report where and why when they are loaded).
    pub fn new(pattern: &str, literal_separator: bool) -> Option<GlobPattern> {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(literal_separator)
            .backslash_escape(true)
            .build()
            .ok()?;
        Some(GlobPattern::from_glob(glob, literal_separator))
    }

    /// Wraps a glob built with backslash escapes (`literal_separator` as it was built).
    pub(crate) fn from_glob(glob: Glob, literal_separator: bool) -> GlobPattern {
        let p = glob.glob();
        let kind = if p == "*" && !literal_separator {
            Kind::Any
        } else if !p
            .bytes()
            .any(|b| matches!(b, b'*' | b'?' | b'[' | b']' | b'{' | b'}' | b'\\'))
        {
            Kind::Literal
        } else {
            Kind::Regex(OnceLock::new())
        };
        GlobPattern { glob, kind }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.glob.glob()
    }

    /// Whether `s` (a string or a path, as bytes) matches.
    pub fn is_match(&self, s: impl AsRef<OsStr>) -> bool {
        let s = s.as_ref();
        match &self.kind {
            Kind::Any => true,
            Kind::Literal => s.as_bytes() == self.glob.glob().as_bytes(),
            Kind::Regex(m) => m
                .get_or_init(|| self.glob.compile_matcher())
                .is_match(std::path::Path::new(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::GlobPattern;

    /// The fast paths agree with the compiled glob, with and without `literal_separator`.
    #[test]
    fn agrees_with_globset() {
        let patterns = [
            "read_file",
            "*",
            "tool7",
            "sub*",
            "a?c",
            "x\\*y",
            "{a,b}",
            "[ab]c",
            "",
            "a/b",
            "/home/me/**",
            "**/.env",
            "*.pem",
        ];
        let inputs = [
            "read_file",
            "read_files",
            "",
            "sub",
            "sub7",
            "abc",
            "x*y",
            "a",
            "b",
            "ac",
            "a/b",
            "READ_FILE",
            "/home/me/x",
            "/home/me",
            "w/.env",
            ".env",
            "k.pem",
            "d/k.pem",
        ];
        for sep in [false, true] {
            for p in patterns {
                let m = globset::GlobBuilder::new(p)
                    .literal_separator(sep)
                    .backslash_escape(true)
                    .build()
                    .expect("glob")
                    .compile_matcher();
                let g = GlobPattern::new(p, sep).expect("glob");
                assert_eq!(g.as_str(), p);
                for s in inputs {
                    assert_eq!(
                        g.is_match(s),
                        m.is_match(s),
                        "pattern {p:?} on {s:?}, literal_separator {sep}"
                    );
                }
            }
        }
    }
}
