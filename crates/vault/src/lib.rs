//! Secrets at rest and in memory: an encrypted vault file, the OS keyring, a memory-only store,
//! and validation of the environment variables a program is given.
//!
//! # How it fits together
//!
//! - [`Vault`]: an encrypted file (argon2id → key-wrapping key; a random data key under
//!   AES-256-GCM seals the entry table; the header is authenticated). [`Vault::open`] reads a
//!   snapshot, [`Vault::open_for_update`] holds the write lock for a read-modify-write, and
//!   [`Vault::save`] replaces the file atomically and durably. The format is in `FORMAT.md`.
//! - [`Entry`]: a `SecretString` value with its name, dates, expiry, rotation interval, tags
//!   and description. `Debug` redacts the value; there is no `Display`, `Clone` or `Serialize`.
//! - [`KeyStore`]: the OS keyring ([`OsKeyStore`]) or a [`MockKeyStore`]; it can hold single
//!   secrets or a vault's passphrase.
//! - [`MemoryStore`]: secrets taken from the environment (and removed from it) or from a pipe,
//!   never written anywhere.
//! - [`EnvSpec`] and [`check`]: what variables a program expects, checked for presence, format
//!   (detection rules through [`RuleMatcher`], a regex, a minimum length) and weak values.
//!
//! ```
//! use hush_vault::{Entry, KdfParams, SecretString, Vault, ExposeSecret};
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("vault");
//! let pass = SecretString::from("correct horse battery staple");
//! // Small KDF costs keep this example fast; real vaults use `KdfParams::default()`.
//! let kdf = KdfParams::new(64, 1, 1)?;
//! let mut vault = Vault::create(&path, &pass, kdf)?;
//! vault.insert(Entry::new("API_TOKEN", SecretString::from("t0ken-value"), std::time::SystemTime::now())?);
//! vault.save()?;
//! drop(vault); // releases the write lock
//!
//! let vault = Vault::open(&path, &pass)?;
//! assert_eq!(vault.get("API_TOKEN").unwrap().value().expose_secret(), "t0ken-value");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What this crate does not promise
//!
//! - Memory is wiped on drop, but the OS may have swapped pages out and the allocator may have
//!   moved buffers we do not own (the keyring crate's return values, the kernel's copy of the
//!   environment). `mlock` is not used.
//! - A wrong passphrase and a tampered KDF header are indistinguishable: both fail to unwrap
//!   the data key, and are reported as a wrong passphrase after the header checksum passes.
//! - The advisory lock serialises hush writers only; a process that ignores it can still
//!   replace the file (readers then see its complete file, never a torn one).
//! - Values must be UTF-8 without NUL bytes, as environment variables are.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod entry;
mod envcheck;
mod error;
mod format;
mod generate;
mod harden;
mod keystore;
mod memory;
mod vault;

pub use entry::{
    validate_name, Entry, EntryStatus, MAX_DESCRIPTION_LEN, MAX_NAME_LEN, MAX_TAGS, MAX_TAG_LEN,
    MAX_VALUE_LEN,
};
pub use envcheck::{
    check, EnvSpec, NoRules, Problem, ProblemKind, Report, RuleMatcher, Severity, VarReport,
    VarSpec,
};
pub use error::{Error, Result};
pub use format::{HeaderInfo, KdfParams, HEADER_LEN, MAGIC, MAX_PAYLOAD_LEN, VERSION};
pub use generate::{generate, MAX_GENERATED_LEN, MIN_GENERATED_LEN};
pub use harden::{core_dumps_disabled, disable_core_dumps};
pub use keystore::{passphrase_account, KeyStore, MockKeyStore, OsKeyStore, HAS_OS_KEYRING};
pub use memory::{parse_env_format, read_secret, MemoryStore, MAX_ENV_INPUT};
pub use secrecy::{ExposeSecret, SecretBox, SecretString};
pub use vault::{check_private_file, Vault};

/// Entry points for the fuzz targets and their replay tests; not part of the stable API.
#[doc(hidden)]
pub mod fuzzing {
    use std::path::Path;

    /// The passphrase fuzz inputs are tried with: the one `tests/data/vault/` uses, so those
    /// vectors make a seed corpus that reaches the entry table.
    pub const PASSPHRASE: &str = "vector passphrase";

    /// Everything a vault file goes through, on arbitrary bytes: header parsing, and (when
    /// the header asks for a cheap KDF, so runs stay fast) unlock and entry decoding; then the
    /// entry table decoder on the raw bytes. Returns the number of entries unlocked.
    pub fn vault_file(data: &[u8]) -> usize {
        let path = Path::new("fuzz.vault");
        let mut n = 0;
        if let Ok(info) = crate::HeaderInfo::parse(path, data) {
            if info.kdf.memory_kib() <= 256 && info.kdf.passes() <= 2 && info.kdf.lanes() <= 2 {
                let pass = crate::SecretString::from(PASSPHRASE);
                if let Ok(v) = crate::Vault::from_bytes(path, data, &pass) {
                    n = v.len();
                    for e in v.entries() {
                        let _ = e.status(std::time::SystemTime::now());
                    }
                }
            }
        }
        let _ = crate::format::decode(data);
        n
    }

    /// An env spec and a dotenv file from arbitrary text.
    pub fn env_files(text: &str) {
        if let Ok(spec) = crate::EnvSpec::parse(text, "fuzz.toml") {
            let env = crate::MemoryStore::new();
            let _ = crate::check(Some(&spec), &env, &crate::NoRules);
        }
        if let Ok(pairs) = crate::parse_env_format(text, "fuzz.env") {
            let mut env = crate::MemoryStore::new();
            for (k, v) in pairs {
                let _ = env.insert(&k, v);
            }
            let _ = crate::check(None, &env, &crate::NoRules);
        }
    }
}
