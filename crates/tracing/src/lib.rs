//! Redaction that cannot be forgotten, for programs that log through `tracing` (and `log`).
//!
//! - [`Shield`]: the rules and the secrets registered at runtime (all their encodings).
//! - [`RedactingMakeWriter`]: wraps any `MakeWriter`; each event is redacted whole before the
//!   sink sees it, text or JSON.
//! - [`RedactingFields`]: a `FormatFields` masking fields by name (`password`, `token`, ...)
//!   and values by the rules, before formatting.
//! - [`LeakDetectLayer`]: detect-only; counts (or panics on) events that carried a secret.
//! - [`install_panic_hook`], the `log` bridge, and [`redacting_stderr`]/[`redacting_stdout`]
//!   for the paths around `tracing`.
//! - [`Builder`]: all of it in three lines.
//!
//! ```no_run
//! let shield = hush_tracing::Builder::new().init()?;
//! shield.register("STRIPE_KEY", b"value read from the vault")?;
//! tracing::info!("ready");
//! # Ok::<(), hush_tracing::Error>(())
//! ```
//!
//! # What this crate does not promise
//!
//! - Output written around `tracing` (plain `println!`) is not covered unless it goes through
//!   [`redacting_stdout`].
//! - Values registered with [`Shield::register`] are held in the engine's automaton in memory
//!   that is not zeroized (see `hush_patterns::KnownValues`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod fields;
mod leak;
mod panic;
mod shield;
mod writer;

pub use builder::{redacting_stderr, redacting_stdout, Builder};
pub use fields::{RedactingFields, SENSITIVE_NAMES};
pub use leak::{LeakCounter, LeakDetectLayer};
pub use panic::{install_panic_hook, install_panic_hook_with};
pub use shield::{Error, Shield};
pub use writer::{EventWriter, RedactingMakeWriter};
