//! Where decisions are made: the [`Guard`] trait (the policy engine plugs in here) and the
//! built-in [`Rules`].

use serde::Serialize;
use serde_json::Value;

use crate::risk::{Assessment, Risk};
use crate::trust::{Effective, ServerLevel, ToolLevel};

/// One `tools/call` as the guard sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct ToolCall<'a> {
    /// The server's id ([`server_id`](crate::server_id)).
    pub server: &'a str,
    /// The tool's name.
    pub tool: &'a str,
    /// The arguments (`null` when absent).
    pub arguments: &'a Value,
    /// What the argument checks found, anomaly and definition-change reasons included.
    pub assessment: &'a Assessment,
    /// The risk: the assessment's, raised by anomaly flags.
    pub risk: Risk,
    /// Trust levels that apply.
    pub trust: Effective,
    /// Already confirmed in this session (for `confirm_once`).
    pub confirmed_in_session: bool,
}

/// A guard's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// Forward the call.
    Allow,
    /// Ask the user; no answer means deny.
    Confirm,
    /// Answer the client with a denial; the server never sees the call.
    Deny,
}

/// A verdict with what led to it, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ruling {
    /// The verdict.
    pub verdict: Verdict,
    /// Why, most decisive first (never argument values).
    pub reasons: Vec<String>,
    /// Ids of the rules that matched.
    pub rules: Vec<String>,
}

impl Ruling {
    /// A ruling with its reasons and rule ids.
    pub fn new(verdict: Verdict, reasons: Vec<String>, rules: Vec<String>) -> Ruling {
        Ruling {
            verdict,
            reasons,
            rules,
        }
    }
}

impl From<Verdict> for Ruling {
    fn from(verdict: Verdict) -> Ruling {
        Ruling::new(verdict, Vec::new(), Vec::new())
    }
}

/// Decides tool calls and tool visibility. Must be cheap and must not block: confirmation is the
/// proxy's job. Implementations must fail closed (deny) on any internal error.
pub trait Guard: Send + Sync {
    /// The verdict on one call.
    fn decide(&self, call: &ToolCall<'_>) -> Verdict;

    /// The verdict with its reasons and rules; the proxy calls this one. The default has
    /// [`decide`](Self::decide)'s verdict and no reasons.
    fn rule(&self, call: &ToolCall<'_>) -> Ruling {
        self.decide(call).into()
    }

    /// Whether `tool` of `server` is shown in `tools/list`.
    fn visible(&self, server: &str, tool: &str, trust: &Effective) -> bool;
}

/// The built-in rules until the policy crate arrives: blocked and confirm lists by tool name,
/// then trust levels, then risk.
///
/// In order: suspended, blocked (by name or trust) → deny; critical risk → deny; high risk,
/// a changed definition, a confirm-listed tool, `confirm_always`, `confirm_once` not yet
/// confirmed in this session, or medium risk on a server that is not `trusted` → confirm;
/// otherwise allow.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// Tools hidden and denied (exact names).
    pub blocked: Vec<String>,
    /// Tools confirmed on every call (exact names).
    pub confirm: Vec<String>,
}

impl Guard for Rules {
    fn decide(&self, call: &ToolCall<'_>) -> Verdict {
        let t = &call.trust;
        if t.suspended
            || t.tool == Some(ToolLevel::Blocked)
            || self.blocked.iter().any(|b| b == call.tool)
            || call.risk >= Risk::Critical
        {
            return Verdict::Deny;
        }
        let confirm = call.risk >= Risk::High
            || t.definition_changed
            || self.confirm.iter().any(|c| c == call.tool)
            || t.tool == Some(ToolLevel::ConfirmAlways)
            || (t.tool == Some(ToolLevel::ConfirmOnce) && !call.confirmed_in_session)
            || (call.risk >= Risk::Medium
                && t.tool != Some(ToolLevel::AlwaysAllow)
                && t.server != ServerLevel::Trusted);
        if confirm {
            Verdict::Confirm
        } else {
            Verdict::Allow
        }
    }

    fn visible(&self, _server: &str, tool: &str, trust: &Effective) -> bool {
        !(trust.suspended
            || trust.tool == Some(ToolLevel::Blocked)
            || self.blocked.iter().any(|b| b == tool))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(a: &'a Assessment, risk: Risk, trust: Effective) -> ToolCall<'a> {
        ToolCall {
            server: "s",
            tool: "t",
            arguments: &Value::Null,
            assessment: a,
            risk,
            trust,
            confirmed_in_session: false,
        }
    }

    #[test]
    fn risk_and_trust_map_to_verdicts() {
        let a = Assessment::default();
        let base = Effective {
            server: ServerLevel::Untrusted,
            tool: None,
            suspended: false,
            definition_changed: false,
        };
        let r = Rules::default();
        assert_eq!(r.decide(&call(&a, Risk::Low, base)), Verdict::Allow);
        assert_eq!(r.decide(&call(&a, Risk::Medium, base)), Verdict::Confirm);
        assert_eq!(r.decide(&call(&a, Risk::Critical, base)), Verdict::Deny);
        let trusted = Effective {
            server: ServerLevel::Trusted,
            ..base
        };
        assert_eq!(r.decide(&call(&a, Risk::Medium, trusted)), Verdict::Allow);
        assert_eq!(r.decide(&call(&a, Risk::High, trusted)), Verdict::Confirm);
        // Tool level overrides the server level, both ways.
        let allow = Effective {
            tool: Some(ToolLevel::AlwaysAllow),
            ..base
        };
        assert_eq!(r.decide(&call(&a, Risk::Medium, allow)), Verdict::Allow);
        let always = Effective {
            tool: Some(ToolLevel::ConfirmAlways),
            ..trusted
        };
        assert_eq!(r.decide(&call(&a, Risk::Low, always)), Verdict::Confirm);
        let changed = Effective {
            definition_changed: true,
            ..trusted
        };
        assert_eq!(r.decide(&call(&a, Risk::Low, changed)), Verdict::Confirm);
        let blocked = Rules {
            blocked: vec!["t".into()],
            confirm: vec![],
        };
        assert_eq!(blocked.decide(&call(&a, Risk::Low, trusted)), Verdict::Deny);
        assert!(!blocked.visible("s", "t", &trusted));
        assert!(blocked.visible("s", "u", &trusted));
    }
}
