//! Setting everything up in three lines.

use hush_stream::{Options, RedactWriter};
use std::io::{Stderr, Stdout};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::EnvFilter;

use crate::{install_panic_hook, Error, RedactingFields, RedactingMakeWriter, Shield};

/// Installs a `tracing` subscriber whose every output path is redacted.
///
/// ```no_run
/// let shield = hush_tracing::Builder::new().init()?;          // fmt to stderr, redacted
/// shield.register("DB_PASSWORD", b"value read from the vault")?; // masked from now on
/// tracing::info!(dsn = "postgres://app:s3cr3t-Pa55w0rd@db/app", "connecting"); // hush:allow(doc example)
/// # Ok::<(), hush_tracing::Error>(())
/// ```
///
/// It installs: a `fmt` layer writing to stderr through [`RedactingMakeWriter`] with
/// [`RedactingFields`] (or JSON with [`json`](Self::json)), filtered by `RUST_LOG` (default
/// `info`); the `log` crate bridge (`tracing-log`), so `log` records take the same path; and the
/// redacting panic hook.
#[derive(Debug, Default)]
pub struct Builder {
    json: bool,
    shield: Option<Shield>,
    no_panic_hook: bool,
    no_log_bridge: bool,
}

impl Builder {
    /// Defaults: built-in rules, text output, panic hook and `log` bridge on.
    pub fn new() -> Self {
        Builder::default()
    }

    /// JSON lines instead of text.
    pub fn json(mut self, yes: bool) -> Self {
        self.json = yes;
        self
    }

    /// Use this shield (custom rules or style) instead of the built-in rules.
    pub fn shield(mut self, shield: Shield) -> Self {
        self.shield = Some(shield);
        self
    }

    /// Leave the panic hook alone.
    pub fn without_panic_hook(mut self) -> Self {
        self.no_panic_hook = true;
        self
    }

    /// Do not install the `log` bridge (if another logger is set).
    pub fn without_log_bridge(mut self) -> Self {
        self.no_log_bridge = true;
        self
    }

    /// Installs everything globally and returns the shield, to register secrets with.
    ///
    /// # Errors
    /// [`Error::Install`] if a global subscriber or logger already exists.
    pub fn init(self) -> Result<Shield, Error> {
        let shield = match self.shield {
            Some(s) => s,
            None => Shield::builtin()?,
        };
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let writer = RedactingMakeWriter::new(std::io::stderr, shield.clone()).json(self.json);
        let registry = tracing_subscriber::registry().with(filter);
        // `set_global_default` rather than `try_init`, which would also install the `log`
        // bridge whether or not it was asked for.
        let result = if self.json {
            tracing::subscriber::set_global_default(
                registry.with(tracing_subscriber::fmt::layer().json().with_writer(writer)),
            )
        } else {
            tracing::subscriber::set_global_default(
                registry.with(
                    tracing_subscriber::fmt::layer()
                        .fmt_fields(RedactingFields::new(shield.clone()).names_only())
                        .with_writer(writer),
                ),
            )
        };
        result.map_err(|e| Error::Install(e.to_string()))?;
        if !self.no_log_bridge {
            tracing_log::LogTracer::init().map_err(|e| Error::Install(e.to_string()))?;
        }
        if !self.no_panic_hook {
            install_panic_hook(shield.clone());
        }
        Ok(shield)
    }
}

/// Stderr wrapped in a [`RedactWriter`] with `shield`'s rules and the secrets registered so far,
/// for code that prints directly (`writeln!(err, ...)`). Lines show on `flush`; call `finish` at
/// the end to write what is held.
///
/// # Errors
/// Only if the rules' window exceeds the default buffer limit.
pub fn redacting_stderr(shield: &Shield) -> Result<RedactWriter<Stderr>, hush_stream::StreamError> {
    RedactWriter::new(
        std::io::stderr(),
        shield.rules().clone(),
        shield.known_snapshot(),
        Options::default(),
    )
}

/// Stdout wrapped in a [`RedactWriter`], as [`redacting_stderr`].
///
/// # Errors
/// Only if the rules' window exceeds the default buffer limit.
pub fn redacting_stdout(shield: &Shield) -> Result<RedactWriter<Stdout>, hush_stream::StreamError> {
    RedactWriter::new(
        std::io::stdout(),
        shield.rules().clone(),
        shield.known_snapshot(),
        Options::default(),
    )
}
