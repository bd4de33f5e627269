//! Errors from loading a policy. Evaluation never errors: it denies.

use std::fmt;
use std::path::PathBuf;

/// Where in a policy file something is: file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file as it was named (built-in profiles are `<profile:NAME>`).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text`.
    pub(crate) fn at(file: &std::path::Path, text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let mut off = offset;
        while !text.is_char_boundary(off) {
            off -= 1;
        }
        let before = &text[..off];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            file: file.to_path_buf(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A policy file could not be read.
    #[error("cannot read policy `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("{location}: {message}")]
    Syntax {
        /// Where.
        location: Location,
        /// What is wrong, from the TOML parser.
        message: String,
    },
    /// Well-formed but wrong: a bad glob, an unknown profile, a rule that can never apply.
    #[error("{location}: {message}")]
    Invalid {
        /// Where.
        location: Location,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl PolicyError {
    /// Where the error is, when it is in a file's text.
    pub fn location(&self) -> Option<&Location> {
        match self {
            PolicyError::Io { .. } => None,
            PolicyError::Syntax { location, .. } | PolicyError::Invalid { location, .. } => {
                Some(location)
            }
        }
    }
}
