//! The crate's error type. No variant carries secret bytes: values, passphrases and keys never
//! reach an error, only names, paths and sizes.

use std::path::PathBuf;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the vault, keyring and env-check code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, writing, renaming or syncing a file failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done (`read`, `write`, `rename`, ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// There is no vault at the path.
    #[error("no vault at `{path}`; create one first (`hush vault init`) or point to another with `--vault PATH`")]
    NotFound {
        /// Where the vault was expected.
        path: PathBuf,
    },
    /// A vault already exists where a new one was to be created.
    #[error("a vault already exists at `{path}`; remove it first or choose another path")]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The file does not start with the vault magic bytes.
    #[error("`{path}` is not a hush vault (it does not start with the vault magic bytes)")]
    NotAVault {
        /// The file.
        path: PathBuf,
    },
    /// The file has a format version this build cannot read.
    #[error("`{path}` is vault format version {version}; this build reads version {supported}: upgrade hush")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the header.
        version: u16,
        /// The version this build reads and writes.
        supported: u16,
    },
    /// The file ends before the header or the ciphertext does.
    #[error("`{path}` is truncated: {len} bytes, expected {expected}; restore it from a backup")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
        /// The length the header calls for (or the header length).
        expected: u64,
    },
    /// The file is damaged: header checksum, trailing bytes, KDF parameters, failed
    /// authentication of the entries, or a malformed entry table.
    #[error("`{path}` is corrupted ({what}); restore it from a backup")]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// Which check failed.
        what: &'static str,
    },
    /// The passphrase does not unlock the vault.
    #[error("wrong passphrase for `{path}`")]
    WrongPassphrase {
        /// The file.
        path: PathBuf,
    },
    /// The vault file or its directory can be read by others.
    #[error("`{path}` is accessible by group or others (mode {mode:04o}); fix it with `chmod {fix:o} {path}`")]
    InsecurePermissions {
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The mode to set.
        fix: u32,
    },
    /// The vault file is owned by someone else.
    #[error("`{path}` is owned by uid {owner}, not by you (uid {me}); refusing to use it (copy it or `chown` it)")]
    WrongOwner {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The current user.
        me: u32,
    },
    /// Another writer holds the lock too long, or locking failed.
    #[error("cannot lock `{path}`: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A vault opened read-only was to be written.
    #[error("`{path}` was opened read-only; open it for update to change it")]
    ReadOnly {
        /// The vault file.
        path: PathBuf,
    },
    /// KDF parameters out of the supported range.
    #[error("invalid KDF parameters: {0}")]
    KdfParams(String),
    /// A secret name that is not a valid variable name.
    #[error("invalid secret name `{name}`: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A secret value that cannot be stored (empty, not UTF-8, too long, NUL byte).
    #[error("invalid value for `{name}`: {reason}")]
    InvalidValue {
        /// The secret's name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A metadata field that cannot be stored (tag, description).
    #[error("invalid {field} for `{name}`: {reason}")]
    InvalidMetadata {
        /// The secret's name.
        name: String,
        /// The field.
        field: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },
    /// No entry of that name.
    #[error("no secret named `{name}` in the vault (see `hush vault list`)")]
    NoSuchEntry {
        /// The name looked up.
        name: String,
    },
    /// The OS keyring is not usable on this machine.
    #[error("no usable OS keyring ({reason}); keep secrets in the encrypted vault file instead (`hush vault init`, `--vault PATH`)")]
    NoKeyring {
        /// What the platform said (never a secret).
        reason: String,
    },
    /// The OS keyring refused an operation.
    #[error("keyring error for `{account}`: {reason}")]
    Keyring {
        /// The account (secret name) concerned.
        account: String,
        /// What the platform said (never a secret).
        reason: String,
    },
    /// A line of an env file or memory-store input that cannot be parsed.
    #[error("{origin}:{line}: {reason}")]
    EnvSyntax {
        /// The file, or `<input>`.
        origin: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// An env spec that cannot be parsed or is inconsistent.
    #[error("{origin}: {reason}")]
    Spec {
        /// The spec file.
        origin: String,
        /// What is wrong, naming the variable.
        reason: String,
    },
    /// The system random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
    /// Hardening the process (core dumps) failed.
    #[error("cannot disable core dumps: {0}")]
    Harden(std::io::Error),
}
