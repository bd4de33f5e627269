//! `hush mcp`'s audit: the proxy's events as hush-audit records (hash-chained, redacted with the
//! rule pack and the server's secrets), and short notes on stderr for the client's log.
//!
//! A tool call becomes `request` (server, tool, arguments), `decision` (the effect the guard
//! gave: `allow`, `confirm` or `deny`, its reasons and rules, the risk and the argument checks'
//! findings as flags) and, when the user was asked, `confirmation`. Everything else the proxy
//! reports (hidden tools, changed definitions, anomalies, trust changes) is a `note`;
//! redactions are `redactions`; the server's sandbox is `enforcement`, its end `exit`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use hush_audit::{AuditWriter, Event, Flag, Injected, Target};
use hush_exec::{Enforcement, PipedEnd, Status};
use hush_mcp::{Answer, AuditEvent, AuditSink, Decision, Reason};
use hush_patterns::RuleSet;
use hush_policy::{Decision as PolicyDecision, Request};

/// The request id of events about the server rather than one call.
const SERVER_ID: &str = "server";

struct Inner {
    writer: Mutex<Option<AuditWriter>>,
    /// The server's name in the policy (audit targets read `server/tool`).
    server: String,
    next: AtomicU64,
    warned: AtomicBool,
    /// How the server's resource limits were enforced (`cgroup`, `rlimit`), once it started.
    limits_by: Mutex<Option<String>>,
}

/// The audit log of one `hush mcp` session (a no-op without `--audit-log`).
#[derive(Clone)]
pub(crate) struct McpAudit(Arc<Inner>);

impl McpAudit {
    /// Opens `log` (when given), redacting with the built-in rules (and, once registered with
    /// [`add_known`](Self::add_known), the server's secrets).
    pub(crate) fn open(
        log: Option<&Path>,
        key: Option<&PathBuf>,
        policy: &[PathBuf],
        server: String,
        rules: Arc<RuleSet>,
    ) -> anyhow::Result<McpAudit> {
        let writer = log
            .map(|log| crate::audit::open_writer(log, key, policy, "hush mcp", Some(rules)))
            .transpose()?;
        Ok(McpAudit(Arc::new(Inner {
            writer: Mutex::new(writer),
            server,
            next: AtomicU64::new(1),
            warned: AtomicBool::new(false),
            limits_by: Mutex::new(None),
        })))
    }

    /// Registers a secret value with the log's redactor.
    pub(crate) fn add_known(&self, label: &str, value: &[u8]) -> anyhow::Result<()> {
        let mut w = self.0.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(writer) = w.as_mut() {
            writer
                .add_known(label, value)
                .with_context(|| format!("cannot register `{label}` with the audit redactor"))?;
        }
        Ok(())
    }

    /// The policy's decision on the server command itself.
    pub(crate) fn server_request(&self, request: &Request, d: &PolicyDecision, took: Duration) {
        self.append(&[
            crate::audit::request_event(SERVER_ID, request),
            hush_exec::decision_event(SERVER_ID, d, crate::audit::nanos(took)),
        ]);
    }

    /// Secrets handed to the server (names only).
    pub(crate) fn secrets(&self, granted: impl Iterator<Item = (String, String)>) {
        let secrets: Vec<Injected> = granted.map(|(name, env)| Injected { name, env }).collect();
        if !secrets.is_empty() {
            self.append(&[Event::SecretsInjected {
                id: SERVER_ID.into(),
                secrets,
            }]);
        }
    }

    fn append(&self, events: &[Event]) {
        let mut w = self.0.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(writer) = w.as_mut() else { return };
        for e in events {
            if let Err(err) = writer.append(e) {
                if !self.0.warned.swap(true, Ordering::SeqCst) {
                    let _ = writeln!(
                        std::io::stderr(),
                        "hush mcp: warning: cannot write the audit log: {err}"
                    );
                }
                return;
            }
        }
    }

    /// A free-text note.
    pub(crate) fn note(&self, id: Option<&str>, message: &str) {
        self.append(&[Event::Note {
            id: id.map(str::to_string),
            message: message.to_string(),
        }]);
    }

    /// The server's sandbox.
    pub(crate) fn enforcement(&self, e: &Enforcement) {
        *self.0.limits_by.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.limits_name());
        let mechanisms = e.mechanisms();
        self.append(&[Event::Enforcement {
            id: SERVER_ID.into(),
            level: e.level.to_string(),
            mechanisms,
            landlock_abi: e.landlock_abi,
        }]);
    }

    /// The server's end.
    pub(crate) fn exit(&self, end: Option<&PipedEnd>, wall: Duration) {
        let (code, signal) = match end.map(|e| e.status) {
            Some(Status::Exited(c)) => (Some(c), None),
            Some(Status::Signaled(s)) => (None, Some(s)),
            _ => (None, None),
        };
        let mut events = Vec::new();
        if let Some(u) = end.and_then(|e| e.usage) {
            events.push(Event::Resources {
                id: SERVER_ID.into(),
                cpu_ms: u.cpu_ms,
                max_rss_kb: u.max_rss_kb,
                wall_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
                output_bytes: 0,
                limits_by: self
                    .0
                    .limits_by
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone(),
                stopped_by: end.and_then(|e| e.stopped).map(|s| {
                    match s {
                        hush_exec::Stop::Processes => "processes",
                        _ => "wall_seconds",
                    }
                    .to_string()
                }),
            });
        }
        for r in end.map(|e| e.refused.as_slice()).unwrap_or_default() {
            events.push(Event::Note {
                id: Some(SERVER_ID.into()),
                message: format!(
                    "network: refused {}{}: {}",
                    r.host,
                    r.port.map(|p| format!(":{p}")).unwrap_or_default(),
                    r.reason
                ),
            });
        }
        events.push(Event::Exit {
            id: SERVER_ID.into(),
            code,
            signal,
        });
        self.append(&events);
    }

    /// Closes the log (final checkpoint).
    pub(crate) fn close(&self) {
        let w = self
            .0
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(w) = w {
            if let Err(e) = w.close() {
                let _ = writeln!(
                    std::io::stderr(),
                    "hush mcp: warning: cannot close the audit log: {e}"
                );
            }
        }
    }

    /// The proxy's audit callback.
    pub(crate) fn sink(&self) -> AuditSink {
        let me = self.clone();
        Box::new(move |e: &AuditEvent| {
            me.record(e);
            if let Some(note) = stderr_note(e) {
                // Tool names and argument keys come from the model or the server: no control
                // characters reach the log or terminal.
                let note: String = note
                    .chars()
                    .map(|c| if c.is_control() { '?' } else { c })
                    .collect();
                let _ = writeln!(std::io::stderr(), "hush mcp: {note}");
            }
        })
    }

    fn record(&self, e: &AuditEvent) {
        let server = &self.0.server;
        match e {
            AuditEvent::ToolCall {
                tool,
                decision,
                risk,
                reasons,
                answer,
                rate_limited,
                guard_reasons,
                rules,
                guard_ns,
                arguments,
                ..
            } => {
                let id = format!("call-{}", self.0.next.fetch_add(1, Ordering::SeqCst));
                let effect = match (decision, answer) {
                    (_, Some(_)) => "confirm",
                    (Decision::Allowed, None) => "allow",
                    _ => "deny",
                };
                let mut why = guard_reasons.clone();
                if let Some(limit) = rate_limited {
                    why.insert(0, format!("rate limit ({})", enum_str(limit)));
                }
                let mut events = vec![
                    Event::Request {
                        id: id.clone(),
                        target: Target::Tool {
                            server: server.clone(),
                            tool: tool.clone(),
                            arguments: arguments.clone(),
                        },
                        cwd: None,
                    },
                    Event::Decision {
                        id: id.clone(),
                        effect: effect.into(),
                        reasons: why,
                        rules: rules.clone(),
                        risk: risk.as_str().into(),
                        flags: flags(reasons),
                        latency_ns: *guard_ns,
                    },
                ];
                if let Some(a) = answer {
                    events.push(Event::Confirmation {
                        id,
                        asked: *a != Answer::NoTerminal,
                        answer: answer_str(*a).into(),
                    });
                }
                self.append(&events);
            }
            AuditEvent::RequestDenied {
                method,
                risk,
                reasons,
                ..
            } => {
                let id = format!("call-{}", self.0.next.fetch_add(1, Ordering::SeqCst));
                self.append(&[
                    Event::Request {
                        id: id.clone(),
                        target: Target::Tool {
                            server: server.clone(),
                            tool: method.clone(),
                            arguments: serde_json::Value::Null,
                        },
                        cwd: None,
                    },
                    Event::Decision {
                        id,
                        effect: "deny".into(),
                        reasons: vec![format!("{method} of a risky URI")],
                        rules: vec![],
                        risk: risk.as_str().into(),
                        flags: flags(reasons),
                        latency_ns: 0,
                    },
                ]);
            }
            AuditEvent::Redacted {
                method,
                replacements,
                ..
            } => {
                let mut rules = BTreeMap::new();
                rules.insert(
                    method.clone().unwrap_or_else(|| "message".into()),
                    *replacements as u64,
                );
                self.append(&[Event::Redactions {
                    id: SERVER_ID.into(),
                    count: *replacements as u64,
                    rules,
                }]);
            }
            AuditEvent::ToolsListed { listed, hidden, .. } if !hidden.is_empty() => {
                self.note(
                    Some(SERVER_ID),
                    &format!("tools/list: {listed} listed, hidden: {}", hidden.join(", ")),
                );
            }
            AuditEvent::ToolsListed { .. } => {}
            AuditEvent::Capability {
                tool,
                allowed,
                token,
                agent,
                detail,
                ..
            } => {
                self.append(&[Event::Capability {
                    action: if *allowed {
                        "validated"
                    } else {
                        "validation-failed"
                    }
                    .into(),
                    token: token.clone().unwrap_or_default(),
                    agent: agent.clone(),
                    detail: Some(format!("tools/call `{tool}`: {detail}")),
                }]);
            }
            other => {
                if let Some(n) = stderr_note(other).or_else(|| serde_json::to_string(other).ok()) {
                    self.note(Some(SERVER_ID), &n);
                }
            }
        }
    }
}

/// The argument checks' findings as risk flags.
fn flags(reasons: &[Reason]) -> Vec<Flag> {
    reasons
        .iter()
        .map(|r| Flag {
            kind: enum_str(&r.check),
            level: r.risk.as_str().into(),
            detail: r.at.clone(),
        })
        .collect()
}

/// A serde enum's snake_case name.
fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The answer's name in the audit log (`hush audit review`).
fn answer_str(a: Answer) -> &'static str {
    match a {
        Answer::ExecuteOnce => "once",
        Answer::AlwaysAllowTool => "always",
        Answer::AlwaysTrustServer => "trust-server",
        Answer::BlockTool => "block",
        Answer::Cancel => "cancel",
        Answer::TimedOut => "timeout",
        _ => "no-terminal",
    }
}

/// The client shows the server's stderr in its logs: say what hush did, without details a model
/// could read back.
fn stderr_note(e: &AuditEvent) -> Option<String> {
    match e {
        AuditEvent::ToolCall {
            tool,
            decision: Decision::Denied,
            risk,
            reasons,
            ..
        } => {
            let why: Vec<String> = reasons
                .iter()
                .map(|r| format!("{} at {}", enum_str(&r.check), r.at))
                .collect();
            Some(format!(
                "denied `{tool}` (risk {}{}{})",
                risk.as_str(),
                if why.is_empty() { "" } else { ": " },
                why.join(", ")
            ))
        }
        AuditEvent::RequestDenied { method, risk, .. } => {
            Some(format!("denied `{method}` (risk {})", risk.as_str()))
        }
        AuditEvent::DefinitionChanged { tool, scope, .. } => Some(format!(
            "the definition of tool `{tool}` changed ({scope}); it is untrusted again"
        )),
        AuditEvent::Anomaly { tool, anomaly, .. } => Some(format!(
            "anomaly `{}` after a call to `{tool}`; later calls are riskier",
            anomaly.as_str()
        )),
        AuditEvent::TrustFileError { error } => Some(format!("warning: {error}")),
        _ => None,
    }
}
