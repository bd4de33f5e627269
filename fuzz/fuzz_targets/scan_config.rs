//! `.hush.toml` and baseline files are untrusted input: any bytes give a value or an error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = hush_scan::Config::parse(Path::new(".hush.toml"), text) {
        assert!(!e.to_string().is_empty());
    }
    match hush_scan::Baseline::parse(Path::new("baseline.toml"), text) {
        // A parsed baseline writes out to text that parses back to the same entries.
        Ok(b) => {
            let again = hush_scan::Baseline::parse(Path::new("again.toml"), &b.to_toml())
                .expect("a written baseline parses");
            assert_eq!(again.entries(), b.entries());
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
