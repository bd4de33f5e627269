//! hush policies: declarative TOML that decides what a tool may do, before it runs.
//!
//! # How it fits together
//!
//! - A policy file (see `docs/policy.md`) has rules for the **filesystem** (globs and rights),
//!   **commands** (program and argument-prefix patterns; shells need `shell = true`),
//!   **network** (`off`, an allowlist of `host:port`, or `any`), the **environment** (which
//!   variables pass), **secrets** (which vault entries a program receives, under which
//!   variable), **MCP tools** (server, tool, per-argument constraints), **limits**, a
//!   **risk** table mapping risk levels to effects, and its own **tests**.
//! - [`Loader`] reads up to three tiers (system, user, project), each of which may `extends`
//!   built-in profiles (`dev`, `prod`, `ide`, `test`) or other files, and compiles one
//!   immutable, `Send + Sync` [`Policy`]. Every error names file, line and column.
//! - [`Policy::evaluate`] is a pure function from a [`Request`] to a [`Decision`]: default
//!   deny, deny overrides allow (across tiers too, so a lower tier cannot loosen a higher
//!   tier's deny), confirm beats allow, and the risk assessment's level sets a floor through
//!   the `[risk]` table. Any evaluation error denies.
//! - [`PolicyHandle`] shares a policy between threads, reloads it when its files change
//!   (keeping the last good one when an edit is invalid) and counts decisions in
//!   [`Metrics`] (Prometheus text via [`MetricsSnapshot::to_prometheus`]).
//!
//! ```
//! use hush_policy::{Context, Effect, Loader, Request, Right, Tier};
//!
//! let policy = Loader::new(Context::new("/work/app", "/home/me", "/tmp"))
//!     .text(Tier::Project, "agent.toml", r#"
//!         extends = ["ide"]
//!         [[secrets]]
//!         name = "github"
//!         env = "GITHUB_TOKEN"
//!         programs = ["git"]
//!     "#)
//!     .load()?;
//!
//! let d = policy.evaluate(&Request::exec("git", ["status"], "/work/app"));
//! assert_eq!(d.effect, Effect::Allow);
//! assert_eq!(d.secrets[0].env, "GITHUB_TOKEN");
//!
//! let d = policy.evaluate(&Request::file("~/.ssh/id_ed25519", Right::Read, "/work/app"));
//! assert_eq!(d.effect, Effect::Deny);
//! assert_eq!(d.risk.level, hush_policy::RiskLevel::Critical);
//! # Ok::<(), hush_policy::PolicyError>(())
//! ```
//!
//! # What this crate does not promise
//!
//! - It decides; it does not enforce. An executor (`hush run`, `hush mcp`) must apply the
//!   decision, the sandbox rules ([`Policy::filesystem_rules`], [`Policy::network_mode`]),
//!   [`Policy::env_allowed`] and [`Policy::limits`].
//! - Evaluation is lexical: it never reads the filesystem, so symlinks are not resolved unless
//!   the caller passes the request through [`canonicalize_request`] first.
//! - Risk assessment is heuristic: it raises flags on what arguments look like (paths,
//!   metacharacters, injection patterns, secrets the rule pack recognises). It cannot see
//!   what a program will do with an innocent-looking argument.
//! - It never sees secret values: only vault entry names and variable names.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod check;
mod error;
mod eval;
mod glob;
mod load;
mod metrics;
mod paths;
mod policy;
mod profiles;
mod risk;
mod spec;
mod types;
mod watch;

pub use check::TestOutcome;
pub use error::{Location, PolicyError};
pub use eval::{MAX_ARGS, MAX_FIELD_LEN, MAX_JSON_DEPTH};
pub use glob::GlobPattern;
pub use load::{canonicalize_request, split_host_port, Loader, MAX_POLICY_BYTES};
pub use metrics::{Metrics, MetricsSnapshot, LATENCY_BUCKETS_NS};
pub use paths::Context;
pub use policy::{
    Limits, NetworkMode, Policy, PolicyTest, Settings, SERVER_TRUST_LEVELS, TOOL_TRUST_LEVELS,
};
pub use profiles::{profile_names, profile_text};
pub use types::{
    ConnectRequest, Decision, Effect, ExecRequest, FileRequest, Request, Right, Rights, Risk,
    RiskFlag, RiskKind, RiskLevel, SecretGrant, Tier, ToolRequest,
};
pub use watch::{PolicyHandle, ReloadEvent, SETTLE};
