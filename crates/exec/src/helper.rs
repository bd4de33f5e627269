//! The helper: the process `hush __sandbox-exec` runs. It is started fresh (single-threaded)
//! by the launcher, confines itself and starts the program, then supervises it until every
//! process of the run is gone.
//!
//! - The main thread takes a new session, becomes a child subreaper (orphans of the program
//!   are re-parented to it rather than escaping to init) and enters namespaces.
//! - A spawner thread sets the rlimits (process-wide), drops capabilities, restricts itself
//!   with Landlock and seccomp and spawns the program, which inherits that thread's
//!   restrictions. The main thread stays unrestricted, so it can still read `/proc` and
//!   signal everything the program started.
//! - When the program exits (or the launcher says `term`/`kill`, or goes away), every
//!   remaining process of the run is killed: the program's process group, every process in
//!   the helper's session, and every orphan re-parented to the helper, until none is left.
//! - With a user namespace, the helper also unshares a PID namespace and starts itself again
//!   as its init (PID 1), handing it the request; it then only relays messages. The init does
//!   the two steps above inside the namespace (SIGTERM/SIGKILL go to every process in it), and
//!   when it exits the kernel kills whatever is left there.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, PidfdFlags, Signal, WaitOptions};

use crate::confine;
use crate::report::{Enforcement, LandlockState};
use crate::spec::{Level, Network};
use crate::wire::{self, Report, Request};

/// Exit code of the helper when it cannot talk to the launcher at all.
const PROTOCOL_FAILURE: i32 = 125;

/// Runs the helper with the control socket on standard input. Returns the exit code for the
/// helper process (the launcher reads the program's real status from the socket).
///
/// Call this from your binary's `main` when it is invoked with
/// [`HELPER_ARG`](crate::HELPER_ARG), before starting any thread.
pub fn helper_main() -> i32 {
    let sock = match io::stdin().as_fd().try_clone_to_owned() {
        Ok(fd) => UnixStream::from(fd),
        Err(_) => return PROTOCOL_FAILURE,
    };
    match supervise(sock) {
        Ok(code) => code,
        Err(_) => PROTOCOL_FAILURE,
    }
}

fn supervise(mut sock: UnixStream) -> io::Result<i32> {
    let (mut req, stdin) = wire::recv_request(&mut sock)?;
    let mut enf = Enforcement {
        level: Level::Basic,
        landlock_abi: None,
        landlock: LandlockState::Off,
        landlock_net: false,
        landlock_scopes: false,
        seccomp: false,
        no_capabilities: false,
        namespaces: Vec::new(),
        notes: Vec::new(),
    };
    if let Some(info) = req.init.take() {
        // PID 1 of the run's PID namespace: everything else is already in place.
        enf.namespaces = info.namespaces;
        enf.notes = info.notes;
        return run_program(sock, &req, stdin, enf, true);
    }
    // From here on the helper must not read its own stdin (the socket) through std.
    // The session is how the sweep finds the run's processes: without it, refuse.
    if let Err(e) = rustix::process::setsid() {
        return refuse(
            &mut sock,
            125,
            format!("sandbox helper: cannot start a new session: {e}"),
        );
    }
    if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        enf.notes.push(format!(
            "not a child subreaper ({e}): processes that leave the session and outlive their \
             parent are not killed with the run"
        ));
    }
    // INVARIANT: the process is still single-threaded here (unshare(CLONE_NEWUSER) needs it).
    if req.spec.namespaces {
        enf.namespaces = confine::enter_namespaces(&req.spec, &mut enf.notes);
    }
    if enf.namespaces.iter().any(|n| n == "user") {
        // No thread may be created after this (the helper has none): the next child is the
        // namespace's init.
        match nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID) {
            Ok(()) => {
                enf.namespaces.push("pid".to_string());
                return relay(sock, req, stdin, enf);
            }
            Err(e) => enf.notes.push(format!("no PID namespace ({e})")),
        }
    }
    run_program(sock, &req, stdin, enf, false)
}

/// Confines a thread, spawns the program from it, reports, and watches it to the end.
/// `pid_ns_init`: this process is PID 1 of the run's own PID namespace.
fn run_program(
    mut sock: UnixStream,
    req: &Request,
    stdin: Option<OwnedFd>,
    enf: Enforcement,
    pid_ns_init: bool,
) -> io::Result<i32> {
    let (child, enf) = match std::thread::scope(|s| {
        s.spawn(|| confine_and_spawn(req, stdin, enf))
            .join()
            .unwrap_or_else(|_| Err((125, "sandbox helper thread panicked".to_string())))
    }) {
        Ok(v) => v,
        Err((code, message)) => return refuse(&mut sock, code, message),
    };
    wire::send_report(&mut sock, &Report::Started(enf))?;
    let (code, signal) = watch(&mut sock, child, req.spec.limits.grace, pid_ns_init)?;
    // Every process of the run has been reaped by now, so the children's usage is the run's.
    let usage = children_usage();
    wire::send_report(
        &mut sock,
        &Report::Exited {
            code,
            signal,
            usage,
        },
    )?;
    Ok(0)
}

/// CPU time and peak memory of the helper's reaped children (the program and its orphans).
fn children_usage() -> Option<crate::launch::Usage> {
    use nix::sys::resource::{getrusage, UsageWho};
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).ok()?;
    let ms = |t: nix::sys::time::TimeVal| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1000
            + u64::try_from(t.tv_usec()).unwrap_or(0) / 1000
    };
    Some(crate::launch::Usage {
        cpu_ms: ms(u.user_time()) + ms(u.system_time()),
        // Linux reports KiB.
        max_rss_kb: u64::try_from(u.max_rss()).unwrap_or(0),
    })
}

/// The outer helper of a PID-namespace run: starts the namespace's init (this binary again,
/// with the request marked for it), passes messages both ways unchanged, and kills the init
/// (and with it, by the kernel, every process of the namespace) if the launcher goes away.
fn relay(
    mut sock: UnixStream,
    mut req: Request,
    stdin: Option<OwnedFd>,
    enf: Enforcement,
) -> io::Result<i32> {
    let (mut ours, theirs) = UnixStream::pair()?;
    let spawned = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .arg(crate::HELPER_ARG)
            .env_clear()
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .spawn()
    });
    let init = match spawned {
        Ok(c) => c,
        Err(e) => {
            return refuse(
                &mut sock,
                125,
                format!("sandbox helper: cannot start the PID namespace init: {e}"),
            )
        }
    };
    let init_pid = Pid::from_child(&init);
    drop(init);
    req.init = Some(wire::InitInfo {
        namespaces: enf.namespaces,
        notes: enf.notes,
    });
    let sent = wire::send_request(&mut ours, &req, stdin.as_ref().map(|fd| fd.as_fd()));
    drop(req);
    drop(stdin);
    if sent.is_ok() {
        pass_messages(&sock, &ours, init_pid);
    }
    // Every process of the run is in the namespace, so it ends with the init; nothing to sweep.
    let _ = rustix::process::kill_process(init_pid, Signal::KILL);
    let _ = rustix::process::waitpid(Some(init_pid), WaitOptions::empty());
    Ok(0)
}

/// Copies bytes launcher → init and init → launcher until the init's end closes.
fn pass_messages(launcher: &UnixStream, init: &UnixStream, init_pid: Pid) {
    let mut buf = [0u8; 4096];
    let mut launcher_open = true;
    loop {
        let mut fds = vec![PollFd::new(init, PollFlags::IN)];
        if launcher_open {
            fds.push(PollFd::new(launcher, PollFlags::IN));
        }
        match rustix::event::poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
        let init_ready = !fds[0].revents().is_empty();
        let launcher_ready = launcher_open && !fds[1].revents().is_empty();
        drop(fds);
        if launcher_ready {
            match (&*launcher).read(&mut buf) {
                Ok(n) if n > 0 => {
                    let _ = (&*init).write_all(&buf[..n]);
                }
                _ => {
                    // The launcher is gone: the init's death takes the namespace with it.
                    launcher_open = false;
                    let _ = rustix::process::kill_process(init_pid, Signal::KILL);
                }
            }
        }
        if init_ready {
            match (&*init).read(&mut buf) {
                Ok(n) if n > 0 => {
                    let _ = (&*launcher).write_all(&buf[..n]);
                }
                _ => return,
            }
        }
    }
}

fn refuse(sock: &mut UnixStream, code: u8, message: String) -> io::Result<i32> {
    wire::send_report(sock, &Report::Refused { code, message })?;
    Ok(i32::from(code))
}

/// Runs on its own thread: restricts the thread, checks the level, spawns the program.
fn confine_and_spawn(
    req: &Request,
    stdin: Option<OwnedFd>,
    mut enf: Enforcement,
) -> Result<(std::process::Child, Enforcement), (u8, String)> {
    let spec = &req.spec;
    // Process-wide, but set only now that the thread exists: RLIMIT_NPROC counts threads and
    // RLIMIT_AS the thread's stack, so a tight limit must not stop the helper itself.
    confine::apply_rlimits(&spec.limits).map_err(|m| (126, m))?;
    enf.no_capabilities = confine::drop_capabilities() || !rustix::process::geteuid().is_root();
    confine::apply_landlock(spec, &mut enf).map_err(|m| (126, m))?;
    let mut network_enforced = match &spec.network {
        Network::On => true,
        Network::Allow(_) => enf.landlock_net,
        Network::Off => false,
    };
    if spec.network == Network::Off {
        match confine::apply_seccomp() {
            Ok(()) => {
                enf.seccomp = true;
                network_enforced = true;
            }
            Err(e) => enf.notes.push(format!("no seccomp filter: {e}")),
        }
    }
    enf.level = enf.compute_level(network_enforced);
    if let Some(required) = spec.require {
        if enf.level < required {
            return Err((
                126,
                format!(
                    "this machine reaches sandbox level `{}`, below the required `{required}` \
                     ({enf}); lower --require-sandbox or run on a kernel with landlock \
                     (5.13+, ABI 6+ for strict: 6.12+), seccomp and unprivileged user namespaces",
                    enf.level
                ),
            ));
        }
    }
    let program = std::ffi::OsString::from_vec(req.program.clone());
    let mut cmd = Command::new(&program);
    cmd.args(
        req.args
            .iter()
            .map(|a| std::ffi::OsString::from_vec(a.clone())),
    )
    .env_clear()
    .envs(req.env.iter().map(|(k, v)| {
        (
            std::ffi::OsString::from_vec(k.clone()),
            std::ffi::OsString::from_vec(v.clone()),
        )
    }))
    .process_group(0)
    .stdin(stdin.map_or_else(Stdio::null, Stdio::from))
    .stdout(Stdio::inherit())
    .stderr(Stdio::inherit());
    if let Some(cwd) = &req.cwd {
        cmd.current_dir(std::ffi::OsString::from_vec(cwd.clone()));
    }
    let shown = String::from_utf8_lossy(&req.program).into_owned();
    match cmd.spawn() {
        Ok(child) => Ok((child, enf)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err((127, format!("`{shown}`: command not found"))),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err((
            126,
            format!("`{shown}`: permission denied (not executable, or not allowed to execute in the sandbox: grant execute on it)"),
        )),
        Err(e) => Err((126, format!("`{shown}`: cannot execute: {e}"))),
    }
}

/// Waits for the program while obeying the launcher; then kills whatever is left.
fn watch(
    sock: &mut UnixStream,
    child: std::process::Child,
    grace: Duration,
    pid_ns_init: bool,
) -> io::Result<(Option<i32>, Option<i32>)> {
    // The program is reaped here with everything else, not through `child`.
    let pid = Pid::from_child(&child);
    drop(child);
    let pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty()).ok();
    let mut ctl = BufReader::new(sock.try_clone()?);
    let mut kill_at: Option<Instant> = None;
    let mut launcher_gone = false;
    let status = loop {
        // Reap whatever has ended: orphans re-parented to the helper, and the program.
        if let Some(status) = reap(pid) {
            break status;
        }
        let timeout = match kill_at {
            Some(t) => Some(t.saturating_duration_since(Instant::now())),
            // Without a pidfd, poll the child's status every 10 ms.
            None if pidfd.is_none() => Some(Duration::from_millis(10)),
            None => None,
        };
        if timeout == Some(Duration::ZERO) && kill_at.is_some() {
            kill_all(pid, Signal::KILL, pid_ns_init);
            kill_at = None;
            continue;
        }
        let ts = timeout.map(|d| rustix::time::Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        let mut fds = Vec::with_capacity(2);
        if !launcher_gone {
            fds.push(PollFd::new(ctl.get_ref(), PollFlags::IN));
        }
        if let Some(fd) = &pidfd {
            fds.push(PollFd::new(fd, PollFlags::IN));
        }
        match rustix::event::poll(&mut fds, ts.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        let ctl_ready = !launcher_gone && !fds[0].revents().is_empty();
        drop(fds);
        if ctl_ready {
            let mut line = String::new();
            match ctl.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    // The launcher is gone: nobody may see the output, stop everything.
                    launcher_gone = true;
                    kill_all(pid, Signal::KILL, pid_ns_init);
                }
                Ok(_) => match line.trim() {
                    "term" => {
                        kill_all(pid, Signal::TERM, pid_ns_init);
                        kill_at.get_or_insert(Instant::now() + grace);
                    }
                    "kill" => kill_all(pid, Signal::KILL, pid_ns_init),
                    _ => {}
                },
            }
        }
    };
    // The program is gone; nothing it started may outlive it.
    if pid_ns_init {
        sweep_namespace();
    } else {
        sweep();
    }
    Ok((status.exit_status(), status.terminating_signal()))
}

/// Reaps every child that has ended; returns the program's status if it was among them.
fn reap(program: Pid) -> Option<rustix::process::WaitStatus> {
    let mut status = None;
    while let Ok(Some((p, st))) = rustix::process::wait(WaitOptions::NOHANG) {
        if p == program {
            status = Some(st);
        }
    }
    status
}

/// Sends `sig` to every process of the run: as the init of a PID namespace, every other
/// process in it; otherwise the program's group, the helper's session and the helper's
/// children.
fn kill_all(program: Pid, sig: Signal, pid_ns_init: bool) {
    if pid_ns_init {
        let sig = nix::sys::signal::Signal::try_from(sig.as_raw()).ok();
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(-1), sig);
        return;
    }
    let _ = rustix::process::kill_process_group(program, sig);
    for p in members() {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// Kills and reaps until no process of the run is left (bounded, in case something keeps
/// forking faster than it is killed; each round kills every process found). The program has
/// been reaped, so its process group is not signalled by id (the id could be reused): its
/// members are all in the helper's session.
fn sweep() {
    for _ in 0..1000 {
        let left = members();
        for &p in &left {
            let _ = rustix::process::kill_process(p, Signal::KILL);
        }
        let mut reaped = false;
        while let Ok(Some(_)) = rustix::process::wait(WaitOptions::NOHANG) {
            reaped = true;
        }
        if left.is_empty() {
            return;
        }
        if !reaped {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// As the init of the run's PID namespace: kills every other process in it and reaps until
/// none is left (orphans are re-parented to the init, so in the end all are its children).
fn sweep_namespace() {
    let all = nix::unistd::Pid::from_raw(-1);
    loop {
        let _ = nix::sys::signal::kill(all, nix::sys::signal::Signal::SIGKILL);
        match rustix::process::wait(WaitOptions::empty()) {
            Ok(Some(_)) => {}
            _ => return,
        }
    }
}

/// Processes that belong to the run: the helper's children and anything in its session.
fn members() -> Vec<Pid> {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    scan(|pid, ppid, sid| pid != me && (ppid == me || sid == me))
}

/// Processes from `/proc` whose (pid, ppid, session) satisfy `keep`.
fn scan(keep: impl Fn(i32, i32, i32) -> bool) -> Vec<Pid> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces and parentheses): state, ppid,
        // pgrp, session.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut f = rest.split_ascii_whitespace().skip(1);
        let (Some(ppid), _, Some(sid)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let (Ok(ppid), Ok(sid)) = (ppid.parse::<i32>(), sid.parse::<i32>()) else {
            continue;
        };
        if keep(pid, ppid, sid) {
            if let Some(p) = Pid::from_raw(pid) {
                out.push(p);
            }
        }
    }
    out
}
