//! The real `redact` binary: pipelines, pauses, big and binary input, broken pipes, flags.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

fn redact() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redact"))
}

/// A fake GitHub token built at runtime (no live-looking literal in the repository).
fn token() -> String {
    format!("ghp_{}", "Zq9r8s7t6u5v4w3x2y1z0a9b8c7d6e5f4g3h")
}

/// Runs `redact ARGS` on `input`, returns (exit code, stdout, stderr).
fn run(args: &[&str], input: &[u8]) -> (i32, Vec<u8>, String) {
    let mut child = spawn(args);
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `redact ARGS` with stdin, stdout and stderr piped, for tests that talk to it while it runs.
fn spawn(args: &[&str]) -> std::process::Child {
    redact()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn redact")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn redacts_a_token_and_keeps_everything_else() {
    let input = format!(
        "time=x level=warn msg=\"call failed\" auth=\"token {}\" status=401\r\nnext line\n",
        token()
    );
    let (code, out, err) = run(&[], input.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "time=x level=warn msg=\"call failed\" auth=\"token [REDACTED:hush.github.pat]\" status=401\r\nnext line\n"
    );
}

#[test]
fn styles() {
    let input = format!("k={}\n", token());
    let (_, out, _) = run(&["--style", "mask"], input.as_bytes());
    assert_eq!(out, b"k=***\n");
    let (_, out, _) = run(&["--style", "prefix"], input.as_bytes());
    assert_eq!(out, b"k=ghp_****\n");
    let (code, _, err) = run(&["--style", "hash"], input.as_bytes());
    assert_eq!(code, 2);
    assert!(err.contains("--style hash needs a key"), "{err}");
    let out = redact()
        .args(["--style", "hash", "--hash-key-env", "TEST_HASH_KEY"])
        .env("TEST_HASH_KEY", "0123456789abcdef-test-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("a={t} b={t}\n", t = token()).as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let parts: Vec<&str> = text.trim().split(' ').collect();
    assert!(
        parts[0].starts_with("a=[REDACTED:hush.github.pat:")
            && parts[0].len() == "a=[REDACTED:hush.github.pat:]".len() + 8,
        "{text}"
    );
    assert_eq!(parts[0][2..], parts[1][2..], "equal secrets correlate");
}

#[test]
fn one_byte_writes_with_pauses_and_prompt_lines() {
    let mut child = spawn(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // A clean line shows before end of input: read it while stdin is still open.
    stdin.write_all(b"hello world\n").unwrap();
    stdin.flush().unwrap();
    let mut first = [0u8; 12];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"hello world\n");
    // Then a secret, one byte at a time with short pauses (shorter than --max-delay).
    let line = format!("token={}\n", token());
    for b in line.bytes() {
        stdin.write_all(&[b]).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(stdin);
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(!contains(&rest, token().as_bytes()));
    assert!(
        !contains(&rest, &token().as_bytes()[4..20]),
        "no piece of the token got out: {}",
        String::from_utf8_lossy(&rest)
    );
    assert_eq!(rest, b"token=[REDACTED:hush.github.pat]\n");
}

#[test]
fn a_secret_split_across_two_writes() {
    let t = token();
    let (a, b) = t.split_at(17);
    // (pause, max-delay): well inside the delay, and well past it.
    for (pause, delay) in [(20u64, "5s"), (1500, "100ms")] {
        let mut child = spawn(&["--max-delay", delay]);
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        // Wait until redact is up and passing lines, so a slow start (a loaded machine, a debug
        // build) cannot merge the two writes.
        stdin.write_all(b"ready\n").unwrap();
        stdin.flush().unwrap();
        let mut ready = [0u8; 6];
        stdout.read_exact(&mut ready).unwrap();
        assert_eq!(&ready, b"ready\n");
        stdin.write_all(format!("auth: {a}").as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(pause));
        stdin.write_all(format!("{b}\n").as_bytes()).unwrap();
        drop(stdin);
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        assert!(child.wait().unwrap().success());
        // Neither half may appear, whether the pause outlasted --max-delay or not.
        assert!(
            !text.contains(&a[4..]) && !text.contains(b),
            "pause {pause} ms: {text}"
        );
        if pause == 20 {
            assert_eq!(text, "auth: [REDACTED:hush.github.pat]\n");
        } else {
            // Held past the delay: redacted as partial, the rest by its rule.
            assert!(text.starts_with("auth: [REDACTED:hush.partial]"), "{text}");
        }
    }
}

#[test]
fn pem_key_across_lines_and_reads() {
    let body: String = (0..20)
        .map(|i| {
            format!(
                "{}\n",
                "MIIEowIBAAKCAQEAx4Lk9PqR2sT8vW1yZ3bC5dF7gH0jK2mN4pQ6rS8tU1vX3zA5b"
                    .get(i % 3..i % 3 + 64)
                    .unwrap_or("MIIEowIBAAKCAQEAx4Lk9PqR2sT8vW1yZ3bC5dF7gH0jK2mN4pQ6rS8tU1vX3zA5b")
            )
        })
        .collect();
    let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----");
    let input = format!("loading key\n{pem}\ndone\n");
    let mut child = spawn(&[]);
    let mut stdin = child.stdin.take().unwrap();
    for line in input.split_inclusive('\n') {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("loading key\n"), "{text}");
    assert!(text.ends_with("\ndone\n"), "{text}");
    assert!(!text.contains("MIIEowIBAAKCAQEA"), "{text}");
    assert!(
        text.contains("[REDACTED:hush.keys.rsa-private-key]"),
        "{text}"
    );
}

#[test]
fn a_200_mb_line_in_bounded_memory_and_unchanged() {
    let t = token();
    let mut input = vec![b'x'; 200 << 20];
    input.extend_from_slice(format!(" key={t} ").as_bytes());
    input.extend(std::iter::repeat_n(b'y', 1 << 20));
    let (code, out, err) = run(&[], &input);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.len(),
        input.len() - t.len() + "[REDACTED:hush.github.pat]".len()
    );
    assert!(out[..200 << 20].iter().all(|&b| b == b'x'));
    assert!(!contains(&out[(200 << 20) - 10..], t.as_bytes()));
}

#[test]
fn binary_garbage_passes_through_except_the_secret() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut input: Vec<u8> = (0..(1 << 20))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let at = 500_000;
    let secret = format!("\n{}\n", token());
    input.splice(at..at, secret.bytes());
    let (code, out, _) = run(&[], &input);
    assert_eq!(code, 0);
    assert!(!contains(&out, token().as_bytes()));
    assert_eq!(
        &out[..at],
        &input[..at],
        "bytes before the secret are untouched"
    );
}

#[test]
fn stdout_closed_early_exits_0_quietly() {
    let mut child = spawn(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin.write_all(b"first line\n").unwrap();
    stdin.flush().unwrap();
    let mut buf = [0u8; 5];
    stdout.read_exact(&mut buf).unwrap();
    drop(stdout);
    // Keep writing until redact notices the closed pipe and exits.
    let line = vec![b'z'; 64 << 10];
    for _ in 0..2000 {
        if stdin.write_all(&line).is_err() {
            break;
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn ansi_coloured_secrets_are_redacted_and_colours_survive() {
    let t = token();
    let (a, b) = t.split_at(10);
    let input = format!("\x1b[32mok\x1b[0m key=\x1b[31m{t}\x1b[0m split={a}\x1b[1m{b}\x1b[0m\n");
    let (_, out, _) = run(&[], input.as_bytes());
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "\x1b[32mok\x1b[0m key=\x1b[31m[REDACTED:hush.github.pat]\x1b[0m split=[REDACTED:hush.github.pat]\x1b[1m\x1b[0m\n"
    );
}

#[test]
fn json_lines_stay_valid() {
    let t = token();
    let lines = [
        format!("{{\"msg\":\"auth=\\\"token {t}\\\"\",\"n\":1}}"),
        format!("{{\"headers\":{{\"authorization\":\"Bearer {t}\"}},\"x\":\"\\u00e9\"}}"),
        format!("{{\"cmd\":\"export GITHUB_TOKEN={t}\\nls\"}}"),
    ];
    let input = lines.join("\n") + "\n";
    let (code, out, err) = run(&["--json"], input.as_bytes());
    assert_eq!(code, 0, "{err}");
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains(&t));
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v.is_object());
    }
}

#[test]
fn known_values_from_env_and_file() {
    let value = "correct-horse-battery-staple-42";
    let b64 = "Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5LXN0YXBsZS00Mg==";
    let mut child = redact()
        .args(["--values-from-env", "DB_PASSWORD", "--report"])
        .env("DB_PASSWORD", value)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("pw={value} enc={b64}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "pw=[REDACTED:hush.known-value] enc=[REDACTED:hush.known-value]\n"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("2  hush.known-value") && !err.contains(value),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values");
    std::fs::write(&file, format!("{value}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (code, out, err) = run(&["--values-file", file.to_str().unwrap()], b"never read\n");
        assert_eq!(code, 2);
        assert!(out.is_empty());
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let (code, out, _) = run(
        &["--values-file", file.to_str().unwrap()],
        format!("x {value} y\n").as_bytes(),
    );
    assert_eq!(code, 0);
    assert_eq!(out, b"x [REDACTED:hush.known-value] y\n");
}

#[test]
fn check_and_report() {
    let (code, _, err) = run(
        &["--check", "--report"],
        format!("a {}\n", token()).as_bytes(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("1  hush.github.pat"), "{err}");
    let (code, out, _) = run(&["--check"], b"nothing here\n");
    assert_eq!(code, 0);
    assert_eq!(out, b"nothing here\n");
}

#[test]
fn usage_errors_exit_2_before_reading_input() {
    for args in [
        &["--no-such-flag"][..],
        &["--rules", "/nonexistent/rules.toml"],
        &["--disable", "hush.no.such-rule"],
        &["--max-buffer", "12XB"],
        &["--values-from-env", "HUSH_TEST_UNSET_VARIABLE"],
    ] {
        let (code, out, err) = run(args, b"would be echoed\n");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}");
        assert!(!err.is_empty());
    }
}

#[test]
fn fail_closed_when_the_window_cannot_fit() {
    let (code, out, err) = run(&["--max-buffer", "64KiB"], b"some input\n");
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("raise --max-buffer"), "{err}");
}
