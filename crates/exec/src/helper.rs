//! The helper: the process `hush __sandbox-exec` runs. It is started fresh (single-threaded)
//! by the launcher, confines itself and starts the program, then supervises it until every
//! process of the run is gone.
//!
//! - The main thread takes a new session, becomes a child subreaper (orphans of the program
//!   are re-parented to it rather than escaping to init), moves into a cgroup of the run's
//!   own when one can be made, and enters namespaces. With an allow-listed network it binds
//!   the proxy's socket on the loopback of the new network namespace and hands it to the
//!   launcher.
//! - A spawner thread sets the rlimits (process-wide), drops capabilities, restricts itself
//!   with Landlock and seccomp and spawns the program, which inherits that thread's
//!   restrictions. The main thread stays unrestricted, so it can still read `/proc` and
//!   signal everything the program started.
//! - When the program exits (or the launcher says `term`/`kill`, or goes away), every
//!   remaining process of the run is killed: the program's process group, every process in
//!   the helper's session, and every orphan re-parented to the helper, until none is left.
//! - With a process limit but no cgroup to enforce it (`pids.max`), the helper is also a
//!   watchdog: every [`WATCHDOG_PERIOD`] it counts the run's processes in `/proc` (see
//!   [`members`]) and, past the limit, kills every one of them and reports the stop.
//!   `RLIMIT_NPROC` stays set, but the kernel never applies it to root.
//! - With a user namespace, the helper also unshares a PID namespace and starts itself again
//!   as its init (PID 1), handing it the request; it then only relays messages. The init
//!   mounts the namespace's own `/proc` and does the two steps above inside the namespace
//!   (SIGTERM/SIGKILL go to every process in it), and when it exits the kernel kills
//!   whatever is left there.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, PidfdFlags, Signal, WaitOptions};

use crate::cgroup::RunCgroup;
use crate::confine;
use crate::report::{Enforcement, LandlockState, LimitsBy};
use crate::spec::{Level, Network};
use crate::wire::{self, Report, Request};

/// Exit code of the helper when it cannot talk to the launcher at all.
const PROTOCOL_FAILURE: i32 = 125;

/// How often the process watchdog counts the run's processes.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(10);

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
    let (mut req, passed) = wire::recv_request(&mut sock)?;
    let stdin = passed.stdin;
    let mut enf = Enforcement {
        level: Level::Basic,
        landlock_abi: None,
        landlock: LandlockState::Off,
        landlock_net: false,
        landlock_scopes: false,
        seccomp: false,
        no_capabilities: false,
        namespaces: Vec::new(),
        private_proc: false,
        limits_by: LimitsBy::Rlimit,
        process_watchdog: false,
        notes: Vec::new(),
    };
    if let Some(info) = req.init.take() {
        // PID 1 of the run's PID namespace: everything else is already in place but the
        // namespace's own /proc.
        enf.namespaces = info.namespaces;
        enf.notes = info.notes;
        enf.limits_by = info.limits_by;
        if enf.namespaces.iter().any(|n| n == "mount") {
            match confine::mount_proc() {
                Ok(()) => enf.private_proc = true,
                Err(e) => enf.notes.push(format!(
                    "no private /proc ({e}): /proc shows the processes of the whole machine"
                )),
            }
        }
        return run_program(sock, &req, stdin, enf, true, info.proxy_port);
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
    // Before anything is started, so that everything of the run is in it.
    let cgroup = match RunCgroup::enter(&req.spec.limits) {
        Ok(Some(cg)) => {
            enf.limits_by = LimitsBy::Cgroup;
            Some(cg)
        }
        Ok(None) => None,
        Err(why) => {
            let weaker = if req.spec.limits.cpus_milli.is_some() {
                "; the CPU bandwidth limit is not enforced"
            } else {
                ""
            };
            enf.notes.push(format!("limits by rlimits: {why}{weaker}"));
            None
        }
    };
    let code = confine_and_supervise(sock, req, stdin, passed.proxy, enf);
    if let Some(cg) = cgroup {
        cg.finish();
    }
    code
}

/// The part of [`supervise`] that runs inside the run's cgroup, when there is one.
fn confine_and_supervise(
    mut sock: UnixStream,
    req: Request,
    stdin: Option<OwnedFd>,
    proxy: Option<OwnedFd>,
    mut enf: Enforcement,
) -> io::Result<i32> {
    // INVARIANT: the process is still single-threaded here (unshare(CLONE_NEWUSER) needs it).
    if req.spec.namespaces {
        enf.namespaces = confine::enter_namespaces(&req.spec, &mut enf.notes);
    }
    let proxy_port = match (&req.spec.network, proxy) {
        (Network::Allow(_), Some(channel)) => {
            let in_netns = enf.namespaces.iter().any(|n| n == "net");
            match proxy_listener(UnixStream::from(channel), in_netns) {
                Ok(port) => Some(port),
                Err(message) => return refuse(&mut sock, 126, message),
            }
        }
        (Network::Allow(_), None) => {
            return refuse(
                &mut sock,
                126,
                "sandbox helper: an allow-listed network needs the launcher's proxy".into(),
            )
        }
        _ => None,
    };
    if enf.namespaces.iter().any(|n| n == "user") {
        // No thread may be created after this (the helper has none): the next child is the
        // namespace's init.
        match nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID) {
            Ok(()) => {
                enf.namespaces.push("pid".to_string());
                return relay(sock, req, stdin, enf, proxy_port);
            }
            Err(e) => enf.notes.push(format!("no PID namespace ({e})")),
        }
    }
    run_program(sock, &req, stdin, enf, false, proxy_port)
}

/// Makes the socket the proxy listens on, where the program can reach it (the loopback of the
/// run's network namespace, brought up first, or the host's), and hands it to the launcher's
/// proxy over `channel`. Returns its port.
fn proxy_listener(channel: UnixStream, in_netns: bool) -> Result<u16, String> {
    if in_netns {
        confine::loopback_up()
            .map_err(|e| format!("sandbox helper: cannot bring up the loopback: {e}"))?;
    }
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| format!("sandbox helper: cannot listen for the network proxy: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("sandbox helper: {e}"))?
        .port();
    wire::send_fd(&channel, listener.as_fd())
        .map_err(|e| format!("sandbox helper: cannot hand the proxy its socket: {e}"))?;
    Ok(port)
}

/// Confines a thread, spawns the program from it, reports, and watches it to the end.
/// `pid_ns_init`: this process is PID 1 of the run's own PID namespace.
fn run_program(
    mut sock: UnixStream,
    req: &Request,
    stdin: Option<OwnedFd>,
    enf: Enforcement,
    pid_ns_init: bool,
    proxy_port: Option<u16>,
) -> io::Result<i32> {
    let (child, enf) = match std::thread::scope(|s| {
        s.spawn(|| confine_and_spawn(req, stdin, enf, proxy_port))
            .join()
            .unwrap_or_else(|_| Err((125, "sandbox helper thread panicked".to_string())))
    }) {
        Ok(v) => v,
        Err((code, message)) => return refuse(&mut sock, code, message),
    };
    let max_processes = req
        .spec
        .limits
        .max_processes
        .filter(|_| enf.process_watchdog);
    wire::send_report(&mut sock, &Report::Started(enf))?;
    let (code, signal, stopped) = watch(
        &mut sock,
        child,
        req.spec.limits.grace,
        pid_ns_init,
        max_processes,
    )?;
    // Every process of the run has been reaped by now, so the children's usage is the run's.
    let usage = children_usage();
    wire::send_report(
        &mut sock,
        &Report::Exited {
            code,
            signal,
            usage,
            stopped,
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
    mut enf: Enforcement,
    proxy_port: Option<u16>,
) -> io::Result<i32> {
    let (mut ours, theirs) = UnixStream::pair()?;
    // The init mounts the namespace's /proc, which takes CAP_SYS_ADMIN in the user namespace:
    // an init running as an ordinary user id would lose it at exec without the ambient set.
    let mount = enf.namespaces.iter().any(|n| n == "mount");
    if mount {
        if let Err(e) = confine::pass_sys_admin_to_children(true) {
            enf.notes
                .push(format!("cannot keep CAP_SYS_ADMIN for the init ({e})"));
        }
    }
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
    if mount {
        let _ = confine::pass_sys_admin_to_children(false);
    }
    let init_pid = Pid::from_child(&init);
    drop(init);
    req.init = Some(wire::InitInfo {
        namespaces: enf.namespaces,
        notes: enf.notes,
        proxy_port,
        limits_by: enf.limits_by,
    });
    let sent = wire::send_request(&mut ours, &req, stdin.as_ref().map(|fd| fd.as_fd()), None);
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
    proxy_port: Option<u16>,
) -> Result<(std::process::Child, Enforcement), (u8, String)> {
    let spec = &req.spec;
    // Process-wide, but set only now that the thread exists: RLIMIT_NPROC counts threads and
    // RLIMIT_AS the thread's stack, so a tight limit must not stop the helper itself.
    let by_cgroup = enf.limits_by == LimitsBy::Cgroup;
    confine::apply_rlimits(&spec.limits, by_cgroup).map_err(|m| (126, m))?;
    // RLIMIT_NPROC does not bind root, and counts the user's processes, not the run's.
    enf.process_watchdog = spec.limits.max_processes.is_some() && !by_cgroup;
    let (bounding, inheritable) = confine::drop_capabilities();
    enf.no_capabilities = inheritable && (bounding || !rustix::process::geteuid().is_root());
    confine::apply_landlock(spec, &mut enf, proxy_port).map_err(|m| (126, m))?;
    let in_netns = enf.namespaces.iter().any(|n| n == "net");
    let mut network_enforced = match &spec.network {
        Network::On => true,
        Network::Allow(_) => in_netns || enf.landlock_net,
        Network::Off => false,
    };
    if let Network::Allow(_) = &spec.network {
        enf.notes.push(
            match (in_netns, enf.landlock_net) {
                (true, _) => {
                    "network: HTTP(S) through hush's proxy to allow-listed hosts only; the run's \
                     network namespace holds nothing else"
                }
                (false, true) => {
                    "network: HTTP(S) through hush's proxy to allow-listed hosts; without a \
                     network namespace, landlock limits TCP to the proxy's port (on any \
                     address) and UDP is not filtered"
                }
                (false, false) => {
                    "network allow-list NOT enforced: without a network namespace or landlock \
                     TCP rules (ABI 4+) the program may ignore the proxy and connect anywhere"
                }
            }
            .to_string(),
        );
    }
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
    if matches!(spec.network, Network::Allow(_)) && !in_netns && enf.level > Level::Strict {
        enf.level = Level::Strict;
    }
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
    .envs(proxy_port.into_iter().flat_map(proxy_env))
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

/// The variables that point HTTP clients at the proxy on `port`.
fn proxy_env(port: u16) -> Vec<(&'static str, String)> {
    let url = format!("http://127.0.0.1:{port}");
    let mut vars: Vec<(&str, String)> = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ]
    .into_iter()
    .map(|k| (k, url.clone()))
    .collect();
    vars.push(("NO_PROXY", String::new()));
    vars.push(("no_proxy", String::new()));
    vars
}

/// Waits for the program while obeying the launcher; then kills whatever is left. With
/// `max_processes`, also counts the run's processes every [`WATCHDOG_PERIOD`] and kills them
/// all once there are more (returned as the stop).
fn watch(
    sock: &mut UnixStream,
    child: std::process::Child,
    grace: Duration,
    pid_ns_init: bool,
    max_processes: Option<u64>,
) -> io::Result<(Option<i32>, Option<i32>, Option<wire::HelperStop>)> {
    // The program is reaped here with everything else, not through `child`.
    let pid = Pid::from_child(&child);
    drop(child);
    let pidfd = rustix::process::pidfd_open(pid, PidfdFlags::empty()).ok();
    let mut ctl = BufReader::new(sock.try_clone()?);
    let mut kill_at: Option<Instant> = None;
    let mut launcher_gone = false;
    let mut stopped = None;
    let mut census = max_processes.map(|_| Census::new());
    let status = loop {
        // Reap whatever has ended: orphans re-parented to the helper, and the program.
        if let Some(status) = reap(pid) {
            break status;
        }
        if let (Some(max), Some(census)) = (max_processes, census.as_mut()) {
            // Once over the limit, every tick kills again whatever was forked since.
            let over = |n: usize| u64::try_from(n).unwrap_or(u64::MAX) > max;
            if stopped.is_some() || (over(census.count()) && over(members().len())) {
                stopped = Some(wire::HelperStop::Processes);
                kill_all(pid, Signal::KILL, pid_ns_init);
            }
        }
        let timeout = match kill_at {
            Some(t) => Some(t.saturating_duration_since(Instant::now())),
            // Without a pidfd, poll the child's status every 10 ms.
            None if pidfd.is_none() => Some(Duration::from_millis(10)),
            None => None,
        };
        // The watchdog's next count.
        let timeout = match max_processes {
            Some(_) => Some(timeout.map_or(WATCHDOG_PERIOD, |t| t.min(WATCHDOG_PERIOD))),
            None => timeout,
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
    // The program is gone; nothing it started may outlive it. What it left behind still
    // counts against the limit (a bomb whose first process exits at once).
    let left = if pid_ns_init {
        let left = max_processes.map(|_| members().len());
        sweep_namespace();
        left
    } else {
        Some(sweep())
    };
    if let (Some(max), Some(left)) = (max_processes, left) {
        if u64::try_from(left).unwrap_or(u64::MAX) > max {
            stopped = Some(wire::HelperStop::Processes);
        }
    }
    Ok((status.exit_status(), status.terminating_signal(), stopped))
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
/// members are all in the helper's session. Returns how many processes were left at first.
fn sweep() -> usize {
    let mut first = None;
    for _ in 0..1000 {
        let left = members();
        first.get_or_insert(left.len());
        for &p in &left {
            let _ = rustix::process::kill_process(p, Signal::KILL);
        }
        let mut reaped = false;
        while let Ok(Some(_)) = rustix::process::wait(WaitOptions::NOHANG) {
            reaped = true;
        }
        if left.is_empty() {
            break;
        }
        if !reaped {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    first.unwrap_or(0)
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

/// Processes that belong to the run, as `/proc` numbers them: every descendant of the helper
/// and anything in its session. Orphans are re-parented to the helper (a child subreaper, or
/// the init of the run's PID namespace), so a process cannot leave this set by double-forking
/// or by taking a session of its own. A scan is not atomic: a process forked or re-parented
/// while it reads `/proc` may be missed until the next one.
fn members() -> Vec<Pid> {
    let all: HashMap<i32, (i32, i32)> = proc_pids()
        .into_iter()
        .filter_map(|pid| Some((pid, read_stat(pid)?)))
        .collect();
    run_of(proc_self(), &all)
        .into_iter()
        .filter_map(Pid::from_raw)
        .collect()
}

/// The helper's number in the `/proc` that is read (the host's, when a PID namespace has no
/// private `/proc`).
fn proc_self() -> i32 {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str().and_then(|s| s.parse::<i32>().ok()))
        .unwrap_or_else(|| rustix::process::getpid().as_raw_nonzero().get())
}

/// The run's processes among `procs` (pid → (ppid, session)): the descendants of `me` and
/// the members of its session, `me` excluded.
fn run_of(me: i32, procs: &HashMap<i32, (i32, i32)>) -> HashSet<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (&pid, &(ppid, _)) in procs {
        children.entry(ppid).or_default().push(pid);
    }
    let mut run: HashSet<i32> = procs
        .iter()
        .filter(|&(&pid, &(_, sid))| sid == me && pid != me)
        .map(|(&pid, _)| pid)
        .collect();
    let mut todo: Vec<i32> = run.iter().copied().chain([me]).collect();
    while let Some(parent) = todo.pop() {
        for &child in children.get(&parent).into_iter().flatten() {
            if child != me && run.insert(child) {
                todo.push(child);
            }
        }
    }
    run
}

/// The process watchdog's count of the run's processes, kept between ticks so that a tick
/// reads `/proc/PID/stat` only for processes it has not seen, and for those whose parent is
/// gone (they were re-parented): reading every process's `stat` every 10 ms would cost a
/// tenth of a core on a busy machine. The whole table is read again every
/// [`Census::REFRESH`] ticks (a recycled pid keeps a stale entry at most that long), and a
/// count over the limit is only a trigger: the stop is confirmed by a fresh scan.
struct Census {
    me: i32,
    known: HashMap<i32, (i32, i32)>,
    ticks: u32,
}

impl Census {
    /// Ticks between two full reads of the process table.
    const REFRESH: u32 = 50;

    fn new() -> Census {
        Census {
            me: proc_self(),
            known: HashMap::new(),
            ticks: 0,
        }
    }

    /// How many processes the run has now, as far as the table knows.
    fn count(&mut self) -> usize {
        self.ticks += 1;
        if self.ticks % Census::REFRESH == 0 {
            self.known.clear();
        }
        let live: HashSet<i32> = proc_pids().into_iter().collect();
        self.known.retain(|pid, _| live.contains(pid));
        for &pid in &live {
            let current = matches!(
                self.known.get(&pid),
                Some(&(ppid, _)) if ppid == 0 || live.contains(&ppid)
            );
            if !current {
                match read_stat(pid) {
                    Some(entry) => self.known.insert(pid, entry),
                    None => self.known.remove(&pid),
                };
            }
        }
        run_of(self.me, &self.known).len()
    }
}

/// Every process listed in `/proc`.
fn proc_pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .collect()
}

/// The (ppid, session) of `pid`, from `/proc/PID/stat`; `None` once it is gone.
fn read_stat(pid: i32) -> Option<(i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces and parentheses): state, ppid,
    // pgrp, session.
    let rest = stat.rsplit_once(')')?.1;
    let mut f = rest.split_ascii_whitespace().skip(1);
    let (ppid, _, sid) = (f.next()?, f.next()?, f.next()?);
    Some((ppid.parse().ok()?, sid.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_is_the_helpers_descendants_and_session() {
        // pid → (ppid, session); the helper is 10.
        let procs: HashMap<i32, (i32, i32)> = [
            (1, (0, 1)),    // init
            (10, (5, 10)),  // the helper
            (11, (10, 10)), // the program
            (12, (11, 12)), // took a session of its own, parent alive
            (13, (12, 12)), // its child
            (14, (10, 14)), // an orphan re-parented to the helper
            (15, (1, 10)),  // in the session, re-parented to init
            (20, (1, 20)),  // unrelated
            (21, (20, 20)), // unrelated
        ]
        .into_iter()
        .collect();
        let mut run: Vec<i32> = run_of(10, &procs).into_iter().collect();
        run.sort_unstable();
        assert_eq!(run, [11, 12, 13, 14, 15]);
    }
}
