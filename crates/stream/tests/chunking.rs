//! The redactor's central property: output does not depend on how input is chunked, and no
//! secret (rule example or registered value, in any encoding) survives.

use std::sync::{Arc, OnceLock};

use hush_patterns::{KnownValues, KnownValuesBuilder, RuleSet};
use hush_stream::{Options, Redactor};
use proptest::prelude::*;

fn rules() -> Arc<RuleSet> {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    RULES
        .get_or_init(|| Arc::new(RuleSet::builtin().unwrap()))
        .clone()
}

/// A registered value (built at runtime; fake).
fn known_value() -> Vec<u8> {
    let mut v = b"Kv-".to_vec();
    v.extend_from_slice(b"q7Zr2Lm9Xw4/Pk8Tn3+Vb6Hc5");
    v
}

fn known() -> Arc<KnownValues> {
    let mut kb = KnownValuesBuilder::new();
    kb.add("TEST_VALUE", &known_value()).unwrap();
    Arc::new(kb.build().unwrap())
}

/// Redacts `input` fed in pieces of the given sizes (cycled).
fn redact_chunked(input: &[u8], sizes: &[usize]) -> Vec<u8> {
    redact_with(input, sizes, 1)
}

fn redact_with(input: &[u8], sizes: &[usize], threads: usize) -> Vec<u8> {
    let mut opts = Options::default();
    opts.threads = threads;
    feed(Redactor::new(rules(), known(), opts).unwrap(), input, sizes)
}

/// Pushes `input` in pieces of the given sizes (cycled), then finishes.
fn feed(mut r: Redactor, input: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < input.len() {
        let n = sizes[i % sizes.len()].max(1).min(input.len() - at);
        r.push(&input[at..at + n], &mut out).unwrap();
        at += n;
        i += 1;
    }
    r.finish(&mut out);
    out
}

fn whole(input: &[u8]) -> Vec<u8> {
    redact_chunked(input, &[input.len().max(1)])
}

fn b64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    s
}

/// Example secrets of the pack (stated ones), to plant in generated input.
fn example_secrets() -> Vec<(String, String)> {
    let set = rules();
    let mut out = Vec::new();
    for r in set.rules() {
        for ex in r.examples() {
            if let Some(s) = &ex.secret {
                out.push((ex.text.clone(), s.clone()));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn one_byte_random_and_whole_reads_agree_on_every_example() {
    let examples = example_secrets();
    let mut doc = Vec::new();
    for (i, (text, _)) in examples.iter().enumerate() {
        doc.extend_from_slice(format!("line {i} ").as_bytes());
        doc.extend_from_slice(text.as_bytes());
        doc.push(b'\n');
    }
    let expected = whole(&doc);
    assert_eq!(redact_chunked(&doc, &[1]), expected);
    assert_eq!(redact_chunked(&doc, &[7, 1, 4096, 3, 65536, 13]), expected);
    // Each example on its own, byte by byte: its stated secret is gone. (Across the whole
    // document a secret string may recur in another example's text, outside its rule's context.)
    for (text, secret) in &examples {
        let out = redact_chunked(text.as_bytes(), &[1]);
        assert!(
            !contains(&out, secret.as_bytes()),
            "secret of example survived: {text:?}"
        );
    }
}

#[test]
fn a_large_input_crossing_many_batches_matches_one_read() {
    // More than window + batch, so push() emits in the middle, with secrets around the cuts.
    let examples = example_secrets();
    let mut doc = Vec::new();
    let mut k = 0;
    while doc.len() < 10 << 20 {
        doc.extend_from_slice(b"2024-05-01T00:00:00Z level=info msg=\"request completed\" path=/api/v1/orders status=200\n");
        if doc.len() % 7 == 0 {
            let (text, _) = &examples[k % examples.len()];
            doc.extend_from_slice(text.as_bytes());
            doc.push(b'\n');
            k += 1;
        }
    }
    let expected = whole(&doc);
    assert_eq!(redact_chunked(&doc, &[1 << 20, 333_333, 65_537]), expected);
    assert_eq!(redact_with(&doc, &[1 << 20, 333_333, 65_537], 3), expected);
    assert_eq!(redact_with(&doc, &[doc.len()], 2), expected);
}

#[test]
fn registered_values_never_survive_in_any_encoding() {
    let v = known_value();
    let text = String::from_utf8(v.clone()).unwrap();
    let pct: String = v
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
    let forms = [
        text.clone(),
        b64(&v),
        b64(format!("x:{text}").as_bytes()),
        b64(format!("xy:{text}").as_bytes()),
        pct,
        hex,
    ];
    for form in forms {
        let input = format!("value: {form}\n");
        let out = redact_chunked(input.as_bytes(), &[3]);
        assert!(
            !contains(&out, form.as_bytes()),
            "{form} survived: {}",
            String::from_utf8_lossy(&out)
        );
        assert!(!contains(&out, &v));
    }
}

/// Small rules (window of a few hundred bytes) and a tiny batch, so that every push searches and
/// emits: the chunking property at many cut points, including inside secrets and encodings.
fn small_rules() -> Arc<RuleSet> {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            let mut b = hush_patterns::RuleSetBuilder::new();
            b.builtin(false);
            b.add_toml(
                "small.toml".as_ref(),
                r#"
[[rules]]
id = "t.token"
name = "token"
regex = '''\b(tok_[A-Za-z0-9]{12})\b'''
keywords = ["tok_"]
examples = ["x"]

[[rules]]
id = "t.block"
name = "block"
regex = '''(?s)(BEGIN[A-Za-z0-9\s]{4,40}?END)'''
keywords = ["begin"]
max_len = 60
examples = ["x"]

[[rules]]
id = "t.assign"
name = "assignment"
regex = '''[a-z_]{0,8}pass\s{0,2}=\s{0,2}([A-Za-z0-9]{6,20})'''
keywords = ["pass"]
examples = ["x"]
"#,
            )
            .unwrap();
            Arc::new(b.build().unwrap())
        })
        .clone()
}

fn small_chunked(input: &[u8], sizes: &[usize], batch: usize, threads: usize) -> Vec<u8> {
    let mut opts = Options::default();
    opts.batch = batch;
    opts.threads = threads;
    feed(
        Redactor::new(small_rules(), known(), opts).unwrap(),
        input,
        sizes,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn small_window_any_chunking_and_batch_equals_whole(
        input in proptest::collection::vec(proptest::sample::select(
            b"tok_ABCDEFGHabcd0123 BEGIN END pass= \n=VG9r\x00\xff%3D\x1b[1m".to_vec()), 0..6000),
        sizes in proptest::collection::vec(1usize..50, 1..6),
        batch in 1usize..80,
        threads in 1usize..4,
    ) {
        let expected = small_chunked(&input, &[input.len().max(1)], 1 << 20, 1);
        prop_assert_eq!(small_chunked(&input, &sizes, batch, threads), expected.clone());
        // One big search split across threads, too.
        prop_assert_eq!(small_chunked(&input, &[input.len().max(1)], 1 << 20, threads), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_chunking_equals_whole(
        noise in proptest::collection::vec(proptest::sample::select(b"ab \n=:\"/-_AKIAghp_xoxb-0189+%3D".to_vec()), 0..600),
        plant in 0usize..400,
        which in 0usize..1000,
        sizes in proptest::collection::vec(1usize..97, 1..8),
    ) {
        let examples = example_secrets();
        let (text, secret) = &examples[which % examples.len()];
        let mut input = noise.clone();
        let at = plant.min(input.len());
        input.splice(at..at, format!("\n{text}\n").bytes());
        let expected = whole(&input);
        prop_assert_eq!(redact_chunked(&input, &sizes), expected.clone());
        prop_assert!(!contains(&expected, secret.as_bytes()));
    }
}
