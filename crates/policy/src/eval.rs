//! `Policy::evaluate`: a pure function from a request to a decision.
//!
//! Default deny; a matching deny rule overrides every allow (from any tier); a confirm rule
//! beats an allow; the risk level's effect from `[risk]` is a floor; and any evaluation error,
//! even a panic, denies.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::paths::{expand_home, has_encoded_traversal, is_within, normalize};
use crate::policy::{ArgConstraint, McpRule, Meta, NetworkMode, Policy};
use crate::risk::{basename, runs_inline_code, Assessor};
use crate::types::{
    ConnectRequest, Decision, Effect, ExecRequest, FileRequest, Request, Right, Risk, RiskKind,
    RiskLevel, SecretGrant, ToolRequest,
};

/// Longest argument, path or name evaluation accepts; longer denies.
pub const MAX_FIELD_LEN: usize = 128 * 1024;
/// Most arguments evaluation accepts; more denies.
pub const MAX_ARGS: usize = 4096;
/// Deepest nesting of MCP arguments evaluation accepts; deeper denies.
pub const MAX_JSON_DEPTH: usize = 64;

/// The names in [`WRAPPERS`].
pub(crate) const WRAPPER_NAMES: &[&str] = &[
    "env", "nice", "nohup", "setsid", "time", "timeout", "stdbuf", "sudo", "doas", "xargs", "exec",
    "command", "chrt", "ionice", "taskset", "flock",
];

/// Wrappers that run another command, and their options that take a value.
const WRAPPERS: &[(&str, &[&str], usize)] = &[
    (
        "env",
        &["-u", "--unset", "-C", "--chdir", "-S", "--split-string"],
        0,
    ),
    ("nice", &["-n", "--adjustment"], 0),
    ("nohup", &[], 0),
    ("setsid", &[], 0),
    ("time", &["-f", "--format", "-o", "--output"], 0),
    ("timeout", &["-s", "--signal", "-k", "--kill-after"], 1),
    ("stdbuf", &["-i", "-o", "-e"], 0),
    (
        "sudo",
        &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"],
        0,
    ),
    ("doas", &["-u", "-C"], 0),
    (
        "xargs",
        &[
            "-a",
            "-d",
            "-E",
            "-I",
            "-L",
            "-n",
            "-P",
            "-s",
            "--delimiter",
        ],
        0,
    ),
    ("exec", &["-a"], 0),
    ("command", &[], 0),
    ("chrt", &[], 1),
    ("ionice", &["-c", "-n", "-p"], 0),
    ("taskset", &[], 1),
    ("flock", &["-w", "-E", "-c"], 1),
];

impl Policy {
    /// Decides `request`. Pure: no filesystem, clock, environment or network access, and the
    /// same policy and request always give the same decision.
    ///
    /// Never fails and never panics outward: a request that cannot be evaluated (an empty
    /// program, a relative `cwd`, a NUL byte, oversized fields) is denied with the reason.
    pub fn evaluate(&self, request: &Request) -> Decision {
        match catch_unwind(AssertUnwindSafe(|| self.try_evaluate(request))) {
            Ok(Ok(d)) => d,
            Ok(Err(why)) => Decision::deny(format!("evaluation error: {why}")),
            Err(_) => Decision::deny("evaluation error: internal failure (denied to fail closed)"),
        }
    }

    fn try_evaluate(&self, request: &Request) -> Result<Decision, String> {
        let mut d = Decision {
            effect: Effect::Deny,
            reasons: Vec::new(),
            rules: Vec::new(),
            risk: Risk::default(),
            secrets: Vec::new(),
        };
        let assessor = Assessor {
            ctx: &self.ctx,
            sensitive: &self.sensitive,
            rules: self.secret_rules.as_deref(),
        };
        match request {
            Request::Exec(e) => self.eval_exec(e, &assessor, &mut d)?,
            Request::File(f) => self.eval_file(f, &assessor, &mut d)?,
            Request::Connect(c) => self.eval_connect(c, &mut d)?,
            Request::Tool(t) => self.eval_tool(t, &assessor, &mut d)?,
        }
        let floor = self.risk_effect(d.risk.level);
        if floor > d.effect {
            let kinds: Vec<&str> = d
                .risk
                .flags
                .iter()
                .filter(|f| f.level == d.risk.level)
                .map(|f| f.kind.as_str())
                .collect();
            d.reasons.insert(
                0,
                format!(
                    "risk {} ({}) requires {floor}",
                    d.risk.level,
                    kinds.join(", ")
                ),
            );
            d.effect = floor;
        }
        Ok(d)
    }

    fn eval_exec(
        &self,
        e: &ExecRequest,
        assessor: &Assessor<'_>,
        d: &mut Decision,
    ) -> Result<(), String> {
        check_field("program", &e.program)?;
        if e.program.trim().is_empty() {
            return Err("empty program".into());
        }
        check_cwd(&e.cwd)?;
        if e.args.len() > MAX_ARGS {
            return Err(format!("{} arguments (at most {MAX_ARGS})", e.args.len()));
        }
        for a in e.args.iter().chain(&e.secrets) {
            check_field("argument", a)?;
        }
        assessor.exec(&mut d.risk, &e.program, &e.args, &e.cwd);

        let mut effect = Effect::Allow;
        let mut tool = (e.program.as_str(), e.args.as_slice());
        let mut chain = vec![tool];
        while let Some(inner) = unwrap_wrapper(tool.0, tool.1) {
            if chain.len() > 8 {
                return Err("more than 8 nested wrapper commands".into());
            }
            chain.push(inner);
            tool = inner;
        }
        for (i, (program, args)) in chain.iter().enumerate() {
            if i > 0 {
                assessor.exec(&mut d.risk, program, args, &e.cwd);
            }
            effect = effect.max(self.match_command(program, args, &e.cwd, d));
        }
        d.effect = effect;

        // Secrets go to the tool that really runs: the innermost of the wrapper chain.
        let (program, _) = tool;
        let path = if program.contains('/') {
            normalize(program, &e.cwd)
        } else {
            String::new()
        };
        for s in &self.secrets {
            let granted = match &s.programs {
                None => true,
                Some((names, paths)) => {
                    names.is_match(basename(program))
                        || (program.contains('/') && paths.is_match(&path))
                }
            };
            if granted {
                d.secrets.push(SecretGrant {
                    name: s.name.clone(),
                    env: s.env.clone(),
                });
            }
        }
        for want in &e.secrets {
            if !d.secrets.iter().any(|g| &g.name == want) {
                d.effect = Effect::Deny;
                d.reasons.insert(
                    0,
                    format!("secret `{want}` is not granted to `{}`", basename(program)),
                );
            }
        }
        if d.effect == Effect::Deny {
            d.secrets.clear();
        }
        Ok(())
    }

    /// The strictest effect of the command rules matching one program, with reasons.
    fn match_command(&self, program: &str, args: &[String], cwd: &str, d: &mut Decision) -> Effect {
        let name = basename(program);
        let mut idx = Vec::new();
        for i in self.cmd_name_set.matches(name) {
            idx.push(self.cmd_name_map[i]);
        }
        if program.contains('/') {
            let path = normalize(program, cwd);
            for i in self.cmd_path_set.matches(&path) {
                idx.push(self.cmd_path_map[i]);
            }
        }
        idx.sort_unstable();
        idx.dedup();
        let code = runs_inline_code(program, args);
        let mut matched: Vec<&Meta> = Vec::new();
        let mut notes = Vec::new();
        for i in idx {
            let r = &self.cmds[i];
            if r.args.len() > args.len() || (r.exact && r.args.len() != args.len()) {
                continue;
            }
            if !r.args.iter().zip(args).all(|(g, a)| g.is_match(a)) {
                continue;
            }
            if code && !r.shell && r.meta.effect != Effect::Deny {
                notes.push(format!(
                    "rule `{}` matches but does not allow shells or inline code (set `shell = true`)",
                    r.meta.id
                ));
                continue;
            }
            matched.push(&r.meta);
        }
        let default = || {
            if code {
                format!(
                    "`{name}` runs a shell or inline code and no rule with `shell = true` allows it"
                )
            } else {
                format!("no command rule allows `{name}`")
            }
        };
        let effect = combine(d, &matched, default);
        if effect == Effect::Deny {
            d.reasons.extend(notes);
        }
        effect
    }

    fn eval_file(
        &self,
        f: &FileRequest,
        assessor: &Assessor<'_>,
        d: &mut Decision,
    ) -> Result<(), String> {
        check_field("path", &f.path)?;
        check_cwd(&f.cwd)?;
        let path = normalize(&expand_home(&f.path, self.ctx.home_str()), &f.cwd);
        let within = is_within(&path, self.ctx.workspace_str());
        let destructive = f.right == Right::Delete || (f.right == Right::Write && !within);
        assessor.path(&mut d.risk, &f.path, &path, destructive);
        let mut matched: Vec<&Meta> = Vec::new();
        let mut idx: Vec<usize> = self
            .fs_set
            .matches(&path)
            .into_iter()
            .map(|i| self.fs_map[i])
            .collect();
        idx.dedup();
        for i in idx {
            let r = &self.fs[i];
            if r.rights.contains(f.right) {
                matched.push(&r.meta);
            }
        }
        d.effect = combine(d, &matched, || {
            format!("no filesystem rule allows {} on `{path}`", f.right)
        });
        Ok(())
    }

    fn eval_connect(&self, c: &ConnectRequest, d: &mut Decision) -> Result<(), String> {
        check_field("host", &c.host)?;
        if c.host.is_empty() {
            return Err("empty host".into());
        }
        let host = c.host.trim_end_matches('.').to_ascii_lowercase();
        let target = format!("{host}:{}", c.port);
        let metadata = host.starts_with("169.254.") || host == "metadata.google.internal";
        d.risk.flag(
            RiskKind::Network,
            if metadata {
                RiskLevel::High
            } else {
                RiskLevel::Medium
            },
            target.clone(),
        );
        if self.net.is_empty() {
            d.effect = Effect::Deny;
            d.reasons
                .push("network is off: the policy has no [network] table".into());
            return Ok(());
        }
        d.effect = Effect::Allow;
        for layer in &self.net {
            let where_ = || format!("{} tier, {}", layer.tier.as_str(), layer.location);
            if let Some(h) = layer.deny.iter().find(|h| h.matches(&host, c.port)) {
                d.effect = Effect::Deny;
                d.rules.push(format!("network.deny:{}", h.src).into());
                d.reasons.push(format!(
                    "`{target}` is denied by `{}` ({})",
                    h.src,
                    where_()
                ));
                continue;
            }
            match layer.mode {
                NetworkMode::Off => {
                    d.effect = Effect::Deny;
                    d.reasons.push(format!("network is off ({})", where_()));
                }
                NetworkMode::Allowlist => {
                    if let Some(h) = layer.allow.iter().find(|h| h.matches(&host, c.port)) {
                        d.rules.push(format!("network.allow:{}", h.src).into());
                        d.reasons
                            .push(format!("`{target}` is allowlisted by `{}`", h.src));
                    } else {
                        d.effect = Effect::Deny;
                        d.reasons.push(format!(
                            "`{target}` is not in the network allowlist ({})",
                            where_()
                        ));
                    }
                }
                NetworkMode::Any => d
                    .reasons
                    .push(format!("network mode is any ({})", where_())),
            }
        }
        if d.effect == Effect::Deny {
            d.reasons
                .retain(|r| !r.contains("allowlisted by") && !r.starts_with("network mode is any"));
        }
        Ok(())
    }

    fn eval_tool(
        &self,
        t: &ToolRequest,
        assessor: &Assessor<'_>,
        d: &mut Decision,
    ) -> Result<(), String> {
        check_field("server", &t.server)?;
        check_field("tool", &t.tool)?;
        let args = match &t.arguments {
            serde_json::Value::Null => None,
            serde_json::Value::Object(m) => Some(m),
            _ => return Err("tool arguments must be a JSON object".into()),
        };
        let ws = self.ctx.workspace_str();
        if let Some(m) = args {
            for (k, v) in m {
                assess_json(assessor, &mut d.risk, k, v, ws, 0)?;
            }
        }
        let mut matched: Vec<&Meta> = Vec::new();
        let mut notes = Vec::new();
        for r in &self.mcp {
            if !r.server.is_match(&t.server) || !r.tool.is_match(&t.tool) {
                continue;
            }
            match constraints_hold(r, args, ws, self.ctx.home_str()) {
                Ok(()) => matched.push(&r.meta),
                Err(why) => notes.push(format!("rule `{}` does not apply: {why}", r.meta.id)),
            }
        }
        d.effect = combine(d, &matched, || {
            format!("no MCP rule allows `{}` on server `{}`", t.tool, t.server)
        });
        if d.effect == Effect::Deny {
            d.reasons.extend(notes);
        }
        Ok(())
    }
}

/// Records matched rules and returns their strictest effect, or denies with `default`.
fn combine(d: &mut Decision, matched: &[&Meta], default: impl FnOnce() -> String) -> Effect {
    if matched.is_empty() {
        d.reasons.push(default());
        return Effect::Deny;
    }
    let effect = matched
        .iter()
        .map(|m| m.effect)
        .max()
        .unwrap_or(Effect::Deny);
    // Strictest first; a stable sort keeps rule order among equals. One match needs no sort.
    let mut ordered: Vec<&&Meta> = matched.iter().collect();
    if ordered.len() > 1 {
        ordered.sort_by_key(|m| std::cmp::Reverse(m.effect));
    }
    for m in ordered {
        d.rules.push(m.id.clone());
        let verb = match m.effect {
            Effect::Deny => "denied by",
            Effect::Confirm => "confirmation required by",
            Effect::Allow => "allowed by",
        };
        // Allows that a deny overrode are listed as rules, not as reasons.
        if m.effect == effect || effect != Effect::Deny {
            let mut r = format!("{verb} rule `{}` ({} tier)", m.id, m.tier.as_str());
            if let Some(why) = &m.reason {
                r.push_str(": ");
                r.push_str(why);
            }
            d.reasons.push(r);
        }
    }
    effect
}

fn constraints_hold(
    r: &McpRule,
    args: Option<&serde_json::Map<String, serde_json::Value>>,
    ws: &str,
    home: &str,
) -> Result<(), String> {
    for c in &r.args {
        match args.and_then(|m| m.get(&c.name)) {
            None | Some(serde_json::Value::Null) => {
                if c.required {
                    return Err(format!("argument `{}` is required", c.name));
                }
            }
            Some(v) => check_constraint(c, v, ws, home)?,
        }
    }
    Ok(())
}

fn check_constraint(
    c: &ArgConstraint,
    v: &serde_json::Value,
    ws: &str,
    home: &str,
) -> Result<(), String> {
    let s = v.as_str();
    if let Some(paths) = &c.paths {
        let Some(s) = s else {
            return Err(format!("argument `{}` must be a path string", c.name));
        };
        let s = s.strip_prefix("file://").unwrap_or(s);
        if has_encoded_traversal(s) {
            return Err(format!("argument `{}` has an encoded traversal", c.name));
        }
        let p = normalize(&expand_home(s, home), ws);
        if !paths.is_match(&p) {
            return Err(format!(
                "argument `{}` is outside the allowed paths",
                c.name
            ));
        }
    }
    if !c.one_of.is_empty() && !c.one_of.contains(v) {
        return Err(format!(
            "argument `{}` is not one of the allowed values",
            c.name
        ));
    }
    if let Some(re) = &c.pattern {
        let Some(s) = s else {
            return Err(format!("argument `{}` must be a string", c.name));
        };
        if !re.is_match(s) {
            return Err(format!("argument `{}` does not match its pattern", c.name));
        }
    }
    if let Some(max) = c.max_len {
        let len = match s {
            Some(s) => s.chars().count(),
            None => v.to_string().len(),
        };
        if len > max {
            return Err(format!(
                "argument `{}` is longer than {max} characters",
                c.name
            ));
        }
    }
    Ok(())
}

fn assess_json(
    a: &Assessor<'_>,
    risk: &mut Risk,
    key: &str,
    v: &serde_json::Value,
    ws: &str,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_JSON_DEPTH {
        return Err(format!("arguments nest deeper than {MAX_JSON_DEPTH}"));
    }
    match v {
        serde_json::Value::String(s) => {
            check_field("argument", s)?;
            a.text(risk, || format!("argument `{key}`"), s, false);
            let pathish = s.starts_with('/')
                || s.starts_with('~')
                || s.starts_with("file://")
                || s.contains("..")
                || s.contains('/')
                || matches!(
                    key,
                    "path" | "file" | "filename" | "dir" | "directory" | "source" | "destination"
                );
            if pathish && !s.contains("://") || s.starts_with("file://") {
                let raw = s.strip_prefix("file://").unwrap_or(s);
                let p = normalize(&expand_home(raw, a.ctx.home_str()), ws);
                a.path(risk, raw, &p, false);
            }
        }
        serde_json::Value::Array(xs) => {
            for x in xs {
                assess_json(a, risk, key, x, ws, depth + 1)?;
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                assess_json(a, risk, k, x, ws, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_field(what: &str, s: &str) -> Result<(), String> {
    if s.len() > MAX_FIELD_LEN {
        return Err(format!("{what} longer than {MAX_FIELD_LEN} bytes"));
    }
    if s.contains('\0') {
        return Err(format!("{what} contains a NUL byte"));
    }
    Ok(())
}

fn check_cwd(cwd: &str) -> Result<(), String> {
    check_field("cwd", cwd)?;
    if !cwd.starts_with('/') {
        return Err(format!("cwd `{cwd}` is not absolute"));
    }
    Ok(())
}

/// The command a wrapper (`env`, `nice`, `timeout`, `sudo`, `xargs`, ...) runs, if any.
fn unwrap_wrapper<'a>(program: &'a str, args: &'a [String]) -> Option<(&'a str, &'a [String])> {
    let name = basename(program);
    if crate::risk::class(name) & crate::risk::CLASS_WRAPPER == 0 {
        return None;
    }
    let (_, with_value, positionals) = WRAPPERS.iter().find(|(w, _, _)| *w == name)?;
    let mut i = 0;
    let mut skip_pos = *positionals;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if a.starts_with('-') && a.len() > 1 {
            if with_value.contains(&a) {
                i += 1;
            }
            i += 1;
            continue;
        }
        if name == "env" && a.contains('=') {
            i += 1;
            continue;
        }
        if skip_pos > 0 {
            skip_pos -= 1;
            i += 1;
            continue;
        }
        break;
    }
    let rest = args.get(i..)?;
    let (p, r) = rest.split_first()?;
    Some((p.as_str(), r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapper_names_match_the_table() {
        let names: Vec<&str> = WRAPPERS.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(names, WRAPPER_NAMES);
    }

    #[test]
    fn unwraps_options_assignments_and_positionals() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = args(&["-u", "HOME", "A=1", "sh", "-c", "x"]);
        assert_eq!(unwrap_wrapper("env", &a).unwrap().0, "sh");
        let a = args(&["-s", "KILL", "30", "git", "status"]);
        assert_eq!(unwrap_wrapper("/usr/bin/timeout", &a).unwrap().0, "git");
        assert!(unwrap_wrapper("git", &a).is_none());
        assert!(unwrap_wrapper("env", &args(&["A=1"])).is_none());
    }
}
