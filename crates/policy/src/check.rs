//! Running a policy's own `[[tests]]`.

use crate::error::Location;
use crate::policy::{Policy, PolicyTest};
use crate::types::Decision;

/// The result of one `[[tests]]` entry.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TestOutcome {
    /// The test's name.
    pub name: String,
    /// Where it is written.
    pub location: Location,
    /// The decision the request got.
    pub decision: Decision,
    /// What did not hold; empty when the test passed.
    pub failures: Vec<String>,
}

impl TestOutcome {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl Policy {
    /// Evaluates every `[[tests]]` request and compares with its expectations.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        self.tests.iter().map(|t| run_one(self, t)).collect()
    }
}

fn run_one(policy: &Policy, t: &PolicyTest) -> TestOutcome {
    let decision = policy.evaluate(&t.request);
    let mut failures = Vec::new();
    if decision.effect != t.expect {
        failures.push(format!("expected {}, got {}", t.expect, decision.effect));
    }
    for r in &t.rules {
        if !decision.rules.iter().any(|m| &**m == r) {
            failures.push(format!("rule `{r}` did not match"));
        }
    }
    for r in &t.reasons {
        if !decision.reasons.iter().any(|m| m.contains(r.as_str())) {
            failures.push(format!("no reason contains `{r}`"));
        }
    }
    if let Some(level) = t.risk {
        if decision.risk.level != level {
            failures.push(format!(
                "expected risk {level}, got {}",
                decision.risk.level
            ));
        }
    }
    TestOutcome {
        name: t.name.clone(),
        location: t.location.clone(),
        decision,
        failures,
    }
}
