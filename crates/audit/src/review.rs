//! The post-session report: what was asked, what was denied or confirmed, what looked risky,
//! which secrets were used, per tool, over what time.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Serialize;

use crate::event::{Event, Target};
use crate::record::Record;

/// One decided call, for the lists in a [`Review`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Call {
    /// When it was decided.
    pub time: String,
    /// The request id.
    pub id: String,
    /// The command line or `server/tool` (redacted).
    pub target: String,
    /// `allow`, `confirm` or `deny`.
    pub effect: String,
    /// Risk level.
    pub risk: String,
    /// Reasons.
    pub reasons: Vec<String>,
    /// Risk flags as `kind: detail`.
    pub flags: Vec<String>,
    /// For confirmations: the answer (`once`, `no-terminal`, ...).
    pub answer: Option<String>,
}

/// Counts for one tool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolCounts {
    /// Requests.
    pub calls: u64,
    /// Allowed.
    pub allowed: u64,
    /// Needed confirmation.
    pub confirmed: u64,
    /// Denied.
    pub denied: u64,
    /// Exits with a non-zero code or a signal.
    pub failed: u64,
}

/// The report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Review {
    /// First and last record times.
    pub from: Option<String>,
    /// Last record time.
    pub to: Option<String>,
    /// Records read.
    pub records: u64,
    /// Sessions seen.
    pub sessions: u64,
    /// Requests.
    pub requests: u64,
    /// Every decided call, in log order (with the answer, when one was asked).
    pub calls: Vec<Call>,
    /// Denied calls.
    pub denied: Vec<Call>,
    /// Calls that needed confirmation, with the answer.
    pub confirmed: Vec<Call>,
    /// Calls with high or critical risk.
    pub high_risk: Vec<Call>,
    /// Secret names injected, with counts.
    pub secrets: BTreeMap<String, u64>,
    /// Per tool.
    pub tools: BTreeMap<String, ToolCounts>,
    /// Redactions made in tool output.
    pub redactions: u64,
    /// Capability events by action.
    pub capabilities: BTreeMap<String, u64>,
    /// Enforcement levels seen, with counts.
    pub enforcement: BTreeMap<String, u64>,
    /// Set when the log could not be read to its end.
    pub read_error: Option<String>,
}

impl Review {
    /// Builds the report from records in log order.
    pub fn from_records(records: impl IntoIterator<Item = Result<Record, String>>) -> Review {
        let mut r = Review::default();
        let mut targets: HashMap<String, Target> = HashMap::new();
        let mut sessions = std::collections::HashSet::new();
        let mut calls: HashMap<String, usize> = HashMap::new();
        let mut all: HashMap<String, usize> = HashMap::new();
        for rec in records {
            let rec = match rec {
                Ok(rec) => rec,
                Err(e) => {
                    r.read_error = Some(e);
                    break;
                }
            };
            r.records += 1;
            if r.from.is_none() {
                r.from = Some(rec.time.clone());
            }
            r.to = Some(rec.time.clone());
            sessions.insert(rec.session.clone());
            match rec.event {
                Event::Request { id, target, .. } => {
                    r.requests += 1;
                    r.tools.entry(target.tool_name()).or_default().calls += 1;
                    targets.insert(key(&rec.session, &id), target);
                }
                Event::Decision {
                    id,
                    effect,
                    reasons,
                    risk,
                    flags,
                    ..
                } => {
                    let target = targets.get(&key(&rec.session, &id));
                    let tool = target.map(Target::tool_name).unwrap_or_default();
                    let c = r.tools.entry(tool).or_default();
                    match effect.as_str() {
                        "allow" => c.allowed += 1,
                        "confirm" => c.confirmed += 1,
                        _ => c.denied += 1,
                    }
                    let call = Call {
                        time: rec.time.clone(),
                        id: id.clone(),
                        target: target.map(Target::summary).unwrap_or_default(),
                        effect: effect.clone(),
                        risk: risk.clone(),
                        reasons,
                        flags: flags
                            .iter()
                            .map(|f| format!("{}: {}", f.kind, f.detail))
                            .collect(),
                        answer: None,
                    };
                    if matches!(risk.as_str(), "high" | "critical") {
                        r.high_risk.push(call.clone());
                    }
                    all.insert(key(&rec.session, &id), r.calls.len());
                    r.calls.push(call.clone());
                    match effect.as_str() {
                        "allow" => {}
                        "confirm" => {
                            calls.insert(key(&rec.session, &id), r.confirmed.len());
                            r.confirmed.push(call);
                        }
                        _ => r.denied.push(call),
                    }
                }
                Event::Confirmation { id, answer, .. } => {
                    let k = key(&rec.session, &id);
                    if let Some(&i) = all.get(&k) {
                        r.calls[i].answer = Some(answer.clone());
                    }
                    if let Some(&i) = calls.get(&k) {
                        r.confirmed[i].answer = Some(answer);
                    }
                }
                Event::SecretsInjected { secrets, .. } => {
                    for s in secrets {
                        *r.secrets.entry(s.name).or_default() += 1;
                    }
                }
                Event::Exit { id, code, signal } if code != Some(0) || signal.is_some() => {
                    if let Some(t) = targets.get(&key(&rec.session, &id)) {
                        r.tools.entry(t.tool_name()).or_default().failed += 1;
                    }
                }
                Event::Redactions { count, .. } => r.redactions += count,
                Event::Capability { action, .. } => *r.capabilities.entry(action).or_default() += 1,
                Event::Enforcement { level, .. } => *r.enforcement.entry(level).or_default() += 1,
                _ => {}
            }
        }
        r.sessions = sessions.len() as u64;
        r
    }

    /// The report as text for a terminal.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} records, {} sessions, {} requests, from {} to {}",
            self.records,
            self.sessions,
            self.requests,
            self.from.as_deref().unwrap_or("-"),
            self.to.as_deref().unwrap_or("-")
        );
        if let Some(e) = &self.read_error {
            let _ = writeln!(
                s,
                "warning: stopped reading at {e} (run `hush audit verify`)"
            );
        }
        let _ = writeln!(s, "\nper tool:");
        let _ = writeln!(
            s,
            "  {:<32} {:>6} {:>7} {:>7} {:>6} {:>6}",
            "tool", "calls", "allowed", "confirm", "denied", "failed"
        );
        for (t, c) in &self.tools {
            let _ = writeln!(
                s,
                "  {:<32} {:>6} {:>7} {:>7} {:>6} {:>6}",
                t, c.calls, c.allowed, c.confirmed, c.denied, c.failed
            );
        }
        let _ = writeln!(s, "\ncalls: {}", self.calls.len());
        for c in &self.calls {
            let _ = write!(s, "  {} {:<7} [{}] {}", c.time, c.effect, c.risk, c.target);
            if let Some(a) = &c.answer {
                let _ = write!(s, " -> {a}");
            }
            let _ = writeln!(s);
        }
        list(&mut s, "denied", &self.denied);
        list(&mut s, "confirmation asked", &self.confirmed);
        list(&mut s, "high risk", &self.high_risk);
        let _ = writeln!(s, "\nsecrets used:");
        if self.secrets.is_empty() {
            let _ = writeln!(s, "  (none)");
        }
        for (n, c) in &self.secrets {
            let _ = writeln!(s, "  {n} ({c}x)");
        }
        let _ = writeln!(s, "\nredactions in output: {}", self.redactions);
        if !self.enforcement.is_empty() {
            let e: Vec<String> = self
                .enforcement
                .iter()
                .map(|(k, v)| format!("{k} ({v}x)"))
                .collect();
            let _ = writeln!(s, "enforcement: {}", e.join(", "));
        }
        if !self.capabilities.is_empty() {
            let e: Vec<String> = self
                .capabilities
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(s, "capabilities: {}", e.join(", "));
        }
        s
    }
}

fn key(session: &str, id: &str) -> String {
    format!("{session}\u{0}{id}")
}

fn list(s: &mut String, title: &str, calls: &[Call]) {
    let _ = writeln!(s, "\n{title}: {}", calls.len());
    for c in calls {
        let _ = write!(s, "  {} [{}] {}", c.time, c.risk, c.target);
        if let Some(a) = &c.answer {
            let _ = write!(s, " -> {a}");
        }
        let _ = writeln!(s);
        for r in &c.reasons {
            let _ = writeln!(s, "      {r}");
        }
        for f in &c.flags {
            let _ = writeln!(s, "      risk {f}");
        }
    }
}
