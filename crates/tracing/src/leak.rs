//! `LeakDetectLayer`: counts (or fails on) events that carried a secret, so test suites can
//! assert their logs are clean.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::fields::is_sensitive_name;
use crate::Shield;

/// A detect-only layer: it changes no output. Every event's fields (message included) are
/// searched; events carrying a secret, or a non-empty value under a sensitive field name, are
/// counted, and with [`panic_on_leak`](Self::panic_on_leak) the event panics (naming rule ids
/// and fields, never values).
#[derive(Debug, Clone)]
pub struct LeakDetectLayer {
    shield: Shield,
    leaks: Arc<AtomicU64>,
    panic: bool,
}

impl LeakDetectLayer {
    /// Counts leaks found by `shield`.
    pub fn new(shield: Shield) -> Self {
        LeakDetectLayer {
            shield,
            leaks: Arc::new(AtomicU64::new(0)),
            panic: false,
        }
    }

    /// Panic on the first event that carries a secret (for tests).
    pub fn panic_on_leak(mut self, yes: bool) -> Self {
        self.panic = yes;
        self
    }

    /// A handle to the count of leaking events, readable after the layer is installed.
    pub fn counter(&self) -> LeakCounter {
        LeakCounter(self.leaks.clone())
    }
}

/// How many events carried a secret.
#[derive(Debug, Clone)]
pub struct LeakCounter(Arc<AtomicU64>);

impl LeakCounter {
    /// The count so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
struct Collect {
    text: String,
    sensitive: Vec<&'static str>,
}

impl Visit for Collect {
    fn record_str(&mut self, field: &Field, value: &str) {
        if is_sensitive_name(field.name()) && !value.is_empty() {
            self.sensitive.push(field.name());
        }
        self.text.push_str(value);
        self.text.push('\n');
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let before = self.text.len();
        let _ = fmt::write(&mut self.text, format_args!("{value:?}"));
        if is_sensitive_name(field.name()) && self.text.len() > before {
            self.sensitive.push(field.name());
        }
        self.text.push('\n');
    }
}

impl<S: Subscriber> Layer<S> for LeakDetectLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut c = Collect::default();
        event.record(&mut c);
        let rules = self.shield.find_rules(c.text.as_bytes());
        if rules.is_empty() && c.sensitive.is_empty() {
            return;
        }
        self.leaks.fetch_add(1, Ordering::Relaxed);
        if self.panic {
            panic!(
                "log event at {}:{} carried a secret (rules: {:?}; sensitive fields: {:?})",
                event.metadata().file().unwrap_or("?"),
                event.metadata().line().unwrap_or(0),
                rules,
                c.sensitive
            );
        }
    }
}
