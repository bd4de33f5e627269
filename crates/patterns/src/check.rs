//! Verifying rules against their own examples.

use crate::set::RuleSet;

/// Why an example check failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckFailureKind {
    /// An example produced no finding of its rule.
    ExampleNotFound,
    /// An example produced findings of its rule, but none with the stated secret.
    /// `found` lists the secrets extracted (examples are fake by contract).
    WrongSecret {
        /// The stated secret.
        expected: String,
        /// What the rule extracted.
        found: Vec<String>,
    },
    /// A negative example produced a finding of its rule.
    NegativeMatched {
        /// What the rule extracted.
        found: String,
    },
    /// The rule has no examples at all.
    NoExamples,
}

/// One failed example of one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckFailure {
    /// The rule.
    pub rule_id: String,
    /// Where the rule is defined.
    pub origin: crate::Origin,
    /// The example text.
    pub example: String,
    /// What went wrong.
    pub kind: CheckFailureKind,
}

impl std::fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: rule `{}`: ", self.origin, self.rule_id)?;
        match &self.kind {
            CheckFailureKind::ExampleNotFound => {
                write!(f, "example not matched: {:?}", self.example)
            }
            CheckFailureKind::WrongSecret { expected, found } => write!(
                f,
                "example {:?} yields {:?}, expected secret {:?}",
                self.example, found, expected
            ),
            CheckFailureKind::NegativeMatched { found } => {
                write!(f, "negative example {:?} matched {:?}", self.example, found)
            }
            CheckFailureKind::NoExamples => write!(f, "rule has no examples; add at least one"),
        }
    }
}

impl RuleSet {
    /// Checks the examples of the rules whose ids satisfy `select`: every example must yield a
    /// finding of its rule (with the stated secret, when given) and no negative example may.
    ///
    /// Findings are taken before overlap resolution, so a rule is judged on its own.
    pub fn check_examples(&self, select: impl Fn(&str) -> bool) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        for rule in self.rules().iter().filter(|r| select(r.id())) {
            let fail = |example: &str, kind| CheckFailure {
                rule_id: rule.id().to_string(),
                origin: rule.origin().clone(),
                example: example.to_string(),
                kind,
            };
            // Imported gitleaks rules have no examples by design of that format.
            if rule.examples().is_empty() && rule.keyword_in_match {
                failures.push(fail("", CheckFailureKind::NoExamples));
            }
            for ex in rule.examples() {
                let hay = ex.text.as_bytes();
                let found: Vec<String> = self
                    .find_all(hay, None)
                    .into_iter()
                    .filter(|f| &*f.rule_id == rule.id())
                    .map(|f| String::from_utf8_lossy(&hay[f.secret_span]).into_owned())
                    .collect();
                if found.is_empty() {
                    failures.push(fail(&ex.text, CheckFailureKind::ExampleNotFound));
                } else if let Some(expected) = &ex.secret {
                    if !found.contains(expected) {
                        failures.push(fail(
                            &ex.text,
                            CheckFailureKind::WrongSecret {
                                expected: expected.clone(),
                                found,
                            },
                        ));
                    }
                }
            }
            for neg in rule.negative_examples() {
                let hay = neg.as_bytes();
                if let Some(f) = self
                    .find_all(hay, None)
                    .into_iter()
                    .find(|f| &*f.rule_id == rule.id())
                {
                    failures.push(fail(
                        neg,
                        CheckFailureKind::NegativeMatched {
                            found: String::from_utf8_lossy(&hay[f.secret_span]).into_owned(),
                        },
                    ));
                }
            }
        }
        failures
    }
}
