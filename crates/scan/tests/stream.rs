//! Streaming a file through a bounded window finds exactly what searching it whole finds, at the
//! same lines and columns, wherever the window boundaries fall.

use std::path::Path;
use std::sync::Arc;

use hush_patterns::RuleSetBuilder;
use hush_scan::{Scanner, Stats};
use proptest::prelude::*;

const RULES: &str = r#"
[[rules]]
id = "test.token"
name = "Test token"
regex = '''\b(tok_[a-z0-9]{20})\b'''
keywords = ["tok_"]
examples = ["tok_a1b2c3d4e5f6g7h8i9j0"]
"#;

fn scanner(chunk: usize) -> Scanner {
    let mut b = RuleSetBuilder::new();
    b.builtin(false);
    b.add_toml(Path::new("test.toml"), RULES).expect("rules");
    Scanner::new(Arc::new(b.build().expect("build")), None).with_chunk_danger_small(chunk)
}

fn token(seed: u64) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let body: String = (0..20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % 36) as usize] as char
        })
        .collect();
    format!("tok_{body}")
}

type Loc = (usize, usize, usize, usize);

fn locs(found: &[hush_scan::Detection]) -> Vec<Loc> {
    found
        .iter()
        .map(|d| (d.line, d.column, d.end_line, d.end_column))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn windows_do_not_change_findings(
        pieces in proptest::collection::vec((0usize..300, any::<bool>(), 0u64..1000), 1..40),
        chunk in 1usize..400,
    ) {
        let mut text = String::new();
        for (filler, newline, seed) in &pieces {
            text.push_str(&"é.x ".repeat(filler / 4));
            if *newline { text.push('\n'); }
            text.push_str(&token(*seed));
            text.push(' ');
        }
        let path: Arc<str> = Arc::from("f.txt");
        let whole = scanner(1 << 20).scan_bytes(&path, text.as_bytes(), None, &mut Stats::default());
        let mut stats = Stats::default();
        let streamed = scanner(chunk)
            .scan_reader(&path, text.as_bytes(), true, &mut stats)
            .expect("read");
        prop_assert_eq!(locs(&whole), locs(&streamed));
        prop_assert_eq!(whole.len(), pieces.len());
        prop_assert_eq!(stats.bytes, text.len() as u64);
        prop_assert_eq!(stats.files, 1);
    }
}

#[test]
fn a_nul_in_the_first_8_kib_marks_binary() {
    let mut data = vec![b'a'; 100];
    data.push(0);
    data.extend_from_slice(token(1).as_bytes());
    let mut stats = Stats::default();
    let found = scanner(64)
        .scan_reader(&Arc::from("b"), &data[..], true, &mut stats)
        .expect("read");
    assert!(found.is_empty());
    assert_eq!((stats.binary_skipped, stats.files), (1, 0));
    // Not sniffed (stdin): searched.
    let mut stats = Stats::default();
    let found = scanner(64)
        .scan_reader(&Arc::from("-"), &data[..], false, &mut stats)
        .expect("read");
    assert_eq!(found.len(), 1);
}
