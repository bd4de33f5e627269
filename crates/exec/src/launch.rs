//! The launcher: starts the helper, hands it the request, pumps the program's output through
//! the redactor, enforces the wall clock and the output cap.

use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use hush_patterns::{KnownValues, KnownValuesBuilder, RuleSet};
use hush_stream::{Counts, Options, Redactor, StreamError};
use secrecy::{ExposeSecret, SecretString};

use crate::netproxy::{Proxy, RefusedConnection};
use crate::report::Enforcement;
use crate::spec::{Limits, Network, SandboxSpec, Stdin};
use crate::wire::{self, Report, Request};

/// The first argument that makes a binary run [`helper_main`](crate::helper_main).
pub const HELPER_ARG: &str = "__sandbox-exec";

/// Exit code when the run was stopped by the wall-clock limit, the output cap or the process
/// watchdog (as `timeout(1)` does for its limit).
pub const EXIT_STOPPED: i32 = 124;

/// The default search path when the caller gives none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Errors that keep a program from running, or make its output unprovable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The program is not in the search path (exit code 127).
    #[error("`{program}`: command not found in the search path")]
    NotFound {
        /// The program as given.
        program: String,
    },
    /// The helper refused to start the program: not executable, denied by the sandbox, or
    /// the sandbox level is below the required one.
    #[error("{message}")]
    Refused {
        /// Exit code to report (126 or 127).
        code: u8,
        /// Why.
        message: String,
    },
    /// A secret is too short to be matched safely in the output.
    #[error("secret `{label}` cannot be registered for redaction: {source}")]
    Secret {
        /// The secret's name (never its value).
        label: String,
        /// Why.
        source: hush_patterns::Error,
    },
    /// The sandbox helper could not be started or talked to.
    #[error("sandbox helper `{helper}`: {source}")]
    Helper {
        /// The helper program.
        helper: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The redaction rules could not be compiled.
    #[error("cannot compile the redaction rules: {0}")]
    Rules(String),
    /// The output could not be proven clean (buffer limit), or writing it failed.
    #[error("output redaction failed: {0}")]
    Redaction(#[from] StreamError),
    /// The policy denied the command, or a confirmation was refused or could not be asked
    /// (exit code 126). Nothing ran.
    #[error("denied by policy: {}{}", reasons.join("; "), rules_suffix(rules))]
    Denied {
        /// Why, most decisive first.
        reasons: Vec<String>,
        /// Ids of the rules that matched.
        rules: Vec<String>,
    },
    /// A secret the policy grants is not in the secret source: the run fails closed
    /// (exit code 126). Nothing ran.
    #[error("secret `{name}` (granted as `{env}`) is not in the vault (or has expired): add it with `hush vault set {name}` or remove the grant from the policy")]
    MissingSecret {
        /// The vault entry.
        name: String,
        /// The variable it was granted as.
        env: String,
    },
    /// The audit log could not be written: the run is refused (or, if it ran, reported as
    /// failed) rather than left unaudited.
    #[error("audit log: {0}")]
    Audit(#[from] hush_audit::AuditError),
}

fn rules_suffix(rules: &[String]) -> String {
    if rules.is_empty() {
        String::new()
    } else {
        format!(" (rule {})", rules.join(", "))
    }
}

impl ExecError {
    /// The exit code a command-line wrapper should use: 127 not found, 126 refused or not
    /// executable, 125 for failures of the wrapper itself.
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecError::NotFound { .. } => 127,
            ExecError::Refused { code, .. } => i32::from(*code),
            ExecError::Denied { .. } | ExecError::MissingSecret { .. } => 126,
            _ => 125,
        }
    }

    /// True when the reader of the output went away (`hush run -- cmd | head`): the program
    /// was stopped by the closed pipe, as it would have been without the sandbox.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ExecError::Redaction(StreamError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// How the program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

/// Why hush stopped the run early (the launcher, or the helper's process watchdog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// The wall-clock limit passed.
    Timeout,
    /// More output than the cap.
    OutputLimit,
    /// More processes than [`Limits::max_processes`] without a cgroup to hold them: the
    /// helper's watchdog killed every process of the run.
    Processes,
}

/// Resources the program and every process it started used, as the kernel counted them
/// (`getrusage(RUSAGE_CHILDREN)` in the helper once all of them are reaped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// User plus system CPU time, milliseconds.
    pub cpu_ms: u64,
    /// The largest resident set of any one process, KiB.
    pub max_rss_kb: u64,
}

/// The result of a run.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// How the program ended.
    pub status: Status,
    /// What the sandbox enforced.
    pub enforcement: Enforcement,
    /// Set when hush stopped the run.
    pub stopped: Option<Stop>,
    /// Redactions in stdout and stderr, per rule id.
    pub redactions: Counts,
    /// Bytes the program wrote (before redaction; at most the cap).
    pub output_bytes: u64,
    /// The program that ran (after the search-path lookup).
    pub program: PathBuf,
    /// Wall-clock time from the launch to the end of the output.
    pub duration: Duration,
    /// Requests the network proxy did not forward ([`Network::Allow`](crate::Network)), in
    /// order; hosts are redacted like the program's output.
    pub refused: Vec<RefusedConnection>,
    /// CPU time and peak memory, when the helper could measure them.
    pub usage: Option<Usage>,
}

impl Outcome {
    /// The exit code to propagate: the program's own, 128 + signal when killed by a signal,
    /// [`EXIT_STOPPED`] when hush stopped it.
    pub fn exit_code(&self) -> i32 {
        if self.stopped.is_some() {
            return EXIT_STOPPED;
        }
        match self.status {
            Status::Exited(code) => code,
            Status::Signaled(sig) => 128 + sig,
        }
    }
}

/// One output stream of the program: a pipe or a pseudo-terminal master.
type Output = Box<dyn Read + Send>;

/// Makes the rule set, on first use.
type RulesFn = dyn Fn() -> Result<RuleSet, hush_patterns::Error> + Send + Sync;

/// Where the redaction rules come from.
#[derive(Clone)]
enum RulesSource {
    Ready(Arc<RuleSet>),
    Lazy(Arc<RulesFn>),
}

/// A program to run in the sandbox: a `Command`-like builder.
///
/// The program gets exactly the variables given with [`env`](Self::env) and
/// [`secret_env`](Self::secret_env); secret values are also registered with the redactor, so
/// they never reach the output, in plain text or encoded.
pub struct Sandbox {
    helper: PathBuf,
    helper_args: Vec<OsString>,
    spec: SandboxSpec,
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    secrets: Vec<(String, SecretString)>,
    search_path: OsString,
    rules: RulesSource,
    max_delay: Duration,
    terminal: bool,
    on_start: Option<Box<OnStart>>,
}

/// Called with the enforcement reached, once the program is running.
pub(crate) type OnStart = dyn Fn(&Enforcement) + Send + Sync;

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("helper", &self.helper)
            .field("spec", &self.spec)
            .field("program", &self.program)
            .field("args", &self.args.len())
            .field("env", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field(
                "secrets",
                &self.secrets.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Runs `program` under `spec`, through `helper` (a binary whose `main` calls
    /// [`helper_main`](crate::helper_main) when its first argument is [`HELPER_ARG`]), with
    /// output redacted by the built-in rules (see [`rules`](Self::rules)).
    pub fn new(
        helper: impl Into<PathBuf>,
        program: impl Into<OsString>,
        spec: SandboxSpec,
    ) -> Sandbox {
        Sandbox {
            helper: helper.into(),
            helper_args: vec![OsString::from(HELPER_ARG)],
            spec,
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            secrets: Vec::new(),
            search_path: OsString::from(DEFAULT_PATH),
            rules: RulesSource::Lazy(Arc::new(RuleSet::builtin)),
            max_delay: Duration::from_millis(100),
            terminal: false,
            on_start: None,
        }
    }

    /// Redacts with `rules` (default: the built-in pack, compiled when the program first
    /// writes something, so a silent program never pays for it).
    pub fn rules(&mut self, rules: Arc<RuleSet>) -> &mut Self {
        self.rules = RulesSource::Ready(rules);
        self
    }

    /// Redacts with the rules `make` returns, called once, when the program first writes.
    pub fn rules_with<F>(&mut self, make: F) -> &mut Self
    where
        F: Fn() -> Result<RuleSet, hush_patterns::Error> + Send + Sync + 'static,
    {
        self.rules = RulesSource::Lazy(Arc::new(make));
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Passes a variable to the program.
    pub fn env(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Passes a secret variable to the program and registers its value with the redactor.
    pub fn secret_env(&mut self, name: &str, value: SecretString) -> &mut Self {
        self.secrets.push((name.to_string(), value));
        self
    }

    /// The program's working directory (default: the caller's).
    pub fn current_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Where to look for a program named without a `/` (a `PATH`-style list; default
    /// `/usr/local/bin:/usr/bin:/bin`).
    pub fn search_path(&mut self, path: impl Into<OsString>) -> &mut Self {
        self.search_path = path.into();
        self
    }

    /// How long bytes that may still be part of a secret are held on a pause before they
    /// are redacted (default 100 ms).
    pub fn max_delay(&mut self, delay: Duration) -> &mut Self {
        self.max_delay = delay;
        self
    }

    /// Calls `f` with the [`Enforcement`] as soon as the program is running (before its
    /// output), for a log line or an audit record; [`Outcome`] carries it too.
    pub fn on_start(&mut self, f: impl Fn(&Enforcement) + Send + Sync + 'static) -> &mut Self {
        self.on_start = Some(Box::new(f));
        self
    }

    /// Gives the program a pseudo-terminal for stdout and one for stderr (instead of pipes), so
    /// that it colours its output and flushes it line by line, as on a terminal; the two
    /// streams stay apart. The size is copied from the caller's stdout when that is a
    /// terminal. Output post-processing is off (`\n` is not turned into `\r\n`).
    pub fn terminal(&mut self, yes: bool) -> &mut Self {
        self.terminal = yes;
        self
    }

    /// The spec, to adjust.
    pub fn spec_mut(&mut self) -> &mut SandboxSpec {
        &mut self.spec
    }

    /// Runs the program to completion, writing its redacted stdout and stderr to `stdout`
    /// and `stderr` as they arrive.
    ///
    /// # Errors
    /// [`ExecError`]: the program was not found or refused (nothing ran), the helper failed,
    /// or the output could not be proven clean.
    pub fn run<O, E>(&self, stdout: O, stderr: E) -> Result<Outcome, ExecError>
    where
        O: Write + Send,
        E: Write + Send,
    {
        let start = Instant::now();
        let stdin = io::stdin();
        let stdin_fd = (self.spec.stdin == Stdin::Inherit).then(|| stdin.as_fd());
        let helper_err = |source| ExecError::Helper {
            helper: self.helper.clone(),
            source,
        };
        let masters = if self.terminal {
            let size = rustix::termios::tcgetwinsize(io::stdout()).ok();
            let (out_master, out_slave) = pty_pair(size).map_err(helper_err)?;
            let (err_master, err_slave) = pty_pair(size).map_err(helper_err)?;
            Some(((out_master, err_master), (out_slave, err_slave)))
        } else {
            None
        };
        let (outputs, slaves) = masters.unzip();
        let Started {
            program,
            secrets,
            ctl: sock,
            mut child,
            proxy,
        } = self.start(stdin_fd, slaves)?;
        let (out_pipe, err_pipe): (Option<Output>, Option<Output>) = match outputs {
            Some((o, e)) => (
                Some(Box::new(PtyReader(std::fs::File::from(o)))),
                Some(Box::new(PtyReader(std::fs::File::from(e)))),
            ),
            None => (
                child.stdout.take().map(|p| Box::new(p) as _),
                child.stderr.take().map(|p| Box::new(p) as _),
            ),
        };

        let ctl = Arc::new(sock);
        let limit = Arc::new(OutputCap {
            used: AtomicU64::new(0),
            max: self.spec.limits.max_output,
            tripped: AtomicBool::new(false),
            ctl: Arc::clone(&ctl),
        });
        let (rx, reports) = report_reader(&ctl).map_err(helper_err)?;

        let mut stdout = stdout;
        let mut stderr = stderr;
        let max_delay = self.max_delay;
        let engine = OnceLock::new();
        let engine = || {
            engine
                .get_or_init(|| self.compile(&secrets))
                .clone()
                .map_err(ExecError::Rules)
        };
        let (control, pumped) = std::thread::scope(|s| {
            let pump = |pipe: Option<Output>, mut sink: &mut dyn Write| {
                let Some(pipe) = pipe else {
                    return Ok(Counts::new());
                };
                let mut reader = Capped {
                    inner: pipe,
                    cap: Arc::clone(&limit),
                };
                // Nothing to redact until the first byte: a silent program costs no rule
                // compilation.
                let mut first = vec![0u8; 64 << 10];
                let n = loop {
                    match reader.read(&mut first) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(ExecError::Redaction(e.into())),
                    }
                };
                if n == 0 {
                    return Ok(Counts::new());
                }
                first.truncate(n);
                let (rules, known) = engine()?;
                let mut redactor = Redactor::new(rules, known, Options::default())?;
                let input = io::Cursor::new(first).chain(reader);
                hush_stream::copy(input, &mut sink, &mut redactor, max_delay)?;
                Ok::<Counts, ExecError>(redactor.counts().clone())
            };
            let stdout = &mut stdout;
            let stderr = &mut stderr;
            let o = s.spawn(move || pump(out_pipe, stdout));
            let e = s.spawn(move || pump(err_pipe, stderr));
            let control = control(
                &self.spec.limits,
                self.on_start.as_deref(),
                &rx,
                &ctl,
                &mut child,
            );
            let o = o.join().unwrap_or_else(|_| Ok(Counts::new()));
            let e = e.join().unwrap_or_else(|_| Ok(Counts::new()));
            (control, (o, e))
        });
        let _ = reports.join();
        let refused = proxy.map(Proxy::finish).unwrap_or_default();
        let (started, exited) = control.map_err(helper_err)?;
        let enforcement = match started {
            Ok(enf) => enf,
            Err((code, message)) => return Err(ExecError::Refused { code, message }),
        };
        let mut redactions = pumped.0?;
        for (rule, n) in pumped.1? {
            *redactions.entry(rule).or_insert(0) += n;
        }
        let stopped = if limit.tripped.load(Ordering::SeqCst) {
            Some(Stop::OutputLimit)
        } else {
            exited.1
        };
        Ok(Outcome {
            status: exited.0,
            enforcement,
            stopped,
            redactions,
            output_bytes: limit.used.load(Ordering::SeqCst),
            program,
            duration: start.elapsed(),
            refused: self.redact_hosts(refused, &engine)?,
            usage: exited.2,
        })
    }

    /// Resolves the program, checks the secrets, starts the helper and sends it the request.
    /// The program's stdin is `stdin` when given (else closed); its stdout and stderr are the
    /// `terminals` when given, else pipes left in the returned child.
    pub(crate) fn start(
        &self,
        stdin: Option<BorrowedFd<'_>>,
        terminals: Option<(OwnedFd, OwnedFd)>,
    ) -> Result<Started, ExecError> {
        let program = self.resolve()?;
        let secrets = self.secret_values()?;
        let helper_err = |source| ExecError::Helper {
            helper: self.helper.clone(),
            source,
        };
        let (mut sock, theirs) = UnixStream::pair().map_err(helper_err)?;
        let mut cmd = Command::new(&self.helper);
        cmd.args(&self.helper_args)
            .env_clear()
            .stdin(Stdio::from(OwnedFd::from(theirs)));
        match terminals {
            Some((out, err)) => cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err)),
            None => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
        };
        let mut child = cmd.spawn().map_err(helper_err)?;
        // The helper's ends (socket, terminals) must close with the helper, so that its exit
        // reads as end of file.
        drop(cmd);
        let req =
            Request {
                spec: self.spec.clone(),
                program: program.as_os_str().as_bytes().to_vec(),
                args: self.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
                cwd: self.cwd.as_ref().map(|p| p.as_os_str().as_bytes().to_vec()),
                env: self
                    .env
                    .iter()
                    .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                    .chain(self.secrets.iter().map(|(k, v)| {
                        (k.as_bytes().to_vec(), v.expose_secret().as_bytes().to_vec())
                    }))
                    .collect(),
                init: None,
            };
        let (proxy, proxy_fd) = match &self.spec.network {
            Network::Allow(hosts) => {
                let (ours, theirs) = UnixStream::pair().map_err(helper_err)?;
                let proxy = Proxy::start(ours, hosts.clone(), self.spec.network_deny.clone())
                    .map_err(helper_err)?;
                (Some(proxy), Some(OwnedFd::from(theirs)))
            }
            _ => (None, None),
        };
        let sent = wire::send_request(
            &mut sock,
            &req,
            stdin,
            proxy_fd.as_ref().map(|fd| fd.as_fd()),
        );
        drop(proxy_fd);
        drop(req);
        if let Err(e) = sent {
            let _ = child.kill();
            let _ = child.wait();
            return Err(helper_err(e));
        }
        Ok(Started {
            program,
            secrets,
            ctl: sock,
            child,
            proxy,
        })
    }

    pub(crate) fn helper_path(&self) -> &Path {
        &self.helper
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.spec.limits
    }

    pub(crate) fn on_start_fn(&self) -> Option<&OnStart> {
        self.on_start.as_deref()
    }

    /// Redacts the hosts of refused requests (the program chose them, so they may carry a
    /// secret, as in `TOKEN.attacker.example`).
    fn redact_hosts(
        &self,
        mut refused: Vec<RefusedConnection>,
        engine: &dyn Fn() -> Result<(Arc<RuleSet>, Arc<KnownValues>), ExecError>,
    ) -> Result<Vec<RefusedConnection>, ExecError> {
        if refused.is_empty() {
            return Ok(refused);
        }
        let (rules, known) = engine()?;
        let redaction = hush_stream::Redaction::new(rules, Options::default());
        for r in &mut refused {
            if let Some(clean) = redaction.redact(r.host.as_bytes(), &known) {
                r.host = String::from_utf8_lossy(&clean).into_owned();
            }
        }
        Ok(refused)
    }

    /// The program's path: as given when it holds a `/`, else the first executable match
    /// in the search path.
    fn resolve(&self) -> Result<PathBuf, ExecError> {
        find_program(&self.program, &self.search_path).ok_or_else(|| ExecError::NotFound {
            program: self.program.to_string_lossy().into_owned(),
        })
    }

    /// The secret values, checked before anything runs (too short to match safely fails).
    fn secret_values(&self) -> Result<KnownValuesBuilder, ExecError> {
        let mut known = KnownValuesBuilder::new();
        for (label, value) in &self.secrets {
            known
                .add(label, value.expose_secret().as_bytes())
                .map_err(|source| ExecError::Secret {
                    label: label.clone(),
                    source,
                })?;
        }
        Ok(known)
    }

    /// The rules and the secret values compiled against them.
    #[allow(clippy::type_complexity)]
    fn compile(
        &self,
        secrets: &KnownValuesBuilder,
    ) -> Result<(Arc<RuleSet>, Arc<KnownValues>), String> {
        let rules = match &self.rules {
            RulesSource::Ready(rules) => Arc::clone(rules),
            RulesSource::Lazy(make) => Arc::new(make().map_err(|e| e.to_string())?),
        };
        let known = secrets.build_for(&rules).map_err(|e| e.to_string())?;
        Ok((rules, Arc::new(known)))
    }
}

/// `program` as given when it holds a `/`, else the first file of that name in `search_path`
/// (a `PATH`-style list).
pub(crate) fn find_program(program: &OsStr, search_path: &OsStr) -> Option<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Some(PathBuf::from(program));
    }
    if program.is_empty() {
        return None;
    }
    search_path
        .as_bytes()
        .split(|&b| b == b':')
        .find_map(|dir| {
            let dir = if dir.is_empty() {
                Path::new(".")
            } else {
                Path::new(OsStr::from_bytes(dir))
            };
            let candidate = dir.join(program);
            candidate.is_file().then_some(candidate)
        })
}

/// A pseudo-terminal for one output stream: (master for the launcher, slave for the program).
/// Output post-processing is turned off so bytes arrive as written.
fn pty_pair(size: Option<rustix::termios::Winsize>) -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pty::OpenptFlags;
    use rustix::termios::{OptionalActions, OutputModes};
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let master = rustix::pty::openpt(flags)?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let slave = rustix::pty::ioctl_tiocgptpeer(&master, flags)?;
    let mut modes = rustix::termios::tcgetattr(&slave)?;
    modes.output_modes.remove(OutputModes::OPOST);
    rustix::termios::tcsetattr(&slave, OptionalActions::Now, &modes)?;
    if let Some(size) = size {
        rustix::termios::tcsetwinsize(&slave, size)?;
    }
    Ok((master, slave))
}

/// Reads a pseudo-terminal master: `EIO` once every slave is closed means end of output.
struct PtyReader(std::fs::File);

impl Read for PtyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf) {
            Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(0),
            other => other,
        }
    }
}

/// The output cap shared by the stdout and stderr pumps.
struct OutputCap {
    used: AtomicU64,
    max: Option<u64>,
    tripped: AtomicBool,
    ctl: Arc<UnixStream>,
}

/// A pipe reader that counts bytes against the cap; past it, it tells the helper to kill
/// the run and reports end of file.
struct Capped {
    inner: Box<dyn Read + Send>,
    cap: Arc<OutputCap>,
}

impl Read for Capped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cap.tripped.load(Ordering::SeqCst) {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        let Some(max) = self.cap.max else {
            self.cap.used.fetch_add(n as u64, Ordering::SeqCst);
            return Ok(n);
        };
        let before = self.cap.used.fetch_add(n as u64, Ordering::SeqCst);
        if before + n as u64 <= max {
            return Ok(n);
        }
        // Over the cap: keep exactly up to it, stop the run.
        self.cap.used.store(max, Ordering::SeqCst);
        if !self.cap.tripped.swap(true, Ordering::SeqCst) {
            let _ = (&*self.cap.ctl).write_all(b"kill\n");
        }
        Ok(usize::try_from(max.saturating_sub(before))
            .unwrap_or(0)
            .min(n))
    }
}

/// A helper that has its request.
pub(crate) struct Started {
    /// The program that runs (after the search-path lookup).
    pub(crate) program: PathBuf,
    /// The secret values, for the redactor.
    pub(crate) secrets: KnownValuesBuilder,
    /// The control socket.
    pub(crate) ctl: UnixStream,
    /// The helper.
    pub(crate) child: Child,
    /// The network allow-list proxy, when the network is allow-listed; its
    /// [`finish`](Proxy::finish) gives the refused requests.
    pub(crate) proxy: Option<Proxy>,
}

/// Reads the helper's reports on a thread of their own.
#[allow(clippy::type_complexity)]
pub(crate) fn report_reader(
    ctl: &UnixStream,
) -> io::Result<(
    mpsc::Receiver<Result<Report, serde_json::Error>>,
    std::thread::JoinHandle<()>,
)> {
    let reader = ctl.try_clone()?;
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            let parsed = serde_json::from_str::<Report>(&line);
            if tx.send(parsed).is_err() {
                break;
            }
        }
    });
    Ok((rx, handle))
}

/// Follows the helper's reports and enforces the wall clock. Returns the start report
/// (or the refusal) and how the program ended.
#[allow(clippy::type_complexity)]
pub(crate) fn control(
    limits: &Limits,
    on_start: Option<&OnStart>,
    rx: &mpsc::Receiver<Result<Report, serde_json::Error>>,
    ctl: &UnixStream,
    child: &mut Child,
) -> io::Result<(
    Result<Enforcement, (u8, String)>,
    (Status, Option<Stop>, Option<Usage>),
)> {
    let deadline = limits.wall.map(|w| Instant::now() + w);
    let mut hard_deadline: Option<Instant> = None;
    let mut started = None;
    let mut status = None;
    let mut stopped = None;
    let mut usage = None;
    loop {
        // Once the program has ended, only the helper's own exit is awaited.
        let wall = deadline.filter(|_| stopped.is_none() && status.is_none());
        let wait = hard_deadline
            .or(wall)
            .map(|d| d.saturating_duration_since(Instant::now()));
        let msg = match wait {
            Some(w) => rx.recv_timeout(w),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Ok(Report::Started(enf))) => {
                if let Some(f) = on_start {
                    f(&enf);
                }
                started = Some(Ok(enf));
            }
            Ok(Ok(Report::Refused { code, message })) => started = Some(Err((code, message))),
            Ok(Ok(Report::Exited {
                code,
                signal,
                usage: u,
                stopped: by_helper,
            })) => {
                usage = u;
                if let Some(wire::HelperStop::Processes) = by_helper {
                    stopped.get_or_insert(Stop::Processes);
                }
                status = match (code, signal) {
                    (Some(c), _) => Some(Status::Exited(c)),
                    (None, Some(s)) => Some(Status::Signaled(s)),
                    (None, None) => None,
                };
            }
            Ok(Err(e)) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other(format!("bad report from the helper: {e}")));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if hard_deadline.is_none() => {
                // Wall clock: SIGTERM to everything, SIGKILL after the grace period (the
                // helper does both); if the helper itself hangs, it is killed.
                stopped = Some(Stop::Timeout);
                let _ = (&*ctl).write_all(b"term\n");
                hard_deadline = Some(Instant::now() + limits.grace + Duration::from_secs(2));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                hard_deadline = Some(Instant::now() + Duration::from_secs(3600));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let helper = child.wait()?;
    let started = started.ok_or_else(|| {
        io::Error::other(format!(
            "the helper ended before starting the program ({helper})"
        ))
    })?;
    let status = status.unwrap_or({
        use std::os::unix::process::ExitStatusExt;
        match (helper.code(), helper.signal()) {
            (Some(c), _) => Status::Exited(c),
            (None, Some(s)) => Status::Signaled(s),
            (None, None) => Status::Exited(125),
        }
    });
    Ok((started, (status, stopped, usage)))
}
