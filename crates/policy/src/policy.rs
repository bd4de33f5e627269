//! The compiled policy: immutable, `Send + Sync`, built once by [`crate::Loader`].

use std::path::PathBuf;
use std::sync::Arc;

use globset::GlobSet;

use crate::glob::GlobPattern;
use hush_patterns::RuleSet;

use crate::error::Location;
use crate::paths::Context;
use crate::risk::Sensitive;
use crate::types::{Effect, Request, Rights, RiskLevel, SecretGrant, Tier};

/// What every rule carries.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub(crate) id: Arc<str>,
    pub(crate) effect: Effect,
    pub(crate) reason: Option<String>,
    pub(crate) location: Location,
    pub(crate) tier: Tier,
    /// Set when the id was written in the file (only those can be overridden or removed).
    pub(crate) explicit: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct FsRule {
    pub(crate) meta: Meta,
    /// Expanded patterns, as written after expansion.
    pub(crate) patterns: Vec<String>,
    pub(crate) set: GlobSet,
    pub(crate) rights: Rights,
}

#[derive(Debug, Clone)]
pub(crate) struct CmdRule {
    pub(crate) meta: Meta,
    pub(crate) program_src: String,
    /// The pattern has a `/`: it matches the program's path, not its file name.
    pub(crate) by_path: bool,
    pub(crate) args_src: Vec<String>,
    pub(crate) args: Vec<GlobPattern>,
    pub(crate) exact: bool,
    pub(crate) shell: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct ArgConstraint {
    pub(crate) name: String,
    pub(crate) paths: Option<GlobSet>,
    pub(crate) one_of: Vec<serde_json::Value>,
    pub(crate) pattern: Option<Arc<regex_automata::meta::Regex>>,
    pub(crate) max_len: Option<usize>,
    pub(crate) required: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct McpRule {
    pub(crate) meta: Meta,
    pub(crate) server_src: String,
    pub(crate) tool_src: String,
    pub(crate) server: GlobPattern,
    pub(crate) tool: GlobPattern,
    pub(crate) args: Vec<ArgConstraint>,
    /// A pinned tool trust level (one of [`TOOL_TRUST_LEVELS`]).
    pub(crate) trust: Option<&'static str>,
    /// A pinned server trust level (one of [`SERVER_TRUST_LEVELS`]).
    pub(crate) server_trust: Option<&'static str>,
}

/// Tool trust levels an `[[mcp]]` rule can pin with `trust`, strictest last.
pub const TOOL_TRUST_LEVELS: [&str; 4] =
    ["always_allow", "confirm_once", "confirm_always", "blocked"];

/// Server trust levels an `[[mcp]]` rule can pin with `server_trust`, strictest last.
pub const SERVER_TRUST_LEVELS: [&str; 3] = ["trusted", "untrusted", "sandboxed"];

#[derive(Debug, Clone)]
pub(crate) struct HostPort {
    pub(crate) src: String,
    pub(crate) host: GlobPattern,
    pub(crate) port: Option<u16>,
}

impl HostPort {
    /// `host` must be lowercase already.
    pub(crate) fn matches(&self, host: &str, port: u16) -> bool {
        self.port.is_none_or(|p| p == port) && self.host.is_match(host)
    }
}

/// How a tool may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkMode {
    /// No network at all.
    Off,
    /// Only the listed `host:port`s.
    Allowlist,
    /// Anything not denied.
    Any,
}

#[derive(Debug, Clone)]
pub(crate) struct NetLayer {
    pub(crate) tier: Tier,
    pub(crate) location: Location,
    pub(crate) mode: NetworkMode,
    pub(crate) allow: Vec<HostPort>,
    pub(crate) deny: Vec<HostPort>,
}

#[derive(Debug, Clone)]
pub(crate) struct EnvLayer {
    pub(crate) allow: GlobSet,
    pub(crate) deny: GlobSet,
}

#[derive(Debug, Clone)]
pub(crate) struct SecretRule {
    pub(crate) id: Arc<str>,
    pub(crate) location: Location,
    pub(crate) name: String,
    pub(crate) env: String,
    pub(crate) programs_src: Vec<String>,
    /// `None`: every program a command rule allows.
    pub(crate) programs: Option<(GlobSet, GlobSet)>,
}

/// Resource limits for a tool run. `None` means the policy sets no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// CPU time, seconds.
    pub cpu_seconds: Option<u64>,
    /// Address space / memory, MiB.
    pub memory_mb: Option<u64>,
    /// Wall-clock time, seconds.
    pub wall_seconds: Option<u64>,
    /// Bytes of output (stdout + stderr, before redaction).
    pub output_bytes: Option<u64>,
    /// Processes (including threads, as the kernel counts them).
    pub processes: Option<u64>,
    /// Open file descriptors.
    pub open_files: Option<u64>,
}

impl Limits {
    /// The stricter of two limits, field by field.
    pub(crate) fn min(self, o: Limits) -> Limits {
        fn m(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        Limits {
            cpu_seconds: m(self.cpu_seconds, o.cpu_seconds),
            memory_mb: m(self.memory_mb, o.memory_mb),
            wall_seconds: m(self.wall_seconds, o.wall_seconds),
            output_bytes: m(self.output_bytes, o.output_bytes),
            processes: m(self.processes, o.processes),
            open_files: m(self.open_files, o.open_files),
        }
    }
}

/// Settings for the executor that are neither rules nor limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// Run in a fresh temporary directory as `${workspace}`, removed afterwards.
    pub temp_workspace: bool,
    /// Give the tool the caller's stdin (otherwise it is closed).
    pub stdin: bool,
}

/// A request from a policy's `[[tests]]` and what it must yield.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PolicyTest {
    /// The test's name (or its location).
    pub name: String,
    /// Where it is written.
    pub location: Location,
    /// The request.
    pub request: Request,
    /// The effect it must get.
    pub expect: Effect,
    /// Rule ids that must be among the matched rules.
    pub rules: Vec<String>,
    /// Substrings that must each appear in some reason.
    pub reasons: Vec<String>,
    /// The risk level it must get, if given.
    pub risk: Option<RiskLevel>,
}

/// A compiled policy. Build one with [`crate::Loader`]; decide with [`Policy::evaluate`].
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) ctx: Context,
    pub(crate) fs: Vec<FsRule>,
    pub(crate) fs_set: GlobSet,
    pub(crate) fs_map: Vec<usize>,
    pub(crate) cmds: Vec<CmdRule>,
    pub(crate) cmd_name_set: GlobSet,
    pub(crate) cmd_name_map: Vec<usize>,
    pub(crate) cmd_path_set: GlobSet,
    pub(crate) cmd_path_map: Vec<usize>,
    pub(crate) mcp: Vec<McpRule>,
    pub(crate) net: Vec<NetLayer>,
    pub(crate) env: Vec<EnvLayer>,
    pub(crate) secrets: Vec<SecretRule>,
    pub(crate) limits: Limits,
    pub(crate) risk_map: [Effect; 4],
    pub(crate) settings: Settings,
    pub(crate) tests: Vec<PolicyTest>,
    pub(crate) sources: Vec<PathBuf>,
    pub(crate) secret_rules: Option<Arc<RuleSet>>,
    pub(crate) sensitive: Arc<Sensitive>,
}

impl Policy {
    /// The trust levels the policy pins for `tool` on MCP server `server`: (server level, tool
    /// level), each the strictest that an `[[mcp]]` rule naming them sets with `server_trust`
    /// or `trust` (argument constraints aside). A pinned level overrides the trust file.
    pub fn mcp_trust(
        &self,
        server: &str,
        tool: &str,
    ) -> (Option<&'static str>, Option<&'static str>) {
        let rank = |levels: &[&str], l: &str| levels.iter().position(|x| *x == l);
        let mut pinned: (Option<&'static str>, Option<&'static str>) = (None, None);
        for r in &self.mcp {
            if !r.server.is_match(server) {
                continue;
            }
            if let Some(l) = r.server_trust {
                if pinned
                    .0
                    .is_none_or(|p| rank(&SERVER_TRUST_LEVELS, l) > rank(&SERVER_TRUST_LEVELS, p))
                {
                    pinned.0 = Some(l);
                }
            }
            if let Some(l) = r.trust.filter(|_| r.tool.is_match(tool)) {
                if pinned
                    .1
                    .is_none_or(|p| rank(&TOOL_TRUST_LEVELS, l) > rank(&TOOL_TRUST_LEVELS, p))
                {
                    pinned.1 = Some(l);
                }
            }
        }
        pinned
    }

    /// Whether some call of `tool` on MCP server `server` can be allowed or confirmed: an allow
    /// or confirm `[[mcp]]` rule names both, and no deny rule without argument constraints
    /// does. A client should not see tools for which this is false (`tools/list`).
    pub fn tool_visible(&self, server: &str, tool: &str) -> bool {
        let names = |r: &&McpRule| r.server.is_match(server) && r.tool.is_match(tool);
        let mut reachable = false;
        for r in self.mcp.iter().filter(names) {
            match r.meta.effect {
                Effect::Deny if r.args.is_empty() => return false,
                Effect::Deny => {}
                _ => reachable = true,
            }
        }
        reachable
    }

    /// The directories the policy's paths were expanded against.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Resource limits (the strictest of every tier).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Executor settings.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// The effect a risk level maps to (at least).
    pub fn risk_effect(&self, level: RiskLevel) -> Effect {
        self.risk_map[level as usize]
    }

    /// The strictest network mode over every tier (`Off` when no tier says).
    pub fn network_mode(&self) -> NetworkMode {
        let mut mode = if self.net.is_empty() {
            NetworkMode::Off
        } else {
            NetworkMode::Any
        };
        for l in &self.net {
            mode = match (mode, l.mode) {
                (NetworkMode::Off, _) | (_, NetworkMode::Off) => NetworkMode::Off,
                (NetworkMode::Allowlist, _) | (_, NetworkMode::Allowlist) => NetworkMode::Allowlist,
                _ => NetworkMode::Any,
            };
        }
        mode
    }

    /// The allowlisted `host:port` entries, as written (for an executor's proxy).
    pub fn network_allowlist(&self) -> Vec<String> {
        self.net
            .iter()
            .flat_map(|l| l.allow.iter().map(|h| h.src.clone()))
            .collect()
    }

    /// The denied `host:port` entries, as written (the executor's proxy refuses them even when
    /// an allowlist entry matches).
    pub fn network_denylist(&self) -> Vec<String> {
        self.net
            .iter()
            .flat_map(|l| l.deny.iter().map(|h| h.src.clone()))
            .collect()
    }

    /// Whether an environment variable may pass to the tool: allowed by every tier that has an
    /// `[environment]` table and denied by none. With no such table nothing passes.
    pub fn env_allowed(&self, name: &str) -> bool {
        !self.env.is_empty()
            && self
                .env
                .iter()
                .all(|l| l.allow.is_match(name) && !l.deny.is_match(name))
    }

    /// Filesystem rules as `(id, effect, expanded patterns, rights)`, for a sandbox to turn
    /// into kernel rules. Deny rules are included: a sandbox must subtract them.
    pub fn filesystem_rules(&self) -> impl Iterator<Item = (&str, Effect, &[String], Rights)> {
        self.fs
            .iter()
            .map(|r| (&*r.meta.id, r.meta.effect, r.patterns.as_slice(), r.rights))
    }

    /// Every secret grant, whatever program it is for.
    pub fn secret_grants(&self) -> impl Iterator<Item = SecretGrant> + '_ {
        self.secrets.iter().map(|s| SecretGrant {
            name: s.name.clone(),
            env: s.env.clone(),
        })
    }

    /// The policy's own `[[tests]]` (from the top file of each tier; not from `extends`).
    pub fn tests(&self) -> &[PolicyTest] {
        &self.tests
    }

    /// Every file the policy was read from (for watching).
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    /// How many rules (filesystem, command, MCP, secret) the policy has.
    pub fn rule_count(&self) -> usize {
        self.fs.len() + self.cmds.len() + self.mcp.len() + self.secrets.len()
    }

    /// Every rule id with the place it is defined, in section order.
    pub fn rule_ids(&self) -> Vec<(Arc<str>, Location)> {
        let mut v: Vec<(Arc<str>, Location)> = Vec::new();
        v.extend(
            self.fs
                .iter()
                .map(|r| (r.meta.id.clone(), r.meta.location.clone())),
        );
        v.extend(
            self.cmds
                .iter()
                .map(|r| (r.meta.id.clone(), r.meta.location.clone())),
        );
        v.extend(
            self.mcp
                .iter()
                .map(|r| (r.meta.id.clone(), r.meta.location.clone())),
        );
        v.extend(
            self.secrets
                .iter()
                .map(|r| (r.id.clone(), r.location.clone())),
        );
        v
    }
}
