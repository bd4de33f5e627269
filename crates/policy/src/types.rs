//! Requests, decisions and the small enums they share.

use std::fmt;
use std::sync::Arc;

/// What the policy says about a request. Ordered by strictness: `Allow < Confirm < Deny`, and
/// combining effects takes the strictest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Effect {
    /// Go ahead.
    Allow,
    /// Ask a human; with nobody to ask, deny.
    Confirm,
    /// Refuse.
    Deny,
}

impl Effect {
    /// `allow`, `confirm` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Confirm => "confirm",
            Effect::Deny => "deny",
        }
    }

    /// Parses `allow`, `confirm` or `deny`.
    pub fn parse(s: &str) -> Option<Effect> {
        match s {
            "allow" => Some(Effect::Allow),
            "confirm" => Some(Effect::Confirm),
            "deny" => Some(Effect::Deny),
            _ => None,
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A filesystem right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Right {
    /// Read a file or list a directory.
    Read,
    /// Modify an existing file.
    Write,
    /// Create a file or directory.
    Create,
    /// Remove or rename away.
    Delete,
    /// Execute.
    Execute,
}

impl Right {
    /// Every right, in a fixed order.
    pub const ALL: [Right; 5] = [
        Right::Read,
        Right::Write,
        Right::Create,
        Right::Delete,
        Right::Execute,
    ];

    /// The lowercase name used in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Right::Read => "read",
            Right::Write => "write",
            Right::Create => "create",
            Right::Delete => "delete",
            Right::Execute => "execute",
        }
    }

    /// Parses a lowercase right name.
    pub fn parse(s: &str) -> Option<Right> {
        Right::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Right`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rights(pub(crate) u8);

impl Rights {
    /// Whether `right` is in the set.
    pub fn contains(self, right: Right) -> bool {
        self.0 & right.bit() != 0
    }

    /// Whether every right of `other` is in the set.
    pub fn covers(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// The rights in the set.
    pub fn iter(self) -> impl Iterator<Item = Right> {
        Right::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}

/// Where a policy file sits. A rule from any tier that denies wins over allows from every
/// tier, so a lower tier cannot loosen a higher tier's deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Tier {
    /// Machine-wide, set by an administrator.
    System,
    /// The user's own defaults.
    User,
    /// The project's (or the caller's) policy.
    Project,
}

impl Tier {
    /// `system`, `user` or `project`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::System => "system",
            Tier::User => "user",
            Tier::Project => "project",
        }
    }
}

/// How risky a request looks, independent of what the rules allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RiskLevel {
    /// Nothing noteworthy.
    Low,
    /// Worth recording (network use, shell metacharacters).
    Medium,
    /// A human should look (sensitive paths, traversal, destructive operations outside the
    /// workspace, injection patterns).
    High,
    /// Almost certainly wrong (a secret in an argument, private keys, `/etc/shadow`).
    Critical,
}

impl RiskLevel {
    /// Every level, lowest first.
    pub const ALL: [RiskLevel; 4] = [
        RiskLevel::Low,
        RiskLevel::Medium,
        RiskLevel::High,
        RiskLevel::Critical,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
            RiskLevel::Critical => "critical",
        }
    }

    /// Parses a lowercase level name.
    pub fn parse(s: &str) -> Option<RiskLevel> {
        RiskLevel::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of risk the assessment recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RiskKind {
    /// A credential store, key file, `.env`, keychain or browser profile.
    SensitivePath,
    /// The request uses the network.
    Network,
    /// Deleting or overwriting, especially outside the workspace.
    Destructive,
    /// Shell metacharacters in an argument.
    ShellMetacharacters,
    /// Command or SQL injection patterns (`$(...)`, `; rm`, `' OR 1=1`).
    Injection,
    /// `..` leaving the workspace, or encoded traversal.
    PathTraversal,
    /// An argument holds something the rule pack recognises as a secret.
    SecretInArgument,
    /// A shell or an interpreter running inline code.
    Shell,
}

impl RiskKind {
    /// Every kind.
    pub const ALL: [RiskKind; 8] = [
        RiskKind::SensitivePath,
        RiskKind::Network,
        RiskKind::Destructive,
        RiskKind::ShellMetacharacters,
        RiskKind::Injection,
        RiskKind::PathTraversal,
        RiskKind::SecretInArgument,
        RiskKind::Shell,
    ];

    /// The kebab-case name used in reasons, audit records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskKind::SensitivePath => "sensitive-path",
            RiskKind::Network => "network",
            RiskKind::Destructive => "destructive",
            RiskKind::ShellMetacharacters => "shell-metacharacters",
            RiskKind::Injection => "injection",
            RiskKind::PathTraversal => "path-traversal",
            RiskKind::SecretInArgument => "secret-in-argument",
            RiskKind::Shell => "shell",
        }
    }
}

impl fmt::Display for RiskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason a request is risky. `detail` never holds a secret value: for
/// [`RiskKind::SecretInArgument`] it names the rule and the argument position only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskFlag {
    /// What kind of risk.
    pub kind: RiskKind,
    /// How serious this instance is.
    pub level: RiskLevel,
    /// What was seen (a path, a pattern, an argument position).
    pub detail: String,
}

impl fmt::Display for RiskFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.kind, self.level, self.detail)
    }
}

/// The risk of a request: the highest flag's level, and every flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    /// The highest level among `flags`, `Low` when there are none.
    pub level: RiskLevel,
    /// What was seen.
    pub flags: Vec<RiskFlag>,
}

impl Default for Risk {
    fn default() -> Self {
        Risk {
            level: RiskLevel::Low,
            flags: Vec::new(),
        }
    }
}

impl Risk {
    pub(crate) fn flag(&mut self, kind: RiskKind, level: RiskLevel, detail: impl Into<String>) {
        let detail = detail.into();
        if self
            .flags
            .iter()
            .any(|f| f.kind == kind && f.detail == detail)
        {
            return;
        }
        self.level = self.level.max(level);
        self.flags.push(RiskFlag {
            kind,
            level,
            detail,
        });
    }
}

/// A vault entry a tool may receive, and the variable it arrives in. Names only: the policy
/// never sees values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretGrant {
    /// The vault entry.
    pub name: String,
    /// The environment variable the tool receives it in.
    pub env: String,
}

/// Something a tool wants to do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Request {
    /// Run a program.
    Exec(ExecRequest),
    /// Touch a path.
    File(FileRequest),
    /// Open a network connection.
    Connect(ConnectRequest),
    /// Call an MCP tool.
    Tool(ToolRequest),
}

/// Run `program` with `args` in `cwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecRequest {
    /// The program as it will be executed: a bare name or a path. Executors should pass the
    /// resolved absolute path; rules whose `program` has no `/` match its file name.
    pub program: String,
    /// The arguments after the program (not including argv\[0\]).
    pub args: Vec<String>,
    /// The working directory (absolute).
    pub cwd: String,
    /// Vault entries the caller asks to inject (names).
    pub secrets: Vec<String>,
}

/// Use `right` on `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileRequest {
    /// The path; relative paths are taken from `cwd`.
    pub path: String,
    /// What the tool wants to do with it.
    pub right: Right,
    /// The working directory (absolute).
    pub cwd: String,
}

/// Connect to `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectRequest {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// Call `tool` on MCP server `server` with `arguments`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ToolRequest {
    /// The server's name in the policy.
    pub server: String,
    /// The tool name.
    pub tool: String,
    /// The call's `arguments` object.
    pub arguments: serde_json::Value,
}

impl Request {
    /// Run `program` with `args` in `cwd`.
    pub fn exec<I, A>(program: impl Into<String>, args: I, cwd: impl Into<String>) -> Request
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        Request::Exec(ExecRequest {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            cwd: cwd.into(),
            secrets: Vec::new(),
        })
    }

    /// Use `right` on `path` (relative paths from `cwd`).
    pub fn file(path: impl Into<String>, right: Right, cwd: impl Into<String>) -> Request {
        Request::File(FileRequest {
            path: path.into(),
            right,
            cwd: cwd.into(),
        })
    }

    /// Connect to `host:port`.
    pub fn connect(host: impl Into<String>, port: u16) -> Request {
        Request::Connect(ConnectRequest {
            host: host.into(),
            port,
        })
    }

    /// Call an MCP tool.
    pub fn tool(
        server: impl Into<String>,
        tool: impl Into<String>,
        arguments: serde_json::Value,
    ) -> Request {
        Request::Tool(ToolRequest {
            server: server.into(),
            tool: tool.into(),
            arguments,
        })
    }

    /// Asks for vault entries to be injected (only meaningful for [`Request::Exec`]).
    #[must_use]
    pub fn with_secrets<I, A>(mut self, names: I) -> Request
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        if let Request::Exec(e) = &mut self {
            e.secrets.extend(names.into_iter().map(Into::into));
        }
        self
    }

    /// A short label for logs and metrics: the program's file name, `file:RIGHT`,
    /// `connect`, or `SERVER/TOOL`.
    pub fn label(&self) -> String {
        match self {
            Request::Exec(e) => e.program.rsplit('/').next().unwrap_or("").to_string(),
            Request::File(f) => format!("file:{}", f.right),
            Request::Connect(_) => "connect".to_string(),
            Request::Tool(t) => format!("{}/{}", t.server, t.tool),
        }
    }
}

/// The answer to a [`Request`]: what to do, why, and how risky it looked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// Allow, confirm or deny.
    pub effect: Effect,
    /// Human-readable reasons, most decisive first.
    pub reasons: Vec<String>,
    /// Ids of the rules that matched (allow, confirm and deny rules alike).
    pub rules: Vec<Arc<str>>,
    /// The risk assessment.
    pub risk: Risk,
    /// Secrets the tool receives if it runs (exec requests only).
    pub secrets: Vec<SecretGrant>,
}

impl Decision {
    pub(crate) fn deny(reason: impl Into<String>) -> Decision {
        Decision {
            effect: Effect::Deny,
            reasons: vec![reason.into()],
            rules: Vec::new(),
            risk: Risk::default(),
            secrets: Vec::new(),
        }
    }

    /// Whether the effect is [`Effect::Allow`].
    pub fn is_allowed(&self) -> bool {
        self.effect == Effect::Allow
    }
}
