//! `Shield`: the rules, the registered secret values, and how to replace what they find.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use hush_patterns::{KnownValues, KnownValuesBuilder, RuleSet};
use hush_stream::{Options, Redaction};

/// Errors from the tracing integration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The rules or a registered value were refused.
    #[error(transparent)]
    Patterns(#[from] hush_patterns::Error),
    /// A global subscriber or logger is already installed.
    #[error("cannot install the redacting subscriber: {0}; install hush-tracing before any other subscriber or logger")]
    Install(String),
}

struct Inner {
    redaction: Redaction,
    /// Read for every event by every thread: an `ArcSwap` load touches no shared reference count
    /// and never waits for a registration (nor a registration for it).
    known: ArcSwap<KnownValues>,
    /// Registrations, one at a time.
    values: Mutex<KnownValuesBuilder>,
}

/// The redaction every part of this crate shares: cheap to clone, `Send + Sync`.
///
/// Register secrets at runtime with [`register`](Self::register) (right after reading them from
/// a vault, say); from then on they are masked wherever they appear, in all their encodings.
#[derive(Clone)]
pub struct Shield(Arc<Inner>);

impl std::fmt::Debug for Shield {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shield")
            .field("rules", &self.0.redaction.rules().len())
            .finish_non_exhaustive()
    }
}

impl Shield {
    /// The built-in rule pack with `[REDACTED:<rule-id>]` replacements.
    ///
    /// # Errors
    /// Only if the built-in pack is broken.
    pub fn builtin() -> Result<Shield, Error> {
        Ok(Shield::new(
            Arc::new(RuleSet::builtin()?),
            Options::default(),
        ))
    }

    /// A shield over `rules`, replacing in the style of `opts` (JSON-safe replacements always).
    pub fn new(rules: Arc<RuleSet>, opts: Options) -> Shield {
        Shield(Arc::new(Inner {
            redaction: Redaction::new(rules, opts),
            known: ArcSwap::from_pointee(KnownValues::empty()),
            values: Mutex::new(KnownValuesBuilder::new()),
        }))
    }

    /// Registers a secret value under `label` (a name, never the value); it is masked from now
    /// on, verbatim and base64, percent, JSON, shell or hex encoded.
    ///
    /// # Errors
    /// Values shorter than 8 bytes are refused (they would match ordinary text).
    pub fn register(&self, label: &str, value: &[u8]) -> Result<(), Error> {
        let mut values = self.0.values.lock().unwrap_or_else(|e| e.into_inner());
        values.add(label, value)?;
        let built = Arc::new(values.build_for(self.0.redaction.rules())?);
        self.0.known.store(built);
        Ok(())
    }

    /// The rules.
    pub fn rules(&self) -> &Arc<RuleSet> {
        self.0.redaction.rules()
    }

    /// The registered values as they are now (later registrations are not included).
    pub fn known_snapshot(&self) -> Arc<KnownValues> {
        self.0.known.load_full()
    }

    /// The registered values, borrowed for one search.
    fn known(&self) -> arc_swap::Guard<Arc<KnownValues>> {
        self.0.known.load()
    }

    /// Appends `text` to `out`, secrets replaced; returns the number of replacements.
    pub fn redact_into(&self, text: &[u8], out: &mut Vec<u8>) -> usize {
        self.0.redaction.redact_into(text, &self.known(), out)
    }

    /// `text` with secrets replaced, or `None` (and no copy) when it holds none.
    pub fn redact(&self, text: &[u8]) -> Option<Vec<u8>> {
        self.0.redaction.redact(text, &self.known())
    }

    /// `text` with secrets replaced (borrowed when there were none).
    pub fn redact_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Vec::new();
        if self.redact_into(text.as_bytes(), &mut out) == 0 {
            return Cow::Borrowed(text);
        }
        // Replacements are ASCII and cut only at finding boundaries inside valid UTF-8 input, but
        // a rule may end inside a multi-byte character; replace any such damage.
        Cow::Owned(
            String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }

    /// The rule ids of the secrets in `text` (never the values).
    pub fn find_rules(&self, text: &[u8]) -> Vec<String> {
        let mut ids: Vec<String> = self
            .0
            .redaction
            .rules()
            .find_with_known(text, &self.known())
            .into_iter()
            .map(|f| f.rule_id.to_string())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}
