//! `hush scan`: find secrets in files, stdin, the git index or git history.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use hush_patterns::{KnownValuesBuilder, RuleSet, RuleSetBuilder};
use hush_scan::git::{self, HistoryOptions};
use hush_scan::report::{self, Format, RenderOptions};
use hush_scan::{Baseline, BaselineOutcome, Config, Coverage, Outcome, Scanner, WalkOptions};

use crate::Outcome as Exit;

#[derive(Debug, Args)]
#[command(after_help = "\
Exit status: 0 no findings, 1 findings, 2 error.

Examples:
  hush scan                         # the current directory
  hush scan --staged                # what `git commit` is about to record (pre-commit)
  hush scan --git                   # all of history, every ref
  hush scan --git main..HEAD        # commits of this branch
  hush scan --format sarif -o hush.sarif
  kubectl logs pod | hush scan -    # a stream")]
pub(crate) struct ScanArgs {
    /// Files or directories to scan (default: `.`); `-` reads stdin.
    paths: Vec<PathBuf>,
    /// Scan exactly what is staged in the git index (for pre-commit hooks).
    #[arg(long, conflicts_with_all = ["git", "paths"])]
    staged: bool,
    /// Scan lines added by git history: all refs, or a revision range such as `main..HEAD`.
    #[arg(long, value_name = "RANGE", num_args = 0..=1, default_missing_value = "", conflicts_with = "paths")]
    git: Option<String>,
    /// With --git: only commits after COMMIT.
    #[arg(long, value_name = "COMMIT", requires = "git")]
    since_commit: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print secrets in full in every format (default: masked).
    #[arg(long)]
    show_secrets: bool,
    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Ignore findings accepted in this baseline file (default: `[scan] baseline` of .hush.toml).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write every current finding to the baseline (keeping reasons and expiry dates of entries
    /// still found, dropping stale ones) and exit 0. With `--git`, new entries are marked
    /// `history = true`, which file scans leave alone.
    #[arg(long)]
    update_baseline: bool,
    /// A configuration: a gitleaks config (its rules are added), a hush rule file, or a
    /// `.hush.toml`-style file with a `[scan]` table (default: `.hush.toml` at the repository root).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Don't read `.hush.toml`.
    #[arg(long)]
    no_config: bool,
    #[command(flatten)]
    source: crate::rules::RuleSource,
    /// Also find the values of these environment variables, verbatim and encoded.
    #[arg(long, value_name = "NAME", num_args = 1..)]
    values_from_env: Vec<String>,
    /// Also find the values in FILE, one per line (mode 0600 or stricter).
    #[arg(long, value_name = "FILE")]
    values_file: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Don't honour .gitignore, .ignore and .hushignore files.
    #[arg(long)]
    no_ignore: bool,
    /// Skip hidden files and directories (they are scanned by default: `.env` lives there).
    #[arg(long)]
    skip_hidden: bool,
    /// Skip files larger than SIZE (e.g. `50M`; default: no limit, large files are streamed).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_filesize: Option<u64>,
    /// Follow symbolic links.
    #[arg(long)]
    follow: bool,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
    /// No summary on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Text,
    Json,
    Jsonl,
    Sarif,
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size; write e.g. 50M"))?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("unknown unit in `{s}`; use K, M or G")),
    };
    Ok(n.saturating_mul(mult))
}

/// Where the scan is anchored: the repository root, or the current directory outside git.
fn anchor() -> PathBuf {
    let cwd = PathBuf::from(".");
    git::repo_root(&cwd).unwrap_or(cwd)
}

pub(crate) fn run(args: ScanArgs) -> anyhow::Result<Exit> {
    let started = Instant::now();
    let root = anchor();
    // Configuration: --config (a .hush.toml-style file or rules), else .hush.toml at the root.
    // A `--config` that is a rule file or gitleaks configuration: already read, parsed once more
    // as rules below.
    let mut config_rules: Option<(&Path, String)> = None;
    let mut config = None;
    let mut path_allow = hush_scan::PathAllow::default();
    if let Some(file) = &args.config {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read config `{}`", file.display()))?;
        if text.lines().any(|l| l.trim() == "[scan]") {
            config = Some(Config::parse(file, &text)?);
        } else {
            // A rule file or a gitleaks configuration, whose allowlist paths exclude files.
            path_allow = hush_scan::PathAllow::from_gitleaks(file, &text)?;
            config_rules = Some((file, text));
        }
    } else if !args.no_config {
        config = Config::find(&root)?;
    }
    let scan_cfg = config.as_ref().map(|c| c.scan.clone()).unwrap_or_default();

    let mut builder = RuleSetBuilder::new();
    builder.builtin(!(args.source.no_builtin || scan_cfg.no_builtin));
    let mut notes = Vec::new();
    for file in &scan_cfg.rules {
        notes.extend(builder.add_path(file)?);
    }
    if let Some((file, text)) = &config_rules {
        notes.extend(builder.add_toml(file, text)?);
    }
    for file in &args.source.rules {
        notes.extend(builder.add_path(file)?);
    }
    // hush scan honours global allowlist paths itself (`PathAllow`).
    for note in notes.iter().filter(|n| !n.global_paths) {
        if !args.quiet {
            eprintln!("hush: note: {note}");
        }
    }
    for id in scan_cfg.disable.iter().chain(&args.source.disable) {
        builder.disable(id);
    }
    let rules = Arc::new(builder.build()?);
    let known = known_values(&args, &rules)?;
    let scanner = Scanner::new(rules.clone(), known).with_path_allow(path_allow);

    let progress =
        Progress::new(!args.no_progress && !args.quiet && std::io::stderr().is_terminal());
    let stdin_only = args.paths.len() == 1 && args.paths[0] == Path::new("-");
    if args.update_baseline {
        // An update drops the entries the scan did not see: only a full scan may write one.
        let partial = if args.staged {
            Some("--staged")
        } else if args.git.as_ref().is_some_and(|r| !r.is_empty()) {
            Some("a --git range")
        } else if args.since_commit.is_some() {
            Some("--since-commit")
        } else if args.paths.iter().any(|p| p == Path::new("-")) {
            Some("stdin")
        } else {
            None
        };
        if let Some(what) = partial {
            bail!(
                "--update-baseline needs a full scan (the files, or `--git` with no range): a scan of {what} would drop the entries it does not see"
            );
        }
    }
    let coverage = if args.git.is_some() {
        Coverage::History
    } else {
        Coverage::Files
    };
    let full_scan; // whether every finding of the target was seen (for stale baseline entries)
    let outcome: Outcome = if args.staged {
        full_scan = false;
        git::staged(&scanner, Path::new("."))?
    } else if let Some(range) = &args.git {
        let range = (!range.is_empty()).then(|| range.clone());
        full_scan = range.is_none() && args.since_commit.is_none();
        let opts = HistoryOptions::new(range, args.since_commit.clone(), args.threads);
        git::history(&scanner, Path::new("."), &opts)?
    } else if stdin_only {
        full_scan = false;
        let mut stats = Default::default();
        let label: Arc<str> = Arc::from("-");
        let detections = scanner.scan_reader(&label, std::io::stdin().lock(), false, &mut stats)?;
        Outcome::new(detections, stats)
    } else {
        if args.paths.iter().any(|p| p == Path::new("-")) {
            bail!("`-` (stdin) cannot be combined with other paths");
        }
        let paths = if args.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.paths.clone()
        };
        full_scan = true;
        let mut walk = WalkOptions::default();
        walk.threads = args.threads;
        walk.respect_ignore = !args.no_ignore;
        walk.skip_hidden = args.skip_hidden;
        walk.max_file_size = args.max_filesize;
        walk.follow_links = args.follow;
        walk.exclude = scan_cfg.ignore.clone();
        if let Some(dir) = config.as_ref().and_then(|c| c.file.parent()) {
            walk.exclude_root = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir.to_path_buf()
            };
        }
        scanner.scan_paths(&paths, &walk, &|bytes| progress.file(bytes))?
    };
    progress.finish();

    // Baseline.
    let baseline_path = args.baseline.clone().or(scan_cfg.baseline.clone());
    let mut baseline_report = None;
    let stats = outcome.stats.clone();
    let detections = if args.update_baseline {
        let path = baseline_path
            .clone()
            .unwrap_or_else(|| root.join(".hush-baseline.toml"));
        let old = if path.exists() {
            Baseline::load(&path)?
        } else {
            Baseline::new_random()?
        };
        let new = old.updated(&outcome.detections, coverage);
        new.save(&path)?;
        if !args.quiet {
            eprintln!(
                "hush: wrote {} entries to `{}`",
                new.entries().len(),
                path.display()
            );
        }
        return Ok(Exit::Clean);
    } else if let Some(path) = &baseline_path {
        let baseline = Baseline::load(path)?;
        let (keep, report) = baseline.apply(outcome.detections, hush_scan::today());
        baseline_report = Some((path.clone(), report));
        keep
    } else {
        outcome.detections
    };

    // Report.
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Jsonl => Format::JsonLines,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Junit => Format::Junit,
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let opts = RenderOptions::new(&rules, env!("CARGO_PKG_VERSION"))
        .show_secrets(args.show_secrets)
        .color(color);
    match &args.output {
        Some(file) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(file)
                    .with_context(|| format!("cannot create `{}`", file.display()))?,
            );
            report::render(format, &detections, &opts, &mut f)?;
            f.flush()
                .with_context(|| format!("cannot write `{}`", file.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            report::render(format, &detections, &opts, &mut out)?;
            out.flush()?;
        }
    }
    if !args.quiet {
        summary(
            &stats,
            &detections,
            baseline_report.as_ref(),
            full_scan.then_some(coverage),
            started.elapsed(),
        );
    }
    Ok(if detections.is_empty() {
        Exit::Clean
    } else {
        Exit::Failed
    })
}

fn known_values(
    args: &ScanArgs,
    rules: &RuleSet,
) -> anyhow::Result<Option<Arc<hush_patterns::KnownValues>>> {
    if args.values_from_env.is_empty() && args.values_file.is_none() {
        return Ok(None);
    }
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
    Ok(Some(Arc::new(known.build_for(rules)?)))
}

fn summary(
    stats: &hush_scan::Stats,
    detections: &[hush_scan::Detection],
    baseline: Option<&(PathBuf, BaselineOutcome)>,
    // Set for a full scan: which baseline entries it answers for (for stale ones).
    full: Option<Coverage>,
    took: Duration,
) {
    let mut line = format!(
        "hush: scanned {} {} ({}) in {:.2} s",
        stats.files,
        if stats.commits > 0 {
            format!("file changes in {} commits", stats.commits)
        } else if stats.files == 1 {
            "file".into()
        } else {
            "files".into()
        },
        human_bytes(stats.bytes),
        took.as_secs_f64()
    );
    if stats.binary_skipped > 0 {
        line.push_str(&format!(", {} binary skipped", stats.binary_skipped));
    }
    if stats.path_allowed > 0 {
        line.push_str(&format!(", {} allowlisted by path", stats.path_allowed));
    }
    let mut per_rule: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in detections {
        *per_rule.entry(&d.rule_id).or_default() += 1;
    }
    match detections.len() {
        0 => line.push_str(": no secrets found"),
        n => {
            let rules: Vec<String> = per_rule.iter().map(|(r, c)| format!("{r} {c}")).collect();
            line.push_str(&format!(
                ": {n} finding{} ({})",
                if n == 1 { "" } else { "s" },
                rules.join(", ")
            ));
        }
    }
    if stats.allowed_inline > 0 {
        line.push_str(&format!("; {} allowed inline", stats.allowed_inline));
    }
    if let Some((_, b)) = baseline {
        if b.suppressed > 0 {
            line.push_str(&format!("; {} in baseline", b.suppressed));
        }
    }
    eprintln!("{line}");
    if let Some((path, b)) = baseline {
        for e in &b.expired {
            eprintln!(
                "hush: baseline `{}`: entry for rule `{}`{} expired on {}; the finding is reported again",
                path.display(),
                e.rule,
                e.path.as_ref().map(|p| format!(" ({p})")).unwrap_or_default(),
                e.expires.map(|d| d.to_string()).unwrap_or_default()
            );
        }
        let stale = full.map(|c| b.stale_in(c)).unwrap_or_default();
        if !stale.is_empty() {
            eprintln!(
                "hush: baseline `{}`: {} stale entr{} no longer found (run `hush scan{} --update-baseline` to drop them):",
                path.display(),
                stale.len(),
                if stale.len() == 1 { "y" } else { "ies" },
                if matches!(full, Some(Coverage::History)) {
                    " --git"
                } else {
                    ""
                }
            );
            for e in stale {
                eprintln!(
                    "  {} {}",
                    e.rule,
                    e.path.as_deref().unwrap_or("(path not recorded)")
                );
            }
        }
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// A progress line on a terminal for long scans: it appears after one second, so quick scans
/// (a pre-commit run) never flash one.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    files: AtomicU64,
    bytes: AtomicU64,
}

/// How long a scan runs before its progress line appears.
const PROGRESS_DELAY: Duration = Duration::from_secs(1);

impl Progress {
    fn new(enabled: bool) -> Progress {
        let bar = enabled.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::hidden(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} scanning: {msg} ({binary_bytes_per_sec}, {elapsed})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message("starting");
            bar.enable_steady_tick(Duration::from_millis(120));
            let later = bar.clone();
            std::thread::spawn(move || {
                std::thread::sleep(PROGRESS_DELAY);
                if !later.is_finished() {
                    later.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
            });
            bar
        });
        Progress {
            bar,
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    fn file(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            let files = self.files.fetch_add(1, Ordering::Relaxed) + 1;
            let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
            bar.set_position(total);
            if files % 64 == 1 {
                bar.set_message(format!("{files} files, {}", human_bytes(total)));
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
