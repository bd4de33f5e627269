//! The sandbox helper reads a flags byte, a length and a JSON request from its control socket,
//! the launcher reads JSON report lines back, and the network proxy parses request heads
//! written by the sandboxed program: none of them may panic on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hush_exec::fuzzing::helper_request(data);
    let _ = hush_exec::fuzzing::proxy_head(data);
});
