//! Behaviour of the engine on hand-made rule sets: windows, decoding, known values, overlaps,
//! gitleaks import and load errors.

use hush_patterns::{
    Encoding, Error, KnownValuesBuilder, RuleSet, RuleSetBuilder, KNOWN_VALUE_RULE_ID,
};

/// A deterministic fake credential body: `n` characters of `alphabet` from `seed`.
fn fake(alphabet: &[u8], n: usize, seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn b64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

const ACME: &str = r#"
[[rules]]
id = "acme.token"
name = "ACME token"
regex = '''\b(acme_[A-Za-z0-9]{24})\b'''
keywords = ["acme_"]
entropy = 3.0
examples = ["x"]

[[rules]]
id = "acme.generic"
name = "generic acme assignment"
regex = '''(?i)acme_secret\s{0,3}=\s{0,3}"([^"\s]{8,64})"'''
keywords = ["acme_secret"]
priority = 10
examples = ["x"]

[[rules]]
id = "acme.pem"
name = "ACME private block"
regex = '''(?s)(-----BEGIN ACME KEY-----[A-Za-z0-9+/=\s]{16,}?-----END ACME KEY-----)'''
keywords = ["-----BEGIN ACME KEY-----"]
max_len = 2000
examples = ["x"]
"#;

fn acme() -> RuleSet {
    let mut b = RuleSetBuilder::new();
    b.builtin(false);
    b.add_toml("acme.toml".as_ref(), ACME).unwrap();
    b.build().unwrap()
}

fn token(seed: u64) -> String {
    format!("acme_{}", fake(ALNUM, 24, seed))
}

fn secrets(hay: &[u8], set: &RuleSet) -> Vec<(String, String, Encoding)> {
    set.find(hay)
        .into_iter()
        .map(|f| {
            (
                f.rule_id.to_string(),
                String::from_utf8_lossy(&hay[f.secret_span]).into_owned(),
                f.encoding,
            )
        })
        .collect()
}

#[test]
fn ruleset_is_send_and_sync() {
    fn assert<T: Send + Sync>() {}
    assert::<RuleSet>();
    assert::<hush_patterns::KnownValues>();
}

#[test]
fn finds_plain_token_with_context_and_boundaries() {
    let set = acme();
    let t = token(1);
    let hay = format!("level=info msg=\"configured\" key={t} other=1\n");
    assert_eq!(
        secrets(hay.as_bytes(), &set),
        vec![("acme.token".into(), t.clone(), Encoding::Plain)]
    );
    // Inside a longer word: no match.
    let hay = format!("key=x{t}Z");
    assert!(set.find(hay.as_bytes()).is_empty());
    // Keyword case does not matter to the prefilter, but the regex decides.
    let hay = t.replace("acme_", "ACME_");
    assert!(set.find(hay.as_bytes()).is_empty());
}

#[test]
fn low_entropy_and_placeholders_are_dropped() {
    let set = acme();
    assert!(set.find(b"acme_abababababababababababab").is_empty());
    assert!(set.find(b"acme_xxxxxxxxxxxxxxxxxxxxxxxx").is_empty());
    assert!(set.find(b"acme_secret = \"${ACME_SECRET}\"").is_empty());
}

#[test]
fn overlapping_findings_resolve_to_the_more_specific_rule() {
    let set = acme();
    let t = token(2);
    let hay = format!("acme_secret = \"{t}\"");
    let found = set.find(hay.as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(&*found[0].rule_id, "acme.token");
    // Both are there before resolution.
    assert_eq!(set.find_all(hay.as_bytes(), None).len(), 2);
    // A longer generic secret that contains the token wins on length.
    let hay = format!("acme_secret = \"pre{t}\"");
    let found = set.find(hay.as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(&*found[0].rule_id, "acme.generic");
}

#[test]
fn multi_line_block_within_max_len() {
    let set = acme();
    let body = fake(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        64,
        3,
    );
    let block = format!(
        "-----BEGIN ACME KEY-----\n{}\n{}\n-----END ACME KEY-----",
        &body[..32],
        &body[32..]
    );
    let hay = format!("prefix\n{block}\nsuffix");
    assert_eq!(
        secrets(hay.as_bytes(), &set),
        vec![("acme.pem".into(), block, Encoding::Plain)]
    );
    // Longer than max_len: not reported.
    let long = format!(
        "-----BEGIN ACME KEY-----\n{}\n-----END ACME KEY-----",
        "QUJD".repeat(600)
    );
    assert!(set.find(long.as_bytes()).is_empty());
}

#[test]
fn non_utf8_haystack_is_searched_as_bytes() {
    let set = acme();
    let t = token(4);
    let mut hay = vec![0xff, 0xfe, b' '];
    hay.extend_from_slice(t.as_bytes());
    hay.extend_from_slice(&[b' ', 0xc3, 0x28, 0x00]);
    let found = set.find(&hay);
    assert_eq!(found.len(), 1);
    assert_eq!(&hay[found[0].secret_span.clone()], t.as_bytes());
}

#[test]
fn base64_encoded_secret_is_reported_against_the_encoded_span() {
    let set = acme();
    let t = token(5);
    for prefix in ["", " ", "k=", "id: ", "user:"] {
        let enc = b64(format!("{prefix}{t}\n").as_bytes());
        let hay = format!("data:\n  token: {enc}\n");
        let found = set.find(hay.as_bytes());
        assert_eq!(found.len(), 1, "prefix {prefix:?}: {found:?}");
        let f = &found[0];
        assert_eq!(f.encoding, Encoding::Base64);
        let start = hay.find(&enc).unwrap();
        assert!(f.secret_span.start >= start && f.secret_span.end <= start + enc.len());
        // The encoded span decodes back to (a superset of) the secret.
        let span = &hay[f.secret_span.clone()];
        assert!(span.len() >= t.len() * 4 / 3, "{span}");
    }
}

#[test]
fn percent_and_nested_encodings_are_decoded_to_depth_two() {
    let set = acme();
    let t = token(6);
    let hay = "url=x%3Dacme_secret%20%3D%20%22".to_string() + &fake(ALNUM, 20, 7) + "%22&y=1";
    let found = set.find(hay.as_bytes());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].encoding, Encoding::Percent);
    // base64 of a percent-encoded assignment: depth 2.
    let inner = format!("acme_secret%20=%20%22{}%22", fake(ALNUM, 20, 8));
    let hay = format!("v: {}", b64(inner.as_bytes()));
    let found = set.find(hay.as_bytes());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].encoding, Encoding::Base64);
    // Three layers are beyond the documented depth.
    let hay = format!("v: {}", b64(b64(b64(t.as_bytes()).as_bytes()).as_bytes()));
    assert!(set.find(hay.as_bytes()).is_empty());
}

#[test]
fn known_values_in_every_encoding() {
    let set = acme();
    let value = format!("s3cr3t/{}+\"x'", fake(ALNUM, 16, 9));
    let mut kb = KnownValuesBuilder::new();
    kb.add("SERVICE_PASSWORD", value.as_bytes()).unwrap();
    let known = kb.build().unwrap();
    let pct: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
    let forms = [
        (value.clone(), Encoding::Plain),
        (b64(value.as_bytes()), Encoding::Base64),
        (b64(format!("u:{value}").as_bytes()), Encoding::Base64),
        (b64(format!("us:{value}").as_bytes()), Encoding::Base64),
        (pct, Encoding::Percent),
        (value.replace('"', "\\\""), Encoding::JsonEscaped),
        (value.replace('\'', "'\\''"), Encoding::ShellEscaped),
        (hex, Encoding::Hex),
    ];
    for (form, encoding) in forms {
        let hay = format!("log line: [{form}] end");
        let found = set.find_with_known(hay.as_bytes(), &known);
        assert_eq!(found.len(), 1, "{encoding:?}");
        assert_eq!(&*found[0].rule_id, KNOWN_VALUE_RULE_ID);
        assert_eq!(found[0].label.as_deref(), Some("SERVICE_PASSWORD"));
        assert_eq!(found[0].encoding, encoding);
        let start = hay.find(&form).unwrap();
        let s = &found[0].secret_span;
        assert!(
            s.start >= start && s.end <= start + form.len(),
            "{encoding:?} {s:?}"
        );
    }
}

#[test]
fn short_known_values_are_refused_without_echoing_them() {
    let mut kb = KnownValuesBuilder::new();
    let err = kb.add("PIN", b"1234567").unwrap_err();
    assert!(matches!(err, Error::KnownValueTooShort { len: 7, .. }));
    let msg = err.to_string();
    assert!(msg.contains("`PIN`") && !msg.contains("1234567"), "{msg}");
}

#[test]
fn gitleaks_config_imports_with_notes() {
    let cfg = r#"
title = "team config"
[extend]
useDefault = true

[allowlist]
regexes = ['''^acme_test''']

[[rules]]
id = "ACME-Token"
description = "ACME token"
regex = '''(?i)acme[_-]?key\s*[:=]\s*['"]?([a-z0-9]{20,40})'''
secretGroup = 1
keywords = ["acme"]
entropy = 2.5
path = '''\.env$'''

  [[rules.allowlists]]
  regexTarget = "line"
  stopwords = ["fixture"]

[[rules]]
id = "path-only"
path = '''id_rsa$'''
"#;
    let mut b = RuleSetBuilder::new();
    b.builtin(false);
    let notes = b.add_toml("gitleaks.toml".as_ref(), cfg).unwrap();
    let text: Vec<String> = notes.iter().map(ToString::to_string).collect();
    let joined = text.join("\n");
    assert!(joined.contains("useDefault"), "{joined}");
    assert!(
        joined.contains("rule `ACME-Token`: rule id renamed to `acme-token`"),
        "{joined}"
    );
    assert!(
        joined.contains("rule `acme-token`: `path` is not honoured"),
        "{joined}"
    );
    assert!(
        joined.contains("rule `path-only`: rule has no `regex`"),
        "{joined}"
    );
    let set = b.build().unwrap();
    assert_eq!(set.len(), 1);
    let secret = fake(b"abcdefghijklmnopqrstuvwxyz0123456789", 30, 10);
    let hay = format!("ACME_KEY={secret}\n");
    let found = set.find(hay.as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(&hay[found[0].secret_span.clone()], secret);
    // Rule allowlist on the line, global allowlist on the secret.
    assert!(set
        .find(format!("ACME_KEY={secret} # fixture").as_bytes())
        .is_empty());
    assert!(set.find(b"acme_key=acme_test0123k9j8h7g6f5").is_empty());
}

#[test]
fn load_errors_name_file_line_and_rule() {
    let mut b = RuleSetBuilder::new();
    b.builtin(false);
    let bad =
        "\n[[rules]]\nid = \"x.y\"\nname = \"n\"\nregex = '(unclosed'\nkeywords = [\"abc\"]\n";
    let err = b.add_toml("f.toml".as_ref(), bad).unwrap_err().to_string();
    assert!(
        err.starts_with("f.toml:2: rule `x.y`: invalid `regex`"),
        "{err}"
    );
    let short_kw =
        "[[rules]]\nid = \"x.y\"\nname = \"n\"\nregex = 'abcd[0-9]{4}'\nkeywords = [\"ab\"]\n";
    let err = b
        .add_toml("f.toml".as_ref(), short_kw)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("keyword `ab` is shorter than 3 bytes"),
        "{err}"
    );
    let unknown_key = "[[rules]]\nid = \"x.y\"\nname = \"n\"\nregex = 'abcd'\nkeywords = [\"abcd\"]\nentropi = 3.0\n";
    let err = b
        .add_toml("f.toml".as_ref(), unknown_key)
        .unwrap_err()
        .to_string();
    assert!(err.contains("f.toml:") && err.contains("entropi"), "{err}");
    let mut b = RuleSetBuilder::new();
    b.builtin(false).disable("nope.nothing");
    assert!(matches!(b.build(), Err(Error::UnknownRule { .. })));
}

#[test]
fn duplicate_user_ids_are_rejected() {
    let mut b = RuleSetBuilder::new();
    b.builtin(false);
    let one = "[[rules]]\nid = \"x.y\"\nname = \"n\"\nregex = 'abcd'\nkeywords = [\"abcd\"]\n";
    b.add_toml("a.toml".as_ref(), one).unwrap();
    b.add_toml("b.toml".as_ref(), one).unwrap();
    let err = b.build().unwrap_err().to_string();
    assert!(
        err.contains("b.toml:1: rule `x.y` is already defined at a.toml:1"),
        "{err}"
    );
}

#[test]
fn max_len_covers_encoded_forms() {
    let set = acme();
    let rule_max = set.rules().iter().map(|r| r.max_len()).max().unwrap();
    assert_eq!(rule_max, 2000);
    assert!(set.max_len() >= 9 * rule_max);
}

#[test]
fn known_values_built_for_a_rule_set_find_the_same_in_one_pass() {
    let set = RuleSet::builtin().unwrap();
    let mut kb = KnownValuesBuilder::new();
    kb.add("A", b"first-known-value/1").unwrap();
    kb.add("B", format!("acme_{}", fake(ALNUM, 24, 11)).as_bytes())
        .unwrap();
    let separate = kb.build().unwrap();
    let combined = kb.build_for(&set).unwrap();
    let t = format!("ghp_{}", fake(ALNUM, 36, 12));
    let acme_value = fake(ALNUM, 24, 11);
    let hay = format!(
        "a first-known-value/1 b {} c acme_{acme_value} d {t} e {}\n",
        b64(b"first-known-value/1"),
        b64(format!("x:{t}").as_bytes())
    );
    let key = |f: &hush_patterns::Finding| {
        (
            f.secret_span.start,
            f.secret_span.end,
            f.rule_id.to_string(),
            f.label.clone(),
        )
    };
    let mut a: Vec<_> = set
        .find_all(hay.as_bytes(), Some(&separate))
        .iter()
        .map(key)
        .collect();
    let mut b: Vec<_> = set
        .find_all(hay.as_bytes(), Some(&combined))
        .iter()
        .map(key)
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert!(
        a.iter().filter(|k| k.2 == KNOWN_VALUE_RULE_ID).count() >= 3,
        "{a:?}"
    );
    // With another rule set, the combined values fall back to their own pass.
    let other = acme();
    assert_eq!(
        other
            .find_all(b"x first-known-value/1 y", Some(&combined))
            .len(),
        1
    );
}
