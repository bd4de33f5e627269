//! Rate limits (token buckets per tool and per server) and anomaly flags. Time is passed in, so
//! tests drive the clock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;

/// A token bucket: `capacity` calls at once, refilled at `per_minute` calls a minute.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(capacity: u32, per_minute: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            capacity: f64::from(capacity.max(1)),
            per_sec: f64::from(per_minute) / 60.0,
            tokens: f64::from(capacity.max(1)),
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.per_sec).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Calls a minute (and burst size) per tool and per server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateConfig {
    /// Per tool, a minute; also the burst.
    pub per_tool: u32,
    /// Per server, a minute; also the burst.
    pub per_server: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            per_tool: 60,
            per_server: 300,
        }
    }
}

/// Which limit was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Limited {
    /// The tool's bucket is empty.
    Tool,
    /// The server's bucket is empty.
    Server,
}

/// Buckets for one server and its tools.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateConfig,
    server: TokenBucket,
    tools: HashMap<String, TokenBucket>,
}

impl RateLimiter {
    /// Full buckets.
    pub fn new(config: RateConfig, now: Instant) -> RateLimiter {
        RateLimiter {
            config,
            server: TokenBucket::new(config.per_server, config.per_server, now),
            tools: HashMap::new(),
        }
    }

    /// Takes a token from the tool's bucket, then the server's. A call refused by its tool's
    /// bucket does not use a server token.
    ///
    /// # Errors
    /// Which limit was hit.
    pub fn take(&mut self, tool: &str, now: Instant) -> Result<(), Limited> {
        let per_tool = self.config.per_tool;
        let bucket = self
            .tools
            .entry(tool.to_string())
            .or_insert_with(|| TokenBucket::new(per_tool, per_tool, now));
        if !bucket.take(now) {
            return Err(Limited::Tool);
        }
        if !self.server.take(now) {
            return Err(Limited::Server);
        }
        Ok(())
    }
}

/// An anomaly that raises the risk of later calls while it lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Anomaly {
    /// Many denials in a short time: a model probing the guard.
    DenialBurst,
    /// One tool touching many sensitive paths.
    SensitivePathBurst,
    /// The user refused several confirmations.
    RepeatedRefusals,
}

impl Anomaly {
    /// `denial_burst`, `sensitive_path_burst`, `repeated_refusals`.
    pub fn as_str(self) -> &'static str {
        match self {
            Anomaly::DenialBurst => "denial_burst",
            Anomaly::SensitivePathBurst => "sensitive_path_burst",
            Anomaly::RepeatedRefusals => "repeated_refusals",
        }
    }
}

/// Thresholds: `count` events within `window` raise a flag.
const DENIALS: (usize, Duration) = (5, Duration::from_secs(60));
const SENSITIVE: (usize, Duration) = (3, Duration::from_secs(300));
const REFUSALS: (usize, Duration) = (3, Duration::from_secs(600));

/// Sliding windows of denials, sensitive-path hits (per tool) and refusals.
#[derive(Debug, Default)]
pub struct Anomalies {
    denials: VecDeque<Instant>,
    refusals: VecDeque<Instant>,
    sensitive: HashMap<String, VecDeque<Instant>>,
}

fn push(q: &mut VecDeque<Instant>, now: Instant, (count, window): (usize, Duration)) -> bool {
    q.push_back(now);
    prune(q, now, window);
    q.len() >= count
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) > window)
    {
        q.pop_front();
    }
}

impl Anomalies {
    /// Records a denial; true when this makes a burst.
    pub fn denied(&mut self, now: Instant) -> bool {
        push(&mut self.denials, now, DENIALS)
    }

    /// Records a refused (or timed out) confirmation; true when refusals now repeat.
    pub fn refused(&mut self, now: Instant) -> bool {
        push(&mut self.refusals, now, REFUSALS)
    }

    /// Records `n` sensitive-path hits by `tool`; true when the tool now has a burst.
    pub fn sensitive(&mut self, tool: &str, n: usize, now: Instant) -> bool {
        let q = self.sensitive.entry(tool.to_string()).or_default();
        let mut hit = false;
        for _ in 0..n {
            hit |= push(q, now, SENSITIVE);
        }
        hit
    }

    /// The flags active now for calls to `tool`.
    pub fn active(&mut self, tool: &str, now: Instant) -> Vec<Anomaly> {
        let mut out = Vec::new();
        prune(&mut self.denials, now, DENIALS.1);
        prune(&mut self.refusals, now, REFUSALS.1);
        if self.denials.len() >= DENIALS.0 {
            out.push(Anomaly::DenialBurst);
        }
        if let Some(q) = self.sensitive.get_mut(tool) {
            prune(q, now, SENSITIVE.1);
            if q.len() >= SENSITIVE.0 {
                out.push(Anomaly::SensitivePathBurst);
            }
        }
        if self.refusals.len() >= REFUSALS.0 {
            out.push(Anomaly::RepeatedRefusals);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_and_tool_limit_spares_the_server() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(
            RateConfig {
                per_tool: 2,
                per_server: 3,
            },
            t0,
        );
        assert_eq!(rl.take("a", t0), Ok(()));
        assert_eq!(rl.take("a", t0), Ok(()));
        assert_eq!(rl.take("a", t0), Err(Limited::Tool));
        assert_eq!(rl.take("b", t0), Ok(()));
        assert_eq!(rl.take("b", t0), Err(Limited::Server));
        // 2 per minute per tool: one token back after 30 s; server: 3 a minute, 1.5 back.
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(rl.take("a", t1), Ok(()));
        assert_eq!(rl.take("a", t1), Err(Limited::Tool));
    }

    #[test]
    fn anomalies_rise_and_expire() {
        let t0 = Instant::now();
        let mut an = Anomalies::default();
        for i in 0..4 {
            assert!(!an.denied(t0 + Duration::from_secs(i)));
        }
        assert!(an.denied(t0 + Duration::from_secs(4)));
        assert_eq!(
            an.active("x", t0 + Duration::from_secs(5)),
            vec![Anomaly::DenialBurst]
        );
        assert_eq!(an.active("x", t0 + Duration::from_secs(200)), vec![]);
        assert!(!an.sensitive("read", 2, t0));
        assert!(an.sensitive("read", 1, t0));
        assert_eq!(an.active("read", t0), vec![Anomaly::SensitivePathBurst]);
        assert_eq!(an.active("write", t0), vec![]);
        an.refused(t0);
        an.refused(t0);
        assert!(an.refused(t0));
        assert_eq!(an.active("write", t0), vec![Anomaly::RepeatedRefusals]);
    }
}
