//! Baselines: findings a team has accepted, so that a scan reports only new ones.
//!
//! An entry is keyed by `HMAC-SHA256(key, rule id ‖ 0 ‖ secret)`, with a random key stored in
//! the file: never the secret, never a line number. Edits elsewhere in a file don't invalidate
//! an entry, the same secret moved to another file stays accepted, and a different secret on
//! the same line is still reported. Entries may carry a `reason` and an `expires` date; expired
//! entries stop suppressing, and entries nothing matched any more are reported as stale.
//!
//! One baseline serves file scans and history scans. Entries a history scan added are marked
//! `history = true`: they may accept values removed from the files long ago, so a file scan
//! neither reports them stale nor drops them on update (and turns one it matches into a plain
//! entry). A history scan does the same for plain entries, which may name files not committed
//! yet. See [`Coverage`].

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::Sha256;
use time::Date;

use crate::detect::hex;
use crate::{Detection, Error, Result};

const VERSION: u32 = 1;
const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// One accepted finding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BaselineEntry {
    /// Rule id.
    pub rule: String,
    /// HMAC of rule id and secret, hex.
    pub hash: String,
    /// Where it was seen when the entry was written (for people; not used to match).
    pub path: Option<String>,
    /// Why it is accepted.
    pub reason: Option<String>,
    /// The day it stops being accepted.
    pub expires: Option<Date>,
    /// Added by a history scan and not matched by a file scan since (written `history = true`):
    /// only a history scan reports it stale or drops it.
    pub history: bool,
}

/// What a full scan covered, for [`Baseline::updated`] and [`BaselineOutcome::stale_in`]: each kind of
/// scan answers only for its own entries.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Coverage {
    /// Every file under the scanned paths: answers for entries without `history`.
    Files,
    /// Every commit of every ref: answers for `history` entries, and marks its new entries
    /// `history`.
    History,
}

impl Coverage {
    fn answers_for(&self, e: &BaselineEntry) -> bool {
        match self {
            Coverage::Files => !e.history,
            Coverage::History => e.history,
        }
    }
}

/// A loaded or new baseline.
#[derive(Clone)]
pub struct Baseline {
    key: Vec<u8>,
    entries: Vec<BaselineEntry>,
}

impl std::fmt::Debug for Baseline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Baseline")
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// What applying a baseline did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BaselineOutcome {
    /// Findings suppressed by a live entry.
    pub suppressed: usize,
    /// Entries that matched a finding but have expired (the finding is reported again).
    pub expired: Vec<BaselineEntry>,
    /// Entries that matched nothing in this scan (see [`BaselineOutcome::stale_in`] for those the
    /// scan answers for).
    pub stale: Vec<BaselineEntry>,
}

impl BaselineOutcome {
    /// The stale entries a full scan of this coverage answers for: the ones to report.
    pub fn stale_in(&self, coverage: Coverage) -> Vec<&BaselineEntry> {
        self.stale
            .iter()
            .filter(|e| coverage.answers_for(e))
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    version: u32,
    key: String,
    #[serde(default)]
    finding: Vec<EntryRepr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryRepr {
    rule: String,
    hash: String,
    path: Option<String>,
    reason: Option<String>,
    expires: Option<String>,
    #[serde(default)]
    history: bool,
}

impl Baseline {
    /// An empty baseline with a fresh random key.
    ///
    /// # Errors
    /// [`Error::Walk`] only if the operating system has no randomness to give.
    pub fn new_random() -> Result<Baseline> {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).map_err(|e| Error::Walk(format!("no randomness: {e}")))?;
        Ok(Baseline {
            key,
            entries: Vec::new(),
        })
    }

    /// Loads a baseline file.
    ///
    /// # Errors
    /// [`Error::Io`] when unreadable, [`Error::Syntax`] for bad TOML or unknown keys,
    /// [`Error::Invalid`] for a bad version, key, hash or date.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Baseline::parse(path, &text)
    }

    /// Parses baseline text; `path` names it in errors.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn parse(path: &Path, text: &str) -> Result<Baseline> {
        let repr: FileRepr = toml::from_str(text).map_err(|e| Error::toml(path, text, &e))?;
        let invalid = |message: String| Error::Invalid {
            file: path.to_path_buf(),
            message,
        };
        if repr.version != VERSION {
            return Err(invalid(format!(
                "baseline version {} is not supported (this hush writes version {VERSION}); regenerate it with `hush scan --update-baseline`",
                repr.version
            )));
        }
        let key = unhex(&repr.key)
            .filter(|k| k.len() >= 16)
            .ok_or_else(|| invalid("`key` must be at least 32 hex digits".into()))?;
        let mut entries = Vec::with_capacity(repr.finding.len());
        for (i, e) in repr.finding.into_iter().enumerate() {
            if unhex(&e.hash).is_none_or(|h| h.len() != 32) {
                return Err(invalid(format!(
                    "finding {}: `hash` must be 64 hex digits",
                    i + 1
                )));
            }
            let expires = match &e.expires {
                Some(d) => Some(Date::parse(d, DATE).map_err(|_| {
                    invalid(format!(
                        "finding {}: `expires = \"{d}\"` is not a date; write YYYY-MM-DD",
                        i + 1
                    ))
                })?),
                None => None,
            };
            entries.push(BaselineEntry {
                rule: e.rule,
                hash: e.hash.to_ascii_lowercase(),
                path: e.path,
                reason: e.reason,
                expires,
                history: e.history,
            });
        }
        Ok(Baseline { key, entries })
    }

    /// The entries.
    pub fn entries(&self) -> &[BaselineEntry] {
        &self.entries
    }

    /// The entry hash of a finding.
    pub fn hash_of(&self, d: &Detection) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(d.rule_id.as_bytes());
        mac.update(&[0]);
        mac.update(d.secret().expose_secret().as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Splits `detections` into those still to report and what the baseline did. Entries
    /// expired before `today` no longer suppress.
    pub fn apply(
        &self,
        detections: Vec<Detection>,
        today: Date,
    ) -> (Vec<Detection>, BaselineOutcome) {
        let mut outcome = BaselineOutcome::default();
        let mut used = vec![false; self.entries.len()];
        let mut expired_seen = HashSet::new();
        let mut keep = Vec::new();
        for d in detections {
            let h = self.hash_of(&d);
            let hit = self
                .entries
                .iter()
                .position(|e| e.rule == *d.rule_id && e.hash == h);
            match hit {
                Some(i) => {
                    used[i] = true;
                    let e = &self.entries[i];
                    if e.expires.is_some_and(|x| x < today) {
                        if expired_seen.insert(i) {
                            outcome.expired.push(e.clone());
                        }
                        keep.push(d);
                    } else {
                        outcome.suppressed += 1;
                    }
                }
                None => keep.push(d),
            }
        }
        outcome.stale = self
            .entries
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(e, _)| e.clone())
            .collect();
        (keep, outcome)
    }

    /// The baseline after a full scan that found `all` (every finding, before the baseline
    /// was applied): entries still matched keep their reason and expiry, new findings get
    /// entries, and entries the scan answers for but did not match are dropped; the others are
    /// kept (see [`Coverage`]). An entry matched by a file scan is no longer `history`.
    pub fn updated(&self, all: &[Detection], coverage: Coverage) -> Baseline {
        let mut entries: Vec<BaselineEntry> = Vec::new();
        let mut seen = HashSet::new();
        for d in all {
            let h = self.hash_of(d);
            if !seen.insert((d.rule_id.to_string(), h.clone())) {
                continue;
            }
            let old = self
                .entries
                .iter()
                .find(|e| e.rule == *d.rule_id && e.hash == h);
            entries.push(match (old, coverage) {
                (Some(e), Coverage::Files) => BaselineEntry {
                    history: false,
                    ..e.clone()
                },
                (Some(e), Coverage::History) => e.clone(),
                (None, _) => BaselineEntry {
                    rule: d.rule_id.to_string(),
                    hash: h,
                    path: Some(d.path.to_string()),
                    reason: None,
                    expires: None,
                    history: matches!(coverage, Coverage::History),
                },
            });
        }
        entries.extend(
            self.entries
                .iter()
                .filter(|e| {
                    !coverage.answers_for(e) && !seen.contains(&(e.rule.clone(), e.hash.clone()))
                })
                .cloned(),
        );
        entries.sort_by(|a, b| (&a.path, &a.rule, &a.hash).cmp(&(&b.path, &b.rule, &b.hash)));
        Baseline {
            key: self.key.clone(),
            entries,
        }
    }

    /// The file text.
    pub fn to_toml(&self) -> String {
        let mut s = String::from(
            "# hush scan baseline: findings accepted on purpose.\n\
             # Entries are keyed by HMAC-SHA256(key, rule id, secret); no secret or line number is stored.\n\
             # Add `reason = \"...\"` and `expires = \"YYYY-MM-DD\"` to entries by hand; regenerate with\n\
             # `hush scan --update-baseline`.\n",
        );
        s.push_str(&format!(
            "version = {VERSION}\nkey = \"{}\"\n",
            hex(&self.key)
        ));
        for e in &self.entries {
            s.push_str(&format!(
                "\n[[finding]]\nrule = {}\nhash = \"{}\"\n",
                quote(&e.rule),
                e.hash
            ));
            if let Some(p) = &e.path {
                s.push_str(&format!("path = {}\n", quote(p)));
            }
            if let Some(r) = &e.reason {
                s.push_str(&format!("reason = {}\n", quote(r)));
            }
            if let Some(x) = e.expires {
                s.push_str(&format!(
                    "expires = \"{}\"\n",
                    x.format(DATE).unwrap_or_default()
                ));
            }
            if e.history {
                s.push_str("history = true\n");
            }
        }
        s
    }

    /// Writes the file atomically: a temporary file in the same directory, then a rename.
    ///
    /// # Errors
    /// [`Error::Write`] when it cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let err = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = dir.join(format!(
            ".{}.tmp{}",
            path.file_name()
                .map_or("baseline".into(), |n| n.to_string_lossy()),
            std::process::id()
        ));
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(self.to_toml().as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(e)
        })
    }
}

/// Today's date (UTC), for expiry checks.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
