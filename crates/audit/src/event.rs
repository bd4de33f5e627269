//! What a record says. One enum for every event of `hush run` and `hush mcp`; serialised
//! with a `kind` tag and fields in declaration order, so the byte layout of a record is fixed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a tool asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Target {
    /// A command with its (redacted) arguments, program first.
    Command {
        /// argv, program first.
        argv: Vec<String>,
    },
    /// An MCP tool call with its (redacted) arguments.
    Tool {
        /// Server name.
        server: String,
        /// Tool name.
        tool: String,
        /// The call's arguments.
        arguments: serde_json::Value,
    },
    /// A file access.
    File {
        /// The path.
        path: String,
        /// The right asked for.
        right: String,
    },
    /// A network connection.
    Connect {
        /// `host:port`.
        address: String,
    },
}

impl Target {
    /// A short name for per-tool counts: the program's file name, `server/tool`, `file`, or
    /// `connect`.
    pub fn tool_name(&self) -> String {
        match self {
            Target::Command { argv } => argv
                .first()
                .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
                .unwrap_or_default(),
            Target::Tool { server, tool, .. } => format!("{server}/{tool}"),
            Target::File { .. } => "file".into(),
            Target::Connect { .. } => "connect".into(),
        }
    }

    /// One line for reports: the command line, `server/tool`, `right path`, or the address.
    pub fn summary(&self) -> String {
        match self {
            Target::Command { argv } => argv.join(" "),
            Target::Tool { server, tool, .. } => format!("{server}/{tool}"),
            Target::File { path, right } => format!("{right} {path}"),
            Target::Connect { address } => format!("connect {address}"),
        }
    }
}

/// One risk flag, as the policy raised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// The kind (`sensitive-path`, `network`, ...).
    pub kind: String,
    /// `low`, `medium`, `high` or `critical`.
    pub level: String,
    /// What was seen (never a secret value).
    pub detail: String,
}

/// A secret handed to a tool: names only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Injected {
    /// The vault entry.
    pub name: String,
    /// The variable the tool received it in.
    pub env: String,
}

/// An audited event. Every string in it passes through the redactor before it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A writer started (one `hush run` or `hush mcp` process).
    SessionStart {
        /// `hush run`, `hush mcp`, or a library caller's name.
        tool: String,
        /// Its version.
        version: String,
        /// Policy files in force.
        policy: Vec<String>,
    },
    /// A tool asked to do something.
    Request {
        /// Correlates the events of one request.
        id: String,
        /// What it asked.
        target: Target,
        /// Working directory.
        cwd: Option<String>,
    },
    /// The policy decided.
    Decision {
        /// The request.
        id: String,
        /// `allow`, `confirm` or `deny`.
        effect: String,
        /// Why.
        reasons: Vec<String>,
        /// Matched rule ids.
        rules: Vec<String>,
        /// `low` to `critical`.
        risk: String,
        /// Risk flags.
        flags: Vec<Flag>,
        /// Time to decide, nanoseconds.
        latency_ns: u64,
    },
    /// A human was (or could not be) asked.
    Confirmation {
        /// The request.
        id: String,
        /// Whether a prompt was shown (false: no terminal, so confirm meant deny).
        asked: bool,
        /// `once`, `always`, `trust-server`, `block`, `cancel`, `timeout`, `no-terminal`.
        answer: String,
    },
    /// Secrets were injected (names only).
    SecretsInjected {
        /// The request.
        id: String,
        /// What went where.
        secrets: Vec<Injected>,
    },
    /// The sandbox that was applied.
    Enforcement {
        /// The request.
        id: String,
        /// The level reached.
        level: String,
        /// Mechanisms applied (`landlock`, `seccomp`, `userns`, `rlimits`, ...).
        mechanisms: Vec<String>,
        /// The Landlock ABI, if Landlock was used.
        landlock_abi: Option<u32>,
    },
    /// Resources the tool used.
    Resources {
        /// The request.
        id: String,
        /// CPU time, milliseconds.
        cpu_ms: u64,
        /// Peak resident memory, KiB.
        max_rss_kb: u64,
        /// Wall time, milliseconds.
        wall_ms: u64,
        /// Output bytes before redaction.
        output_bytes: u64,
        /// How limits were enforced (`cgroup`, `rlimit`).
        limits_by: Option<String>,
        /// The limit that stopped the tool, if one did.
        stopped_by: Option<String>,
    },
    /// The tool ended.
    Exit {
        /// The request.
        id: String,
        /// Exit code, if it exited.
        code: Option<i32>,
        /// Signal, if it was killed.
        signal: Option<i32>,
    },
    /// Secrets were redacted from the tool's output.
    Redactions {
        /// The request.
        id: String,
        /// Replacements made.
        count: u64,
        /// Per rule id.
        rules: BTreeMap<String, u64>,
    },
    /// A capability token event (`requested`, `granted`, `denied`, `delegated`, `revoked`,
    /// `validated`, `validation-failed`).
    Capability {
        /// What happened.
        action: String,
        /// The token's id (never the token).
        token: String,
        /// The agent it concerns.
        agent: Option<String>,
        /// More detail.
        detail: Option<String>,
    },
    /// Free text from the executor (a warning, an anomaly).
    Note {
        /// The request, if any.
        id: Option<String>,
        /// The note.
        message: String,
    },
    /// The writer closed cleanly; a final checkpoint follows.
    SessionEnd {
        /// Records this session wrote, this one included.
        records: u64,
    },
}

impl Event {
    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::SessionStart { .. } => "session_start",
            Event::Request { .. } => "request",
            Event::Decision { .. } => "decision",
            Event::Confirmation { .. } => "confirmation",
            Event::SecretsInjected { .. } => "secrets_injected",
            Event::Enforcement { .. } => "enforcement",
            Event::Resources { .. } => "resources",
            Event::Exit { .. } => "exit",
            Event::Redactions { .. } => "redactions",
            Event::Capability { .. } => "capability",
            Event::Note { .. } => "note",
            Event::SessionEnd { .. } => "session_end",
        }
    }
}
