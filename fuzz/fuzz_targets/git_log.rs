//! `git log -p` output carries repository content (paths, lines, author names): the patch parser
//! must never panic and must keep one line number per added line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hush_scan::git::fuzz_parse_log(data);
});
