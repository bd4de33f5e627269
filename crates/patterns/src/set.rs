//! `RuleSetBuilder` and the compiled `RuleSet`: the prefilter, windowed confirmation, decoding.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use regex_automata::meta::Regex;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input, PatternSet};

use crate::decode::{self, Alphabet};
use crate::error::{Error, Result};
use crate::filter;
use crate::finding::{Encoding, Finding};
use crate::gitleaks::{self, ImportNote};
use crate::known::KnownValues;
use crate::prefilter::Prefilter;
use crate::rule::{self, AllowTarget, Rule, RuleSpec};

/// How many nested encodings are looked through (base64 inside percent-encoding, say).
pub const MAX_DECODE_DEPTH: u8 = 2;
/// Decoded spans shorter than this are not searched.
const MIN_DECODED_LEN: usize = 8;

/// Collects rule sources and compiles them into a [`RuleSet`].
///
/// # Example
/// ```
/// let mut builder = hush_patterns::RuleSetBuilder::new();
/// builder.add_toml(
///     "my-rules.toml".as_ref(),
///     r#"
/// [[rules]]
/// id = "acme.api-key"
/// name = "ACME API key"
/// regex = '''\b(acme_[a-z0-9]{32})\b'''
/// keywords = ["acme_"]
/// examples = ["ACME_KEY=acme_0k3j5h2g9f8d7s6a5q4w3e2r1t0y9u8i"]
/// "#,
/// )?;
/// let rules = builder.build()?;
/// let hay = b"export ACME_KEY=acme_0k3j5h2g9f8d7s6a5q4w3e2r1t0y9u8i";
/// let found = rules.find(hay);
/// assert_eq!(&*found[0].rule_id, "acme.api-key");
/// assert_eq!(&hay[found[0].secret_span.clone()], b"acme_0k3j5h2g9f8d7s6a5q4w3e2r1t0y9u8i");
/// # Ok::<(), hush_patterns::Error>(())
/// ```
#[derive(Debug)]
pub struct RuleSetBuilder {
    builtin: bool,
    user: Vec<RuleSpec>,
    disabled: Vec<String>,
}

impl Default for RuleSetBuilder {
    fn default() -> Self {
        RuleSetBuilder::new()
    }
}

impl std::fmt::Debug for RuleSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSpec").field("id", &self.id).finish()
    }
}

impl RuleSetBuilder {
    /// A builder that starts with the built-in rule pack.
    pub fn new() -> RuleSetBuilder {
        RuleSetBuilder {
            builtin: true,
            user: Vec::new(),
            disabled: Vec::new(),
        }
    }

    /// Whether to include the built-in rule pack (default `true`).
    pub fn builtin(&mut self, yes: bool) -> &mut Self {
        self.builtin = yes;
        self
    }

    /// Adds the rules of a file, hush or gitleaks format (detected from its keys).
    ///
    /// A user rule with the id of a built-in rule replaces it.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; otherwise as [`add_toml`](Self::add_toml).
    pub fn add_path(&mut self, path: &Path) -> Result<Vec<ImportNote>> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            file: path.to_path_buf(),
            source,
        })?;
        self.add_toml(path, &text)
    }

    /// Adds rules from TOML text; `file` names it in messages. Returns, for gitleaks
    /// configurations, the parts that could not be honoured exactly.
    ///
    /// # Errors
    /// [`Error::Syntax`] for invalid TOML or an unknown key, [`Error::Rule`] for an invalid rule.
    /// Rules are fully validated and compiled here, so a bad file fails before any input is read.
    pub fn add_toml(&mut self, file: &Path, text: &str) -> Result<Vec<ImportNote>> {
        let (specs, notes) = if gitleaks::looks_like_gitleaks(text) {
            gitleaks::parse(file, text)?
        } else {
            (rule::parse_file(file, text)?, Vec::new())
        };
        for spec in specs {
            // Compile eagerly so errors name the file now, before any input is read.
            self.user.push(spec.compile_eagerly()?);
        }
        Ok(notes)
    }

    /// Disables a rule by id (checked at [`build`](Self::build)).
    pub fn disable(&mut self, id: &str) -> &mut Self {
        self.disabled.push(id.to_string());
        self
    }

    /// Compiles everything into a `RuleSet`.
    ///
    /// # Errors
    /// [`Error::DuplicateId`] for two user rules with one id, [`Error::UnknownRule`] for a
    /// `disable` that names no rule, [`Error::Rule`] for an invalid rule.
    pub fn build(&self) -> Result<RuleSet> {
        let mut specs: Vec<RuleSpec> = Vec::new();
        if self.builtin {
            let files: Vec<_> = crate::builtin::FILES.iter().collect();
            for parsed in in_parallel(
                &files,
                || (),
                |(), (name, text)| rule::parse_file(Path::new(&format!("builtin:{name}")), text),
            ) {
                specs.extend(parsed?);
            }
        }
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, s) in specs.iter().enumerate() {
            if let Some(&first) = index.get(&s.id) {
                return Err(Error::DuplicateId {
                    rule_id: s.id.clone(),
                    first: specs[first].origin.clone(),
                    second: s.origin.clone(),
                });
            }
            index.insert(s.id.clone(), i);
        }
        let builtin_count = specs.len();
        let mut user_seen: HashMap<String, crate::error::Origin> = HashMap::new();
        for spec in &self.user {
            if let Some(first) = user_seen.get(&spec.id) {
                return Err(Error::DuplicateId {
                    rule_id: spec.id.clone(),
                    first: first.clone(),
                    second: spec.origin.clone(),
                });
            }
            user_seen.insert(spec.id.clone(), spec.origin.clone());
            let spec = spec.clone();
            match index.get(&spec.id) {
                Some(&i) if i < builtin_count => specs[i] = spec,
                _ => {
                    index.insert(spec.id.clone(), specs.len());
                    specs.push(spec);
                }
            }
        }
        let mut disabled = HashSet::new();
        for id in &self.disabled {
            if !index.contains_key(id) {
                return Err(Error::UnknownRule {
                    rule_id: id.clone(),
                });
            }
            disabled.insert(id.as_str());
        }
        let specs: Vec<RuleSpec> = specs
            .into_iter()
            .filter(|s| !disabled.contains(s.id.as_str()))
            .collect();
        // Each worker shares `allow` regexes among its own rules only: they compile lazily, so
        // a list repeated across workers costs a little memory, not time.
        let mut rules = Vec::with_capacity(specs.len());
        for compiled in in_parallel(&specs, crate::rule::AllowInterner::new, |interner, spec| {
            spec.clone().compile_with(interner)
        }) {
            // In order, so the first error reported is the first rule at fault.
            rules.push(compiled?);
        }
        RuleSet::assemble(rules)
    }
}

/// Threads for building a rule set: the cores, at most 4.
fn workers() -> usize {
    // Asked once: the answer reads cgroup files.
    static WORKERS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *WORKERS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)))
}

/// `f` over `items` on up to [`workers`] threads, results in `items`' order. Threads take the
/// next item as they finish one (rules differ a lot in cost), each with its own `state`. Where
/// a thread cannot be started (a process limit, say), the others do its share.
fn in_parallel<T: Sync, S, R: Send>(
    items: &[T],
    state: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let work = || {
        let mut st = state();
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            done.push((i, f(&mut st, item)));
        }
        done
    };
    let n = workers().min(items.len());
    let mut all: Vec<(usize, R)> = if n <= 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (1..n)
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .name("hush-rules".into())
                        .spawn_scoped(scope, work)
                        .ok()
                })
                .collect();
            let mut all = work();
            for h in handles {
                match h.join() {
                    Ok(done) => all.extend(done),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            all
        })
    };
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// What one prefilter pattern stands for.
#[derive(Debug, Default)]
struct PatInfo {
    /// Rules whose keyword this is (plain).
    rules: Vec<u32>,
    /// For base64 forms of keywords: bit `n` set when the stable part starts `n` characters
    /// into a 4-character group.
    b64_leads: u8,
    /// A percent-encoded form of a keyword.
    percent: bool,
}

/// A compiled, immutable set of rules. `Send + Sync`: share it behind an `Arc`.
///
/// Search is keyword-driven: one Aho-Corasick pass (ASCII case-insensitive) over all rule
/// keywords and their base64 and percent-encoded forms finds candidates; each rule's regex then
/// runs only in the window of `max_len` bytes around its keyword hits. Rules without keywords run
/// in one multi-pattern pass. Encoded hits are decoded and searched again, to depth
/// [`MAX_DECODE_DEPTH`].
///
/// # Memory usage
/// The prefilter is a DFA over a few thousand short patterns (a few MiB); each rule's regex
/// keeps a lazy-DFA cache of at most 2 MiB per thread that uses it.
#[derive(Debug)]
pub struct RuleSet {
    /// Unique per built set: known values compiled against it carry it (see
    /// [`KnownValuesBuilder::build_for`](crate::KnownValuesBuilder::build_for)).
    id: u64,
    /// The prefilter's patterns, for building a combined prefilter with known values.
    patterns: Vec<(Vec<u8>, bool)>,
    rules: Vec<Rule>,
    prefilter: Prefilter,
    pats: Vec<PatInfo>,
    keywordless: Option<(Regex, Vec<u32>)>,
    /// Longest raw match of any rule.
    rule_max_len: usize,
}

impl RuleSet {
    /// The built-in rule pack, compiled.
    ///
    /// # Errors
    /// Only if the built-in pack is broken, which the test suite rules out.
    pub fn builtin() -> Result<RuleSet> {
        RuleSetBuilder::new().build()
    }

    fn assemble(rules: Vec<Rule>) -> Result<RuleSet> {
        let mut entries: Vec<(Vec<u8>, bool, PatInfo)> = Vec::new();
        let mut index: HashMap<(Vec<u8>, bool), usize> = HashMap::new();
        // Keywords and percent forms match ASCII-case-insensitively (patterns equal up to case
        // share a slot); base64 forms are case-sensitive, as base64 is.
        let mut slot = |p: Vec<u8>, ci: bool| -> usize {
            let key = if ci {
                p.to_ascii_lowercase()
            } else {
                p.clone()
            };
            *index.entry((key, ci)).or_insert_with(|| {
                entries.push((p, ci, PatInfo::default()));
                entries.len() - 1
            })
        };
        // Each rule's prefilter patterns (the base64 forms take some computing), in parallel;
        // then slots in rule order, so the set is the same whatever the threads did.
        let order: Vec<usize> = (0..rules.len()).collect();
        let wanted = in_parallel(
            &order,
            || (),
            |(), &r| {
                let rule = &rules[r];
                let mut want: Vec<(Vec<u8>, bool, Slot)> = Vec::new();
                for k in &rule.keywords {
                    want.push((k.as_bytes().to_vec(), true, Slot::Rule(r as u32)));
                }
                // base64 is case-sensitive: encode the keyword in every spelling the rule
                // suggests.
                for form in &rule.keyword_forms {
                    for alphabet in [Alphabet::Standard, Alphabet::UrlSafe] {
                        for align in 0..3 {
                            let (stable, lead) = decode::b64_stable(form, align, alphabet);
                            if stable.len() >= 4 {
                                want.push((stable, false, Slot::Base64(lead as u8)));
                            }
                        }
                    }
                    if form.iter().any(|&b| !decode::is_unreserved(b)) {
                        want.push((decode::percent_encode(form), true, Slot::Percent));
                    }
                }
                want
            },
        );
        let mut plan: Vec<(usize, Slot)> = Vec::new();
        let mut keywordless = Vec::new();
        for (r, want) in wanted.into_iter().enumerate() {
            if rules[r].keywords.is_empty() {
                keywordless.push(r as u32);
                continue;
            }
            for (p, ci, what) in want {
                plan.push((slot(p, ci), what));
            }
        }
        for (i, what) in plan {
            let info = &mut entries[i].2;
            match what {
                Slot::Rule(r) => {
                    if !info.rules.contains(&r) {
                        info.rules.push(r);
                    }
                }
                Slot::Base64(lead) => info.b64_leads |= 1 << lead,
                Slot::Percent => info.percent = true,
            }
        }
        let mut patterns = Vec::with_capacity(entries.len());
        let mut pats = Vec::with_capacity(entries.len());
        for (p, ci, info) in entries {
            patterns.push((p, ci));
            pats.push(info);
        }
        let prefilter = Prefilter::new(patterns.clone());
        let keywordless = if keywordless.is_empty() {
            None
        } else {
            let sources: Vec<&str> = keywordless
                .iter()
                .map(|&r| rules[r as usize].pattern.as_str())
                .collect();
            let multi = Regex::builder()
                .syntax(rule::syntax_config())
                .build_many(&sources)
                .map_err(|e| Error::Prefilter(e.to_string()))?;
            Some((multi, keywordless))
        };
        let rule_max_len = rules.iter().map(|r| r.max_len).max().unwrap_or(0);
        Ok(RuleSet {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            patterns,
            rules,
            prefilter,
            pats,
            keywordless,
            rule_max_len,
        })
    }

    /// Compiles every rule's regex now instead of on first use (rules compile lazily).
    ///
    /// # Errors
    /// The ids of rules whose regex fails to compile, with the reason.
    pub fn compile_all(&self) -> std::result::Result<(), Vec<(String, String)>> {
        let errors: Vec<(String, String)> = self
            .rules
            .iter()
            .filter_map(|r| r.try_compile().err().map(|e| (r.id.clone(), e)))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The rules, in load order (built-in first).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when the set has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The longest span, in bytes of the searched haystack, that any finding can cover:
    /// the longest rule match, or its encoded form through [`MAX_DECODE_DEPTH`] layers of
    /// base64 or percent-encoding, whichever is longer.
    ///
    /// A streaming searcher that keeps this many bytes of overlap between windows misses nothing.
    pub fn max_len(&self) -> usize {
        span_bound(self.rule_max_len, 0)
    }

    /// Finds secrets, resolving overlaps: of two findings whose secrets overlap, the one with
    /// the longer secret wins, then the higher priority, then the lower rule id. Sorted by
    /// position.
    pub fn find(&self, hay: &[u8]) -> Vec<Finding> {
        resolve(self.find_all(hay, None))
    }

    /// [`find`](Self::find), also looking for registered values.
    pub fn find_with_known(&self, hay: &[u8], known: &KnownValues) -> Vec<Finding> {
        resolve(self.find_all(hay, Some(known)))
    }

    /// Every finding, before overlap resolution, in no particular order. A redactor wants the
    /// union of these spans.
    pub fn find_all(&self, hay: &[u8], known: Option<&KnownValues>) -> Vec<Finding> {
        let mut out = Vec::new();
        match known.and_then(|k| k.combined_for(self.id).map(|pf| (k, pf))) {
            // Known values compiled against this set: one prefilter pass finds both.
            Some((k, combined)) => self.search_with(hay, 0, combined, Some(k), &mut out, &mut None),
            None => {
                self.search(hay, 0, &mut out);
                if let Some(k) = known {
                    k.find_into(hay, &mut out);
                }
            }
        }
        out
    }

    /// The prefilter patterns and the set's id, for [`KnownValuesBuilder::build_for`].
    pub(crate) fn prefilter_patterns(&self) -> (u64, &[(Vec<u8>, bool)]) {
        (self.id, &self.patterns)
    }

    fn search(&self, hay: &[u8], depth: u8, out: &mut Vec<Finding>) {
        self.search_profiled(hay, depth, out, &mut None);
    }

    fn search_profiled(
        &self,
        hay: &[u8],
        depth: u8,
        out: &mut Vec<Finding>,
        prof: &mut Option<Vec<RuleCost>>,
    ) {
        self.search_with(hay, depth, &self.prefilter, None, out, prof);
    }

    /// One search with `prefilter`: this set's own, or one combined with `known` values
    /// (pattern ids past this set's own are known-value variants).
    fn search_with(
        &self,
        hay: &[u8],
        depth: u8,
        prefilter: &Prefilter,
        known: Option<&KnownValues>,
        out: &mut Vec<Finding>,
        prof: &mut Option<Vec<RuleCost>>,
    ) {
        let own = self.pats.len() as u32;
        let mut hits: Vec<(u32, usize, usize)> = Vec::new();
        let mut b64: Vec<(usize, usize)> = Vec::new();
        let mut pct: Vec<(usize, usize)> = Vec::new();
        prefilter.for_each(hay, |pat, start, end| {
            if pat >= own {
                if let Some(k) = known {
                    k.push_hit((pat - own) as usize, hay, start, end, out);
                }
                return;
            }
            let info = &self.pats[pat as usize];
            for &r in &info.rules {
                hits.push((r, start, end));
            }
            if depth < MAX_DECODE_DEPTH {
                let mut leads = info.b64_leads;
                while leads != 0 {
                    let lead = leads.trailing_zeros() as usize;
                    leads &= leads - 1;
                    if let Some(group) = start.checked_sub(lead) {
                        b64.push((group, end));
                    }
                }
                // A percent-encoded form of a keyword, or a plain keyword whose
                // surroundings (`=`, quotes, the value) are percent-encoded.
                if info.percent || (!info.rules.is_empty() && near_percent(hay, start, end)) {
                    pct.push((start, end));
                }
            }
        });
        hits.sort_unstable();
        for group in hits.chunk_by(|a, b| a.0 == b.0) {
            let rule = &self.rules[group[0].0 as usize];
            let started = prof.as_ref().map(|_| std::time::Instant::now());
            self.confirm_group(rule, hay, group, out);
            if let (Some(p), Some(t)) = (prof.as_mut(), started) {
                let cost = &mut p[group[0].0 as usize];
                cost.hits += group.len() as u64;
                cost.time += t.elapsed();
            }
        }
        if let Some((multi, ids)) = &self.keywordless {
            let mut set = PatternSet::new(ids.len());
            multi.which_overlapping_matches(&Input::new(hay), &mut set);
            for pid in set.iter() {
                let rule = &self.rules[ids[pid.as_usize()] as usize];
                self.confirm(rule, hay, 0..hay.len(), &[], out);
            }
        }
        let n = self.rules.len();
        if !b64.is_empty() {
            let started = prof.as_ref().map(|_| std::time::Instant::now());
            let count = b64.len() as u64;
            self.search_base64(hay, depth, b64, out);
            if let (Some(p), Some(t)) = (prof.as_mut(), started) {
                p[n].hits += count;
                p[n].time += t.elapsed();
            }
        }
        if !pct.is_empty() {
            let started = prof.as_ref().map(|_| std::time::Instant::now());
            let count = pct.len() as u64;
            self.search_percent(hay, depth, pct, out);
            if let (Some(p), Some(t)) = (prof.as_mut(), started) {
                p[n + 1].hits += count;
                p[n + 1].time += t.elapsed();
            }
        }
    }

    /// Confirms one rule's keyword hits (sorted by position).
    fn confirm_group(
        &self,
        rule: &Rule,
        hay: &[u8],
        group: &[(u32, usize, usize)],
        out: &mut Vec<Finding>,
    ) {
        if let Some(offset) = rule.anchored {
            self.confirm_anchored(rule, offset, hay, group, out);
            return;
        }
        if let (Some(offset), Some(rev)) = (rule.keyword_offset, rule.rev_head()) {
            self.confirm_reverse(rule, rev, offset, hay, group, out);
            return;
        }
        let len = rule.max_len;
        // The window around a hit: a match containing it starts at most `before` bytes earlier
        // and ends at most `len` bytes after the start.
        let before = |hit: &(u32, usize, usize)| match rule.keyword_offset {
            Some(offset) => hit.1.saturating_sub(offset),
            None => hit.2.saturating_sub(len),
        };
        let mut i = 0;
        while i < group.len() {
            let mut lo = before(&group[i]);
            let mut hi = (group[i].1 + len).min(hay.len());
            let mut j = i + 1;
            while j < group.len() && before(&group[j]) <= hi {
                lo = lo.min(before(&group[j]));
                hi = hi.max((group[j].1 + len).min(hay.len()));
                j += 1;
            }
            self.confirm(rule, hay, lo..hi, &group[i..j], out);
            i = j;
        }
    }

    /// How many bytes at the end of `hay` may still become part of a match of a multi-line rule
    /// (a PEM block whose END line has not arrived): the distance from the earliest such keyword
    /// hit, less than the rule's `max_len` from the end, that no finding of its rule covers.
    ///
    /// A streaming redactor that must flush early (input paused) holds these bytes back; single-line
    /// rules cannot grow past the line end, and partial tokens are the caller's business.
    pub fn incomplete_tail(&self, hay: &[u8]) -> usize {
        let mut earliest = hay.len();
        let mut open: Vec<(u32, usize)> = Vec::new();
        self.prefilter.for_each(hay, |pat, start, _| {
            for &r in &self.pats[pat as usize].rules {
                let rule = &self.rules[r as usize];
                if rule.multiline && hay.len() - start < rule.max_len {
                    open.push((r, start));
                }
            }
        });
        if open.is_empty() {
            return 0;
        }
        let found = self.find_all(hay, None);
        for (r, hit) in open {
            let id = &self.rules[r as usize].id;
            let covered = found
                .iter()
                .any(|f| &*f.rule_id == id && f.span.start <= hit && hit < f.span.end);
            if !covered {
                let rule = &self.rules[r as usize];
                let back = rule
                    .anchored
                    .or(rule.keyword_offset)
                    .unwrap_or(rule.max_len);
                earliest = earliest.min(hit.saturating_sub(back));
            }
        }
        hay.len() - earliest
    }

    /// Searches like [`find_all`](Self::find_all) and reports, per rule, how many keyword hits it
    /// confirmed and the time that took: the tool for finding a rule that slows everything down.
    /// Two more entries, `(base64)` and `(percent)`, count the encoded-keyword hits and the time
    /// spent decoding and searching decoded content.
    pub fn profile(&self, hay: &[u8]) -> Vec<RuleCost> {
        let cost = |id: &str| RuleCost {
            rule_id: id.to_string(),
            hits: 0,
            time: std::time::Duration::ZERO,
        };
        let mut all: Vec<RuleCost> = self.rules.iter().map(|r| cost(&r.id)).collect();
        all.push(cost("(base64)"));
        all.push(cost("(percent)"));
        let mut prof = Some(all);
        let mut out = Vec::new();
        self.search_profiled(hay, 0, &mut out, &mut prof);
        prof.unwrap_or_default()
    }

    /// Runs `rule` in `window` and reports matches that contain one of `hits`.
    fn confirm(
        &self,
        rule: &Rule,
        hay: &[u8],
        window: std::ops::Range<usize>,
        hits: &[(u32, usize, usize)],
        out: &mut Vec<Finding>,
    ) {
        let input = Input::new(hay).range(window);
        for caps in rule.regex().captures_iter(input) {
            let Some(m) = caps.get_match() else { continue };
            let (ms, me) = (m.start(), m.end());
            if rule.keyword_in_match && !hits.is_empty() {
                let first = hits.partition_point(|h| h.1 < ms);
                let contained = hits[first..]
                    .iter()
                    .take_while(|h| h.1 < me)
                    .any(|h| h.2 <= me);
                if !contained {
                    continue;
                }
            }
            accept(rule, hay, &caps, out);
        }
    }

    /// For rules with a bounded head before the keyword: search the head backwards from each hit
    /// to find where the match starts, then run the regex anchored there.
    fn confirm_reverse(
        &self,
        rule: &Rule,
        rev: &crate::rule::RevHead,
        offset: usize,
        hay: &[u8],
        group: &[(u32, usize, usize)],
        out: &mut Vec<Finding>,
    ) {
        let regex = rule.regex();
        // Captures are allocated only once a hit is confirmed: most hits are not.
        let mut caps = None;
        let mut covered = 0;
        for hit in group {
            let (_, hs, he) = *hit;
            if hs < covered {
                continue;
            }
            let lo = hs.saturating_sub(offset);
            let Some(head_end) = hs.checked_sub(rule.head_gap) else {
                continue;
            };
            let input = Input::new(hay).range(lo..head_end).anchored(Anchored::Yes);
            let start = match rev.earliest_start(&input) {
                Ok(Some(start)) => start,
                Ok(None) => continue,
                Err(_) => {
                    // The lazy DFA gave up: fall back to the window search for this hit.
                    let hi = (hs + rule.max_len).min(hay.len());
                    self.confirm(rule, hay, lo..hi, std::slice::from_ref(hit), out);
                    continue;
                }
            };
            let end = (start + rule.max_len).min(hay.len());
            let input = Input::new(hay).range(start..end).anchored(Anchored::Yes);
            if regex.search(&input).is_none_or(|m| m.end() < he) {
                continue;
            }
            let caps = caps.get_or_insert_with(|| regex.create_captures());
            regex.search_captures(&input, caps);
            if let Some(m) = caps.get_match() {
                covered = m.end();
                accept(rule, hay, caps, out);
            }
        }
    }

    /// Runs `rule` anchored `offset` bytes before each hit (every match of the rule holds a
    /// keyword at that offset).
    fn confirm_anchored(
        &self,
        rule: &Rule,
        offset: usize,
        hay: &[u8],
        hits: &[(u32, usize, usize)],
        out: &mut Vec<Finding>,
    ) {
        let regex = rule.regex();
        let mut caps = None;
        let mut last = usize::MAX;
        for &(_, hit, _) in hits {
            let Some(start) = hit.checked_sub(offset) else {
                continue;
            };
            if start == last {
                continue;
            }
            last = start;
            let end = (start + rule.max_len).min(hay.len());
            let input = Input::new(hay).range(start..end).anchored(Anchored::Yes);
            if regex.search(&input).is_none() {
                continue;
            }
            let caps = caps.get_or_insert_with(|| regex.create_captures());
            regex.search_captures(&input, caps);
            if caps.is_match() {
                accept(rule, hay, caps, out);
            }
        }
    }

    fn search_base64(
        &self,
        hay: &[u8],
        depth: u8,
        hits: Vec<(usize, usize)>,
        out: &mut Vec<Finding>,
    ) {
        let reach = b64_len(span_bound(self.rule_max_len, depth + 1));
        let mut runs: Vec<(usize, usize)> = Vec::with_capacity(hits.len());
        for (group, end) in hits {
            let floor = group.saturating_sub(reach);
            let mut lo = group;
            while lo > floor && decode::is_b64(hay[lo - 1]) {
                lo -= 1;
            }
            let ceil = (end + reach).min(hay.len());
            let mut hi = end;
            while hi < ceil && decode::is_b64(hay[hi]) {
                hi += 1;
            }
            // Start decoding on the 4-character group boundary the hit implies.
            let start = lo + (group - lo) % 4;
            if hi - start >= 4 * MIN_DECODED_LEN / 3 {
                runs.push((start, hi));
            }
        }
        // Many hits in one long run must not decode it many times: merge runs that overlap and
        // share a 4-character alignment.
        let runs = merge_runs(runs, 4);
        let mut inner = Vec::new();
        for (start, end) in runs {
            let decoded = decode::b64_decode(&hay[start..end]);
            if decoded.len() < MIN_DECODED_LEN {
                continue;
            }
            inner.clear();
            self.search(&decoded, depth + 1, &mut inner);
            for f in inner.drain(..) {
                let map = |r: std::ops::Range<usize>| {
                    let (a, b) = decode::b64_span(r.start, r.end);
                    (start + a).min(end)..(start + b).min(end)
                };
                out.push(Finding {
                    span: map(f.span.clone()),
                    secret_span: map(f.secret_span.clone()),
                    encoding: Encoding::Base64,
                    ..f
                });
            }
        }
    }

    fn search_percent(
        &self,
        hay: &[u8],
        depth: u8,
        hits: Vec<(usize, usize)>,
        out: &mut Vec<Finding>,
    ) {
        let reach = 3 * span_bound(self.rule_max_len, depth + 1);
        let stop = |b: u8| {
            b.is_ascii_whitespace()
                || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'&' | b'`' | b'(' | b')')
        };
        let mut runs: Vec<(usize, usize)> = Vec::with_capacity(hits.len());
        for (s, e) in hits {
            let floor = s.saturating_sub(reach);
            let mut lo = s;
            while lo > floor && !stop(hay[lo - 1]) {
                lo -= 1;
            }
            let ceil = (e + reach).min(hay.len());
            let mut hi = e;
            while hi < ceil && !stop(hay[hi]) {
                hi += 1;
            }
            runs.push((lo, hi));
        }
        let runs = merge_runs(runs, 1);
        let mut inner = Vec::new();
        for (start, end) in runs {
            let (decoded, map) = decode::percent_decode(&hay[start..end]);
            if decoded.len() < MIN_DECODED_LEN {
                continue;
            }
            inner.clear();
            self.search(&decoded, depth + 1, &mut inner);
            for f in inner.drain(..) {
                let m = |r: std::ops::Range<usize>| start + map[r.start]..start + map[r.end];
                out.push(Finding {
                    span: m(f.span.clone()),
                    secret_span: m(f.secret_span.clone()),
                    encoding: if f.encoding == Encoding::Plain {
                        Encoding::Percent
                    } else {
                        f.encoding
                    },
                    ..f
                });
            }
        }
    }
}

/// The cost of one rule in a [`RuleSet::profile`] run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RuleCost {
    /// The rule.
    pub rule_id: String,
    /// Keyword hits it confirmed.
    pub hits: u64,
    /// Time spent confirming them.
    pub time: std::time::Duration,
}

enum Slot {
    Rule(u32),
    Base64(u8),
    Percent,
}

/// Merges overlapping `(start, end)` runs whose starts are congruent modulo `modulus` (base64
/// runs must share their 4-character alignment to be decoded as one).
fn merge_runs(mut runs: Vec<(usize, usize)>, modulus: usize) -> Vec<(usize, usize)> {
    runs.sort_unstable_by_key(|&(s, e)| (s % modulus, s, e));
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(runs.len());
    for (s, e) in runs {
        match merged.last_mut() {
            Some(last) if last.0 % modulus == s % modulus && s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Length of the base64 encoding of `n` bytes, plus a group of slack for alignment.
fn b64_len(n: usize) -> usize {
    (4 * n).div_ceil(3) + 4
}

/// The longest haystack span a finding can cover when searching at `depth`.
fn span_bound(rule_max: usize, depth: u8) -> usize {
    if depth >= MAX_DECODE_DEPTH {
        return rule_max;
    }
    let inner = span_bound(rule_max, depth + 1);
    rule_max.max(b64_len(inner)).max(3 * inner)
}

/// Applies the length bound and the filters to one regex match and records it.
fn accept(rule: &Rule, hay: &[u8], caps: &Captures, out: &mut Vec<Finding>) {
    let Some(m) = caps.get_match() else { return };
    let (ms, me) = (m.start(), m.end());
    if me - ms > rule.max_len {
        return;
    }
    let Some(sg) = caps.get_group(rule.secret_group) else {
        return;
    };
    if sg.is_empty() {
        return;
    }
    let secret = &hay[sg.range()];
    if filter::is_placeholder(secret) {
        return;
    }
    let entropy = filter::shannon_entropy(secret);
    if rule.entropy.is_some_and(|min| entropy < min) {
        return;
    }
    if allowed(rule, hay, ms..me, sg.range()) {
        return;
    }
    out.push(Finding {
        rule_id: rule.id_arc.clone(),
        span: ms..me,
        secret_span: sg.range(),
        entropy,
        encoding: Encoding::Plain,
        label: None,
        priority: rule.priority,
    });
}

/// Bytes on each side of a keyword hit searched for a `%XX` escape.
const PERCENT_NEIGHBOURHOOD: usize = 24;

/// True when a `%XX` escape sits within a few bytes of `start..end`.
fn near_percent(hay: &[u8], start: usize, end: usize) -> bool {
    let lo = start.saturating_sub(PERCENT_NEIGHBOURHOOD);
    let hi = (end + PERCENT_NEIGHBOURHOOD).min(hay.len());
    memchr::memchr_iter(b'%', &hay[lo..hi]).any(|i| {
        let i = lo + i;
        i + 2 < hay.len() && hay[i + 1].is_ascii_hexdigit() && hay[i + 2].is_ascii_hexdigit()
    })
}

/// True when one of the rule's allow lists excludes this match.
fn allowed(
    rule: &Rule,
    hay: &[u8],
    span: std::ops::Range<usize>,
    secret: std::ops::Range<usize>,
) -> bool {
    for allow in &rule.allows {
        let target = match allow.target {
            AllowTarget::Secret => &hay[secret.clone()],
            AllowTarget::Match => &hay[span.clone()],
            AllowTarget::Line => {
                let s = memchr::memrchr(b'\n', &hay[..span.start]).map_or(0, |i| i + 1);
                let e = memchr::memchr(b'\n', &hay[span.end..]).map_or(hay.len(), |i| span.end + i);
                &hay[s..e]
            }
        };
        if allow.regexes.iter().any(|r| r.is_match(target)) {
            return true;
        }
        if !allow.stopwords.is_empty() {
            let lower = target.to_ascii_lowercase();
            if allow
                .stopwords
                .iter()
                .any(|w| memchr::memmem::find(&lower, w).is_some())
            {
                return true;
            }
        }
    }
    false
}

/// Keeps, of overlapping findings, the longest secret, then the higher priority, then the
/// lower rule id; returns them sorted by position.
pub(crate) fn resolve(mut all: Vec<Finding>) -> Vec<Finding> {
    all.sort_by(|a, b| {
        b.secret_len()
            .cmp(&a.secret_len())
            .then(b.priority.cmp(&a.priority))
            .then(a.rule_id.cmp(&b.rule_id))
            .then(a.secret_span.start.cmp(&b.secret_span.start))
    });
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    let mut keep = Vec::with_capacity(all.len());
    for f in all {
        let (s, e) = (f.secret_span.start, f.secret_span.end);
        if let Some((_, &end)) = taken.range(..e).next_back() {
            if end > s {
                continue;
            }
        }
        taken.insert(s, e);
        keep.push(f);
    }
    keep.sort_by_key(|f| (f.secret_span.start, f.secret_span.end));
    keep
}
