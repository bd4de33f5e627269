//! Arbitrary input and chunking through the streaming redactor: never panics, and the output
//! equals redacting the whole input at once.
#![no_main]

use std::sync::{Arc, OnceLock};

use hush_patterns::{KnownValues, KnownValuesBuilder, RuleSet};
use hush_stream::{Options, Redactor};
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static (Arc<RuleSet>, Arc<KnownValues>) {
    static ENGINE: OnceLock<(Arc<RuleSet>, Arc<KnownValues>)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut kb = KnownValuesBuilder::new();
        kb.add("FUZZ", b"fuzz-known-value/+=").expect("long enough");
        (Arc::new(RuleSet::builtin().expect("rules")), Arc::new(kb.build().expect("known")))
    })
}

fn redact(data: &[u8], sizes: &[u8], batch: usize) -> Vec<u8> {
    let (rules, known) = engine();
    let mut opts = Options::default();
    opts.batch = batch;
    let mut r = Redactor::new(rules.clone(), known.clone(), opts).expect("redactor");
    let mut out = Vec::new();
    let (mut at, mut i) = (0, 0);
    while at < data.len() {
        let n = usize::from(sizes.get(i % sizes.len().max(1)).copied().unwrap_or(255)).max(1).min(data.len() - at);
        r.push(&data[at..at + n], &mut out).expect("within limits");
        at += n;
        i += 1;
    }
    r.finish(&mut out);
    out
}

fuzz_target!(|input: (Vec<u8>, Vec<u8>, u16)| {
    let (data, sizes, batch) = input;
    let whole = redact(&data, &[255], 1 << 20);
    assert_eq!(redact(&data, &sizes, usize::from(batch).max(1)), whole);
});
