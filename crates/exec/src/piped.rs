//! A program under the sandbox with its raw pipes, for a caller that speaks a protocol with it
//! (an MCP server behind `hush mcp`) and redacts what it passes on itself.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{ChildStderr, ChildStdout};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use crate::launch::{control, report_reader, ExecError, Sandbox, Started, Status, Stop, Usage};
use crate::netproxy::{Proxy, RefusedConnection};
use crate::report::Enforcement;

/// How a piped run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipedEnd {
    /// How the program ended.
    pub status: Status,
    /// Set when hush stopped the run (the wall clock, or the process watchdog).
    pub stopped: Option<Stop>,
    /// CPU time and peak memory, when the helper could measure them.
    pub usage: Option<Usage>,
    /// Requests the network allow-list proxy refused (hosts as the program sent them: audit
    /// them through a redacting writer).
    pub refused: Vec<RefusedConnection>,
}

type Ended = io::Result<PipedEnd>;

/// A running program with its standard streams as raw pipes (see [`Sandbox::spawn_piped`]).
///
/// Nothing read from `stdout` or `stderr` is redacted: the caller does it. Dropping a `Piped`
/// that was not waited for kills every process of the run.
#[non_exhaustive]
pub struct Piped {
    /// The write end of the program's stdin pipe (`None` once taken). Dropping it closes the
    /// program's stdin.
    pub stdin: Option<File>,
    /// The program's stdout, raw (`None` once taken).
    pub stdout: Option<ChildStdout>,
    /// The program's stderr, raw (`None` once taken).
    pub stderr: Option<ChildStderr>,
    enforcement: Enforcement,
    program: PathBuf,
    helper: PathBuf,
    ctl: Arc<UnixStream>,
    supervisor: Option<JoinHandle<Ended>>,
    reports: Option<JoinHandle<()>>,
    proxy: Option<Proxy>,
}

impl std::fmt::Debug for Piped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Piped")
            .field("program", &self.program)
            .field("enforcement", &self.enforcement)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts the program under the sandbox, as [`run`](Self::run) does (helper, namespaces,
    /// Landlock, seccomp, rlimits, exactly the given environment), but hands back its stdin,
    /// stdout and stderr as pipes instead of pumping them through the redactor. Returns once
    /// the program runs (the [`on_start`](Self::on_start) callback has been called then).
    ///
    /// The spec's `stdin` setting is ignored: the program's stdin is the returned pipe. The
    /// wall-clock limit applies; the output cap does not (the caller reads the output).
    /// Secret values are checked as in `run`, and the caller must register them with its own
    /// redactor.
    ///
    /// # Errors
    /// [`ExecError`]: the program was not found or refused (below the required level, not
    /// executable, denied by the sandbox), or the helper failed. Nothing runs then.
    pub fn spawn_piped(&self) -> Result<Piped, ExecError> {
        let helper_err = |source| ExecError::Helper {
            helper: self.helper_path().to_path_buf(),
            source,
        };
        let (theirs, stdin) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| helper_err(e.into()))?;
        let stdin = File::from(stdin);
        let Started {
            program,
            ctl,
            mut child,
            proxy,
            ..
        } = self.start(Some(theirs.as_fd()), None)?;
        drop(theirs);
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let ctl = Arc::new(ctl);
        let (rx, reports) = match report_reader(&ctl) {
            Ok(r) => r,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(helper_err(e));
            }
        };
        let (started_tx, started_rx) = mpsc::channel::<Enforcement>();
        let limits = self.limits().clone();
        let supervisor = {
            let ctl = Arc::clone(&ctl);
            std::thread::spawn(move || -> Ended {
                let on_start = move |e: &Enforcement| {
                    let _ = started_tx.send(e.clone());
                };
                let (started, ended) = control(&limits, Some(&on_start), &rx, &ctl, &mut child)?;
                match started {
                    Ok(_) => Ok(PipedEnd {
                        status: ended.0,
                        stopped: ended.1,
                        usage: ended.2,
                        refused: Vec::new(),
                    }),
                    Err((code, message)) => Err(io::Error::other(Refusal { code, message })),
                }
            })
        };
        let enforcement = match started_rx.recv() {
            Ok(e) => e,
            Err(_) => {
                // The supervisor ended without a start: a refusal or a helper failure.
                let _ = reports.join();
                let err = match supervisor.join() {
                    Ok(Err(e)) => e,
                    Ok(Ok(_)) | Err(_) => io::Error::other("the helper ended unexpectedly"),
                };
                return Err(
                    match err.get_ref().and_then(|e| e.downcast_ref::<Refusal>()) {
                        Some(r) => ExecError::Refused {
                            code: r.code,
                            message: r.message.clone(),
                        },
                        None => helper_err(err),
                    },
                );
            }
        };
        if let Some(f) = self.on_start_fn() {
            f(&enforcement);
        }
        Ok(Piped {
            stdin: Some(stdin),
            stdout,
            stderr,
            enforcement,
            program,
            helper: self.helper_path().to_path_buf(),
            ctl,
            supervisor: Some(supervisor),
            reports: Some(reports),
            proxy,
        })
    }
}

/// A refusal carried through the supervisor's `io::Error`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Refusal {
    code: u8,
    message: String,
}

impl Piped {
    /// What the sandbox enforced.
    pub fn enforcement(&self) -> &Enforcement {
        &self.enforcement
    }

    /// The program that runs (after the search-path lookup).
    pub fn program(&self) -> &std::path::Path {
        &self.program
    }

    /// Kills every process of the run now (SIGKILL, through the helper). Returns at once; call
    /// [`wait`](Self::wait) for the end.
    pub fn kill(&self) {
        let _ = (&*self.ctl).write_all(b"kill\n");
    }

    /// Closes the program's stdin (if not taken) and waits for the run to end.
    ///
    /// # Errors
    /// [`ExecError::Helper`] when the helper could not be followed.
    pub fn wait(mut self) -> Result<PipedEnd, ExecError> {
        drop(self.stdin.take());
        let ended = match self.supervisor.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) | None => Err(io::Error::other("the supervisor thread panicked")),
        };
        if let Some(r) = self.reports.take() {
            let _ = r.join();
        }
        let refused = self.proxy.take().map(Proxy::finish).unwrap_or_default();
        let mut ended = ended.map_err(|source| ExecError::Helper {
            helper: self.helper.clone(),
            source,
        })?;
        ended.refused = refused;
        Ok(ended)
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        if self.supervisor.is_some() {
            // Not waited for: nothing of the run may outlive its owner.
            self.kill();
        }
    }
}
