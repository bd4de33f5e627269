//! Arbitrary bytes as a vault file: every rejection is an error, never a panic; headers with a
//! cheap KDF are unlocked with the vectors' passphrase so the entry table decoder is reached
//! (seed with `tests/data/vault/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hush_vault::fuzzing::vault_file(data);
});
