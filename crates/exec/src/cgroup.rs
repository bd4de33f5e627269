//! cgroup v2 limits for a run, where a subtree is delegated to the caller.
//!
//! The helper looks for a cgroup v2 hierarchy (`cgroup2` in its mount table) and its own
//! cgroup there (`0::/path` in `/proc/self/cgroup`). A run's cgroup is created where the
//! kernel allows a process to move: beside the helper's own cgroup (in its parent, when the
//! parent lists the needed controllers in `cgroup.subtree_control` and lets us create
//! children: a delegated subtree such as a systemd user service with `Delegate=yes`), or
//! under the root when the helper is in the root cgroup (a container with a cgroup namespace).
//! The helper moves itself in before starting the program, so nothing of the run ever runs
//! outside it; at the end it moves back out, kills the cgroup (`cgroup.kill`) and removes it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::spec::Limits;

/// Tasks of the helper itself counted by `pids.max` (the outer helper, the PID namespace's
/// init and their program-spawning threads).
const HELPER_TASKS: u64 = 4;
/// `cpu.max` period, microseconds.
const CPU_PERIOD_US: u64 = 100_000;

/// The controllers `limits` needs, in `cgroup.controllers` spelling.
pub(crate) fn needed(limits: &Limits) -> Vec<&'static str> {
    let mut c = Vec::new();
    if limits.cpus_milli.is_some() {
        c.push("cpu");
    }
    if limits.memory_mb.is_some() {
        c.push("memory");
    }
    if limits.max_processes.is_some() {
        c.push("pids");
    }
    c
}

/// The cgroup v2 path of the calling process, from `/proc/self/cgroup` text.
pub(crate) fn own_path(proc_self_cgroup: &str) -> Option<&str> {
    proc_self_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .filter(|p| p.starts_with('/'))
}

/// Where the cgroup v2 hierarchy is mounted, from `/proc/self/mountinfo` text.
pub(crate) fn v2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        // `id parent major:minor root mount-point options [optional...] - fstype source ...`
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mount = left.split_whitespace().nth(4)?;
        // Octal escapes (`\040` for a space) are left alone: such a path is not used.
        (!mount.contains('\\')).then(|| PathBuf::from(mount))
    })
}

/// Where to create the run's cgroup, given the hierarchy's mount point, our own cgroup path
/// and a way to read a cgroup file; or why there is no such place.
pub(crate) fn select(
    mount: &Path,
    own: &str,
    needed: &[&str],
    read: impl Fn(&Path) -> Option<String>,
) -> Result<PathBuf, String> {
    let own_dir = cgroup_dir(mount, own);
    let parent = if own == "/" {
        // The root cgroup may hold processes and enable controllers for children.
        own_dir.clone()
    } else {
        match own_dir.parent() {
            Some(p) if p.starts_with(mount) => p.to_path_buf(),
            _ => return Err("the cgroup has no parent".into()),
        }
    };
    let list = |file: &str| -> Vec<String> {
        read(&parent.join(file))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let available = list("cgroup.controllers");
    let enabled = list("cgroup.subtree_control");
    for c in needed {
        if !available.iter().any(|a| a == c) {
            return Err(format!(
                "controller `{c}` is not delegated to `{}`",
                parent.display()
            ));
        }
        if own != "/" && !enabled.iter().any(|e| e == c) {
            return Err(format!(
                "controller `{c}` is not enabled in `{}/cgroup.subtree_control`",
                parent.display()
            ));
        }
    }
    Ok(parent)
}

/// The directory of cgroup `path` (`/a/b`) in the hierarchy mounted at `mount`.
fn cgroup_dir(mount: &Path, path: &str) -> PathBuf {
    match path.trim_start_matches('/') {
        "" => mount.to_path_buf(),
        rel => mount.join(rel),
    }
}

/// The values to write: `(file, value)`.
pub(crate) fn settings(limits: &Limits) -> Vec<(&'static str, String)> {
    let mut s = Vec::new();
    if let Some(mb) = limits.memory_mb {
        s.push(("memory.max", mb.saturating_mul(1 << 20).to_string()));
        s.push(("memory.swap.max", "0".to_string()));
    }
    if let Some(n) = limits.max_processes {
        s.push(("pids.max", n.saturating_add(HELPER_TASKS).to_string()));
    }
    if let Some(milli) = limits.cpus_milli {
        // A thousandth of a CPU is 100 us per 100 ms period; the kernel wants 1 ms at least.
        let quota = milli.saturating_mul(CPU_PERIOD_US / 1000).max(1000);
        s.push(("cpu.max", format!("{quota} {CPU_PERIOD_US}")));
    }
    s
}

/// A run's cgroup, holding the helper (and so everything it starts).
#[derive(Debug)]
pub(crate) struct RunCgroup {
    dir: PathBuf,
    home: PathBuf,
}

impl RunCgroup {
    /// Creates the run's cgroup with `limits` and moves the calling process into it; `Ok(None)`
    /// when no limit needs a cgroup. The error says why the rlimits alone apply.
    pub(crate) fn enter(limits: &Limits) -> Result<Option<RunCgroup>, String> {
        let needed = needed(limits);
        if needed.is_empty() {
            return Ok(None);
        }
        let read = |p: &Path| std::fs::read_to_string(p).ok();
        let own = read(Path::new("/proc/self/cgroup")).unwrap_or_default();
        let own = own_path(&own).ok_or("no cgroup v2 hierarchy (cgroup v1 or hybrid)")?;
        let mount = read(Path::new("/proc/self/mountinfo"))
            .as_deref()
            .and_then(v2_mount)
            .ok_or("cgroup v2 is not mounted")?;
        let parent = select(&mount, own, &needed, read)?;
        let home = cgroup_dir(&mount, own);
        if own == "/" {
            let enable: String = needed.iter().map(|c| format!("+{c} ")).collect();
            std::fs::write(parent.join("cgroup.subtree_control"), enable.trim_end())
                .map_err(|e| format!("cannot enable {needed:?} at the cgroup root: {e}"))?;
        }
        let dir = parent.join(format!(
            "hush-run-{}",
            rustix::process::getpid().as_raw_nonzero()
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        let cg = RunCgroup { dir, home };
        for (file, value) in settings(limits) {
            let path = cg.dir.join(file);
            if let Err(e) = std::fs::write(&path, &value) {
                // No swap accounting is not a weaker memory limit.
                if file != "memory.swap.max" {
                    cg.remove();
                    return Err(format!(
                        "cannot write `{value}` to `{}`: {e}",
                        path.display()
                    ));
                }
            }
        }
        if let Err(e) = std::fs::write(cg.dir.join("cgroup.procs"), "0") {
            cg.remove();
            return Err(format!("cannot move into `{}`: {e}", cg.dir.display()));
        }
        Ok(Some(cg))
    }

    /// Moves the caller back to its own cgroup, kills everything left in the run's, and
    /// removes it.
    pub(crate) fn finish(self) {
        let _ = std::fs::write(self.home.join("cgroup.procs"), "0");
        self.remove();
    }

    fn remove(&self) {
        if std::fs::write(self.dir.join("cgroup.kill"), "1").is_err() {
            // Before Linux 5.14: kill what is listed until nothing is.
            for _ in 0..100 {
                let procs =
                    std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
                let pids: Vec<_> = procs
                    .lines()
                    .filter_map(|l| l.trim().parse::<i32>().ok())
                    .filter_map(rustix::process::Pid::from_raw)
                    .collect();
                if pids.is_empty() {
                    break;
                }
                for p in pids {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        // rmdir succeeds once the last task is gone.
        let deadline = Instant::now() + Duration::from_secs(2);
        while std::fs::remove_dir(&self.dir).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn limits(cpus_milli: Option<u64>, mb: Option<u64>, procs: Option<u64>) -> Limits {
        Limits {
            cpus_milli,
            memory_mb: mb,
            max_processes: procs,
            ..Limits::default()
        }
    }

    #[test]
    fn own_cgroup_is_the_unified_entry() {
        let hybrid = "9:name=systemd:/\n4:memory:/x\n0::/\n";
        assert_eq!(own_path(hybrid), Some("/"));
        let v2 = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/run.scope\n";
        assert_eq!(
            own_path(v2),
            Some("/user.slice/user-1000.slice/user@1000.service/app.slice/run.scope")
        );
        assert_eq!(own_path("4:memory:/x\n1:cpu:/\n"), None);
        assert_eq!(own_path("0::relative\n"), None);
    }

    #[test]
    fn the_cgroup2_mount_is_found_among_v1_mounts() {
        let info = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            v2_mount(info),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let pure =
            "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(v2_mount(pure), Some(PathBuf::from("/sys/fs/cgroup")));
        assert_eq!(
            v2_mount("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw\n"),
            None
        );
        assert_eq!(v2_mount("garbage\n\n - \n"), None);
    }

    fn files(pairs: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let map: HashMap<PathBuf, String> = pairs
            .iter()
            .map(|(p, c)| (PathBuf::from(p), c.to_string()))
            .collect();
        move |p: &Path| map.get(p).cloned()
    }

    #[test]
    fn a_delegated_parent_with_the_controllers_is_chosen() {
        let mount = Path::new("/sys/fs/cgroup");
        let own = "/user.slice/u@1000.service/app.slice/me.scope";
        let app = "/sys/fs/cgroup/user.slice/u@1000.service/app.slice";
        let read = files(&[
            (&format!("{app}/cgroup.controllers"), "cpu memory pids"),
            (&format!("{app}/cgroup.subtree_control"), "memory pids"),
        ]);
        assert_eq!(
            select(mount, own, &["memory", "pids"], &read),
            Ok(PathBuf::from(app))
        );
        let err = select(mount, own, &["cpu", "memory"], &read).unwrap_err();
        assert!(err.contains("`cpu` is not enabled"), "{err}");
        let err = select(mount, own, &["io"], &read).unwrap_err();
        assert!(err.contains("`io` is not delegated"), "{err}");
        assert_eq!(
            select(mount, own, &[], files(&[])),
            Ok(PathBuf::from(app)),
            "no controller needed: any parent"
        );
    }

    #[test]
    fn the_root_cgroup_needs_only_available_controllers() {
        let mount = Path::new("/sys/fs/cgroup");
        let read = files(&[("/sys/fs/cgroup/cgroup.controllers", "cpu memory pids")]);
        assert_eq!(
            select(mount, "/", &["memory", "pids"], &read),
            Ok(PathBuf::from("/sys/fs/cgroup"))
        );
        // The hybrid layout of a v1 machine: the unified mount has no controllers.
        let hybrid = Path::new("/sys/fs/cgroup/unified");
        let read = files(&[("/sys/fs/cgroup/unified/cgroup.controllers", "")]);
        assert_eq!(
            select(hybrid, "/", &["memory"], &read),
            Err("controller `memory` is not delegated to `/sys/fs/cgroup/unified`".into())
        );
    }

    #[test]
    fn limits_become_cgroup_settings() {
        assert!(needed(&Limits::default()).is_empty());
        assert_eq!(
            needed(&limits(Some(500), Some(64), Some(10))),
            ["cpu", "memory", "pids"]
        );
        assert_eq!(
            settings(&limits(Some(500), Some(64), Some(10))),
            [
                ("memory.max", (64u64 << 20).to_string()),
                ("memory.swap.max", "0".to_string()),
                ("pids.max", (10 + HELPER_TASKS).to_string()),
                ("cpu.max", "50000 100000".to_string()),
            ]
        );
        assert_eq!(settings(&limits(Some(1), None, None))[0].1, "1000 100000");
        assert_eq!(
            settings(&limits(Some(2000), None, None))[0].1,
            "200000 100000"
        );
    }
}
