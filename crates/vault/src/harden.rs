//! Process hardening for processes that hold secrets.

use crate::{Error, Result};

/// Keeps secrets out of core dumps: on Linux the process becomes non-dumpable
/// (`prctl(PR_SET_DUMPABLE, 0)`, which also stops same-user `ptrace` and `/proc/PID/mem`
/// reads), and on every Unix the soft `RLIMIT_CORE` drops to 0. The hard limit is kept so
/// child processes may raise theirs again.
///
/// [`crate::Vault`] and [`crate::MemoryStore`] call this when they unlock or load secrets; it is
/// idempotent.
///
/// # Errors
///
/// [`Error::Harden`] if the kernel refuses; callers should treat that as fatal (fail closed).
pub fn disable_core_dumps() -> Result<()> {
    #[cfg(target_os = "linux")]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|e| Error::Harden(e.into()))?;
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let cur = getrlimit(Resource::Core);
        setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: cur.maximum,
            },
        )
        .map_err(|e| Error::Harden(e.into()))?;
    }
    Ok(())
}

/// True when the process can no longer write a core dump (Linux: not dumpable; elsewhere:
/// a zero `RLIMIT_CORE`).
pub fn core_dumps_disabled() -> bool {
    #[cfg(target_os = "linux")]
    {
        rustix::process::dumpable_behavior()
            .is_ok_and(|b| b == rustix::process::DumpableBehavior::NotDumpable)
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        rustix::process::getrlimit(rustix::process::Resource::Core).current == Some(0)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(unix)]
    fn disables_core_dumps() {
        super::disable_core_dumps().unwrap();
        assert!(super::core_dumps_disabled());
        let lim = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!(lim.current, Some(0));
    }
}
