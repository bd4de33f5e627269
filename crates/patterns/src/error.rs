use std::path::PathBuf;

/// Where a rule came from: a file (or built-in file name) and a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file name as given by the caller, or `builtin:<name>.toml`.
    pub file: PathBuf,
    /// 1-based line of the rule's `[[rules]]` header, 0 when unknown.
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

/// Errors from loading rule files and building a [`RuleSet`](crate::RuleSet).
///
/// Messages never contain secret values; they name the file, line and rule at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is not valid TOML, or does not have the rule-file shape.
    #[error("{file}:{line}:{column}: {message}", file = .file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the TOML parser said.
        message: String,
    },
    /// A rule is well-formed TOML but invalid (bad regex, unbounded, bad keyword...).
    #[error("{origin}: rule `{rule_id}`: {reason}")]
    Rule {
        /// Where the rule is.
        origin: Origin,
        /// The rule's id (or `<missing id>`).
        rule_id: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// Two rules share an id.
    #[error("{second}: rule `{rule_id}` is already defined at {first}; rule ids must be unique")]
    DuplicateId {
        /// The id.
        rule_id: String,
        /// The first definition.
        first: Origin,
        /// The second definition.
        second: Origin,
    },
    /// `disable` named an id that no loaded rule has.
    #[error("cannot disable rule `{rule_id}`: no loaded rule has that id (see `hush rules list`)")]
    UnknownRule {
        /// The id.
        rule_id: String,
    },
    /// A known value was refused.
    #[error("known value `{label}` is {len} bytes long; values shorter than {min} bytes are refused because they would match ordinary text")]
    KnownValueTooShort {
        /// The caller's label for the value (never the value itself).
        label: String,
        /// Its length.
        len: usize,
        /// The minimum length.
        min: usize,
    },
    /// A rule file could not be read.
    #[error("cannot read rule file `{file}`: {source}", file = .file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file of known values could not be read.
    #[error("cannot read values file `{file}`: {source}", file = .file.display())]
    ValuesIo {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file of known values is readable by other users.
    #[error("values file `{file}` is accessible to other users (mode {mode:o}); run `chmod 600 {file}`", file = .file.display())]
    ValuesFileMode {
        /// The file.
        file: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Building the prefilter automaton failed.
    #[error("cannot build the keyword prefilter: {0}")]
    Prefilter(String),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
