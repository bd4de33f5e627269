//! What a sandboxed run may do: the [`SandboxSpec`] and its parts.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Rights on a path and everything beneath it. Each maps to Landlock access rights; rights the
/// running kernel's Landlock ABI cannot express are reported in the [`Enforcement`](crate::Enforcement).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rights {
    /// Open files for reading, list directories, use device ioctls on opened files.
    pub read: bool,
    /// Open existing files for writing and truncate them.
    pub write: bool,
    /// Create files, directories, symlinks, FIFOs and sockets (and rename or link into here).
    pub create: bool,
    /// Remove files and directories (and rename out of here).
    pub delete: bool,
    /// Execute files.
    pub execute: bool,
    /// List directories only (`read` includes it): for a directory whose files may not all be
    /// read, such as one holding a denied file.
    #[serde(default)]
    pub list: bool,
}

impl Rights {
    /// Read only.
    pub const READ: Rights = Rights {
        read: true,
        write: false,
        create: false,
        delete: false,
        execute: false,
        list: false,
    };
    /// Read and execute: system directories holding programs and libraries.
    pub const READ_EXECUTE: Rights = Rights {
        execute: true,
        ..Rights::READ
    };
    /// Read, write, create and delete: a scratch or output directory.
    pub const READ_WRITE: Rights = Rights {
        read: true,
        write: true,
        create: true,
        delete: true,
        execute: false,
        list: false,
    };

    /// True when no right is granted.
    pub fn is_empty(&self) -> bool {
        *self == Rights::default()
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.read, "read"),
            (self.write, "write"),
            (self.create, "create"),
            (self.delete, "delete"),
            (self.execute, "execute"),
            (self.list && !self.read, "list"),
        ];
        let mut first = true;
        for (on, name) in names {
            if on {
                if !first {
                    f.write_str("+")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// One filesystem rule: `rights` on `path` and beneath.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathRule {
    /// The file or directory.
    pub path: PathBuf,
    /// What the sandboxed process may do there.
    pub rights: Rights,
    /// A missing path is skipped rather than an error (for default system paths that differ
    /// between distributions).
    pub optional: bool,
}

/// A host and port the sandboxed process may connect to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPort {
    /// Host name or address. Landlock filters by port only: the host is recorded but not
    /// enforced (see [`Enforcement::notes`](crate::Enforcement)).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// Network access.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Network {
    /// No network: a seccomp filter refuses every socket but `AF_UNIX`, Landlock (ABI 4+)
    /// refuses TCP connect and bind, and a network namespace holds only a down loopback.
    #[default]
    Off,
    /// TCP connections only to these ports (Landlock ABI 4+); UDP is not filtered.
    Allow(Vec<HostPort>),
    /// Unrestricted.
    On,
}

/// What the sandboxed process gets as standard input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Stdin {
    /// `/dev/null`: reads see end of file at once.
    #[default]
    Closed,
    /// The caller's standard input.
    Inherit,
}

/// Resource limits. `None` means no limit beyond the caller's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Limits {
    /// CPU seconds (`RLIMIT_CPU`: SIGXCPU, then SIGKILL a second later).
    pub cpu_secs: Option<u64>,
    /// Address space in MiB (`RLIMIT_AS`; allocations fail beyond it).
    pub memory_mb: Option<u64>,
    /// Wall-clock time: then SIGTERM to every process of the run, `grace`, SIGKILL.
    pub wall: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when the run is stopped.
    pub grace: Duration,
    /// Bytes of stdout plus stderr, counted before redaction; the run is killed beyond it.
    pub max_output: Option<u64>,
    /// Processes of the user (`RLIMIT_NPROC`: counts every process of the real user id, so
    /// set it above what the user already runs; not enforced for root).
    pub max_processes: Option<u64>,
    /// Open file descriptors per process (`RLIMIT_NOFILE`).
    pub max_open_files: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_secs: None,
            memory_mb: None,
            wall: None,
            grace: Duration::from_secs(2),
            max_output: None,
            max_processes: None,
            max_open_files: None,
        }
    }
}

/// How much isolation a run reached, weakest first. Each level includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Level {
    /// Process hygiene only: empty environment, new session, rlimits, no core dumps.
    Basic,
    /// Landlock filesystem rules are enforced (possibly without rights newer than the kernel's
    /// ABI, such as truncate before ABI 3).
    Landlock,
    /// Landlock fully enforces every requested filesystem right, and the network setting is
    /// enforced (seccomp and Landlock TCP rules when off, Landlock ports when allow-listed).
    Strict,
    /// Strict, inside new user and PID (and, with network off, network) namespaces.
    Isolated,
}

impl Level {
    /// Every level, weakest first.
    pub const ALL: [Level; 4] = [
        Level::Basic,
        Level::Landlock,
        Level::Strict,
        Level::Isolated,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Level::Basic => "basic",
            Level::Landlock => "landlock",
            Level::Strict => "strict",
            Level::Isolated => "isolated",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Level, String> {
        Level::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| {
                format!("unknown sandbox level `{s}`: use basic, landlock, strict or isolated")
            })
    }
}

/// Everything the sandbox enforces for one run. Secrets and other environment values are not
/// part of it: they are given to the [`Sandbox`](crate::Sandbox) launcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SandboxSpec {
    /// Filesystem rules; anything not covered is denied (when Landlock is available).
    pub paths: Vec<PathRule>,
    /// Network access.
    pub network: Network,
    /// Standard input.
    pub stdin: Stdin,
    /// Resource limits.
    pub limits: Limits,
    /// Try user, PID and network namespaces (skipped, and reported, when the kernel refuses
    /// them).
    pub namespaces: bool,
    /// Refuse to start the program below this level.
    pub require: Option<Level>,
}

impl Default for SandboxSpec {
    fn default() -> Self {
        SandboxSpec {
            paths: Vec::new(),
            network: Network::Off,
            stdin: Stdin::Closed,
            limits: Limits::default(),
            namespaces: true,
            require: None,
        }
    }
}

impl SandboxSpec {
    /// A spec that denies everything: no paths, no network, stdin closed, no limits.
    pub fn new() -> SandboxSpec {
        SandboxSpec::default()
    }

    /// Grants `rights` on `path` and beneath.
    pub fn allow(&mut self, path: impl Into<PathBuf>, rights: Rights) -> &mut Self {
        self.paths.push(PathRule {
            path: path.into(),
            rights,
            optional: false,
        });
        self
    }

    /// Adds the paths nearly every dynamically linked program needs: programs, libraries and
    /// configuration (`/usr`, `/bin`, `/lib*`, `/etc`, ... read and execute), `/sys` (read),
    /// and the harmless devices (`/dev/null`, `/dev/zero`, `/dev/full`, `/dev/random`,
    /// `/dev/urandom`, `/dev/tty`).
    ///
    /// `/proc` is not among them: without a mount namespace and a `/proc` of its own, it shows
    /// every process of the machine, and `/proc/<pid>/cmdline` (where secrets passed as arguments live) is
    /// readable by anyone, Landlock or not.
    pub fn allow_system(&mut self) -> &mut Self {
        let optional = |path: &str, rights| PathRule {
            path: PathBuf::from(path),
            rights,
            optional: true,
        };
        for dir in [
            "/usr",
            "/bin",
            "/sbin",
            "/lib",
            "/lib32",
            "/lib64",
            "/libx32",
            "/etc",
            "/opt",
            "/nix/store",
        ] {
            self.paths.push(optional(dir, Rights::READ_EXECUTE));
        }
        for dir in ["/sys", "/dev/random", "/dev/urandom"] {
            self.paths.push(optional(dir, Rights::READ));
        }
        let rw = Rights {
            read: true,
            write: true,
            ..Rights::default()
        };
        for dev in ["/dev/null", "/dev/zero", "/dev/full", "/dev/tty"] {
            self.paths.push(optional(dev, rw));
        }
        self
    }
}
