//! What a redacted secret is replaced with.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// A key for the keyed-hash replacement style. Held in zeroizing memory; never printed.
pub struct HashKey(Zeroizing<Vec<u8>>);

impl HashKey {
    /// Keys shorter than this are refused: the tag would be easy to brute-force back to short
    /// secrets.
    pub const MIN_LEN: usize = 16;

    /// Wraps key bytes (copied into zeroizing memory).
    ///
    /// # Errors
    /// [`StyleError::ShortKey`] when the key is shorter than [`HashKey::MIN_LEN`] bytes.
    pub fn new(key: &[u8]) -> Result<HashKey, StyleError> {
        if key.len() < Self::MIN_LEN {
            return Err(StyleError::ShortKey {
                len: key.len(),
                min: Self::MIN_LEN,
            });
        }
        let mut k = Zeroizing::new(Vec::with_capacity(key.len()));
        k.extend_from_slice(key);
        Ok(HashKey(k))
    }

    /// The first 4 bytes of HMAC-SHA256(key, secret), as 8 lowercase hex digits.
    fn tag(&self, secret: &[u8]) -> String {
        // INVARIANT: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("hmac takes any key length");
        mac.update(secret);
        let out = mac.finalize().into_bytes();
        out[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey(..)")
    }
}

/// Errors building a style.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StyleError {
    /// The keyed-hash key is too short.
    #[error("the hash key is {len} bytes; use at least {min} random bytes (e.g. `head -c 32 /dev/urandom`)")]
    ShortKey {
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
}

/// The replacement for a redacted span.
#[derive(Debug, Default)]
#[non_exhaustive]
pub enum Style {
    /// `[REDACTED:<rule-id>]`.
    #[default]
    Label,
    /// A fixed `***`.
    Mask,
    /// The rule's literal prefix kept, the rest masked: `ghp_****`. Secrets without a keyword
    /// prefix become `****`.
    KeepPrefix,
    /// `[REDACTED:<rule-id>:<8 hex>]`, the hex being a keyed hash of the secret: equal secrets
    /// can be correlated across logs, but not recovered.
    KeyedHash(HashKey),
}

impl Style {
    /// Writes the replacement for `secret` (the bytes being replaced), found by `rule_id` whose
    /// keywords are `keywords`, to `out`. Replacements hold only `[A-Za-z0-9_.:*-]` and brackets,
    /// so they are safe inside JSON strings and shell words.
    pub(crate) fn write(
        &self,
        rule_id: &str,
        keywords: &[String],
        secret: &[u8],
        out: &mut Vec<u8>,
    ) {
        match self {
            Style::Label => {
                out.extend_from_slice(b"[REDACTED:");
                out.extend_from_slice(rule_id.as_bytes());
                out.push(b']');
            }
            Style::Mask => out.extend_from_slice(b"***"),
            Style::KeepPrefix => {
                let keep = keywords
                    .iter()
                    .filter(|k| {
                        secret.len() > k.len()
                            && secret[..k.len()].eq_ignore_ascii_case(k.as_bytes())
                    })
                    .map(String::len)
                    .max()
                    .unwrap_or(0);
                out.extend(
                    secret[..keep]
                        .iter()
                        .filter(|b| b.is_ascii_alphanumeric() || b"_-.".contains(b)),
                );
                out.extend_from_slice(b"****");
            }
            Style::KeyedHash(key) => {
                out.extend_from_slice(b"[REDACTED:");
                out.extend_from_slice(rule_id.as_bytes());
                out.push(b':');
                out.extend_from_slice(key.tag(secret).as_bytes());
                out.push(b']');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(style: &Style, id: &str, kws: &[&str], secret: &[u8]) -> String {
        let kws: Vec<String> = kws.iter().map(|s| s.to_string()).collect();
        let mut out = Vec::new();
        style.write(id, &kws, secret, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn styles_render() {
        let secret = b"ghp_Zq9r8s7t6u5v4w3x2y1z0a9b8c7d6e5f4g3h"; // hush:allow(fake test value)
        assert_eq!(
            render(&Style::Label, "hush.github.pat", &["ghp_"], secret),
            "[REDACTED:hush.github.pat]"
        );
        assert_eq!(
            render(&Style::Mask, "hush.github.pat", &["ghp_"], secret),
            "***"
        );
        assert_eq!(
            render(&Style::KeepPrefix, "hush.github.pat", &["ghp_"], secret),
            "ghp_****"
        );
        assert_eq!(
            render(
                &Style::KeepPrefix,
                "hush.generic.password-quoted",
                &["password"],
                b"s3cr3t-v4lue"
            ),
            "****"
        );
        let key = HashKey::new(b"0123456789abcdef0123456789abcdef").unwrap();
        let a = render(&Style::KeyedHash(key), "hush.github.pat", &[], secret);
        assert!(
            a.starts_with("[REDACTED:hush.github.pat:")
                && a.len() == "[REDACTED:hush.github.pat:]".len() + 8,
            "{a}"
        );
    }

    #[test]
    fn keyed_hash_correlates_equal_secrets_only() {
        let key = Style::KeyedHash(HashKey::new(&[7u8; 32]).unwrap());
        let a = render(&key, "r", &[], b"secret-one-aaaaaaaa");
        let b = render(&key, "r", &[], b"secret-one-aaaaaaaa");
        let c = render(&key, "r", &[], b"secret-two-bbbbbbbb");
        assert_eq!(a, b);
        assert_ne!(a, c);
        let other = Style::KeyedHash(HashKey::new(&[8u8; 32]).unwrap());
        assert_ne!(a, render(&other, "r", &[], b"secret-one-aaaaaaaa"));
    }

    #[test]
    fn short_keys_are_refused_and_keys_never_print() {
        assert!(matches!(
            HashKey::new(b"short"),
            Err(StyleError::ShortKey { len: 5, .. })
        ));
        let key = HashKey::new(b"a-very-secret-hash-key-value").unwrap();
        assert_eq!(format!("{key:?}"), "HashKey(..)");
    }
}
