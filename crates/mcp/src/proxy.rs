//! The stdio proxy: client ⇄ hush ⇄ server, one JSON-RPC message a line.
//!
//! What passes untouched, byte for byte: every client message except `tools/call` requests that
//! are denied; every server message except `tools/list` responses that hide a tool and messages
//! holding a secret. What is answered by hush instead: denied calls, client lines that are not
//! JSON-RPC (a parse or invalid-request error, as the server would answer; forwarding them would
//! let a lenient server act on what hush could not check). Server lines that are not JSON are
//! forwarded redacted: the client decides what to do with them, but never sees a secret.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hush_patterns::{KnownValues, RuleSet};
use hush_stream::{Options, Redaction, Redactor};
use serde_json::{json, Value};

use crate::audit::{AuditEvent, Decision};
use crate::confirm::{Answer, Prompt, Question};
use crate::guard::{Guard, Ruling, ToolCall, Verdict};
use crate::limits::{Anomalies, Limited, RateConfig, RateLimiter};
use crate::message::{classify, definition_hash, parse_frame, trim_eol, Frame, Kind};
use crate::risk::{Check, Checker, Risk};
use crate::trust::{server_id, ServerLevel, ToolEntry, ToolLevel, TrustStore};

/// The largest message accepted, by default (16 MiB).
pub const DEFAULT_MAX_MESSAGE: usize = 16 << 20;

/// The text of a denied call's result. Generic on purpose: the model learns that hush said no,
/// not which check to evade; the details go to the audit callback.
pub const DENIED_TEXT: &str = "hush: this tool call was denied by the user's security policy.";
/// Requests awaiting an answer that hush tracks; beyond it, `tools/list` is refused.
const MAX_PENDING: usize = 4096;

/// The text of a rate-limited call's result.
pub const RATE_LIMITED_TEXT: &str = "hush: rate limit reached for this tool; try again later.";

/// An audit sink.
pub type AuditSink = Box<dyn Fn(&AuditEvent) + Send + Sync>;

/// Everything a proxy needs.
#[non_exhaustive]
pub struct ProxyConfig {
    /// The server's command line (its identity in the trust file).
    pub server_command: Vec<String>,
    /// The rule pack for redaction and argument checks.
    pub rules: Arc<RuleSet>,
    /// Secret values injected into the server, redacted everywhere.
    pub known: Arc<KnownValues>,
    /// Argument checks.
    pub checker: Checker,
    /// The decision maker.
    pub guard: Box<dyn Guard>,
    /// Who is asked on `Confirm`.
    pub prompt: Box<dyn Prompt>,
    /// Trust levels; written back when the user changes them.
    pub trust: TrustStore,
    /// How long "always" answers last (`None`: until revoked).
    pub trust_ttl: Option<Duration>,
    /// Rate limits.
    pub rates: RateConfig,
    /// The audit sink.
    pub audit: AuditSink,
    /// The largest message accepted in either direction.
    pub max_message: usize,
    /// Capability tokens on tool calls, checked before the guard (`None`: tokens are only
    /// stripped).
    pub capability: Option<Box<dyn crate::CapabilityCheck>>,
}

impl std::fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("server_command", &self.server_command)
            .field("rates", &self.rates)
            .field("max_message", &self.max_message)
            .finish_non_exhaustive()
    }
}

impl ProxyConfig {
    /// A configuration with the built-in rules, no prompt answers (no terminal: deny), an
    /// in-memory trust store, default rate limits and no audit sink.
    pub fn new(
        server_command: Vec<String>,
        rules: Arc<RuleSet>,
        known: Arc<KnownValues>,
        checker: Checker,
        guard: Box<dyn Guard>,
    ) -> ProxyConfig {
        ProxyConfig {
            server_command,
            rules,
            known,
            checker,
            guard,
            prompt: Box::new(crate::confirm::TtyPrompt::default()),
            trust: TrustStore::in_memory(),
            trust_ttl: None,
            rates: RateConfig::default(),
            audit: Box::new(|_| {}),
            max_message: DEFAULT_MAX_MESSAGE,
            capability: None,
        }
    }
}

/// Errors that stop the proxy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// A message longer than the limit: it can't be checked, so nothing more passes.
    #[error("a message from the {from} is over {limit} bytes; raise the limit or fix the {from}")]
    MessageTooLarge {
        /// `client` or `server`.
        from: &'static str,
        /// The limit.
        limit: usize,
    },
    /// Reading or writing a stream.
    #[error("{stream}: {source}")]
    Io {
        /// Which stream.
        stream: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The server's stderr could not be redacted.
    #[error("server stderr: {0}")]
    Stderr(#[from] hush_stream::StreamError),
}

/// What to do with one client line.
#[derive(Debug, Default, PartialEq)]
pub struct ClientAction<'a> {
    /// Bytes for the server (the line itself when nothing changed).
    pub to_server: Option<Cow<'a, [u8]>>,
    /// Lines for the client (hush's own answers), each with its newline.
    pub to_client: Vec<Vec<u8>>,
}

#[derive(Debug, Clone)]
enum Pending {
    List,
    Call(String),
}

#[derive(Debug)]
struct State {
    pending: HashMap<String, Pending>,
    /// Definition hashes seen in this session.
    tools: HashMap<String, String>,
    /// Tools whose definition changed during this session.
    changed: HashSet<String>,
    /// Tools confirmed in this session.
    confirmed: HashSet<String>,
    trust: TrustStore,
    limiter: RateLimiter,
    anomalies: Anomalies,
}

/// The guard between an MCP client and one server. `Send + Sync`: one thread per direction.
pub struct Proxy {
    config: ProxyConfig,
    server: String,
    /// JSON-aware redaction of canonical JSON (arguments shown in prompts).
    redaction: Redaction,
    /// Text redaction (decoded strings, non-JSON lines).
    text: Redaction,
    state: Mutex<State>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

enum One {
    Pass,
    /// Forward this instead (the call without its capability token).
    Forward(Value),
    Reply(Value),
    /// Neither forwarded nor answered.
    Drop,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn line_of(v: &Value, eol: &[u8]) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.extend_from_slice(if eol.is_empty() { b"\n" } else { eol });
    out
}

fn eol_of(line: &[u8]) -> &[u8] {
    &line[trim_eol(line).len()..]
}

fn rpc_error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn denied(id: Value, text: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {"content": [{"type": "text", "text": text}], "isError": true}
    })
}

impl Proxy {
    /// A proxy for one server session.
    pub fn new(mut config: ProxyConfig) -> Proxy {
        let mut json = Options::default();
        json.json = true;
        let redaction = Redaction::new(config.rules.clone(), json);
        let text = Redaction::new(config.rules.clone(), Options::default());
        let state = State {
            pending: HashMap::new(),
            tools: HashMap::new(),
            changed: HashSet::new(),
            confirmed: HashSet::new(),
            trust: std::mem::replace(&mut config.trust, TrustStore::in_memory()),
            limiter: RateLimiter::new(config.rates, Instant::now()),
            anomalies: Anomalies::default(),
        };
        Proxy {
            server: server_id(&config.server_command),
            redaction,
            text,
            state: Mutex::new(state),
            config,
        }
    }

    /// The server's id in the trust file.
    pub fn server_id(&self) -> &str {
        &self.server
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not unlock the guard: a poisoned state is still consistent
        // enough to deny with, and every path below decides afresh.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn audit(&self, e: AuditEvent) {
        (self.config.audit)(&e);
    }

    /// Handles one line from the client (with or without its newline).
    pub fn client_message<'a>(&self, line: &'a [u8]) -> ClientAction<'a> {
        let body = trim_eol(line);
        if body.iter().all(u8::is_ascii_whitespace) {
            return ClientAction {
                to_server: Some(Cow::Borrowed(line)),
                to_client: vec![],
            };
        }
        let eol = eol_of(line);
        match parse_frame(line) {
            Err(e) => {
                self.audit(AuditEvent::Malformed {
                    from: "client",
                    error: e.to_string(),
                });
                ClientAction {
                    to_server: None,
                    to_client: vec![line_of(&rpc_error(Value::Null, -32700, "Parse error"), eol)],
                }
            }
            Ok(Frame::Single(v)) => match self.client_one(&v) {
                One::Pass => ClientAction {
                    to_server: Some(Cow::Borrowed(line)),
                    to_client: vec![],
                },
                One::Forward(f) => ClientAction {
                    to_server: Some(Cow::Owned(line_of(&f, eol))),
                    to_client: vec![],
                },
                One::Reply(r) => ClientAction {
                    to_server: None,
                    to_client: vec![line_of(&r, eol)],
                },
                One::Drop => ClientAction::default(),
            },
            Ok(Frame::Batch(items)) => {
                let mut keep = Vec::new();
                let mut replies = Vec::new();
                let mut changed = false;
                for item in &items {
                    match self.client_one(item) {
                        One::Pass => keep.push(Cow::Borrowed(item)),
                        One::Forward(f) => {
                            keep.push(Cow::Owned(f));
                            changed = true;
                        }
                        One::Reply(r) => replies.push(r),
                        One::Drop => changed = true,
                    }
                }
                let to_server = if replies.is_empty() && !changed {
                    Some(Cow::Borrowed(line))
                } else if keep.is_empty() {
                    None
                } else {
                    Some(Cow::Owned(line_of(&json!(keep), eol)))
                };
                let to_client = if replies.is_empty() {
                    vec![]
                } else {
                    vec![line_of(&Value::Array(replies), eol)]
                };
                ClientAction {
                    to_server,
                    to_client,
                }
            }
        }
    }

    fn client_one(&self, v: &Value) -> One {
        match classify(v) {
            Kind::Request { id, method } if method == "tools/call" => {
                match crate::capability::take_token(v) {
                    None => self.tool_call(&id, v, None),
                    Some((stripped, token)) => match self.tool_call(&id, &stripped, Some(&token)) {
                        One::Pass => One::Forward(stripped),
                        other => other,
                    },
                }
            }
            Kind::Request { id, method } if method == "tools/list" => {
                let mut st = self.lock();
                if st.pending.len() >= MAX_PENDING {
                    // Its answer could not be filtered: fail closed.
                    return One::Reply(rpc_error(
                        v.get("id").cloned().unwrap_or(Value::Null),
                        -32000,
                        "hush: too many requests awaiting an answer",
                    ));
                }
                st.pending.insert(id, Pending::List);
                One::Pass
            }
            Kind::Request { method, .. } if method == "resources/read" => self.resource_read(v),
            Kind::Notification { method } if method == "tools/call" => {
                // A call without an id gets no answer, but a lenient server might still run it:
                // it is never forwarded.
                self.audit(AuditEvent::Malformed {
                    from: "client",
                    error: "a tools/call without an id was dropped".into(),
                });
                One::Drop
            }
            Kind::Request { .. } | Kind::Notification { .. } | Kind::Response { .. } => One::Pass,
            _ => {
                self.audit(AuditEvent::Malformed {
                    from: "client",
                    error: "not a JSON-RPC request, notification or response".into(),
                });
                One::Reply(rpc_error(Value::Null, -32600, "Invalid Request"))
            }
        }
    }

    fn tool_call(&self, id_key: &str, v: &Value, token: Option<&str>) -> One {
        let id = v.get("id").cloned().unwrap_or(Value::Null);
        let params = v.get("params");
        let Some(tool) = params.and_then(|p| p.get("name")).and_then(Value::as_str) else {
            return One::Reply(rpc_error(
                id,
                -32602,
                "Invalid params: tools/call needs a string `name`",
            ));
        };
        let null = Value::Null;
        let arguments = params.and_then(|p| p.get("arguments")).unwrap_or(&null);
        let cap = crate::CapabilityCall {
            server: &self.server,
            tool,
            arguments,
            token,
        };
        if !crate::capability::allowed(self.config.capability.as_deref(), &cap, |e| self.audit(e)) {
            self.deny_burst(&mut self.lock(), tool, Instant::now());
            return One::Reply(denied(id, DENIED_TEXT));
        }
        let mut assessment = self.config.checker.assess(arguments);
        let now = Instant::now();
        let unix = unix_now();

        let mut st = self.lock();
        self.refresh_trust(&mut st);
        let hash = st.tools.get(tool).cloned();
        let mut trust = st
            .trust
            .effective(&self.server, tool, hash.as_deref(), unix);
        if st.changed.contains(tool) {
            trust.definition_changed = true;
            trust.tool = trust.tool.filter(|l| *l == ToolLevel::Blocked);
        }
        if trust.definition_changed {
            assessment.push(Check::DefinitionChanged, Risk::Medium, tool);
        }
        if assessment.sensitive_paths > 0
            && st
                .anomalies
                .sensitive(tool, assessment.sensitive_paths, now)
        {
            self.audit(AuditEvent::Anomaly {
                server: self.server.clone(),
                tool: tool.to_string(),
                anomaly: crate::Anomaly::SensitivePathBurst,
            });
        }
        let mut risk = assessment.risk();
        let flags = st.anomalies.active(tool, now);
        if !flags.is_empty() {
            risk = risk.raised();
            for f in flags {
                assessment.push(Check::Anomaly, risk, f.as_str());
            }
        }
        let record =
            |decision, answer, rate_limited, ruling: &Ruling, guard_ns: u64| AuditEvent::ToolCall {
                server: self.server.clone(),
                tool: tool.to_string(),
                decision,
                risk,
                reasons: assessment.reasons.clone(),
                answer,
                rate_limited,
                guard_reasons: ruling.reasons.clone(),
                rules: ruling.rules.clone(),
                guard_ns,
                arguments: arguments.clone(),
            };
        if let Err(limited) = st.limiter.take(tool, now) {
            self.deny_burst(&mut st, tool, now);
            drop(st);
            let ruling = Ruling::from(Verdict::Deny);
            self.audit(record(Decision::Denied, None, Some(limited), &ruling, 0));
            let text = match limited {
                Limited::Tool | Limited::Server => RATE_LIMITED_TEXT,
            };
            return One::Reply(denied(id, text));
        }
        let call = ToolCall {
            server: &self.server,
            tool,
            arguments,
            assessment: &assessment,
            risk,
            trust,
            confirmed_in_session: st.confirmed.contains(tool),
        };
        let started = Instant::now();
        let ruling = self.config.guard.rule(&call);
        let guard_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        match ruling.verdict {
            Verdict::Allow => {
                if st.pending.len() < MAX_PENDING {
                    st.pending
                        .insert(id_key.to_string(), Pending::Call(tool.to_string()));
                }
                drop(st);
                self.audit(record(Decision::Allowed, None, None, &ruling, guard_ns));
                One::Pass
            }
            Verdict::Confirm => {
                drop(st);
                let shown = self.sanitised(arguments);
                let answer = self.config.prompt.ask(&Question {
                    server: &self.config.server_command.join(" "),
                    tool,
                    arguments: &shown,
                    risk,
                    reasons: &assessment.reasons,
                });
                let mut st = self.lock();
                self.apply_answer(&mut st, tool, hash.as_deref(), answer, now, unix);
                if answer.allows() {
                    st.confirmed.insert(tool.to_string());
                    if st.pending.len() < MAX_PENDING {
                        st.pending
                            .insert(id_key.to_string(), Pending::Call(tool.to_string()));
                    }
                    drop(st);
                    let e = record(Decision::Confirmed, Some(answer), None, &ruling, guard_ns);
                    self.audit(e);
                    One::Pass
                } else {
                    self.deny_burst(&mut st, tool, now);
                    drop(st);
                    let e = record(Decision::Denied, Some(answer), None, &ruling, guard_ns);
                    self.audit(e);
                    One::Reply(denied(id, DENIED_TEXT))
                }
            }
            _ => {
                self.deny_burst(&mut st, tool, now);
                drop(st);
                self.audit(record(Decision::Denied, None, None, &ruling, guard_ns));
                One::Reply(denied(id, DENIED_TEXT))
            }
        }
    }

    fn refresh_trust(&self, st: &mut State) {
        if let Err(e) = st.trust.refresh() {
            self.audit(AuditEvent::TrustFileError {
                error: e.to_string(),
            });
        }
    }

    /// Resources are read without a tool: the URI gets the argument checks, and anything high
    /// or critical (traversal, outside the roots, a credential store) is denied. There is no
    /// confirmation for resources (yet): the client reads them, not the model.
    fn resource_read(&self, v: &Value) -> One {
        let null = Value::Null;
        let params = v.get("params").unwrap_or(&null);
        let assessment = self.config.checker.assess(params);
        let risk = assessment.risk();
        if risk < Risk::High {
            return One::Pass;
        }
        let mut st = self.lock();
        self.deny_burst(&mut st, "resources/read", Instant::now());
        drop(st);
        self.audit(AuditEvent::RequestDenied {
            server: self.server.clone(),
            method: "resources/read".into(),
            risk,
            reasons: assessment.reasons,
        });
        One::Reply(rpc_error(
            v.get("id").cloned().unwrap_or(Value::Null),
            -32001,
            DENIED_TEXT,
        ))
    }

    fn deny_burst(&self, st: &mut State, tool: &str, now: Instant) {
        if st.anomalies.denied(now) {
            self.audit(AuditEvent::Anomaly {
                server: self.server.clone(),
                tool: tool.to_string(),
                anomaly: crate::Anomaly::DenialBurst,
            });
        }
    }

    fn apply_answer(
        &self,
        st: &mut State,
        tool: &str,
        hash: Option<&str>,
        answer: Answer,
        now: Instant,
        unix: u64,
    ) {
        let expires = self.config.trust_ttl.map(|d| unix + d.as_secs());
        let cmd = &self.config.server_command;
        self.refresh_trust(st);
        let changed = match (answer, hash) {
            (Answer::AlwaysAllowTool, Some(h)) => {
                let entry = ToolEntry::new(h, ToolLevel::AlwaysAllow, unix, expires);
                st.trust.set_tool(&self.server, cmd, tool, entry);
                st.changed.remove(tool);
                Some(Some(tool))
            }
            (Answer::BlockTool, _) => {
                let entry =
                    ToolEntry::new(hash.unwrap_or_default(), ToolLevel::Blocked, unix, None);
                st.trust.set_tool(&self.server, cmd, tool, entry);
                Some(Some(tool))
            }
            (Answer::AlwaysTrustServer, _) => {
                st.trust
                    .set_server(&self.server, cmd, ServerLevel::Trusted, unix, expires);
                Some(None)
            }
            (Answer::Cancel | Answer::TimedOut, _) => {
                if st.anomalies.refused(now) {
                    self.audit(AuditEvent::Anomaly {
                        server: self.server.clone(),
                        tool: tool.to_string(),
                        anomaly: crate::Anomaly::RepeatedRefusals,
                    });
                }
                None
            }
            _ => None,
        };
        if let Some(tool) = changed {
            self.audit(AuditEvent::TrustChanged {
                server: self.server.clone(),
                tool: tool.map(str::to_string),
                answer,
            });
            if let Err(e) = st.trust.save_and_stamp() {
                self.audit(AuditEvent::TrustFileError {
                    error: e.to_string(),
                });
            }
        }
    }

    /// Arguments for display: canonical JSON, secrets replaced, at most 400 characters.
    fn sanitised(&self, arguments: &Value) -> String {
        let mut text = Vec::new();
        crate::message::canonical_json(arguments, &mut text);
        let mut out = Vec::new();
        self.redaction
            .redact_into(&text, &self.config.known, &mut out);
        let s = String::from_utf8_lossy(&out);
        match s.char_indices().nth(400) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s.into_owned(),
        }
    }

    /// Handles one line from the server: the bytes for the client.
    ///
    /// JSON messages are searched on their decoded strings (keys and values), so JSON escapes
    /// next to or inside a secret (`\n`, `\u0067`) cannot hide it; when one is found the
    /// strings are redacted and the message re-serialised. Lines that are not JSON are redacted
    /// as text.
    pub fn server_message<'a>(&self, line: &'a [u8]) -> Cow<'a, [u8]> {
        let body = trim_eol(line);
        if body.iter().all(u8::is_ascii_whitespace) {
            return Cow::Borrowed(line);
        }
        let eol = eol_of(line);
        let mut method = None;
        let (mut frame, changed) = match parse_frame(line) {
            Ok(Frame::Single(mut v)) => {
                let changed = self.server_one(&mut v, &mut method);
                (v, changed)
            }
            Ok(Frame::Batch(mut items)) => {
                let mut changed = false;
                for item in &mut items {
                    changed |= self.server_one(item, &mut method);
                }
                (Value::Array(items), changed)
            }
            Err(e) => {
                self.audit(AuditEvent::Malformed {
                    from: "server",
                    error: e.to_string(),
                });
                let mut out = Vec::with_capacity(line.len());
                let n = self.text.redact_into(line, &self.config.known, &mut out);
                if n == 0 {
                    return Cow::Borrowed(line);
                }
                self.audit(AuditEvent::Redacted {
                    server: self.server.clone(),
                    method: None,
                    replacements: n,
                });
                return Cow::Owned(out);
            }
        };
        if !self.holds_secret(&frame) {
            return if changed {
                Cow::Owned(line_of(&frame, eol))
            } else {
                Cow::Borrowed(line)
            };
        }
        let n = self.redact_strings(&mut frame);
        self.audit(AuditEvent::Redacted {
            server: self.server.clone(),
            method,
            replacements: n,
        });
        if n == 0 || self.holds_secret(&frame) {
            // Fail closed: a secret spans strings, or survived; the message is withheld.
            let id = frame.get("id").cloned().unwrap_or(Value::Null);
            return Cow::Owned(line_of(
                &rpc_error(
                    id,
                    -32603,
                    "hush: the server's message held a secret and was withheld",
                ),
                eol,
            ));
        }
        Cow::Owned(line_of(&frame, eol))
    }

    /// Whether the decoded keys and strings of `v`, searched as one text, hold a secret.
    fn holds_secret(&self, v: &Value) -> bool {
        fn gather(v: &Value, buf: &mut Vec<u8>) {
            match v {
                Value::String(s) => {
                    buf.extend_from_slice(s.as_bytes());
                    buf.push(0);
                }
                Value::Array(items) => items.iter().for_each(|x| gather(x, buf)),
                Value::Object(map) => {
                    for (k, x) in map {
                        buf.extend_from_slice(k.as_bytes());
                        buf.push(0);
                        gather(x, buf);
                    }
                }
                _ => {}
            }
        }
        let mut buf = Vec::new();
        gather(v, &mut buf);
        !self
            .config
            .rules
            .find_all(&buf, Some(&self.config.known))
            .is_empty()
    }

    /// Redacts every key and string of `v` on its own; returns the replacements made.
    fn redact_strings(&self, v: &mut Value) -> usize {
        let redact = |s: &str| -> Option<(String, usize)> {
            let mut out = Vec::new();
            let n = self
                .text
                .redact_into(s.as_bytes(), &self.config.known, &mut out);
            (n > 0).then(|| (String::from_utf8_lossy(&out).into_owned(), n))
        };
        match v {
            Value::String(s) => match redact(s) {
                Some((r, n)) => {
                    *s = r;
                    n
                }
                None => 0,
            },
            Value::Array(items) => items.iter_mut().map(|x| self.redact_strings(x)).sum(),
            Value::Object(map) => {
                let mut n = 0;
                let old = std::mem::take(map);
                for (k, mut x) in old {
                    n += self.redact_strings(&mut x);
                    let k = match redact(&k) {
                        Some((r, m)) => {
                            n += m;
                            r
                        }
                        None => k,
                    };
                    map.insert(k, x);
                }
                n
            }
            _ => 0,
        }
    }

    /// Returns true when `v` was changed.
    fn server_one(&self, v: &mut Value, method: &mut Option<String>) -> bool {
        match classify(v) {
            Kind::Response { id } => {
                let pending = self.lock().pending.remove(&id);
                match pending {
                    Some(Pending::List) => {
                        *method = Some("tools/list".into());
                        self.filter_tools(v)
                    }
                    Some(Pending::Call(tool)) => {
                        *method = Some(format!("tools/call {tool}"));
                        false
                    }
                    None => false,
                }
            }
            Kind::Request { method: m, .. } | Kind::Notification { method: m } => {
                *method = Some(m);
                false
            }
            Kind::Invalid => false,
        }
    }

    fn filter_tools(&self, v: &mut Value) -> bool {
        let Some(tools) = v
            .get_mut("result")
            .and_then(|r| r.get_mut("tools"))
            .and_then(Value::as_array_mut)
        else {
            return false;
        };
        let unix = unix_now();
        let mut st = self.lock();
        self.refresh_trust(&mut st);
        let mut hidden = Vec::new();
        let mut save = false;
        let listed = tools.len();
        tools.retain(|tool| {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                return true;
            };
            let hash = definition_hash(tool);
            if let Some(prev) = st.tools.insert(name.to_string(), hash.clone()) {
                if prev != hash {
                    st.changed.insert(name.to_string());
                    self.audit(AuditEvent::DefinitionChanged {
                        server: self.server.clone(),
                        tool: name.to_string(),
                        scope: "session",
                        hash: hash.clone(),
                    });
                }
            }
            if st.trust.observe(&self.server, name, &hash, unix) {
                save = true;
                self.audit(AuditEvent::DefinitionChanged {
                    server: self.server.clone(),
                    tool: name.to_string(),
                    scope: "trust_file",
                    hash: hash.clone(),
                });
            }
            let eff = st.trust.effective(&self.server, name, Some(&hash), unix);
            let visible = self.config.guard.visible(&self.server, name, &eff);
            if !visible {
                hidden.push(name.to_string());
            }
            visible
        });
        if save {
            if let Err(e) = st.trust.save_and_stamp() {
                self.audit(AuditEvent::TrustFileError {
                    error: e.to_string(),
                });
            }
        }
        drop(st);
        let changed = !hidden.is_empty();
        self.audit(AuditEvent::ToolsListed {
            server: self.server.clone(),
            listed,
            hidden,
        });
        changed
    }

    /// Runs the proxy until the server closes its stdout: client lines to the server on a
    /// thread of their own, server lines to the client on this one, server stderr redacted to
    /// `stderr_out` on a third. When the client closes its side, the server's stdin is closed.
    ///
    /// # Errors
    /// [`ProxyError`]: an oversized server message, I/O on the client's stdout, or the stderr
    /// redactor failing. Client-side failures (an oversized client message, the server's
    /// stdin closing) close the server's stdin and are reported to the audit sink.
    pub fn run<CI, CO, SI, SO, SE, EO>(
        self: Arc<Self>,
        client_in: CI,
        client_out: CO,
        server_in: SI,
        server_out: SO,
        stderr: Option<(SE, EO)>,
    ) -> Result<(), ProxyError>
    where
        CI: Read + Send + 'static,
        CO: Write + Send + 'static,
        SI: Write + Send + 'static,
        SO: Read,
        SE: Read + Send + 'static,
        EO: Write + Send + 'static,
    {
        let client_out = Arc::new(Mutex::new(client_out));
        let limit = self.config.max_message;
        {
            let proxy = self.clone();
            let client_out = client_out.clone();
            std::thread::spawn(move || {
                let mut input = BufReader::new(client_in);
                let mut server_in = server_in;
                let mut line = Vec::new();
                loop {
                    match read_line(&mut input, &mut line, limit) {
                        Ok(false) => break,
                        Ok(true) => {}
                        Err(e) => {
                            proxy.audit(AuditEvent::Malformed {
                                from: "client",
                                error: e.to_string(),
                            });
                            break;
                        }
                    }
                    let action = proxy.client_message(&line);
                    if !action.to_client.is_empty() {
                        let mut out = client_out.lock().unwrap_or_else(|p| p.into_inner());
                        for reply in &action.to_client {
                            if out.write_all(reply).and_then(|()| out.flush()).is_err() {
                                return;
                            }
                        }
                    }
                    if let Some(bytes) = action.to_server {
                        if server_in
                            .write_all(&bytes)
                            .and_then(|()| server_in.flush())
                            .is_err()
                        {
                            break;
                        }
                    }
                }
                // Dropping server_in closes the server's stdin.
            });
        }
        let stderr_thread = stderr.map(|(err_in, mut err_out)| {
            let rules = self.config.rules.clone();
            let known = self.config.known.clone();
            std::thread::spawn(move || -> Result<(), ProxyError> {
                let mut r = Redactor::new(rules, known, Options::default())?;
                hush_stream::copy(err_in, &mut err_out, &mut r, Duration::from_millis(100))?;
                Ok(())
            })
        });
        let mut input = BufReader::new(server_out);
        let mut line = Vec::new();
        let result = loop {
            match read_line(&mut input, &mut line, limit) {
                Ok(false) => break Ok(()),
                Ok(true) => {}
                Err(ReadError::TooLarge) => {
                    break Err(ProxyError::MessageTooLarge {
                        from: "server",
                        limit,
                    })
                }
                Err(ReadError::Io(source)) => {
                    break Err(ProxyError::Io {
                        stream: "server stdout",
                        source,
                    })
                }
            }
            let bytes = self.server_message(&line);
            let mut out = client_out.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(source) = out.write_all(&bytes).and_then(|()| out.flush()) {
                break Err(ProxyError::Io {
                    stream: "client stdout",
                    source,
                });
            }
        };
        if result.is_ok() {
            if let Some(t) = stderr_thread {
                if let Ok(r) = t.join() {
                    r?;
                }
            }
        }
        result
    }
}

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("a message is over the size limit")]
    TooLarge,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one line (with its `\n`, if any) into `buf`. False at end of input.
fn read_line<R: BufRead>(r: &mut R, buf: &mut Vec<u8>, limit: usize) -> Result<bool, ReadError> {
    buf.clear();
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if chunk.is_empty() {
            return Ok(!buf.is_empty());
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if buf.len() + take > limit {
            return Err(ReadError::TooLarge);
        }
        buf.extend_from_slice(&chunk[..take]);
        r.consume(take);
        if done {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::risk::PathConfig;
    use crate::Rules;

    /// Answers from a script; counts questions.
    struct Script(Mutex<(VecDeque<Answer>, usize)>);

    impl Prompt for Arc<Script> {
        fn ask(&self, _q: &Question<'_>) -> Answer {
            let mut s = self.0.lock().unwrap();
            s.1 += 1;
            s.0.pop_front().unwrap_or(Answer::NoTerminal)
        }
    }

    fn proxy(answers: &[Answer], events: Arc<Mutex<Vec<AuditEvent>>>) -> (Proxy, Arc<Script>) {
        let rules = Arc::new(RuleSet::builtin().unwrap());
        let known = Arc::new(KnownValues::empty());
        let checker = Checker::new(rules.clone(), known.clone(), PathConfig::default());
        let script = Arc::new(Script(Mutex::new((answers.iter().copied().collect(), 0))));
        let mut config = ProxyConfig::new(
            vec!["srv".into()],
            rules,
            known,
            checker,
            Box::new(Rules::default()),
        );
        config.prompt = Box::new(script.clone());
        config.audit = Box::new(move |e| events.lock().unwrap().push(e.clone()));
        (Proxy::new(config), script)
    }

    fn list(p: &Proxy, id: u64) -> Vec<String> {
        let req = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}).to_string();
        assert!(p.client_message(req.as_bytes()).to_server.is_some());
        let resp = json!({"jsonrpc": "2.0", "id": id, "result": {"tools": [
            {"name": "echo", "inputSchema": {"type": "object"}},
            {"name": "other", "inputSchema": {"type": "object"}}
        ]}})
        .to_string();
        let out: Value = serde_json::from_slice(&p.server_message(resp.as_bytes())).unwrap();
        out["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// Whether a call goes to the server.
    fn call(p: &Proxy, id: u64, tool: &str, text: &str) -> bool {
        let req = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": {"text": text}}})
        .to_string();
        p.client_message(req.as_bytes()).to_server.is_some()
    }

    const MEDIUM: &str = "run `make` first";

    #[test]
    fn answers_change_trust_for_later_calls() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let (p, script) = proxy(
            &[
                Answer::AlwaysAllowTool,
                Answer::BlockTool,
                Answer::ExecuteOnce,
                Answer::AlwaysTrustServer,
            ],
            events.clone(),
        );
        list(&p, 1);
        assert!(call(&p, 2, "echo", MEDIUM));
        // Always allowed now: no question.
        assert!(call(&p, 3, "echo", MEDIUM));
        assert_eq!(script.0.lock().unwrap().1, 1);
        // Blocked: denied, then hidden.
        assert!(!call(&p, 4, "other", MEDIUM));
        assert_eq!(list(&p, 5), vec!["echo"]);
        assert!(!call(&p, 6, "other", "plain"));
        // Execute once: asked again next time.
        assert!(call(&p, 7, "third", MEDIUM));
        assert!(call(&p, 8, "third", MEDIUM));
        assert_eq!(script.0.lock().unwrap().1, 4);
        // The server is trusted now: medium risk passes without asking.
        assert!(call(&p, 9, "fourth", MEDIUM));
        assert_eq!(script.0.lock().unwrap().1, 4);
        let changes = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, AuditEvent::TrustChanged { .. }))
            .count();
        assert_eq!(changes, 3);
    }

    #[test]
    fn refusals_raise_the_risk_of_later_calls() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let (p, script) = proxy(
            &[Answer::Cancel, Answer::TimedOut, Answer::Cancel],
            events.clone(),
        );
        assert!(call(&p, 1, "echo", "plain"));
        for id in 2..5 {
            assert!(!call(&p, id, "echo", MEDIUM));
        }
        // Low risk, but refusals repeat: raised to medium, so asked (no answer left: denied).
        assert!(!call(&p, 5, "echo", "plain"));
        assert_eq!(script.0.lock().unwrap().1, 4);
        assert!(events.lock().unwrap().iter().any(|e| matches!(
            e,
            AuditEvent::Anomaly {
                anomaly: crate::Anomaly::RepeatedRefusals,
                ..
            }
        )));
    }

    #[test]
    fn redaction_keeps_server_messages_valid_json() {
        let (p, _) = proxy(&[], Arc::new(Mutex::new(Vec::new())));
        let token = crate::risk::tests::fake_token(11);
        for text in [
            format!("a \\\"{token}\\\" b"),
            format!("{token}\\n{token}"),
            format!("\\u0067{}", &token[1..]),
            format!("x\\t{token}\\u00e9"),
        ] {
            let line = format!(
                r#"{{"jsonrpc":"2.0","id":1,"result":{{"content":[{{"type":"text","text":"{text}"}}]}}}}"#
            );
            assert!(parse_frame(line.as_bytes()).is_ok(), "{line}");
            let out = p.server_message(line.as_bytes());
            let s = String::from_utf8_lossy(&out);
            assert!(!s.contains(&token[4..]), "{s}");
            assert!(parse_frame(&out).is_ok(), "{s}");
        }
        // Not JSON: forwarded, redacted.
        let raw = format!("debug: {token}\n");
        assert_eq!(
            &*p.server_message(raw.as_bytes()),
            b"debug: [REDACTED:hush.github.pat]\n"
        );
        // Clean messages are the same bytes, not a copy.
        let clean = b"{\"jsonrpc\":\"2.0\",\"method\":\"x\", \"params\" :{}}\r\n";
        assert!(matches!(p.server_message(clean), Cow::Borrowed(b) if b == clean));
    }

    #[test]
    fn a_tools_call_without_an_id_is_dropped() {
        let (p, _) = proxy(&[], Arc::new(Mutex::new(Vec::new())));
        let n = br#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}"#;
        assert_eq!(p.client_message(n), ClientAction::default());
        let batch = br#"[{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}},{"jsonrpc":"2.0","id":1,"method":"ping"}]"#;
        let a = p.client_message(batch);
        assert_eq!(
            a.to_server.as_deref(),
            Some(&b"[{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"ping\"}]\n"[..])
        );
        assert!(a.to_client.is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Messages hush has no reason to touch come out as the same bytes, whatever their
        /// spacing, members and values.
        #[test]
        fn untouched_messages_pass_byte_for_byte(
            method in "[a-z]{1,8}/[a-zA-Z]{1,10}",
            id in proptest::option::of(0u32..1000),
            key in "[a-z_]{1,6}",
            value in "[ -~]{0,40}",
            spaced in proptest::bool::ANY,
        ) {
            proptest::prop_assume!(method != "tools/call" && method != "tools/list");
            let (p, _) = proxy(&[], Arc::new(Mutex::new(Vec::new())));
            let mut msg = json!({"jsonrpc": "2.0", "method": method, "params": {key: value}});
            if let Some(id) = id {
                msg["id"] = json!(id);
            }
            let mut line = if spaced {
                serde_json::to_string_pretty(&msg).unwrap().replace('\n', " ")
            } else {
                msg.to_string()
            };
            line.push('\n');
            let a = p.client_message(line.as_bytes());
            proptest::prop_assert!(matches!(a.to_server, Some(Cow::Borrowed(b)) if b == line.as_bytes()));
            proptest::prop_assert!(a.to_client.is_empty());
            if p.config.rules.find(value.as_bytes()).is_empty() {
                let out = p.server_message(line.as_bytes());
                proptest::prop_assert!(matches!(out, Cow::Borrowed(b) if b == line.as_bytes()));
            }
        }
    }
}
