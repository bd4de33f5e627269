//! Arbitrary text as an env spec (TOML) and as a dotenv file: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        hush_vault::fuzzing::env_files(text);
    }
});
