//! `hush cap` end to end, and capability tokens on `hush mcp` tool calls (against the fake MCP
//! server of `tests/data/mcp`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::mcp::{call, denied_text, feed, hush_mcp, DENIED};
use crate::util::hush;

/// Runs `c` with `stdin` piped in; (code, stdout, stderr).
fn pipe(mut c: Command, stdin: &str) -> (i32, String, String) {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hush");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `hush cap ARGS --store STORE [--audit-log LOG]` with `stdin` piped in.
fn cap(store: &Path, audit: Option<&Path>, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut c = hush();
    c.arg("cap").args(args).arg("--store").arg(store);
    if let Some(a) = audit {
        c.arg("--audit-log").arg(a);
    }
    pipe(c, stdin)
}

fn ok(r: (i32, String, String)) -> String {
    assert_eq!(r.0, 0, "stdout: {}\nstderr: {}", r.1, r.2);
    r.1
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
fn cap_request_delegate_validate_revoke_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let log = dir.path().join("audit.jsonl");
    let audit = Some(log.as_path());
    let parent = ok(cap(
        &store,
        audit,
        &[
            "request",
            "--agent",
            "planner",
            "--grant",
            "read,write path:/srv/p",
            "--grant",
            "call tool:fs/*",
            "--ttl",
            "1h",
            "--max-depth",
            "2",
        ],
        "",
    ));
    assert!(parent.starts_with("hushcap1."), "{parent}");
    // Delegation through stdin, asking for more than the parent has: the overlap only.
    let child = json_of(&ok(cap(
        &store,
        audit,
        &[
            "delegate",
            "--agent",
            "helper",
            "--grant",
            "read,exec path:/srv",
            "--ttl",
            "9h",
            "--max-depth",
            "5",
            "--json",
        ],
        &parent,
    )));
    assert_eq!(child["grants"], json!(["read path:/srv/p"]));
    assert_eq!(child["max_depth"], json!(1));
    let child_token = child["token"].as_str().unwrap().to_string();
    let validate = |op: &str, res: &str| {
        cap(
            &store,
            audit,
            &["validate", "--op", op, "--resource", res],
            &child_token,
        )
    };
    let (code, out, _) = validate("read", "/srv/p/a.txt");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("allowed: token "), "{out}");
    let (code, out, _) = validate("write", "/srv/p/a.txt");
    assert_eq!(code, 1);
    assert!(
        out.contains("does not allow `write` on `path:/srv/p/a.txt`"),
        "{out}"
    );
    assert_eq!(validate("read", "/srv/p/../../etc/passwd").0, 2);
    // Revoking the parent (given as a token on stdin) revokes the child.
    let out = ok(cap(&store, audit, &["revoke", "-"], &parent));
    assert!(
        out.contains(&format!(
            "and derived token {}",
            child["id"].as_str().unwrap()
        )),
        "{out}"
    );
    let (code, out, _) = validate("read", "/srv/p/a.txt");
    assert_eq!(code, 1);
    assert!(out.contains("is revoked"), "{out}");
    let list: Vec<Value> = ok(cap(&store, None, &["list", "--json"], ""))
        .lines()
        .map(json_of)
        .collect();
    let status: Vec<&str> = list.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(status, vec!["revoked", "revoked-ancestor"]);
    assert_eq!(list[1]["parent"], list[0]["id"]);
    // The audit log holds every event, verifies, and never a token.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(&parent[10..40]) && !text.contains(&child_token[10..40]));
    let actions: Vec<String> = text
        .lines()
        .map(json_of)
        .filter(|r| r["event"]["kind"] == "capability")
        .map(|r| r["event"]["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        vec![
            "requested",
            "granted",
            "delegated",
            "validated",
            "validation-failed",
            "revoked",
            "validation-failed"
        ]
    );
    let (code, out, err) = crate::util::run(hush().args(["audit", "verify"]).arg(&log));
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn cap_store_is_private_and_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let t = ok(cap(
        &store,
        None,
        &["request", "--agent", "a", "--grant", "read path:/x"],
        "",
    ));
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store), 0o700);
    assert_eq!(mode(&store.join("key")), 0o600);
    assert_eq!(mode(&store.join("capabilities.json")), 0o600);
    // Another process, same store: the token verifies (same key).
    assert_eq!(
        cap(
            &store,
            None,
            &["validate", "--op", "read", "--resource", "/x/y"],
            &t
        )
        .0,
        0
    );
    // Another store: another key.
    let other = dir.path().join("other");
    let (code, out, _) = cap(
        &other,
        None,
        &["validate", "--op", "read", "--resource", "/x"],
        &t,
    );
    assert_eq!(code, 1);
    assert!(out.contains("bad signature"), "{out}");
    std::fs::set_permissions(store.join("key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = cap(&store, None, &["list"], "");
    assert_eq!(code, 2);
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn cap_plan_ceiling_and_revoke_agent() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(
        store.join("ceiling.toml"),
        "max_ttl_secs = 7200\nagents = [\"bot\"]\ngrants = [\"read,write path:/srv\", \"call tool:fs/*\"]\n",
    )
    .unwrap();
    let (code, _, err) = cap(
        &store,
        None,
        &["request", "--agent", "bot", "--grant", "exec path:/srv"],
        "",
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("request denied: `exec path:/srv` is outside the ceiling"),
        "{err}"
    );
    let (code, _, err) = cap(
        &store,
        None,
        &["request", "--agent", "eve", "--grant", "read path:/srv"],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("agent `eve` may not ask"), "{err}");
    let plan = json_of(&ok(cap(
        &store,
        None,
        &[
            "plan",
            "--agent",
            "bot",
            "--step",
            "read /srv/a.txt",
            "--step",
            "call tool:fs/read_file",
            "--ttl",
            "10m",
        ],
        "",
    )));
    let steps = plan["steps"].as_array().unwrap();
    assert_eq!(steps[0]["step"], json!("read path:/srv/a.txt"));
    let t0 = steps[0]["token"].as_str().unwrap();
    let v = |t: &str, op: &str, r: &str| {
        cap(&store, None, &["validate", "--op", op, "--resource", r], t).0
    };
    assert_eq!(v(t0, "read", "/srv/a.txt"), 0);
    assert_eq!(v(t0, "read", "/srv/b.txt"), 1);
    assert_eq!(v(t0, "call", "tool:fs/read_file"), 1);
    let t1 = steps[1]["token"].as_str().unwrap();
    assert_eq!(v(t1, "call", "tool:fs/read_file"), 0);
    let out = ok(cap(&store, None, &["revoke-agent", "bot"], ""));
    assert!(out.contains("(3 recorded)"), "{out}");
    assert_eq!(v(t1, "call", "tool:fs/read_file"), 1);
}

/// A token from `store` for `grants`.
fn token(store: &Path, grants: &[&str]) -> String {
    let mut args = vec!["request", "--agent", "claude"];
    for g in grants {
        args.extend(["--grant", g]);
    }
    ok(cap(store, None, &args, "")).trim().to_string()
}

fn with_token(id: u64, tool: &str, args: Value, token: Option<&str>) -> String {
    let mut v: Value = serde_json::from_str(&call(id, tool, args)).unwrap();
    if let Some(t) = token {
        v["params"]["_meta"] = json!({"hush/capability": t, "progressToken": id});
    }
    v.to_string()
}

#[test]
fn mcp_checks_capability_tokens_on_tool_calls() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("caps");
    let root = dir.path().join("project");
    std::fs::create_dir(&root).unwrap();
    let inside = root.join("a.txt");
    let outside = dir.path().join("b.txt");
    // The fake server is `python3 …/fake_server.py`: its name in patterns is `fake_server`.
    let good = token(
        &store,
        &[
            &format!("call path:{}", root.display()),
            "call tool:fake_server/read_file",
        ],
    );
    let other_tool = token(&store, &["call path:/", "call tool:fake_server/echo"]);
    let revoked = token(&store, &["call path:/", "call tool:fake_server/*"]);
    ok(cap(&store, None, &["revoke", "-"], &revoked));
    let trust = dir.path().join("trust.json");
    let audit = dir.path().join("mcp-audit.jsonl");
    let input = vec![
        with_token(1, "read_file", json!({"path": inside}), Some(&good)),
        // Before the denials below: a burst of denials raises the risk of later calls.
        with_token(7, "echo", json!({"text": "hi"}), Some(&other_tool)),
        with_token(2, "read_file", json!({"path": inside}), None),
        with_token(3, "read_file", json!({"path": outside}), Some(&good)),
        with_token(4, "read_file", json!({"path": inside}), Some(&other_tool)),
        with_token(5, "read_file", json!({"path": inside}), Some(&revoked)),
        with_token(
            6,
            "read_file",
            json!({"path": inside}),
            Some("hushcap1.forged"),
        ),
    ];
    let run = feed(
        hush_mcp(
            &trust,
            &[
                "--require-capability",
                "--capability-store",
                store.to_str().unwrap(),
                "--audit-log",
                audit.to_str().unwrap(),
            ],
            &[],
        ),
        &input,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = |id: u64| run.reply(json!(id))["result"]["content"][0]["text"].clone();
    assert_eq!(
        result(1),
        json!(format!("contents of {}", inside.display()))
    );
    for id in 2..=6 {
        assert_eq!(denied_text(&run.reply(json!(id))), DENIED, "call {id}");
    }
    assert_eq!(result(7), json!(r#"{"text": "hi"}"#));
    // The server saw calls 1 and 7 only, without the tokens but with the rest of `_meta`.
    let received = run.received();
    let calls: Vec<Value> = received
        .iter()
        .map(|l| json_of(l))
        .filter(|m| m["method"] == "tools/call")
        .collect();
    assert_eq!(calls.len(), 2, "{received:?}");
    assert_eq!(calls[0]["params"]["_meta"], json!({"progressToken": 1}));
    for l in &received {
        assert!(
            !l.contains("hushcap1") && !l.contains("hush/capability"),
            "{l}"
        );
    }
    assert!(
        run.stderr
            .contains("denied `read_file` (risk high: capability at /_meta/hush~1capability)"),
        "{}",
        run.stderr
    );
    // The audit says why; it never holds a token.
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(!log.contains("hushcap1."), "{log}");
    let caps: Vec<Value> = log
        .lines()
        .map(|l| json_of(l)["event"].clone())
        .filter(|e| e["kind"] == "capability")
        .collect();
    let details: Vec<(bool, String)> = caps
        .iter()
        .map(|e| {
            (
                e["action"] == "validated",
                e["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(details.len(), 7, "{details:?}");
    assert!(details[0].0 && details[1].0);
    let want = [
        "required",
        "does not allow `call` on `path:",
        "does not allow `call` on `tool:fake_server/read_file`",
        "is revoked",
        "malformed token",
    ];
    for (d, w) in details[2..].iter().zip(want) {
        assert!(!d.0 && d.1.contains(w), "{details:?}");
    }
    assert_eq!(caps[0]["agent"], json!("claude"));
}

#[test]
fn mcp_without_required_capability_strips_tokens_and_checks_those_present() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("caps");
    let t = token(&store, &["call tool:fake_server/echo"]);
    let trust = dir.path().join("trust.json");
    let input = vec![
        with_token(1, "echo", json!({"a": 1}), None),
        with_token(2, "echo", json!({"a": 2}), Some(&t)),
        with_token(3, "read_file", json!({"path": "x"}), Some(&t)),
    ];
    let checked = feed(
        hush_mcp(
            &trust,
            &["--capability-store", store.to_str().unwrap()],
            &[],
        ),
        &input,
    );
    assert_eq!(checked.reply(json!(1))["result"]["isError"], json!(false));
    assert_eq!(checked.reply(json!(2))["result"]["isError"], json!(false));
    assert_eq!(denied_text(&checked.reply(json!(3))), DENIED);
    // No capability flags at all: tokens are never forwarded, and decide nothing.
    let plain = feed(hush_mcp(&trust, &[], &[]), &input);
    for id in 1..=3 {
        assert_eq!(
            plain.reply(json!(id))["result"]["isError"],
            json!(false),
            "{id}"
        );
    }
    assert!(!plain.received().iter().any(|l| l.contains("hushcap1")));
}

#[test]
fn cap_rejects_tokens_in_bad_shape_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let junk = "hushcap1.AAAAsecretish-bytes";
    let (code, out, err) = cap(
        &store,
        None,
        &["validate", "--op", "read", "--resource", "/x"],
        junk,
    );
    assert_eq!(code, 1);
    assert!(out.contains("malformed token"), "{out}");
    assert!(!out.contains("secretish") && !err.contains("secretish"));
    let (code, _, err) = cap(&store, None, &["revoke", "nothex"], "");
    assert_eq!(code, 2);
    assert!(err.contains("is not a link id"), "{err}");
}

#[test]
fn hush_finds_its_own_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let t = token(&dir.path().join("store"), &["read path:/srv"]);
    let mut c = hush();
    c.args(["scan", "-", "--format", "jsonl", "--no-progress"]);
    let (code, out, _) = pipe(c, &format!("export AGENT_CAP={t}\n"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("hush.hush.capability-token"), "{out}");
    assert!(
        !out.contains(&t[20..]),
        "the report must not hold the token"
    );
}
