//! Secret scanning for `hush scan`: files and directories, streams, the git index and git
//! history, with inline allows, baselines and report formats.
//!
//! The engine ([`hush_patterns::RuleSet`]) finds secrets in byte slices; this crate decides what
//! to feed it and how to report what it finds:
//!
//! - [`Scanner::scan_paths`] walks files in parallel with the `ignore` crate (`.gitignore`,
//!   `.hushignore`, size limit, binary sniffing) and streams each file through a bounded window,
//!   so a file of any size is searched in constant memory.
//! - [`Scanner::scan_reader`] searches one stream (`hush scan -`).
//! - [`git::staged`] searches exactly what the index holds for a commit; [`git::history`] the
//!   lines each commit added.
//! - [`Baseline`] suppresses known findings by an HMAC of rule id and secret; inline
//!   `hush:allow` / `gitleaks:allow` comments suppress single lines.
//! - [`report`] renders text, JSON, JSON Lines, SARIF 2.1.0 and JUnit XML.
//!
//! Secrets are held in [`SecretString`] and leave a [`Detection`] only through
//! [`Detection::secret`]; every rendered form masks them unless the caller asks otherwise.

#![forbid(unsafe_code)]

mod allow;
mod baseline;
mod config;
mod detect;
mod error;
pub mod git;
mod pathallow;
pub mod report;
mod walk;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use allow::inline_allow;
pub use baseline::{today, Baseline, BaselineEntry, BaselineOutcome, Coverage};
pub use config::{Config, ScanConfig, CONFIG_FILE};
pub use detect::{Detection, Scanner};
pub use error::{Error, Result};
pub use pathallow::PathAllow;
pub use secrecy::{ExposeSecret, SecretString};
pub use walk::{WalkOptions, HUSHIGNORE};

/// The commit a history finding was added in.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Commit {
    /// Full object id.
    pub id: String,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// Author date, strict ISO 8601.
    pub date: String,
    /// First line of the message.
    pub summary: String,
}

impl Commit {
    /// A commit record (history scans build these from `git log`).
    pub fn new(id: &str, author: &str, email: &str, date: &str, summary: &str) -> Commit {
        Commit {
            id: id.into(),
            author: author.into(),
            email: email.into(),
            date: date.into(),
            summary: summary.into(),
        }
    }
}

/// What a scan looked at, for the summary line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Files (or blobs, or commit-file pairs) searched.
    pub files: u64,
    /// Bytes searched.
    pub bytes: u64,
    /// Files skipped because their content looks binary.
    pub binary_skipped: u64,
    /// Commits read (history scans).
    pub commits: u64,
    /// Files skipped because a gitleaks allowlist `paths` entry matches them.
    pub path_allowed: u64,
    /// Findings suppressed by a `hush:allow` or `gitleaks:allow` comment.
    pub allowed_inline: u64,
    /// Findings per rule id, after inline allows (before a baseline).
    pub per_rule: BTreeMap<String, u64>,
}

impl Stats {
    pub(crate) fn merge(&mut self, other: &Stats) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.binary_skipped += other.binary_skipped;
        self.commits += other.commits;
        self.allowed_inline += other.allowed_inline;
        self.path_allowed += other.path_allowed;
        for (k, v) in &other.per_rule {
            *self.per_rule.entry(k.clone()).or_default() += v;
        }
    }
}

/// Everything one scan produced: findings in a stable order and the counts.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Outcome {
    /// Findings, sorted by commit order (history), then path, line and column.
    pub detections: Vec<Detection>,
    /// What was searched.
    pub stats: Stats,
}

impl Outcome {
    /// An outcome of `detections` (in reporting order) and `stats`; per-rule counts are
    /// recomputed from the detections.
    pub fn new(detections: Vec<Detection>, stats: Stats) -> Outcome {
        Outcome { detections, stats }.finish()
    }

    pub(crate) fn finish(mut self) -> Outcome {
        // Two findings with the same rule, path and masked line (and commit) would share a
        // fingerprint: number the repeats so each stays a distinct result.
        let mut seen: std::collections::HashMap<String, usize> = Default::default();
        for d in &mut self.detections {
            let n = seen.entry(d.fingerprint.clone()).or_default();
            *n += 1;
            if *n > 1 {
                d.fingerprint = format!("{}:{n}", d.fingerprint);
            }
        }
        self.stats.per_rule.clear();
        for d in &self.detections {
            *self
                .stats
                .per_rule
                .entry(d.rule_id.to_string())
                .or_default() += 1;
        }
        self
    }
}

/// How `hush` shows a secret when not told `--show-secrets`: up to four leading characters of a
/// long secret (enough to tell `ghp_` from `AKIA`), then `*****`. Secrets shorter than 16
/// characters show nothing of themselves.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    let keep = if n >= 16 { 4 } else { 0 };
    let mut out: String = secret.chars().take(keep).collect();
    out.push_str("*****");
    out
}

/// A cheaply clonable path label for findings, `/`-separated.
pub(crate) fn path_label(path: &std::path::Path) -> Arc<str> {
    let s = path.to_string_lossy();
    let s = s.strip_prefix("./").unwrap_or(&s);
    #[cfg(windows)]
    let s = s.replace('\\', "/");
    Arc::from(s)
}
