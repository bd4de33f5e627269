use std::path::PathBuf;

/// Errors from scanning. Messages name the file or command at fault and never contain secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or stream could not be read.
    #[error("cannot read `{path}`: {source}", path = .path.display())]
    Io {
        /// The file (`-` for stdin).
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write `{path}`: {source}", path = .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `git` could not be run or failed.
    #[error("`git {args}` failed: {message}")]
    Git {
        /// The arguments given to git.
        args: String,
        /// What went wrong (git's own stderr, trimmed).
        message: String,
    },
    /// git's output could not be understood.
    #[error("cannot parse the output of `git {args}`: {message}; please report this as a bug")]
    GitOutput {
        /// The arguments given to git.
        args: String,
        /// What was unexpected.
        message: String,
    },
    /// `.hush.toml` (or a baseline) is not valid.
    #[error("{file}:{line}:{column}: {message}", file = .file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A value in a configuration or baseline is invalid.
    #[error("{file}: {message}", file = .file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The directory walker failed.
    #[error("{0}")]
    Walk(String),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Turns a `toml` deserialisation error into [`Error::Syntax`] with line and column.
    pub(crate) fn toml(file: &std::path::Path, text: &str, err: &toml::de::Error) -> Error {
        let (line, column) = match err.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                (line, column)
            }
            None => (0, 0),
        };
        Error::Syntax {
            file: file.to_path_buf(),
            line,
            column,
            message: err.message().to_string(),
        }
    }
}
