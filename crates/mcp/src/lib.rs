//! A guard for MCP servers: a stdio JSON-RPC proxy that checks tool calls, keeps trust, asks the
//! user, and redacts what comes back.
//!
//! # How it fits together
//!
//! - [`Proxy`] sits between an MCP client and one server speaking MCP's stdio transport
//!   (newline-delimited JSON-RPC 2.0). It passes every message it does not need to change
//!   through byte for byte, pairs responses with requests by id, and runs the server's stderr
//!   through the streaming redactor.
//! - `tools/list` responses: each tool's definition is hashed ([`definition_hash`], SHA-256 of
//!   canonical JSON); blocked tools are hidden; a tool whose definition changed since it was
//!   trusted (or during the session) is untrusted again.
//! - `tools/call` requests: a [`Checker`] assesses the arguments (traversal, roots, symlinks,
//!   sensitive paths, command and SQL injection, secrets) into a [`Risk`] with [`Reason`]s;
//!   rate limits and anomaly flags apply; a [`Guard`] (the built-in [`Rules`], or a hush policy
//!   through [`PolicyGuard`]) returns allow, confirm or deny; confirmations go to a [`Prompt`] (the
//!   controlling terminal, [`TtyPrompt`]). Denied calls are answered by hush with a tool result
//!   marked `isError` and a generic text; details go to the [`AuditEvent`] sink.
//! - A tool call may carry a capability token in `params._meta["hush/capability"]`; a
//!   [`CapabilityCheck`] in [`ProxyConfig::capability`] decides on it before the guard does
//!   (hush-capability tokens, wired in by `hush mcp --require-capability`). The token is taken
//!   out of every call before it is forwarded.
//! - Trust levels live in a [`TrustStore`]: a 0600 JSON file, written atomically, keyed by
//!   server identity ([`server_id`]) and tool definition hash.
//!
//! ```
//! use std::sync::Arc;
//! use hush_mcp::{Checker, PathConfig, Proxy, ProxyConfig, Rules};
//! use hush_patterns::{KnownValues, RuleSet};
//!
//! let rules = Arc::new(RuleSet::builtin()?);
//! let known = Arc::new(KnownValues::empty());
//! let checker = Checker::new(rules.clone(), known.clone(), PathConfig::default());
//! let guard = Rules { blocked: vec!["delete_file".into()], confirm: vec![] };
//! let proxy = Proxy::new(ProxyConfig::new(
//!     vec!["my-server".into()], rules, known, checker, Box::new(guard),
//! ));
//! let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_file","arguments":{}}}"#;
//! let action = proxy.client_message(call);
//! assert!(action.to_server.is_none());
//! assert!(String::from_utf8_lossy(&action.to_client[0]).contains(r#""isError":true"#));
//! # Ok::<(), hush_patterns::Error>(())
//! ```
//!
//! # What this crate does not promise
//!
//! - It does not spawn or sandbox the server (that is `crates/exec`'s job:
//!   `Sandbox::spawn_piped`); [`Proxy::run`] takes the server's pipes.
//! - Argument checks are heuristics over JSON strings: a tool that interprets an innocent-looking
//!   argument dangerously is only caught by the policy and the sandbox.
//! - While a confirmation is pending, later client messages wait behind it.
//! - A batch holding denied calls is answered with two arrays: the server's and hush's.
//! - Redaction works on the JSON text: a secret written with JSON escapes inside it (`\u0041`)
//!   is found only when it is a registered known value.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod capability;
mod confirm;
mod guard;
mod limits;
mod message;
mod policy;
mod proxy;
mod risk;
mod trust;

pub use audit::{AuditEvent, Decision};
pub use capability::{CapabilityCall, CapabilityCheck, CapabilityVerdict, CAPABILITY_META_KEY};
pub use confirm::{Answer, Prompt, Question, TtyPrompt};
pub use guard::{Guard, Rules, Ruling, ToolCall, Verdict};
pub use limits::{Anomalies, Anomaly, Limited, RateConfig, RateLimiter, TokenBucket};
pub use message::{
    canonical_json, classify, definition_hash, parse_frame, Frame, Kind, ParseError,
};
pub use policy::PolicyGuard;
pub use proxy::{
    AuditSink, ClientAction, Proxy, ProxyConfig, ProxyError, DEFAULT_MAX_MESSAGE, DENIED_TEXT,
    RATE_LIMITED_TEXT,
};
pub use risk::{Assessment, Check, Checker, PathConfig, Reason, Risk};
pub use trust::{
    server_id, Effective, ServerEntry, ServerLevel, ToolEntry, ToolLevel, TrustError, TrustFile,
    TrustStore, Validity, TRUST_FILE_VERSION,
};
