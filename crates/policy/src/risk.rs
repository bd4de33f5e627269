//! Risk assessment: flags raised by what a request touches and what its arguments look like,
//! independent of the rules. The policy's `[risk]` table maps the highest level to an effect.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use hush_patterns::RuleSet;

use crate::paths::{expand_home, has_dotdot, has_encoded_traversal, is_within, normalize, Context};
use crate::types::{Risk, RiskKind, RiskLevel};

/// Credential stores, keys, keychains and browser profiles, with the level reading one means.
/// `~` is the context's home.
const SENSITIVE: &[(&str, RiskLevel)] = &[
    ("~/.ssh/id_*", RiskLevel::Critical),
    ("~/.ssh/**", RiskLevel::High),
    ("**/id_rsa", RiskLevel::Critical),
    ("**/id_ed25519", RiskLevel::Critical),
    ("**/id_ecdsa", RiskLevel::Critical),
    ("/etc/shadow", RiskLevel::Critical),
    ("/etc/gshadow", RiskLevel::Critical),
    ("/etc/sudoers", RiskLevel::High),
    ("/etc/sudoers.d/**", RiskLevel::High),
    ("/etc/ssh/ssh_host_*_key", RiskLevel::Critical),
    ("/proc/*/environ", RiskLevel::Critical),
    ("/proc/*/mem", RiskLevel::Critical),
    ("/root/**", RiskLevel::High),
    ("~/.aws/**", RiskLevel::High),
    ("~/.azure/**", RiskLevel::High),
    ("~/.config/gcloud/**", RiskLevel::High),
    ("~/.kube/**", RiskLevel::High),
    ("~/.docker/config.json", RiskLevel::High),
    ("~/.gnupg/**", RiskLevel::High),
    ("~/.password-store/**", RiskLevel::High),
    ("~/.netrc", RiskLevel::High),
    ("~/.git-credentials", RiskLevel::High),
    ("~/.npmrc", RiskLevel::High),
    ("~/.pypirc", RiskLevel::High),
    ("~/.cargo/credentials*", RiskLevel::High),
    ("~/.config/gh/hosts.yml", RiskLevel::High),
    ("~/.config/hush/**", RiskLevel::High),
    ("~/.local/share/keyrings/**", RiskLevel::High),
    ("~/Library/Keychains/**", RiskLevel::High),
    ("**/*.keychain", RiskLevel::High),
    ("**/*.keychain-db", RiskLevel::High),
    ("~/.mozilla/**", RiskLevel::High),
    ("~/.config/google-chrome/**", RiskLevel::High),
    ("~/.config/chromium/**", RiskLevel::High),
    ("~/.config/BraveSoftware/**", RiskLevel::High),
    (
        "~/Library/Application Support/Google/Chrome/**",
        RiskLevel::High,
    ),
    ("~/Library/Application Support/Firefox/**", RiskLevel::High),
    ("**/.env", RiskLevel::High),
    ("**/.env.*", RiskLevel::High),
    ("**/*.pem", RiskLevel::High),
    ("**/*.p12", RiskLevel::High),
    ("**/*.pfx", RiskLevel::High),
    ("**/*.kdbx", RiskLevel::High),
];

/// Programs that delete or overwrite what their path arguments name.
const DESTRUCTIVE: &[&str] = &[
    "rm", "rmdir", "unlink", "shred", "truncate", "mv", "dd", "mkfs", "wipefs", "srm",
];

/// Programs that talk to the network.
const NETWORK: &[&str] = &[
    "curl", "wget", "ssh", "scp", "sftp", "rsync", "nc", "ncat", "netcat", "socat", "telnet",
    "ftp", "http", "https", "aria2c",
];

/// Shells: running one means running a string as code.
pub(crate) const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "ash",
    "fish",
    "csh",
    "tcsh",
    "busybox",
    "pwsh",
    "powershell",
    "cmd",
    "cmd.exe",
    "powershell.exe",
];

/// Interpreters and the flags with which they run inline code.
const INLINE_CODE: &[(&str, &[&str])] = &[
    ("python", &["-c"]),
    ("python3", &["-c"]),
    ("python2", &["-c"]),
    ("perl", &["-e", "-E"]),
    ("ruby", &["-e"]),
    ("node", &["-e", "--eval", "-p", "--print"]),
    ("deno", &["eval"]),
    ("php", &["-r"]),
    ("lua", &["-e"]),
    ("osascript", &["-e"]),
];

/// Compiled sensitive-path globs for one home directory.
#[derive(Debug)]
pub(crate) struct Sensitive {
    home: String,
    set: GlobSet,
    levels: Vec<(RiskLevel, &'static str)>,
}

impl Sensitive {
    pub(crate) fn new(ctx: &Context) -> Sensitive {
        let home = ctx.home_str();
        let mut b = GlobSetBuilder::new();
        let mut levels = Vec::new();
        for (pat, level) in SENSITIVE {
            let p = match pat.strip_prefix('~') {
                Some(rest) => format!("{}{}", globset_escape(home), rest),
                None => (*pat).to_string(),
            };
            // INVARIANT: the table's patterns are valid globs (covered by a unit test).
            if let Ok(g) = GlobBuilder::new(&p).literal_separator(true).build() {
                b.add(g);
                levels.push((*level, *pat));
            }
        }
        Sensitive {
            home: home.to_string(),
            set: b.build().unwrap_or_else(|_| GlobSet::empty()),
            levels,
        }
    }

    /// A necessary condition for [`Sensitive::level`], cheap enough for every argument: the
    /// table's patterns all live under a hidden directory or `Library` of home, under `/etc`,
    /// `/proc` or `/root`, or name a dot file, an `id_*` key or a key-store extension.
    fn may_match(&self, path: &str) -> bool {
        if let Some(rest) = path
            .strip_prefix(self.home.as_str())
            .and_then(|r| r.strip_prefix('/'))
        {
            if rest.starts_with('.') || rest.starts_with("Library/") {
                return true;
            }
        }
        if path.starts_with("/etc/") || path.starts_with("/proc/") || path.starts_with("/root") {
            return true;
        }
        let name = basename(path);
        name.starts_with('.')
            || name.starts_with("id_")
            || [".pem", ".p12", ".pfx", ".kdbx", ".keychain", ".keychain-db"]
                .iter()
                .any(|e| name.ends_with(e))
    }

    /// The highest level of a sensitive pattern `path` (normalised) matches.
    pub(crate) fn level(&self, path: &str) -> Option<(RiskLevel, &'static str)> {
        if !self.may_match(path) || !self.set.is_match(path) {
            return None;
        }
        self.set
            .matches(path)
            .into_iter()
            .map(|i| self.levels[i])
            .max_by_key(|(l, _)| *l)
    }
}

pub(crate) fn globset_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(crate) fn basename(program: &str) -> &str {
    // Called several times per decision: a byte scan, not a `Split` iterator.
    match program.as_bytes().iter().rposition(|&b| b == b'/') {
        Some(i) => &program[i + 1..],
        None => program,
    }
}

pub(crate) const CLASS_SHELL: u8 = 1;
pub(crate) const CLASS_DESTRUCTIVE: u8 = 2;
pub(crate) const CLASS_NETWORK: u8 = 4;
pub(crate) const CLASS_WRAPPER: u8 = 8;
pub(crate) const CLASS_INLINE: u8 = 16;

/// What a program's file name is known to be (`CLASS_*` bits): one hash lookup instead of a
/// scan of every table on every decision.
pub(crate) fn class(name: &str) -> u8 {
    type Map = std::collections::HashMap<&'static str, u8, std::hash::BuildHasherDefault<Fnv>>;
    /// Bit `sketch(n)` is set for every known name `n`: most programs are unknown and are
    /// ruled out by one bit test, without hashing the name.
    fn sketch(n: &[u8]) -> usize {
        let (first, last) = (
            n.first().copied().unwrap_or(0),
            n.last().copied().unwrap_or(0),
        );
        (n.len() * 31 + usize::from(first) * 7 + usize::from(last)) & 1023
    }
    static MAP: std::sync::OnceLock<(Map, [u64; 16])> = std::sync::OnceLock::new();
    let (map, bits) = MAP.get_or_init(|| {
        let mut m = Map::default();
        for (list, bit) in [
            (SHELLS, CLASS_SHELL),
            (DESTRUCTIVE, CLASS_DESTRUCTIVE),
            (NETWORK, CLASS_NETWORK),
        ] {
            for n in list {
                *m.entry(*n).or_insert(0) |= bit;
            }
        }
        for (n, _) in INLINE_CODE {
            *m.entry(*n).or_insert(0) |= CLASS_INLINE;
        }
        for n in crate::eval::WRAPPER_NAMES {
            *m.entry(*n).or_insert(0) |= CLASS_WRAPPER;
        }
        let mut bits = [0u64; 16];
        for n in m.keys() {
            let b = sketch(n.as_bytes());
            bits[b / 64] |= 1 << (b % 64);
        }
        (m, bits)
    });
    let b = sketch(name.as_bytes());
    if bits[b / 64] & (1 << (b % 64)) == 0 {
        return 0;
    }
    map.get(name).copied().unwrap_or(0)
}

/// FNV-1a: the keys are a few dozen fixed program names, so SipHash's flooding resistance
/// buys nothing and costs most of the lookup.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(crate) fn is_shell(program: &str) -> bool {
    class(basename(program)) & CLASS_SHELL != 0
}

/// Whether `program args` runs inline code (`python -c`, `node -e`, `sh`).
pub(crate) fn runs_inline_code(program: &str, args: &[String]) -> bool {
    let name = basename(program);
    if is_shell(name) {
        return true;
    }
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if class(name) & CLASS_INLINE == 0 && class(stem) & CLASS_INLINE == 0 {
        return false;
    }
    INLINE_CODE.iter().any(|(p, flags)| {
        (*p == name || *p == stem) && args.iter().any(|a| flags.contains(&a.as_str()))
    })
}

/// Looks like a path: has a `/`, starts with `~` or `.`, or is a known sensitive file name.
/// `needle` in `hay`, for the two- and three-byte needles of the hot path (`str::contains`
/// runs a SIMD searcher whose set-up dominates on short arguments).
fn has(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    match n.split_first() {
        None => true,
        Some((first, rest)) => h
            .windows(n.len())
            .any(|w| w[0] == *first && &w[1..] == rest),
    }
}

fn looks_like_path(arg: &str) -> bool {
    !arg.is_empty()
        && !has(arg, "://")
        && (arg.contains('/')
            || arg.starts_with('~')
            || arg.starts_with('.')
            || matches!(arg, ".env" | "id_rsa" | "id_ed25519"))
}

/// The path part of `--opt=PATH` or `if=PATH`, or the whole argument.
fn path_part(arg: &str) -> &str {
    if arg.starts_with('-') || arg.starts_with("if=") || arg.starts_with("of=") {
        if let Some((_, v)) = arg.split_once('=') {
            return v;
        }
    }
    arg
}

pub(crate) struct Assessor<'a> {
    pub(crate) ctx: &'a Context,
    pub(crate) sensitive: &'a Sensitive,
    pub(crate) rules: Option<&'a RuleSet>,
}

impl Assessor<'_> {
    /// Flags for touching `path` (normalised) with a right; `raw` is the path as given.
    pub(crate) fn path(&self, risk: &mut Risk, raw: &str, path: &str, destructive: bool) {
        let ws = self.ctx.workspace_str();
        if let Some((level, pat)) = self.sensitive.level(path) {
            risk.flag(RiskKind::SensitivePath, level, format!("{path} ({pat})"));
        }
        if has_encoded_traversal(raw) {
            risk.flag(RiskKind::PathTraversal, RiskLevel::High, raw.to_string());
        } else if has_dotdot(raw) && !is_within(path, ws) {
            risk.flag(
                RiskKind::PathTraversal,
                RiskLevel::High,
                format!("{raw} leaves the workspace"),
            );
        }
        if destructive {
            let home = self.ctx.home_str();
            if path == "/" || path == home || path == ws {
                risk.flag(
                    RiskKind::Destructive,
                    RiskLevel::Critical,
                    format!("{path} as a whole"),
                );
            } else if !is_within(path, ws) {
                risk.flag(
                    RiskKind::Destructive,
                    RiskLevel::High,
                    format!("{path} is outside the workspace"),
                );
            } else {
                risk.flag(RiskKind::Destructive, RiskLevel::Low, path.to_string());
            }
        }
    }

    /// Flags for one free-text argument: secrets, injection, metacharacters.
    pub(crate) fn text(&self, risk: &mut Risk, what: impl Fn() -> String, arg: &str, code: bool) {
        if let Some(rules) = self.rules {
            if let Some(f) = rules.find(arg.as_bytes()).first() {
                risk.flag(
                    RiskKind::SecretInArgument,
                    RiskLevel::Critical,
                    format!("{} matches `{}`", what(), f.rule_id),
                );
            }
        }
        if let Some(p) = injection(arg) {
            risk.flag(
                RiskKind::Injection,
                RiskLevel::High,
                format!("{} contains `{p}`", what()),
            );
        } else if !code && arg.bytes().any(|b| b";|&$`<>\n".contains(&b)) {
            risk.flag(RiskKind::ShellMetacharacters, RiskLevel::Medium, what());
        }
    }

    /// Flags for running `program args` in `cwd`.
    pub(crate) fn exec(&self, risk: &mut Risk, program: &str, args: &[String], cwd: &str) {
        let name = basename(program);
        let cls = class(name);
        let code = runs_inline_code(program, args);
        if code {
            risk.flag(
                RiskKind::Shell,
                RiskLevel::Medium,
                format!("`{name}` runs inline code"),
            );
        }
        let destructive =
            cls & CLASS_DESTRUCTIVE != 0 || (name == "find" && args.iter().any(|a| a == "-delete"));
        if cls & CLASS_NETWORK != 0
            || (name == "git"
                && args
                    .first()
                    .is_some_and(|a| matches!(a.as_str(), "clone" | "fetch" | "pull" | "push")))
        {
            risk.flag(RiskKind::Network, RiskLevel::Medium, format!("`{name}`"));
        }
        if name == "git"
            && ((args.first().is_some_and(|a| a == "push")
                && args.iter().any(|a| a == "--force" || a == "-f"))
                || (args.first().is_some_and(|a| a == "clean")
                    && args.iter().any(|a| a.starts_with("-") && a.contains('f')))
                || (args.first().is_some_and(|a| a == "reset")
                    && args.iter().any(|a| a == "--hard")))
        {
            risk.flag(
                RiskKind::Destructive,
                RiskLevel::Medium,
                format!("`git {}`", args[0]),
            );
        }
        for (i, arg) in args.iter().enumerate() {
            self.text(risk, || format!("argument {}", i + 1), arg, code);
            let p = path_part(arg);
            if looks_like_path(p) || has(p, "..") {
                let norm = normalize(&expand_home(p, self.ctx.home_str()), cwd);
                // `dd` only writes to `of=`; `mv`'s last argument is overwritten.
                let d = destructive && (name != "dd" || arg.starts_with("of="));
                self.path(risk, p, &norm, d);
            }
        }
        if let Some(url_hosts) = urls(args) {
            for h in url_hosts {
                if h.starts_with("169.254.") || h == "metadata.google.internal" {
                    risk.flag(
                        RiskKind::Network,
                        RiskLevel::High,
                        format!("{h} is a cloud metadata address"),
                    );
                } else {
                    risk.flag(RiskKind::Network, RiskLevel::Medium, h);
                }
            }
        }
    }
}

fn urls(args: &[String]) -> Option<Vec<String>> {
    let mut hosts = Vec::new();
    for a in args.iter().filter(|a| has(a, "://")) {
        for scheme in ["http://", "https://", "ftp://", "ssh://", "git://"] {
            if let Some(i) = a.find(scheme) {
                let rest = &a[i + scheme.len()..];
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                let auth = &rest[..end];
                let host = auth.rsplit('@').next().unwrap_or(auth);
                let host = host.split(':').next().unwrap_or(host);
                if !host.is_empty() {
                    hosts.push(host.to_ascii_lowercase());
                }
            }
        }
    }
    (!hosts.is_empty()).then_some(hosts)
}

/// The first command- or SQL-injection pattern in `s`.
pub(crate) fn injection(s: &str) -> Option<&'static str> {
    const PATTERNS: &[&str] = &[
        "$(",
        "`",
        "${ifs}",
        "; rm ",
        ";rm ",
        "&& rm ",
        "| sh",
        "|sh",
        "| bash",
        "|bash",
        "; curl ",
        "; wget ",
        "&& curl ",
        "| nc ",
        ">(",
        "<(",
        "' or '1'='1",
        "' or 1=1",
        "\" or 1=1",
        "'; drop ",
        "; drop table",
        "union select",
        "/dev/tcp/",
    ];
    static AC: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> = std::sync::OnceLock::new();
    let ac = AC.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(PATTERNS)
            .ok()
    });
    match ac {
        Some(ac) => ac.find(s).map(|m| PATTERNS[m.pattern().as_usize()]),
        // INVARIANT: fixed patterns always build; this arm keeps evaluation total.
        None => Some("(injection patterns unavailable)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::new("/w", "/home/me", "/tmp")
    }

    #[test]
    fn sensitive_table_compiles_whole() {
        let s = Sensitive::new(&ctx());
        assert_eq!(s.levels.len(), SENSITIVE.len());
        assert_eq!(
            s.level("/home/me/.ssh/id_ed25519").unwrap().0,
            RiskLevel::Critical
        );
        assert_eq!(
            s.level("/home/me/.aws/credentials").unwrap().0,
            RiskLevel::High
        );
        assert_eq!(s.level("/w/app/.env").unwrap().0, RiskLevel::High);
        assert!(s.level("/w/src/main.rs").is_none());
        // The prefilter lets through a sample path of every pattern in the table.
        for (pat, _) in SENSITIVE {
            let sample = pat
                .replace("~", "/home/me")
                .replace("**", "a/b")
                .replace('*', "x");
            assert!(s.level(&sample).is_some(), "{pat} -> {sample}");
        }
    }

    #[test]
    fn inline_code_and_injection() {
        assert!(runs_inline_code("/bin/sh", &[]));
        assert!(runs_inline_code("python3.12", &["-c".into()]));
        assert!(!runs_inline_code("python3", &["script.py".into()]));
        assert_eq!(injection("x; rm -rf /"), Some("; rm "));
        assert_eq!(injection("name' OR 1=1 --"), Some("' or 1=1"));
        assert_eq!(injection("hello"), None);
    }
}
