//! Loading: TOML → spans-checked specs → one layer per tier (resolving `extends` and `remove`)
//! → validation (globs, contradictions, unreachable rules) → a compiled [`Policy`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::glob::GlobPattern;
use hush_patterns::RuleSet;

use crate::error::{Location, PolicyError};
use crate::paths::{expand, normalize, Context};
use crate::policy::{
    ArgConstraint, CmdRule, EnvLayer, FsRule, HostPort, Limits, McpRule, Meta, NetLayer,
    NetworkMode, Policy, PolicyTest, SecretRule, Settings,
};
use crate::profiles;
use crate::risk::Sensitive;
use crate::spec::{self, EffectSpec, FileSpec, RightSpec, S};
use crate::types::{Effect, Request, Right, Rights, RiskLevel, Tier};

/// Deepest `extends` chain accepted.
const MAX_EXTENDS_DEPTH: usize = 16;
/// Largest policy file accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 4 << 20;

/// Builds a [`Policy`] from files, texts or built-in profiles in up to three tiers.
///
/// ```
/// use hush_policy::{Context, Effect, Loader, Request, Tier};
///
/// let ctx = Context::new("/work/app", "/home/me", "/tmp");
/// let policy = Loader::new(ctx)
///     .text(Tier::Project, "agent.toml", r#"
///         extends = ["ide"]
///         [[commands]]
///         id = "git-status"
///         program = "git"
///         args = ["status"]
///     "#)
///     .load()?;
/// let d = policy.evaluate(&Request::exec("git", ["status"], "/work/app"));
/// assert_eq!(d.effect, Effect::Allow);
/// let d = policy.evaluate(&Request::exec("sh", ["-c", "git status"], "/work/app"));
/// assert_eq!(d.effect, Effect::Deny);
/// # Ok::<(), hush_policy::PolicyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Loader {
    ctx: Context,
    tiers: Vec<(Tier, Input)>,
    secret_rules: Option<Option<Arc<RuleSet>>>,
}

#[derive(Debug, Clone)]
enum Input {
    File(PathBuf),
    Text(PathBuf, Arc<str>),
    Profile(String),
}

impl Loader {
    /// A loader expanding paths against `ctx`.
    pub fn new(ctx: Context) -> Loader {
        Loader {
            ctx,
            tiers: Vec::new(),
            secret_rules: None,
        }
    }

    /// Adds a policy file for `tier` (one per tier; a later call for the same tier replaces it).
    pub fn file(&mut self, tier: Tier, path: impl Into<PathBuf>) -> &mut Self {
        self.set(tier, Input::File(path.into()))
    }

    /// Adds policy text for `tier`, named `name` in errors.
    pub fn text(&mut self, tier: Tier, name: impl Into<PathBuf>, text: &str) -> &mut Self {
        self.set(tier, Input::Text(name.into(), text.into()))
    }

    /// Uses a built-in profile (`dev`, `prod`, `ide`, `test`) as the policy of `tier`.
    pub fn profile(&mut self, tier: Tier, name: &str) -> &mut Self {
        self.set(tier, Input::Profile(name.to_string()))
    }

    /// The rule set used to flag secrets in arguments. Default: the built-in pack (compiled
    /// once per process); `None` turns the check off.
    pub fn secret_rules(&mut self, rules: Option<Arc<RuleSet>>) -> &mut Self {
        self.secret_rules = Some(rules);
        self
    }

    fn set(&mut self, tier: Tier, input: Input) -> &mut Self {
        self.tiers.retain(|(t, _)| *t != tier);
        self.tiers.push((tier, input));
        self.tiers.sort_by_key(|(t, _)| *t);
        self
    }

    /// Reads, validates and compiles the policy.
    ///
    /// # Errors
    ///
    /// [`PolicyError`] naming file, line and column: unreadable files, TOML errors and unknown
    /// keys, bad globs and paths, unknown profiles, `extends` cycles, contradictory or
    /// unreachable rules, failing rule-pack compilation. With no tier given at all, the policy
    /// is empty and denies everything.
    pub fn load(&self) -> Result<Policy, PolicyError> {
        let mut sources = Vec::new();
        let mut layers = Vec::new();
        for (tier, input) in &self.tiers {
            let mut cx = LoadCx {
                ctx: &self.ctx,
                tier: *tier,
                sources: &mut sources,
                stack: Vec::new(),
            };
            let src = match input {
                Input::File(p) => cx.read(p)?,
                Input::Text(name, text) => Source {
                    path: name.clone(),
                    text: text.clone(),
                },
                Input::Profile(name) => {
                    profile_source(name).ok_or_else(|| PolicyError::Invalid {
                        location: Location {
                            file: PathBuf::from("<command line>"),
                            line: 1,
                            column: 1,
                        },
                        message: format!("unknown profile `{name}` ({})", profile_list()),
                    })?
                }
            };
            let layer = cx.layer(&src, true)?;
            validate_layer(&layer)?;
            layers.push(layer);
        }
        let secret_rules = match &self.secret_rules {
            Some(r) => r.clone(),
            None => Some(builtin_rules()?),
        };
        Ok(compile(&self.ctx, layers, sources, secret_rules))
    }
}

fn builtin_rules() -> Result<Arc<RuleSet>, PolicyError> {
    static RULES: OnceLock<Result<Arc<RuleSet>, String>> = OnceLock::new();
    RULES
        .get_or_init(|| RuleSet::builtin().map(Arc::new).map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| PolicyError::Invalid {
            location: Location {
                file: PathBuf::from("<built-in rule pack>"),
                line: 1,
                column: 1,
            },
            message: format!("cannot build the rule pack used to find secrets in arguments: {e}"),
        })
}

fn profile_list() -> String {
    let names: Vec<&str> = profiles::PROFILES.iter().map(|(n, _)| *n).collect();
    format!("built-in profiles: {}", names.join(", "))
}

fn profile_source(name: &str) -> Option<Source> {
    profiles::PROFILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| Source {
            path: PathBuf::from(format!("<profile:{n}>")),
            text: Arc::from(*text),
        })
}

#[derive(Debug, Clone)]
struct Source {
    path: PathBuf,
    text: Arc<str>,
}

impl Source {
    fn loc(&self, span: std::ops::Range<usize>) -> Location {
        Location::at(&self.path, &self.text, span.start)
    }

    fn invalid<T>(
        &self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> Result<T, PolicyError> {
        Err(PolicyError::Invalid {
            location: self.loc(span),
            message: message.into(),
        })
    }
}

/// One tier's rules after `extends` and `remove`.
#[derive(Debug, Default)]
struct Layer {
    fs: Vec<FsRule>,
    cmds: Vec<CmdRule>,
    mcp: Vec<McpRule>,
    secrets: Vec<SecretRule>,
    net: Option<NetLayer>,
    env_allow: Vec<(String, Location)>,
    env_deny: Vec<(String, Location)>,
    env_set: bool,
    limits: Limits,
    risk: [Option<(Effect, Location)>; 4],
    settings: Settings,
    tests: Vec<PolicyTest>,
}

struct LoadCx<'a> {
    ctx: &'a Context,
    tier: Tier,
    sources: &'a mut Vec<PathBuf>,
    stack: Vec<PathBuf>,
}

impl LoadCx<'_> {
    fn read(&mut self, path: &Path) -> Result<Source, PolicyError> {
        let io = |source| PolicyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_POLICY_BYTES as u64 {
            return Err(io(std::io::Error::other(format!(
                "larger than {MAX_POLICY_BYTES} bytes"
            ))));
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
            ))
        })?;
        if !self.sources.iter().any(|p| p == path) {
            self.sources.push(path.to_path_buf());
        }
        Ok(Source {
            path: path.to_path_buf(),
            text: text.into(),
        })
    }

    fn layer(&mut self, src: &Source, top: bool) -> Result<Layer, PolicyError> {
        if src.text.len() > MAX_POLICY_BYTES {
            return src.invalid(
                0..0,
                format!("policy is larger than {MAX_POLICY_BYTES} bytes"),
            );
        }
        let spec: FileSpec = toml::from_str(&src.text).map_err(|e| PolicyError::Syntax {
            location: src.loc(e.span().unwrap_or(0..0)),
            message: e.message().trim_end().replace('\n', "; "),
        })?;
        self.stack.push(src.path.clone());
        let mut layer = Layer::default();
        for ext in &spec.extends {
            let parent = self.resolve_extends(src, ext)?;
            let p = self.layer(&parent, false)?;
            merge(&mut layer, p);
        }
        self.stack.pop();
        for id in &spec.remove {
            let id_s = id.get_ref().as_str();
            let before = count(&layer);
            layer.fs.retain(|r| &*r.meta.id != id_s);
            layer.cmds.retain(|r| &*r.meta.id != id_s);
            layer.mcp.retain(|r| &*r.meta.id != id_s);
            layer.secrets.retain(|r| &*r.id != id_s);
            if count(&layer) == before {
                return src.invalid(
                    id.span(),
                    format!("`remove`: no inherited rule has id `{id_s}` (check the profile or file named in `extends`)"),
                );
            }
        }
        self.own_rules(src, spec, &mut layer, top)?;
        Ok(layer)
    }

    fn resolve_extends(&mut self, src: &Source, ext: &S<String>) -> Result<Source, PolicyError> {
        let name = ext.get_ref();
        if self.stack.len() >= MAX_EXTENDS_DEPTH {
            return src.invalid(
                ext.span(),
                format!("`extends` is nested deeper than {MAX_EXTENDS_DEPTH}"),
            );
        }
        let is_file = name.contains('/') || name.ends_with(".toml");
        let parent = if !is_file {
            match profile_source(name) {
                Some(p) => p,
                None => {
                    return src.invalid(
                        ext.span(),
                        format!("unknown profile `{name}` ({}; name a file with a path such as `./base.toml`)", profile_list()),
                    )
                }
            }
        } else {
            if src.path.to_string_lossy().starts_with("<profile:") {
                return src.invalid(ext.span(), "built-in profiles cannot extend files");
            }
            let base = src.path.parent().unwrap_or(Path::new("."));
            let path = match expand(name, self.ctx) {
                Ok(p) if p.starts_with('/') => PathBuf::from(p),
                Ok(p) => base.join(p),
                Err(e) => return src.invalid(ext.span(), format!("`extends`: {e}")),
            };
            match self.read(&path) {
                Ok(s) => s,
                Err(PolicyError::Io { source, .. }) => {
                    return src.invalid(
                        ext.span(),
                        format!("`extends`: cannot read `{}`: {source}", path.display()),
                    )
                }
                Err(e) => return Err(e),
            }
        };
        let same = |p: &PathBuf| {
            p == &parent.path
                || (std::fs::canonicalize(p).ok().is_some()
                    && std::fs::canonicalize(p).ok() == std::fs::canonicalize(&parent.path).ok())
        };
        if self.stack.iter().any(same) {
            return src.invalid(
                ext.span(),
                format!(
                    "`extends` cycle: `{}` extends itself through `{name}`",
                    src.path.display()
                ),
            );
        }
        Ok(parent)
    }

    fn meta(
        &self,
        src: &Source,
        (section, index): (&str, usize),
        (id, effect, reason): (&Option<S<String>>, EffectSpec, Option<String>),
        span: std::ops::Range<usize>,
    ) -> Result<Meta, PolicyError> {
        let (id, explicit) = match id {
            Some(id) => {
                let s = id.get_ref();
                if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return src.invalid(
                        id.span(),
                        format!("rule id `{s}` must be non-empty with no spaces"),
                    );
                }
                (Arc::from(s.as_str()), true)
            }
            None => {
                let stem = src
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (Arc::from(format!("{stem}:{section}[{index}]")), false)
            }
        };
        Ok(Meta {
            id,
            effect: effect_of(effect),
            reason,
            location: src.loc(span),
            tier: self.tier,
            explicit,
        })
    }

    fn own_rules(
        &self,
        src: &Source,
        spec: FileSpec,
        layer: &mut Layer,
        top: bool,
    ) -> Result<(), PolicyError> {
        let mut seen: HashMap<String, Location> = HashMap::new();
        let mut check_id = |meta: &Meta, span: std::ops::Range<usize>| -> Result<(), PolicyError> {
            if meta.explicit {
                if let Some(prev) = seen.insert(meta.id.to_string(), meta.location.clone()) {
                    return src.invalid(
                        span,
                        format!("duplicate rule id `{}` (first defined at {prev}); ids must be unique within a file", meta.id),
                    );
                }
            }
            Ok(())
        };

        if let Some(s) = spec.settings {
            if let Some(v) = s.temp_workspace {
                layer.settings.temp_workspace = v;
            }
            if let Some(v) = s.stdin {
                layer.settings.stdin = v;
            }
        }
        if let Some(risk) = &spec.risk {
            let loc = src.loc(risk.span());
            let r = risk.get_ref();
            for (i, v) in [r.low, r.medium, r.high, r.critical]
                .into_iter()
                .enumerate()
            {
                if let Some(v) = v {
                    layer.risk[i] = Some((effect_of(v), loc.clone()));
                }
            }
            let effects = risk_map(&layer.risk);
            for i in 1..4 {
                if effects[i] < effects[i - 1] {
                    return src.invalid(
                        risk.span(),
                        format!(
                            "`[risk]` is contradictory: `{}` maps to `{}` but the lower `{}` maps to the stricter `{}`",
                            RiskLevel::ALL[i], effects[i], RiskLevel::ALL[i - 1], effects[i - 1]
                        ),
                    );
                }
            }
        }

        for (i, rule) in spec.filesystem.into_iter().enumerate() {
            let span = rule.span();
            let r = rule.into_inner();
            let meta = self.meta(
                src,
                ("filesystem", i),
                (&r.id, r.effect, r.reason),
                span.clone(),
            )?;
            check_id(&meta, r.id.as_ref().map_or(span.clone(), |s| s.span()))?;
            if r.paths.is_empty() {
                return src.invalid(
                    span,
                    format!("filesystem rule `{}` has no `paths`", meta.id),
                );
            }
            if r.rights.get_ref().is_empty() {
                return src.invalid(
                    r.rights.span(),
                    format!("filesystem rule `{}` has no rights (use read, write, create, delete, execute)", meta.id),
                );
            }
            let mut rights = Rights::default();
            for x in r.rights.get_ref() {
                rights.0 |= right_of(*x).bit();
            }
            let mut patterns = Vec::new();
            let mut b = GlobSetBuilder::new();
            for p in &r.paths {
                let expanded = self.path_pattern(src, p)?;
                for g in path_globs(&expanded) {
                    b.add(glob(src, p, &g, true)?);
                }
                patterns.push(expanded);
            }
            let set = b
                .build()
                .or_else(|e| src.invalid(span.clone(), format!("bad glob set: {e}")))?;
            replace_or_push(
                &mut layer.fs,
                FsRule {
                    meta,
                    patterns,
                    set,
                    rights,
                },
                |r| &r.meta,
            );
        }

        for (i, rule) in spec.commands.into_iter().enumerate() {
            let span = rule.span();
            let r = rule.into_inner();
            let meta = self.meta(
                src,
                ("commands", i),
                (&r.id, r.effect, r.reason),
                span.clone(),
            )?;
            check_id(&meta, r.id.as_ref().map_or(span.clone(), |s| s.span()))?;
            let program = r.program.get_ref().trim().to_string();
            if program.is_empty() {
                return src.invalid(
                    r.program.span(),
                    format!("command rule `{}` has an empty `program`", meta.id),
                );
            }
            let by_path = program.contains('/');
            let program = if by_path {
                let e = expand(&program, self.ctx).or_else(|e| src.invalid(r.program.span(), e))?;
                if !e.starts_with('/') {
                    return src.invalid(
                        r.program.span(),
                        format!("program `{program}` has a `/` but is not absolute: use a bare name or an absolute path"),
                    );
                }
                e
            } else {
                program
            };
            glob(src, &r.program, &program, by_path)?;
            let mut args = Vec::new();
            let mut args_src = Vec::new();
            for a in &r.args {
                args.push(GlobPattern::from_glob(
                    glob(src, a, a.get_ref(), false)?,
                    false,
                ));
                args_src.push(a.get_ref().clone());
            }
            replace_or_push(
                &mut layer.cmds,
                CmdRule {
                    meta,
                    program_src: program,
                    by_path,
                    args_src,
                    args,
                    exact: r.exact,
                    shell: r.shell,
                },
                |r| &r.meta,
            );
        }

        if let Some(net) = spec.network {
            let span = net.span();
            let n = net.into_inner();
            let prev = layer.net.take();
            let mut l = prev.unwrap_or(NetLayer {
                tier: self.tier,
                location: src.loc(span.clone()),
                mode: NetworkMode::Off,
                allow: Vec::new(),
                deny: Vec::new(),
            });
            l.location = src.loc(span.clone());
            if let Some(m) = n.mode {
                l.mode = match m {
                    spec::NetModeSpec::Off => NetworkMode::Off,
                    spec::NetModeSpec::Allowlist => NetworkMode::Allowlist,
                    spec::NetModeSpec::Any => NetworkMode::Any,
                };
            } else if !n.allow.is_empty() && l.mode == NetworkMode::Off {
                l.mode = NetworkMode::Allowlist;
            }
            for a in &n.allow {
                l.allow.push(host_port(src, a)?);
            }
            for a in &n.deny {
                l.deny.push(host_port(src, a)?);
            }
            if l.mode == NetworkMode::Off && !n.allow.is_empty() {
                return src.invalid(
                    span,
                    "`network.allow` has no effect with `mode = \"off\"`: use `mode = \"allowlist\"` or drop the list",
                );
            }
            layer.net = Some(l);
        }

        if let Some(env) = spec.environment {
            layer.env_set = true;
            for a in &env.allow {
                env_glob(src, a)?;
                layer
                    .env_allow
                    .push((a.get_ref().clone(), src.loc(a.span())));
            }
            for a in &env.deny {
                env_glob(src, a)?;
                layer
                    .env_deny
                    .push((a.get_ref().clone(), src.loc(a.span())));
            }
        }

        for (i, rule) in spec.secrets.into_iter().enumerate() {
            let span = rule.span();
            let r = rule.into_inner();
            let meta = self.meta(
                src,
                ("secrets", i),
                (&r.id, EffectSpec::Allow, None),
                span.clone(),
            )?;
            check_id(&meta, r.id.as_ref().map_or(span.clone(), |s| s.span()))?;
            if r.name.get_ref().is_empty() {
                return src.invalid(
                    r.name.span(),
                    "secret `name` is empty: name the vault entry",
                );
            }
            if !valid_env_name(r.env.get_ref()) {
                return src.invalid(
                    r.env.span(),
                    format!("`{}` is not a valid environment variable name (letters, digits, `_`; not starting with a digit)", r.env.get_ref()),
                );
            }
            let programs = if r.programs.is_empty() {
                None
            } else {
                let mut names = GlobSetBuilder::new();
                let mut paths = GlobSetBuilder::new();
                for p in &r.programs {
                    let s = p.get_ref();
                    if s.contains('/') {
                        let e = expand(s, self.ctx).or_else(|e| src.invalid(p.span(), e))?;
                        paths.add(glob(src, p, &e, true)?);
                    } else {
                        names.add(glob(src, p, s, false)?);
                    }
                }
                Some((
                    names.build().unwrap_or_else(|_| GlobSet::empty()),
                    paths.build().unwrap_or_else(|_| GlobSet::empty()),
                ))
            };
            replace_or_push(
                &mut layer.secrets,
                SecretRule {
                    id: meta.id.clone(),
                    location: meta.location,
                    name: r.name.into_inner(),
                    env: r.env.into_inner(),
                    programs_src: r.programs.into_iter().map(|p| p.into_inner()).collect(),
                    programs,
                },
                |_| unreachable_meta(),
            );
        }

        for (i, rule) in spec.mcp.into_iter().enumerate() {
            let span = rule.span();
            let r = rule.into_inner();
            let meta = self.meta(src, ("mcp", i), (&r.id, r.effect, r.reason), span.clone())?;
            check_id(&meta, r.id.as_ref().map_or(span.clone(), |s| s.span()))?;
            let server =
                GlobPattern::from_glob(glob(src, &r.server, r.server.get_ref(), false)?, false);
            let tool = GlobPattern::from_glob(glob(src, &r.tool, r.tool.get_ref(), false)?, false);
            let mut args = Vec::new();
            for (name, c) in r.args {
                let cspan = c.span();
                let c = c.into_inner();
                let paths =
                    if c.paths.is_empty() {
                        None
                    } else {
                        let mut b = GlobSetBuilder::new();
                        for p in &c.paths {
                            let e = self.path_pattern(src, p)?;
                            for g in path_globs(&e) {
                                b.add(glob(src, p, &g, true)?);
                            }
                        }
                        Some(b.build().or_else(|e| {
                            src.invalid(cspan.clone(), format!("bad glob set: {e}"))
                        })?)
                    };
                let pattern = match &c.pattern {
                    None => None,
                    Some(p) => Some(Arc::new(
                        regex_automata::meta::Regex::new(&format!("^(?:{})$", p.get_ref()))
                            .or_else(|e| {
                                src.invalid(
                                    p.span(),
                                    format!("bad regex `{}`: {}", p.get_ref(), regex_error(&e)),
                                )
                            })?,
                    )),
                };
                let one_of = c
                    .one_of
                    .iter()
                    .map(|v| serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
                    .collect();
                if c.paths.is_empty()
                    && c.one_of.is_empty()
                    && c.pattern.is_none()
                    && c.max_len.is_none()
                    && !c.required
                {
                    return src.invalid(
                        cspan,
                        format!("constraint on argument `{name}` is empty: give `paths`, `one_of`, `pattern`, `max_len` or `required`"),
                    );
                }
                args.push(ArgConstraint {
                    name,
                    paths,
                    one_of,
                    pattern,
                    max_len: c.max_len,
                    required: c.required,
                });
            }
            let pin = |value: &Option<S<String>>, key: &str, levels: &'static [&'static str]| {
                let Some(v) = value else { return Ok(None) };
                match levels.iter().find(|l| **l == v.get_ref()) {
                    Some(l) => Ok(Some(*l)),
                    None => src.invalid(
                        v.span(),
                        format!(
                            "unknown {key} `{}`: use one of {}",
                            v.get_ref(),
                            levels.join(", ")
                        ),
                    ),
                }
            };
            let trust = pin(&r.trust, "trust", &crate::policy::TOOL_TRUST_LEVELS)?;
            let server_trust = pin(
                &r.server_trust,
                "server_trust",
                &crate::policy::SERVER_TRUST_LEVELS,
            )?;
            replace_or_push(
                &mut layer.mcp,
                McpRule {
                    meta,
                    server_src: r.server.into_inner(),
                    tool_src: r.tool.into_inner(),
                    server,
                    tool,
                    args,
                    trust,
                    server_trust,
                },
                |r| &r.meta,
            );
        }

        if let Some(l) = spec.limits {
            for (field, v, slot) in [
                ("cpu_seconds", &l.cpu_seconds, &mut layer.limits.cpu_seconds),
                ("memory_mb", &l.memory_mb, &mut layer.limits.memory_mb),
                (
                    "wall_seconds",
                    &l.wall_seconds,
                    &mut layer.limits.wall_seconds,
                ),
                (
                    "output_bytes",
                    &l.output_bytes,
                    &mut layer.limits.output_bytes,
                ),
                ("processes", &l.processes, &mut layer.limits.processes),
                ("open_files", &l.open_files, &mut layer.limits.open_files),
            ] {
                if let Some(v) = v {
                    if *v.get_ref() == 0 {
                        return src.invalid(
                            v.span(),
                            format!(
                                "`limits.{field}` must be at least 1 (leave it out for no limit)"
                            ),
                        );
                    }
                    *slot = Some(*v.get_ref());
                }
            }
        }

        if top {
            for (i, t) in spec.tests.into_iter().enumerate() {
                layer.tests.push(self.test(src, i, t)?);
            }
        }
        Ok(())
    }

    fn path_pattern(&self, src: &Source, p: &S<String>) -> Result<String, PolicyError> {
        let e = expand(p.get_ref(), self.ctx).or_else(|e| src.invalid(p.span(), e))?;
        if !e.starts_with('/') && !e.starts_with("**/") {
            return src.invalid(
                p.span(),
                format!(
                    "path `{}` is not absolute: start it with `/`, `~/`, `${{workspace}}` or `**/`",
                    p.get_ref()
                ),
            );
        }
        Ok(e)
    }

    fn test(
        &self,
        src: &Source,
        i: usize,
        t: S<spec::TestSpec>,
    ) -> Result<PolicyTest, PolicyError> {
        let span = t.span();
        let location = src.loc(span.clone());
        let t = t.into_inner();
        let name = t.name.clone().unwrap_or_else(|| format!("tests[{i}]"));
        let ws = self.ctx.workspace_str();
        let cwd = match &t.cwd {
            Some(c) => expand(c, self.ctx).or_else(|e| src.invalid(span.clone(), e))?,
            None => ws.to_string(),
        };
        let kinds = [
            t.command.is_some(),
            t.path.is_some(),
            t.connect.is_some(),
            t.mcp.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if kinds != 1 {
            return src.invalid(
                span,
                format!(
                    "test `{name}` must give exactly one of `command`, `path`, `connect`, `mcp`"
                ),
            );
        }
        let request = if let Some(cmd) = &t.command {
            let Some((p, args)) = cmd.split_first() else {
                return src.invalid(span, format!("test `{name}`: `command` is empty"));
            };
            Request::exec(p.clone(), args.iter().cloned(), cwd)
                .with_secrets(t.secrets.iter().cloned())
        } else if let Some(p) = &t.path {
            let p = expand(p, self.ctx).or_else(|e| src.invalid(span.clone(), e))?;
            Request::file(p, right_of(t.right.unwrap_or(RightSpec::Read)), cwd)
        } else if let Some(c) = &t.connect {
            let (host, port) = c
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
                .map_or_else(
                    || {
                        src.invalid(
                            span.clone(),
                            format!("test `{name}`: `connect` must be `host:port`"),
                        )
                    },
                    Ok,
                )?;
            Request::connect(host, port)
        } else if let Some(m) = &t.mcp {
            let args = match &m.args {
                None => serde_json::Value::Object(Default::default()),
                Some(v) => serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
            };
            Request::tool(m.server.clone(), m.tool.clone(), args)
        } else {
            return src.invalid(span, "test has no request");
        };
        let risk = match &t.risk {
            None => None,
            Some(r) => Some(RiskLevel::parse(r).map_or_else(
                || {
                    src.invalid(
                        span.clone(),
                        format!(
                            "test `{name}`: unknown risk level `{r}` (low, medium, high, critical)"
                        ),
                    )
                },
                Ok,
            )?),
        };
        Ok(PolicyTest {
            name,
            location,
            request,
            expect: effect_of(t.expect),
            rules: t.rules,
            reasons: t.reasons,
            risk,
        })
    }
}

fn count(l: &Layer) -> usize {
    l.fs.len() + l.cmds.len() + l.mcp.len() + l.secrets.len()
}

fn unreachable_meta() -> &'static Meta {
    static M: OnceLock<Meta> = OnceLock::new();
    M.get_or_init(|| Meta {
        id: Arc::from(""),
        effect: Effect::Deny,
        reason: None,
        location: Location {
            file: PathBuf::new(),
            line: 0,
            column: 0,
        },
        tier: Tier::Project,
        explicit: false,
    })
}

/// A rule with the id of an inherited one replaces it; otherwise it is appended.
fn replace_or_push<T>(rules: &mut Vec<T>, rule: T, meta: impl Fn(&T) -> &Meta) {
    let new = meta(&rule);
    if new.explicit {
        if let Some(old) = rules
            .iter_mut()
            .find(|r| meta(r).explicit && meta(r).id == new.id)
        {
            *old = rule;
            return;
        }
    }
    rules.push(rule);
}

fn merge(into: &mut Layer, from: Layer) {
    for r in from.fs {
        replace_or_push(&mut into.fs, r, |r| &r.meta);
    }
    for r in from.cmds {
        replace_or_push(&mut into.cmds, r, |r| &r.meta);
    }
    for r in from.mcp {
        replace_or_push(&mut into.mcp, r, |r| &r.meta);
    }
    for r in from.secrets {
        if let Some(old) = into.secrets.iter_mut().find(|o| o.id == r.id) {
            *old = r;
        } else {
            into.secrets.push(r);
        }
    }
    if let Some(n) = from.net {
        match &mut into.net {
            Some(l) => {
                l.mode = n.mode;
                l.location = n.location;
                l.allow.extend(n.allow);
                l.deny.extend(n.deny);
            }
            None => into.net = Some(n),
        }
    }
    into.env_set |= from.env_set;
    into.env_allow.extend(from.env_allow);
    into.env_deny.extend(from.env_deny);
    let l = from.limits;
    let i = &mut into.limits;
    i.cpu_seconds = l.cpu_seconds.or(i.cpu_seconds);
    i.memory_mb = l.memory_mb.or(i.memory_mb);
    i.wall_seconds = l.wall_seconds.or(i.wall_seconds);
    i.output_bytes = l.output_bytes.or(i.output_bytes);
    i.processes = l.processes.or(i.processes);
    i.open_files = l.open_files.or(i.open_files);
    for (k, v) in from.risk.into_iter().enumerate() {
        if v.is_some() {
            into.risk[k] = v;
        }
    }
    into.settings.temp_workspace |= from.settings.temp_workspace;
    into.settings.stdin |= from.settings.stdin;
}

/// Default `[risk]`: high asks, critical denies.
const DEFAULT_RISK: [Effect; 4] = [Effect::Allow, Effect::Allow, Effect::Confirm, Effect::Deny];

fn risk_map(r: &[Option<(Effect, Location)>; 4]) -> [Effect; 4] {
    let mut m = DEFAULT_RISK;
    for (i, v) in r.iter().enumerate() {
        if let Some((e, _)) = v {
            m[i] = *e;
        }
    }
    m
}

fn effect_of(e: EffectSpec) -> Effect {
    match e {
        EffectSpec::Allow => Effect::Allow,
        EffectSpec::Confirm => Effect::Confirm,
        EffectSpec::Deny => Effect::Deny,
    }
}

fn right_of(r: RightSpec) -> Right {
    match r {
        RightSpec::Read => Right::Read,
        RightSpec::Write => Right::Write,
        RightSpec::Create => Right::Create,
        RightSpec::Delete => Right::Delete,
        RightSpec::Execute => Right::Execute,
    }
}

/// `dir/**` also matches `dir` itself.
fn path_globs(p: &str) -> Vec<String> {
    let mut v = vec![p.to_string()];
    if let Some(base) = p.strip_suffix("/**") {
        if !base.is_empty() {
            v.push(base.to_string());
        }
    }
    v
}

fn glob(
    src: &Source,
    at: &S<String>,
    pattern: &str,
    literal_separator: bool,
) -> Result<Glob, PolicyError> {
    GlobBuilder::new(pattern)
        .literal_separator(literal_separator)
        .backslash_escape(true)
        .build()
        .or_else(|e| {
            src.invalid(
                at.span(),
                format!("bad glob `{}`: {}", at.get_ref(), e.kind()),
            )
        })
}

fn env_glob(src: &Source, at: &S<String>) -> Result<Glob, PolicyError> {
    let s = at.get_ref();
    if s.is_empty()
        || !s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '*' | '?' | '[' | ']' | '!' | '-')
        })
    {
        return src.invalid(
            at.span(),
            format!("`{s}` is not a variable name or glob (letters, digits, `_`, `*`, `?`)"),
        );
    }
    glob(src, at, s, false)
}

fn valid_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn host_port(src: &Source, at: &S<String>) -> Result<HostPort, PolicyError> {
    let s = at.get_ref().trim();
    let (host, port) = match split_host_port(s) {
        Ok(hp) => hp,
        Err(why) => return src.invalid(at.span(), format!("`{s}`: {why}")),
    };
    let g = glob(src, at, &host.to_ascii_lowercase(), false)?;
    Ok(HostPort {
        src: s.to_string(),
        host: GlobPattern::from_glob(g, false),
        port,
    })
}

/// Splits a network entry into host and port: `host`, `host:port`, `host:*` (any port),
/// `[v6]`, `[v6]:port` or a bare IPv6 address. The one parser of this syntax: the policy checks
/// entries with it and `hush-exec` builds its proxy's allow-list with it.
///
/// # Errors
/// What is wrong, to follow the entry in a message.
pub fn split_host_port(s: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest
            .split_once(']')
            .ok_or("unclosed `[` in an IPv6 address")?;
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("brackets hold an IPv6 address only".into());
        }
        match p {
            "" => (h, None),
            p => (
                h,
                Some(p.strip_prefix(':').ok_or("expected `:port` after `]`")?),
            ),
        }
    } else if s.parse::<std::net::Ipv6Addr>().is_ok() {
        (s, None)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None | Some("*") => None,
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => Some(p),
            _ => return Err(format!("port `{p}` is not a number from 1 to 65535 or `*`")),
        },
    };
    if host.is_empty() {
        return Err("empty host (use `*` for any host)".into());
    }
    Ok((host, port))
}

fn matcher(pattern: &str, literal_separator: bool) -> Option<GlobPattern> {
    GlobPattern::new(pattern, literal_separator)
}

/// Contradictions and rules that can never apply, within one tier.
fn validate_layer(l: &Layer) -> Result<(), PolicyError> {
    let invalid = |location: &Location, message: String| {
        Err(PolicyError::Invalid {
            location: location.clone(),
            message,
        })
    };
    for a in l.fs.iter().filter(|r| r.meta.effect != Effect::Deny) {
        for d in l.fs.iter().filter(|r| r.meta.effect == Effect::Deny) {
            if d.rights.covers(a.rights) && a.patterns.iter().all(|p| d.set.is_match(p)) {
                return invalid(
                    &a.meta.location,
                    format!(
                        "rule `{}` can never apply: deny rule `{}` ({}) covers every path and right it allows; remove one of them",
                        a.meta.id, d.meta.id, d.meta.location
                    ),
                );
            }
        }
    }
    for a in l.cmds.iter().filter(|r| r.meta.effect != Effect::Deny) {
        for d in l.cmds.iter().filter(|r| r.meta.effect == Effect::Deny) {
            let prog = d.by_path == a.by_path
                && matcher(&d.program_src, d.by_path).is_some_and(|m| m.is_match(&a.program_src));
            let args = d.args.len() <= a.args.len()
                && (!d.exact || (a.exact && d.args.len() == a.args.len()))
                && d.args.iter().zip(&a.args_src).all(|(g, s)| g.is_match(s));
            if prog && args {
                return invalid(
                    &a.meta.location,
                    format!(
                        "rule `{}` can never apply: deny rule `{}` ({}) covers every command it allows; remove one of them",
                        a.meta.id, d.meta.id, d.meta.location
                    ),
                );
            }
        }
    }
    for a in l.mcp.iter().filter(|r| r.meta.effect != Effect::Deny) {
        for d in l
            .mcp
            .iter()
            .filter(|r| r.meta.effect == Effect::Deny && r.args.is_empty())
        {
            if d.server.is_match(&a.server_src) && d.tool.is_match(&a.tool_src) {
                return invalid(
                    &a.meta.location,
                    format!(
                        "rule `{}` can never apply: deny rule `{}` ({}) covers every tool call it allows; remove one of them",
                        a.meta.id, d.meta.id, d.meta.location
                    ),
                );
            }
        }
    }
    if let Some(n) = &l.net {
        for a in &n.allow {
            let host = a.src.rsplit_once(':').map_or(a.src.as_str(), |(h, _)| h);
            if let Some(d) = n.deny.iter().find(|d| {
                d.host.is_match(host.to_ascii_lowercase()) && (d.port.is_none() || d.port == a.port)
            }) {
                return invalid(
                    &n.location,
                    format!("`network.allow` entry `{}` can never apply: `network.deny` entry `{}` covers it", a.src, d.src),
                );
            }
        }
    }
    let env_deny: Vec<(&String, GlobPattern)> = l
        .env_deny
        .iter()
        .filter_map(|(d, _)| Some((d, matcher(d, false)?)))
        .collect();
    for (a, loc) in &l.env_allow {
        for (d, m) in &env_deny {
            if m.is_match(a) {
                return invalid(
                    loc,
                    format!("`environment.allow` entry `{a}` can never apply: `environment.deny` entry `{d}` removes it"),
                );
            }
        }
    }
    let mut envs: HashMap<&str, &SecretRule> = HashMap::new();
    for s in &l.secrets {
        if let Some(prev) = envs.get(s.env.as_str()) {
            let overlap = prev.programs_src.is_empty()
                || s.programs_src.is_empty()
                || prev.programs_src.iter().any(|p| s.programs_src.contains(p));
            if overlap {
                return invalid(
                    &s.location,
                    format!(
                        "secret grant `{}` contradicts `{}` ({}): both put a secret in `{}` for the same program",
                        s.id, prev.id, prev.location, s.env
                    ),
                );
            }
        }
        envs.insert(&s.env, s);
        for p in &s.programs_src {
            if p.contains('/') {
                continue;
            }
            let allowed = l.cmds.iter().any(|c| {
                c.meta.effect != Effect::Deny
                    && !c.by_path
                    && matcher(&c.program_src, false).is_some_and(|m| m.is_match(p))
            }) || l
                .cmds
                .iter()
                .any(|c| c.meta.effect != Effect::Deny && c.by_path);
            if !allowed {
                return invalid(
                    &s.location,
                    format!(
                        "secret grant `{}` can never apply: no command rule allows `{p}`",
                        s.id
                    ),
                );
            }
        }
    }
    Ok(())
}

fn compile(
    ctx: &Context,
    layers: Vec<Layer>,
    sources: Vec<PathBuf>,
    secret_rules: Option<Arc<RuleSet>>,
) -> Policy {
    let mut fs = Vec::new();
    let mut cmds = Vec::new();
    let mut mcp = Vec::new();
    let mut secrets = Vec::new();
    let mut net = Vec::new();
    let mut env = Vec::new();
    let mut limits = Limits::default();
    let mut risk = if layers.is_empty() {
        DEFAULT_RISK
    } else {
        [Effect::Allow; 4]
    };
    let mut settings = Settings::default();
    let mut tests = Vec::new();
    for l in layers {
        fs.extend(l.fs);
        cmds.extend(l.cmds);
        mcp.extend(l.mcp);
        secrets.extend(l.secrets);
        net.extend(l.net);
        if l.env_set {
            let mut a = GlobSetBuilder::new();
            let mut d = GlobSetBuilder::new();
            for (p, _) in &l.env_allow {
                if let Ok(g) = GlobBuilder::new(p).build() {
                    a.add(g);
                }
            }
            for (p, _) in &l.env_deny {
                if let Ok(g) = GlobBuilder::new(p).build() {
                    d.add(g);
                }
            }
            env.push(EnvLayer {
                allow: a.build().unwrap_or_else(|_| GlobSet::empty()),
                deny: d.build().unwrap_or_else(|_| GlobSet::empty()),
            });
        }
        limits = limits.min(l.limits);
        let m = risk_map(&l.risk);
        for i in 0..4 {
            risk[i] = risk[i].max(m[i]);
        }
        settings.temp_workspace |= l.settings.temp_workspace;
        settings.stdin |= l.settings.stdin;
        tests.extend(l.tests);
    }
    // One glob set per section, so evaluation is one pass whatever the rule count.
    let mut fb = GlobSetBuilder::new();
    let mut fs_map = Vec::new();
    for (i, r) in fs.iter().enumerate() {
        for p in &r.patterns {
            for g in path_globs(p) {
                if let Ok(g) = GlobBuilder::new(&g)
                    .literal_separator(true)
                    .backslash_escape(true)
                    .build()
                {
                    fb.add(g);
                    fs_map.push(i);
                }
            }
        }
    }
    let mut nb = GlobSetBuilder::new();
    let mut pb = GlobSetBuilder::new();
    let mut cmd_name_map = Vec::new();
    let mut cmd_path_map = Vec::new();
    for (i, r) in cmds.iter().enumerate() {
        if let Ok(g) = GlobBuilder::new(&r.program_src)
            .literal_separator(r.by_path)
            .backslash_escape(true)
            .build()
        {
            if r.by_path {
                pb.add(g);
                cmd_path_map.push(i);
            } else {
                nb.add(g);
                cmd_name_map.push(i);
            }
        }
    }
    let mut seen = HashSet::new();
    tests.retain(|t: &PolicyTest| {
        seen.insert((t.location.file.clone(), t.location.line, t.name.clone()))
    });
    Policy {
        ctx: ctx.clone(),
        fs,
        fs_set: fb.build().unwrap_or_else(|_| GlobSet::empty()),
        fs_map,
        cmds,
        cmd_name_set: nb.build().unwrap_or_else(|_| GlobSet::empty()),
        cmd_name_map,
        cmd_path_set: pb.build().unwrap_or_else(|_| GlobSet::empty()),
        cmd_path_map,
        mcp,
        net,
        env,
        secrets,
        limits,
        risk_map: risk,
        settings,
        tests,
        sources,
        secret_rules,
        sensitive: Arc::new(Sensitive::new(ctx)),
    }
}

/// Resolves symlinks in a request's paths and program (when they exist), so that rules see the
/// real file. Not pure: call it before [`Policy::evaluate`] where the filesystem is the one the
/// tool will see.
pub fn canonicalize_request(request: &Request) -> Request {
    fn canon(p: &str, cwd: &str) -> String {
        let abs = normalize(p, cwd);
        match std::fs::canonicalize(&abs) {
            Ok(c) => c.to_string_lossy().into_owned(),
            // A path that does not exist yet: resolve its parent.
            Err(_) => match abs.rsplit_once('/') {
                Some((dir, name)) if !dir.is_empty() => match std::fs::canonicalize(dir) {
                    Ok(d) => format!("{}/{name}", d.to_string_lossy().trim_end_matches('/')),
                    Err(_) => abs,
                },
                _ => abs,
            },
        }
    }
    let mut r = request.clone();
    match &mut r {
        Request::File(f) => f.path = canon(&f.path, &f.cwd),
        Request::Exec(e) if e.program.contains('/') => e.program = canon(&e.program, &e.cwd),
        _ => {}
    }
    r
}

fn regex_error(e: &regex_automata::meta::BuildError) -> String {
    match e.syntax_error() {
        Some(regex_syntax::Error::Parse(p)) => p.kind().to_string(),
        Some(regex_syntax::Error::Translate(t)) => t.kind().to_string(),
        _ => e.to_string(),
    }
}
