//! Scanning what git holds: the index (`--staged`) and history (`--git`).
//!
//! hush runs the `git` program (as gitleaks does) rather than linking a git library: the
//! repository's own git knows its index format, hooks environment (`GIT_INDEX_FILE`, `GIT_DIR`
//! during `git commit`), alternates and partial clones.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};

use crate::{Commit, Detection, Error, Outcome, Result, Scanner, Stats};

/// Marks a commit header line in `git log` output; no diff line can start with it.
const COMMIT_MARK: u8 = 0x1e;

/// Added lines of one commit and file are searched in units of at most this many bytes.
const UNIT_MAX: usize = 16 << 20;

/// The top directory of the work tree holding `dir`.
///
/// # Errors
/// [`Error::Git`] when `dir` is not inside a git work tree.
pub fn repo_root(dir: &Path) -> Result<PathBuf> {
    let out = run(dir, &["rev-parse", "--show-toplevel"])?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out).trim_end()))
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        // Paths as bytes (no octal escapes for non-ASCII), no pager, no colour, no external
        // diff drivers or text conversion: hush must see what is stored.
        .args(["-c", "core.quotePath=false", "--no-pager"])
        .env("GIT_PAGER", "cat")
        .env_remove("GIT_EXTERNAL_DIFF");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = git(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| git_error(args, format!("cannot run git ({e}); is git installed?")))?;
    if !out.status.success() {
        return Err(git_error(
            args,
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(out.stdout)
}

fn git_error(args: &[&str], message: String) -> Error {
    Error::Git {
        args: args.join(" "),
        message,
    }
}

/// What to read of history.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct HistoryOptions {
    /// A revision range (`main..feature`, `v1.0..`, a commit); default: every ref (`--all`).
    pub range: Option<String>,
    /// Only commits after this one (`COMMIT..HEAD`, or `COMMIT..RANGE` with a range).
    pub since_commit: Option<String>,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

impl HistoryOptions {
    /// Options for a range, since-commit and thread count.
    pub fn new(range: Option<String>, since_commit: Option<String>, threads: usize) -> Self {
        HistoryOptions {
            range,
            since_commit,
            threads,
        }
    }
}

/// One commit-file's added lines, ready to search.
struct Unit {
    seq: usize,
    commit: Arc<Commit>,
    path: Arc<str>,
    buf: Vec<u8>,
    lines: Vec<usize>,
}

/// Searches the lines each commit added, with commit id, author and date. Merge commits
/// contribute only lines that appear in none of their parents (conflict resolutions and "evil
/// merges"); lines a merge brings from a branch were reported at the branch's commit. Renames
/// contribute only changed lines. Binary files and submodule links are skipped.
///
/// # Errors
/// [`Error::Git`] when `dir` is not in a repository or git fails (a bad range, say).
pub fn history(scanner: &Scanner, dir: &Path, opts: &HistoryOptions) -> Result<Outcome> {
    let mut args: Vec<String> = [
        "log",
        "-p",
        "-U0",
        "--cc",
        "-M",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--full-history",
        "--format=\x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s",
    ]
    .map(String::from)
    .to_vec();
    match (&opts.range, &opts.since_commit) {
        (Some(r), Some(s)) => args.push(format!("{s}..{r}")),
        (Some(r), None) => args.push(r.clone()),
        (None, Some(s)) => args.push(format!("{s}..HEAD")),
        (None, None) => args.push("--all".into()),
    }
    args.push("--".into());
    let shown = args.join(" ");
    let mut child = git(dir)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Git {
            args: shown.clone(),
            message: format!("cannot run git ({e}); is git installed?"),
        })?;
    let stdout = child.stdout.take().ok_or_else(|| Error::Git {
        args: shown.clone(),
        message: "no output pipe".into(),
    })?;
    let stderr = drain_stderr(&mut child);

    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let (tx, rx) = mpsc::sync_channel::<Unit>(threads * 4);
    let rx = Mutex::new(rx);
    let found: Mutex<Vec<(usize, Detection)>> = Mutex::new(Vec::new());
    let stats: Mutex<Stats> = Mutex::new(Stats::default());
    let parsed = std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut local = Stats::default();
                let mut hits = Vec::new();
                loop {
                    let unit = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                        Ok(u) => u,
                        Err(_) => break,
                    };
                    if scanner.path_allowed(&unit.path, &mut local) {
                        continue;
                    }
                    let mut out = Vec::new();
                    scanner.scan_lines(
                        &unit.path,
                        &unit.buf,
                        &unit.lines,
                        Some(&unit.commit),
                        &mut local,
                        &mut out,
                    );
                    local.files += 1;
                    local.bytes += unit.buf.len() as u64;
                    hits.extend(out.into_iter().map(|d| (unit.seq, d)));
                }
                stats
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .merge(&local);
                found
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .append(&mut hits);
            });
        }
        let result = parse_log(BufReader::with_capacity(1 << 20, stdout), &tx);
        drop(tx);
        result
    });
    let status = child.wait().map_err(|e| Error::Git {
        args: shown.clone(),
        message: e.to_string(),
    })?;
    let err_text = stderr.join().unwrap_or_default();
    // A parse error stops the reading, and git then dies of SIGPIPE: the parse error is the
    // cause to report.
    let commits = parsed.map_err(|message| Error::GitOutput {
        args: shown.clone(),
        message,
    })?;
    if !status.success() {
        let message = match err_text.trim() {
            "" => format!("git ended with {status} and said nothing"),
            text => text.to_string(),
        };
        return Err(Error::Git {
            args: shown,
            message,
        });
    }
    let mut found = found.into_inner().unwrap_or_else(|p| p.into_inner());
    found.sort_by(|(sa, a), (sb, b)| (sa, a.line, a.column).cmp(&(sb, b.line, b.column)));
    let mut stats = stats.into_inner().unwrap_or_else(|p| p.into_inner());
    stats.commits = commits;
    Ok(Outcome {
        detections: found.into_iter().map(|(_, d)| d).collect(),
        stats,
    }
    .finish())
}

fn drain_stderr(child: &mut Child) -> std::thread::JoinHandle<String> {
    let mut err = child.stderr.take();
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    })
}

/// Parser state for one file's diff in `git log -p` / `git diff -p` output.
#[derive(Default)]
struct FileDiff {
    path: Option<Arc<str>>,
    /// Parents in a combined diff (`diff --cc`), 1 otherwise.
    parents: usize,
    skip: bool,
    in_hunk: bool,
    next_line: usize,
    buf: Vec<u8>,
    lines: Vec<usize>,
}

/// Reads patch text, calling `commit` at each commit header and `added` for each added line.
struct PatchReader<'a> {
    on_commit: &'a mut dyn FnMut(&[u8]) -> std::result::Result<(), String>,
    on_file_done: &'a mut dyn FnMut(&mut FileDiff),
    file: FileDiff,
}

impl PatchReader<'_> {
    fn finish_file(&mut self) {
        if self.file.path.is_some() && !self.file.skip && !self.file.lines.is_empty() {
            (self.on_file_done)(&mut self.file);
        }
        self.file = FileDiff::default();
    }

    fn line(&mut self, line: &[u8]) -> std::result::Result<(), String> {
        if line.first() == Some(&COMMIT_MARK) {
            self.finish_file();
            return (self.on_commit)(&line[1..]);
        }
        if line.starts_with(b"diff --git ")
            || line.starts_with(b"diff --cc ")
            || line.starts_with(b"diff --combined ")
        {
            self.finish_file();
            self.file.parents = 1;
            if !line.starts_with(b"diff --git ") {
                // Path given on the header line for combined diffs.
                let p = line.splitn(3, |&b| b == b' ').nth(2).unwrap_or_default();
                self.file.path = Some(Arc::from(unquote(p).as_str()));
            }
            return Ok(());
        }
        if self.file.in_hunk {
            let n = self.file.parents;
            if line.len() >= n && line[..n].iter().all(|&b| matches!(b, b'+' | b'-' | b' ')) {
                let prefix = &line[..n];
                if !prefix.contains(&b'-') {
                    if prefix.iter().all(|&b| b == b'+') && !self.file.skip {
                        self.file.buf.extend_from_slice(&line[n..]);
                        self.file.buf.push(b'\n');
                        self.file.lines.push(self.file.next_line);
                        if self.file.buf.len() >= UNIT_MAX {
                            (self.on_file_done)(&mut self.file);
                        }
                    }
                    self.file.next_line += 1;
                }
                return Ok(());
            }
            if line.starts_with(b"\\") {
                return Ok(());
            }
            self.file.in_hunk = false;
        }
        if line.starts_with(b"@@") {
            let ats = line.iter().take_while(|&&b| b == b'@').count();
            self.file.parents = ats.saturating_sub(1).max(1);
            self.file.next_line = hunk_new_start(line)
                .ok_or_else(|| format!("bad hunk header `{}`", String::from_utf8_lossy(line)))?;
            self.file.in_hunk = true;
        } else if let Some(p) = line.strip_prefix(b"+++ ") {
            if p == b"/dev/null" {
                self.file.skip = true;
            } else {
                let p = unquote(p);
                let p = p.strip_prefix("b/").unwrap_or(&p);
                self.file.path = Some(Arc::from(p));
            }
        } else if line.starts_with(b"Binary files ") || line.starts_with(b"GIT binary patch") {
            self.file.skip = true;
        } else if (line.starts_with(b"new file mode ") || line.starts_with(b"index "))
            && line.ends_with(b" 160000")
        {
            // A submodule link: its content lives in another repository.
            self.file.skip = true;
        } else if line.starts_with(b"Subproject commit ") {
            self.file.skip = true;
        }
        Ok(())
    }
}

/// The new-file start line of a hunk header: the `+start[,count]` range.
fn hunk_new_start(line: &[u8]) -> Option<usize> {
    // Only the ranges between the `@@` markers: the function context after them is any bytes
    // (git cuts it at a byte count, possibly inside a UTF-8 character).
    let range = line
        .split(|&b| b == b' ')
        .skip(1)
        .take_while(|w| !w.is_empty() && !w.iter().all(|&b| b == b'@'))
        .find(|w| w.starts_with(b"+"))?;
    let start = range[1..].split(|&b| b == b',').next()?;
    std::str::from_utf8(start).ok()?.parse().ok()
}

/// Undoes git's C-style quoting of a path (`"a\tb"`), or returns it as is.
fn unquote(p: &[u8]) -> String {
    let p = p.strip_suffix(b"\t").unwrap_or(p);
    let Some(inner) = p.strip_prefix(b"\"").and_then(|q| q.strip_suffix(b"\"")) else {
        return String::from_utf8_lossy(p).into_owned();
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let b = inner[i];
        if b != b'\\' || i + 1 >= inner.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let e = inner[i + 1];
        i += 2;
        out.push(match e {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            b'0'..=b'7' => {
                let digits = &inner[i - 1..(i + 2).min(inner.len())];
                let v = digits
                    .iter()
                    .take_while(|d| (b'0'..=b'7').contains(d))
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                i += digits
                    .iter()
                    .take_while(|d| (b'0'..=b'7').contains(d))
                    .count()
                    - 1;
                v as u8
            }
            other => other,
        });
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_commit(header: &[u8]) -> std::result::Result<Commit, String> {
    let text = String::from_utf8_lossy(header);
    let mut parts = text.split('\x1f');
    let mut next = || parts.next().unwrap_or("").to_string();
    let c = Commit {
        id: next(),
        author: next(),
        email: next(),
        date: next(),
        summary: next(),
    };
    if c.id.len() < 40 || !c.id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("bad commit header `{}`", text.escape_debug()));
    }
    Ok(c)
}

/// Parses `git log` output, sending one unit per commit and file; returns the commit count.
fn parse_log<R: BufRead>(
    mut input: R,
    tx: &mpsc::SyncSender<Unit>,
) -> std::result::Result<u64, String> {
    let mut commits = 0u64;
    let mut seq = 0usize;
    let current = std::cell::RefCell::new(None::<Arc<Commit>>);
    let mut send_failed = false;
    let mut on_commit = |h: &[u8]| {
        let c = Arc::new(parse_commit(h)?);
        *current.borrow_mut() = Some(c);
        commits += 1;
        Ok(())
    };
    let mut on_file_done = |f: &mut FileDiff| {
        let (Some(c), Some(path)) = (current.borrow().clone(), f.path.clone()) else {
            return;
        };
        seq += 1;
        let unit = Unit {
            seq,
            commit: c,
            path,
            buf: std::mem::take(&mut f.buf),
            lines: std::mem::take(&mut f.lines),
        };
        send_failed |= tx.send(unit).is_err();
    };
    let mut reader = PatchReader {
        on_commit: &mut on_commit,
        on_file_done: &mut on_file_done,
        file: FileDiff::default(),
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        let l = line.strip_suffix(b"\n").unwrap_or(&line);
        reader.line(l)?;
    }
    reader.finish_file();
    drop(reader);
    if send_failed {
        return Err("a scanning thread stopped early".into());
    }
    Ok(commits)
}

/// Parses `git log -p` output as [`history`] does and returns the number of commit-file units,
/// checking that every unit's line numbers match its lines. For the fuzz target.
///
/// # Errors
/// The parser's message for malformed input.
#[doc(hidden)]
pub fn fuzz_parse_log(data: &[u8]) -> std::result::Result<usize, String> {
    let (tx, rx) = mpsc::sync_channel::<Unit>(16);
    std::thread::scope(|s| {
        let drain = s.spawn(move || {
            rx.iter()
                .map(|u| {
                    let lines = u.buf.iter().filter(|&&b| b == b'\n').count();
                    assert_eq!(lines, u.lines.len(), "one line number per added line");
                })
                .count()
        });
        let parsed = parse_log(data, &tx);
        drop(tx);
        let units = drain
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        parsed.map(|_| units)
    })
}

/// Searches exactly the content staged in the index: for each added, copied, modified or renamed
/// file, the staged blob is read from git (not the work tree) and searched whole, and findings
/// touching a line the commit adds or changes are reported, with line numbers of the staged
/// version. Deleted files, binary blobs and submodule links are skipped.
///
/// Honours `GIT_INDEX_FILE`, so it sees what `git commit -a` or `git commit PATH` is about to
/// commit when run from a pre-commit hook.
///
/// # Errors
/// [`Error::Git`] when `dir` is not in a work tree or git fails: a pre-commit check must never
/// pass because it scanned nothing.
pub fn staged(scanner: &Scanner, dir: &Path) -> Result<Outcome> {
    let root = repo_root(dir)?;
    let diff = run(
        &root,
        &[
            "diff",
            "--cached",
            "-p",
            "-U0",
            "-M",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--diff-filter=ACMR",
        ],
    )?;
    // Added lines per path, from the patch.
    let mut added: Vec<(Arc<str>, BTreeSet<usize>)> = Vec::new();
    {
        let mut on_commit = |_: &[u8]| Ok(());
        let mut on_file = |f: &mut FileDiff| {
            if let Some(p) = f.path.clone() {
                match added.last_mut() {
                    Some((last, set)) if *last == p => set.extend(f.lines.drain(..)),
                    _ => added.push((p, f.lines.drain(..).collect())),
                }
                f.buf.clear();
            }
        };
        let mut reader = PatchReader {
            on_commit: &mut on_commit,
            on_file_done: &mut on_file,
            file: FileDiff::default(),
        };
        for line in diff.split(|&b| b == b'\n') {
            reader.line(line).map_err(|message| Error::GitOutput {
                args: "diff --cached".into(),
                message,
            })?;
        }
        reader.finish_file();
    }
    if added.is_empty() {
        return Ok(Outcome::default());
    }
    // Blob ids of the staged paths, from the index.
    let listed = run(&root, &["ls-files", "--stage", "-z"])?;
    let mut blobs: HashMap<&[u8], &[u8]> = HashMap::new();
    for rec in listed.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        // `<mode> <oid> <stage>\t<path>`
        let Some(tab) = rec.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let mut meta = rec[..tab].split(|&b| b == b' ');
        let (mode, oid) = (
            meta.next().unwrap_or_default(),
            meta.next().unwrap_or_default(),
        );
        if mode != b"160000" {
            blobs.insert(&rec[tab + 1..], oid);
        }
    }
    let wanted: Vec<(&Arc<str>, &BTreeSet<usize>, &[u8])> = added
        .iter()
        .filter_map(|(p, lines)| blobs.get(p.as_bytes()).map(|oid| (p, lines, *oid)))
        .collect();
    let mut cat = git(&root)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| git_error(&["cat-file", "--batch"], e.to_string()))?;
    let mut stdin = cat
        .stdin
        .take()
        .ok_or_else(|| git_error(&["cat-file"], "no pipe".into()))?;
    let request: Vec<u8> = wanted
        .iter()
        .flat_map(|(_, _, oid)| oid.iter().copied().chain(std::iter::once(b'\n')))
        .collect();
    let writer = std::thread::spawn(move || {
        let r = stdin.write_all(&request);
        drop(stdin);
        r
    });
    let stdout = cat
        .stdout
        .take()
        .ok_or_else(|| git_error(&["cat-file"], "no pipe".into()))?;
    let mut out = BufReader::with_capacity(1 << 20, stdout);
    let mut stats = Stats::default();
    let mut detections = Vec::new();
    let mut blob = Vec::new();
    for (path, lines, _) in &wanted {
        let mut header = Vec::new();
        out.read_until(b'\n', &mut header)
            .map_err(|e| Error::io("git cat-file", e))?;
        let header = String::from_utf8_lossy(&header);
        let size: usize = header
            .trim_end()
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|_| header.contains(" blob "))
            .ok_or_else(|| Error::GitOutput {
                args: "cat-file --batch".into(),
                message: format!("unexpected header `{}`", header.trim_end()),
            })?;
        let skip = scanner.path_allowed(path, &mut stats);
        blob.clear();
        (&mut out)
            .take(size as u64 + 1)
            .read_to_end(&mut blob)
            .map_err(|e| Error::io("git cat-file", e))?;
        blob.truncate(size);
        if skip {
            continue;
        }
        if blob[..blob.len().min(8 << 10)].contains(&0) {
            stats.binary_skipped += 1;
            continue;
        }
        stats.files += 1;
        stats.bytes += size as u64;
        let found = scanner.scan_bytes(path, &blob, None, &mut stats);
        detections.extend(
            found
                .into_iter()
                .filter(|d| lines.range(d.line..=d.end_line).next().is_some()),
        );
    }
    let _ = writer.join();
    let status = cat.wait().map_err(|e| Error::io("git cat-file", e))?;
    if !status.success() {
        return Err(git_error(
            &["cat-file", "--batch"],
            "git cat-file failed".into(),
        ));
    }
    Ok(Outcome { detections, stats }.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_headers() {
        assert_eq!(hunk_new_start(b"@@ -1,2 +3,4 @@ fn x"), Some(3));
        assert_eq!(hunk_new_start(b"@@ -0,0 +1 @@"), Some(1));
        assert_eq!(hunk_new_start(b"@@@ -1,2 -1,2 +7,3 @@@"), Some(7));
        assert_eq!(hunk_new_start(b"@@ nonsense"), None);
        // Function context cut inside a UTF-8 character, and a `+` in the context.
        assert_eq!(
            hunk_new_start(b"@@@ -25,3 -25,2 +25,5 @@@ redact \xe2\x94\x80\xe2\x94"),
            Some(25)
        );
        assert_eq!(hunk_new_start(b"@@ -1 +9 @@ a +3 b"), Some(9));
    }

    #[test]
    fn quoted_paths() {
        assert_eq!(unquote(b"plain/path.txt"), "plain/path.txt");
        assert_eq!(unquote(b"\"b/tab\\there\""), "b/tab\there");
        assert_eq!(unquote(b"\"caf\\303\\251\""), "café");
        assert_eq!(unquote(b"\"q\\\"uote\""), "q\"uote");
    }

    fn parse(text: &str) -> Vec<(String, String, Vec<usize>, String)> {
        let (tx, rx) = mpsc::sync_channel(100);
        parse_log(text.as_bytes(), &tx).expect("parses");
        drop(tx);
        rx.iter()
            .map(|u| {
                (
                    u.commit.id[..4].to_string(),
                    u.path.to_string(),
                    u.lines,
                    String::from_utf8(u.buf).expect("utf8"),
                )
            })
            .collect()
    }

    #[test]
    fn log_with_plain_rename_binary_submodule_and_merge() {
        let c1 = "a".repeat(40);
        let c2 = "b".repeat(40);
        let log = format!(
            "\x1e{c1}\x1fAnn\x1fann@example.com\x1f2026-01-01T00:00:00+00:00\x1ffirst\n\
             \n\
             diff --git a/x.txt b/x.txt\n\
             new file mode 100644\n\
             --- /dev/null\n\
             +++ b/x.txt\n\
             @@ -0,0 +1,2 @@\n\
             +one\n\
             +two\n\
             diff --git a/img.png b/img.png\n\
             Binary files /dev/null and b/img.png differ\n\
             diff --git a/sub b/sub\n\
             new file mode 160000\n\
             --- /dev/null\n\
             +++ b/sub\n\
             @@ -0,0 +1 @@\n\
             +Subproject commit 0123456789012345678901234567890123456789\n\
             \x1e{c2}\x1fBob\x1fbob@example.com\x1f2026-01-02T00:00:00+00:00\x1fmerge\n\
             \n\
             diff --cc y.txt\n\
             index 1,2..3\n\
             --- a/y.txt\n\
             +++ b/y.txt\n\
             @@@ -1,1 -1,1 +1,3 @@@\n\
             - old\n\
             \x20-other\n\
             ++evil\n\
             + from-first\n\
             +from-second-but-not-first\n\
             diff --git a/old.txt b/new.txt\n\
             similarity index 90%\n\
             rename from old.txt\n\
             rename to new.txt\n\
             --- a/old.txt\n\
             +++ b/new.txt\n\
             @@ -5 +5 @@\n\
             -was\n\
             +now\n"
        );
        let units = parse(&log);
        assert_eq!(
            units,
            vec![
                (
                    "aaaa".into(),
                    "x.txt".into(),
                    vec![1, 2],
                    "one\ntwo\n".into()
                ),
                ("bbbb".into(), "y.txt".into(), vec![1], "evil\n".into()),
                ("bbbb".into(), "new.txt".into(), vec![5], "now\n".into()),
            ]
        );
    }
}
