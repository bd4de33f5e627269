//! `hush vault ...`: the encrypted vault file and the OS keyring from the command line.
//!
//! Values only ever reach stdout through `get` and `export`, and only to a pipe or file unless
//! `--dangerous-print` is given. Passphrases come from `--passphrase-fd`, a 0600 file named
//! by `HUSH_VAULT_PASSPHRASE_FILE`, the keyring (`hush vault remember`), or a no-echo prompt;
//! never from an argument.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use hush_vault::{
    Entry, EntryStatus, ExposeSecret, KdfParams, KeyStore, OsKeyStore, SecretString, Vault,
};
use zeroize::Zeroizing;

use crate::rules::Format;
use crate::Outcome;

/// The keyring service every hush entry lives under.
const KEYRING_SERVICE: &str = "hush";
/// Shortest passphrase accepted for a new vault.
const MIN_PASSPHRASE_LEN: usize = 8;

#[derive(Debug, Args)]
pub(crate) struct VaultArgs {
    /// The vault file [default: $HUSH_VAULT, else $XDG_DATA_HOME/hush/vault].
    #[arg(long, global = true, value_name = "PATH")]
    vault: Option<PathBuf>,
    /// Read the passphrase from file descriptor N (up to the first newline).
    #[arg(long, global = true, value_name = "N")]
    passphrase_fd: Option<u32>,
    #[command(subcommand)]
    command: VaultCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum VaultCommand {
    /// Create an empty vault (0600, in a 0700 directory).
    Init(InitArgs),
    /// Store a secret (prompted without echo, read from stdin, or generated).
    Set(SetArgs),
    /// Print a secret's value (only to a pipe or file unless --dangerous-print).
    Get(GetArgs),
    /// List names, dates and status (expired, rotation due); never values.
    List(ListArgs),
    /// Delete a secret.
    Rm(RmArgs),
    /// Replace a secret's value, keeping its metadata.
    Rotate(RotateArgs),
    /// Change the vault passphrase (re-wraps the data key; entries are not re-encrypted).
    Passwd(PasswdArgs),
    /// Import `NAME=value` lines from a dotenv file.
    ImportEnv(ImportArgs),
    /// Print every secret as shell `export` lines (only to a pipe unless --dangerous-print).
    Export(ExportArgs),
    /// Store the vault passphrase in the OS keyring so commands unlock without a prompt.
    Remember,
    /// Remove the vault passphrase from the OS keyring.
    Forget,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// argon2id memory cost in MiB (at least 64).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    kdf_memory_mib: u32,
    /// argon2id passes (at least 3).
    #[arg(long, value_name = "N", default_value_t = 3)]
    kdf_passes: u32,
}

#[derive(Debug, Args)]
pub(crate) struct ValueSource {
    /// Read the value from stdin (one trailing newline is removed).
    #[arg(long, conflicts_with = "generate")]
    from_stdin: bool,
    /// Generate a random alphanumeric value of LEN characters (not printed).
    #[arg(long, value_name = "LEN")]
    generate: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct Metadata {
    /// When the credential expires: `2027-01-31`, an RFC 3339 time, or a duration from now (`90d`).
    #[arg(long, value_name = "WHEN")]
    expires: Option<String>,
    /// Rotate after this long, counted from the last change (`90d`, `12weeks`); `never` clears.
    #[arg(long, value_name = "DURATION")]
    rotate_after: Option<String>,
    /// A tag (repeatable; replaces the existing tags).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// What the secret is for.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// The secret's name (letters, digits, `_`, `.`, `-`; starts with a letter or `_`).
    name: String,
    #[command(flatten)]
    source: ValueSource,
    #[command(flatten)]
    meta: Metadata,
    /// Store it in the OS keyring instead of the vault file (metadata is not kept there).
    #[arg(long, conflicts_with_all = ["expires", "rotate_after", "tags", "description"])]
    keyring: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The secret's name.
    name: String,
    /// Allow printing to a terminal.
    #[arg(long)]
    dangerous_print: bool,
    /// Read it from the OS keyring instead of the vault file.
    #[arg(long)]
    keyring: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Exit 1 if any secret is expired or due for rotation.
    #[arg(long)]
    check: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// The secret's name.
    name: String,
    /// Remove it from the OS keyring instead of the vault file.
    #[arg(long)]
    keyring: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The secret's name.
    name: String,
    #[command(flatten)]
    source: ValueSource,
}

#[derive(Debug, Args)]
pub(crate) struct PasswdArgs {
    /// Read the new passphrase from file descriptor N (up to the first newline).
    #[arg(long, value_name = "N")]
    new_passphrase_fd: Option<u32>,
    /// Raise the argon2id memory cost (MiB) while re-wrapping.
    #[arg(long, value_name = "MIB")]
    kdf_memory_mib: Option<u32>,
    /// Raise the argon2id passes while re-wrapping.
    #[arg(long, value_name = "N")]
    kdf_passes: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The dotenv file (`NAME=value` lines; `export`, quotes and comments allowed).
    file: PathBuf,
    /// Replace secrets that already exist (otherwise they are skipped and named).
    #[arg(long)]
    overwrite: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// `export NAME='value'` lines for sh, bash and zsh.
    #[arg(long, required = true)]
    shell: bool,
    /// Allow printing to a terminal.
    #[arg(long)]
    dangerous_print: bool,
}

pub(crate) fn run(args: VaultArgs) -> anyhow::Result<Outcome> {
    let ctx = Ctx {
        path: vault_path(args.vault)?,
        passphrase_fd: args.passphrase_fd,
    };
    match args.command {
        VaultCommand::Init(a) => init(&ctx, &a),
        VaultCommand::Set(a) => set(&ctx, a),
        VaultCommand::Get(a) => get(&ctx, &a),
        VaultCommand::List(a) => list(&ctx, &a),
        VaultCommand::Rm(a) => rm(&ctx, &a),
        VaultCommand::Rotate(a) => rotate(&ctx, &a),
        VaultCommand::Passwd(a) => passwd(&ctx, &a),
        VaultCommand::ImportEnv(a) => import_env(&ctx, &a),
        VaultCommand::Export(a) => export(&ctx, &a),
        VaultCommand::Remember => remember(&ctx),
        VaultCommand::Forget => forget(&ctx),
    }
}

/// Where the vault is and how to unlock it.
pub(crate) struct Ctx {
    pub(crate) path: PathBuf,
    pub(crate) passphrase_fd: Option<u32>,
}

/// `--vault`, else `$HUSH_VAULT`, else `$XDG_DATA_HOME/hush/vault` (`~/.local/share/...`).
pub(crate) fn vault_path(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p);
    }
    if let Some(p) = std::env::var_os("HUSH_VAULT").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|p| !p.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("HOME").filter(|p| !p.is_empty()) {
            Some(h) => PathBuf::from(h).join(".local").join("share"),
            None => {
                bail!("cannot find a home for the vault: set `HUSH_VAULT` or pass `--vault PATH`")
            }
        },
    };
    Ok(data.join("hush").join("vault"))
}

/// Reads one passphrase line from file descriptor `fd` (through `/dev/fd`, so no unsafe code).
fn read_fd_line(fd: u32) -> anyhow::Result<SecretString> {
    let path = format!("/dev/fd/{fd}");
    let file = std::fs::File::open(&path)
        .with_context(|| format!("cannot read the passphrase from file descriptor {fd}"))?;
    first_line(file, &format!("file descriptor {fd}"))
}

/// Reads one byte at a time and ends after the first newline: a passphrase can come from a
/// descriptor its sender keeps open, and nothing after the line is consumed.
struct OneLine<R> {
    inner: R,
    done: bool,
}

impl<R: Read> Read for OneLine<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..1])?;
        self.done = n == 1 && buf[0] == b'\n';
        Ok(n)
    }
}

fn first_line(reader: impl Read, origin: &str) -> anyhow::Result<SecretString> {
    let reader = OneLine {
        inner: reader,
        done: false,
    };
    let text = hush_vault::read_secret(reader, 64 * 1024, origin)?;
    let line = text.split('\n').next().unwrap_or("");
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        bail!("the passphrase from {origin} is empty");
    }
    Ok(SecretString::from(line.to_owned()))
}

/// The passphrase file named by `HUSH_VAULT_PASSPHRASE_FILE`, which must be 0600 and ours.
fn read_passphrase_file(path: &Path) -> anyhow::Result<SecretString> {
    let file = std::fs::File::open(path).with_context(|| {
        format!(
            "cannot open `HUSH_VAULT_PASSPHRASE_FILE` `{}`",
            path.display()
        )
    })?;
    hush_vault::check_private_file(path, &file.metadata()?)
        .context("refusing the file named by `HUSH_VAULT_PASSPHRASE_FILE`")?;
    first_line(file, &format!("`{}`", path.display()))
}

fn keyring() -> anyhow::Result<OsKeyStore> {
    Ok(OsKeyStore::new(KEYRING_SERVICE)?)
}

fn passphrase_account(path: &Path) -> String {
    let canon = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    hush_vault::passphrase_account(&canon)
}

/// How the passphrase was obtained, to explain failures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Fd,
    File,
    Keyring,
    Prompt,
}

/// The passphrase of an existing vault: fd, file, keyring, then prompt.
fn passphrase(ctx: &Ctx) -> anyhow::Result<(SecretString, Source)> {
    if let Some(fd) = ctx.passphrase_fd {
        return Ok((read_fd_line(fd)?, Source::Fd));
    }
    if let Some(file) = std::env::var_os("HUSH_VAULT_PASSPHRASE_FILE").filter(|f| !f.is_empty()) {
        return Ok((read_passphrase_file(Path::new(&file))?, Source::File));
    }
    if let Ok(store) = keyring() {
        match store.get(&passphrase_account(&ctx.path)) {
            Ok(Some(p)) => return Ok((p, Source::Keyring)),
            Ok(None) => {}
            Err(e) => eprintln!("hush: note: not using the keyring: {e}"),
        }
    }
    if std::io::stdin().is_terminal() || std::io::stderr().is_terminal() {
        let p = prompt(&format!("passphrase for {}: ", ctx.path.display()))?;
        return Ok((p, Source::Prompt));
    }
    bail!(
        "no passphrase for `{}`: pass `--passphrase-fd N`, set `HUSH_VAULT_PASSPHRASE_FILE` to a 0600 file, or run `hush vault remember` once from a terminal",
        ctx.path.display()
    )
}

/// A no-echo prompt on the terminal.
fn prompt(text: &str) -> anyhow::Result<SecretString> {
    let mut p =
        rpassword::prompt_password(text).context("cannot read from the terminal (no echo)")?;
    let s = SecretString::from(p.as_str().to_owned());
    zeroize::Zeroize::zeroize(&mut p);
    Ok(s)
}

/// A new passphrase: from `fd`, or prompted twice.
fn new_passphrase(fd: Option<u32>, what: &str) -> anyhow::Result<SecretString> {
    let p = match fd {
        Some(fd) => read_fd_line(fd)?,
        None => {
            if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
                bail!("no terminal to prompt for the {what}: pass it with a file descriptor (`--passphrase-fd N`)");
            }
            let a = prompt(&format!("{what}: "))?;
            let b = prompt(&format!("{what} again: "))?;
            if a.expose_secret() != b.expose_secret() {
                bail!("the two passphrases differ; nothing was changed");
            }
            a
        }
    };
    if p.expose_secret().chars().count() < MIN_PASSPHRASE_LEN {
        bail!("the {what} is too short: use at least {MIN_PASSPHRASE_LEN} characters (a few random words are best)");
    }
    Ok(p)
}

pub(crate) fn unlock(ctx: &Ctx, for_update: bool) -> anyhow::Result<Vault> {
    Ok(unlock_from(ctx, for_update)?.0)
}

/// Unlocks the vault; also says where the passphrase came from.
fn unlock_from(ctx: &Ctx, for_update: bool) -> anyhow::Result<(Vault, Source)> {
    let (pass, source) = passphrase(ctx)?;
    let opened = if for_update {
        Vault::open_for_update(&ctx.path, &pass)
    } else {
        Vault::open(&ctx.path, &pass)
    };
    match opened {
        Err(e @ hush_vault::Error::WrongPassphrase { .. }) if source == Source::Keyring => {
            Err(anyhow::Error::new(e).context(
                "the passphrase stored in the keyring no longer unlocks the vault; run `hush vault forget`, then `hush vault remember`",
            ))
        }
        other => Ok((other?, source)),
    }
}

fn kdf(memory_mib: u32, passes: u32) -> anyhow::Result<KdfParams> {
    if memory_mib < 64 || passes < 3 {
        bail!("the KDF cost cannot go below the defaults (64 MiB, 3 passes)");
    }
    let kib = memory_mib
        .checked_mul(1024)
        .context("`--kdf-memory-mib` is too large")?;
    Ok(KdfParams::new(kib, passes, 1)?)
}

fn init(ctx: &Ctx, a: &InitArgs) -> anyhow::Result<Outcome> {
    let params = kdf(a.kdf_memory_mib, a.kdf_passes)?;
    if ctx.path.exists() {
        return Err(hush_vault::Error::AlreadyExists {
            path: ctx.path.clone(),
        }
        .into());
    }
    let pass = new_passphrase(ctx.passphrase_fd, "new vault passphrase")?;
    Vault::create(&ctx.path, &pass, params)?;
    eprintln!("hush: created vault `{}`", ctx.path.display());
    Ok(Outcome::Clean)
}

/// The value for `set`/`rotate`: stdin, generated, or prompted twice.
fn read_value(name: &str, src: &ValueSource) -> anyhow::Result<SecretString> {
    if let Some(len) = src.generate {
        return Ok(hush_vault::generate(len)?);
    }
    if src.from_stdin {
        let text = hush_vault::read_secret(
            std::io::stdin().lock(),
            hush_vault::MAX_VALUE_LEN + 2,
            "stdin",
        )?;
        let v = text.strip_suffix('\n').unwrap_or(&text);
        let v = v.strip_suffix('\r').unwrap_or(v);
        return Ok(SecretString::from(v.to_owned()));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no value for `{name}`: pass `--from-stdin` to read it from a pipe, or `--generate LEN`");
    }
    let a = prompt(&format!("value for {name}: "))?;
    let b = prompt(&format!("value for {name} again: "))?;
    if a.expose_secret() != b.expose_secret() {
        bail!("the two values differ; nothing was stored");
    }
    Ok(a)
}

fn parse_when(s: &str, now: SystemTime) -> anyhow::Result<Option<SystemTime>> {
    if s == "never" {
        return Ok(None);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(Some(t));
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(&format!("{s} 00:00:00")) {
        return Ok(Some(t));
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(Some(now + d));
    }
    bail!("cannot read the date `{s}`: use `2027-01-31`, `2027-01-31T12:00:00Z`, a duration such as `90d`, or `never`")
}

fn parse_duration(s: &str) -> anyhow::Result<Option<Duration>> {
    if s == "never" {
        return Ok(None);
    }
    humantime::parse_duration(s).map(Some).with_context(|| {
        format!("cannot read the duration `{s}`: use e.g. `90d`, `12weeks` or `never`")
    })
}

fn apply_meta(entry: &mut Entry, m: &Metadata, now: SystemTime) -> anyhow::Result<()> {
    if let Some(e) = &m.expires {
        entry.set_expires(parse_when(e, now)?);
    }
    if let Some(r) = &m.rotate_after {
        entry.set_rotate_after(parse_duration(r)?);
    }
    if !m.tags.is_empty() {
        entry.set_tags(m.tags.clone())?;
    }
    if let Some(d) = &m.description {
        entry.set_description(d.clone())?;
    }
    Ok(())
}

fn set(ctx: &Ctx, a: SetArgs) -> anyhow::Result<Outcome> {
    hush_vault::validate_name(&a.name)?;
    if a.source.from_stdin && ctx.passphrase_fd == Some(0) {
        bail!("stdin cannot carry both the passphrase and the value: pass the passphrase on another descriptor (`--passphrase-fd 3 3<file`)");
    }
    if a.keyring {
        let store = keyring()?;
        let value = read_value(&a.name, &a.source)?;
        store.set(&a.name, &value)?;
        eprintln!("hush: stored `{}` in the OS keyring", a.name);
        return Ok(Outcome::Clean);
    }
    // Unlock first, so a wrong passphrase is found before the value is typed; lock only once
    // the value is in hand, so other writers never wait on a prompt.
    let mut vault = unlock(ctx, false)?;
    let value = read_value(&a.name, &a.source)?;
    vault.lock_for_update()?;
    let now = SystemTime::now();
    let verb = match vault.get_mut(&a.name) {
        Some(entry) => {
            entry.set_value(value, now)?;
            apply_meta(entry, &a.meta, now)?;
            "updated"
        }
        None => {
            let mut entry = Entry::new(&a.name, value, now)?;
            apply_meta(&mut entry, &a.meta, now)?;
            vault.insert(entry);
            "stored"
        }
    };
    vault.save()?;
    eprintln!("hush: {verb} `{}`", a.name);
    Ok(Outcome::Clean)
}

/// Writes a secret-bearing buffer to stdout, refusing a terminal unless allowed.
fn print_secret(text: &str, allowed: bool, what: &str) -> anyhow::Result<()> {
    let out = std::io::stdout();
    if out.is_terminal() && !allowed {
        bail!("refusing to print {what} to a terminal; pipe or redirect it, or pass `--dangerous-print`");
    }
    let mut lock = out.lock();
    lock.write_all(text.as_bytes())?;
    lock.flush()?;
    Ok(())
}

fn get(ctx: &Ctx, a: &GetArgs) -> anyhow::Result<Outcome> {
    hush_vault::validate_name(&a.name)?;
    let value = if a.keyring {
        keyring()?
            .get(&a.name)?
            .with_context(|| format!("no secret named `{}` in the OS keyring", a.name))?
    } else {
        let vault = unlock(ctx, false)?;
        let entry = vault
            .get(&a.name)
            .ok_or_else(|| hush_vault::Error::NoSuchEntry {
                name: a.name.clone(),
            })?;
        let now = SystemTime::now();
        match entry.status(now) {
            EntryStatus::Expired => eprintln!("hush: warning: `{}` has expired", a.name),
            EntryStatus::RotationDue => {
                eprintln!("hush: warning: `{}` is due for rotation", a.name)
            }
            _ => {}
        }
        SecretString::from(entry.value().expose_secret().to_owned())
    };
    let mut line = Zeroizing::new(String::with_capacity(value.expose_secret().len() + 1));
    line.push_str(value.expose_secret());
    line.push('\n');
    print_secret(&line, a.dangerous_print, "a secret")?;
    Ok(Outcome::Clean)
}

fn date(t: SystemTime) -> String {
    let s = humantime::format_rfc3339_seconds(t).to_string();
    s.get(..10).unwrap_or(&s).to_owned()
}

fn status_word(s: EntryStatus) -> &'static str {
    match s {
        EntryStatus::Expired => "EXPIRED",
        EntryStatus::RotationDue => "ROTATE",
        _ => "ok",
    }
}

fn list(ctx: &Ctx, a: &ListArgs) -> anyhow::Result<Outcome> {
    let vault = unlock(ctx, false)?;
    let now = SystemTime::now();
    let mut flagged = 0;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match a.format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = vault
                .entries()
                .map(|e| {
                    let st = e.status(now);
                    if st != EntryStatus::Ok {
                        flagged += 1;
                    }
                    serde_json::json!({
                        "name": e.name(),
                        "created": humantime::format_rfc3339_seconds(e.created()).to_string(),
                        "updated": humantime::format_rfc3339_seconds(e.updated()).to_string(),
                        "expires": e.expires().map(|t| humantime::format_rfc3339_seconds(t).to_string()),
                        "rotate_after_seconds": e.rotate_after().map(|d| d.as_secs()),
                        "status": match st {
                            EntryStatus::Expired => "expired",
                            EntryStatus::RotationDue => "rotation-due",
                            _ => "ok",
                        },
                        "tags": e.tags(),
                        "description": e.description(),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        Format::Text => {
            let width = vault
                .entries()
                .map(|e| e.name().len())
                .max()
                .unwrap_or(4)
                .max(4);
            writeln!(
                out,
                "{:width$}  {:10}  {:10}  {:10}  {:7}  TAGS",
                "NAME", "CREATED", "UPDATED", "EXPIRES", "STATUS"
            )?;
            for e in vault.entries() {
                let st = e.status(now);
                if st != EntryStatus::Ok {
                    flagged += 1;
                }
                writeln!(
                    out,
                    "{:width$}  {:10}  {:10}  {:10}  {:7}  {}",
                    e.name(),
                    date(e.created()),
                    date(e.updated()),
                    e.expires().map_or_else(|| "-".to_owned(), date),
                    status_word(st),
                    e.tags().join(",")
                )?;
            }
            writeln!(
                out,
                "{} secrets, {} expired or due for rotation",
                vault.len(),
                flagged
            )?;
        }
    }
    out.flush()?;
    Ok(if a.check && flagged > 0 {
        Outcome::Failed
    } else {
        Outcome::Clean
    })
}

fn rm(ctx: &Ctx, a: &RmArgs) -> anyhow::Result<Outcome> {
    hush_vault::validate_name(&a.name)?;
    if a.keyring {
        if !keyring()?.delete(&a.name)? {
            bail!("no secret named `{}` in the OS keyring", a.name);
        }
        eprintln!("hush: removed `{}` from the OS keyring", a.name);
        return Ok(Outcome::Clean);
    }
    let mut vault = unlock(ctx, true)?;
    vault.remove(&a.name)?;
    vault.save()?;
    eprintln!("hush: removed `{}`", a.name);
    Ok(Outcome::Clean)
}

fn rotate(ctx: &Ctx, a: &RotateArgs) -> anyhow::Result<Outcome> {
    hush_vault::validate_name(&a.name)?;
    if a.source.from_stdin && ctx.passphrase_fd == Some(0) {
        bail!("stdin cannot carry both the passphrase and the value: pass the passphrase on another descriptor (`--passphrase-fd 3 3<file`)");
    }
    let mut vault = unlock(ctx, true)?;
    if vault.get(&a.name).is_none() {
        return Err(hush_vault::Error::NoSuchEntry {
            name: a.name.clone(),
        }
        .into());
    }
    let value = read_value(&a.name, &a.source)?;
    let entry = vault
        .get_mut(&a.name)
        .context("entry vanished under the lock")?;
    if entry.value().expose_secret() == value.expose_secret() {
        bail!(
            "the new value of `{}` is the old one; nothing was changed",
            a.name
        );
    }
    entry.set_value(value, SystemTime::now())?;
    vault.save()?;
    eprintln!("hush: rotated `{}`", a.name);
    Ok(Outcome::Clean)
}

fn passwd(ctx: &Ctx, a: &PasswdArgs) -> anyhow::Result<Outcome> {
    let (mut vault, source) = unlock_from(ctx, false)?;
    let current = vault.kdf();
    let params = if a.kdf_memory_mib.is_some() || a.kdf_passes.is_some() {
        let mib = a.kdf_memory_mib.unwrap_or(current.memory_kib() / 1024);
        let passes = a.kdf_passes.unwrap_or(current.passes());
        let p = kdf(mib, passes)?;
        if p.memory_kib() < current.memory_kib() || p.passes() < current.passes() {
            bail!("`hush vault passwd` only raises the KDF cost");
        }
        Some(p)
    } else {
        None
    };
    let new = new_passphrase(a.new_passphrase_fd, "new vault passphrase")?;
    vault.lock_for_update()?;
    vault.change_passphrase(&new, params)?;
    vault.save()?;
    if source == Source::Keyring {
        keyring()?.set(&passphrase_account(&ctx.path), &new)?;
        eprintln!("hush: updated the passphrase in the OS keyring too");
    }
    eprintln!("hush: changed the passphrase of `{}`", ctx.path.display());
    Ok(Outcome::Clean)
}

fn import_env(ctx: &Ctx, a: &ImportArgs) -> anyhow::Result<Outcome> {
    let origin = a.file.display().to_string();
    let file = std::fs::File::open(&a.file).with_context(|| format!("cannot open `{origin}`"))?;
    let text = hush_vault::read_secret(file, hush_vault::MAX_ENV_INPUT, &origin)?;
    let pairs = hush_vault::parse_env_format(&text, &origin)?;
    let mut vault = unlock(ctx, true)?;
    let now = SystemTime::now();
    let (mut added, mut replaced, mut skipped) = (0, 0, Vec::new());
    for (name, value) in pairs {
        match vault.get_mut(&name) {
            Some(_) if !a.overwrite => skipped.push(name),
            Some(entry) => {
                entry.set_value(value, now)?;
                replaced += 1;
            }
            None => {
                vault.insert(Entry::new(&name, value, now)?);
                added += 1;
            }
        }
    }
    vault.save()?;
    eprintln!("hush: imported {added} new and {replaced} replaced secrets from `{origin}`");
    if !skipped.is_empty() {
        eprintln!(
            "hush: skipped {} that already exist (use `--overwrite`): {}",
            skipped.len(),
            skipped.join(", ")
        );
    }
    Ok(Outcome::Clean)
}

/// `'...'` with embedded single quotes as `'\''`.
fn shell_quote(value: &str, out: &mut String) {
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
}

fn export(ctx: &Ctx, a: &ExportArgs) -> anyhow::Result<Outcome> {
    debug_assert!(a.shell);
    if std::io::stdout().is_terminal() && !a.dangerous_print {
        bail!("refusing to print secrets to a terminal; use `eval \"$(hush vault export --shell)\"`, pipe it, or pass `--dangerous-print`");
    }
    let vault = unlock(ctx, false)?;
    // INVARIANT: the exact size of the output, so the buffer holding every value never
    // reallocates (which would leave an unwiped copy behind).
    let size: usize = vault
        .entries()
        .map(|e| {
            let v = e.value().expose_secret();
            "export =''\n".len() + e.name().len() + v.len() + 3 * v.matches('\'').count()
        })
        .sum();
    let mut text = Zeroizing::new(String::with_capacity(size));
    for e in vault.entries() {
        if e.name().contains(['.', '-']) {
            eprintln!(
                "hush: note: skipped `{}`: not a valid shell variable name",
                e.name()
            );
            continue;
        }
        text.push_str("export ");
        text.push_str(e.name());
        text.push('=');
        shell_quote(e.value().expose_secret(), &mut text);
        text.push('\n');
    }
    debug_assert_eq!(text.capacity(), size, "the export buffer reallocated");
    print_secret(&text, a.dangerous_print, "secrets")?;
    Ok(Outcome::Clean)
}

fn remember(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let store = keyring()?;
    let (pass, _) = passphrase(ctx)?;
    Vault::open(&ctx.path, &pass)?;
    store.set(&passphrase_account(&ctx.path), &pass)?;
    eprintln!(
        "hush: the OS keyring now holds the passphrase of `{}`; `hush vault forget` removes it",
        ctx.path.display()
    );
    Ok(Outcome::Clean)
}

fn forget(ctx: &Ctx) -> anyhow::Result<Outcome> {
    if keyring()?.delete(&passphrase_account(&ctx.path))? {
        eprintln!(
            "hush: removed the passphrase of `{}` from the OS keyring",
            ctx.path.display()
        );
    } else {
        eprintln!(
            "hush: the OS keyring held no passphrase for `{}`",
            ctx.path.display()
        );
    }
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_stops_at_the_newline() {
        let mut src = &b"pass phrase\nrest"[..];
        let p = first_line(&mut src, "t").unwrap();
        assert_eq!(p.expose_secret(), "pass phrase");
        assert_eq!(src, b"rest", "nothing after the line is consumed");
        assert!(first_line(&b"\n"[..], "t").is_err());
    }

    #[test]
    fn shell_quoting() {
        let mut s = String::new();
        shell_quote("a'b $c", &mut s);
        assert_eq!(s, "'a'\\''b $c'");
    }

    #[test]
    fn dates_and_durations() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let d = parse_when("2027-01-31", now).unwrap().unwrap();
        assert_eq!(date(d), "2027-01-31");
        assert_eq!(
            parse_when("1d", now).unwrap().unwrap(),
            now + Duration::from_secs(86_400)
        );
        assert!(parse_when("never", now).unwrap().is_none());
        assert!(parse_when("soon", now).is_err());
        assert_eq!(
            parse_duration("90d").unwrap(),
            Some(Duration::from_secs(90 * 86_400))
        );
    }
}
