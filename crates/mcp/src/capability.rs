//! The capability hook: a tool call may carry a capability token in
//! `params._meta["hush/capability"]`; a [`CapabilityCheck`] (hush-capability's authority, in
//! the CLI) decides on it in addition to the guard. The token is taken out of the message
//! before it is forwarded, whether or not a check is configured: the server never sees it.

use serde_json::Value;

use crate::audit::{AuditEvent, Decision};
use crate::risk::{Assessment, Check, Risk};

/// The key of `params._meta` under which a tool call carries its capability.
pub const CAPABILITY_META_KEY: &str = "hush/capability";

/// One tool call as the capability check sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct CapabilityCall<'a> {
    /// The server's id ([`server_id`](crate::server_id)).
    pub server: &'a str,
    /// The tool's name.
    pub tool: &'a str,
    /// The arguments (`null` when absent).
    pub arguments: &'a Value,
    /// The token carried, if any (an empty string when the value was not a string: it never
    /// validates).
    pub token: Option<&'a str>,
}

/// A capability check's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CapabilityVerdict {
    /// Whether the call may go on to the guard.
    pub allowed: bool,
    /// The token's id (never the token).
    pub token: Option<String>,
    /// The agent the token is for.
    pub agent: Option<String>,
    /// Why (for the audit record only; the client gets the generic denial).
    pub detail: String,
}

impl CapabilityVerdict {
    /// A verdict.
    pub fn new(
        allowed: bool,
        token: Option<String>,
        agent: Option<String>,
        detail: String,
    ) -> CapabilityVerdict {
        CapabilityVerdict {
            allowed,
            token,
            agent,
            detail,
        }
    }
}

/// Checks capability tokens on tool calls. Must fail closed: any internal error denies.
pub trait CapabilityCheck: Send + Sync {
    /// The verdict on one call; `None` when there is nothing to check or record (no token and
    /// none required).
    fn check(&self, call: &CapabilityCall<'_>) -> Option<CapabilityVerdict>;
}

/// A `tools/call` message without its token, and the token; `None` when it carries none.
pub(crate) fn take_token(v: &Value) -> Option<(Value, String)> {
    let token = v.get("params")?.get("_meta")?.get(CAPABILITY_META_KEY)?;
    let token = token.as_str().unwrap_or_default().to_string();
    let mut stripped = v.clone();
    if let Some(meta) = stripped
        .get_mut("params")
        .and_then(|p| p.get_mut("_meta"))
        .and_then(Value::as_object_mut)
    {
        meta.remove(CAPABILITY_META_KEY);
        if meta.is_empty() {
            if let Some(params) = stripped.get_mut("params").and_then(Value::as_object_mut) {
                params.remove("_meta");
            }
        }
    }
    Some((stripped, token))
}

/// Runs the check, if there is one, and reports it. Returns whether the call may go on.
pub(crate) fn allowed(
    check: Option<&dyn CapabilityCheck>,
    call: &CapabilityCall<'_>,
    audit: impl Fn(AuditEvent),
) -> bool {
    let Some(verdict) = check.and_then(|c| c.check(call)) else {
        return true;
    };
    let allowed = verdict.allowed;
    let detail = verdict.detail.clone();
    audit(AuditEvent::Capability {
        server: call.server.to_string(),
        tool: call.tool.to_string(),
        allowed,
        token: verdict.token,
        agent: verdict.agent,
        detail: verdict.detail,
    });
    if !allowed {
        let mut why = Assessment::default();
        why.push(Check::Capability, Risk::High, "/_meta/hush~1capability");
        audit(AuditEvent::ToolCall {
            server: call.server.to_string(),
            tool: call.tool.to_string(),
            decision: Decision::Denied,
            risk: Risk::High,
            reasons: why.reasons,
            answer: None,
            rate_limited: None,
            guard_reasons: vec![format!("capability: {detail}")],
            rules: Vec::new(),
            guard_ns: 0,
            arguments: call.arguments.clone(),
        });
    }
    allowed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_token_is_taken_out_and_empty_meta_dropped() {
        let v = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "echo", "_meta": {"hush/capability": "hushcap1.x"}}});
        let (s, t) = take_token(&v).unwrap();
        assert_eq!(t, "hushcap1.x");
        assert_eq!(s["params"], json!({"name": "echo"}));
        let v = json!({"params": {"_meta": {"hush/capability": 7, "progressToken": 1}}});
        let (s, t) = take_token(&v).unwrap();
        assert_eq!(t, "");
        assert_eq!(s["params"]["_meta"], json!({"progressToken": 1}));
        assert!(take_token(&json!({"params": {"_meta": {"progressToken": 1}}})).is_none());
    }
}

#[cfg(test)]
mod proxy_tests {
    use std::sync::{Arc, Mutex};

    use hush_patterns::{KnownValues, RuleSet};
    use serde_json::json;

    use super::*;
    use crate::{Checker, PathConfig, Proxy, ProxyConfig, Rules, DENIED_TEXT};

    /// Allows token `good` for tool `echo`; requires a token.
    struct Fake;

    impl CapabilityCheck for Fake {
        fn check(&self, call: &CapabilityCall<'_>) -> Option<CapabilityVerdict> {
            let ok = call.token == Some("good") && call.tool == "echo";
            Some(CapabilityVerdict::new(
                ok,
                call.token.map(|_| "id1".to_string()),
                None,
                if ok { "ok" } else { "no" }.into(),
            ))
        }
    }

    fn proxy(check: Option<Box<dyn CapabilityCheck>>) -> (Proxy, Arc<Mutex<Vec<AuditEvent>>>) {
        let (rules, known) = (
            Arc::new(RuleSet::builtin().unwrap()),
            Arc::new(KnownValues::empty()),
        );
        let checker = Checker::new(rules.clone(), known.clone(), PathConfig::default());
        let guard = Box::new(Rules::default());
        let mut config = ProxyConfig::new(vec!["srv".into()], rules, known, checker, guard);
        let events = Arc::new(Mutex::new(Vec::new()));
        let e = events.clone();
        config.audit = Box::new(move |ev| e.lock().unwrap().push(ev.clone()));
        config.capability = check;
        (Proxy::new(config), events)
    }

    fn call(id: u64, tool: &str, token: Option<&str>) -> String {
        let mut v = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": {"text": "hi"}, "_meta": {"progressToken": 5}}});
        if let Some(t) = token {
            v["params"]["_meta"]["hush/capability"] = json!(t);
        }
        v.to_string()
    }

    #[test]
    fn calls_are_checked_and_the_token_never_forwarded() {
        let (p, events) = proxy(Some(Box::new(Fake)));
        let good = call(1, "echo", Some("good"));
        let a = p.client_message(good.as_bytes());
        let fwd: Value = serde_json::from_slice(a.to_server.as_deref().unwrap()).unwrap();
        assert_eq!(fwd["params"]["_meta"], json!({"progressToken": 5}));
        assert!(!String::from_utf8_lossy(a.to_server.as_deref().unwrap()).contains("good"));
        for (id, line) in [
            (2, call(2, "echo", None)),
            (3, call(3, "echo", Some("bad"))),
            (4, call(4, "other", Some("good"))),
        ] {
            let a = p.client_message(line.as_bytes());
            assert!(a.to_server.is_none(), "call {id}");
            let r: Value = serde_json::from_slice(&a.to_client[0]).unwrap();
            assert_eq!(r["result"]["content"][0]["text"], json!(DENIED_TEXT));
        }
        // In a batch: the allowed call goes on without its token, the denied one is answered.
        let batch = format!(
            "[{},{}]",
            call(5, "echo", Some("good")),
            call(6, "echo", None)
        );
        let a = p.client_message(batch.as_bytes());
        let fwd: Value = serde_json::from_slice(a.to_server.as_deref().unwrap()).unwrap();
        assert_eq!(fwd[0]["id"], json!(5));
        assert!(fwd[0]["params"]["_meta"].get("hush/capability").is_none());
        assert_eq!(fwd.as_array().unwrap().len(), 1);
        let ev = events.lock().unwrap();
        let caps: Vec<bool> = ev
            .iter()
            .filter_map(|e| match e {
                AuditEvent::Capability { allowed, .. } => Some(*allowed),
                _ => None,
            })
            .collect();
        assert_eq!(caps, vec![true, false, false, false, true, false]);
        assert!(ev
            .iter()
            .any(|e| matches!(e, AuditEvent::ToolCall { reasons, .. }
            if reasons.iter().any(|r| r.check == Check::Capability))));
    }

    #[test]
    fn without_a_check_tokens_are_stripped_and_ignored() {
        let (p, events) = proxy(None);
        let line = call(1, "echo", Some("anything"));
        let a = p.client_message(line.as_bytes());
        let fwd = String::from_utf8_lossy(a.to_server.as_deref().unwrap()).into_owned();
        assert!(
            !fwd.contains("anything") && !fwd.contains("hush/capability"),
            "{fwd}"
        );
        assert!(!events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, AuditEvent::Capability { .. })));
    }
}
