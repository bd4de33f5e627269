//! `hush scan` end to end, on real git repositories in temporary directories.

use crate::util::{fake_token, findings, run, Repo};

fn scan_json(repo: &Repo, args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let (code, out, err) = run(repo.hush().args(["scan", "--format", "json"]).args(args));
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    (code, findings(&out), err)
}

fn locations(found: &[serde_json::Value]) -> Vec<(String, u64)> {
    found
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn staged_content_is_scanned_not_the_work_tree() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit_all("init");
    let secret = fake_token(1);
    repo.write(
        "app/config.py",
        format!("# config\nDEBUG = True\nTOKEN = \"{secret}\"\n"),
    );
    repo.git(&["add", "app/config.py"]);
    // The work tree no longer has the secret; the index still does.
    repo.write(
        "app/config.py",
        "# config\nDEBUG = True\nTOKEN = os.environ['TOKEN']\n",
    );
    // A secret that is not staged must not be reported.
    repo.write("notes.txt", format!("scratch {}\n", fake_token(2)));
    let (code, found, _) = scan_json(&repo, &["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(locations(&found), vec![("app/config.py".to_string(), 3)]);
    assert_eq!(found[0]["rule_id"], "hush.github.pat");
    // Masked by default.
    assert!(!found[0]["secret"]
        .as_str()
        .unwrap_or("")
        .contains(&secret[8..]));
    assert!(!found[0]["context"]
        .as_str()
        .unwrap_or("")
        .contains(&secret[8..]));
}

#[test]
fn staged_reports_only_lines_the_commit_adds() {
    let repo = Repo::new();
    let old = fake_token(3);
    repo.write("settings.py", format!("A = 1\nOLD = \"{old}\"\n"));
    repo.commit_all("old secret, accepted long ago");
    let new = fake_token(4);
    repo.write(
        "settings.py",
        format!("A = 1\nOLD = \"{old}\"\nB = 2\nNEW = \"{new}\"\n"),
    );
    repo.git(&["add", "settings.py"]);
    let (code, found, _) = scan_json(&repo, &["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(locations(&found), vec![("settings.py".to_string(), 4)]);
}

#[test]
fn staged_with_nothing_staged_is_clean_and_outside_git_is_an_error() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit_all("init");
    let (code, found, _) = scan_json(&repo, &["--staged"]);
    assert_eq!((code, found.len()), (0, 0));
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = run(crate::util::hush()
        .current_dir(dir.path())
        .env(
            "GIT_CEILING_DIRECTORIES",
            dir.path().parent().expect("parent"),
        )
        .args(["scan", "--staged"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("git"), "{err}");
}

#[test]
fn staged_in_a_repository_without_commits() {
    let repo = Repo::new();
    repo.write("first.env", format!("TOKEN={}\n", fake_token(5)));
    repo.git(&["add", "."]);
    let (code, found, _) = scan_json(&repo, &["--staged"]);
    assert_eq!(code, 1);
    assert_eq!(locations(&found), vec![("first.env".to_string(), 1)]);
}

#[test]
fn history_finds_a_secret_added_then_removed() {
    let repo = Repo::new();
    repo.write("a.txt", "start\n");
    repo.commit_all("init");
    let secret = fake_token(6);
    repo.write(
        "deploy.sh",
        format!("#!/bin/sh\nexport GH_TOKEN={secret}\n"),
    );
    let added = repo.commit_all("add deploy script");
    repo.write(
        "deploy.sh",
        "#!/bin/sh\nexport GH_TOKEN=\"$(vault read gh)\"\n",
    );
    let removed = repo.commit_all("read the token from the vault");
    // The work tree is clean...
    let (code, found, _) = scan_json(&repo, &[]);
    assert_eq!((code, found.len()), (0, 0));
    // ...history is not.
    let (code, found, _) = scan_json(&repo, &["--git"]);
    assert_eq!(code, 1);
    assert_eq!(locations(&found), vec![("deploy.sh".to_string(), 2)]);
    assert_eq!(found[0]["commit"]["id"], added.as_str());
    assert_eq!(found[0]["commit"]["author"], "Test Author");
    assert_eq!(found[0]["commit"]["email"], "author@example.com");
    assert_eq!(found[0]["commit"]["summary"], "add deploy script");
    assert!(found[0]["commit"]["date"]
        .as_str()
        .unwrap_or("")
        .starts_with("2026-01-02"));
    // Ranges and --since-commit.
    let (code, found, _) = scan_json(&repo, &["--git", "--since-commit", &added]);
    assert_eq!((code, found.len()), (0, 0));
    let (_, found, _) = scan_json(&repo, &["--git", &format!("{added}~1..{removed}")]);
    assert_eq!(found.len(), 1);
    // A bad range is an error, not a clean result.
    let (code, _, err) = run(repo.hush().args(["scan", "--git", "no-such-ref..HEAD"]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn history_renamed_files_are_reported_once() {
    let repo = Repo::new();
    let secret = fake_token(7);
    let body: String = (0..20).map(|i| format!("line {i}\n")).collect();
    repo.write("old_name.py", format!("{body}KEY = \"{secret}\"\n"));
    let added = repo.commit_all("add");
    repo.git(&["mv", "old_name.py", "new_name.py"]);
    repo.commit_all("rename");
    let (_, found, _) = scan_json(&repo, &["--git"]);
    assert_eq!(locations(&found), vec![("old_name.py".to_string(), 21)]);
    assert_eq!(found[0]["commit"]["id"], added.as_str());
    // A staged rename adds no line: nothing to report.
    repo.git(&["mv", "new_name.py", "third_name.py"]);
    let (code, found, _) = scan_json(&repo, &["--staged"]);
    assert_eq!((code, found.len()), (0, 0));
    // The path scan sees the file under its new name.
    let (_, found, _) = scan_json(&repo, &["."]);
    assert_eq!(locations(&found), vec![("third_name.py".to_string(), 21)]);
}

#[test]
fn binary_files_are_skipped_everywhere() {
    let repo = Repo::new();
    let mut blob = b"\x89PNG\r\n\x1a\n\0\0\0".to_vec();
    blob.extend_from_slice(fake_token(8).as_bytes());
    repo.write("image.png", &blob);
    repo.write("text.txt", "nothing here\n");
    repo.git(&["add", "."]);
    let (code, found, err) = scan_json(&repo, &["--staged"]);
    assert_eq!((code, found.len()), (0, 0), "{err}");
    repo.commit_all("binary");
    let (code, found, _) = scan_json(&repo, &["--git"]);
    assert_eq!((code, found.len()), (0, 0));
    let (code, found, err) = scan_json(&repo, &["."]);
    assert_eq!((code, found.len()), (0, 0));
    assert!(err.contains("1 binary skipped"), "{err}");
}

#[test]
fn submodules_are_ignored() {
    let sub = Repo::new();
    sub.write("lib.txt", format!("vendored {}\n", fake_token(9)));
    sub.commit_all("sub");
    let repo = Repo::new();
    repo.write("main.txt", "main\n");
    repo.commit_all("init");
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &sub.path().display().to_string(),
        "vendor/sub",
    ]);
    let (code, found, err) = scan_json(&repo, &["--staged"]);
    assert_eq!((code, found.len()), (0, 0), "{err}");
    repo.commit_all("add submodule");
    let (code, found, err) = scan_json(&repo, &["--git"]);
    assert_eq!((code, found.len()), (0, 0), "{err}");
}

#[test]
fn merge_commits_report_branch_secrets_once_and_evil_merges() {
    let repo = Repo::new();
    repo.write("conf.txt", "a = 1\nb = 2\n");
    repo.commit_all("init");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let branch_secret = fake_token(10);
    repo.write("feature.txt", format!("token {branch_secret}\n"));
    let feature = repo.commit_all("feature with secret");
    repo.write("conf.txt", "a = 10\nb = 2\n");
    repo.commit_all("feature edits conf");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("conf.txt", "a = 100\nb = 2\n");
    repo.commit_all("main edits conf");
    // Conflict, resolved with a line in neither parent: a secret.
    let out = repo
        .cmd("git")
        .args(["merge", "-q", "feature"])
        .output()
        .expect("git");
    assert!(!out.status.success(), "expected a conflict");
    let evil = fake_token(11);
    repo.write("conf.txt", format!("a = \"{evil}\"\nb = 2\n"));
    let merge = repo.commit_all("merge feature");
    let (code, found, _) = scan_json(&repo, &["--git"]);
    assert_eq!(code, 1);
    let mut got: Vec<(String, String, u64)> = found
        .iter()
        .map(|f| {
            (
                f["commit"]["id"].as_str().unwrap_or("").to_string(),
                f["path"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (feature, "feature.txt".to_string(), 1),
        (merge, "conf.txt".to_string(), 1),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn inline_allow_and_exit_codes() {
    let repo = Repo::new();
    repo.write(
        "fixtures.py",
        format!(
            "A = \"{}\"  # hush:allow(test fixture)\nB = \"{}\"  # gitleaks:allow\n",
            fake_token(12),
            fake_token(13)
        ),
    );
    let (code, _, err) = run(repo.hush().args(["scan", "."]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 allowed inline"), "{err}");
    repo.write("leak.py", format!("C = \"{}\"\n", fake_token(14)));
    let (code, out, _) = run(repo.hush().args(["scan", "."]));
    assert_eq!(code, 1);
    assert!(out.starts_with("leak.py:1:6: hush.github.pat"), "{out}");
    let (code, _, err) = run(repo.hush().args(["scan", "does-not-exist"]));
    assert_eq!(code, 2);
    assert!(err.contains("does-not-exist"), "{err}");
}

#[test]
fn stdin_is_scanned_with_line_numbers() {
    let repo = Repo::new();
    let mut child = repo
        .hush()
        .args(["scan", "-", "--format", "jsonl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let input = format!("one\ntwo\nthree {}\n", fake_token(15));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0]["path"].as_str(), lines[0]["line"].as_u64()),
        (Some("-"), Some(3))
    );
}

#[test]
fn encoded_secrets_and_known_values_are_found() {
    let repo = Repo::new();
    let token = fake_token(16);
    let b64 = base64_encode(format!("{{\"token\":\"{token}\"}}").as_bytes());
    repo.write("blob.txt", format!("data: {b64}\n"));
    let (_, found, _) = scan_json(&repo, &["."]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["encoding"], "base64");
    // A registered value with no rule of its own.
    let value = "correct-horse-battery-staple-42";
    repo.write("ops.txt", format!("db password is {value}\n"));
    let (_, found, _) = run(repo
        .hush()
        .args([
            "scan",
            "ops.txt",
            "--format",
            "json",
            "--values-from-env",
            "DB_PASSWORD",
        ])
        .env("DB_PASSWORD", value));
    let found = findings(&found);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["rule_id"], "hush.known-value");
}

fn base64_encode(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn baseline_workflow() {
    let repo = Repo::new();
    let accepted = fake_token(17);
    repo.write("fixture.py", format!("pad = 0\nT = \"{accepted}\"\n"));
    // Write the baseline: exit 0, the file holds no secret.
    let (code, _, err) = run(repo.hush().args(["scan", ".", "--update-baseline"]));
    assert_eq!(code, 0, "{err}");
    let path = repo.path().join(".hush-baseline.toml");
    let text = std::fs::read_to_string(&path).expect("baseline written");
    assert!(
        !text.contains(&accepted[4..]),
        "baseline must not hold the secret"
    );
    assert!(text.contains("rule = \"hush.github.pat\""), "{text}");
    assert!(!text.contains("line ="), "no line numbers: {text}");
    let baseline = ["scan", ".", "--baseline", ".hush-baseline.toml"];
    let (code, _, err) = run(repo.hush().args(baseline));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 in baseline"), "{err}");
    // Edits elsewhere move the line: still accepted.
    repo.write(
        "fixture.py",
        format!("pad = 0\nmore = 1\nmore = 2\nT = \"{accepted}\"\n"),
    );
    let (code, _, err) = run(repo.hush().args(baseline));
    assert_eq!(code, 0, "{err}");
    // A different secret on the same line is reported.
    let other = fake_token(18);
    repo.write("fixture.py", format!("pad = 0\nT = \"{other}\"\n"));
    let (code, out, err) = run(repo.hush().args(baseline));
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("stale"), "the accepted secret is gone: {err}");
    // An expired entry stops suppressing, and says so.
    repo.write("fixture.py", format!("pad = 0\nT = \"{accepted}\"\n"));
    let expired = text.replace(
        "path = \"fixture.py\"\n",
        "path = \"fixture.py\"\nreason = \"test fixture\"\nexpires = \"2020-01-01\"\n",
    );
    std::fs::write(&path, expired).expect("write");
    let (code, _, err) = run(repo.hush().args(baseline));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("expired on 2020-01-01"), "{err}");
    // Updating keeps the reason of entries still found.
    let (code, _, _) = run(repo.hush().args(["scan", ".", "--update-baseline"]));
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&path).expect("baseline");
    assert!(text.contains("reason = \"test fixture\""), "{text}");
    // A broken baseline is an error naming the file.
    std::fs::write(&path, "version = 1\nkey = \"zz\"\n").expect("write");
    let (code, _, err) = run(repo.hush().args(baseline));
    assert_eq!(code, 2);
    assert!(err.contains(".hush-baseline.toml"), "{err}");
}

/// One baseline for file and history scans: entries for values only in history are marked, so
/// neither kind of scan calls the other's entries stale or drops them; partial scans cannot
/// update it.
#[test]
fn baseline_serves_file_and_history_scans() {
    let repo = Repo::new();
    let current = fake_token(40);
    let removed = fake_token(41);
    repo.write("app.py", format!("T = \"{current}\"\n"));
    repo.write("old.py", format!("T = \"{removed}\"\n"));
    repo.commit_all("add");
    repo.write("old.py", "T = None\n");
    repo.commit_all("remove");
    let path = repo.path().join(".hush-baseline.toml");
    // The files first: one plain entry.
    let (code, _, err) = run(repo.hush().args(["scan", ".", "--update-baseline"]));
    assert_eq!(code, 0, "{err}");
    // History adds the removed value, marked.
    let (code, _, err) = run(repo.hush().args(["scan", "--git", "--update-baseline"]));
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&path).expect("baseline");
    let entry = |file: &str| {
        text.split("[[finding]]")
            .find(|e| e.contains(&format!("path = \"{file}\"")))
            .unwrap_or_else(|| panic!("no entry for {file}: {text}"))
            .to_string()
    };
    assert!(!entry("app.py").contains("history"), "{text}");
    assert!(entry("old.py").contains("history = true"), "{text}");
    let with = ["--baseline", ".hush-baseline.toml"];
    for scan in [&["scan", "."][..], &["scan", "--git"][..]] {
        let (code, out, err) = run(repo.hush().args(scan).args(with));
        assert_eq!(code, 0, "{scan:?}: {out}{err}");
        assert!(!err.contains("stale"), "{scan:?}: {err}");
    }
    // A file scan's update keeps the history entry; removing the current value makes its entry
    // stale for a file scan only once it is gone from the files.
    let (code, _, _) = run(repo.hush().args(["scan", ".", "--update-baseline"]));
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&path).expect("baseline"), text);
    repo.write("app.py", "T = None\n");
    let (code, _, err) = run(repo.hush().args(["scan", "."]).args(with));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 stale entry"), "{err}");
    assert!(err.contains("app.py"), "{err}");
    // Partial scans refuse to update, and leave the file as it was.
    repo.write("new.py", format!("T = \"{}\"\n", fake_token(42)));
    repo.git(&["add", "new.py"]);
    for partial in [
        &["scan", "--staged", "--update-baseline"][..],
        &["scan", "--git", "HEAD~1..HEAD", "--update-baseline"][..],
        &["scan", "-", "--update-baseline"][..],
    ] {
        let (code, _, err) = run(repo.hush().args(partial));
        assert_eq!(code, 2, "{partial:?}: {err}");
        assert!(err.contains("--update-baseline needs a full scan"), "{err}");
    }
    assert_eq!(std::fs::read_to_string(&path).expect("baseline"), text);
}

#[test]
fn config_file_ignores_paths_disables_rules_and_names_the_baseline() {
    let repo = Repo::new();
    repo.write("vendor/lib.js", format!("k = \"{}\"\n", fake_token(19)));
    repo.write("src/app.js", format!("k = \"{}\"\n", fake_token(20)));
    repo.write(".hush.toml", "[scan]\nignore = [\"vendor/**\"]\n");
    let (_, found, _) = scan_json(&repo, &[]);
    assert_eq!(locations(&found), vec![("src/app.js".to_string(), 1)]);
    // Anchored at the config's directory whatever the walk starts from.
    repo.write("src/vendor/x.js", format!("k = \"{}\"\n", fake_token(23)));
    repo.write(
        ".hush.toml",
        "[scan]\nignore = [\"/src/vendor/\", \"lib.js\"]\n",
    );
    let (_, found, _) = scan_json(&repo, &["src"]);
    assert_eq!(locations(&found), vec![("src/app.js".to_string(), 1)]);
    let (_, found, _) = run(repo
        .hush()
        .current_dir(repo.path().join("src"))
        .args(["scan", "--format", "json", "."]));
    assert_eq!(
        locations(&findings(&found)),
        vec![("app.js".to_string(), 1)]
    );
    std::fs::remove_dir_all(repo.path().join("src/vendor")).expect("rm");
    repo.write(".hush.toml", "[scan]\ndisable = [\"hush.github.pat\"]\n");
    let (code, found, _) = scan_json(&repo, &[]);
    assert_eq!((code, found.len()), (0, 0));
    repo.write(".hush.toml", "[scan]\nbogus = 1\n");
    let (code, _, err) = run(repo.hush().args(["scan"]));
    assert_eq!(code, 2);
    assert!(err.contains(".hush.toml:2:1"), "{err}");
    // .hushignore works like .gitignore.
    repo.write(".hush.toml", "[scan]\n");
    repo.write(".hushignore", "src/\n");
    let (_, found, _) = scan_json(&repo, &[]);
    assert_eq!(locations(&found), vec![("vendor/lib.js".to_string(), 1)]);
}

#[test]
fn gitleaks_config_adds_rules() {
    let repo = Repo::new();
    repo.write(
        "gitleaks.toml",
        "title = \"custom\"\n[[rules]]\nid = \"internal-token\"\ndescription = \"Internal token\"\nregex = '''itk_[a-f0-9]{32}'''\nkeywords = [\"itk_\"]\n",
    );
    repo.write("svc.cfg", "token = itk_9f3a1c07e4b25d86a0c3e91f7b2d4e58\n");
    let (code, found, _) = scan_json(&repo, &["svc.cfg", "--config", "gitleaks.toml"]);
    assert_eq!(code, 1);
    assert_eq!(found[0]["rule_id"], "internal-token");
    // The global allowlist's paths exclude files, in every mode.
    let mut cfg = std::fs::read_to_string(repo.path().join("gitleaks.toml")).expect("read");
    cfg.push_str("[allowlist]\npaths = ['(^|/)fixtures/']\n");
    repo.write("gitleaks.toml", cfg);
    repo.write(
        "fixtures/svc.cfg",
        "token = itk_9f3a1c07e4b25d86a0c3e91f7b2d4e58\n",
    );
    let (_, found, err) = scan_json(&repo, &[".", "--config", "gitleaks.toml"]);
    assert_eq!(locations(&found), vec![("svc.cfg".to_string(), 1)]);
    assert!(err.contains("1 allowlisted by path"), "{err}");
    // ...so the engine's note that it cannot honour them is not shown.
    assert!(!err.contains("are not honoured"), "{err}");
    repo.git(&["add", "fixtures"]);
    let (code, found, _) = scan_json(&repo, &["--staged", "--config", "gitleaks.toml"]);
    assert_eq!((code, found.len()), (0, 0));
    repo.commit_all("fixtures");
    let (_, found, _) = scan_json(&repo, &["--git", "--config", "gitleaks.toml"]);
    assert!(
        found.iter().all(|f| f["path"] != "fixtures/svc.cfg"),
        "{found:?}"
    );
}

#[test]
fn hook_install_refuses_foreign_hooks_and_blocks_secret_commits() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit_all("init");
    let hook = repo.path().join(".git/hooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").expect("write");
    let (code, _, err) = run(repo.hush().args(["hook", "install"]));
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    let (code, _, err) = run(repo.hush().args(["hook", "install", "--force"]));
    assert_eq!(code, 0, "{err}");
    assert!(repo
        .path()
        .join(".git/hooks/pre-commit.hush-backup")
        .exists());
    // The hook blocks a commit that adds a secret, with hush on PATH.
    repo.write("leak.txt", format!("{}\n", fake_token(21)));
    repo.git(&["add", "leak.txt"]);
    let out = repo
        .with_hush_on_path("git")
        .args(["commit", "-q", "-m", "leak"])
        .output()
        .expect("git commit");
    assert!(!out.status.success(), "the hook must block the commit");
    // git sends a hook's stdout to stderr.
    assert!(String::from_utf8_lossy(&out.stderr).contains("leak.txt:1:1"));
    // Clean commits go through.
    repo.git(&["rm", "-q", "--cached", "leak.txt"]);
    repo.write("ok.txt", "fine\n");
    repo.git(&["add", "ok.txt"]);
    let out = repo
        .with_hush_on_path("git")
        .args(["commit", "-q", "-m", "ok"])
        .output()
        .expect("git commit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Uninstall restores the previous hook.
    let (code, _, _) = run(repo.hush().args(["hook", "uninstall"]));
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(&hook).expect("hook"),
        "#!/bin/sh\necho mine\n"
    );
}

#[test]
fn show_secrets_is_explicit() {
    let repo = Repo::new();
    let token = fake_token(22);
    repo.write("x.txt", format!("{token}\n"));
    for format in ["text", "json", "jsonl", "sarif", "junit"] {
        let (_, out, _) = run(repo.hush().args(["scan", ".", "--format", format]));
        assert!(
            !out.contains(&token[4..]),
            "{format} leaks the secret (output not shown: it would print it)"
        );
        let (_, out, _) =
            run(repo
                .hush()
                .args(["scan", ".", "--format", format, "--show-secrets"]));
        assert!(
            out.contains(&token),
            "{format} --show-secrets hides it:\n{out}"
        );
    }
}

#[test]
fn the_hook_sees_what_commit_dash_a_records() {
    let repo = Repo::new();
    repo.write("app.cfg", "name = demo\n");
    repo.commit_all("init");
    let (code, _, err) = run(repo.hush().args(["hook", "install"]));
    assert_eq!(code, 0, "{err}");
    // Not staged: `git commit -a` stages it into a temporary index (GIT_INDEX_FILE) for the hook.
    repo.write(
        "app.cfg",
        format!("name = demo\ntoken = {}\n", fake_token(30)),
    );
    let out = repo
        .with_hush_on_path("git")
        .args(["commit", "-a", "-q", "-m", "oops"])
        .output()
        .expect("git commit -a");
    assert!(
        !out.status.success(),
        "commit -a with a secret must be blocked"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("app.cfg:2:9"));
    // Same for `git commit PATH`.
    let out = repo
        .with_hush_on_path("git")
        .args(["commit", "-q", "-m", "oops", "app.cfg"])
        .output()
        .expect("git commit PATH");
    assert!(
        !out.status.success(),
        "commit PATH with a secret must be blocked"
    );
}
