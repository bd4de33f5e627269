//! Helpers shared by the integration tests.

use std::process::{Command, Output};

/// The `hush` binary built for this test run.
pub(crate) fn hush() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hush"))
}

/// Fails if `text` holds `secret`, showing `text` with the value masked: a failing test must not
/// print the value it caught.
#[track_caller]
pub(crate) fn assert_hidden(text: &str, secret: &str, what: &str) {
    assert!(
        !text.contains(secret),
        "{what} holds the secret value:\n{}",
        text.replace(secret, "<SECRET>")
    );
}

/// Runs `cmd` and returns (exit code, stdout, stderr).
pub(crate) fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("spawn hush");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Runs `cmd` with `input` on stdin and returns (exit code, stdout, stderr).
pub(crate) fn run_with_stdin(cmd: &mut Command, input: &str) -> (i32, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The child may exit before reading (a refused command): a broken pipe is fine.
    let _ = child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes());
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `inner` run through `wrapper PRE_ARGS...` (a command that runs another: `setsid -w`, a
/// pseudo-terminal script), with `inner`'s environment and directory.
pub(crate) fn wrapped(wrapper: &str, pre_args: &[&std::ffi::OsStr], inner: &Command) -> Command {
    let mut cmd = Command::new(wrapper);
    cmd.args(pre_args)
        .arg(inner.get_program())
        .args(inner.get_args())
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))));
    if let Some(dir) = inner.get_current_dir() {
        cmd.current_dir(dir);
    }
    cmd
}

/// Whether `probe` runs and succeeds: a tool a test drives is installed. Without it the test
/// should return: under CI (`CI` set) this fails instead, naming `install`; elsewhere it prints
/// `SKIPPED` with `test` and `install`.
pub(crate) fn available(probe: &mut Command, test: &str, install: &str) -> bool {
    if probe.output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} is required under CI ({install})"
    );
    #[allow(clippy::print_stderr)] // Tells the developer the check did not run.
    {
        skipped!("SKIPPED: {test} needs `{install}`");
    }
    false
}

/// A fake GitHub-style token, generated (never a real credential): `ghp_` and 36 characters
/// from a small deterministic generator seeded by `seed`.
pub(crate) fn fake_token(seed: u64) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let body: String = (0..36)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect();
    format!("ghp_{body}")
}

/// A git repository in a temporary directory, isolated from the user's git configuration.
pub(crate) struct Repo {
    pub(crate) dir: tempfile::TempDir,
}

impl Repo {
    pub(crate) fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A command run in the repository with a fixed identity and no global configuration.
    pub(crate) fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "Test Author")
            .env("GIT_COMMITTER_EMAIL", "author@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
            .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE");
        c
    }

    /// Runs git and returns its stdout; panics with git's stderr on failure.
    pub(crate) fn git(&self, args: &[&str]) -> String {
        let out = self.cmd("git").args(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(crate) fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path().join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(p, content).expect("write");
    }

    /// Stages everything and commits; returns the new commit id.
    pub(crate) fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// `program` run in the repository with this test run's `hush` first on `PATH`, as a git
    /// hook or the pre-commit framework would find it.
    pub(crate) fn with_hush_on_path(&self, program: &str) -> Command {
        let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_hush"))
            .parent()
            .expect("the hush binary has a directory");
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = self.cmd(program);
        c.env("PATH", path);
        c
    }

    /// `hush` run in the repository.
    pub(crate) fn hush(&self) -> Command {
        let mut c = self.cmd(env!("CARGO_BIN_EXE_hush"));
        c.env("NO_COLOR", "1");
        c
    }
}

/// Parses `hush scan --format json` output.
pub(crate) fn findings(stdout: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<Vec<serde_json::Value>>(stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}
