//! Parallel walking of files and directories.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{WalkBuilder, WalkState};

use crate::{path_label, Detection, Error, Outcome, Result, Scanner, Stats};

/// How [`Scanner::scan_paths`] walks.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WalkOptions {
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Honour `.gitignore`, `.ignore`, `.hushignore` and git's exclude files (default true).
    pub respect_ignore: bool,
    /// Skip hidden files and directories (default false: dotfiles such as `.env` are where
    /// secrets live). `.git` directories are always skipped.
    pub skip_hidden: bool,
    /// Skip files larger than this many bytes (default: no limit; big files are streamed).
    pub max_file_size: Option<u64>,
    /// Follow symbolic links (default false).
    pub follow_links: bool,
    /// Gitignore-style patterns of paths to leave out (from `.hush.toml`'s `ignore`), relative
    /// to `exclude_root`.
    pub exclude: Vec<String>,
    /// The directory `exclude` patterns are anchored at (the one holding `.hush.toml`).
    pub exclude_root: PathBuf,
}

impl Default for WalkOptions {
    fn default() -> WalkOptions {
        WalkOptions {
            threads: 0,
            respect_ignore: true,
            skip_hidden: false,
            max_file_size: None,
            follow_links: false,
            exclude: Vec::new(),
            exclude_root: PathBuf::from("."),
        }
    }
}

/// Name of hush's own ignore file, read like `.gitignore` in every directory.
pub const HUSHIGNORE: &str = ".hushignore";

impl Scanner {
    /// Walks `paths` (files or directories) in parallel and searches every text file.
    /// `progress` is called after each file with its size in bytes.
    ///
    /// # Errors
    /// [`Error::Walk`] for a path that does not exist or a bad exclude glob; unreadable files
    /// inside a walk fail the scan too (a scanner that silently skips files scans nothing by
    /// mistake).
    pub fn scan_paths(
        &self,
        paths: &[PathBuf],
        opts: &WalkOptions,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Outcome> {
        let Some((first, rest)) = paths.split_first() else {
            return Ok(Outcome::default());
        };
        for p in paths {
            if std::fs::symlink_metadata(p).is_err() {
                return Err(Error::Walk(format!(
                    "`{}`: no such file or directory",
                    p.display()
                )));
            }
        }
        let mut wb = WalkBuilder::new(first);
        for p in rest {
            wb.add(p);
        }
        wb.threads(opts.threads)
            .hidden(opts.skip_hidden)
            .git_ignore(opts.respect_ignore)
            .git_global(opts.respect_ignore)
            .git_exclude(opts.respect_ignore)
            .ignore(opts.respect_ignore)
            .parents(opts.respect_ignore)
            .follow_links(opts.follow_links)
            .max_filesize(opts.max_file_size)
            .filter_entry(|e| e.file_name() != ".git");
        if opts.respect_ignore {
            wb.add_custom_ignore_filename(HUSHIGNORE);
        }
        if !opts.exclude.is_empty() {
            let excluded = Excluded::new(paths, opts)?;
            wb.filter_entry(move |e| {
                e.file_name() != ".git"
                    && !excluded.matches(e.path(), e.file_type().is_some_and(|t| t.is_dir()))
            });
        }
        let found: Mutex<Vec<Detection>> = Mutex::new(Vec::new());
        let stats: Mutex<Stats> = Mutex::new(Stats::default());
        let error: Mutex<Option<Error>> = Mutex::new(None);
        wb.build_parallel().run(|| {
            let mut buf = Vec::new();
            let (found, stats, error) = (&found, &stats, &error);
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        lock(error).get_or_insert(Error::Walk(e.to_string()));
                        return WalkState::Quit;
                    }
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                let path = entry.path();
                let label = path_label(path);
                let mut local = Stats::default();
                if self.path_allowed(&label, &mut local) {
                    lock(stats).merge(&local);
                    return WalkState::Continue;
                }
                let result = std::fs::File::open(path)
                    .map_err(|e| Error::io(path, e))
                    .and_then(|mut f| {
                        self.scan_reader_with(&label, &mut f, true, &mut local, &mut buf)
                    });
                match result {
                    Ok(mut hits) => {
                        lock(stats).merge(&local);
                        if !hits.is_empty() {
                            lock(found).append(&mut hits);
                        }
                    }
                    Err(e) => {
                        lock(error).get_or_insert(e);
                        return WalkState::Quit;
                    }
                }
                // Don't keep a huge buffer alive after one big file.
                if buf.capacity() > 2 * self.chunk_size() {
                    buf = Vec::new();
                }
                progress(local.bytes);
                WalkState::Continue
            })
        });
        if let Some(e) = error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        let mut detections = found.into_inner().unwrap_or_else(|p| p.into_inner());
        detections.sort_by(|a, b| {
            (a.path.as_ref(), a.line, a.column, a.rule_id.as_ref()).cmp(&(
                b.path.as_ref(),
                b.line,
                b.column,
                b.rule_id.as_ref(),
            ))
        });
        let stats = stats.into_inner().unwrap_or_else(|p| p.into_inner());
        Ok(Outcome { detections, stats }.finish())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `.hush.toml` ignore patterns, matched with gitignore semantics against paths made relative to
/// the directory holding the configuration, whatever directory the walk started from.
struct Excluded {
    matcher: Gitignore,
    root: PathBuf,
    /// Each walk root as given, and canonical.
    starts: Vec<(PathBuf, PathBuf)>,
}

impl Excluded {
    fn new(paths: &[PathBuf], opts: &WalkOptions) -> Result<Excluded> {
        let canon = |p: &Path| {
            std::fs::canonicalize(p).map_err(|e| Error::Walk(format!("`{}`: {e}", p.display())))
        };
        let root = canon(&opts.exclude_root)?;
        let mut gb = GitignoreBuilder::new(&root);
        for glob in &opts.exclude {
            gb.add_line(None, glob)
                .map_err(|e| Error::Walk(format!("bad ignore pattern `{glob}`: {e}")))?;
        }
        let matcher = gb.build().map_err(|e| Error::Walk(e.to_string()))?;
        let starts = paths
            .iter()
            .map(|p| Ok((p.clone(), canon(p)?)))
            .collect::<Result<_>>()?;
        Ok(Excluded {
            matcher,
            root,
            starts,
        })
    }

    fn matches(&self, path: &Path, is_dir: bool) -> bool {
        let Some(abs) = self
            .starts
            .iter()
            .find_map(|(given, canon)| path.strip_prefix(given).ok().map(|rest| canon.join(rest)))
        else {
            return false;
        };
        abs.starts_with(&self.root)
            && self
                .matcher
                .matched_path_or_any_parents(&abs, is_dir)
                .is_ignore()
    }
}
