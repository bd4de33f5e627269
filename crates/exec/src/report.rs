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
    /// Namespaces entered (`user`, `net`).
    pub namespaces: Vec<String>,
    /// Why a mechanism is missing or weaker than asked; never secret.
    pub notes: Vec<String>,
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
        if self.no_capabilities {
            f.write_str(", no capabilities")?;
        }
        f.write_str(", rlimits")?;
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
    fn levels_parse_and_order() {
        for (i, level) in Level::ALL.iter().enumerate() {
            assert_eq!(level.name().parse::<Level>(), Ok(*level));
            assert!(Level::ALL[..i].iter().all(|weaker| weaker < level));
        }
        assert!("strong".parse::<Level>().unwrap_err().contains("`strong`"));
    }
}
