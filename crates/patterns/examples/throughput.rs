//! Measures `RuleSet` throughput on files or directories, one thread, and optionally recall
//! against a ground-truth file from `shared/bench` (`gen_logs.py`, `plant.py`).
//!
//! ```text
//! cargo run --release -p hush-patterns --example throughput -- [--truth T.jsonl] [--show N] PATH...
//! ```
//!
//! Files are streamed through one reused buffer and searched in chunks of about 4 MiB cut at line
//! ends (as a streaming scanner would); "search time" counts only the time inside
//! `RuleSet::find`. `HUSH_PROFILE=1` adds the per-rule cost table (`RuleSet::profile`);
//! `HUSH_EXTRA_RULES=FILE` loads a rule file on top of the built-in pack.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hush_patterns::{RuleSet, RuleSetBuilder};

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

#[derive(Default)]
struct Stats {
    bytes: usize,
    files: usize,
    search: Duration,
    per_rule: BTreeMap<String, usize>,
    /// file -> lines with a finding
    found: HashMap<String, Vec<usize>>,
    samples: Vec<String>,
    costs: Vec<(String, u64, Duration)>,
}

fn scan_file(
    set: &RuleSet,
    root: &Path,
    file: &Path,
    buf: &mut Vec<u8>,
    opts: (bool, usize, bool),
    st: &mut Stats,
) {
    let (profile, show, lines) = opts;
    let Ok(mut reader) = std::fs::File::open(file) else {
        return;
    };
    st.files += 1;
    let rel = file
        .strip_prefix(root)
        .ok()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new(file.file_name().unwrap_or_default()))
        .to_string_lossy()
        .into_owned();
    let mut line_base = 1;
    let mut filled = 0;
    loop {
        if buf.len() < filled + CHUNK {
            buf.resize(filled + CHUNK, 0);
        }
        let Ok(n) = reader.read(&mut buf[filled..filled + CHUNK]) else {
            break;
        };
        st.bytes += n;
        filled += n;
        let eof = n == 0;
        if filled == 0 {
            break;
        }
        if !eof && filled < CHUNK {
            continue;
        }
        // Cut at the last line end; the unfinished line is carried into the next chunk.
        let end = if eof {
            filled
        } else {
            buf[..filled]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(filled, |i| i + 1)
        };
        let chunk = &buf[..end];
        if profile {
            // Profile first, so it sees the caches as cold as the search would.
            for (i, c) in set.profile(chunk).into_iter().enumerate() {
                if st.costs.len() <= i {
                    st.costs.push((c.rule_id.clone(), 0, Duration::ZERO));
                }
                st.costs[i].1 += c.hits;
                st.costs[i].2 += c.time;
            }
        }
        let t = Instant::now();
        let findings = set.find(chunk);
        st.search += t.elapsed();
        let mut line = line_base;
        let mut pos = 0;
        for f in findings {
            *st.per_rule.entry(f.rule_id.to_string()).or_default() += 1;
            if !lines {
                continue;
            }
            line += chunk[pos..f.secret_span.start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            pos = f.secret_span.start;
            st.found.entry(rel.clone()).or_default().push(line);
            if st.samples.len() < show {
                let ls = chunk[..pos]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let le = chunk[pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(chunk.len(), |i| pos + i);
                let text = String::from_utf8_lossy(&chunk[ls..le.min(ls + 200)]).into_owned();
                st.samples
                    .push(format!("{rel}:{line}: {} {text}", f.rule_id));
            }
        }
        if lines {
            line_base += chunk.iter().filter(|&&b| b == b'\n').count();
        }
        buf.copy_within(end..filled, 0);
        filled -= end;
        if eof {
            break;
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut truth_path = None;
    let mut show = 0usize;
    let mut roots = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--truth" => truth_path = args.next(),
            "--show" => show = args.next().and_then(|n| n.parse().ok()).unwrap_or(20),
            _ => roots.push(PathBuf::from(a)),
        }
    }
    let t0 = Instant::now();
    let set = match std::env::var("HUSH_EXTRA_RULES") {
        Ok(extra) => {
            let mut b = RuleSetBuilder::new();
            b.add_path(Path::new(&extra)).expect("extra rules");
            b.build().expect("rules")
        }
        Err(_) => RuleSet::builtin().expect("built-in rules"),
    };
    let compile = t0.elapsed();
    let profile = std::env::var_os("HUSH_PROFILE").is_some();
    let lines = truth_path.is_some() || show > 0;
    let mut st = Stats::default();
    let mut buf = Vec::new();
    for root in &roots {
        let mut files = Vec::new();
        walk(root, &mut files);
        for file in files {
            scan_file(&set, root, &file, &mut buf, (profile, show, lines), &mut st);
        }
    }
    println!(
        "rules: {} built in {:.1} ms",
        set.len(),
        compile.as_secs_f64() * 1e3
    );
    println!(
        "files: {}  bytes: {}  search time: {:.2} s  throughput: {:.1} MB/s (one thread)",
        st.files,
        st.bytes,
        st.search.as_secs_f64(),
        st.bytes as f64 / 1e6 / st.search.as_secs_f64()
    );
    if profile {
        st.costs.sort_by_key(|c| std::cmp::Reverse(c.2));
        let sum: Duration = st.costs.iter().map(|c| c.2).sum();
        println!(
            "  cost: {:8.1} ms total confirm + decode (profiled separately)",
            sum.as_secs_f64() * 1e3
        );
        for (id, hits, time) in st.costs.iter().take(15) {
            println!(
                "  cost: {:8.1} ms {hits:9} hits  {id}",
                time.as_secs_f64() * 1e3
            );
        }
    }
    println!("findings: {}", st.per_rule.values().sum::<usize>());
    for (rule, n) in &st.per_rule {
        println!("  {n:8}  {rule}");
    }
    for s in &st.samples {
        println!("  sample: {s}");
    }
    let Some(tp) = truth_path else { return };
    let text = std::fs::read_to_string(&tp).expect("truth file");
    let truth: Vec<Truth> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("truth json");
            Truth {
                file: v["file"].as_str().unwrap_or_default().to_string(),
                line: v["line"].as_u64().unwrap_or_default() as usize,
                kind: v["kind"].as_str().unwrap_or_default().to_string(),
                secret: v["secret"].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect();
    let mut missed: BTreeMap<String, usize> = BTreeMap::new();
    let mut hit = 0;
    let mut examples = Vec::new();
    for t in &truth {
        if st.found.get(&t.file).is_some_and(|ls| ls.contains(&t.line)) {
            hit += 1;
        } else {
            *missed.entry(t.kind.clone()).or_default() += 1;
            if examples.len() < 10 {
                examples.push(format!(
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
    for m in examples {
        println!("  missed: {m}");
    }
}
