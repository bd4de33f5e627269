//! The authority: issues, delegates, validates and revokes tokens, records what it issued,
//! and reports every event.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::Mac;
use serde::Deserialize;

use crate::error::{CapError, Rejection};
use crate::scope::{Grant, Operation, Operations, Pattern, Resource, Scope};
use crate::store::{Record, Revocation, Stamp, Store, StoreFile};
use crate::token::{valid_name, HmacSha256, Link, LinkId, Token, MAX_GRANTS, MAX_LINKS};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// An agent asked for a token.
    Requested,
    /// The authority issued it.
    Granted,
    /// The authority refused (ceiling, invalid request, invalid parent).
    Denied,
    /// A token was attenuated for another agent.
    Delegated,
    /// A link was revoked.
    Revoked,
    /// A token allowed an access.
    Validated,
    /// A token did not allow an access (or was not valid).
    ValidationFailed,
}

impl Action {
    /// `requested`, `granted`, `denied`, `delegated`, `revoked`, `validated` or
    /// `validation-failed` (the names `hush_audit::Event::Capability` records use).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Requested => "requested",
            Action::Granted => "granted",
            Action::Denied => "denied",
            Action::Delegated => "delegated",
            Action::Revoked => "revoked",
            Action::Validated => "validated",
            Action::ValidationFailed => "validation-failed",
        }
    }
}

/// One capability event. Names link ids, never tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// What happened.
    pub action: Action,
    /// The link id concerned (`-` when a token did not parse).
    pub token: String,
    /// The agent, when known.
    pub agent: Option<String>,
    /// More detail (grants, the reason for a denial, the access checked).
    pub detail: Option<String>,
}

/// Where events go.
pub trait EventSink: Send + Sync {
    /// Records one event. Must not fail: a sink that can lose events should say so elsewhere.
    fn event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> EventSink for F {
    fn event(&self, event: &Event) {
        self(event);
    }
}

/// What an agent asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Who asks.
    pub agent: String,
    /// What it wants to do.
    pub scope: Scope,
    /// For how long.
    pub ttl: Duration,
    /// How many times it may delegate further (0: not at all).
    pub max_depth: u8,
}

/// Decides whether a request may be granted.
pub trait Ceiling: Send + Sync {
    /// `Err(reason)` refuses.
    ///
    /// # Errors
    /// The reason, for the audit record and the caller.
    fn check(&self, request: &Request) -> Result<(), String>;
}

impl<F: Fn(&Request) -> Result<(), String> + Send + Sync> Ceiling for F {
    fn check(&self, request: &Request) -> Result<(), String> {
        self(request)
    }
}

/// A declarative ceiling: the most any request may get. Loaded from TOML:
///
/// ```toml
/// max_ttl_secs = 28800                 # default 30 days
/// max_depth = 2                        # default 8
/// agents = ["claude", "ci"]            # default: any agent
/// grants = ["read,list path:/home/me/project", "call tool:fs/*"]  # default: anything
/// ```
///
/// A request passes when each operation of each grant it asks for lies within one ceiling
/// grant with that operation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The longest lifetime.
    pub max_ttl: Duration,
    /// The deepest delegation.
    pub max_depth: u8,
    /// Agents that may ask (`None`: any).
    pub agents: Option<Vec<String>>,
    /// What may be granted (`None`: anything).
    pub grants: Option<Scope>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_ttl: Duration::from_secs(30 * 86_400),
            max_depth: 8,
            agents: None,
            grants: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    max_ttl_secs: Option<u64>,
    max_depth: Option<u8>,
    agents: Option<Vec<String>>,
    grants: Option<Vec<String>>,
}

impl Limits {
    /// Parses the TOML form (see the type's docs); `path` names the file in errors.
    ///
    /// # Errors
    /// [`CapError::Ceiling`] naming the key at fault.
    pub fn from_toml(path: &Path, text: &str) -> Result<Limits, CapError> {
        let bad = |message: String| CapError::Ceiling {
            path: path.to_path_buf(),
            message,
        };
        let f: LimitsFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let d = Limits::default();
        let grants = match f.grants {
            None => None,
            Some(list) => {
                let mut out = Vec::new();
                for g in list {
                    out.push(Grant::parse(&g).map_err(|e| bad(format!("grants: `{g}`: {e}")))?);
                }
                Some(Scope::new(out))
            }
        };
        Ok(Limits {
            max_ttl: f.max_ttl_secs.map_or(d.max_ttl, Duration::from_secs),
            max_depth: f.max_depth.unwrap_or(d.max_depth),
            agents: f.agents,
            grants,
        })
    }

    /// Reads and parses a ceiling file.
    ///
    /// # Errors
    /// [`CapError::Io`], [`CapError::Ceiling`].
    pub fn load(path: &Path) -> Result<Limits, CapError> {
        let text = std::fs::read_to_string(path).map_err(|source| CapError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Limits::from_toml(path, &text)
    }
}

impl Ceiling for Limits {
    fn check(&self, r: &Request) -> Result<(), String> {
        if r.ttl > self.max_ttl {
            return Err(format!(
                "a lifetime of {}s is over the ceiling's {}s",
                r.ttl.as_secs(),
                self.max_ttl.as_secs()
            ));
        }
        if r.max_depth > self.max_depth {
            return Err(format!(
                "a delegation depth of {} is over the ceiling's {}",
                r.max_depth, self.max_depth
            ));
        }
        if let Some(agents) = &self.agents {
            if !agents.contains(&r.agent) {
                return Err(format!("agent `{}` may not ask for capabilities", r.agent));
            }
        }
        if let Some(ceiling) = &self.grants {
            for g in r.scope.grants() {
                if !Scope::new([g.clone()]).is_subset(ceiling) {
                    return Err(format!("`{g}` is outside the ceiling"));
                }
            }
        }
        Ok(())
    }
}

/// One access to check a token against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// What is accessed.
    pub resource: Resource,
    /// How.
    pub operation: Operation,
    /// When, Unix seconds.
    pub now: u64,
}

/// A step of a plan: one operation on one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// How.
    pub operation: Operation,
    /// What.
    pub resource: Resource,
}

impl Step {
    /// Parses `OP RESOURCE` (`read /home/me/project/a.txt`, `call tool:fs/read_file`).
    ///
    /// # Errors
    /// [`crate::ScopeError`].
    pub fn parse(text: &str) -> Result<Step, crate::ScopeError> {
        let (op, res) = text
            .trim()
            .split_once(' ')
            .ok_or(crate::ScopeError::Grant)?;
        Ok(Step {
            operation: Operation::parse(op)?,
            resource: Resource::parse(res.trim())?,
        })
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.operation, self.resource)
    }
}

/// The tokens for a plan: one per step, each allowing only its step, all delegated from one
/// plan root (revoke the plan's id to revoke them all).
#[derive(Debug)]
#[non_exhaustive]
pub struct Plan {
    /// The plan root's id.
    pub id: LinkId,
    /// Each step with its token.
    pub steps: Vec<(Step, Token)>,
}

/// Where a recorded token stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Valid until its expiry.
    Active,
    /// Past its expiry.
    Expired,
    /// Its own link is revoked.
    Revoked {
        /// When.
        at: u64,
    },
    /// A link before it is revoked.
    AncestorRevoked {
        /// The revoked ancestor.
        id: String,
    },
    /// Its agent's tokens are revoked.
    AgentRevoked {
        /// The cut-off.
        cutoff: u64,
    },
}

impl Status {
    /// `active`, `expired`, `revoked`, `revoked-ancestor` or `revoked-agent`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Expired => "expired",
            Status::Revoked { .. } => "revoked",
            Status::AncestorRevoked { .. } => "revoked-ancestor",
            Status::AgentRevoked { .. } => "revoked-agent",
        }
    }
}

/// A recorded token and its status.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Listed {
    /// What was recorded.
    pub record: Record,
    /// Where it stands now.
    pub status: Status,
}

/// What a revocation did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Revoked {
    /// Whether the id is one this authority recorded (an id delegated offline is revoked all
    /// the same).
    pub known: bool,
    /// Recorded tokens derived from it, now invalid too.
    pub cascaded: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    file: StoreFile,
    revoked: HashSet<LinkId>,
    agents: HashMap<String, u64>,
    stamp: Option<Stamp>,
}

impl State {
    fn set(&mut self, file: StoreFile, stamp: Option<Stamp>) {
        self.revoked = file
            .revoked
            .iter()
            .filter_map(|r| r.id.parse().ok())
            .collect();
        self.agents = file
            .agents_revoked
            .iter()
            .map(|(a, t)| (a.clone(), *t))
            .collect();
        self.file = file;
        self.stamp = stamp;
    }
}

/// Issues and checks capability tokens. `Send + Sync`.
pub struct Authority {
    name: String,
    store: Store,
    key: HmacSha256,
    state: RwLock<State>,
    last_refresh: Mutex<Instant>,
    refresh_every: Duration,
    /// `None`: no sink, so no event is even built.
    sink: Option<Box<dyn EventSink>>,
    ceiling: Box<dyn Ceiling>,
    clock: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("name", &self.name)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Authority {
    /// The authority whose key and records live in `dir` (created 0700 if missing; the key is
    /// generated on first use). Default ceiling: [`Limits::default`]; no event sink.
    ///
    /// # Errors
    /// [`CapError`] when the directory, key or store file can't be used.
    pub fn open(dir: &Path) -> Result<Authority, CapError> {
        Authority::with_store(Store::open(dir)?)
    }

    /// An authority with a random key and nothing on disk (tests, one process).
    ///
    /// # Errors
    /// [`CapError::Random`].
    pub fn ephemeral() -> Result<Authority, CapError> {
        Authority::with_store(Store::memory())
    }

    fn with_store(store: Store) -> Result<Authority, CapError> {
        let key = store.key()?;
        let key = HmacSha256::new_from_slice(&key[..])
            .map_err(|_| CapError::Invalid("the root key has a bad length".into()))?;
        let (file, stamp) = store.read()?;
        let mut state = State::default();
        state.set(file, stamp);
        Ok(Authority {
            name: "hush".into(),
            store,
            key,
            state: RwLock::new(state),
            last_refresh: Mutex::new(Instant::now()),
            refresh_every: Duration::from_millis(200),
            sink: None,
            ceiling: Box::new(Limits::default()),
            clock: Box::new(system_now),
        })
    }

    /// Sends events to `sink`.
    pub fn with_sink(mut self, sink: impl EventSink + 'static) -> Authority {
        self.sink = Some(Box::new(sink));
        self
    }

    /// Checks requests against `ceiling`.
    pub fn with_ceiling(mut self, ceiling: impl Ceiling + 'static) -> Authority {
        self.ceiling = Box::new(ceiling);
        self
    }

    /// Uses `clock` (Unix seconds) for issue times and expiry of new tokens.
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Authority {
        self.clock = Box::new(clock);
        self
    }

    /// Names the issuer of root links (default `hush`).
    ///
    /// # Errors
    /// [`CapError::Invalid`] for a name with spaces or control characters, or over 64 bytes.
    pub fn with_name(mut self, name: &str) -> Result<Authority, CapError> {
        if !valid_name(name) {
            return Err(CapError::Invalid(format!(
                "`{name}` is not a valid issuer name"
            )));
        }
        self.name = name.into();
        Ok(self)
    }

    /// How stale revocations written by other processes may be before a validation re-reads
    /// the store file (default 200 ms; zero: every validation checks the file).
    pub fn with_refresh_interval(mut self, every: Duration) -> Authority {
        self.refresh_every = every;
        self
    }

    /// The store file, if there is one.
    pub fn store_path(&self) -> Option<PathBuf> {
        self.store.path()
    }

    fn emit(&self, action: Action, token: String, agent: Option<&str>, detail: Option<String>) {
        if let Some(sink) = &self.sink {
            sink.event(&Event {
                action,
                token,
                agent: agent.map(str::to_string),
                detail,
            });
        }
    }

    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn set_state(&self, file: StoreFile, stamp: Option<Stamp>) {
        self.state
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .set(file, stamp);
    }

    /// Re-reads the store file when another process changed it.
    ///
    /// # Errors
    /// [`CapError`] when it can't be read; the last good contents stay in force.
    pub fn refresh(&self) -> Result<(), CapError> {
        let stamp = self.store.stamp();
        if stamp == self.state().stamp {
            return Ok(());
        }
        let (file, stamp) = self.store.read()?;
        self.set_state(file, stamp);
        Ok(())
    }

    fn maybe_refresh(&self) -> Result<(), Rejection> {
        if self.store.path().is_none() {
            return Ok(());
        }
        {
            let mut last = self.last_refresh.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() < self.refresh_every {
                return Ok(());
            }
            *last = Instant::now();
        }
        // Fail closed: revocations that can't be read might include this token's.
        self.refresh()
            .map_err(|e| Rejection::Unavailable(e.to_string()))
    }

    /// Checks a token's text: structure, the MAC chain under this authority's key, expiry at
    /// `now`, issue times, delegation depth, and revocation of every link (and of its agent).
    /// Emits no event ([`Authority::validate`] does).
    ///
    /// # Errors
    /// [`Rejection`] saying why.
    pub fn verify(&self, text: &str, now: u64) -> Result<Token, Rejection> {
        let token = Token::parse(text)?;
        token.check(&self.key, now)?;
        self.maybe_refresh()?;
        let st = self.state();
        for l in token.links() {
            if st.revoked.contains(&l.id) {
                return Err(Rejection::Revoked {
                    id: l.id.to_string(),
                });
            }
            if let Some(&cutoff) = st.agents.get(&l.agent) {
                if l.issued <= cutoff {
                    return Err(Rejection::AgentRevoked {
                        agent: l.agent.clone(),
                        cutoff,
                    });
                }
            }
        }
        Ok(token)
    }

    /// Whether the token allows `access`: [`Authority::verify`], then every link must allow
    /// the operation on the resource. Emits `validated` or `validation-failed`.
    ///
    /// # Errors
    /// [`Rejection`] saying why.
    pub fn validate(&self, text: &str, access: &Access) -> Result<Token, Rejection> {
        self.validate_all(text, std::slice::from_ref(access))
    }

    /// [`Authority::validate`] for several accesses at once (a tool call and the paths in its
    /// arguments): one verification, one event; every access must be allowed.
    ///
    /// # Errors
    /// [`Rejection`] for the first access refused.
    pub fn validate_all(&self, text: &str, accesses: &[Access]) -> Result<Token, Rejection> {
        let now = accesses.first().map_or_else(|| (self.clock)(), |a| a.now);
        let result = self.verify(text, now).and_then(|t| {
            for a in accesses {
                t.allows(&a.resource, a.operation)?;
            }
            Ok(t)
        });
        if self.sink.is_none() {
            return result;
        }
        match &result {
            Ok(t) => {
                let detail = accesses
                    .iter()
                    .map(|a| format!("{} {}", a.operation, a.resource))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.emit(
                    Action::Validated,
                    t.id().to_string(),
                    Some(&t.leaf().agent),
                    Some(detail),
                );
            }
            Err(e) => {
                let (id, agent) = match Token::parse(text) {
                    Ok(t) => (t.id().to_string(), Some(t.leaf().agent.clone())),
                    Err(_) => ("-".to_string(), None),
                };
                self.emit(
                    Action::ValidationFailed,
                    id,
                    agent.as_deref(),
                    Some(e.to_string()),
                );
            }
        }
        result
    }

    fn check_request(&self, r: &Request) -> Result<(), CapError> {
        if !valid_name(&r.agent) {
            return Err(CapError::Invalid(format!(
                "`{}` is not a valid agent name (1 to 64 bytes, no spaces)",
                r.agent.chars().take(64).collect::<String>()
            )));
        }
        if r.scope.is_empty() {
            return Err(CapError::Invalid("no grant asked for".into()));
        }
        if r.scope.grants().len() > MAX_GRANTS {
            return Err(CapError::Invalid(format!(
                "at most {MAX_GRANTS} grants per token"
            )));
        }
        if r.ttl.as_secs() == 0 {
            return Err(CapError::Invalid("a lifetime of at least 1s".into()));
        }
        if usize::from(r.max_depth) >= MAX_LINKS {
            return Err(CapError::Invalid(format!(
                "a delegation depth of at most {}",
                MAX_LINKS - 1
            )));
        }
        self.ceiling.check(r).map_err(CapError::Denied)
    }

    /// An agent asks for a capability: checked against the ceiling, then issued as a root
    /// token and recorded. Emits `requested`, then `granted` or `denied`.
    ///
    /// # Errors
    /// [`CapError::Denied`] (ceiling), [`CapError::Invalid`], or a store error (no token is
    /// handed out unless it was recorded).
    pub fn request(&self, r: &Request) -> Result<Token, CapError> {
        self.issue(r, None)
    }

    fn issue(&self, r: &Request, plan: Option<String>) -> Result<Token, CapError> {
        let id = LinkId::random().map_err(CapError::Random)?;
        let grants = scope_text(&r.scope);
        self.emit(
            Action::Requested,
            id.to_string(),
            Some(&r.agent),
            Some(format!(
                "{}; ttl {}s; depth {}",
                grants.join(", "),
                r.ttl.as_secs(),
                r.max_depth
            )),
        );
        // Another process may have revoked this agent's tokens since the last read.
        self.refresh()?;
        if let Err(e) = self.check_request(r) {
            self.emit(
                Action::Denied,
                id.to_string(),
                Some(&r.agent),
                Some(e.to_string()),
            );
            return Err(e);
        }
        let now = (self.clock)();
        // A token issued in the second an agent's tokens were revoked would fall under the
        // cut-off: start it one second later.
        let issued = self
            .state()
            .agents
            .get(&r.agent)
            .map_or(now, |&c| now.max(c + 1));
        let link = Link {
            id,
            issued,
            expires: now.saturating_add(r.ttl.as_secs()),
            max_depth: r.max_depth,
            issuer: self.name.clone(),
            agent: r.agent.clone(),
            scope: r.scope.clone(),
        };
        let token = Token::root(&self.key, link);
        self.record(&token, plan)?;
        self.emit(
            Action::Granted,
            id.to_string(),
            Some(&r.agent),
            Some(grants.join(", ")),
        );
        Ok(token)
    }

    fn record(&self, token: &Token, plan: Option<String>) -> Result<(), CapError> {
        let e = token
            .effective()
            .map_err(|e| CapError::Invalid(e.to_string()))?;
        let leaf = token.leaf();
        let rec = Record {
            id: leaf.id.to_string(),
            chain: token.links()[..token.links().len() - 1]
                .iter()
                .map(|l| l.id.to_string())
                .collect(),
            agent: leaf.agent.clone(),
            issuer: leaf.issuer.clone(),
            grants: scope_text(&e.scope),
            issued: leaf.issued,
            expires: e.expires,
            max_depth: e.remaining_depth,
            plan,
        };
        let (file, stamp, ()) = self.store.update((self.clock)(), |f| f.issued.push(rec))?;
        self.set_state(file, stamp);
        Ok(())
    }

    /// Attenuates `parent` for `r.agent`: the child allows what both the parent and `r.scope`
    /// allow, expires no later than the parent, and may delegate at most one level less.
    /// Emits `delegated` or `denied`.
    ///
    /// # Errors
    /// [`CapError::Parent`] when the parent is not valid now, [`CapError::Invalid`] when the
    /// parent allows no further delegation or nothing is left of the scope.
    pub fn delegate(&self, parent: &str, r: &Request) -> Result<Token, CapError> {
        let now = (self.clock)();
        let result = self.delegate_inner(parent, r, now, None);
        if let Err(e) = &result {
            let id = Token::parse(parent).map_or_else(|_| "-".into(), |t| t.id().to_string());
            self.emit(Action::Denied, id, Some(&r.agent), Some(e.to_string()));
        }
        result
    }

    fn delegate_inner(
        &self,
        parent: &str,
        r: &Request,
        now: u64,
        plan: Option<String>,
    ) -> Result<Token, CapError> {
        let parent = self.verify(parent, now)?;
        let e = parent
            .effective()
            .map_err(|e| CapError::Invalid(e.to_string()))?;
        if e.remaining_depth == 0 {
            return Err(CapError::Invalid(format!(
                "token {} allows no further delegation",
                parent.id()
            )));
        }
        if !valid_name(&r.agent) {
            return Err(CapError::Invalid(format!(
                "`{}` is not a valid agent name (1 to 64 bytes, no spaces)",
                r.agent.chars().take(64).collect::<String>()
            )));
        }
        let scope = e.scope.intersect(&r.scope);
        if scope.is_empty() {
            return Err(CapError::Invalid(
                "the parent token allows none of what was asked".into(),
            ));
        }
        let granted = scope_text(&scope);
        if scope.grants().len() > MAX_GRANTS {
            return Err(CapError::Invalid(format!(
                "at most {MAX_GRANTS} grants per token; ask for fewer"
            )));
        }
        if r.ttl.as_secs() == 0 {
            return Err(CapError::Invalid("a lifetime of at least 1s".into()));
        }
        let id = LinkId::random().map_err(CapError::Random)?;
        let link = Link {
            id,
            issued: now,
            expires: now.saturating_add(r.ttl.as_secs()).min(e.expires),
            max_depth: r.max_depth.min(e.remaining_depth - 1),
            issuer: parent.leaf().agent.clone(),
            agent: r.agent.clone(),
            scope,
        };
        let child = parent
            .attenuate(link)
            .map_err(|e| CapError::Invalid(e.to_string()))?;
        self.record(&child, plan)?;
        self.emit(
            Action::Delegated,
            id.to_string(),
            Some(&r.agent),
            Some(format!("from {}: {}", parent.id(), granted.join(", "))),
        );
        Ok(child)
    }

    /// The minimal capabilities for a plan: one token per step allowing exactly that step
    /// (the operation on that path and what is under it, that host and port, that tool), none
    /// delegable, all children of one plan root that is recorded but not handed out. The
    /// ceiling sees the whole plan as one request. Emits `requested` and `granted` for the
    /// root, `delegated` for each step.
    ///
    /// # Errors
    /// As [`Authority::request`]; [`CapError::Invalid`] for no steps or more than
    /// [`MAX_GRANTS`].
    pub fn request_for_plan(
        &self,
        agent: &str,
        steps: &[Step],
        ttl: Duration,
    ) -> Result<Plan, CapError> {
        if steps.is_empty() || steps.len() > MAX_GRANTS {
            return Err(CapError::Invalid(format!(
                "a plan has 1 to {MAX_GRANTS} steps, not {}",
                steps.len()
            )));
        }
        let grant =
            |s: &Step| Grant::new(Operations::only(s.operation), Pattern::exactly(&s.resource));
        let request = Request {
            agent: agent.into(),
            scope: Scope::new(steps.iter().map(grant)),
            ttl,
            max_depth: 1,
        };
        let root = self.issue(&request, Some("plan".into()))?;
        let root_text = root.encode();
        let now = (self.clock)();
        let mut out = Vec::with_capacity(steps.len());
        for s in steps {
            let r = Request {
                agent: agent.into(),
                scope: Scope::new([grant(s)]),
                ttl,
                max_depth: 0,
            };
            let t = self.delegate_inner(
                secrecy::ExposeSecret::expose_secret(&root_text),
                &r,
                now,
                Some(s.to_string()),
            )?;
            out.push((s.clone(), t));
        }
        Ok(Plan {
            id: root.id(),
            steps: out,
        })
    }

    /// Revokes link `id`: every token holding it (the token itself and everything delegated
    /// from it, recorded or not) fails validation from now on, here at once and in other
    /// processes within their refresh interval. Emits `revoked`.
    ///
    /// # Errors
    /// A store error; nothing is revoked then.
    pub fn revoke(&self, id: LinkId) -> Result<Revoked, CapError> {
        let now = (self.clock)();
        let ids = id.to_string();
        let (file, stamp, out) = self.store.update(now, |f| revoke_in(f, &ids, now))?;
        self.set_state(file, stamp);
        let agent = self
            .state()
            .file
            .issued
            .iter()
            .find(|r| r.id == ids)
            .map(|r| r.agent.clone());
        self.emit(
            Action::Revoked,
            ids,
            agent.as_deref(),
            Some(format!(
                "{}cascades to {} recorded token(s)",
                if out.known { "" } else { "not recorded here; " },
                out.cascaded.len()
            )),
        );
        Ok(out)
    }

    /// Revokes every token of `agent` issued until now, recorded or delegated offline; tokens
    /// issued to it later are valid. Returns the recorded tokens revoked. Emits `revoked` for
    /// each.
    ///
    /// # Errors
    /// A store error; nothing is revoked then.
    pub fn revoke_all_for_agent(&self, agent: &str) -> Result<Vec<String>, CapError> {
        let now = (self.clock)();
        let (file, stamp, ids) = self.store.update(now, |f| {
            let prev = f.agents_revoked.get(agent).copied().unwrap_or(0);
            f.agents_revoked.insert(agent.to_string(), now.max(prev));
            let ids: Vec<String> = f
                .issued
                .iter()
                .filter(|r| r.agent == agent)
                .map(|r| r.id.clone())
                .collect();
            for id in &ids {
                revoke_in(f, id, now);
            }
            ids
        })?;
        self.set_state(file, stamp);
        for id in &ids {
            self.emit(
                Action::Revoked,
                id.clone(),
                Some(agent),
                Some("all tokens of the agent".into()),
            );
        }
        if ids.is_empty() {
            self.emit(
                Action::Revoked,
                "-".into(),
                Some(agent),
                Some("all tokens of the agent (none recorded)".into()),
            );
        }
        Ok(ids)
    }

    /// The recorded tokens with their status, oldest first (the store file is re-read first).
    ///
    /// # Errors
    /// A store error.
    pub fn list(&self) -> Result<Vec<Listed>, CapError> {
        self.refresh()?;
        let now = (self.clock)();
        let st = self.state();
        let revoked_at: HashMap<&str, u64> = st
            .file
            .revoked
            .iter()
            .map(|r| (r.id.as_str(), r.at))
            .collect();
        Ok(st
            .file
            .issued
            .iter()
            .map(|r| {
                let status = if let Some(&at) = revoked_at.get(r.id.as_str()) {
                    Status::Revoked { at }
                } else if let Some(a) = r.chain.iter().find(|c| revoked_at.contains_key(c.as_str()))
                {
                    Status::AncestorRevoked { id: a.clone() }
                } else if let Some(&cutoff) = st.agents.get(&r.agent).filter(|&&c| r.issued <= c) {
                    Status::AgentRevoked { cutoff }
                } else if now >= r.expires {
                    Status::Expired
                } else {
                    Status::Active
                };
                Listed {
                    record: r.clone(),
                    status,
                }
            })
            .collect())
    }
}

fn revoke_in(f: &mut StoreFile, id: &str, now: u64) -> Revoked {
    let known = f.issued.iter().find(|r| r.id == id);
    let expires = known.map(|r| r.expires);
    if !f.revoked.iter().any(|r| r.id == id) {
        f.revoked.push(Revocation {
            id: id.to_string(),
            at: now,
            expires,
        });
    }
    Revoked {
        known: known.is_some(),
        cascaded: f
            .issued
            .iter()
            .filter(|r| r.chain.iter().any(|c| c == id))
            .map(|r| r.id.clone())
            .collect(),
    }
}

fn scope_text(scope: &Scope) -> Vec<String> {
    scope.grants().iter().map(Grant::to_string).collect()
}
