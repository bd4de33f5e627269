//! `.hush.toml`: per-repository scan settings.
//!
//! ```toml
//! [scan]
//! rules = ["ci/extra-rules.toml"]        # more rule files (hush or gitleaks format)
//! disable = ["generic-password"]         # rule ids to turn off
//! ignore = ["tests/fixtures/**", "*.min.js"]  # gitignore-style globs never scanned
//! baseline = ".hush-baseline.toml"       # accepted findings
//! ```
//!
//! Relative paths are relative to the directory holding `.hush.toml`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// The file name looked for at the repository root (or the current directory outside git).
pub const CONFIG_FILE: &str = ".hush.toml";

/// A parsed `.hush.toml`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The file it came from.
    pub file: PathBuf,
    /// The `[scan]` table.
    pub scan: ScanConfig,
}

/// The `[scan]` table, with paths resolved against the config file's directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ScanConfig {
    /// Extra rule files.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// Rule ids to disable.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Leave out the built-in rules.
    #[serde(default)]
    pub no_builtin: bool,
    /// Globs of paths to skip.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// The baseline file.
    pub baseline: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    #[serde(default)]
    scan: ScanConfig,
}

impl Config {
    /// Loads `file`.
    ///
    /// # Errors
    /// [`Error::Io`] when unreadable, [`Error::Syntax`] (with line and column) for bad TOML or
    /// unknown keys.
    pub fn load(file: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
        Config::parse(file, &text)
    }

    /// Parses config text; `file` names it in errors and anchors relative paths.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn parse(file: &Path, text: &str) -> Result<Config> {
        let repr: Repr = toml::from_str(text).map_err(|e| Error::toml(file, text, &e))?;
        let mut scan = repr.scan;
        let base = file.parent().unwrap_or(Path::new("."));
        for r in &mut scan.rules {
            *r = base.join(&*r);
        }
        if let Some(b) = &mut scan.baseline {
            *b = base.join(&*b);
        }
        for g in &scan.ignore {
            globset::Glob::new(g).map_err(|e| Error::Invalid {
                file: file.to_path_buf(),
                message: format!("[scan] ignore: bad glob `{g}`: {e}"),
            })?;
        }
        Ok(Config {
            file: file.to_path_buf(),
            scan,
        })
    }

    /// `.hush.toml` in `dir`, if there is one.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn find(dir: &Path) -> Result<Option<Config>> {
        let f = dir.join(CONFIG_FILE);
        if f.is_file() {
            Config::load(&f).map(Some)
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves_paths() {
        let c = Config::parse(
            Path::new("/repo/.hush.toml"),
            "[scan]\nrules = [\"r.toml\"]\ndisable = [\"x\"]\nignore = [\"a/**\"]\nbaseline = \"b.toml\"\n",
        )
        .expect("valid");
        assert_eq!(c.scan.rules, vec![PathBuf::from("/repo/r.toml")]);
        assert_eq!(c.scan.baseline, Some(PathBuf::from("/repo/b.toml")));
        assert_eq!(c.scan.disable, vec!["x".to_string()]);
    }

    #[test]
    fn unknown_keys_name_line_and_column() {
        let err = Config::parse(Path::new(".hush.toml"), "[scan]\nrulez = []\n").expect_err("bad");
        let msg = err.to_string();
        assert!(msg.starts_with(".hush.toml:2:1: "), "{msg}");
        assert!(msg.contains("rulez"), "{msg}");
    }

    #[test]
    fn bad_globs_are_refused() {
        let err =
            Config::parse(Path::new(".hush.toml"), "[scan]\nignore = [\"a[\"]\n").expect_err("bad");
        assert!(err.to_string().contains("bad glob"), "{err}");
    }
}
