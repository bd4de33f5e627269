//! `hush mcp` and `hush trust` end to end: the real `hush` binary in front of a fake MCP server
//! (`tests/data/mcp/fake_server.py`). Every run is in a new session (`setsid -w`), so there is
//! no controlling terminal and a confirmation is a denial, whatever terminal runs the tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::util::{assert_hidden, available, fake_token};

pub(crate) const DENIED: &str = "hush: this tool call was denied by the user's security policy.";

pub(crate) fn server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mcp/fake_server.py")
}

/// The Python interpreter behind `python3` (not a shim: the server runs it in the sandbox) and
/// the `hush mcp` flags that let it run there: execute its prefixes, read the test servers.
pub(crate) fn python() -> &'static (String, Vec<String>) {
    static PYTHON: std::sync::OnceLock<(String, Vec<String>)> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys; print(sys.executable); print(sys.prefix); print(sys.base_prefix)",
            ])
            .output()
            .expect("python3 runs");
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut flags = Vec::new();
        for prefix in &lines[1..] {
            flags.extend(["--allow-exec".to_string(), prefix.to_string()]);
        }
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mcp");
        flags.extend(["--allow-read".to_string(), data.display().to_string()]);
        (lines[0].to_string(), flags)
    })
}

pub(crate) fn py() -> String {
    python().0.clone()
}

pub(crate) struct Run {
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
    pub(crate) code: i32,
}

impl Run {
    /// Output lines parsed as JSON.
    pub(crate) fn messages(&self) -> Vec<Value> {
        self.stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("hush wrote valid JSON"))
            .collect()
    }

    /// The message answering `id`.
    pub(crate) fn reply(&self, id: Value) -> Value {
        self.messages()
            .into_iter()
            .find(|m| m.get("id") == Some(&id))
            .unwrap_or_else(|| {
                panic!(
                    "no reply to {id}: {}",
                    String::from_utf8_lossy(&self.stdout)
                )
            })
    }

    /// The raw lines the server received (the reply to the final `debug/received`).
    pub(crate) fn received(&self) -> Vec<String> {
        let r = self.reply(json!("dbg"));
        r["result"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect()
    }
}

pub(crate) fn spawn(mut cmd: Command) -> std::process::Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// Feeds `input` lines (each gets `\n`) plus a final `debug/received` to `cmd`, closes stdin and
/// waits.
pub(crate) fn feed(cmd: Command, input: &[String]) -> Run {
    let mut child = spawn(cmd);
    let mut stdin = child.stdin.take().unwrap();
    let mut all = String::new();
    for line in input {
        all.push_str(line);
        all.push('\n');
    }
    all.push_str(r#"{"jsonrpc": "2.0", "id": "dbg", "method": "debug/received"}"#);
    all.push('\n');
    stdin.write_all(all.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// `hush mcp ARGS -- python3 fake_server.py SERVER_ARGS` with no controlling terminal, the
/// interpreter's directories allowed in the sandbox.
pub(crate) fn hush_mcp(trust: &Path, args: &[&str], server_args: &[&str]) -> Command {
    let flags: Vec<&str> = python()
        .1
        .iter()
        .map(String::as_str)
        .chain(args.iter().copied())
        .collect();
    guarding_fake(trust, &flags, server_args)
}

/// `hush mcp --trust-file TRUST FLAGS -- python3 fake_server.py SERVER_ARGS` with no controlling
/// terminal.
pub(crate) fn guarding_fake(
    trust: &Path,
    flags: &[impl AsRef<std::ffi::OsStr>],
    server_args: &[&str],
) -> Command {
    let mut c = Command::new("setsid");
    c.arg("-w")
        .arg(env!("CARGO_BIN_EXE_hush"))
        .arg("mcp")
        .arg("--trust-file")
        .arg(trust)
        .args(flags)
        .arg("--")
        .arg(py())
        .arg(server())
        .args(server_args)
        .env_remove("FAKE_SECRET");
    c
}

fn direct(server_args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.arg(server()).args(server_args).env_remove("FAKE_SECRET");
    c
}

pub(crate) fn call(id: u64, tool: &str, args: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}})
        .to_string()
}

pub(crate) fn denied_text(reply: &Value) -> &str {
    assert_eq!(reply["result"]["isError"], json!(true), "{reply}");
    reply["result"]["content"][0]["text"].as_str().unwrap()
}

fn session() -> Vec<String> {
    [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#,
        r#"{ "jsonrpc" : "2.0", "id" : "s-3", "method" : "ping" , "x-extra": [1, 2.50, "é\u00e9"]}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99,"reason":"user"}}"#,
        r#"{"jsonrpc":"2.0","id":4,"method":"vendor/unknown","params":{"z":1,"a":2}}"#,
        r#"[{"jsonrpc":"2.0","id":5,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":0.5}}]"#,
        r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":{"b":1,"a":[true,null]},"_meta":{"progressToken":"p1"}}}"#,
        r#"{"jsonrpc":"2.0","id":7,"result":{"roots":[]}}"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn mcp_passes_everything_through_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let input = session();
    let plain = feed(direct(&[]), &input);
    let guarded = feed(hush_mcp(&trust, &[], &[]), &input);
    assert_eq!(guarded.code, 0, "{}", guarded.stderr);
    // Same bytes out as without hush: initialize, tools/list, ping, the unknown method's error,
    // the batch reply, a progress notification and the tool result.
    assert_eq!(
        String::from_utf8_lossy(&guarded.stdout),
        String::from_utf8_lossy(&plain.stdout)
    );
    // Same bytes in: every client line reached the server unchanged.
    assert_eq!(guarded.received(), plain.received());
    let sent: Vec<String> = input.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(guarded.received(), sent);
    assert_eq!(guarded.messages().len(), 8);
}

#[test]
fn mcp_hides_and_denies_blocked_tools() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let mut input = session();
    input.push(call(10, "delete_file", json!({"path": "notes.txt"})));
    input.push(
        json!([
            {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {"name": "delete_file"}},
            {"jsonrpc": "2.0", "id": 12, "method": "ping"}
        ])
        .to_string(),
    );
    let audit = dir.path().join("audit.jsonl");
    let run = feed(
        hush_mcp(
            &trust,
            &[
                "--block",
                "delete_file",
                "--audit-log",
                audit.to_str().unwrap(),
            ],
            &[],
        ),
        &input,
    );
    let names: Vec<Value> = run.reply(json!(2))["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("read_file"), json!("echo"), json!("leak")]
    );
    // Unknown members of the remaining definitions survive.
    assert_eq!(
        run.reply(json!(2))["result"]["tools"][1]["x-vendor"],
        json!({"kept": true})
    );
    assert_eq!(denied_text(&run.reply(json!(10))), DENIED);
    // In a batch: the denied element is answered by hush, the rest goes on.
    let batch_reply = run
        .messages()
        .into_iter()
        .find(|m| m.is_array() && m[0]["id"] == json!(11))
        .expect("hush's batch answer");
    assert_eq!(denied_text(&batch_reply[0]), DENIED);
    assert!(run
        .messages()
        .iter()
        .any(|m| m.is_array() && m[0]["id"] == json!(12)));
    assert!(
        !run.received().iter().any(|l| l.contains("delete_file")),
        "a denied call reached the server"
    );
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(
        log.contains(r#""kind":"note""#) && log.contains("hidden: delete_file"),
        "{log}"
    );
    // Every call is in the review with its decision: echo (6) allowed, both delete_file denied.
    let calls = review(&audit)["review"]["calls"].clone();
    let got: Vec<(String, String)> = calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["target"].as_str().unwrap().to_string(),
                c["effect"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("fake_server/echo", "allow"),
            ("fake_server/delete_file", "deny"),
            ("fake_server/delete_file", "deny"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

/// `hush audit review --format json` of a log, after checking it verifies.
pub(crate) fn review(log: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["audit", "review", "--format", "json"])
        .arg(log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["integrity"]["ok"], json!(true), "{v}");
    v
}

/// The answers recorded in a log's confirmations.
pub(crate) fn answers(log: &Path) -> Vec<Value> {
    review(log)["review"]["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["effect"] == json!("confirm"))
        .map(|c| c["answer"].clone())
        .collect()
}

#[test]
fn mcp_denies_traversal_outside_the_roots() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("a.txt"), "hello").unwrap();
    let trust = dir.path().join("trust.json");
    let input = vec![
        call(1, "read_file", json!({"path": "../../etc/passwd"})),
        call(
            2,
            "read_file",
            json!({"path": "%2e%2e%2f%2e%2e%2fetc%2fpasswd"}),
        ),
        call(3, "read_file", json!({"path": "%252e%252e%252fetc"})),
        call(4, "read_file", json!({"path": "/etc/passwd"})),
        call(5, "read_file", json!({"path": root.join("a.txt")})),
        call(6, "read_file", json!({"path": "a.txt"})),
        json!({"jsonrpc": "2.0", "id": 7, "method": "resources/read", "params": {"uri": "file:///etc/passwd"}}).to_string(),
        json!({"jsonrpc": "2.0", "id": 8, "method": "resources/read", "params": {"uri": format!("file://{}", root.join("a.txt").display())}}).to_string(),
    ];
    let mut cmd = hush_mcp(&trust, &["--allow-root", root.to_str().unwrap()], &[]);
    cmd.current_dir(&root);
    let run = feed(cmd, &input);
    for id in 1..=4 {
        assert_eq!(denied_text(&run.reply(json!(id))), DENIED, "call {id}");
    }
    assert!(
        run.stderr
            .contains("denied `read_file` (risk critical: path_traversal at /path"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("encoded_traversal at /path"),
        "{}",
        run.stderr
    );
    for id in 5..=6 {
        let r = run.reply(json!(id));
        assert_eq!(r["result"]["isError"], json!(false), "{r}");
    }
    // A resource outside the roots: a JSON-RPC error from hush; inside: the server's answer.
    assert_eq!(run.reply(json!(7))["error"]["code"], json!(-32001));
    assert_eq!(run.reply(json!(8))["error"]["code"], json!(-32601));
    let received = run.received();
    assert_eq!(received.len(), 3, "{received:?}");
}

#[test]
fn mcp_redacts_results_and_server_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let token = fake_token(0x004d_4350);
    let value = "correct-horse-battery-staple-4417";
    let input = vec![
        call(1, "leak", json!({})),
        call(2, "echo", json!({"note": "see the vault"})),
    ];
    // The server runs with an empty environment: FAKE_SECRET reaches it because it is passed
    // (and registered for redaction) with --secret-env.
    let mut cmd = hush_mcp(
        &trust,
        &["--values-from-env", "DB_PASSWORD", "--env", "FAKE_SECRET"],
        &[],
    );
    cmd.env("FAKE_SECRET", &token).env("DB_PASSWORD", value);
    let run = feed(cmd, &input);
    let out = String::from_utf8_lossy(&run.stdout);
    assert_hidden(&out, &token[4..], "the client's output");
    let text = run.reply(json!(1))["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(text, "config: token=[REDACTED:hush.github.pat]\nbye");
    assert_hidden(&run.stderr, &token[4..], "stderr");
    assert!(run
        .stderr
        .contains("fake server starting with token [REDACTED:hush.github.pat]"));

    // A registered value is redacted too, and sending it to a tool is exfiltration: denied.
    let mut cmd = hush_mcp(
        &trust,
        &["--values-from-env", "DB_PASSWORD", "--env", "FAKE_SECRET"],
        &[],
    );
    cmd.env("FAKE_SECRET", value).env("DB_PASSWORD", value);
    let run = feed(
        cmd,
        &[
            call(1, "leak", json!({})),
            call(2, "echo", json!({"x": value})),
        ],
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert_hidden(&out, value, "the client's output");
    assert!(
        out.contains("config: token=[REDACTED:hush.known-value]"),
        "{out}"
    );
    assert_eq!(denied_text(&run.reply(json!(2))), DENIED);
    assert!(
        run.stderr.contains("known_secret at DB_PASSWORD"),
        "{}",
        run.stderr
    );

    // --secret-env passes a value to the server and redacts it everywhere.
    let mut cmd = hush_mcp(&trust, &["--secret-env", "FAKE_SECRET"], &[]);
    cmd.env("FAKE_SECRET", value);
    let run = feed(cmd, &[call(1, "leak", json!({}))]);
    let out = String::from_utf8_lossy(&run.stdout);
    assert_hidden(&out, value, "the client's output");
    assert!(
        out.contains("config: token=[REDACTED:hush.known-value]"),
        "{out}"
    );
    assert_hidden(&run.stderr, value, "stderr");
}

#[test]
fn mcp_untrusts_a_changed_tool_definition() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let list = |id: u64| json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}).to_string();
    // In one session: the second listing changes `echo`; calling it now needs a confirmation,
    // and with no terminal that is a denial.
    // Like a real client, each request waits for its answer.
    let run = converse(
        hush_mcp(&trust, &[], &["--rug-pull"]),
        &[
            list(1),
            call(2, "echo", json!({"a": 1})),
            list(3),
            call(4, "echo", json!({"a": 1})),
        ],
    );
    assert_eq!(run.reply(json!(2))["result"]["isError"], json!(false));
    let listed = run.reply(json!(3));
    assert!(listed["result"]["tools"][2]["description"]
        .as_str()
        .unwrap()
        .contains("id_rsa"));
    assert_eq!(denied_text(&run.reply(json!(4))), DENIED);
    let stderr = &run.stderr;
    assert!(
        stderr.contains("the definition of tool `echo` changed (session)"),
        "{stderr}"
    );

    // Across sessions: a tool trusted for another definition is untrusted again, and the trust
    // file says so.
    let id = hush_mcp::server_id(&[py(), server().display().to_string()]);
    let old = "0".repeat(64);
    let file = json!({"version": 1, "servers": {id.clone(): {
        "command": [py(), server()],
        "tools": {"echo": {"hash": old, "level": "always_allow", "updated": 1}}
    }}});
    std::fs::write(&trust, file.to_string()).unwrap();
    let run = feed(hush_mcp(&trust, &["--confirm", "leak"], &[]), &[list(1)]);
    assert!(
        run.stderr.contains("changed (trust_file)"),
        "{}",
        run.stderr
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&trust).unwrap()).unwrap();
    let entry = &saved["servers"][&id]["tools"]["echo"];
    assert_eq!(entry["hash"], json!(old));
    assert_eq!(entry["changed_to"].as_str().map(str::len), Some(64));
    let out = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["trust", "list", "--trust-file"])
        .arg(&trust)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("tool echo  always_allow  [active, definition changed: untrusted]"),
        "{listing}"
    );
}

#[test]
fn mcp_rate_limits_per_tool() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let input: Vec<String> = (1..=4).map(|i| call(i, "echo", json!({"i": i}))).collect();
    let run = feed(hush_mcp(&trust, &["--rate-limit", "2"], &[]), &input);
    assert_eq!(run.reply(json!(1))["result"]["isError"], json!(false));
    assert_eq!(run.reply(json!(2))["result"]["isError"], json!(false));
    for id in 3..=4 {
        assert_eq!(
            denied_text(&run.reply(json!(id))),
            "hush: rate limit reached for this tool; try again later."
        );
    }
    assert_eq!(run.received().len(), 2);
}

#[test]
fn mcp_confirmation_without_a_terminal_is_a_denial() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let audit = dir.path().join("audit.jsonl");
    let run = feed(
        hush_mcp(
            &trust,
            &["--confirm", "echo", "--audit-log", audit.to_str().unwrap()],
            &[],
        ),
        &[
            call(1, "echo", json!({})),
            call(2, "read_file", json!({"path": "x"})),
        ],
    );
    assert_eq!(denied_text(&run.reply(json!(1))), DENIED);
    assert_eq!(run.reply(json!(2))["result"]["isError"], json!(false));
    assert_eq!(answers(&audit), vec![json!("no-terminal")]);
}

#[test]
fn mcp_answers_malformed_client_lines_itself() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let input = vec![
        "{not json".to_string(),
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"delete_file"}}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":{"x":1},"method":"tools/call","params":{"name":"delete_file"}}"#.to_string(),
    ];
    let run = feed(hush_mcp(&trust, &["--block", "delete_file"], &[]), &input);
    let msgs = run.messages();
    let codes: Vec<Value> = msgs
        .iter()
        .filter(|m| m["id"].is_null())
        .map(|m| m["error"]["code"].clone())
        .collect();
    assert_eq!(codes, vec![json!(-32700), json!(-32700), json!(-32600)]);
    assert_eq!(run.received(), Vec::<String>::new());
}

#[test]
fn mcp_trust_suspend_revoke_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let cmd = vec![py(), server().display().to_string()];
    let id = hush_mcp::server_id(&cmd);
    let file = json!({"version": 1, "servers": {id.clone(): {"command": cmd, "level": "trusted", "updated": 1}}});
    std::fs::write(&trust, file.to_string()).unwrap();
    let hush_trust = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_hush"))
            .arg("trust")
            .args(args)
            .arg("--trust-file")
            .arg(&trust)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = hush_trust(&["list"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&format!("{id}  trusted  [active]  {} ", py())),
        "{out}"
    );
    // Trusted: a medium-risk call goes through.
    let medium = call(1, "echo", json!({"text": "run `make` first"}));
    let run = feed(hush_mcp(&trust, &[], &[]), std::slice::from_ref(&medium));
    assert_eq!(run.reply(json!(1))["result"]["isError"], json!(false));

    let (code, out, _) = hush_trust(&["suspend", &id[..6]]);
    assert_eq!(
        (code, out.trim()),
        (Some(0), format!("server {id}: suspended").as_str())
    );
    let run = feed(
        hush_mcp(&trust, &[], &[]),
        &[call(1, "read_file", json!({"path": "x"}))],
    );
    assert_eq!(denied_text(&run.reply(json!(1))), DENIED);
    let (code, _, _) = hush_trust(&["resume", &id]);
    assert_eq!(code, Some(0));
    let (code, out, _) = hush_trust(&["revoke", &id]);
    assert_eq!(
        (code, out.trim()),
        (Some(0), format!("server {id}: revoked").as_str())
    );
    // Revoked: untrusted again, so the medium-risk call needs a confirmation: denied.
    let run = feed(hush_mcp(&trust, &[], &[]), &[medium]);
    assert_eq!(denied_text(&run.reply(json!(1))), DENIED);
    let (code, _, err) = hush_trust(&["revoke", "ffffffffff"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no single server in the trust file matches `ffffffffff`"),
        "{err}"
    );
}

/// Sends each request and waits for its answer, as a real client does; then stdin is closed.
pub(crate) fn converse(cmd: Command, requests: &[String]) -> Run {
    use std::io::BufRead;
    let mut child = spawn(cmd);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut replies = Vec::new();
    for r in requests {
        writeln!(stdin, "{r}").unwrap();
        stdout.read_until(b'\n', &mut replies).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: replies,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// `hush mcp` with a pseudo-terminal as its controlling terminal, answering `answers`.
fn hush_mcp_tty(trust: &Path, audit: &Path, answers: &str, args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mcp/with_tty.py"))
        .arg(answers)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_hush"))
        .arg("mcp")
        .arg("--trust-file")
        .arg(trust)
        .arg("--audit-log")
        .arg(audit)
        .args(&python().1)
        .args(args)
        .arg("--")
        .arg(py())
        .arg(server())
        .env_remove("FAKE_SECRET");
    c
}

#[test]
fn mcp_confirms_on_the_terminal_with_every_choice() {
    // A medium-risk call on an untrusted server is confirmed; the second identical call shows
    // whether the answer stuck.
    let medium = |id| call(id, "echo", json!({"text": "run `make` first"}));
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    let id = hush_mcp::server_id(&[py(), server().display().to_string()]);
    // (typed answers, allowed calls, questions asked, what the trust file says after)
    let cases: [(&str, [bool; 2], usize, Value); 5] = [
        ("e,e", [true, true], 2, Value::Null),
        ("a", [true, true], 1, json!("always_allow")),
        ("t", [true, true], 1, json!("trusted")),
        ("b", [false, false], 1, json!("blocked")),
        ("c,c", [false, false], 2, Value::Null),
    ];
    for (answers, allowed, asked, stored) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (trust, audit) = (
            dir.path().join("trust.json"),
            dir.path().join("audit.jsonl"),
        );
        let run = converse(
            hush_mcp_tty(&trust, &audit, answers, &["--confirm-timeout", "10"]),
            &[list.clone(), medium(2), medium(3)],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        for (i, want) in allowed.iter().enumerate() {
            let r = run.reply(json!(i + 2));
            assert_eq!(
                r["result"]["isError"],
                json!(!want),
                "{answers}: {r}\n{}",
                run.stderr
            );
        }
        assert_eq!(
            run.stderr
                .matches("── hush mcp: confirm tool call ──")
                .count(),
            asked,
            "{answers}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("tty| tool:      echo"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("tty|   - command_injection (medium) at /text"),
            "{}",
            run.stderr
        );
        let file: Value = std::fs::read(&trust)
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap_or(Value::Null);
        let server = &file["servers"][&id];
        let got = match answers {
            "t" => server["level"].clone(),
            _ => server["tools"]["echo"]["level"].clone(),
        };
        assert_eq!(got, stored, "{answers}: {file}");
        // The audit log holds each answer under its name.
        let names: Vec<Value> = answers
            .split(',')
            .map(|a| match a {
                "e" => json!("once"),
                "a" => json!("always"),
                "t" => json!("trust-server"),
                "b" => json!("block"),
                _ => json!("cancel"),
            })
            .collect();
        assert_eq!(crate::mcp::answers(&audit), names, "{answers}");
    }

    // No answer in time: denied, and the audit says why.
    let dir = tempfile::tempdir().unwrap();
    let (trust, audit) = (
        dir.path().join("trust.json"),
        dir.path().join("audit.jsonl"),
    );
    let run = converse(
        hush_mcp_tty(&trust, &audit, "-", &["--confirm-timeout", "1"]),
        &[medium(2)],
    );
    assert_eq!(denied_text(&run.reply(json!(2))), DENIED);
    assert_eq!(answers(&audit), vec![json!("timeout")]);
}

/// The official MCP Python SDK's client and a real server (`mcp-server-time` from PyPI), through
/// `hush mcp`: the SDK accepts every message hush passes or writes, the blocked tool is hidden
/// and its call comes back as a failed tool call.
#[test]
fn mcp_interoperates_with_the_python_sdk_and_a_real_server() {
    if !available(
        Command::new("python3").args(["-c", "import mcp, mcp_server_time"]),
        "the MCP SDK test",
        "python3 -m pip install mcp-server-time",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("setsid")
        .arg("-w")
        .arg("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mcp/sdk_calls.py"))
        .arg(
            json!([
                ["get_current_time", {"timezone": "UTC"}],
                ["convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Europe/Paris"}],
            ])
            .to_string(),
        )
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_hush"))
        .arg("mcp")
        .arg("--trust-file")
        .arg(dir.path().join("trust.json"))
        .args(&python().1)
        .args(["--block", "convert_time", "--"])
        .arg(py())
        .args(["-m", "mcp_server_time"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["server"], json!("mcp-time"));
    assert_eq!(got["tools"], json!(["get_current_time"]));
    assert_eq!(got["calls"][0]["isError"], json!(false));
    assert!(got["calls"][0]["text"]
        .as_str()
        .unwrap()
        .contains("\"timezone\": \"UTC\""));
    assert_eq!(got["calls"][1], json!({"isError": true, "text": DENIED}));
}
