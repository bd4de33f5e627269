//! From a [`hush_policy::Policy`] to a [`SandboxSpec`]: [`policy_spec`].
//!
//! # Filesystem
//!
//! Landlock only *grants*: a right given on a directory holds for everything beneath it, and
//! nothing can take it back lower down. A policy, though, may deny (or ask before) a path
//! inside a directory it allows: `~/.cargo/**` readable but `~/.cargo/credentials*` not. Such
//! a deny is enforced by **splitting the allowed directory around the denied path**:
//!
//! - the directory keeps, for itself and everything beneath, only the rights the deny does
//!   not take away;
//! - each of its existing entries that holds no denied path gets the full allowed rights;
//! - the entry on the way to the denied path is split the same way, down to the denied path,
//!   which gets the allowed rights minus the denied ones.
//!
//! So `~/.cargo` (read+execute) with `~/.cargo/credentials.toml` denied (everything) becomes:
//! execute and list on `~/.cargo`, read+execute on `~/.cargo/bin`, `~/.cargo/registry`, ... and
//! nothing more on `credentials.toml`. The price, recorded in the notes: the split directory
//! itself loses the denied rights on its own entries (with a denied create right: creating
//! files directly in it). Listing survives a denied read (names are not contents) unless a
//! denied *directory* lies beneath, which listing would open. The sandbox is then stricter
//! than the policy, never looser.
//!
//! A denied path that does not exist yet is split around at its deepest existing ancestor, so
//! it cannot be created either. A deny pattern with a glob (`**/.env`, `/proc/*/environ`)
//! is matched against the entries that exist when the run starts (at most [`MAX_ENTRIES`]
//! are examined; past that the allowed directory keeps only the rights no deny touches);
//! entries created later that match it are not protected by the kernel, and a note says so.
//! `confirm` rules count as deny: the kernel cannot ask.
//!
//! Allow patterns map to a Landlock rule when they are a path (`/etc/hosts`) or a directory
//! and everything beneath (`dir/**`). Any other glob (`dir/*.txt`) is granted on the files
//! that match when the run starts (not on directories, whose rule would cover more than the
//! pattern); a pattern starting with `**/` cannot be located and is not granted. Both get a
//! note. Paths are resolved through symlinks first, as Landlock does.
//!
//! The harmless devices (`/dev/null`, `/dev/zero`, `/dev/full`, `/dev/random`,
//! `/dev/urandom`) are always granted: nearly every program opens them.
//!
//! # Network, limits, stdin
//!
//! `off` is [`Network::Off`], `any` is [`Network::On`] (denied hosts are then decided but not
//! enforced: a note says so), `allowlist` is [`Network::Allow`] with each entry parsed as a
//! [`HostPort`] (exact names, `*.domain`, `*`, addresses; `host:*` for any port), enforced
//! by host through the launcher's proxy; an entry the proxy cannot match (another glob form)
//! is dropped with a note: fail closed. Limits map one to one; the policy's
//! `stdin = true` passes the caller's standard input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hush_policy::{Effect, GlobPattern, NetworkMode, Policy, Right};

use crate::launch::ExecError;
use crate::spec::{HostPort, Limits, Network, PathRule, Rights, SandboxSpec, Stdin};

/// How many directory entries [`policy_spec`] examines, in all, to find denied paths inside
/// allowed directories and the files an allow glob matches.
pub const MAX_ENTRIES: usize = 20_000;

/// Devices every run may open for reading and writing.
const DEVICES_RW: [&str; 3] = ["/dev/null", "/dev/zero", "/dev/full"];
const DEVICES_R: [&str; 2] = ["/dev/random", "/dev/urandom"];

/// The sandbox a policy asks for, and notes on what the kernel cannot enforce exactly (they
/// belong with the run's [`Enforcement`](crate::Enforcement) notes).
///
/// The spec tries namespaces and requires no level; set [`SandboxSpec::require`] to fail
/// closed on weak machines.
///
/// # Errors
///
/// None today (a policy that cannot be mapped exactly yields a stricter spec and a note); the
/// `Result` leaves room for failing closed on future rule kinds.
pub fn policy_spec(policy: &Policy) -> Result<(SandboxSpec, Vec<String>), ExecError> {
    let mut notes = Vec::new();
    let mut spec = SandboxSpec::new();
    let mut budget = MAX_ENTRIES;
    spec.paths = filesystem(policy, &mut budget, &mut notes);
    for dev in DEVICES_RW {
        spec.paths.push(optional(dev, rw()));
    }
    for dev in DEVICES_R {
        spec.paths.push(optional(dev, Rights::READ));
    }
    spec.network = network(policy, &mut notes);
    if matches!(spec.network, Network::Allow(_)) {
        for entry in policy.network_denylist() {
            match entry.parse::<HostPort>() {
                Ok(h) => spec.network_deny.push(h),
                // Fail closed: a deny entry the proxy cannot match denies every host.
                Err(e) => {
                    notes.push(format!("{e}: no host is reachable"));
                    spec.network = Network::Allow(Vec::new());
                }
            }
        }
    }
    spec.limits = limits(policy);
    spec.stdin = if policy.settings().stdin {
        Stdin::Inherit
    } else {
        Stdin::Closed
    };
    Ok((spec, notes))
}

fn rw() -> Rights {
    Rights {
        read: true,
        write: true,
        ..Rights::default()
    }
}

fn optional(path: impl Into<PathBuf>, rights: Rights) -> PathRule {
    PathRule {
        path: path.into(),
        rights,
        optional: true,
    }
}

fn limits(policy: &Policy) -> Limits {
    let l = policy.limits();
    Limits {
        cpu_secs: l.cpu_seconds,
        memory_mb: l.memory_mb,
        wall: l.wall_seconds.map(Duration::from_secs),
        max_output: l.output_bytes,
        max_processes: l.processes,
        max_open_files: l.open_files,
        ..Limits::default()
    }
}

fn network(policy: &Policy, notes: &mut Vec<String>) -> Network {
    match policy.network_mode() {
        NetworkMode::Off => Network::Off,
        NetworkMode::Allowlist => {
            let mut hosts = Vec::new();
            for entry in policy.network_allowlist() {
                match entry.parse::<HostPort>() {
                    Ok(h) => hosts.push(h),
                    // Fail closed: an entry the proxy cannot match allows nothing.
                    Err(e) => notes.push(format!("{e}: the entry allows nothing")),
                }
            }
            Network::Allow(hosts)
        }
        _ => {
            notes.push(
                "network `any`: the policy's denied hosts are decided, not enforced by the \
                 sandbox"
                    .to_string(),
            );
            Network::On
        }
    }
}

fn to_rights(r: hush_policy::Rights) -> Rights {
    Rights {
        read: r.contains(Right::Read),
        write: r.contains(Right::Write),
        create: r.contains(Right::Create),
        delete: r.contains(Right::Delete),
        execute: r.contains(Right::Execute),
        list: false,
    }
}

fn minus(a: Rights, b: Rights) -> Rights {
    Rights {
        read: a.read && !b.read,
        write: a.write && !b.write,
        create: a.create && !b.create,
        delete: a.delete && !b.delete,
        execute: a.execute && !b.execute,
        list: a.list && !b.list && !b.read,
    }
}

fn union(a: Rights, b: Rights) -> Rights {
    Rights {
        read: a.read || b.read,
        write: a.write || b.write,
        create: a.create || b.create,
        delete: a.delete || b.delete,
        execute: a.execute || b.execute,
        list: a.list || b.list,
    }
}

fn overlaps(a: Rights, b: Rights) -> bool {
    !minus(a, minus(a, b)).is_empty()
}

/// A policy path pattern split at its first component holding glob syntax.
struct Pattern {
    src: String,
    /// The literal directories before any glob (`/` when the pattern starts with one).
    base: PathBuf,
    /// What follows `base`, `None` when the pattern is a plain path.
    rest: Option<String>,
    /// Matches the pattern (and, for `dir/**`, `dir`).
    matcher: Vec<GlobPattern>,
    /// The pattern's components, one matcher each; `None` for `**`.
    comps: Vec<Option<GlobPattern>>,
}

impl Pattern {
    fn new(src: &str) -> Option<Pattern> {
        let has_meta = |c: &str| c.contains(['*', '?', '[', '{', '\\']);
        let mut base = PathBuf::from("/");
        let mut rest = None;
        let trimmed = src.trim_start_matches('/');
        let mut parts = trimmed.split('/').peekable();
        while let Some(part) = parts.next() {
            if has_meta(part) {
                let tail: Vec<&str> = std::iter::once(part).chain(parts).collect();
                rest = Some(tail.join("/"));
                break;
            }
            if !part.is_empty() {
                base.push(part);
            }
        }
        let glob = |p: &str| GlobPattern::new(p, true);
        let mut matcher = vec![glob(src)?];
        if let Some(dir) = src.strip_suffix("/**").filter(|d| !d.is_empty()) {
            matcher.push(glob(dir)?);
        }
        let mut comps = Vec::new();
        for c in trimmed.split('/').filter(|c| !c.is_empty()) {
            comps.push(if c == "**" { None } else { Some(glob(c)?) });
        }
        Some(Pattern {
            src: src.to_string(),
            base,
            rest,
            matcher,
            comps,
        })
    }

    /// Whether something at or beneath `dir` could match (prunes the search).
    fn could_match_beneath(&self, dir: &Path) -> bool {
        let names: Vec<&std::ffi::OsStr> = dir
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(n) => Some(n),
                _ => None,
            })
            .collect();
        fn extend(pc: &[Option<GlobPattern>], xs: &[&std::ffi::OsStr]) -> bool {
            match (pc.first(), xs.first()) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(None), Some(_)) => extend(&pc[1..], xs) || extend(pc, &xs[1..]),
                (Some(Some(m)), Some(x)) => m.is_match(x) && extend(&pc[1..], &xs[1..]),
            }
        }
        extend(&self.comps, &names)
    }

    /// A directory and everything beneath, or a single path: what Landlock expresses.
    fn is_subtree(&self) -> bool {
        matches!(self.rest.as_deref(), None | Some("**"))
    }

    fn is_match(&self, path: &Path) -> bool {
        self.matcher.iter().any(|m| m.is_match(path))
    }

    /// The pattern starts with `**`: it can match anywhere.
    fn anywhere(&self) -> bool {
        self.base == Path::new("/") && self.rest.as_deref().is_some_and(|r| r.starts_with("**"))
    }
}

/// A denied pattern and the rights it takes away.
struct Deny {
    id: String,
    pattern: Pattern,
    rights: Rights,
}

/// The path with symlinks resolved when it exists, else as written.
fn resolve(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn filesystem(policy: &Policy, budget: &mut usize, notes: &mut Vec<String>) -> Vec<PathRule> {
    let mut allows: Vec<(PathBuf, Rights)> = Vec::new();
    let mut denies: Vec<Deny> = Vec::new();
    for (id, effect, patterns, rights) in policy.filesystem_rules() {
        let rights = to_rights(rights);
        for src in patterns {
            let Some(pattern) = Pattern::new(src) else {
                notes.push(format!(
                    "filesystem rule `{id}`: pattern `{src}` is not a valid glob: ignored"
                ));
                continue;
            };
            match effect {
                Effect::Allow => allow_pattern(id, pattern, rights, budget, &mut allows, notes),
                Effect::Confirm => {
                    notes.push(format!(
                        "filesystem rule `{id}` asks before `{src}`: the sandbox cannot ask, \
                         so it denies"
                    ));
                    denies.push(Deny {
                        id: id.to_string(),
                        pattern,
                        rights,
                    });
                }
                _ => denies.push(Deny {
                    id: id.to_string(),
                    pattern,
                    rights,
                }),
            }
        }
    }
    let mut out = Vec::new();
    for (root, mut rights) in allows {
        // A deny matching the allowed path itself (or a directory above it) takes its rights
        // away everywhere beneath.
        for d in &denies {
            if d.pattern.is_match(&root) || ancestors_match(&d.pattern, &root) {
                rights = minus(rights, d.rights);
            }
        }
        if rights.is_empty() {
            continue;
        }
        // Denied paths strictly inside `root`, with the rights they lose.
        let mut inside: BTreeMap<PathBuf, Rights> = BTreeMap::new();
        for d in denies.iter().filter(|d| overlaps(rights, d.rights)) {
            denied_inside(d, &root, rights, budget, &mut inside, notes);
        }
        if inside.is_empty() {
            out.push(PathRule {
                path: root,
                rights,
                optional: true,
            });
            continue;
        }
        let nodes: Vec<(PathBuf, Rights)> = inside.into_iter().collect();
        if !split(&root, rights, &nodes, budget, &mut out) {
            notes.push(format!(
                "more than {MAX_ENTRIES} entries to examine beneath `{}`: parts of it keep \
                 only the rights no deny rule touches",
                root.display()
            ));
        }
        notes.push(format!(
            "`{}` is split around {} denied path(s) ({}); it keeps only the rights they do \
             not take away on its own entries",
            root.display(),
            nodes.len(),
            nodes
                .iter()
                .take(3)
                .map(|(p, _)| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
                + if nodes.len() > 3 { ", ..." } else { "" }
        ));
    }
    out
}

fn ancestors_match(pattern: &Pattern, path: &Path) -> bool {
    pattern.is_subtree() && path.ancestors().skip(1).any(|a| pattern.is_match(a))
}

fn allow_pattern(
    id: &str,
    pattern: Pattern,
    rights: Rights,
    budget: &mut usize,
    allows: &mut Vec<(PathBuf, Rights)>,
    notes: &mut Vec<String>,
) {
    if pattern.is_subtree() {
        allows.push((resolve(&pattern.base), rights));
        return;
    }
    if pattern.anywhere() {
        notes.push(format!(
            "filesystem rule `{id}`: `{}` can match anywhere, which the sandbox cannot grant: \
             not granted",
            pattern.src
        ));
        return;
    }
    let mut found = Vec::new();
    let complete = walk(&pattern, &pattern.base, budget, &mut |p, is_dir| {
        // Not a symlink: granting it would grant its target, wherever that is.
        let link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
        if !is_dir && !link && pattern.is_match(p) {
            found.push(p.to_path_buf());
        }
    });
    notes.push(format!(
        "filesystem rule `{id}`: `{}` is granted on the {} file(s) it matches now{}",
        pattern.src,
        found.len(),
        if complete { "" } else { " (search cut short)" }
    ));
    allows.extend(found.into_iter().map(|p| (resolve(&p), rights)));
}

/// Adds to `inside` the paths strictly beneath `root` that `d` denies.
fn denied_inside(
    d: &Deny,
    root: &Path,
    rights: Rights,
    budget: &mut usize,
    inside: &mut BTreeMap<PathBuf, Rights>,
    notes: &mut Vec<String>,
) {
    let mut add = |p: PathBuf| {
        let e = inside.entry(p).or_default();
        *e = union(*e, d.rights);
    };
    if d.pattern.is_subtree() {
        let target = resolve(&d.pattern.base);
        if !target.starts_with(root) || target == root {
            return;
        }
        if std::fs::symlink_metadata(&target).is_ok() {
            add(target);
        } else if d.rights.create && rights.create {
            // Not there yet: keep it from being created, and nothing else.
            let e = inside.entry(existing_ancestor(&target, root)).or_default();
            e.create = true;
        }
        return;
    }
    // A glob: search where it can match inside `root`.
    let start = if d.pattern.base.starts_with(root) {
        d.pattern.base.clone()
    } else if root.starts_with(&d.pattern.base) {
        root.to_path_buf()
    } else {
        return;
    };
    let mut found = Vec::new();
    let complete = walk(&d.pattern, &start, budget, &mut |p, _| {
        if p != root && d.pattern.is_match(p) {
            found.push(p.to_path_buf());
        }
    });
    for p in found {
        add(resolve(&p));
    }
    if !complete {
        // Fail closed: whatever was not searched loses the denied rights.
        add_all_lost(root, d.rights, inside);
    }
    notes.push(format!(
        "filesystem rule `{}`: `{}` is enforced by the kernel on the paths that exist when \
         the run starts; matching paths created later under `{}` are not protected",
        d.id,
        d.pattern.src,
        root.display()
    ));
}

/// Marks `root`'s own entries as losing `rights` (the search for denied paths was cut short).
fn add_all_lost(root: &Path, rights: Rights, inside: &mut BTreeMap<PathBuf, Rights>) {
    if let Ok(dir) = std::fs::read_dir(root) {
        for entry in dir.flatten() {
            let e = inside.entry(entry.path()).or_default();
            *e = union(*e, rights);
        }
    }
}

/// The deepest existing directory on the way from `root` to `target` (`root` itself when
/// nothing below it exists).
fn existing_ancestor(target: &Path, root: &Path) -> PathBuf {
    let mut p = target.to_path_buf();
    while p != root && std::fs::symlink_metadata(&p).is_err() {
        match p.parent() {
            Some(parent) if parent.starts_with(root) => p = parent.to_path_buf(),
            _ => return root.to_path_buf(),
        }
    }
    p
}

/// Visits the entries beneath `start` where `pattern` could match (not following symlinks),
/// depth first, within the budget. Returns false when the budget ran out.
fn walk(
    pattern: &Pattern,
    start: &Path,
    budget: &mut usize,
    visit: &mut dyn FnMut(&Path, bool),
) -> bool {
    if !pattern.could_match_beneath(start) {
        return true;
    }
    let mut stack = vec![start.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            let path = entry.path();
            if !pattern.could_match_beneath(&path) {
                continue;
            }
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            visit(&path, is_dir);
            if is_dir {
                stack.push(path);
            }
        }
    }
    true
}

/// Grants `rights` on `dir` and beneath except for `nodes` (paths at or beneath `dir`, each
/// losing its rights there and beneath; `dir` itself losing some only for its own rule). Returns false when the budget ran out (the entries
/// not visited then keep only `dir`'s reduced rights).
fn split(
    dir: &Path,
    rights: Rights,
    nodes: &[(PathBuf, Rights)],
    budget: &mut usize,
    out: &mut Vec<PathRule>,
) -> bool {
    let lost = nodes
        .iter()
        .fold(Rights::default(), |acc, (_, r)| union(acc, *r));
    let mut own = minus(rights, lost);
    // Listing reveals names, not contents: keep it unless a denied directory would become
    // listable (listing `dir` lists everything beneath it).
    if rights.read && lost.read && !nodes.iter().any(|(p, r)| r.read && p.is_dir()) {
        own.list = true;
    }
    if !own.is_empty() {
        out.push(PathRule {
            path: dir.to_path_buf(),
            rights: own,
            optional: true,
        });
    }
    // Rights only the entries get back, one by one.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    let mut complete = true;
    for entry in entries.flatten() {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let child = entry.path();
        let here: Rights = nodes
            .iter()
            .filter(|(p, _)| *p == child)
            .fold(Rights::default(), |acc, (_, r)| union(acc, *r));
        let deeper: Vec<(PathBuf, Rights)> = nodes
            .iter()
            .filter(|(p, _)| p.starts_with(&child) && *p != child)
            .cloned()
            .collect();
        let child_rights = minus(rights, here);
        // A rule on a symlink would grant its target (Landlock opens the path): a link to the
        // denied file would undo the deny. The directory's rule never granted targets.
        if child_rights.is_empty() || entry.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if deeper.is_empty() || !is_dir {
            out.push(PathRule {
                path: child,
                rights: child_rights,
                optional: true,
            });
        } else {
            complete &= split(&child, child_rights, &deeper, budget, out);
        }
    }
    complete
}

/// Lexical parent components, for tests.
#[cfg(test)]
fn is_normal(p: &Path) -> bool {
    use std::path::Component;
    p.components()
        .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_policy::{Context, Loader, Tier};

    fn load(dir: &Path, text: &str) -> Policy {
        Loader::new(Context::new(dir, dir.join("home"), dir.join("tmp")))
            .text(Tier::Project, "p.toml", text)
            .load()
            .unwrap()
    }

    /// Read, write, create and delete on the whole workspace.
    const WS_RW: &str = r#"
        [[filesystem]]
        id = "ws"
        paths = ["${workspace}/**"]
        rights = ["read", "write", "create", "delete"]
    "#;

    fn rights_on(spec: &SandboxSpec, path: &Path) -> Vec<Rights> {
        spec.paths
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.rights)
            .collect()
    }

    fn granted(spec: &SandboxSpec, path: &Path) -> Rights {
        // What Landlock gives `path`: the union of the rules on it and its ancestors.
        spec.paths
            .iter()
            .filter(|r| path.starts_with(&r.path))
            .fold(Rights::default(), |acc, r| union(acc, r.rights))
    }

    #[test]
    fn a_denied_file_inside_an_allowed_directory_is_split_around() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("ws/src/deep")).unwrap();
        std::fs::write(root.join("ws/src/deep/secret.key"), "x").unwrap();
        std::fs::write(root.join("ws/src/deep/ok.rs"), "x").unwrap();
        std::fs::write(root.join("ws/README"), "x").unwrap();
        // A link to the denied file in a directory that is split: a rule on it would grant
        // the file itself.
        std::os::unix::fs::symlink(
            root.join("ws/src/deep/secret.key"),
            root.join("ws/src/link"),
        )
        .unwrap();
        let p = load(
            &root.join("ws"),
            &[
                WS_RW,
                r#"
            [[filesystem]]
            id = "key"
            paths = ["${workspace}/src/deep/secret.key"]
            rights = ["read", "write"]
            effect = "deny"
            "#,
            ]
            .concat(),
        );
        let (spec, notes) = policy_spec(&p).unwrap();
        let key = root.join("ws/src/deep/secret.key");
        let g = granted(&spec, &key);
        assert!(!g.read && !g.write, "{g}");
        assert!(g.delete && g.create, "{g}");
        assert!(granted(&spec, &root.join("ws/src/deep/ok.rs")).read);
        assert!(granted(&spec, &root.join("ws/README")).write);
        assert!(!granted(&spec, &root.join("ws")).read);
        // Listing stays: no denied directory lies beneath.
        assert!(granted(&spec, &root.join("ws")).list);
        assert!(
            notes.iter().any(|n| n.contains("split around 1")),
            "{notes:?}"
        );
        assert!(spec.paths.iter().all(|r| is_normal(&r.path)));
        assert!(
            spec.paths
                .iter()
                .all(|r| r.path != root.join("ws/src/link")),
            "a rule on the symlink grants the denied file"
        );
    }

    #[test]
    fn a_denied_path_that_does_not_exist_cannot_be_created() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("ws/sub")).unwrap();
        let p = load(
            &root.join("ws"),
            &[
                WS_RW,
                r#"
            [[filesystem]]
            id = "env"
            paths = ["${workspace}/.env"]
            rights = ["read", "write", "create", "delete"]
            effect = "deny"
            "#,
            ]
            .concat(),
        );
        let (spec, _) = policy_spec(&p).unwrap();
        // `.env` would be created in `ws`, which keeps no create right of its own.
        assert!(!granted(&spec, &root.join("ws")).create);
        assert!(granted(&spec, &root.join("ws/sub")).create);
        // Only the right to create it is taken away.
        assert!(granted(&spec, &root.join("ws")).read);
        assert!(rights_on(&spec, &root.join("ws/.env")).is_empty());
    }

    #[test]
    fn glob_denies_match_existing_entries_and_an_allowed_path_under_a_deny_loses_rights() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("ws/a/b")).unwrap();
        std::fs::write(root.join("ws/a/b/.env"), "x").unwrap();
        std::fs::write(root.join("ws/a/b/main.rs"), "x").unwrap();
        std::fs::create_dir_all(root.join("ws/keys/pub")).unwrap();
        let p = load(
            &root.join("ws"),
            r#"
            [[filesystem]]
            id = "ws"
            paths = ["${workspace}/**"]
            rights = ["read"]
            [[filesystem]]
            id = "pub"
            paths = ["${workspace}/keys/pub/**"]
            rights = ["read"]
            [[filesystem]]
            id = "env"
            paths = ["**/.env"]
            rights = ["read"]
            effect = "deny"
            [[filesystem]]
            id = "keys"
            paths = ["${workspace}/keys/**"]
            rights = ["read"]
            effect = "confirm"
            "#,
        );
        let (spec, notes) = policy_spec(&p).unwrap();
        assert!(!granted(&spec, &root.join("ws/a/b/.env")).read);
        assert!(granted(&spec, &root.join("ws/a/b/main.rs")).read);
        // The directories on the way can be listed, not read beyond their entries' rules.
        assert!(!granted(&spec, &root.join("ws/a/b")).read);
        assert!(granted(&spec, &root.join("ws/a/b")).list);
        // `keys` is a denied directory: the workspace above it cannot be listed.
        assert!(!granted(&spec, &root.join("ws")).list);
        assert!(!granted(&spec, &root.join("ws/keys/pub/x")).read);
        assert!(notes.iter().any(|n| n.contains("cannot ask")), "{notes:?}");
        assert!(
            notes.iter().any(|n| n.contains("created later")),
            "{notes:?}"
        );
    }

    #[test]
    fn network_limits_and_stdin_map() {
        let tmp = tempfile::tempdir().unwrap();
        let p = load(
            tmp.path(),
            r#"
            [settings]
            stdin = true
            [network]
            mode = "allowlist"
            allow = ["api.example.com:443", "[::1]:8080", "*.example.org:*"]
            deny = ["admin.example.org"]
            [limits]
            wall_seconds = 7
            output_bytes = 1000
            "#,
        );
        let (spec, notes) = policy_spec(&p).unwrap();
        assert_eq!(
            spec.network,
            Network::Allow(vec![
                "api.example.com:443".parse().unwrap(),
                "[::1]:8080".parse().unwrap(),
                "*.example.org:*".parse().unwrap(),
            ])
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            spec.network_deny,
            vec!["admin.example.org".parse().unwrap()]
        );
        assert_eq!(spec.limits.wall, Some(Duration::from_secs(7)));
        assert_eq!(spec.limits.max_output, Some(1000));
        assert_eq!(spec.stdin, Stdin::Inherit);
        assert!(rights_on(&spec, Path::new("/dev/null"))[0].write);
        let off = load(tmp.path(), "[network]\nmode = \"off\"\n");
        assert_eq!(policy_spec(&off).unwrap().0.network, Network::Off);
    }
}
