//! The `paths` of a gitleaks configuration's global allowlists: files whose path matches one of
//! these regular expressions are not scanned, as in gitleaks. (The rule engine applies the
//! allowlists' `regexes` and `stopwords`; paths only mean something to a scanner of files.)

use std::path::Path;

use regex_automata::meta::Regex;
use toml::{Table, Value};

use crate::{Error, Result};

/// Path regexes from gitleaks global allowlists.
#[derive(Debug, Default)]
pub struct PathAllow {
    regexes: Vec<Regex>,
}

impl PathAllow {
    /// Reads the global `[allowlist]` / `[[allowlists]]` `paths` of a gitleaks configuration.
    /// Allowlists limited to some rules (`targetRules`) or combining conditions
    /// (`condition = "AND"`) are left to the rule engine's notes: they don't exclude a file.
    ///
    /// # Errors
    /// [`Error::Syntax`] for bad TOML, [`Error::Invalid`] for a bad regex.
    pub fn from_gitleaks(file: &Path, text: &str) -> Result<PathAllow> {
        let table: Table = toml::from_str(text).map_err(|e| Error::toml(file, text, &e))?;
        let mut lists: Vec<&Table> = Vec::new();
        if let Some(t) = table.get("allowlist").and_then(Value::as_table) {
            lists.push(t);
        }
        if let Some(a) = table.get("allowlists").and_then(Value::as_array) {
            lists.extend(a.iter().filter_map(Value::as_table));
        }
        let mut regexes = Vec::new();
        for t in lists {
            let limited = t
                .get("targetRules")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            let and = t.get("condition").and_then(Value::as_str) == Some("AND");
            if limited || and {
                continue;
            }
            for p in t
                .get("paths")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(p) = p.as_str() else { continue };
                let re = Regex::new(p).map_err(|e| Error::Invalid {
                    file: file.to_path_buf(),
                    message: format!("allowlist path regex `{p}`: {e}"),
                })?;
                regexes.push(re);
            }
        }
        Ok(PathAllow { regexes })
    }

    /// True when `path` (as reported, `/`-separated) is allowlisted.
    pub fn matches(&self, path: &str) -> bool {
        self.regexes.iter().any(|r| r.is_match(path))
    }

    /// True when there is no path to match.
    pub fn is_empty(&self) -> bool {
        self.regexes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_paths_only() {
        let text = r#"
[allowlist]
paths = ['''(^|/)vendor/''', '''\.lock$''']
[[allowlists]]
targetRules = ["x"]
paths = ['''^src/''']
[[allowlists]]
condition = "AND"
paths = ['''^docs/''']
regexes = ['''example''']
"#;
        let a = PathAllow::from_gitleaks(Path::new("g.toml"), text).expect("parses");
        assert!(a.matches("vendor/lib.js"));
        assert!(a.matches("a/vendor/lib.js"));
        assert!(a.matches("Cargo.lock"));
        assert!(!a.matches("src/main.rs"));
        assert!(!a.matches("docs/x.md"));
        let bad = PathAllow::from_gitleaks(Path::new("g.toml"), "[allowlist]\npaths = ['(']\n");
        assert!(bad.is_err());
    }
}
