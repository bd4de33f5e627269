//! `hush vault` and `hush env check` through the real binary, the vault file test vectors, and
//! the crash and concurrency tests.
//!
//! Vaults here are made with cheap KDF parameters through the library (the header carries
//! them, so the binary unlocks them quickly); one test creates a vault with the defaults
//! through `hush vault init`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use hush_vault::{Entry, Error, ExposeSecret, KdfParams, SecretString, Vault};

use crate::util::{assert_hidden, hush, run, run_with_stdin};

const PASS: &str = "integration passphrase";

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn cheap() -> KdfParams {
    KdfParams::new(256, 1, 1).unwrap()
}

/// A temp dir with a cheap vault holding `entries` and a 0600 passphrase file.
struct Fixture {
    dir: tempfile::TempDir,
    vault: PathBuf,
    passfile: PathBuf,
}

impl Fixture {
    fn new(entries: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("data").join("vault");
        let mut v = Vault::create(&vault, &secret(PASS), cheap()).unwrap();
        for (k, val) in entries {
            v.insert(Entry::new(k, secret(val), SystemTime::now()).unwrap());
        }
        v.save().unwrap();
        let passfile = dir.path().join("pass");
        write_private(&passfile, &format!("{PASS}\n"));
        Fixture {
            dir,
            vault,
            passfile,
        }
    }

    /// `hush vault` with this vault and passphrase file, and no other vault settings.
    fn cmd(&self) -> Command {
        let mut c = hush();
        c.arg("vault")
            .env("HUSH_VAULT", &self.vault)
            .env("HUSH_VAULT_PASSPHRASE_FILE", &self.passfile)
            .env_remove("XDG_DATA_HOME");
        c
    }

    fn open(&self) -> Vault {
        Vault::open(&self.vault, &secret(PASS)).unwrap()
    }

    fn value(&self, name: &str) -> Option<String> {
        self.open()
            .get(name)
            .map(|e| e.value().expose_secret().to_owned())
    }
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn init_with_default_kdf_and_xdg_location() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("xdg").join("hush").join("vault");
    let (code, _, err) = run_with_stdin(
        hush()
            .args(["vault", "init", "--passphrase-fd", "0"])
            .env_remove("HUSH_VAULT")
            .env("XDG_DATA_HOME", dir.path().join("xdg")),
        "a passphrase of some length\n",
    );
    assert_eq!(code, 0, "{err}");
    let mode = |p: &Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
            & 0o777
    };
    assert_eq!(mode(&vault), 0o600);
    assert_eq!(mode(vault.parent().unwrap()), 0o700);
    let info = Vault::inspect(&vault).unwrap();
    assert_eq!(
        (info.kdf.memory_kib(), info.kdf.passes()),
        (64 * 1024, 3),
        "init uses the default KDF cost"
    );
    let (code, _, err) = run_with_stdin(
        hush()
            .args(["vault", "init", "--passphrase-fd", "0", "--vault"])
            .arg(&vault),
        "another passphrase\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("a vault already exists"), "{err}");
    let (code, _, err) = run_with_stdin(
        hush()
            .args(["vault", "init", "--passphrase-fd", "0", "--vault"])
            .arg(dir.path().join("short")),
        "short\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("at least 8 characters"), "{err}");
}

#[test]
fn set_get_list_rotate_rm() {
    let fx = Fixture::new(&[]);
    let (code, _, err) = run_with_stdin(
        fx.cmd().args([
            "set",
            "API_TOKEN",
            "--from-stdin",
            "--tag",
            "prod",
            "--rotate-after",
            "90d",
            "--description",
            "billing",
        ]),
        "fake-token-value-1\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("stored `API_TOKEN`"), "{err}");
    assert_hidden(&err, "fake-token", "stderr");
    assert_eq!(fx.value("API_TOKEN").as_deref(), Some("fake-token-value-1"));

    let (code, out, err) = run(fx.cmd().args(["get", "API_TOKEN"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "fake-token-value-1\n");

    let (code, _, err) =
        run(fx
            .cmd()
            .args(["set", "OLD", "--generate", "24", "--expires", "2001-01-01"]));
    assert_eq!(code, 0, "{err}");
    let old = fx.value("OLD").unwrap();
    assert_eq!(old.len(), 24);

    let (code, out, _) = run(fx.cmd().args(["list"]));
    assert_eq!(code, 0);
    assert_hidden(&out, "fake-token", "the listing");
    assert_hidden(&out, &old, "the listing");
    let api = out.lines().find(|l| l.starts_with("API_TOKEN")).unwrap();
    assert!(api.contains(" ok ") && api.ends_with("prod"), "{out}");
    let expired = out.lines().find(|l| l.starts_with("OLD")).unwrap();
    assert!(
        expired.contains("2001-01-01") && expired.contains("EXPIRED"),
        "{out}"
    );
    assert!(
        out.contains("2 secrets, 1 expired or due for rotation"),
        "{out}"
    );
    let (code, out, _) = run(fx.cmd().args(["list", "--check", "--format", "json"]));
    assert_eq!(code, 1, "--check fails on an expired secret");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["name"], "API_TOKEN");
    assert_eq!(rows[0]["rotate_after_seconds"], 90 * 86400);
    assert_eq!(rows[1]["status"], "expired");

    let (code, _, err) = run(fx.cmd().args(["rotate", "OLD", "--generate", "32"]));
    assert_eq!(code, 0, "{err}");
    let new = fx.value("OLD").unwrap();
    assert!(new.len() == 32 && new != old);
    let v = fx.open();
    let e = v.get("OLD").unwrap();
    assert!(e.expires().is_some(), "rotation keeps metadata");

    let (code, _, err) = run(fx.cmd().args(["rotate", "MISSING", "--generate", "32"]));
    assert_eq!(code, 2);
    assert!(err.contains("no secret named `MISSING`"), "{err}");

    let (code, _, err) = run(fx.cmd().args(["rm", "OLD"]));
    assert_eq!(code, 0, "{err}");
    assert!(fx.value("OLD").is_none());
    let (code, _, err) = run(fx.cmd().args(["get", "OLD"]));
    assert_eq!(code, 2);
    assert!(err.contains("no secret named `OLD`"), "{err}");
}

#[test]
fn values_never_go_to_a_terminal_unless_asked() {
    let fx = Fixture::new(&[("TOKEN", "terminal-shy-value")]);
    // `script` gives the child a pseudo-terminal as stdout.
    if Command::new("script").arg("--version").output().is_err() {
        panic!("`script` (util-linux) is needed for this test");
    }
    let shell = |args: &str| {
        let line = format!(
            "HUSH_VAULT='{}' HUSH_VAULT_PASSPHRASE_FILE='{}' '{}' vault {args}",
            fx.vault.display(),
            fx.passfile.display(),
            env!("CARGO_BIN_EXE_hush")
        );
        let out = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = shell("get TOKEN");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("refusing to print a secret to a terminal"),
        "{out}"
    );
    assert_hidden(&out, "terminal-shy-value", "the output");
    let (code, out) = shell("export --shell");
    assert_eq!(code, 2, "{out}");
    assert_hidden(&out, "terminal-shy-value", "the output");
    let (code, out) = shell("get TOKEN --dangerous-print");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("terminal-shy-value"), "{out}");
}

#[test]
fn export_shell_round_trips_through_sh() {
    let fx = Fixture::new(&[("A", "it's $HOME `x`"), ("B", "plain-value")]);
    let (code, out, err) = run(fx.cmd().args(["export", "--shell"]));
    assert_eq!(code, 0, "{err}");
    let script = format!("{out}printf '%s|%s' \"$A\" \"$B\"");
    let sh = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&sh.stdout),
        "it's $HOME `x`|plain-value"
    );
}

#[test]
fn import_env_skips_existing_unless_overwrite() {
    let fx = Fixture::new(&[("KEEP", "original-value")]);
    let env = fx.dir.path().join(".env");
    std::fs::write(
        &env,
        "# app\nexport DB_PASSWORD='p@ss w0rd'\nKEEP=replacement\nURL=\"https://x\\n\"\n",
    )
    .unwrap();
    let (code, _, err) = run(fx.cmd().arg("import-env").arg(&env));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("imported 2 new and 0 replaced"), "{err}");
    assert!(err.contains("skipped 1 that already exist"), "{err}");
    assert_eq!(fx.value("DB_PASSWORD").as_deref(), Some("p@ss w0rd"));
    assert_eq!(fx.value("URL").as_deref(), Some("https://x\n"));
    assert_eq!(fx.value("KEEP").as_deref(), Some("original-value"));
    let (code, _, err) = run(fx.cmd().arg("import-env").arg("--overwrite").arg(&env));
    assert_eq!(code, 0, "{err}");
    assert_eq!(fx.value("KEEP").as_deref(), Some("replacement"));

    std::fs::write(&env, "GOOD=1\nBAD LINE secret-ish\n").unwrap();
    let (code, _, err) = run(fx.cmd().arg("import-env").arg(&env));
    assert_eq!(code, 2);
    assert!(err.contains(".env:2: expected `NAME=value`"), "{err}");
    assert_hidden(&err, "secret-ish", "stderr");
}

#[test]
fn passwd_rewraps_and_old_passphrase_fails() {
    let fx = Fixture::new(&[("K", "kept-across-passwd")]);
    let (code, _, err) = run_with_stdin(
        fx.cmd().args(["passwd", "--new-passphrase-fd", "0"]),
        "the new passphrase\n",
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(fx.cmd().args(["get", "K"]));
    assert_eq!(code, 2);
    assert!(err.contains("wrong passphrase for"), "{err}");
    let v = Vault::open(&fx.vault, &secret("the new passphrase")).unwrap();
    assert_eq!(
        v.get("K").unwrap().value().expose_secret(),
        "kept-across-passwd"
    );
}

#[test]
fn passphrase_sources_and_their_errors() {
    let fx = Fixture::new(&[("K", "v-123456789")]);
    // From a file descriptor.
    let (code, out, err) = run_with_stdin(
        fx.cmd().env_remove("HUSH_VAULT_PASSPHRASE_FILE").args([
            "get",
            "K",
            "--passphrase-fd",
            "0",
        ]),
        &format!("{PASS}\n"),
    );
    assert_eq!((code, out.as_str()), (0, "v-123456789\n"), "{err}");
    // Wrong passphrase: exit 2, the path, never the value or passphrase.
    let (code, _, err) = run_with_stdin(
        fx.cmd()
            .env_remove("HUSH_VAULT_PASSPHRASE_FILE")
            .args(["list", "--passphrase-fd", "0"]),
        "not the passphrase\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("wrong passphrase for `"), "{err}");
    assert_hidden(&err, "not the passphrase", "stderr");
    // A passphrase file others can read is refused.
    std::fs::set_permissions(
        &fx.passfile,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let (code, _, err) = run(fx.cmd().args(["list"]));
    assert_eq!(code, 2);
    assert!(err.contains("chmod 600"), "{err}");
    // Nothing at all, and no terminal: say how to provide one.
    let (code, _, err) = run(fx
        .cmd()
        .env_remove("HUSH_VAULT_PASSPHRASE_FILE")
        .args(["list"])
        .stdin(Stdio::null()));
    assert_eq!(code, 2);
    assert!(err.contains("--passphrase-fd N"), "{err}");
}

#[test]
fn passphrase_fd_is_read_to_the_newline_not_to_eof() {
    let fx = Fixture::new(&[("K", "v-123456789")]);
    let mut child = fx
        .cmd()
        .env_remove("HUSH_VAULT_PASSPHRASE_FILE")
        .args(["get", "K", "--passphrase-fd", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The sender keeps the pipe open, as an agent handing over a passphrase would.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{PASS}\n").as_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("hush waited for EOF on the passphrase descriptor");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(stdin);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success());
    assert_eq!(out, "v-123456789\n");

    let (code, _, err) = run_with_stdin(
        fx.cmd().env_remove("HUSH_VAULT_PASSPHRASE_FILE").args([
            "set",
            "K",
            "--from-stdin",
            "--passphrase-fd",
            "0",
        ]),
        "x\ny\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("stdin cannot carry both"), "{err}");
}

#[test]
fn vault_file_permissions_are_enforced() {
    let fx = Fixture::new(&[("K", "v")]);
    std::fs::set_permissions(
        &fx.vault,
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    let (code, _, err) = run(fx.cmd().args(["list"]));
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("fix it with `chmod 600 {}`", fx.vault.display())),
        "{err}"
    );
}

#[test]
#[allow(clippy::print_stderr)] // the skip must be visible
fn keyring_holds_the_passphrase_or_says_why_not() {
    let fx = Fixture::new(&[("K", "via-keyring-value")]);
    let (code, _, err) = run(fx.cmd().args(["remember"]));
    if code != 0 {
        assert_eq!(code, 2);
        assert!(err.contains("encrypted vault file"), "{err}");
        skipped!("SKIPPED keyring round trip: {err}");
        return;
    }
    let (code, out, err) = run(fx
        .cmd()
        .env_remove("HUSH_VAULT_PASSPHRASE_FILE")
        .args(["get", "K"]));
    assert_eq!((code, out.as_str()), (0, "via-keyring-value\n"), "{err}");
    let (code, _, err) = run(fx.cmd().args(["forget"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("removed the passphrase"), "{err}");

    // Single secrets in the keyring, apart from the vault file.
    let name = format!("HUSH_TEST_KEYRING_{}", std::process::id());
    let (code, _, err) = run_with_stdin(
        fx.cmd().args(["set", &name, "--keyring", "--from-stdin"]),
        "keyring-only-value\n",
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(fx.cmd().args(["get", &name, "--keyring"]));
    assert_eq!((code, out.as_str()), (0, "keyring-only-value\n"), "{err}");
    assert!(fx.value(&name).is_none(), "not written to the vault file");
    let (code, _, err) = run(fx.cmd().args(["rm", &name, "--keyring"]));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn names_are_validated() {
    let fx = Fixture::new(&[]);
    let (code, _, err) = run(fx.cmd().args(["set", "1BAD", "--generate", "16"]));
    assert_eq!(code, 2);
    assert!(err.contains("invalid secret name `1BAD`"), "{err}");
}

// --- env check ---------------------------------------------------------------------------

/// A GitHub token shape, generated so no key-like literal sits in the repository.
fn fake_github_token() -> String {
    let body: String = (0..36)
        .map(|i| char::from(b"aB3dE5fG7hJ9kL2mN4pQ6rS8tU"[(i * 7 + 3) % 26]))
        .collect();
    format!("ghp_{body}")
}

#[test]
fn env_check_against_a_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("env.toml");
    std::fs::write(
        &spec,
        r#"
[[var]]
name = "GH_TOKEN"
rule = "hush.github.pat"

[[var]]
name = "DATABASE_URL"
regex = '^postgres://'
min_len = 12

[[var]]
name = "STRIPE_KEY"
required = false

[[var]]
name = "MISSING_ONE"
"#,
    )
    .unwrap();
    let token = fake_github_token();
    let (code, out, err) = run(hush()
        .args(["env", "check", "--spec"])
        .arg(&spec)
        .env("GH_TOKEN", &token)
        .env("DATABASE_URL", "mysql://h")
        .env("STRIPE_KEY", "sk_test_changeme"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("ok       GH_TOKEN (hush.github.pat)"), "{out}");
    assert!(
        out.contains("error    DATABASE_URL: does not match the spec's regex"),
        "{out}"
    );
    assert!(
        out.contains("error    DATABASE_URL: is 9 characters long; the spec wants at least 12"),
        "{out}"
    );
    assert!(
        out.contains("warning  STRIPE_KEY: looks like a placeholder"),
        "{out}"
    );
    assert!(
        out.contains("warning  STRIPE_KEY: is a test-mode or sandbox key"),
        "{out}"
    );
    assert!(out.contains("error    MISSING_ONE: is not set"), "{out}");
    assert!(out.contains("checked 4 variables: 3 errors"), "{out}");
    for v in [token.as_str(), "mysql://h", "changeme"] {
        assert!(!out.contains(v) && !err.contains(v), "value {v} printed");
    }

    let (code, out, _) = run(hush()
        .args(["env", "check", "--format", "json", "--spec"])
        .arg(&spec)
        .env("GH_TOKEN", &token)
        .env("DATABASE_URL", "postgres://db/app")
        .env("MISSING_ONE", "Zq8vN3kLp0XwR5tY7uI9oP2a"));
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["errors"], 0);
    assert_eq!(doc["vars"][0]["rules"][0], "hush.github.pat");

    std::fs::write(&spec, "[[var]]\nname = 'X'\nrule = 'no.such.rule'\n").unwrap();
    let (code, _, err) = run(hush().args(["env", "check", "--spec"]).arg(&spec));
    assert_eq!(code, 2);
    assert!(
        err.contains("variable `X`: unknown rule `no.such.rule`"),
        "{err}"
    );
}

#[test]
fn env_check_without_spec_finds_secret_bearing_variables() {
    let token = fake_github_token();
    let (code, out, _) = run(hush()
        .args(["env", "check", "--strict"])
        .env_clear()
        .env("LEAKY", &token)
        .env("HOME", "/nowhere"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok       LEAKY (hush.github.pat)"), "{out}");
    assert!(out.contains("checked 1 variables"), "{out}");
}

#[test]
fn env_check_from_the_vault() {
    let fx = Fixture::new(&[("GH_TOKEN", &fake_github_token()), ("WEAK", "password")]);
    let spec = fx.dir.path().join("env.toml");
    std::fs::write(
        &spec,
        "[[var]]\nname = 'GH_TOKEN'\nrule = 'hush.github.pat'\n[[var]]\nname = 'WEAK'\n",
    )
    .unwrap();
    let (code, out, err) = run(hush()
        .args(["env", "check", "--from-vault", "--spec"])
        .arg(&spec)
        .env("HUSH_VAULT", &fx.vault)
        .env("HUSH_VAULT_PASSPHRASE_FILE", &fx.passfile)
        .env_remove("GH_TOKEN"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok       GH_TOKEN (hush.github.pat)"), "{out}");
    assert!(out.contains("warning  WEAK: is a common password"), "{out}");
}

// --- test vectors --------------------------------------------------------------------------

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/vault");
const VECTOR_PASS: &str = "vector passphrase";

/// The outcome a vector's line in `expected.txt` names.
fn outcome(result: &Result<Vault, Error>) -> String {
    match result {
        Ok(v) => format!("ok:{}", v.len()),
        Err(Error::WrongPassphrase { .. }) => "wrong-passphrase".into(),
        Err(Error::NotAVault { .. }) => "not-a-vault".into(),
        Err(Error::UnsupportedVersion { version, .. }) => format!("unsupported-version:{version}"),
        Err(Error::Truncated { .. }) => "truncated".into(),
        Err(Error::Corrupted { what, .. }) => format!("corrupted:{what}"),
        Err(e) => format!("other:{e}"),
    }
}

#[test]
fn vault_file_vectors_are_rejected_with_the_right_error() {
    let expected = std::fs::read_to_string(format!("{VECTORS}/expected.txt")).unwrap();
    let mut checked = 0;
    for line in expected.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // `file | passphrase | outcome`
        let parts: Vec<&str> = line.split(" | ").collect();
        let [file, pass, want] = parts[..] else {
            panic!("bad line in expected.txt: {line}");
        };
        let bytes = std::fs::read(format!("{VECTORS}/{file}")).unwrap();
        let got = Vault::from_bytes(Path::new(file), &bytes, &secret(pass));
        assert_eq!(outcome(&got), want, "vector {file}");
        if let Err(e) = &got {
            let msg = format!("{e} {e:?}");
            assert!(msg.contains(file), "error names the file: {msg}");
            assert!(!msg.contains("vector-value"), "error leaks a value: {msg}");
        }
        if file == "good.vault" && pass == VECTOR_PASS {
            let v = got.unwrap();
            assert_eq!(
                v.get("FIRST").unwrap().value().expose_secret(),
                "vector-value-one"
            );
            assert_eq!(v.get("SECOND").unwrap().tags(), ["a", "b"]);
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} vectors");
}

/// Every file in the vectors directory is listed in `expected.txt`.
#[test]
fn every_vector_has_an_expectation() {
    let expected = std::fs::read_to_string(format!("{VECTORS}/expected.txt")).unwrap();
    for e in std::fs::read_dir(VECTORS).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".vault") || name.ends_with(".bin") {
            assert!(
                expected
                    .lines()
                    .any(|l| l.starts_with(&format!("{name} | "))),
                "{name} is not in expected.txt"
            );
        }
    }
}

/// Regenerates `tests/data/vault/` (run with `--ignored` after a deliberate format change).
#[test]
#[ignore]
fn regenerate_vault_vectors() {
    use sha2::Digest;
    let dir = Path::new(VECTORS);
    std::fs::create_dir_all(dir).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let make = |name: &str, entries: &[(&str, &str, &[&str])]| {
        let path = tmp.path().join(name);
        let mut v = Vault::create(
            &path,
            &secret(VECTOR_PASS),
            KdfParams::new(64, 1, 1).unwrap(),
        )
        .unwrap();
        for (k, val, tags) in entries {
            let mut e = Entry::new(
                k,
                secret(val),
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            )
            .unwrap();
            e.set_tags(tags.iter().map(|t| t.to_string()).collect())
                .unwrap();
            v.insert(e);
        }
        v.save().unwrap();
        std::fs::read(&path).unwrap()
    };
    let good = make(
        "good",
        &[
            ("FIRST", "vector-value-one", &[]),
            ("SECOND", "vector-value-two", &["a", "b"]),
        ],
    );
    let empty = make("empty", &[]);
    let mut lines = vec![
        "# Vault file test vectors: `file | passphrase | expected outcome`.".to_owned(),
        "# Regenerate with `cargo test --test integration regenerate_vault_vectors -- --ignored`."
            .to_owned(),
        "# Header fields (FORMAT.md): magic 0..8, version 8..10, kdf id 10, memory 11..15,"
            .to_owned(),
        "# passes 15..19, lanes 19..23, salt 23..39, key nonce 39..51, wrapped key 51..99,"
            .to_owned(),
        "# payload nonce 99..111, payload length 111..115, checksum 115..147.".to_owned(),
    ];
    let mut put = |name: &str, bytes: &[u8], pass: &str, want: &str| {
        std::fs::write(dir.join(name), bytes).unwrap();
        lines.push(format!("{name} | {pass} | {want}"));
    };
    put("good.vault", &good, VECTOR_PASS, "ok:2");
    put("empty.vault", &empty, VECTOR_PASS, "ok:0");
    put("good.vault", &good, "wrong passphrase", "wrong-passphrase");
    let fix = |b: &mut Vec<u8>| {
        let d = sha2::Sha256::digest(&b[..115]);
        b[115..147].copy_from_slice(&d);
    };
    // One byte flipped in every header field: the checksum catches it.
    let fields = [
        ("magic", 0, "not-a-vault"),
        ("version", 8, "unsupported-version:0"),
        ("kdf-id", 10, "corrupted:header checksum mismatch"),
        ("memory", 11, "corrupted:header checksum mismatch"),
        ("passes", 15, "corrupted:header checksum mismatch"),
        ("lanes", 19, "corrupted:header checksum mismatch"),
        ("salt", 23, "corrupted:header checksum mismatch"),
        ("key-nonce", 39, "corrupted:header checksum mismatch"),
        ("wrapped-key", 51, "corrupted:header checksum mismatch"),
        ("key-tag", 83, "corrupted:header checksum mismatch"),
        ("payload-nonce", 99, "corrupted:header checksum mismatch"),
        ("payload-length", 111, "corrupted:header checksum mismatch"),
        ("checksum", 115, "corrupted:header checksum mismatch"),
    ];
    for (field, at, want) in fields {
        let mut b = good.clone();
        b[at] ^= 1;
        put(&format!("flip-{field}.vault"), &b, VECTOR_PASS, want);
    }
    // Flipped with the checksum recomputed, as an attacker would: the AAD catches it.
    // (memory 64 -> 65 KiB and passes 1 -> 3 stay valid parameters.)
    let forged = [
        ("kdf-id", 10, 1, "corrupted:unknown KDF id"),
        ("memory", 11, 1, "wrong-passphrase"),
        ("passes", 15, 2, "wrong-passphrase"),
        ("salt", 23, 1, "wrong-passphrase"),
        ("key-nonce", 39, 1, "wrong-passphrase"),
        ("wrapped-key", 51, 1, "wrong-passphrase"),
        ("key-tag", 83, 1, "wrong-passphrase"),
        (
            "payload-nonce",
            99,
            1,
            "corrupted:the entry table fails authentication",
        ),
    ];
    for (field, at, mask, want) in forged {
        let mut b = good.clone();
        b[at] ^= mask;
        fix(&mut b);
        put(&format!("forged-{field}.vault"), &b, VECTOR_PASS, want);
    }
    let mut b = good.clone();
    b[19] = 0; // lanes = 0
    fix(&mut b);
    put(
        "forged-lanes-zero.vault",
        &b,
        VECTOR_PASS,
        "corrupted:KDF parameters out of range",
    );
    let mut b = good.clone();
    b[11..15].copy_from_slice(&u32::MAX.to_le_bytes()); // 4 TiB of memory
    fix(&mut b);
    put(
        "forged-memory-huge.vault",
        &b,
        VECTOR_PASS,
        "corrupted:KDF parameters out of range",
    );
    let len = u32::from_le_bytes(good[111..115].try_into().unwrap());
    let mut b = good.clone();
    b[111..115].copy_from_slice(&(len + 1).to_le_bytes());
    fix(&mut b);
    put("forged-payload-longer.vault", &b, VECTOR_PASS, "truncated");
    let mut b = good.clone();
    b[111..115].copy_from_slice(&(len - 1).to_le_bytes());
    fix(&mut b);
    put(
        "forged-payload-shorter.vault",
        &b,
        VECTOR_PASS,
        "corrupted:trailing bytes after the entry table",
    );
    let mut b = good.clone();
    b[8..10].copy_from_slice(&2u16.to_le_bytes());
    fix(&mut b);
    put("version-2.vault", &b, VECTOR_PASS, "unsupported-version:2");
    // Ciphertext and tag bytes.
    for (name, at) in [
        ("ciphertext-first", 147),
        ("ciphertext-tag", good.len() - 1),
    ] {
        let mut b = good.clone();
        b[at] ^= 0x80;
        put(
            &format!("flip-{name}.vault"),
            &b,
            VECTOR_PASS,
            "corrupted:the entry table fails authentication",
        );
    }
    for cut in [0, 5, 9, 60, 146, 147, 160, good.len() - 1] {
        put(
            &format!("truncated-{cut}.vault"),
            &good[..cut],
            VECTOR_PASS,
            "truncated",
        );
    }
    let mut b = good.clone();
    b.extend_from_slice(b"garbage");
    put(
        "appended-garbage.vault",
        &b,
        VECTOR_PASS,
        "corrupted:trailing bytes after the entry table",
    );
    put(
        "not-a-vault.bin",
        b"[[var]]\nname = 'X'\n",
        VECTOR_PASS,
        "not-a-vault",
    );
    put(
        "age-file.bin",
        b"age-encryption.org/v1\n-> X25519 abc\n",
        VECTOR_PASS,
        "not-a-vault",
    );
    lines.push(String::new());
    std::fs::write(dir.join("expected.txt"), lines.join("\n")).unwrap();
}

// --- crash and concurrency -----------------------------------------------------------------

/// A small deterministic generator (xorshift64*), seeded per run and printed on failure.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Children running `hush vault set` are killed with SIGKILL at random points; the vault must
/// always open, with the new entry either absent or complete.
#[test]
#[allow(clippy::print_stderr)] // reports the seed and where the kills landed
fn sigkill_during_set_never_breaks_the_vault() {
    const ITERATIONS: usize = 100;
    let fx = Fixture::new(&[("BASE", "base-value")]);
    let set = |name: &str| {
        let mut c = fx.cmd();
        c.args(["set", name, "--generate", "32"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    // Calibrate: how long one uninterrupted `set` takes here.
    let t = Instant::now();
    assert!(set("CALIBRATE").status().unwrap().success());
    let full = t.elapsed();
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let (mut before, mut after) = (0, 0);
    let mut expected = 2; // BASE, CALIBRATE
    for i in 0..ITERATIONS {
        let name = format!("K{i}");
        let mut child = set(&name).spawn().unwrap();
        // Up to twice the calibrated run, so kills land before, during and after the write
        // even when the machine is slower than at calibration.
        let delay = full.as_micros() as u64 * 2;
        std::thread::sleep(Duration::from_micros(rng.next() % delay.max(1)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let v = Vault::open(&fx.vault, &secret(PASS))
            .unwrap_or_else(|e| panic!("seed {seed}, iteration {i}: vault unreadable: {e}"));
        match v.get(&name) {
            Some(e) => {
                assert_eq!(e.value().expose_secret().len(), 32, "seed {seed}");
                expected += 1;
                after += 1;
            }
            None => before += 1,
        }
        assert_eq!(
            v.len(),
            expected,
            "seed {seed}, iteration {i}: entries lost"
        );
    }
    eprintln!(
        "crash test: {ITERATIONS} kills (seed {seed}, set takes {full:?}): {before} before the rename, {after} after"
    );
    assert!(
        before > 0 && after > 0,
        "kill points did not cover both sides of the write (seed {seed}: {before}/{after})"
    );
    // Leftover temporary files are cleaned by the next write.
    assert!(set("LAST").status().unwrap().success());
    let tmp = std::fs::read_dir(fx.vault.parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp.")
        })
        .count();
    assert_eq!(tmp, 0);
}

/// Many `hush vault set` processes at once: the lock serialises them and none is lost.
#[test]
fn concurrent_writers_lose_no_entry() {
    const WRITERS: usize = 12;
    let fx = Fixture::new(&[("BASE", "base-value")]);
    let children: Vec<_> = (0..WRITERS)
        .map(|i| {
            fx.cmd()
                .args(["set", &format!("W{i}"), "--generate", "20"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v = fx.open();
    assert_eq!(v.len(), WRITERS + 1);
    for i in 0..WRITERS {
        assert!(v.get(&format!("W{i}")).is_some(), "W{i} lost");
    }
}
