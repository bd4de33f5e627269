//! [`PolicyGuard`]: a hush policy (`hush_policy`) as the [`Guard`].

use std::sync::Arc;

use hush_policy::{Effect, PolicyHandle, Request, RiskLevel};

use crate::guard::{Guard, Ruling, ToolCall, Verdict};
use crate::risk::Risk;
use crate::trust::{Effective, ServerLevel, ToolLevel};

/// Decides tool calls with a hush policy's `[[mcp]]` rules, the argument checks and the trust
/// levels.
///
/// In order:
/// 1. A suspended server or tool, or a tool blocked in the trust file → deny.
/// 2. The policy's decision on `Request::tool(server, tool, arguments)` (its own rules, its
///    risk flags and `[risk]` floor). Deny → deny: no trust level loosens a policy deny.
/// 3. The argument checks' risk (anomaly flags included) through the policy's `[risk]` table;
///    deny → deny.
/// 4. Trust, tool level over server level: `always_allow` → allow (below high risk);
///    `confirm_always` → confirm; `confirm_once` → confirm until confirmed in this session;
///    a changed definition → confirm. Otherwise the stricter of 2 and 3, except that a
///    `trusted` server skips the confirmation the argument checks alone ask for (below high
///    risk); a policy `confirm` rule still asks.
///
/// Any failure (a panic while evaluating) denies.
#[derive(Debug, Clone)]
pub struct PolicyGuard {
    policy: Arc<PolicyHandle>,
    server: String,
}

impl PolicyGuard {
    /// A guard for the server named `server` in the policy's `[[mcp]]` rules.
    pub fn new(policy: Arc<PolicyHandle>, server: impl Into<String>) -> PolicyGuard {
        PolicyGuard {
            policy,
            server: server.into(),
        }
    }

    /// The server's name in the policy.
    pub fn server(&self) -> &str {
        &self.server
    }
}

impl PolicyGuard {
    /// The server level the policy pins (`server_trust` on an `[[mcp]]` rule naming the server).
    pub fn pinned_server_level(&self) -> Option<ServerLevel> {
        let (server, _) = self.policy.current().mcp_trust(&self.server, "");
        server.and_then(server_level)
    }

    /// `trust` with the policy's pins applied: a pinned level replaces the trust file's. A
    /// changed definition still makes a pinned `always_allow` or `confirm_once` ask again.
    fn pinned(&self, tool: &str, mut trust: Effective) -> Effective {
        let (server, tool_level) = self.policy.current().mcp_trust(&self.server, tool);
        if let Some(l) = server.and_then(server_level) {
            trust.server = l;
        }
        if let Some(l) = tool_level.and_then(tool_level_of) {
            let loosening = matches!(l, ToolLevel::AlwaysAllow | ToolLevel::ConfirmOnce);
            trust.tool = (!(loosening && trust.definition_changed)).then_some(l);
        }
        trust
    }
}

fn server_level(s: &str) -> Option<ServerLevel> {
    match s {
        "trusted" => Some(ServerLevel::Trusted),
        "untrusted" => Some(ServerLevel::Untrusted),
        "sandboxed" => Some(ServerLevel::Sandboxed),
        _ => None,
    }
}

fn tool_level_of(s: &str) -> Option<ToolLevel> {
    match s {
        "always_allow" => Some(ToolLevel::AlwaysAllow),
        "confirm_once" => Some(ToolLevel::ConfirmOnce),
        "confirm_always" => Some(ToolLevel::ConfirmAlways),
        "blocked" => Some(ToolLevel::Blocked),
        _ => None,
    }
}

fn level(risk: Risk) -> RiskLevel {
    match risk {
        Risk::Low => RiskLevel::Low,
        Risk::Medium => RiskLevel::Medium,
        Risk::High => RiskLevel::High,
        _ => RiskLevel::Critical,
    }
}

fn deny(reason: impl Into<String>, rules: Vec<String>) -> Ruling {
    Ruling::new(Verdict::Deny, vec![reason.into()], rules)
}

impl Guard for PolicyGuard {
    fn decide(&self, call: &ToolCall<'_>) -> Verdict {
        self.rule(call).verdict
    }

    fn rule(&self, call: &ToolCall<'_>) -> Ruling {
        let pinned = self.pinned(call.tool, call.trust);
        let t = &pinned;
        if t.suspended {
            return deny("suspended in the trust file", vec![]);
        }
        if t.tool == Some(ToolLevel::Blocked) {
            return deny("tool blocked in the trust file", vec![]);
        }
        let evaluated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let request = Request::tool(&self.server, call.tool, call.arguments.clone());
            let d = self.policy.evaluate(&request);
            let floor = self.policy.current().risk_effect(level(call.risk));
            (d, floor)
        }));
        let Ok((d, floor)) = evaluated else {
            return deny("policy evaluation failed", vec![]);
        };
        let rules: Vec<String> = d.rules.iter().map(|r| r.to_string()).collect();
        let mut reasons = d.reasons;
        if d.effect == Effect::Deny {
            return Ruling::new(Verdict::Deny, reasons, rules);
        }
        if floor > Effect::Allow {
            reasons.push(format!(
                "argument checks: risk {} requires {floor}",
                call.risk.as_str()
            ));
        }
        if floor == Effect::Deny {
            return Ruling::new(Verdict::Deny, reasons, rules);
        }
        let below_high = call.risk < Risk::High;
        let verdict = match t.tool {
            Some(ToolLevel::AlwaysAllow) if below_high => {
                reasons.push("tool always allowed in the trust file".into());
                Verdict::Allow
            }
            Some(ToolLevel::ConfirmAlways) => Verdict::Confirm,
            Some(ToolLevel::ConfirmOnce) if !(call.confirmed_in_session && below_high) => {
                Verdict::Confirm
            }
            Some(ToolLevel::ConfirmOnce) => Verdict::Allow,
            _ if t.definition_changed => {
                reasons.push("the tool's definition changed: untrusted again".into());
                Verdict::Confirm
            }
            _ if d.effect == Effect::Confirm => Verdict::Confirm,
            _ if floor == Effect::Confirm && !(t.server == ServerLevel::Trusted && below_high) => {
                Verdict::Confirm
            }
            _ => Verdict::Allow,
        };
        Ruling::new(verdict, reasons, rules)
    }

    fn visible(&self, _server: &str, tool: &str, trust: &Effective) -> bool {
        let trust = self.pinned(tool, *trust);
        !(trust.suspended || trust.tool == Some(ToolLevel::Blocked))
            && self.policy.current().tool_visible(&self.server, tool)
    }
}

#[cfg(test)]
mod tests {
    use hush_policy::{Context, Loader, Tier};
    use serde_json::{json, Value};

    use super::*;
    use crate::risk::Assessment;

    const POLICY: &str = r#"
        [[mcp]]
        id = "fs-read"
        server = "filesystem"
        tool = "read_file"
        [mcp.args.path]
        paths = ["${workspace}/**"]
        required = true

        [[mcp]]
        id = "fs-write"
        server = "filesystem"
        tool = "write_file"
        effect = "confirm"

        [[mcp]]
        id = "no-delete"
        server = "filesystem"
        tool = "delete_file"
        effect = "deny"

        [[mcp]]
        id = "pins"
        server = "filesystem"
        tool = "{list_directory,search_files}"
        trust = "confirm_always"
        server_trust = "sandboxed"

        [[mcp]]
        id = "pin-block"
        server = "filesystem"
        tool = "search_files"
        trust = "blocked"
    "#;

    fn guard() -> PolicyGuard {
        let mut loader = Loader::new(Context::new("/work/app", "/home/me", "/tmp"));
        loader.text(Tier::Project, "agent.toml", POLICY);
        let handle = PolicyHandle::new(loader).unwrap();
        PolicyGuard::new(Arc::new(handle), "filesystem")
    }

    fn trust(server: ServerLevel, tool: Option<ToolLevel>) -> Effective {
        Effective {
            server,
            tool,
            suspended: false,
            definition_changed: false,
        }
    }

    fn decide(g: &PolicyGuard, tool: &str, args: &Value, risk: Risk, t: Effective) -> Verdict {
        let a = Assessment::default();
        g.decide(&ToolCall {
            server: "id",
            tool,
            arguments: args,
            assessment: &a,
            risk,
            trust: t,
            confirmed_in_session: false,
        })
    }

    #[test]
    fn policy_effects_combine_with_risk_and_trust() {
        use ServerLevel::{Trusted, Untrusted};
        use ToolLevel::{AlwaysAllow, Blocked, ConfirmAlways};
        use Verdict::{Allow, Confirm, Deny};
        let g = guard();
        let inside = json!({"path": "/work/app/src/lib.rs"});
        let outside = json!({"path": "/etc/passwd"});
        let changed = Effective {
            definition_changed: true,
            ..trust(Untrusted, None)
        };
        let cases = [
            // The policy alone.
            (
                "read_file",
                &inside,
                Risk::Low,
                trust(Untrusted, None),
                Allow,
            ),
            (
                "read_file",
                &outside,
                Risk::Low,
                trust(Untrusted, None),
                Deny,
            ),
            (
                "write_file",
                &inside,
                Risk::Low,
                trust(Untrusted, None),
                Confirm,
            ),
            (
                "delete_file",
                &inside,
                Risk::Low,
                trust(Untrusted, None),
                Deny,
            ),
            ("unknown", &inside, Risk::Low, trust(Untrusted, None), Deny),
            // The argument checks' risk through the policy's risk table (critical → deny).
            (
                "read_file",
                &inside,
                Risk::Critical,
                trust(Untrusted, None),
                Deny,
            ),
            // Tool level overrides: always_allow waives the policy's confirm, blocked denies.
            (
                "write_file",
                &inside,
                Risk::Low,
                trust(Untrusted, Some(AlwaysAllow)),
                Allow,
            ),
            (
                "read_file",
                &inside,
                Risk::Low,
                trust(Trusted, Some(Blocked)),
                Deny,
            ),
            (
                "read_file",
                &inside,
                Risk::Low,
                trust(Trusted, Some(ConfirmAlways)),
                Confirm,
            ),
            // No trust level loosens a policy deny.
            (
                "delete_file",
                &inside,
                Risk::Low,
                trust(Trusted, Some(AlwaysAllow)),
                Deny,
            ),
            ("read_file", &inside, Risk::Low, changed, Confirm),
        ];
        for (tool, args, risk, t, want) in cases {
            assert_eq!(
                decide(&g, tool, args, risk, t),
                want,
                "{tool} {args} {risk:?} {t:?}"
            );
        }
    }

    #[test]
    fn the_policy_pins_trust_levels() {
        let g = guard();
        assert_eq!(g.pinned_server_level(), Some(ServerLevel::Sandboxed));
        let args = json!({"path": "/work/app/src"});
        // The trust file says always allow; the policy pins confirm_always.
        let allow = trust(ServerLevel::Trusted, Some(ToolLevel::AlwaysAllow));
        assert_eq!(
            decide(&g, "list_directory", &args, Risk::Low, allow),
            Verdict::Confirm
        );
        // Of two pins, the strictest: blocked, so denied and hidden.
        assert_eq!(
            decide(&g, "search_files", &args, Risk::Low, allow),
            Verdict::Deny
        );
        assert!(!g.visible("id", "search_files", &allow));
        assert!(g.visible("id", "list_directory", &allow));
        // Tools without a pin keep the trust file's level.
        assert_eq!(
            decide(&g, "write_file", &args, Risk::Low, allow),
            Verdict::Allow
        );
    }

    #[test]
    fn only_reachable_tools_are_visible() {
        let g = guard();
        let t = trust(ServerLevel::Untrusted, None);
        assert!(g.visible("id", "read_file", &t));
        assert!(g.visible("id", "write_file", &t));
        assert!(!g.visible("id", "delete_file", &t));
        assert!(!g.visible("id", "unknown", &t));
        let blocked = trust(ServerLevel::Untrusted, Some(ToolLevel::Blocked));
        assert!(!g.visible("id", "read_file", &blocked));
    }
}
