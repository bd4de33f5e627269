//! `redact`: a streaming stdin→stdout filter that never lets a secret through.
//!
//! Glue only: flags become a `RuleSet`, `KnownValues` and `Options`; `hush_stream::copy` does the
//! work. Exit codes: 0 done, 1 with `--check` when anything was redacted, 2 on a usage error, an
//! unreadable rule or value file, or when the stream could not be proven clean (fail closed).

#![forbid(unsafe_code)]
// The binary's job is to print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use hush_patterns::{KnownValuesBuilder, RuleSetBuilder};
use hush_stream::{HashKey, Options, Redactor, StreamError, Style};
use zeroize::Zeroizing;

const EXAMPLES: &str = "\
Examples:
  some-cmd 2>&1 | redact
  kubectl logs -f deploy/api | redact
  tail -f app.log | redact > clean.log
  cat transcript.jsonl | redact --json
  redact --values-from-env DB_PASSWORD STRIPE_KEY < app.log     # also exact values, any encoding
  redact --style prefix < app.log                              # ghp_**** instead of [REDACTED:...]
  HUSH_HASH_KEY=... redact --style hash --hash-key-env HUSH_HASH_KEY < app.log
  redact --check --report < build.log                          # CI: exit 1 if anything was redacted
  redact --rules .gitleaks.toml --disable hush.generic.token-env < app.log";

/// Redact secrets from a stream: stdin to stdout, line by line as it arrives.
#[derive(Debug, Parser)]
#[command(name = "redact", version, about, after_help = EXAMPLES)]
struct Args {
    /// Load rules from FILE too (hush or gitleaks TOML; repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Leave out the built-in rule pack.
    #[arg(long)]
    no_builtin: bool,
    /// Disable a rule by id (repeatable; see `hush rules list`).
    #[arg(long, value_name = "ID")]
    disable: Vec<String>,
    /// Also redact the values of these environment variables, verbatim and encoded.
    #[arg(long, value_name = "NAME", num_args = 1..)]
    values_from_env: Vec<String>,
    /// Also redact the values in FILE, one per line; the file must be mode 0600 or stricter.
    #[arg(long, value_name = "FILE")]
    values_file: Option<PathBuf>,
    /// Replacement style.
    #[arg(long, value_enum, default_value_t = StyleArg::Label)]
    style: StyleArg,
    /// Key file for `--style hash` (at least 16 bytes; mode 0600 or stricter).
    #[arg(long, value_name = "FILE", conflicts_with = "hash_key_env")]
    hash_key_file: Option<PathBuf>,
    /// Environment variable holding the key for `--style hash`.
    #[arg(long, value_name = "NAME")]
    hash_key_env: Option<String>,
    /// Keep each JSON line valid JSON after redaction.
    #[arg(long)]
    json: bool,
    /// Print redaction counts per rule to stderr at the end (never values).
    #[arg(long)]
    report: bool,
    /// Exit 1 if anything was redacted (for CI).
    #[arg(long)]
    check: bool,
    /// Longest time bytes that may still be a secret are held when input pauses; after that they
    /// are redacted, not released. Milliseconds, or with a unit: 250ms, 2s.
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_duration)]
    max_delay: Duration,
    /// Most bytes held for redaction before stopping with an error (exit 2) rather than pass
    /// unchecked bytes. Bytes, or with a unit: 64MiB, 1GiB.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    max_buffer: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StyleArg {
    /// [REDACTED:<rule-id>]
    Label,
    /// ***
    Mask,
    /// keep the token prefix: ghp_****
    Prefix,
    /// [REDACTED:<rule-id>:<8 hex of an HMAC>]: equal secrets correlate, none can be recovered
    Hash,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = split_unit(s);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; use e.g. 100ms or 2s"))?;
    match unit {
        "" | "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        _ => Err(format!("unknown unit in `{s}`; use ms or s")),
    }
}

fn parse_size(s: &str) -> Result<usize, String> {
    let (num, unit) = split_unit(s);
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size; use e.g. 64MiB"))?;
    let mult: usize = match unit {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return Err(format!("unknown unit in `{s}`; use KiB, MiB or GiB")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

fn split_unit(s: &str) -> (&str, &str) {
    let at = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (&s[..at], &s[at..])
}

/// Refuses files readable or writable by group or others.
fn require_private(path: &Path, what: &str) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read {what} `{}`", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "{what} `{}` is accessible to other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    Ok(())
}

fn build(args: &Args) -> anyhow::Result<Redactor> {
    let mut builder = RuleSetBuilder::new();
    builder.builtin(!args.no_builtin);
    for file in &args.rules {
        for note in builder.add_path(file)? {
            eprintln!("redact: note: {note}");
        }
    }
    for id in &args.disable {
        builder.disable(id);
    }
    let rules = builder.build()?;
    let mut known = KnownValuesBuilder::new();
    for name in &args.values_from_env {
        let value = std::env::var_os(name).with_context(|| {
            format!("environment variable `{name}` (from --values-from-env) is not set")
        })?;
        known.add(name, value.as_encoded_bytes())?;
    }
    if let Some(path) = &args.values_file {
        known.add_file(path)?;
    }
    let style = match args.style {
        StyleArg::Label => Style::Label,
        StyleArg::Mask => Style::Mask,
        StyleArg::Prefix => Style::KeepPrefix,
        StyleArg::Hash => {
            let key = if let Some(path) = &args.hash_key_file {
                require_private(path, "hash key file")?;
                let data = zeroizing_read(path, "hash key file")?;
                HashKey::new(data.trim_ascii_end())?
            } else if let Some(name) = &args.hash_key_env {
                let value = std::env::var_os(name).with_context(|| {
                    format!("environment variable `{name}` (from --hash-key-env) is not set")
                })?;
                HashKey::new(value.as_encoded_bytes())?
            } else {
                bail!("--style hash needs a key: --hash-key-file FILE or --hash-key-env NAME");
            };
            Style::KeyedHash(key)
        }
    };
    if args.style != StyleArg::Hash && (args.hash_key_file.is_some() || args.hash_key_env.is_some())
    {
        bail!("--hash-key-file and --hash-key-env only apply to --style hash");
    }
    let mut opts = Options::with_style(style);
    opts.json = args.json;
    opts.max_buffer = args.max_buffer;
    opts.threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    // Built against the rules: one prefilter pass finds rule matches and values together.
    let known = known.build_for(&rules)?;
    Ok(Redactor::new(Arc::new(rules), Arc::new(known), opts)?)
}

/// Reads a small secret-bearing file into memory that is wiped on drop.
fn zeroizing_read(path: &Path, what: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let read = || -> std::io::Result<Zeroizing<Vec<u8>>> {
        let mut f = std::fs::File::open(path)?;
        // Pre-sized so the buffer never reallocates and leaves unwiped copies behind.
        let len = usize::try_from(f.metadata()?.len()).unwrap_or(usize::MAX);
        let mut buf = Zeroizing::new(Vec::with_capacity(len.saturating_add(1)));
        f.read_to_end(&mut buf)?;
        Ok(buf)
    };
    read().with_context(|| format!("cannot read {what} `{}`", path.display()))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut redactor = match build(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("redact: error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = hush_stream::copy(stdin, &mut out, &mut redactor, args.max_delay);
    let counts = redactor.counts().clone();
    match result {
        Ok(()) => {}
        Err(StreamError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            return ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = out.flush();
            eprintln!("redact: error: {e}");
            return ExitCode::from(2);
        }
    }
    if args.report {
        let mut err = std::io::stderr().lock();
        let total: u64 = counts.values().sum();
        let _ = writeln!(err, "redact: {total} redaction(s)");
        for (rule, n) in &counts {
            let _ = writeln!(err, "  {n:8}  {rule}");
        }
    }
    if args.check && !counts.is_empty() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
