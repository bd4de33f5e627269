//! What a run actually got: the [`Enforcement`] report.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::spec::Level;

/// How far Landlock enforced the requested rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LandlockState {
    /// Not enforced: the kernel lacks Landlock or it is disabled.
    Off,
    /// Enforced without the rights newer than the kernel's ABI.
    Partial,
    /// Every requested right is enforced.
    Full,
}

/// What enforces the CPU, memory and process limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LimitsBy {
    /// Per-process rlimits (`RLIMIT_AS`, `RLIMIT_NPROC`, `RLIMIT_CPU`).
    Rlimit,
    /// A cgroup v2 of the run's own (`memory.max`, `pids.max`, `cpu.max`), on top of the
    /// rlimits; killed as a whole at the end.
    Cgroup,
}

impl LimitsBy {
    /// `rlimit` or `cgroup`, as audit records write it.
    pub fn name(self) -> &'static str {
        match self {
            LimitsBy::Rlimit => "rlimit",
            LimitsBy::Cgroup => "cgroup",
        }
    }
}

/// The mechanisms applied to a run, reported before the program starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Enforcement {
    /// The level reached.
    pub level: Level,
    /// The Landlock ABI the kernel offers (as far as the `landlock` crate knows it), if any.
    pub landlock_abi: Option<u32>,
    /// Filesystem rules.
    pub landlock: LandlockState,
    /// Landlock TCP connect/bind rules (ABI 4+).
    pub landlock_net: bool,
    /// Landlock signal and abstract-socket scoping (ABI 6+): the program cannot signal or
    /// reach abstract UNIX sockets of processes outside the sandbox.
    pub landlock_scopes: bool,
    /// The seccomp filter refusing non-`AF_UNIX` sockets and `io_uring`.
    pub seccomp: bool,
    /// The program holds no capabilities (the bounding set was emptied, or it runs as an
    /// ordinary user with `no_new_privs`).
    pub no_capabilities: bool,
    /// Namespaces entered (`user`, `net`, `mount`, `pid`).
    pub namespaces: Vec<String>,
    /// `/proc` is the run's own (mounted in its mount and PID namespaces): it lists only the
    /// run's processes.
    #[serde(default)]
    pub private_proc: bool,
    /// What enforces the resource limits.
    #[serde(default = "rlimit")]
    pub limits_by: LimitsBy,
    /// The helper counts the run's processes (every 10 ms) and kills them all past
    /// [`Limits::max_processes`](crate::Limits): set when that limit is asked without a cgroup
    /// to enforce it (`RLIMIT_NPROC` does not bind root).
    #[serde(default)]
    pub process_watchdog: bool,
    /// Why a mechanism is missing or weaker than asked; never secret.
    pub notes: Vec<String>,
}

fn rlimit() -> LimitsBy {
    LimitsBy::Rlimit
}

impl Enforcement {
    /// The level these mechanisms amount to, given whether the network setting needed
    /// (and got) enforcement.
    pub(crate) fn compute_level(&self, network_enforced: bool) -> Level {
        match self.landlock {
            LandlockState::Off => Level::Basic,
            LandlockState::Partial => Level::Landlock,
            LandlockState::Full if !network_enforced => Level::Landlock,
            LandlockState::Full if self.has("user") && self.has("pid") => Level::Isolated,
            LandlockState::Full => Level::Strict,
        }
    }

    /// The mechanisms applied, as short names for an audit record: `landlock` (or
    /// `landlock-partial`), `landlock-tcp`, `landlock-scopes`, `seccomp`, one `<name>ns` per
    /// namespace (`userns`, `netns`, `mountns`, `pidns`), `proc` (a private `/proc`),
    /// `no-capabilities`, `rlimits` or `cgroup`, and `process-watchdog`.
    pub fn mechanisms(&self) -> Vec<String> {
        let mut m = Vec::new();
        match self.landlock {
            LandlockState::Off => {}
            LandlockState::Partial => m.push("landlock-partial".to_string()),
            LandlockState::Full => m.push("landlock".to_string()),
        }
        for (on, name) in [
            (self.landlock_net, "landlock-tcp"),
            (self.landlock_scopes, "landlock-scopes"),
            (self.seccomp, "seccomp"),
        ] {
            if on {
                m.push(name.to_string());
            }
        }
        m.extend(self.namespaces.iter().map(|n| format!("{n}ns")));
        if self.private_proc {
            m.push("proc".to_string());
        }
        if self.no_capabilities {
            m.push("no-capabilities".to_string());
        }
        m.push(match self.limits_by {
            LimitsBy::Rlimit => "rlimits".to_string(),
            LimitsBy::Cgroup => "cgroup".to_string(),
        });
        if self.process_watchdog {
            m.push("process-watchdog".to_string());
        }
        m
    }

    /// What enforced the limits, as audit records write it: `rlimit`, `cgroup`, or
    /// `rlimit+watchdog` when the process watchdog enforced the process limit.
    pub fn limits_name(&self) -> String {
        let by = self.limits_by.name();
        if self.process_watchdog {
            format!("{by}+watchdog")
        } else {
            by.to_string()
        }
    }

    fn has(&self, namespace: &str) -> bool {
        self.namespaces.iter().any(|n| n == namespace)
    }
}

impl fmt::Display for Enforcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sandbox level {}:", self.level)?;
        match (self.landlock, self.landlock_abi) {
            (LandlockState::Off, _) => f.write_str(" no landlock")?,
            (state, abi) => {
                let how = if state == LandlockState::Full {
                    "full"
                } else {
                    "partial"
                };
                write!(f, " landlock ABI {} ({how} filesystem", abi.unwrap_or(0))?;
                if self.landlock_net {
                    f.write_str(", tcp")?;
                }
                if self.landlock_scopes {
                    f.write_str(", scopes")?;
                }
                f.write_str(")")?;
            }
        }
        if self.seccomp {
            f.write_str(", seccomp (no inet sockets)")?;
        }
        if !self.namespaces.is_empty() {
            write!(f, ", namespaces {}", self.namespaces.join("+"))?;
        }
        if self.private_proc {
            f.write_str(", private /proc")?;
        }
        if self.no_capabilities {
            f.write_str(", no capabilities")?;
        }
        match self.limits_by {
            LimitsBy::Rlimit => f.write_str(", rlimits")?,
            LimitsBy::Cgroup => f.write_str(", cgroup limits")?,
        }
        if self.process_watchdog {
            f.write_str(" + process watchdog")?;
        }
        for note in &self.notes {
            write!(f, "; {note}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enf(landlock: LandlockState, namespaces: &[&str]) -> Enforcement {
        Enforcement {
            level: Level::Basic,
            landlock_abi: Some(6),
            landlock,
            landlock_net: true,
            landlock_scopes: true,
            seccomp: true,
            no_capabilities: true,
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            private_proc: false,
            limits_by: LimitsBy::Rlimit,
            process_watchdog: false,
            notes: Vec::new(),
        }
    }

    #[test]
    fn level_follows_the_weakest_mechanism() {
        use LandlockState::*;
        assert_eq!(enf(Off, &["user"]).compute_level(true), Level::Basic);
        assert_eq!(enf(Partial, &["user"]).compute_level(true), Level::Landlock);
        assert_eq!(enf(Full, &["user"]).compute_level(false), Level::Landlock);
        assert_eq!(enf(Full, &[]).compute_level(true), Level::Strict);
        assert_eq!(
            enf(Full, &["user", "net"]).compute_level(true),
            Level::Strict
        );
        assert_eq!(
            enf(Full, &["user", "net", "pid"]).compute_level(true),
            Level::Isolated
        );
    }

    #[test]
    fn mechanisms_name_everything_applied() {
        let mut e = enf(LandlockState::Full, &["user", "net", "mount", "pid"]);
        e.private_proc = true;
        e.limits_by = LimitsBy::Cgroup;
        assert_eq!(
            e.mechanisms(),
            [
                "landlock",
                "landlock-tcp",
                "landlock-scopes",
                "seccomp",
                "userns",
                "netns",
                "mountns",
                "pidns",
                "proc",
                "no-capabilities",
                "cgroup"
            ]
        );
        let mut e = enf(LandlockState::Off, &[]);
        assert!(e.to_string().ends_with(", rlimits"), "{e}");
        e.process_watchdog = true;
        assert!(
            e.to_string().ends_with(", rlimits + process watchdog"),
            "{e}"
        );
        assert_eq!(e.mechanisms().last().unwrap(), "process-watchdog");
    }

    #[test]
    fn levels_parse_and_order() {
        for (i, level) in Level::ALL.iter().enumerate() {
            assert_eq!(level.name().parse::<Level>(), Ok(*level));
            assert!(Level::ALL[..i].iter().all(|weaker| weaker < level));
        }
        assert!("strong".parse::<Level>().unwrap_err().contains("`strong`"));
    }
}
