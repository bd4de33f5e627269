//! The restrictions the helper applies: namespaces and rlimits to the whole helper process,
//! Landlock and seccomp to the one thread that then spawns the program.

use std::collections::BTreeMap;

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus, NetPort,
    PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use rustix::process::{Resource, Rlimit};

use crate::report::{Enforcement, LandlockState};
use crate::spec::{Limits, Network, Rights, SandboxSpec};

/// The newest Landlock ABI whose rights this code has been tested against; newer kernels are
/// used at this level (`AccessFs::from_all` on an untested ABI could deny what we never meant
/// to handle).
const TESTED_ABI: ABI = ABI::V6;

/// Enters new user (and, with the network off, network) namespaces, mapping the caller's ids
/// to themselves. The process must be single-threaded. Returns the namespaces entered; a
/// refusal is a note, not an error.
pub(crate) fn enter_namespaces(spec: &SandboxSpec, notes: &mut Vec<String>) -> Vec<String> {
    use nix::sched::CloneFlags;
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let mut flags = CloneFlags::CLONE_NEWUSER;
    let net = spec.network == Network::Off;
    if net {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    if let Err(e) = nix::sched::unshare(flags) {
        notes.push(format!(
            "no user namespace ({e}; unprivileged user namespaces may be disabled by \
             `kernel.unprivileged_userns_clone` or an AppArmor restriction)"
        ));
        return Vec::new();
    }
    let maps = [
        ("/proc/self/setgroups", "deny".to_string()),
        ("/proc/self/uid_map", format!("{uid} {uid} 1")),
        ("/proc/self/gid_map", format!("{gid} {gid} 1")),
    ];
    for (file, content) in maps {
        if let Err(e) = std::fs::write(file, content) {
            notes.push(format!(
                "cannot write `{file}` in the new user namespace: {e}"
            ));
        }
    }
    let mut entered = vec!["user".to_string()];
    if net {
        entered.push("net".to_string());
    }
    entered
}

/// Applies rlimits to the helper process (inherited by the program). Core dumps are always off.
pub(crate) fn apply_rlimits(limits: &Limits) -> Result<(), String> {
    let set = |resource, name: &str, soft: u64, hard: u64| {
        rustix::process::setrlimit(
            resource,
            Rlimit {
                current: Some(soft),
                maximum: Some(hard),
            },
        )
        .map_err(|e| format!("cannot set {name} to {soft}: {e}"))
    };
    set(Resource::Core, "RLIMIT_CORE", 0, 0)?;
    if let Some(cpu) = limits.cpu_secs {
        // SIGXCPU at the soft limit, SIGKILL a second later.
        set(Resource::Cpu, "RLIMIT_CPU", cpu, cpu.saturating_add(1))?;
    }
    if let Some(mb) = limits.memory_mb {
        let bytes = mb.saturating_mul(1 << 20);
        set(Resource::As, "RLIMIT_AS", bytes, bytes)?;
    }
    if let Some(n) = limits.max_processes {
        set(Resource::Nproc, "RLIMIT_NPROC", n, n)?;
    }
    if let Some(n) = limits.max_open_files {
        set(Resource::Nofile, "RLIMIT_NOFILE", n, n)?;
    }
    Ok(())
}

/// Empties the calling thread's capability bounding set and ambient set, so the program holds
/// no capability even when it runs as root (in or out of a user namespace): root without
/// `CAP_SYS_PTRACE` cannot read other processes' memory or environment past Landlock, nor
/// override file permissions. Returns false when the set could not be emptied (an ordinary
/// user, who has nothing to drop, cannot change it either).
pub(crate) fn drop_capabilities() -> bool {
    use rustix::io::Errno;
    use rustix::thread::CapabilitySet;
    let _ = rustix::thread::clear_ambient_capability_set();
    let mut all = true;
    for cap in CapabilitySet::all().iter() {
        match rustix::thread::remove_capability_from_bounding_set(cap) {
            // EINVAL: a capability this kernel does not know.
            Ok(()) | Err(Errno::INVAL) => {}
            Err(_) => all = false,
        }
    }
    all
}

/// Landlock rights for `rights`, limited to what applies to a non-directory when `file`.
fn access_for(rights: Rights, file: bool) -> BitFlags<AccessFs> {
    let mut a = BitFlags::EMPTY;
    if rights.read {
        a |= AccessFs::ReadFile | AccessFs::ReadDir | AccessFs::IoctlDev;
    }
    if rights.list {
        a |= AccessFs::ReadDir;
    }
    if rights.write {
        a |= AccessFs::WriteFile | AccessFs::Truncate;
    }
    if rights.create {
        a |= AccessFs::MakeReg
            | AccessFs::MakeDir
            | AccessFs::MakeSym
            | AccessFs::MakeSock
            | AccessFs::MakeFifo
            | AccessFs::Refer;
    }
    if rights.delete {
        a |= AccessFs::RemoveFile | AccessFs::RemoveDir | AccessFs::Refer;
    }
    if rights.execute {
        a |= AccessFs::Execute;
    }
    if file {
        a &= AccessFs::from_file(TESTED_ABI);
    }
    a
}

/// Restricts the calling thread with Landlock. Fills in the Landlock fields of `enf`.
///
/// # Errors
/// A required path that does not exist or cannot be opened, or a ruleset the kernel rejects.
pub(crate) fn apply_landlock(spec: &SandboxSpec, enf: &mut Enforcement) -> Result<(), String> {
    let err = |e: landlock::RulesetError| format!("landlock: {e}");
    let handled = AccessFs::from_all(TESTED_ABI);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(handled)
        .map_err(err)?;
    let net_rules = spec.network != Network::On;
    if net_rules {
        ruleset = ruleset
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
            .map_err(err)?;
    }
    ruleset = ruleset.scope(Scope::from_all(TESTED_ABI)).map_err(err)?;
    let mut created = ruleset.create().map_err(err)?;
    for rule in &spec.paths {
        if rule.rights.is_empty() {
            continue;
        }
        let meta = match std::fs::metadata(&rule.path) {
            Ok(m) => m,
            Err(_) if rule.optional => continue,
            Err(e) => {
                return Err(format!(
                    "cannot allow `{}`: {e} (create it first or drop the rule)",
                    rule.path.display()
                ))
            }
        };
        let fd = PathFd::new(&rule.path).map_err(|e| {
            format!(
                "cannot open `{}` for a landlock rule: {e}",
                rule.path.display()
            )
        })?;
        let access = access_for(rule.rights, !meta.is_dir());
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(err)?;
    }
    if let Network::Allow(hosts) = &spec.network {
        for hp in hosts {
            created = created
                .add_rule(NetPort::new(hp.port, AccessNet::ConnectTcp))
                .map_err(err)?;
        }
        if !hosts.is_empty() {
            enf.notes.push(
                "network allow-list enforced by TCP port only (hosts are not checked; \
                 UDP is not filtered)"
                    .to_string(),
            );
        }
    }
    let status = created.restrict_self().map_err(err)?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => Some(effective_abi as u32),
        _ => None,
    };
    enf.landlock_abi = abi;
    enf.landlock = match status.ruleset {
        RulesetStatus::FullyEnforced => LandlockState::Full,
        RulesetStatus::PartiallyEnforced => LandlockState::Partial,
        RulesetStatus::NotEnforced => LandlockState::Off,
    };
    let abi = abi.unwrap_or(0);
    enf.landlock_net = net_rules && abi >= 4;
    enf.landlock_scopes = abi >= 6;
    match status.landlock {
        LandlockStatus::NotEnabled => enf.notes.push(
            "landlock is built into the kernel but not enabled (add `landlock` to the \
             `lsm=` boot parameter)"
                .to_string(),
        ),
        LandlockStatus::NotImplemented => enf.notes.push(
            "the kernel has no landlock (needs Linux 5.13+ with CONFIG_SECURITY_LANDLOCK)"
                .to_string(),
        ),
        LandlockStatus::Available { .. } if abi < TESTED_ABI as u32 => enf.notes.push(format!(
            "landlock ABI {abi} lacks some rights (truncate needs 3, tcp 4, device ioctl 5, \
             scopes 6)"
        )),
        _ => {}
    }
    Ok(())
}

/// Installs a seccomp filter on the calling thread refusing `socket(2)` for every family but
/// `AF_UNIX` and `io_uring_setup(2)` (which could open sockets behind the filter's back).
///
/// # Errors
/// When the kernel or architecture does not support the filter.
pub(crate) fn apply_seccomp() -> Result<(), String> {
    use seccompiler::{
        SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    let err = |e: seccompiler::Error| format!("seccomp: {e}");
    let arch: TargetArch = std::env::consts::ARCH
        .try_into()
        .map_err(|e: seccompiler::BackendError| format!("seccomp: {e}"))?;
    let not_unix = SeccompRule::new(vec![SeccompCondition::new(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Ne,
        libc::AF_UNIX as u64,
    )
    .map_err(|e| format!("seccomp: {e}"))?])
    .map_err(|e| format!("seccomp: {e}"))?;
    let mut rules = BTreeMap::new();
    rules.insert(SYS_SOCKET, vec![not_unix]);
    rules.insert(SYS_IO_URING_SETUP, vec![]);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(EACCES),
        arch,
    )
    .map_err(|e| format!("seccomp: {e}"))?;
    let program: seccompiler::BpfProgram =
        filter.try_into().map_err(|e| format!("seccomp: {e}"))?;
    seccompiler::apply_filter(&program).map_err(err)
}

const EACCES: u32 = libc::EACCES as u32;
// `c_long` is `i64` only on 64-bit targets.
#[allow(clippy::unnecessary_cast)]
const SYS_SOCKET: i64 = libc::SYS_socket as i64;
#[allow(clippy::unnecessary_cast)]
const SYS_IO_URING_SETUP: i64 = libc::SYS_io_uring_setup as i64;
