//! The keyword prefilter: finds every occurrence of a set of literals (ASCII case-insensitively
//! or exactly), overlapping, in one pass.
//!
//! A DFA (Aho-Corasick) is latency-bound at one dependent table lookup per byte: about
//! 400-500 MB/s here with a few thousand patterns. This filter instead tests, at every position,
//! the case-folded 4-gram that starts there against a bitmap of hashed pattern 4-grams (3-byte
//! patterns are filed under all their 4-byte extensions). Positions are independent, so the CPU
//! overlaps them. Each pattern is represented by its *rarest* 4-gram
//! (judged by a fixed table of how common bytes are in text), so that common words do not send
//! every line to the exact check: `requirepass` is filed under `irep`, not `requ`. A position
//! that passes the bitmap by a hash collision is usually stopped by a second, small bitmap
//! hashed differently, before the exact table is probed.

use crate::common_grams::COMMON_GRAMS;

/// log2 of the number of bits in the 4-gram bitmap: 2^21 bits = 256 KiB. The pack files ~10,000
/// 4-grams (3-byte keywords under all 256 extensions), so a smaller bitmap sends many positions
/// to the exact check by hash collision alone: measured on 100 MB of logs, one thread,
/// 2^18 bits ~470 MB/s, 2^20 ~600, 2^21 ~615, 2^22 ~600, 2^23 ~490 (L2 misses).
const BITS4: u32 = 21;
/// Folds ASCII letters to lower case in all four bytes (other bytes may collide, which the
/// exact comparison sorts out).
const FOLD4: u32 = 0x2020_2020;
/// Shortest pattern the filter accepts.
pub(crate) const MIN_PATTERN_LEN: usize = 3;

#[inline(always)]
fn hash<const B: u32>(key: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> (32 - B)) as usize
}

/// log2 of the bits in the second-stage bitmap (32 KiB), hashed independently of the first.
const CHECK_BITS: u32 = 18;

fn check_hash(key: u32) -> usize {
    (key.wrapping_mul(0x85EB_CA6B)
        .rotate_left(13)
        .wrapping_mul(0xC2B2_AE35)
        >> (32 - CHECK_BITS)) as usize
}

fn key4(g: &[u8]) -> u32 {
    u32::from_le_bytes([g[0], g[1], g[2], g[3]]) | FOLD4
}

/// How rare a (case-folded) byte is in ordinary text and code, 1 (common) to 9 (rare).
fn rarity(b: u8) -> u32 {
    match b | 0x20 {
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 1,
        b'h' | b'l' | b'd' | b'c' | b'u' | b'm' | b' ' => 2,
        b'f' | b'p' | b'g' | b'w' | b'y' | b'b' | b'.' | b'/' | b'"' | b'0'..=b'9' => 4,
        b'v' | b'k' | b'-' | b':' | b'=' | b',' => 5,
        b'x' | b'j' | b'q' | b'z' => 8,
        _ => 7,
    }
}

/// Offset of the rarest 4-gram of `p` (at least 4 bytes): one outside the list of common
/// 4-grams measured on real text if there is one, then the one of rarest bytes.
fn rarest_gram(p: &[u8]) -> usize {
    (0..=p.len() - 4)
        .max_by_key(|&o| {
            let uncommon = COMMON_GRAMS.binary_search(&key4(&p[o..])).is_err();
            let score: u32 = p[o..o + 4].iter().map(|&b| rarity(b)).sum();
            // Prefer the earliest among equals.
            (uncommon, score, usize::MAX - o)
        })
        .unwrap_or(0)
}

/// The folded 3-gram at the start of `g` (folded like [`key4`]; the exact check sorts out
/// collisions).
fn key3(g: &[u8]) -> u32 {
    u32::from_le_bytes([g[0], g[1], g[2], 0]) | (FOLD4 & 0x00ff_ffff)
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Folded gram, or `EMPTY`.
    key: u32,
    /// Range into the entry list.
    start: u32,
    end: u32,
}

const EMPTY: u32 = u32::MAX;

/// An exact table from folded gram to the patterns filed under it (with the gram's offset),
/// behind a bitmap of `2^B` bits. `W` is the bitmap's length in words, `2^(B-6)`; a fixed-size
/// array lets the compiler drop the bounds check in the hot loop.
#[derive(Debug)]
struct Table<const B: u32, const W: usize> {
    bits: Box<[u64; W]>,
    /// A second, independent bitmap consulted before the slots: most positions that pass `bits`
    /// by a hash collision stop here instead of probing the (much larger) slot array.
    check: Box<[u64]>,
    slots: Box<[Slot]>,
    entries: Box<[(u32, u32)]>,
}

impl<const B: u32, const W: usize> Table<B, W> {
    fn new(items: Vec<(u32, u32, u32)>) -> Self {
        let mut by_key: std::collections::BTreeMap<u32, Vec<(u32, u32)>> =
            std::collections::BTreeMap::new();
        // Built on the heap: a 256 KiB array would be built on the stack first.
        let mut bits: Box<[u64; W]> = vec![0u64; W]
            .into_boxed_slice()
            .try_into()
            .expect("a boxed slice of length W");
        let mut check = vec![0u64; 1 << (CHECK_BITS - 6)].into_boxed_slice();
        for (key, id, offset) in items {
            let h = hash::<B>(key);
            bits[h >> 6] |= 1 << (h & 63);
            let c = check_hash(key);
            check[c >> 6] |= 1 << (c & 63);
            by_key.entry(key).or_default().push((id, offset));
        }
        let cap = (by_key.len() * 4).next_power_of_two().max(16);
        let mut slots = vec![
            Slot {
                key: EMPTY,
                start: 0,
                end: 0
            };
            cap
        ]
        .into_boxed_slice();
        let mut entries = Vec::new();
        for (key, list) in by_key {
            let mut at = hash::<B>(key) & (cap - 1);
            while slots[at].key != EMPTY {
                at = (at + 1) & (cap - 1);
            }
            let start = entries.len() as u32;
            entries.extend_from_slice(&list);
            slots[at] = Slot {
                key,
                start,
                end: entries.len() as u32,
            };
        }
        Self {
            bits,
            check,
            slots,
            entries: entries.into_boxed_slice(),
        }
    }

    /// 1 when `key` may be in the table, else 0.
    #[inline(always)]
    fn bit(&self, key: u32) -> u64 {
        let h = hash::<B>(key);
        (self.bits[h >> 6] >> (h & 63)) & 1
    }

    fn get(&self, key: u32) -> &[(u32, u32)] {
        let c = check_hash(key);
        if (self.check[c >> 6] >> (c & 63)) & 1 == 0 {
            return &[];
        }
        let mask = self.slots.len() - 1;
        let mut s = hash::<B>(key) & mask;
        loop {
            let slot = self.slots[s];
            if slot.key == EMPTY {
                return &[];
            }
            if slot.key == key {
                return &self.entries[slot.start as usize..slot.end as usize];
            }
            s = (s + 1) & mask;
        }
    }
}

type Table4 = Table<BITS4, { 1 << (BITS4 - 6) }>;

/// A compiled literal set.
#[derive(Debug)]
pub(crate) struct Prefilter {
    q4: Table4,
    /// The 3-byte patterns as `(folded key, id)`, sorted by key: the end of a haystack (where no
    /// 4-gram starts) looks its last three bytes up here instead of trying each one.
    short: Vec<(u32, u32)>,
    patterns: Vec<Box<[u8]>>,
    case_insensitive: Vec<bool>,
    max_len: usize,
}

impl Prefilter {
    /// Builds the filter from `(pattern, case_insensitive)` pairs.
    ///
    /// # Panics
    /// If a pattern is shorter than [`MIN_PATTERN_LEN`]; callers validate lengths first.
    pub(crate) fn new(patterns: Vec<(Vec<u8>, bool)>) -> Prefilter {
        let mut q4 = Vec::new();
        let mut short = Vec::new();
        for (i, (p, _)) in patterns.iter().enumerate() {
            assert!(
                p.len() >= MIN_PATTERN_LEN,
                "prefilter patterns are at least 3 bytes"
            );
            if p.len() >= 4 {
                let o = rarest_gram(p);
                q4.push((key4(&p[o..]), i as u32, o as u32));
            } else {
                // A 3-byte pattern is filed under every 4-gram it can start: one bitmap test
                // per position is cheaper than a second bitmap for a handful of patterns.
                let mut keys: Vec<u32> =
                    (0..=255u8).map(|b| key4(&[p[0], p[1], p[2], b])).collect();
                keys.sort_unstable();
                keys.dedup();
                q4.extend(keys.into_iter().map(|k| (k, i as u32, 0)));
                short.push((key3(p), i as u32));
            }
        }
        short.sort_unstable();
        let max_len = patterns.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
        let (patterns, case_insensitive) = patterns
            .into_iter()
            .map(|(p, ci)| (p.into_boxed_slice(), ci))
            .unzip();
        Prefilter {
            q4: Table::new(q4),
            short,
            patterns,
            case_insensitive,
            max_len,
        }
    }

    /// Number of patterns.
    pub(crate) fn len(&self) -> usize {
        self.patterns.len()
    }

    /// The patterns, in id order.
    pub(crate) fn patterns(&self) -> impl Iterator<Item = &[u8]> {
        self.patterns.iter().map(|p| &**p)
    }

    /// The longest pattern.
    pub(crate) fn max_len(&self) -> usize {
        self.max_len
    }

    /// Calls `f(pattern, start, end)` for every occurrence, in no particular order.
    #[inline]
    pub(crate) fn for_each(&self, hay: &[u8], mut f: impl FnMut(u32, usize, usize)) {
        if hay.len() < MIN_PATTERN_LEN || self.patterns.is_empty() {
            return;
        }
        if hay.len() >= 4 {
            let last = hay.len() - 4; // the last position that starts a 4-gram
            let mut i = 0;
            // Four positions per step from one 8-byte load: independent work the CPU overlaps,
            // and one branch per step while nothing is found. (Moving this loop into a function
            // of its own that collects candidate blocks measured 15-30% slower.) A block with a
            // candidate is looked at again out of line: sharing the keys and bitmap words with
            // that path made the compiler keep them on the stack, a dozen stores per step.
            while i + 8 <= hay.len() {
                let x = u64::from_le_bytes(hay[i..i + 8].try_into().expect("8 bytes"));
                let any = self.q4.bit(x as u32 | FOLD4)
                    | self.q4.bit((x >> 8) as u32 | FOLD4)
                    | self.q4.bit((x >> 16) as u32 | FOLD4)
                    | self.q4.bit((x >> 24) as u32 | FOLD4);
                if any != 0 {
                    self.candidates(hay, i, &mut f);
                }
                i += 4;
            }
            while i <= last {
                let key = key4(&hay[i..]);
                if self.q4.bit(key) != 0 {
                    self.verify(self.q4.get(key), hay, i, &mut f);
                }
                i += 1;
            }
        }
        // The last three bytes start no 4-gram: look them up among the 3-byte patterns.
        let at = hay.len() - 3;
        let key = key3(&hay[at..]);
        let first = self.short.partition_point(|&(k, _)| k < key);
        for &(k, id) in &self.short[first..] {
            if k != key {
                break;
            }
            self.verify(&[(id, 0)], hay, at, &mut f);
        }
    }

    /// Verifies the candidates among the four positions from `at`.
    #[cold]
    #[inline(never)]
    fn candidates(&self, hay: &[u8], at: usize, f: &mut impl FnMut(u32, usize, usize)) {
        for i in at..at + 4 {
            let key = key4(&hay[i..]);
            if self.q4.bit(key) != 0 {
                self.verify(self.q4.get(key), hay, i, f);
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn verify(
        &self,
        entries: &[(u32, u32)],
        hay: &[u8],
        at: usize,
        f: &mut impl FnMut(u32, usize, usize),
    ) {
        for &(id, offset) in entries {
            let Some(start) = at.checked_sub(offset as usize) else {
                continue;
            };
            let p = &self.patterns[id as usize];
            let Some(text) = hay.get(start..start + p.len()) else {
                continue;
            };
            let equal = if self.case_insensitive[id as usize] {
                text.eq_ignore_ascii_case(p)
            } else {
                text == &**p
            };
            if equal {
                f(id, start, start + p.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(pats: &[(Vec<u8>, bool)], hay: &[u8]) -> Vec<(u32, usize, usize)> {
        let mut out = Vec::new();
        for at in 0..hay.len() {
            for (i, (p, ci)) in pats.iter().enumerate() {
                if let Some(t) = hay.get(at..at + p.len()) {
                    if if *ci {
                        t.eq_ignore_ascii_case(p)
                    } else {
                        t == &p[..]
                    } {
                        out.push((i as u32, at, at + p.len()));
                    }
                }
            }
        }
        out.sort();
        out
    }

    fn run(pats: &[(Vec<u8>, bool)], hay: &[u8]) -> Vec<(u32, usize, usize)> {
        let pf = Prefilter::new(pats.to_vec());
        let mut got = Vec::new();
        pf.for_each(hay, |id, s, e| got.push((id, s, e)));
        got.sort();
        got
    }

    #[test]
    fn finds_every_overlapping_occurrence() {
        let pats: Vec<(Vec<u8>, bool)> = vec![
            (b"ghp_".to_vec(), true),
            (b"gho_".to_vec(), true),
            (b"xoxb-".to_vec(), true),
            (b"abc".to_vec(), true),
            (b"abcd".to_vec(), true),
            (b"bcd".to_vec(), false),
            (b"_@[".to_vec(), true),
            (b"\xff\x00\x01".to_vec(), false),
            (b"requirepass".to_vec(), true),
        ];
        let hay = b"GHP_x gho_ abcd ABCD BCD bcd xOxB- _@[ \x7f`{ \xff\x00\x01 REQUIREPASS ab bcd";
        let got = run(&pats, hay);
        assert_eq!(got, naive(&pats, hay));
        // `_@[` folds like DEL, backtick and brace but must not match them.
        assert_eq!(got.iter().filter(|&&(id, _, _)| id == 6).count(), 1);
        // A 3-byte pattern at the very end is found.
        assert!(got.iter().any(|&(id, _, e)| id == 5 && e == hay.len()));
    }

    #[test]
    fn rare_grams_are_chosen() {
        // `requ` (request) and `ques`... are common in text; `irep` is not.
        let o = rarest_gram(b"requirepass");
        assert!(
            COMMON_GRAMS
                .binary_search(&key4(&b"requirepass"[o..]))
                .is_err(),
            "{o}"
        );
        assert!(COMMON_GRAMS.binary_search(&key4(b"requ")).is_ok());
        assert!(
            COMMON_GRAMS.windows(2).all(|w| w[0] < w[1]),
            "sorted for binary search"
        );
        assert_eq!(rarest_gram(b"service_role"), 4); // "ice_"
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_naive_search(hay in proptest::collection::vec(proptest::sample::select(b"abcABC_-@`{[xyz".to_vec()), 0..200)) {
            let pats: Vec<(Vec<u8>, bool)> = vec![
                (b"abc".to_vec(), true), (b"ab_".to_vec(), true), (b"c_-a".to_vec(), false),
                (b"@`{".to_vec(), true), (b"xyzA".to_vec(), false), (b"aaa".to_vec(), true),
                (b"zab_c".to_vec(), true), (b"bcabc".to_vec(), true),
            ];
            proptest::prop_assert_eq!(run(&pats, &hay), naive(&pats, &hay));
        }
    }
}
