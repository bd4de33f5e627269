//! A policy handle that reloads when its files change and swaps atomically for the next
//! decision. An invalid edit keeps the last good policy and is reported.
//!
//! A save is often several writes (truncate, then write; or write in pieces), and a policy read
//! between them is a different policy: an empty file, or a rule cut before its constraints. So
//! a change is only loaded once the files have settled: the watcher waits for
//! [`SETTLE`] without events, and [`PolicyHandle::reload_if_changed`] for two equal looks at
//! the files [`SETTLE`] apart.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use notify::{RecursiveMode, Watcher};

use crate::error::PolicyError;
use crate::load::Loader;
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::types::{Decision, Request};

/// What a reload did, passed to [`PolicyHandle::on_reload`] callbacks.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadEvent {
    /// The new policy is in use.
    Reloaded {
        /// How many policies have been in use, including this one.
        generation: u64,
    },
    /// The edit was refused; the last good policy stays in use.
    Rejected {
        /// Why (file, line, column and message).
        error: String,
    },
}

type Callback = Box<dyn Fn(&ReloadEvent) + Send + Sync>;

/// How long policy files must stay unchanged before an edit is loaded.
pub const SETTLE: Duration = Duration::from_millis(100);

/// The longest a reload waits for files that keep changing; then it loads what is there.
const SETTLE_MAX: Duration = Duration::from_secs(2);

/// What identifies a file's version: path, and (inode, length, mtime) when it exists.
type Stamp = (PathBuf, Option<(u64, u64, SystemTime)>);

fn stamps(paths: &[PathBuf]) -> Vec<Stamp> {
    use std::os::unix::fs::MetadataExt;
    paths
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.ino(), m.len(), m.modified().ok()?)));
            (p.clone(), m)
        })
        .collect()
}

/// Waits until two looks at `paths`, `settle` apart, agree (or [`SETTLE_MAX`] passes).
fn settle(paths: &[PathBuf], settle: Duration) {
    let deadline = Instant::now() + SETTLE_MAX;
    let mut before = stamps(paths);
    loop {
        std::thread::sleep(settle);
        let now = stamps(paths);
        if now == before || Instant::now() >= deadline {
            return;
        }
        before = now;
    }
}

struct Inner {
    loader: Loader,
    /// The sources' stamps when they were last loaded (or refused).
    stamps: Mutex<Vec<Stamp>>,
    current: RwLock<(Arc<Policy>, u64)>,
    last_error: Mutex<Option<String>>,
    metrics: Metrics,
    callbacks: Mutex<Vec<Callback>>,
    watcher: Mutex<Option<(notify::RecommendedWatcher, HashSet<PathBuf>)>>,
}

/// A shared, reloadable policy. Cheap to clone; every clone sees the same policy.
///
/// ```
/// use hush_policy::{Context, Loader, PolicyHandle, Request, Tier};
///
/// let mut loader = Loader::new(Context::new("/w", "/home/me", "/tmp"));
/// loader.profile(Tier::Project, "ide");
/// let handle = PolicyHandle::new(loader)?;
/// let d = handle.evaluate(&Request::exec("git", ["log"], "/w"));
/// assert!(d.is_allowed());
/// assert_eq!(handle.metrics().snapshot().total(), 1);
/// # Ok::<(), hush_policy::PolicyError>(())
/// ```
#[derive(Clone)]
pub struct PolicyHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PolicyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyHandle")
            .field("generation", &self.generation())
            .field("last_error", &self.last_error())
            .finish()
    }
}

impl PolicyHandle {
    /// Loads the policy once.
    ///
    /// # Errors
    ///
    /// The first load's [`PolicyError`]: there is no last good policy to fall back on.
    pub fn new(loader: Loader) -> Result<PolicyHandle, PolicyError> {
        let policy = loader.load()?;
        Ok(PolicyHandle {
            inner: Arc::new(Inner {
                loader,
                stamps: Mutex::new(stamps(policy.sources())),
                current: RwLock::new((Arc::new(policy), 1)),
                last_error: Mutex::new(None),
                metrics: Metrics::new(),
                callbacks: Mutex::new(Vec::new()),
                watcher: Mutex::new(None),
            }),
        })
    }

    /// The policy in use now. Hold the `Arc` for the length of one decision or run.
    pub fn current(&self) -> Arc<Policy> {
        self.inner
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clone()
    }

    /// How many policies have been in use (1 after [`PolicyHandle::new`]).
    pub fn generation(&self) -> u64 {
        self.inner
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
    }

    /// Decides with the current policy and counts the decision in [`PolicyHandle::metrics`].
    pub fn evaluate(&self, request: &Request) -> Decision {
        let policy = self.current();
        let start = Instant::now();
        let d = policy.evaluate(request);
        self.inner.metrics.record(&d, start.elapsed());
        d
    }

    /// The decision counters.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The error of the last refused reload, cleared by a successful one.
    pub fn last_error(&self) -> Option<String> {
        self.inner
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Calls `f` after every reload attempt (from the watcher's thread).
    pub fn on_reload(&self, f: impl Fn(&ReloadEvent) + Send + Sync + 'static) {
        self.inner
            .callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(f));
    }

    /// Loads the files again. On success the new policy is used from the next decision on;
    /// on failure the current one stays and the error is kept in [`PolicyHandle::last_error`].
    ///
    /// # Errors
    ///
    /// The [`PolicyError`] of the refused edit.
    pub fn reload(&self) -> Result<u64, PolicyError> {
        reload(&self.inner)
    }

    /// Reloads if a policy file changed (inode, length or modification time) since the last
    /// load, once the files have stayed unchanged for [`SETTLE`]. For callers that decide at
    /// known moments (before each command) and cannot wait for a [`watch`](Self::watch)er.
    /// `None` when nothing changed.
    pub fn reload_if_changed(&self) -> Option<Result<u64, PolicyError>> {
        let paths: Vec<PathBuf> = {
            let last = self.inner.stamps.lock().unwrap_or_else(|p| p.into_inner());
            if stamps(&self.inner.sources()) == *last {
                return None;
            }
            last.iter().map(|(p, _)| p.clone()).collect()
        };
        settle(&paths, SETTLE);
        Some(reload(&self.inner))
    }

    /// Watches every file the policy was read from (through their directories, so editors
    /// that save by renaming are seen) and reloads on change, once no change has been seen for
    /// [`SETTLE`].
    ///
    /// # Errors
    ///
    /// [`PolicyError::Io`] when the platform's watcher cannot start or watch a directory.
    pub fn watch(&self) -> Result<(), PolicyError> {
        self.watch_settling(SETTLE)
    }

    /// [`watch`](Self::watch) with a chosen quiet time before a change is loaded.
    ///
    /// # Errors
    ///
    /// As [`watch`](Self::watch).
    pub fn watch_settling(&self, quiet: Duration) -> Result<(), PolicyError> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let (tx, rx) = mpsc::channel::<()>();
        let watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            let Some(inner) = weak.upgrade() else { return };
            let Ok(ev) = ev else { return };
            if matches!(ev.kind, notify::EventKind::Access(_)) {
                return;
            }
            let sources = inner.sources();
            let relevant = ev.paths.iter().any(|p| {
                sources.iter().any(|s| {
                    s == p
                        || (s.file_name() == p.file_name()
                            && s.parent().map(abs) == p.parent().map(abs))
                })
            });
            if relevant {
                let _ = tx.send(());
            }
        })
        .map_err(io_err)?;
        // The sender lives in the watcher, which lives in `Inner`: dropping the last handle
        // disconnects the channel and ends this thread.
        let weak = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name("hush-policy-watch".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    loop {
                        match rx.recv_timeout(quiet) {
                            Ok(()) => continue,
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    let Some(inner) = weak.upgrade() else { return };
                    let _ = reload(&inner);
                    let _ = watch_dirs(&inner);
                }
            })
            .map_err(|e| PolicyError::Io {
                path: PathBuf::new(),
                source: e,
            })?;
        *self.inner.watcher.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((watcher, HashSet::new()));
        watch_dirs(&self.inner)
    }
}

fn abs(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn io_err(e: notify::Error) -> PolicyError {
    PolicyError::Io {
        path: e.paths.first().cloned().unwrap_or_default(),
        source: std::io::Error::other(e.to_string()),
    }
}

impl Inner {
    fn sources(&self) -> Vec<PathBuf> {
        let cur = self.current.read().unwrap_or_else(|p| p.into_inner());
        cur.0.sources().to_vec()
    }
}

fn watch_dirs(inner: &Inner) -> Result<(), PolicyError> {
    let sources = inner.sources();
    let mut guard = inner.watcher.lock().unwrap_or_else(|p| p.into_inner());
    let Some((w, watched)) = guard.as_mut() else {
        return Ok(());
    };
    for s in sources {
        let dir = match s.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if watched.insert(dir.clone()) {
            w.watch(&dir, RecursiveMode::NonRecursive).map_err(io_err)?;
        }
    }
    Ok(())
}

fn reload(inner: &Inner) -> Result<u64, PolicyError> {
    let mut last = inner.stamps.lock().unwrap_or_else(|p| p.into_inner());
    // Stamped before loading, so a write that lands during the load is seen as a change.
    let before = stamps(&inner.sources());
    let result = inner.loader.load();
    *last = match &result {
        // An edit added or dropped an include: stamp the new set.
        Ok(p) if p.sources().iter().ne(before.iter().map(|(p, _)| p)) => stamps(p.sources()),
        _ => before,
    };
    drop(last);
    let event = match &result {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    let out = match result {
        Ok(p) => {
            let mut cur = inner.current.write().unwrap_or_else(|p| p.into_inner());
            cur.1 += 1;
            cur.0 = Arc::new(p);
            *inner.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
            Ok(cur.1)
        }
        Err(e) => {
            *inner.last_error.lock().unwrap_or_else(|p| p.into_inner()) = event.clone();
            Err(e)
        }
    };
    let ev = match (&out, event) {
        (Ok(g), _) => ReloadEvent::Reloaded { generation: *g },
        (Err(_), Some(error)) => ReloadEvent::Rejected { error },
        (Err(e), None) => ReloadEvent::Rejected {
            error: e.to_string(),
        },
    };
    for cb in inner
        .callbacks
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        cb(&ev);
    }
    out
}
