//! Arbitrary haystacks through the built-in rules and a known value: never panic, and every
//! finding's spans lie inside the haystack.
#![no_main]

use std::sync::OnceLock;

use hush_patterns::{KnownValues, KnownValuesBuilder, RuleSet};
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static (RuleSet, KnownValues) {
    static ENGINE: OnceLock<(RuleSet, KnownValues)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut kb = KnownValuesBuilder::new();
        kb.add("FUZZ", b"fuzz-known-value/+=").expect("long enough");
        (RuleSet::builtin().expect("built-in rules"), kb.build().expect("known values"))
    })
}

fuzz_target!(|data: &[u8]| {
    let (set, known) = engine();
    for f in set.find_all(data, Some(known)) {
        assert!(f.span.end <= data.len() && f.secret_span.end <= data.len());
        assert!(f.span.start <= f.span.end && f.secret_span.start <= f.secret_span.end);
    }
});
