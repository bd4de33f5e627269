//! `hush mcp --policy`: the policy as the guard and as the server's sandbox, with the fake
//! server and with real servers from the package registries driven by real clients: the official
//! MCP Python SDK (`tests/data/mcp/sdk_calls.py`) and the MCP Inspector's CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::mcp::{call, converse, denied_text, feed, py, python, review, server, DENIED};
use crate::util::{assert_hidden, available, fake_token};

/// Where `.ci/run` installs `@modelcontextprotocol/server-filesystem` and
/// `@modelcontextprotocol/inspector`.
fn npm_prefix() -> PathBuf {
    std::env::var_os("HUSH_TEST_NPM_PREFIX")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("hush-ci-npm"))
}

fn example_policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mcp-filesystem.toml")
}

/// A policy for the fake server: the interpreter and the test data in the sandbox, `echo` and
/// `read_file` allowed, `leak` denied, nothing else.
fn fake_policy(dir: &Path, with_command_rule: bool) -> PathBuf {
    let mut fs = vec!["/usr/**".to_string(), "/lib/**".into(), "/lib64/**".into()];
    for pair in python().1.chunks(2) {
        fs.push(format!("{}/**", pair[1]));
    }
    let commands = if with_command_rule {
        "[[commands]]\nid = \"fake\"\nprogram = \"python*\"\n"
    } else {
        ""
    };
    let text = format!(
        r#"
[[filesystem]]
id = "runtime"
paths = {fs:?}
rights = ["read", "execute"]

{commands}
[[mcp]]
id = "fake-tools"
server = "fake"
tool = "{{echo,read_file}}"

[[mcp]]
id = "no-leak"
server = "fake"
tool = "leak"
effect = "deny"
"#
    );
    let path = dir.join(if with_command_rule {
        "fake.toml"
    } else {
        "fake-no-command.toml"
    });
    std::fs::write(&path, text).unwrap();
    path
}

fn hush_mcp_policy(trust: &Path, policy: &Path, args: &[&str], server_args: &[&str]) -> Command {
    let mut flags: Vec<&std::ffi::OsStr> = vec!["--policy".as_ref(), policy.as_os_str()];
    flags.extend(["--server-name", "fake"].map(std::ffi::OsStr::new));
    flags.extend(args.iter().map(std::ffi::OsStr::new));
    crate::mcp::guarding_fake(trust, &flags, server_args)
}

fn tool_names(reply: &Value) -> Vec<String> {
    reply["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn mcp_policy_decides_calls_and_hides_what_it_never_allows() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let audit = dir.path().join("audit.jsonl");
    let policy = fake_policy(dir.path(), true);
    let list = |id: u64| json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}).to_string();
    // Like a real client, each request waits for its answer.
    let run = converse(
        hush_mcp_policy(
            &trust,
            &policy,
            &["--audit-log", audit.to_str().unwrap()],
            &["--rug-pull"],
        ),
        &[
            list(1),
            call(2, "echo", json!({"text": "hi"})),
            call(3, "leak", json!({})),
            call(4, "delete_file", json!({"path": "notes.txt"})),
            list(5),
            call(6, "echo", json!({"text": "hi"})),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // delete_file has no rule and leak is denied: neither is listed.
    assert_eq!(tool_names(&run.reply(json!(1))), ["read_file", "echo"]);
    assert_eq!(run.reply(json!(2))["result"]["isError"], json!(false));
    assert_eq!(denied_text(&run.reply(json!(3))), DENIED);
    assert_eq!(denied_text(&run.reply(json!(4))), DENIED);
    // The second listing changed echo's definition: untrusted again, so the policy's allow
    // becomes a confirmation, and with no terminal a denial.
    assert_eq!(denied_text(&run.reply(json!(6))), DENIED);
    assert!(
        run.stderr
            .contains("the definition of tool `echo` changed (session)"),
        "{}",
        run.stderr
    );
    let calls: Vec<(String, String)> = review(&audit)["review"]["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["target"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                c["effect"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        (format!("{} --rug-pull", server().display()), "allow"),
        ("echo".into(), "allow"),
        ("leak".into(), "deny"),
        ("delete_file".into(), "deny"),
        ("echo".into(), "confirm"),
    ];
    let want: Vec<(String, String)> = want
        .into_iter()
        .map(|(a, b)| (a.rsplit('/').next().unwrap().to_string(), b.to_string()))
        .collect();
    assert_eq!(calls, want);
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains(r#""rules":["no-leak"]"#), "{log}");
}

#[test]
fn mcp_refuses_a_server_command_the_policy_does_not_allow() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let audit = dir.path().join("audit.jsonl");
    let policy = fake_policy(dir.path(), false);
    let run = feed(
        hush_mcp_policy(
            &trust,
            &policy,
            &["--audit-log", audit.to_str().unwrap()],
            &[],
        ),
        &[],
    );
    assert_eq!(run.code, 126, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("is denied by the policy: allow it with a `[[commands]]` rule"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    let r = review(&audit);
    assert_eq!(r["review"]["calls"][0]["effect"], json!("deny"));
}

#[test]
fn mcp_runs_a_sandboxed_server_at_strict_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let audit = dir.path().join("audit.jsonl");
    let policy = fake_policy(dir.path(), true);
    let cmd = vec![py(), server().display().to_string()];
    let id = hush_mcp::server_id(&cmd);
    let file = json!({"version": 1, "servers": {id: {"command": cmd, "level": "sandboxed", "updated": 1}}});
    std::fs::write(&trust, file.to_string()).unwrap();
    // Asking for less and for no namespaces changes nothing for a `sandboxed` server.
    let run = feed(
        hush_mcp_policy(
            &trust,
            &policy,
            &[
                "--require-sandbox",
                "basic",
                "--no-namespaces",
                "--audit-log",
                audit.to_str().unwrap(),
            ],
            &[],
        ),
        &[call(1, "echo", json!({}))],
    );
    let log = std::fs::read_to_string(&audit).unwrap();
    if run.code == 126 {
        // The machine cannot reach strict: refused, and the log says why.
        assert!(run.stderr.contains("sandbox"), "{}", run.stderr);
        assert!(log.contains("the server did not start"), "{log}");
        return;
    }
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.reply(json!(1))["result"]["isError"], json!(false));
    let levels = review(&audit)["review"]["enforcement"].clone();
    let levels: Vec<&String> = levels.as_object().unwrap().keys().collect();
    assert!(
        levels.iter().all(|l| *l == "strict" || *l == "isolated") && !levels.is_empty(),
        "{levels:?}"
    );
    // Namespaces were entered despite --no-namespaces, when the machine has them.
    assert!(log.contains(r#""kind":"enforcement""#), "{log}");
}

/// `@modelcontextprotocol/server-filesystem` (npm) on a project directory, under the example
/// policy: `notes.txt` to read, `config.txt` holding a generated fake token, and `../outside`.
struct FsServer {
    _dir: tempfile::TempDir,
    base: PathBuf,
    project: PathBuf,
    script: PathBuf,
    policy: PathBuf,
    audit: PathBuf,
    token: String,
}

impl FsServer {
    /// `None` (skipped, or a failure under CI) when the server or `extra` is not installed.
    fn new(test: &str, extra: (&mut Command, &str)) -> Option<FsServer> {
        let script =
            npm_prefix().join("node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
        if !available(
            Command::new("test").arg("-f").arg(&script),
            test,
            "npm install --prefix \"$TMPDIR/hush-ci-npm\" @modelcontextprotocol/server-filesystem",
        ) || !available(
            Command::new("node").arg("--version"),
            test,
            "apt-get install nodejs",
        ) || !available(extra.0, test, extra.1)
        {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let project = base.join("project");
        std::fs::create_dir(&project).unwrap();
        std::fs::create_dir(base.join("outside")).unwrap();
        std::fs::write(project.join("notes.txt"), "hello from the project\n").unwrap();
        let token = fake_token(0x6d63_7066);
        std::fs::write(project.join("config.txt"), format!("token={token}\n")).unwrap();
        std::fs::write(base.join("outside/secret.txt"), "not yours\n").unwrap();
        // The example policy, plus where the test installed the server.
        let policy = base.join("policy.toml");
        std::fs::write(
            &policy,
            format!(
                "extends = [{:?}]\n\n[[filesystem]]\nid = \"server-code\"\npaths = [{:?}]\nrights = [\"read\", \"execute\"]\n",
                example_policy().display().to_string(),
                format!("{}/**", npm_prefix().canonicalize().unwrap().display()),
            ),
        )
        .unwrap();
        Some(FsServer {
            audit: base.join("audit.jsonl"),
            _dir: dir,
            base,
            project,
            script,
            policy,
            token,
        })
    }

    /// `hush mcp` and its arguments, guarding the server.
    fn guarded(&self) -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec![env!("CARGO_BIN_EXE_hush").into(), "mcp".into()];
        for (flag, value) in [
            ("--trust-file", self.base.join("trust.json")),
            ("--policy", self.policy.clone()),
            ("--audit-log", self.audit.clone()),
        ] {
            v.push(flag.into());
            v.push(value.into());
        }
        v.extend(["--".into(), "node".into(), self.script.clone().into()]);
        v.push(self.project.clone().into());
        v
    }

    fn path(&self, rel: &str) -> String {
        self.project.join(rel).display().to_string()
    }

    /// The tool calls in `hush audit review`, after the server command's own decision.
    fn reviewed_calls(&self) -> (Vec<(String, String)>, Value) {
        let r = review(&self.audit)["review"].clone();
        let calls = r["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["target"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("filesystem/"))
            })
            .map(|c| {
                (
                    c["target"].as_str().unwrap().to_string(),
                    c["effect"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (calls, r)
    }
}

/// The filesystem server under the example policy, driven by the official Python SDK client: a
/// read inside the project works, a traversal outside it is denied, a file holding a
/// (generated) API key comes back redacted, a tool the policy denies is hidden, a write asks
/// (no terminal: denied), and every call is in `hush audit review`.
#[test]
fn mcp_filesystem_server_end_to_end() {
    let test = "the filesystem server test";
    let Some(fx) = FsServer::new(
        test,
        (
            Command::new("python3").args(["-c", "import mcp"]),
            "python3 -m pip install mcp",
        ),
    ) else {
        return;
    };
    let calls = json!([
        ["read_text_file", {"path": fx.path("notes.txt")}],
        ["read_text_file", {"path": fx.path("../outside/secret.txt")}],
        ["read_text_file", {"path": fx.path("config.txt")}],
        ["write_file", {"path": fx.path("new.txt"), "content": "x"}],
    ]);
    let out = Command::new("setsid")
        .arg("-w")
        .arg("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mcp/sdk_calls.py"))
        .arg(calls.to_string())
        .arg("--")
        .args(fx.guarded())
        .current_dir(&fx.project)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tools: Vec<&str> = got["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(tools.contains(&"read_text_file"), "{tools:?}");
    // Denied by the policy (`fs-move`), and without any rule: hidden.
    assert!(!tools.contains(&"move_file"), "{tools:?}");
    assert!(!tools.contains(&"read_multiple_files"), "{tools:?}");
    let results = &got["calls"];
    assert_eq!(
        results[0],
        json!({"isError": false, "text": "hello from the project\n"})
    );
    assert_eq!(results[1], json!({"isError": true, "text": DENIED}));
    assert_eq!(results[2]["isError"], json!(false));
    let text = results[2]["text"].as_str().unwrap();
    assert_eq!(text, "token=[REDACTED:hush.github.pat]\n");
    assert_eq!(results[3], json!({"isError": true, "text": DENIED}));
    assert!(!fx.project.join("new.txt").exists());
    assert_hidden(&stderr, &fx.token[4..], "stderr");

    let (calls, r) = fx.reviewed_calls();
    let want = [
        ("filesystem/read_text_file", "allow"),
        ("filesystem/read_text_file", "deny"),
        ("filesystem/read_text_file", "allow"),
        ("filesystem/write_file", "confirm"),
    ]
    .map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(calls, want);
    assert_eq!(r["calls"][4]["answer"], json!("no-terminal"));
    assert!(r["redactions"].as_u64().unwrap() >= 1, "{r}");
    let log = std::fs::read_to_string(&fx.audit).unwrap();
    assert!(!log.contains(&fx.token[4..]));
    assert!(log.contains(r#""server":"filesystem""#), "{log}");
}

/// The same server driven by the MCP Inspector's CLI (`@modelcontextprotocol/inspector
/// --cli`), one session per call as a user would run it: the listing hides what the policy
/// never allows, a read works, a traversal is denied, the fake key comes back redacted (in
/// `content` and `structuredContent`), and `hush audit review` has every call of the four
/// sessions.
#[test]
fn mcp_filesystem_server_through_the_inspector_cli() {
    let test = "the MCP Inspector test";
    let inspector = npm_prefix().join("node_modules/.bin/mcp-inspector");
    let Some(fx) = FsServer::new(
        test,
        (
            Command::new("test").arg("-x").arg(&inspector),
            "npm install --prefix \"$TMPDIR/hush-ci-npm\" @modelcontextprotocol/inspector",
        ),
    ) else {
        return;
    };
    // The inspector appends its own options to a server's arguments, so hush's `--` goes in a
    // launcher script, as it would in a client that cannot pass one.
    let launcher = fx.base.join("guarded-filesystem.sh");
    let quoted: Vec<String> = fx
        .guarded()
        .iter()
        .map(|a| format!("'{}'", a.to_str().unwrap()))
        .collect();
    std::fs::write(&launcher, format!("#!/bin/sh\nexec {}\n", quoted.join(" "))).unwrap();
    std::fs::set_permissions(
        &launcher,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .unwrap();
    let inspect = |method: &[&str]| -> Value {
        let out = Command::new("setsid")
            .arg("-w")
            .arg(&inspector)
            .arg("--cli")
            .arg(&launcher)
            .args(method)
            .current_dir(&fx.project)
            .output()
            .unwrap();
        // What failures print, with the fake key masked.
        let masked = |b: &[u8]| String::from_utf8_lossy(b).replace(&fx.token[4..], "<SECRET>");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{method:?}: {}{}",
            masked(&out.stdout),
            masked(&out.stderr)
        );
        assert_hidden(&stderr, &fx.token[4..], "stderr");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{method:?}: {e}: {}", masked(&out.stdout)))
    };
    let call = |path: &str| {
        let arg = format!("path={}", fx.path(path));
        inspect(&[
            "--method",
            "tools/call",
            "--tool-name",
            "read_text_file",
            "--tool-arg",
            &arg,
        ])
    };
    let listed = inspect(&["--method", "tools/list"]);
    let tools: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(tools.contains(&"read_text_file"), "{tools:?}");
    assert!(!tools.contains(&"move_file"), "{tools:?}");
    assert!(!tools.contains(&"read_multiple_files"), "{tools:?}");
    let read = call("notes.txt");
    assert_eq!(
        read["content"][0]["text"],
        json!("hello from the project\n")
    );
    assert_ne!(read["isError"], json!(true));
    let traversal = call("../outside/secret.txt");
    assert_eq!(traversal["isError"], json!(true));
    assert_eq!(traversal["content"][0]["text"], json!(DENIED));
    let key = call("config.txt");
    let text = key.to_string();
    assert_hidden(&text, &fx.token[4..], "the result");
    assert_eq!(
        key["content"][0]["text"],
        json!("token=[REDACTED:hush.github.pat]\n")
    );
    if let Some(structured) = key.get("structuredContent") {
        assert_eq!(
            structured["content"],
            json!("token=[REDACTED:hush.github.pat]\n")
        );
    }

    let (calls, r) = fx.reviewed_calls();
    let want = [
        ("filesystem/read_text_file", "allow"),
        ("filesystem/read_text_file", "deny"),
        ("filesystem/read_text_file", "allow"),
    ]
    .map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(calls, want, "{r}");
    assert!(r["redactions"].as_u64().unwrap() >= 1, "{r}");
    let log = std::fs::read_to_string(&fx.audit).unwrap();
    assert!(!log.contains(&fx.token[4..]));
}

/// The README's sample policy loads and its own tests pass.
#[test]
fn the_example_mcp_policy_loads_and_passes_its_tests() {
    let out = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["policy", "check"])
        .arg(example_policy())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("5 tests, 0 failed"), "{stdout}");
}

/// `--watch-policy`: an edit applies to the next calls of the running session, and is audited.
#[test]
fn mcp_reloads_an_edited_policy_mid_session() {
    use std::io::{BufRead, Write};
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    let audit = dir.path().join("audit.jsonl");
    let policy = fake_policy(dir.path(), true);
    let mut child = crate::mcp::spawn(hush_mcp_policy(
        &trust,
        &policy,
        &["--watch-policy", "--audit-log", audit.to_str().unwrap()],
        &[],
    ));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut ask = |id: u64| -> Value {
        writeln!(stdin, "{}", call(id, "echo", json!({"text": "hi"}))).unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(ask(1)["result"]["isError"], json!(false));
    // Deny echo from now on.
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(
        &policy,
        format!("{text}\n[[mcp]]\nid = \"no-echo\"\nserver = \"fake\"\ntool = \"echo\"\neffect = \"deny\"\n"),
    )
    .unwrap();
    let mut denied = false;
    for id in 2..40 {
        if ask(id)["result"]["isError"] == json!(true) {
            denied = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(denied, "{}", String::from_utf8_lossy(&out.stderr));
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("policy reloaded (generation 2)"), "{log}");
    assert!(log.contains(r#""rules":["no-echo","#), "{log}");
}

/// A secret the policy grants the server comes from the vault, reaches the server, and never
/// comes back: not in results, not in its stderr, not in the audit log.
#[test]
fn mcp_gives_the_server_its_vault_secret_and_redacts_it() {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    let passfile = dir.path().join("pass");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&passfile)
        .unwrap();
    f.write_all(b"a passphrase for the test vault\n").unwrap();
    drop(f);
    // Generated at run time, never a literal credential.
    let value = format!(
        "vault-held-{:016x}",
        std::process::id() as u64 * 0x9e37_79b9
    );
    let hush_vault = |args: &[&str], input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hush"))
            .arg("vault")
            .args(args)
            .arg("--vault")
            .arg(&vault)
            .env("HUSH_VAULT_PASSPHRASE_FILE", &passfile)
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    hush_vault(
        &["init", "--passphrase-fd", "0"],
        "a passphrase for the test vault\n",
    );
    hush_vault(
        &["set", "fake-secret", "--from-stdin"],
        &format!("{value}\n"),
    );

    // The fake policy, with `leak` allowed and the secret granted to the server.
    let policy = fake_policy(dir.path(), true);
    let text = std::fs::read_to_string(&policy)
        .unwrap()
        .replace("effect = \"deny\"", "effect = \"allow\"");
    std::fs::write(
        &policy,
        format!("{text}\n[[secrets]]\nname = \"fake-secret\"\nenv = \"FAKE_SECRET\"\nprograms = [\"python*\"]\n"),
    )
    .unwrap();
    let trust = dir.path().join("trust.json");
    let audit = dir.path().join("audit.jsonl");
    let mut cmd = hush_mcp_policy(
        &trust,
        &policy,
        &[
            "--vault",
            vault.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ],
        &[],
    );
    cmd.env("HUSH_VAULT_PASSPHRASE_FILE", &passfile);
    let run = feed(cmd, &[call(1, "leak", json!({}))]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reply = run.reply(json!(1));
    assert_eq!(
        reply["result"]["content"][0]["text"],
        json!("config: token=[REDACTED:hush.known-value]\nbye")
    );
    assert!(!String::from_utf8_lossy(&run.stdout).contains(&value));
    // The server printed it to stderr at start: redacted there too.
    assert_hidden(&run.stderr, &value, "stderr");
    assert!(
        run.stderr
            .contains("fake server starting with token [REDACTED:hush.known-value]"),
        "{}",
        run.stderr
    );
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(!log.contains(&value));
    let r = review(&audit);
    assert_eq!(r["review"]["secrets"], json!({"fake-secret": 1}), "{r}");
}
