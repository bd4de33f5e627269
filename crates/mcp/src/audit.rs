//! What the proxy reports to its audit callback. Events carry names, hashes, risks and reasons;
//! the one field holding argument values ([`AuditEvent::ToolCall`]'s `arguments`) is never
//! serialised, and a sink that records it must redact it (hush-audit's writer does).

use serde::Serialize;

use crate::confirm::Answer;
use crate::limits::{Anomaly, Limited};
use crate::risk::{Reason, Risk};

/// How a tool call ended at the guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Forwarded without asking.
    Allowed,
    /// Forwarded after the user agreed.
    Confirmed,
    /// Answered with a denial; the server never saw it.
    Denied,
}

/// One audit event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEvent {
    /// A `tools/call` was decided.
    ToolCall {
        /// The server id.
        server: String,
        /// The tool.
        tool: String,
        /// The outcome.
        decision: Decision,
        /// The risk after anomaly flags.
        risk: Risk,
        /// Why.
        reasons: Vec<Reason>,
        /// The user's answer, when asked.
        #[serde(skip_serializing_if = "Option::is_none")]
        answer: Option<Answer>,
        /// The rate limit that denied it.
        #[serde(skip_serializing_if = "Option::is_none")]
        rate_limited: Option<Limited>,
        /// The guard's reasons (a policy's), most decisive first.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        guard_reasons: Vec<String>,
        /// Ids of the guard's rules that matched.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        rules: Vec<String>,
        /// Time the guard took, nanoseconds.
        guard_ns: u64,
        /// The call's arguments, unredacted: never serialised; redact before recording.
        #[serde(skip)]
        arguments: serde_json::Value,
    },
    /// A tool call's capability token was checked (or was required and missing).
    Capability {
        /// The server id.
        server: String,
        /// The tool.
        tool: String,
        /// Whether the token allowed the call (the guard still decides).
        allowed: bool,
        /// The token's id, when it parsed (never the token).
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The agent the token is for.
        #[serde(skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
        /// Why.
        detail: String,
    },
    /// A request other than a tool call was denied (`resources/read` of a risky URI).
    RequestDenied {
        /// The server id.
        server: String,
        /// The method.
        method: String,
        /// The risk.
        risk: Risk,
        /// Why.
        reasons: Vec<Reason>,
    },
    /// A `tools/list` response passed, some tools hidden.
    ToolsListed {
        /// The server id.
        server: String,
        /// Tools the server listed.
        listed: usize,
        /// Names hidden from the client.
        hidden: Vec<String>,
    },
    /// A tool's definition differs from the one trusted (`trust_file`) or from the one listed
    /// earlier in this session (`session`): it is untrusted again.
    DefinitionChanged {
        /// The server id.
        server: String,
        /// The tool.
        tool: String,
        /// `trust_file` or `session`.
        scope: &'static str,
        /// The new definition hash.
        hash: String,
    },
    /// An anomaly flag went up.
    Anomaly {
        /// The server id.
        server: String,
        /// The tool whose call raised it.
        tool: String,
        /// Which.
        anomaly: Anomaly,
    },
    /// Secrets were replaced in a message from the server.
    Redacted {
        /// The server id.
        server: String,
        /// The method the message answers or carries, when known (`tools/call NAME` for a tool's
        /// result).
        method: Option<String>,
        /// Replacements made.
        replacements: usize,
    },
    /// A message was not valid JSON-RPC. From the client it is answered with an error and not
    /// forwarded; from the server it is forwarded redacted.
    Malformed {
        /// `client` or `server`.
        from: &'static str,
        /// Why (never the message's bytes).
        error: String,
    },
    /// The user changed trust from a confirmation prompt.
    TrustChanged {
        /// The server id.
        server: String,
        /// The tool, for tool-level changes.
        tool: Option<String>,
        /// The answer that changed it.
        answer: Answer,
    },
    /// The trust file could not be read again or written; the last good contents apply, and a
    /// change holds for this session only.
    TrustFileError {
        /// The error.
        error: String,
    },
}
