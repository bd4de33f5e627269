//! The policy-driven executor: decide, confirm, inject, confine, run, audit.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hush_audit::{AuditError, AuditWriter, Event, Flag, Injected, Target};
use hush_patterns::{KnownValuesBuilder, RuleSet};
use hush_policy::{canonicalize_request, Decision, Effect, PolicyHandle, Request};
use hush_stream::{Options, Redaction};
use secrecy::{ExposeSecret, SecretString};

use crate::confirm::{Answer, Confirm, NoConfirm, Question};
use crate::launch::{find_program, ExecError, Outcome, Sandbox, Status, Stop};
use crate::policy::policy_spec;
use crate::spec::Level;

/// Where granted secrets come from. Values stay in [`SecretString`].
pub trait SecretSource: Send + Sync {
    /// The value of the entry `name`, or `None` when there is none (or it expired).
    fn secret(&self, name: &str) -> Option<SecretString>;
}

impl SecretSource for hush_vault::Vault {
    fn secret(&self, name: &str) -> Option<SecretString> {
        let entry = self.get(name)?;
        if entry.status(std::time::SystemTime::now()) == hush_vault::EntryStatus::Expired {
            return None;
        }
        Some(entry.value().clone())
    }
}

impl SecretSource for hush_vault::MemoryStore {
    fn secret(&self, name: &str) -> Option<SecretString> {
        self.get(name).cloned()
    }
}

/// No secrets at all: every grant fails closed.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSecrets;

impl SecretSource for NoSecrets {
    fn secret(&self, _: &str) -> Option<SecretString> {
        None
    }
}

/// Where the audit records go. [`AuditWriter`] is one; implement it to forward records
/// elsewhere (they must still never hold a secret value: redact what [`add_known`]
/// registers).
///
/// [`add_known`]: AuditSink::add_known
pub trait AuditSink: Send {
    /// Appends one event.
    ///
    /// # Errors
    /// When the event cannot be recorded; the executor then fails the run.
    fn record(&mut self, event: &Event) -> Result<(), AuditError>;

    /// Registers a secret value (labelled by its variable name) that must never appear in a
    /// record, in any encoding. Called before the value is handed to a tool.
    ///
    /// # Errors
    /// When the value cannot be registered; the executor then refuses the run.
    fn add_known(&mut self, label: &str, value: &SecretString) -> Result<(), AuditError>;
}

impl AuditSink for AuditWriter {
    fn record(&mut self, event: &Event) -> Result<(), AuditError> {
        self.append(event)
    }

    fn add_known(&mut self, label: &str, value: &SecretString) -> Result<(), AuditError> {
        AuditWriter::add_known(self, label, value.expose_secret().as_bytes())
    }
}

/// Runs commands under a policy: the library form of `hush run --policy`.
///
/// For each [`run`](Executor::run): the exec request is decided by the current policy of the
/// [`PolicyHandle`] (so a watching handle's edits apply to the next run), a `confirm` decision
/// is put to the [`Confirm`] prompt (no terminal or no answer means deny), exactly the secrets
/// the decision grants are taken from the [`SecretSource`] (a missing one fails closed) and
/// registered with the audit sink and the output redactor, the environment is the caller's
/// variables the policy allows plus those secrets, the sandbox comes from
/// [`policy_spec`](crate::policy_spec), and every step is audited.
pub struct Executor {
    policy: PolicyHandle,
    helper: PathBuf,
    secrets: Box<dyn SecretSource>,
    audit: Option<Mutex<Box<dyn AuditSink>>>,
    confirm: Box<dyn Confirm>,
    require: Option<Level>,
    namespaces: bool,
    terminal: bool,
    env: Vec<(OsString, OsString)>,
    search_path: OsString,
    rules: Option<Arc<RuleSet>>,
    next_id: AtomicU64,
    close_stdin: bool,
    /// Set by [`Executor::reload_on_change`].
    reload_on_change: bool,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("policy", &self.policy)
            .field("helper", &self.helper)
            .field("audit", &self.audit.is_some())
            .field("require", &self.require)
            .field("env", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// An executor deciding with `policy` and confining through `helper` (a binary whose
    /// `main` calls [`helper_main`](crate::helper_main) for [`HELPER_ARG`](crate::HELPER_ARG)).
    /// Defaults: no secrets, no audit, confirmations denied ([`NoConfirm`]), no environment,
    /// search path `/usr/local/bin:/usr/bin:/bin`.
    pub fn new(helper: impl Into<PathBuf>, policy: PolicyHandle) -> Executor {
        Executor {
            policy,
            helper: helper.into(),
            secrets: Box::new(NoSecrets),
            audit: None,
            confirm: Box::new(NoConfirm),
            require: None,
            namespaces: true,
            terminal: false,
            env: Vec::new(),
            search_path: OsString::from("/usr/local/bin:/usr/bin:/bin"),
            rules: None,
            next_id: AtomicU64::new(1),
            close_stdin: false,
            reload_on_change: false,
        }
    }

    /// Takes granted secrets from `source`.
    pub fn secrets(&mut self, source: impl SecretSource + 'static) -> &mut Self {
        self.secrets = Box::new(source);
        self
    }

    /// Audits every step to `sink`.
    pub fn audit(&mut self, sink: impl AuditSink + 'static) -> &mut Self {
        self.audit = Some(Mutex::new(Box::new(sink)));
        self
    }

    /// Asks `prompt` on `confirm` decisions.
    pub fn confirm(&mut self, prompt: impl Confirm + 'static) -> &mut Self {
        self.confirm = Box::new(prompt);
        self
    }

    /// Refuses to run below `level`.
    pub fn require(&mut self, level: Option<Level>) -> &mut Self {
        self.require = level;
        self
    }

    /// Whether to try user, PID and network namespaces (default yes).
    pub fn namespaces(&mut self, yes: bool) -> &mut Self {
        self.namespaces = yes;
        self
    }

    /// Pseudo-terminals for the tool's output (see [`Sandbox::terminal`]).
    pub fn terminal(&mut self, yes: bool) -> &mut Self {
        self.terminal = yes;
        self
    }

    /// The variables a tool may get, if the policy's `[environment]` allows them (typically the
    /// caller's own environment). Checked against the policy at every run.
    pub fn environment<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        self.env = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Where to look for programs named without a `/`.
    pub fn search_path(&mut self, path: impl Into<OsString>) -> &mut Self {
        self.search_path = path.into();
        self
    }

    /// Redacts output (and masks prompt arguments) with `rules` (default: the built-in pack).
    pub fn rules(&mut self, rules: Arc<RuleSet>) -> &mut Self {
        self.rules = Some(rules);
        self
    }

    /// Before every run, checks whether a policy file changed (inode, length, modification
    /// time) and reloads it once it has settled (see [`PolicyHandle::reload_if_changed`]), so
    /// the run uses the edit even when a [`watch`](PolicyHandle::watch)er has not seen it yet.
    /// An invalid edit keeps the last good policy and is audited as a note.
    pub fn reload_on_change(&mut self, yes: bool) -> &mut Self {
        self.reload_on_change = yes;
        self
    }

    /// Closes the tool's stdin even when the policy allows it (the caller's stdin carries
    /// something else, such as a command stream).
    pub fn close_stdin(&mut self, yes: bool) -> &mut Self {
        self.close_stdin = yes;
        self
    }

    /// The policy handle.
    pub fn policy(&self) -> &PolicyHandle {
        &self.policy
    }

    /// Runs `argv` (program first) in `cwd` under the current policy, writing its redacted
    /// output to `stdout` and `stderr`.
    ///
    /// # Errors
    /// [`ExecError::Denied`] (the policy denied, or a confirmation was refused, timed out or
    /// had no terminal), [`ExecError::MissingSecret`], [`ExecError::NotFound`],
    /// [`ExecError::Audit`], and every error of [`Sandbox::run`]. Each is audited when the
    /// audit log itself works.
    pub fn run<O, E>(
        &self,
        argv: &[OsString],
        cwd: &Path,
        stdout: O,
        stderr: E,
    ) -> Result<Outcome, ExecError>
    where
        O: Write + Send,
        E: Write + Send,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        self.refresh_policy(&id)?;
        let shown: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let cwd_s = cwd.to_string_lossy().into_owned();
        self.record(&Event::Request {
            id: id.clone(),
            target: Target::Command {
                argv: shown.clone(),
            },
            cwd: Some(cwd_s.clone()),
        })?;
        let result = self.run_inner(&id, argv, &shown, cwd, &cwd_s, stdout, stderr);
        if let Err(e) = &result {
            // Whatever stopped the run is on record (an audit failure cannot record itself).
            if !matches!(e, ExecError::Audit(_)) {
                let _ = self.record(&Event::Note {
                    id: Some(id.clone()),
                    message: format!("not run: {e}"),
                });
                let _ = self.record(&Event::Exit {
                    id,
                    code: Some(e.exit_code()),
                    signal: None,
                });
            }
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn run_inner<O, E>(
        &self,
        id: &str,
        argv: &[OsString],
        shown: &[String],
        cwd: &Path,
        cwd_s: &str,
        stdout: O,
        stderr: E,
    ) -> Result<Outcome, ExecError>
    where
        O: Write + Send,
        E: Write + Send,
    {
        let Some((program, args)) = argv.split_first() else {
            return Err(ExecError::NotFound {
                program: String::new(),
            });
        };
        let resolved =
            find_program(program, &self.search_path).ok_or_else(|| ExecError::NotFound {
                program: program.to_string_lossy().into_owned(),
            })?;
        let (Some(prog_s), Some(args_s)) = (
            utf8(resolved.as_os_str()),
            args.iter().map(|a| utf8(a)).collect::<Option<Vec<_>>>(),
        ) else {
            return Err(ExecError::Denied {
                reasons: vec![
                    "the program or an argument is not UTF-8, which a policy cannot match"
                        .to_string(),
                ],
                rules: Vec::new(),
            });
        };
        // One policy for the whole run, even if it is reloaded meanwhile.
        let policy = self.policy.current();
        if policy.settings().temp_workspace {
            // Running in the real workspace instead would give the tool what the policy meant
            // to keep from it: refuse.
            return Err(ExecError::Denied {
                reasons: vec![
                    "the policy sets `temp_workspace = true`, which this executor does not \
                     provide yet: set it to false in `[settings]`"
                        .to_string(),
                ],
                rules: Vec::new(),
            });
        }
        let request = canonicalize_request(&Request::exec(prog_s, args_s, cwd_s));
        let start = Instant::now();
        let decision = self.policy.evaluate(&request);
        let latency_ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.record(&decision_event(id, &decision, latency_ns))?;
        let rules: Vec<String> = decision.rules.iter().map(|r| r.to_string()).collect();
        if decision.effect == Effect::Deny {
            return Err(ExecError::Denied {
                reasons: decision.reasons.clone(),
                rules,
            });
        }

        // Exactly the granted secrets; a missing one fails closed before anything is asked.
        let mut granted = Vec::with_capacity(decision.secrets.len());
        for g in &decision.secrets {
            let value = self
                .secrets
                .secret(&g.name)
                .ok_or_else(|| ExecError::MissingSecret {
                    name: g.name.clone(),
                    env: g.env.clone(),
                })?;
            granted.push((g.clone(), value));
        }
        // The audit log must know every value before anything could echo it.
        if let Some(sink) = &self.audit {
            let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
            for (g, value) in &granted {
                sink.add_known(&g.env, value)?;
            }
        }

        if decision.effect == Effect::Confirm {
            let masked = self.mask(&shown[1..], &granted);
            let risk = decision.risk.level.as_str();
            let answer = self.confirm.confirm(&Question {
                program: &request_program(&request),
                args: &masked,
                cwd: cwd_s,
                risk,
                reasons: &decision.reasons,
                rules: &rules,
            });
            self.record(&Event::Confirmation {
                id: id.to_string(),
                asked: answer.was_asked(),
                answer: answer.as_str().to_string(),
            })?;
            if !answer.allows() {
                let why = match answer {
                    Answer::NoTerminal => "confirmation needed but there is no terminal to ask on",
                    Answer::Timeout => "confirmation needed but nobody answered in time",
                    _ => "confirmation refused",
                };
                let mut reasons = vec![why.to_string()];
                reasons.extend(decision.reasons.iter().cloned());
                return Err(ExecError::Denied { reasons, rules });
            }
        }

        let (mut spec, notes) = policy_spec(&policy)?;
        spec.require = self.require;
        spec.namespaces = self.namespaces;
        if self.close_stdin {
            spec.stdin = crate::spec::Stdin::Closed;
        }
        let mut sandbox = Sandbox::new(&self.helper, &resolved, spec);
        sandbox
            .args(args.iter().cloned())
            .current_dir(cwd)
            .search_path(&self.search_path)
            .terminal(self.terminal);
        if let Some(rules) = &self.rules {
            sandbox.rules(Arc::clone(rules));
        }
        for (k, v) in &self.env {
            let name = k.to_string_lossy();
            let shadowed = granted.iter().any(|(g, _)| g.env == name);
            if !shadowed && policy.env_allowed(&name) {
                sandbox.env(k, v);
            }
        }
        for (g, value) in &granted {
            sandbox.secret_env(&g.env, value.clone());
        }
        self.record(&Event::SecretsInjected {
            id: id.to_string(),
            secrets: granted
                .iter()
                .map(|(g, _)| Injected {
                    name: g.name.clone(),
                    env: g.env.clone(),
                })
                .collect(),
        })?;
        drop(granted);

        let outcome = sandbox.run(stdout, stderr)?;
        self.record_outcome(id, &outcome, &notes, &policy)?;
        Ok(outcome)
    }

    fn record_outcome(
        &self,
        id: &str,
        outcome: &Outcome,
        notes: &[String],
        policy: &hush_policy::Policy,
    ) -> Result<(), ExecError> {
        let enf = &outcome.enforcement;
        self.record(&Event::Enforcement {
            id: id.to_string(),
            level: enf.level.name().to_string(),
            mechanisms: enf.mechanisms(),
            landlock_abi: enf.landlock_abi,
        })?;
        for note in notes.iter().chain(&enf.notes) {
            self.record(&Event::Note {
                id: Some(id.to_string()),
                message: note.clone(),
            })?;
        }
        for refused in &outcome.refused {
            self.record(&Event::Note {
                id: Some(id.to_string()),
                message: format!("network proxy refused {refused}"),
            })?;
        }
        let limits = policy.limits();
        let any_limit = limits.cpu_seconds.is_some()
            || limits.memory_mb.is_some()
            || limits.processes.is_some()
            || limits.open_files.is_some();
        let stopped_by = match (outcome.stopped, outcome.status) {
            (Some(Stop::Timeout), _) => Some("wall-clock"),
            (Some(Stop::OutputLimit), _) => Some("output"),
            (Some(Stop::Processes), _) => Some("processes"),
            (_, Status::Signaled(sig)) if sig == libc::SIGXCPU => Some("cpu"),
            (_, Status::Signaled(sig))
                if sig == libc::SIGKILL
                    && limits.cpu_seconds.is_some_and(|c| {
                        outcome
                            .usage
                            .is_some_and(|u| u.cpu_ms >= c.saturating_mul(1000))
                    }) =>
            {
                Some("cpu")
            }
            _ => None,
        };
        let usage = outcome.usage.unwrap_or_default();
        self.record(&Event::Resources {
            id: id.to_string(),
            cpu_ms: usage.cpu_ms,
            max_rss_kb: usage.max_rss_kb,
            wall_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
            output_bytes: outcome.output_bytes,
            limits_by: any_limit.then(|| enf.limits_name()),
            stopped_by: stopped_by.map(str::to_string),
        })?;
        let (code, signal) = match outcome.status {
            Status::Exited(c) => (Some(c), None),
            Status::Signaled(s) => (None, Some(s)),
        };
        self.record(&Event::Exit {
            id: id.to_string(),
            code,
            signal,
        })?;
        self.record(&Event::Redactions {
            id: id.to_string(),
            count: outcome.redactions.values().sum(),
            rules: outcome.redactions.clone(),
        })?;
        Ok(())
    }

    fn refresh_policy(&self, id: &str) -> Result<(), ExecError> {
        if !self.reload_on_change {
            return Ok(());
        }
        let note = match self.policy.reload_if_changed() {
            None => return Ok(()),
            Some(Ok(generation)) => format!("policy reloaded (generation {generation})"),
            Some(Err(e)) => format!("policy edit refused, the last good policy stays: {e}"),
        };
        self.record(&Event::Note {
            id: Some(id.to_string()),
            message: note,
        })
    }

    fn record(&self, event: &Event) -> Result<(), ExecError> {
        if let Some(sink) = &self.audit {
            let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
            sink.record(event)?;
        }
        Ok(())
    }

    /// The arguments with secrets (the rule pack's and the granted values) masked, for the
    /// prompt.
    fn mask(
        &self,
        args: &[String],
        granted: &[(hush_policy::SecretGrant, SecretString)],
    ) -> Vec<String> {
        let rules = match &self.rules {
            Some(r) => Arc::clone(r),
            None => match RuleSet::builtin() {
                Ok(r) => Arc::new(r),
                // Without rules, show nothing rather than something unchecked.
                Err(_) => {
                    return vec![
                        "[arguments hidden: redaction rules unavailable]".into();
                        args.len()
                    ]
                }
            },
        };
        let mut known = KnownValuesBuilder::new();
        for (g, v) in granted {
            let _ = known.add(&g.env, v.expose_secret().as_bytes());
        }
        let Ok(known) = known.build_for(&rules) else {
            return vec!["[arguments hidden: redaction rules unavailable]".into(); args.len()];
        };
        let redaction = Redaction::new(rules, Options::default());
        args.iter()
            .map(|a| {
                let mut out = Vec::new();
                if redaction.redact_into(a.as_bytes(), &known, &mut out) > 0 {
                    String::from_utf8_lossy(&out).into_owned()
                } else {
                    a.clone()
                }
            })
            .collect()
    }
}

fn utf8(s: &OsStr) -> Option<String> {
    s.to_str().map(str::to_string)
}

fn request_program(r: &Request) -> String {
    match r {
        Request::Exec(e) => e.program.clone(),
        _ => String::new(),
    }
}

/// The audit record of a policy decision (`hush run`, `hush mcp`, `hush policy explain --audit-log`).
pub fn decision_event(id: &str, d: &Decision, latency_ns: u64) -> Event {
    Event::Decision {
        id: id.to_string(),
        effect: d.effect.as_str().to_string(),
        reasons: d.reasons.clone(),
        rules: d.rules.iter().map(|r| r.to_string()).collect(),
        risk: d.risk.level.as_str().to_string(),
        flags: d
            .risk
            .flags
            .iter()
            .map(|f| Flag {
                kind: f.kind.as_str().to_string(),
                level: f.level.as_str().to_string(),
                detail: f.detail.clone(),
            })
            .collect(),
        latency_ns,
    }
}
