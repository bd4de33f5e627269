//! Errors of the audit crate. None carries a record's content: only paths, line numbers and
//! what was wrong.

use std::path::PathBuf;

/// Why an audit operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Reading or writing a file failed.
    #[error("audit file `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A key file is missing, malformed or readable by others.
    #[error("key file `{}`: {message}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A public key given on the command line or in a checkpoint is not valid.
    #[error("bad public key: {0}")]
    PublicKey(String),
    /// The existing log's last record cannot be read, so appending would break the chain.
    #[error("audit log `{}`: cannot append after line {line}: {message} (run `hush audit verify` on it)", path.display())]
    Tail {
        /// The log.
        path: PathBuf,
        /// The unreadable line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// An event could not be encoded.
    #[error("cannot encode audit event: {0}")]
    Encode(String),
}

impl AuditError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> AuditError {
        AuditError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
