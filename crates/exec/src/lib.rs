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
//!   helper takes a new session, becomes a child subreaper, enters user, network and PID
//!   namespaces when it can (an init of its own is PID 1), sets rlimits (core dumps off),
//!   empties the capability sets, restricts a thread with Landlock
//!   (per-operation filesystem rights, TCP ports on ABI 4+, signal and abstract-socket scopes
//!   on ABI 6+) and, with the network off, a seccomp filter refusing every socket but
//!   `AF_UNIX`; that thread spawns the program, so the program inherits all of it.
//! - When the program ends, is timed out (SIGTERM to every process of the run, a grace
//!   period, SIGKILL) or exceeds the output cap (counted before redaction), the helper kills
//!   every process the run started, including grandchildren that left the process group,
//!   before the launcher returns.
//!
//! # Example
//!
//! ```no_run
//! use hush_exec::{Level, Rights, Sandbox, SandboxSpec};
//! use secrecy::SecretString;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut spec = SandboxSpec::new();
//! spec.allow_system().allow("/tmp/out", Rights::READ_WRITE);
//! spec.require = Some(Level::Strict);
//! // `my-tool` must call `hush_exec::helper_main()` when started as `my-tool __sandbox-exec`.
//! let mut run = Sandbox::new(std::env::current_exe()?, "curl", spec);
//! run.args(["-s", "https://example.com"])
//!     .secret_env("API_TOKEN", SecretString::from("generated-test-token-0123456789"));
//! let outcome = run.run(std::io::stdout(), std::io::stderr())?;
//! eprintln!("{}", outcome.enforcement);
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
//! - A network allow-list is enforced by TCP port (Landlock), not by host; UDP is not
//!   filtered while the network is on or allow-listed.
//! - `max_processes` is `RLIMIT_NPROC`, which counts every process of the user and does not
//!   bind root; memory is `RLIMIT_AS` (address space). cgroups v2 limits are not used yet.
//! - No mount namespace yet, so `/proc` (not allowed by default) shows the whole machine
//!   with outside pids, even inside the run's PID namespace.
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

mod confine;
mod confirm;
mod executor;
mod helper;
mod launch;
mod piped;
mod policy;
mod report;
mod spec;
mod wire;

pub use confirm::{Answer, Confirm, NoConfirm, Question, TtyConfirm};
pub use executor::{AuditSink, Executor, NoSecrets, SecretSource};
pub use helper::helper_main;
pub use launch::{ExecError, Outcome, Sandbox, Status, Stop, Usage, EXIT_STOPPED, HELPER_ARG};
pub use piped::{Piped, PipedEnd};
pub use policy::{policy_spec, MAX_ENTRIES};
pub use report::{Enforcement, LandlockState};
pub use spec::{HostPort, Level, Limits, Network, PathRule, Rights, SandboxSpec, Stdin};
