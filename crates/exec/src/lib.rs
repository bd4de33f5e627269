//! Run a tool in a Linux sandbox with its secrets injected and its output redacted.
//!
//! - [`SandboxSpec`] says what the program may do: filesystem [`Rights`] per path, the
//!   [`Network`], [`Stdin`], resource [`Limits`], whether to try namespaces, and the minimum
//!   [`Level`] to accept.
//! - [`Sandbox`] is a `Command`-like launcher: program, arguments, exactly the environment
//!   variables to pass (secret ones are also registered with the redactor), and
//!   [`run`](Sandbox::run), which streams the program's stdout and stderr through
//!   [`hush_stream`] redaction and returns an [`Outcome`]: exit status, the [`Enforcement`]
//!   reached, and why it was stopped, if it was. [`spawn_piped`](Sandbox::spawn_piped) starts
//!   the program the same way but hands back its raw stdin, stdout and stderr ([`Piped`]), for
//!   a caller that speaks a protocol with it (`hush mcp` and an MCP server).
//! - [`policy_spec`] turns a [`hush_policy::Policy`] into a [`SandboxSpec`] (filesystem rules,
//!   with denied paths inside allowed directories split around; network mode and allowlist;
//!   limits; stdin) plus notes on what the kernel cannot enforce exactly.
//! - [`Executor`] is the policy-driven executor (what `hush run --policy` uses): built from a
//!   [`hush_policy::PolicyHandle`], a [`SecretSource`] (the vault), an [`AuditSink`]
//!   ([`hush_audit::AuditWriter`]) and a [`Confirm`] prompt ([`TtyConfirm`] on `/dev/tty`), its
//!   [`run`](Executor::run) decides the exec request, asks when the decision is `confirm` (no
//!   terminal or no answer denies), injects exactly the granted secrets (a missing one fails
//!   closed), confines with [`policy_spec`], and audits every step with no secret in it.
//! - The confinement happens in a **helper process**, never in a `pre_exec` hook of the
//!   (multithreaded) caller: the launcher re-executes a binary of yours with the first
//!   argument [`HELPER_ARG`], whose `main` calls [`helper_main`] before anything else. The
//!   helper takes a new session, becomes a child subreaper, puts itself in a cgroup v2 of the
//!   run's own when a subtree is delegated (memory, process and CPU limits), enters user,
//!   mount, network and PID namespaces when it can (an init of its own is PID 1 and mounts a
//!   `/proc` of the namespace), sets rlimits (core dumps off),
//!   empties the capability sets, restricts a thread with Landlock
//!   (per-operation filesystem rights, TCP ports on ABI 4+, signal and abstract-socket scopes
//!   on ABI 6+) and, with the network off, a seccomp filter refusing every socket but
//!   `AF_UNIX`; that thread spawns the program, so the program inherits all of it.
//! - With [`Network::Allow`], the launcher runs an HTTP proxy on its own threads, outside the
//!   sandbox, on a socket the helper binds on the loopback of the run's network namespace:
//!   the program's only way out. It checks each `CONNECT` or `http://` request against the
//!   [`HostPort`] list, resolves names itself, refuses private, loopback and metadata
//!   addresses unless an entry names them, and returns what it refused in
//!   [`Outcome::refused`].
//! - When the program ends, is timed out (SIGTERM to every process of the run, a grace
//!   period, SIGKILL), exceeds the output cap (counted before redaction) or, without a cgroup
//!   to hold a process limit, starts more processes than it (the helper's watchdog counts
//!   them every 10 ms), the helper kills every process the run started, including
//!   grandchildren that left the process group or the session, before the launcher returns.
//!
//! # Example
//!
//! ```no_run
//! use hush_exec::{Level, Network, Rights, Sandbox, SandboxSpec};
//! use secrecy::SecretString;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut spec = SandboxSpec::new();
//! spec.allow_system().allow("/tmp/out", Rights::READ_WRITE);
//! // HTTPS to example.com only, through the launcher's proxy.
//! spec.network = Network::Allow(vec!["example.com:443".parse()?]);
//! spec.require = Some(Level::Strict);
//! // `my-tool` must call `hush_exec::helper_main()` when started as `my-tool __sandbox-exec`.
//! let mut run = Sandbox::new(std::env::current_exe()?, "curl", spec);
//! run.args(["-s", "https://example.com"])
//!     .secret_env("API_TOKEN", SecretString::from("generated-test-token-0123456789"));
//! let outcome = run.run(std::io::stdout(), std::io::stderr())?;
//! eprintln!("{}", outcome.enforcement);
//! for refused in &outcome.refused {
//!     eprintln!("refused {refused}");
//! }
//! std::process::exit(outcome.exit_code());
//! # }
//! ```
//!
//! `examples/sandboxed.rs` is a complete executor in 50 lines:
//! `cargo run -p hush-exec --example sandboxed -- sh -c 'ls; id'`. `examples/policy_run.rs` is
//! the policy-driven one (policy, memory vault, audit file):
//! `cargo run -p hush-exec --example policy_run -- sh -c 'echo "token: $DEMO_TOKEN"'`.
//!
//! # What this crate does not promise
//!
//! - Linux only. Without Landlock the filesystem is not restricted (the level says
//!   [`Level::Basic`]); require a level to fail closed instead.
//! - A network allow-list covers HTTP and whatever a client tunnels through `CONNECT`; other
//!   protocols (raw TCP without a proxy, UDP, DNS) get nowhere in a network namespace and,
//!   without one, are limited only by Landlock's TCP port rule (the proxy's port, on any
//!   address; UDP unfiltered). In a `CONNECT` tunnel, a TLS ClientHello must name the
//!   host that was allowed (no domain fronting by SNI; a hello split over several records,
//!   or an encrypted one (ECH) whose outer name differs, is refused), but what is sent
//!   inside TLS (an HTTP `Host` header) cannot be seen. Without a network namespace the
//!   proxy listens on the host's loopback, where other local processes could use it too.
//! - Without a delegated cgroup v2 subtree, `max_processes` is `RLIMIT_NPROC` (counts every
//!   process of the user, does not bind root) plus the helper's process watchdog, memory is
//!   `RLIMIT_AS` (address space), and `cpus_milli` is not enforced. `cpu_secs` is always
//!   `RLIMIT_CPU`, per process.
//! - The process watchdog is reactive: it counts the run's processes in `/proc` every 10 ms
//!   and then kills them all ([`Stop::Processes`]), so a burst between two counts can
//!   exceed the limit briefly (forks do not fail, as they do under `pids.max`). It counts
//!   processes, not threads. With a PID namespace it counts every process in it; without
//!   one, every descendant of the helper plus its session (orphans are re-parented to the
//!   helper, a child subreaper; if the kernel refused that, the run's notes say so).
//! - A private `/proc` needs user, mount and PID namespaces; without them `/proc` (not
//!   allowed by default) shows the whole machine.
//! - The output cap counts bytes before redaction and may cut a line in the middle.
//! - Landlock only grants, so a policy's deny inside an allowed directory is enforced by
//!   splitting the directory around it ([`policy_spec`] says how): the split directory loses
//!   the denied rights on its own entries (listing it, when reading is denied below), glob
//!   denies cover only the paths that exist when the run starts, and `confirm` filesystem
//!   rules deny (the kernel cannot ask). Each approximation is an audited note.
//! - `helper_main` must run before the calling binary starts any thread: user namespaces
//!   can only be entered by a single-threaded process.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cgroup;
mod confine;
mod confirm;
mod executor;
mod helper;
mod hosts;
mod launch;
mod netproxy;
mod piped;
mod policy;
mod report;
mod spec;
mod wire;

pub use confirm::{Answer, Confirm, NoConfirm, Question, TtyConfirm};
pub use executor::{decision_event, AuditSink, Executor, NoSecrets, SecretSource};
pub use helper::helper_main;
pub use hosts::HostPortError;
pub use launch::{ExecError, Outcome, Sandbox, Status, Stop, Usage, EXIT_STOPPED, HELPER_ARG};
pub use netproxy::RefusedConnection;
pub use piped::{Piped, PipedEnd};
pub use policy::{policy_spec, MAX_ENTRIES};
pub use report::{Enforcement, LandlockState, LimitsBy};
pub use spec::{HostPort, Level, Limits, Network, PathRule, Rights, SandboxSpec, Stdin};

/// Entry points for the fuzz targets; not part of the stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// The helper's parsing of its control socket (flags byte, length, JSON request) and the
    /// launcher's parsing of report lines, on arbitrary bytes. Returns whether a request was
    /// accepted.
    pub fn helper_request(data: &[u8]) -> bool {
        crate::wire::fuzz_helper_request(data)
    }

    /// The network proxy's request-head parser, host normalisation and TLS ClientHello
    /// reader.
    pub fn proxy_head(data: &[u8]) -> bool {
        let _ = crate::netproxy::tls_server_name(data);
        crate::netproxy::parse_head(data)
            .map(|h| crate::hosts::normalize_host(&h.host).is_some())
            .unwrap_or(false)
    }
}
