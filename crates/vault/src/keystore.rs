//! The OS keyring behind the [`KeyStore`] trait, and an in-memory [`MockKeyStore`] for tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroize;

use crate::entry::secret_from_str;
use crate::{Error, Result};

/// A store of named secrets outside the vault file: the OS keyring, or a mock.
///
/// Accounts are plain names (`DB_PASSWORD`, or [`passphrase_account`] for a vault's
/// passphrase); the implementation scopes them to its service.
pub trait KeyStore: Send + Sync {
    /// The secret stored under `account`, or `None`.
    ///
    /// # Errors
    ///
    /// [`Error::NoKeyring`] when no keyring is usable, [`Error::Keyring`] otherwise.
    fn get(&self, account: &str) -> Result<Option<SecretString>>;

    /// Stores `value` under `account`, replacing any previous value.
    ///
    /// # Errors
    ///
    /// As [`KeyStore::get`].
    fn set(&self, account: &str, value: &SecretString) -> Result<()>;

    /// Deletes `account`; returns whether it existed.
    ///
    /// # Errors
    ///
    /// As [`KeyStore::get`].
    fn delete(&self, account: &str) -> Result<bool>;
}

/// The keyring account that holds the passphrase of the vault at `canonical_path`.
pub fn passphrase_account(canonical_path: &std::path::Path) -> String {
    format!("vault-passphrase:{}", canonical_path.display())
}

/// An in-memory [`KeyStore`] for tests; [`MockKeyStore::unavailable`] behaves like a machine
/// without a keyring.
#[derive(Default)]
pub struct MockKeyStore {
    secrets: Mutex<BTreeMap<String, SecretString>>,
    unavailable: bool,
}

impl std::fmt::Debug for MockKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockKeyStore")
            .field("unavailable", &self.unavailable)
            .finish_non_exhaustive()
    }
}

impl MockKeyStore {
    /// An empty, working store.
    pub fn new() -> MockKeyStore {
        MockKeyStore::default()
    }

    /// A store whose every call fails with [`Error::NoKeyring`].
    pub fn unavailable() -> MockKeyStore {
        MockKeyStore {
            unavailable: true,
            ..MockKeyStore::default()
        }
    }

    fn check(&self) -> Result<()> {
        if self.unavailable {
            Err(Error::NoKeyring {
                reason: "the mock keyring is unavailable".into(),
            })
        } else {
            Ok(())
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, SecretString>> {
        self.secrets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KeyStore for MockKeyStore {
    fn get(&self, account: &str) -> Result<Option<SecretString>> {
        self.check()?;
        Ok(self
            .map()
            .get(account)
            .map(|s| secret_from_str(s.expose_secret())))
    }

    fn set(&self, account: &str, value: &SecretString) -> Result<()> {
        self.check()?;
        self.map()
            .insert(account.to_owned(), secret_from_str(value.expose_secret()));
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<bool> {
        self.check()?;
        Ok(self.map().remove(account).is_some())
    }
}

/// The platform keyring through the `keyring` crate, entries under one service name.
///
/// Which backend serves it is fixed at build time by this crate's features: `keyutils` (Linux
/// kernel user keyring: readable by your uid's processes, gone when the last one exits or at
/// reboot; the default, needs no D-Bus), `secret-service` (GNOME Keyring, KWallet over
/// D-Bus), `apple-native`, `windows-native`.
#[derive(Debug, Clone)]
pub struct OsKeyStore {
    service: String,
}

/// True when this build has a keyring backend for the platform it runs on.
pub const HAS_OS_KEYRING: bool = cfg!(any(
    all(
        target_os = "linux",
        any(feature = "keyutils", feature = "secret-service")
    ),
    all(
        any(target_os = "freebsd", target_os = "openbsd"),
        feature = "secret-service"
    ),
    all(target_os = "macos", feature = "apple-native"),
    all(windows, feature = "windows-native"),
));

impl OsKeyStore {
    /// The keyring scoped to `service` (e.g. `"hush"`).
    ///
    /// # Errors
    ///
    /// [`Error::NoKeyring`] when this build has no backend for the platform.
    pub fn new(service: &str) -> Result<OsKeyStore> {
        if !HAS_OS_KEYRING {
            return Err(Error::NoKeyring {
                reason: "this build of hush has no keyring backend for this platform".into(),
            });
        }
        Ok(OsKeyStore {
            service: service.to_owned(),
        })
    }

    #[cfg_attr(
        all(
            target_os = "linux",
            feature = "keyutils",
            not(feature = "secret-service")
        ),
        allow(dead_code)
    )]
    fn entry(&self, account: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, account).map_err(|e| map_err(account, e))
    }
}

fn password(account: &str, got: keyring::Result<String>) -> Result<Option<SecretString>> {
    match got {
        Ok(mut s) => {
            let secret = secret_from_str(&s);
            s.zeroize();
            Ok(Some(secret))
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(map_err(account, e)),
    }
}

/// Maps a keyring error to ours without ever carrying secret bytes (`BadEncoding` holds the
/// stored value; it is dropped here).
fn map_err(account: &str, e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoStorageAccess(inner) => Error::NoKeyring {
            reason: inner.to_string(),
        },
        keyring::Error::PlatformFailure(inner) => Error::NoKeyring {
            reason: inner.to_string(),
        },
        keyring::Error::BadEncoding(mut bytes) => {
            bytes.zeroize();
            Error::Keyring {
                account: account.to_owned(),
                reason: "the stored value is not UTF-8".into(),
            }
        }
        keyring::Error::TooLong(attr, max) => Error::Keyring {
            account: account.to_owned(),
            reason: format!("{attr} is longer than the platform's limit of {max}"),
        },
        keyring::Error::Invalid(attr, why) => Error::Keyring {
            account: account.to_owned(),
            reason: format!("invalid {attr}: {why}"),
        },
        keyring::Error::Ambiguous(_) => Error::Keyring {
            account: account.to_owned(),
            reason: "several keyring entries match; remove the duplicates".into(),
        },
        other => Error::Keyring {
            account: account.to_owned(),
            reason: format!("the keyring refused the operation: {other:?}"),
        },
    }
}

impl KeyStore for OsKeyStore {
    fn get(&self, account: &str) -> Result<Option<SecretString>> {
        #[cfg(all(
            target_os = "linux",
            feature = "keyutils",
            not(feature = "secret-service")
        ))]
        return kernel::get(&self.service, account);
        #[allow(unreachable_code)]
        password(account, self.entry(account)?.get_password())
    }

    fn set(&self, account: &str, value: &SecretString) -> Result<()> {
        #[cfg(all(
            target_os = "linux",
            feature = "keyutils",
            not(feature = "secret-service")
        ))]
        return kernel::set(&self.service, account, value);
        #[allow(unreachable_code)]
        self.entry(account)?
            .set_password(value.expose_secret())
            .map_err(|e| map_err(account, e))
    }

    fn delete(&self, account: &str) -> Result<bool> {
        #[cfg(all(
            target_os = "linux",
            feature = "keyutils",
            not(feature = "secret-service")
        ))]
        return kernel::delete(&self.service, account);
        #[allow(unreachable_code)]
        match self.entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(map_err(account, e)),
        }
    }
}

/// The Linux kernel keyring through `linux-keyutils` (the crate keyring-rs's keyutils backend
/// uses), when it is the only backend built.
///
/// keyring-rs puts keys in the *session* keyring. A process started outside a login session
/// (containers, CI, `ssh host cmd`, many service managers) gets a session keyring of its own
/// that dies with it, so a remembered passphrase would vanish when `hush` exits. Keys go to the
/// *user* keyring instead (one per uid, alive while the uid has processes), and since other processes of the uid do
/// not "possess" it outside a login session, the key's user permissions grant what the
/// possessor has; group and others get nothing.
#[cfg(all(
    target_os = "linux",
    feature = "keyutils",
    not(feature = "secret-service")
))]
mod kernel {
    use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
    use secrecy::{ExposeSecret, SecretString};
    use zeroize::Zeroize;

    use crate::entry::secret_from_str;
    use crate::{Error, Result};

    fn ring() -> Result<KeyRing> {
        KeyRing::from_special_id(KeyRingIdentifier::User, false).map_err(|e| Error::NoKeyring {
            reason: format!("the kernel user keyring is not available ({e:?})"),
        })
    }

    fn description(service: &str, account: &str) -> String {
        format!("{service}:{account}")
    }

    fn fail(account: &str, what: &str, e: KeyError) -> Error {
        match e {
            KeyError::OperationNotSupported | KeyError::KeyringDoesNotExist => Error::NoKeyring {
                reason: format!("the kernel keyring refused to {what} ({e:?})"),
            },
            e => Error::Keyring {
                account: account.to_owned(),
                reason: format!("cannot {what} ({e:?})"),
            },
        }
    }

    fn is_missing(e: &KeyError) -> bool {
        matches!(
            e,
            KeyError::KeyDoesNotExist | KeyError::KeyRevoked | KeyError::KeyExpired
        )
    }

    pub(super) fn get(service: &str, account: &str) -> Result<Option<SecretString>> {
        let key = match ring()?.search(&description(service, account)) {
            Ok(k) => k,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(fail(account, "search the keyring", e)),
        };
        let mut bytes = match key.read_to_vec() {
            Ok(b) => b,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(fail(account, "read the key", e)),
        };
        let value = std::str::from_utf8(&bytes).map(secret_from_str);
        bytes.zeroize();
        value.map(Some).map_err(|_| Error::Keyring {
            account: account.to_owned(),
            reason: "the stored value is not UTF-8".into(),
        })
    }

    pub(super) fn set(service: &str, account: &str, value: &SecretString) -> Result<()> {
        let key = ring()?
            .add_key(
                &description(service, account),
                value.expose_secret().as_bytes(),
            )
            .map_err(|e| fail(account, "add the key", e))?;
        let rights = Permission::VIEW
            | Permission::READ
            | Permission::WRITE
            | Permission::SEARCH
            | Permission::SETATTR;
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(rights)
            .build();
        key.set_perms(perms)
            .map_err(|e| fail(account, "set the key's permissions", e))
    }

    pub(super) fn delete(service: &str, account: &str) -> Result<bool> {
        match ring()?.search(&description(service, account)) {
            Ok(key) => {
                key.invalidate()
                    .map_err(|e| fail(account, "remove the key", e))?;
                Ok(true)
            }
            Err(e) if is_missing(&e) => Ok(false),
            Err(e) => Err(fail(account, "search the keyring", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_round_trip_and_unavailable() {
        let m = MockKeyStore::new();
        assert!(m.get("A").unwrap().is_none());
        m.set("A", &secret_from_str("v")).unwrap();
        assert_eq!(m.get("A").unwrap().unwrap().expose_secret(), "v");
        assert!(m.delete("A").unwrap());
        assert!(!m.delete("A").unwrap());
        let u = MockKeyStore::unavailable();
        let e = u.get("A").unwrap_err().to_string();
        assert!(e.contains("encrypted vault file"), "{e}");
    }

    /// Exercises the real backend where the machine has one; skips loudly where it does not.
    #[test]
    #[allow(clippy::print_stderr)]
    fn real_keyring_round_trip_or_skip() {
        let store = match OsKeyStore::new("hush-test") {
            Ok(s) => s,
            Err(e) => {
                eprintln!("SKIPPED real keyring test: {e}");
                return;
            }
        };
        let account = format!("hush-vault-test-{}", std::process::id());
        let value = secret_from_str("keyring-test-value-1");
        if let Err(e) = store.set(&account, &value) {
            eprintln!("SKIPPED real keyring test: no usable keyring here: {e}");
            return;
        }
        let got = store.get(&account).unwrap().expect("stored value");
        assert_eq!(got.expose_secret(), "keyring-test-value-1");
        // (keyutils caches lookups briefly, so a `get` right after the delete is not asserted.)
        assert!(store.delete(&account).unwrap());
    }
}
