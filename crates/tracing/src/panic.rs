//! A panic hook that redacts panic messages and payloads before they are printed.

use std::io::Write;

use crate::Shield;

/// Replaces the panic hook: the message (payload) and location are redacted, then printed to
/// stderr in the standard library's format. A secret in an `unwrap()` on an error, or in a
/// `panic!("{token}")`, does not reach the terminal.
pub fn install_panic_hook(shield: Shield) {
    install_panic_hook_with(shield, || Box::new(std::io::stderr()));
}

/// [`install_panic_hook`], writing to the writer `sink` returns (for tests, or a log file).
pub fn install_panic_hook_with<F>(shield: Shield, sink: F)
where
    F: Fn() -> Box<dyn Write> + Send + Sync + 'static,
{
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "Box<dyn Any>".to_string()
        };
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("<unnamed>");
        let text = format!("\nthread '{name}' panicked at {location}:\n{msg}\n");
        let _ = sink().write_all(shield.redact_str(&text).as_bytes());
    }));
}
