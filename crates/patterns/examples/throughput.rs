//! Measures `RuleSet` throughput on files or directories, one thread, and optionally recall
//! against a ground-truth file from `shared/bench` (`gen_logs.py`, `plant.py`).
//!
//! ```text
//! cargo run --release -p hush-patterns --example throughput -- [--truth T.jsonl] [--show N] PATH...
//! ```
//!
//! Files are read whole and searched in chunks of about 4 MiB cut at line ends (as a streaming
//! scanner would); only the time inside `RuleSet::find` is counted as search time.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hush_patterns::RuleSet;

const CHUNK: usize = 4 << 20;

fn walk(path: &Path, out: &mut Vec<PathBuf>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for c in children {
            walk(&c, out);
        }
    } else if meta.is_file() {
        out.push(path.to_path_buf());
    }
}

struct Truth {
    file: String,
    line: usize,
    kind: String,
    secret: String,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut truth_path = None;
    let mut show = 0usize;
    let mut rules_dir: Option<String> = None;
    let mut roots = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--truth" => truth_path = args.next(),
            "--rules-dir" => rules_dir = args.next(),
            "--show" => show = args.next().and_then(|n| n.parse().ok()).unwrap_or(20),
            _ => roots.push(PathBuf::from(a)),
        }
    }
    let t0 = Instant::now();
    let extra = std::env::var("HUSH_EXTRA_RULES").ok();
    let set = match &rules_dir {
        None if extra.is_some() => {
            let mut b = hush_patterns::RuleSetBuilder::new();
            b.add_path(Path::new(extra.as_deref().unwrap()))
                .expect("extra rules");
            b.build().expect("rules")
        }
        None => RuleSet::builtin().expect("built-in rules"),
        // Load a directory of rule files instead of the built-in pack, skipping broken files.
        Some(dir) => {
            let mut b = hush_patterns::RuleSetBuilder::new();
            b.builtin(false);
            let mut paths = Vec::new();
            walk(Path::new(dir), &mut paths);
            for p in paths
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            {
                if let Err(e) = b.add_path(p) {
                    eprintln!("skipping {}: {e}", p.display());
                }
            }
            b.build().expect("rules")
        }
    };
    let compile = t0.elapsed();
    let mut files = Vec::new();
    for r in &roots {
        walk(r, &mut files);
    }
    let mut search = Duration::ZERO;
    let mut bytes = 0usize;
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    // file (relative to its root) -> (line, secret span within line)
    let mut found: HashMap<String, Vec<(usize, usize, usize, String)>> = HashMap::new();
    let mut samples = Vec::new();
    let profile = std::env::var_os("HUSH_PROFILE").is_some();
    let mut costs: Vec<(String, u64, Duration)> = Vec::new();
    for (root, file) in roots.iter().flat_map(|r| {
        let mut fs = Vec::new();
        walk(r, &mut fs);
        fs.into_iter().map(move |f| (r.clone(), f))
    }) {
        let Ok(data) = std::fs::read(&file) else {
            continue;
        };
        bytes += data.len();
        let rel = file
            .strip_prefix(&root)
            .ok()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new(file.file_name().unwrap()))
            .to_string_lossy()
            .into_owned();
        let mut start = 0;
        let mut line_base = 1;
        while start < data.len() {
            let mut end = (start + CHUNK).min(data.len());
            if end < data.len() {
                end = memchr_nl(&data[end..]).map_or(data.len(), |i| end + i + 1);
            }
            let chunk = &data[start..end];
            // Profile first, so it sees the caches as cold as the search would.
            if profile {
                for (i, c) in set.profile(chunk).into_iter().enumerate() {
                    if costs.len() <= i {
                        costs.push((c.rule_id.clone(), 0, Duration::ZERO));
                    }
                    costs[i].1 += c.hits;
                    costs[i].2 += c.time;
                }
            }
            let t = Instant::now();
            let findings = set.find(chunk);
            search += t.elapsed();
            if !findings.is_empty() {
                let mut line = line_base;
                let mut pos = 0;
                for f in findings {
                    line += chunk[pos..f.secret_span.start]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count();
                    pos = f.secret_span.start;
                    let ls = chunk[..pos]
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |i| i + 1);
                    *per_rule.entry(f.rule_id.to_string()).or_default() += 1;
                    if samples.len() < show {
                        let le = chunk[pos..]
                            .iter()
                            .position(|&b| b == b'\n')
                            .map_or(chunk.len(), |i| pos + i);
                        let text =
                            String::from_utf8_lossy(&chunk[ls..le.min(ls + 200)]).into_owned();
                        samples.push(format!("{rel}:{line}: {} {text}", f.rule_id));
                    }
                    found.entry(rel.clone()).or_default().push((
                        line,
                        f.secret_span.start - ls,
                        f.secret_span.end - ls,
                        f.rule_id.to_string(),
                    ));
                }
            }
            line_base += chunk.iter().filter(|&&b| b == b'\n').count();
            start = end;
        }
    }
    let mb = bytes as f64 / 1e6;
    println!(
        "rules: {} compiled in {:.1} ms",
        set.len(),
        compile.as_secs_f64() * 1e3
    );
    println!(
        "files: {}  bytes: {}  search time: {:.2} s  throughput: {:.1} MB/s (one thread)",
        files.len(),
        bytes,
        search.as_secs_f64(),
        mb / search.as_secs_f64()
    );
    costs.sort_by_key(|c| std::cmp::Reverse(c.2));
    if profile {
        let sum: Duration = costs.iter().map(|c| c.2).sum();
        println!(
            "  cost: {:8.1} ms total confirm + decode (profiled separately)",
            sum.as_secs_f64() * 1e3
        );
    }
    for (id, hits, time) in costs.iter().take(15) {
        println!(
            "  cost: {:8.1} ms {hits:9} hits  {id}",
            time.as_secs_f64() * 1e3
        );
    }
    let total: usize = per_rule.values().sum();
    println!("findings: {total}");
    for (rule, n) in &per_rule {
        println!("  {n:8}  {rule}");
    }
    for s in &samples {
        println!("  sample: {s}");
    }
    if let Some(tp) = truth_path {
        let text = std::fs::read_to_string(&tp).expect("truth file");
        let truth: Vec<Truth> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("truth json");
                Truth {
                    file: v["file"].as_str().unwrap().to_string(),
                    line: v["line"].as_u64().unwrap() as usize,
                    kind: v["kind"].as_str().unwrap().to_string(),
                    secret: v["secret"].as_str().unwrap().to_string(),
                }
            })
            .collect();
        let mut missed: BTreeMap<String, usize> = BTreeMap::new();
        let mut hit = 0;
        let mut missed_examples = Vec::new();
        for t in &truth {
            let ok = found
                .get(&t.file)
                .is_some_and(|fs| fs.iter().any(|(line, _, _, _)| *line == t.line));
            if ok {
                hit += 1;
            } else {
                *missed.entry(t.kind.clone()).or_default() += 1;
                if missed_examples.len() < 10 {
                    missed_examples.push(format!(
                        "{}:{} {} ({} chars)",
                        t.file,
                        t.line,
                        t.kind,
                        t.secret.len()
                    ));
                }
            }
        }
        println!("recall: {hit}/{} planted secrets found", truth.len());
        for (k, n) in missed {
            println!("  missed {n} of kind {k}");
        }
        for m in missed_examples {
            println!("  missed: {m}");
        }
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}
