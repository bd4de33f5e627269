//! Decision metrics: counters by effect, rule, risk flag and level, and a latency histogram;
//! exportable as Prometheus text. Lock-free for the counters that move on every decision.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::types::{Decision, Effect, RiskLevel};

/// Upper bounds of the latency histogram's buckets, in nanoseconds (the last bucket is +Inf).
pub const LATENCY_BUCKETS_NS: [u64; 12] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000, 10_000_000,
];

/// Live counters, shared by every decision of a [`crate::PolicyHandle`] (or filled from an
/// audit log with [`Metrics::record_parts`]).
#[derive(Debug, Default)]
pub struct Metrics {
    effects: [AtomicU64; 3],
    levels: [AtomicU64; 4],
    buckets: [AtomicU64; LATENCY_BUCKETS_NS.len() + 1],
    latency_sum_ns: AtomicU64,
    rules: Mutex<BTreeMap<String, u64>>,
    flags: Mutex<BTreeMap<String, u64>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Decisions by effect (`allow`, `confirm`, `deny`).
    pub decisions: BTreeMap<String, u64>,
    /// Decisions by risk level.
    pub risk_levels: BTreeMap<String, u64>,
    /// Matches per rule id.
    pub rule_hits: BTreeMap<String, u64>,
    /// Risk flags raised, per kind.
    pub risk_flags: BTreeMap<String, u64>,
    /// Cumulative latency histogram: `(upper bound ns, count)`, the last bound `u64::MAX`.
    pub latency_buckets: Vec<(u64, u64)>,
    /// Sum of all latencies, nanoseconds.
    pub latency_sum_ns: u64,
}

impl Metrics {
    /// Empty counters.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Counts one decision that took `latency`.
    pub fn record(&self, d: &Decision, latency: Duration) {
        let flags: Vec<&str> = d.risk.flags.iter().map(|f| f.kind.as_str()).collect();
        let rules: Vec<&str> = d.rules.iter().map(|r| &**r).collect();
        self.record_parts(d.effect, d.risk.level, &rules, &flags, latency);
    }

    /// Counts one decision from its parts (as stored in an audit record).
    pub fn record_parts(
        &self,
        effect: Effect,
        level: RiskLevel,
        rules: &[&str],
        flags: &[&str],
        latency: Duration,
    ) {
        self.effects[effect as usize].fetch_add(1, Ordering::Relaxed);
        self.levels[level as usize].fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let b = LATENCY_BUCKETS_NS
            .iter()
            .position(|&ub| ns <= ub)
            .unwrap_or(LATENCY_BUCKETS_NS.len());
        self.buckets[b].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ns.fetch_add(ns, Ordering::Relaxed);
        if !rules.is_empty() {
            let mut m = self.rules.lock().unwrap_or_else(|p| p.into_inner());
            for r in rules {
                *m.entry((*r).to_string()).or_default() += 1;
            }
        }
        if !flags.is_empty() {
            let mut m = self.flags.lock().unwrap_or_else(|p| p.into_inner());
            for f in flags {
                *m.entry((*f).to_string()).or_default() += 1;
            }
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let effects = [Effect::Allow, Effect::Confirm, Effect::Deny];
        let mut cumulative = 0;
        let latency_buckets = self
            .buckets
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cumulative += c.load(Ordering::Relaxed);
                (
                    LATENCY_BUCKETS_NS.get(i).copied().unwrap_or(u64::MAX),
                    cumulative,
                )
            })
            .collect();
        MetricsSnapshot {
            decisions: effects
                .iter()
                .map(|e| {
                    (
                        e.as_str().to_string(),
                        self.effects[*e as usize].load(Ordering::Relaxed),
                    )
                })
                .collect(),
            risk_levels: RiskLevel::ALL
                .iter()
                .map(|l| {
                    (
                        l.as_str().to_string(),
                        self.levels[*l as usize].load(Ordering::Relaxed),
                    )
                })
                .collect(),
            rule_hits: self.rules.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            risk_flags: self.flags.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            latency_buckets,
            latency_sum_ns: self.latency_sum_ns.load(Ordering::Relaxed),
        }
    }
}

impl MetricsSnapshot {
    /// Total decisions.
    pub fn total(&self) -> u64 {
        self.decisions.values().sum()
    }

    /// The latency below which `q` (0..=1) of decisions fell, as a bucket bound in ns.
    pub fn latency_quantile_ns(&self, q: f64) -> Option<u64> {
        let total = self.latency_buckets.last()?.1;
        if total == 0 {
            return None;
        }
        let want = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as u64;
        self.latency_buckets
            .iter()
            .find(|(_, c)| *c >= want)
            .map(|(b, _)| *b)
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP hush_policy_decisions_total Policy decisions by effect."
        );
        let _ = writeln!(s, "# TYPE hush_policy_decisions_total counter");
        for (k, v) in &self.decisions {
            let _ = writeln!(
                s,
                "hush_policy_decisions_total{{effect=\"{}\"}} {v}",
                escape(k)
            );
        }
        let _ = writeln!(
            s,
            "# HELP hush_policy_risk_level_total Policy decisions by risk level."
        );
        let _ = writeln!(s, "# TYPE hush_policy_risk_level_total counter");
        for (k, v) in &self.risk_levels {
            let _ = writeln!(
                s,
                "hush_policy_risk_level_total{{level=\"{}\"}} {v}",
                escape(k)
            );
        }
        let _ = writeln!(
            s,
            "# HELP hush_policy_rule_hits_total Requests each rule matched."
        );
        let _ = writeln!(s, "# TYPE hush_policy_rule_hits_total counter");
        for (k, v) in &self.rule_hits {
            let _ = writeln!(
                s,
                "hush_policy_rule_hits_total{{rule=\"{}\"}} {v}",
                escape(k)
            );
        }
        let _ = writeln!(
            s,
            "# HELP hush_policy_risk_flags_total Risk flags raised, by kind."
        );
        let _ = writeln!(s, "# TYPE hush_policy_risk_flags_total counter");
        for (k, v) in &self.risk_flags {
            let _ = writeln!(
                s,
                "hush_policy_risk_flags_total{{kind=\"{}\"}} {v}",
                escape(k)
            );
        }
        let _ = writeln!(
            s,
            "# HELP hush_policy_decision_seconds Time to decide one request."
        );
        let _ = writeln!(s, "# TYPE hush_policy_decision_seconds histogram");
        for (b, c) in &self.latency_buckets {
            let le = if *b == u64::MAX {
                "+Inf".to_string()
            } else {
                format!("{}", *b as f64 / 1e9)
            };
            let _ = writeln!(s, "hush_policy_decision_seconds_bucket{{le=\"{le}\"}} {c}");
        }
        let _ = writeln!(
            s,
            "hush_policy_decision_seconds_sum {}",
            self.latency_sum_ns as f64 / 1e9
        );
        let _ = writeln!(
            s,
            "hush_policy_decision_seconds_count {}",
            self.latency_buckets.last().map_or(0, |b| b.1)
        );
        s
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_exports() {
        let m = Metrics::new();
        m.record_parts(
            Effect::Deny,
            RiskLevel::High,
            &["a", "b"],
            &["network"],
            Duration::from_nanos(700),
        );
        m.record_parts(
            Effect::Allow,
            RiskLevel::Low,
            &["a"],
            &[],
            Duration::from_micros(3),
        );
        let s = m.snapshot();
        assert_eq!(s.total(), 2);
        assert_eq!(s.rule_hits["a"], 2);
        assert_eq!(s.latency_quantile_ns(0.5), Some(1_000));
        assert_eq!(s.latency_quantile_ns(1.0), Some(5_000));
        let p = s.to_prometheus();
        assert!(
            p.contains("hush_policy_decisions_total{effect=\"deny\"} 1\n"),
            "{p}"
        );
        assert!(
            p.contains("hush_policy_rule_hits_total{rule=\"a\"} 2\n"),
            "{p}"
        );
        assert!(
            p.contains("hush_policy_decision_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{p}"
        );
        assert!(p.contains("hush_policy_decision_seconds_count 2\n"), "{p}");
    }
}
