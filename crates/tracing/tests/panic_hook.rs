//! The panic hook redacts payloads (its own test binary: the hook is process-global).

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::token;

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn panic_messages_are_redacted() {
    let shield = hush_tracing::Shield::builtin().unwrap();
    let buf = Arc::new(Mutex::new(Vec::new()));
    let b = buf.clone();
    hush_tracing::install_panic_hook_with(shield, move || Box::new(Sink(b.clone())));
    let t = token();
    let _ = std::panic::catch_unwind(|| panic!("request failed with auth token {t}"));
    let r: Result<(), String> = Err(format!("bad credential {t}"));
    let _ = std::panic::catch_unwind(|| r.clone().unwrap());
    let _ = std::panic::take_hook();
    let out = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    assert!(!out.contains(&t), "{out}");
    assert!(out.contains("panicked at"), "{out}");
    assert!(
        out.contains("request failed with auth token [REDACTED:hush.github.pat]"),
        "{out}"
    );
    assert!(
        out.contains("bad credential [REDACTED:hush.github.pat]"),
        "{out}"
    );
}
