//! Random credentials for `hush vault set --generate`.

use secrecy::SecretString;

use crate::{Error, Result};

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Shortest generated value (8 characters ≈ 48 bits).
pub const MIN_GENERATED_LEN: usize = 8;
/// Longest generated value.
pub const MAX_GENERATED_LEN: usize = 4096;

/// A random alphanumeric value of `len` characters (≈ 5.95 bits each) from the OS generator,
/// built in a buffer that never reallocates.
///
/// # Errors
///
/// [`Error::InvalidValue`] for a length outside 8..=4096; [`Error::Random`].
pub fn generate(len: usize) -> Result<SecretString> {
    if !(MIN_GENERATED_LEN..=MAX_GENERATED_LEN).contains(&len) {
        return Err(Error::InvalidValue {
            name: "--generate".into(),
            reason: "generated values are 8 to 4096 characters",
        });
    }
    let mut out = String::with_capacity(len);
    let mut pool = zeroize::Zeroizing::new([0u8; 256]);
    let mut used = pool.len();
    while out.len() < len {
        if used == pool.len() {
            getrandom::fill(&mut pool[..]).map_err(|e| Error::Random(e.to_string()))?;
            used = 0;
        }
        let b = pool[used];
        used += 1;
        // Rejection sampling: 248 = 4 * 62 keeps every character equally likely.
        if b < 248 {
            out.push(char::from(ALPHABET[usize::from(b % 62)]));
        }
    }
    // INVARIANT: capacity == len; no reallocation happened and none happens in `from`.
    Ok(SecretString::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn lengths_alphabet_and_uniqueness() {
        let a = generate(40).unwrap();
        let b = generate(40).unwrap();
        assert_eq!(a.expose_secret().len(), 40);
        assert!(a.expose_secret().bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(generate(7).is_err());
        assert!(generate(4097).is_err());
    }
}
