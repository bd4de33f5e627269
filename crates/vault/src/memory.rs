//! [`MemoryStore`]: secrets that never touch disk, and the `NAME=value` reader it shares with
//! `hush vault import-env`.

use std::collections::BTreeMap;
use std::io::Read;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::entry::{secret_from_str, validate_name, validate_value};
use crate::{Error, Result};

/// A memory-only secret store for processes that must never write secrets to disk.
///
/// Load it once at start-up, from the environment ([`MemoryStore::take_from_env`], which also
/// removes the variables so children and `/proc/PID/environ` no longer see them) or from a
/// reader such as an inherited pipe ([`MemoryStore::read_env_format`]). Values are
/// `SecretString`s, wiped when the store (or the entry) is dropped. `Debug` shows names only.
#[derive(Default)]
pub struct MemoryStore {
    secrets: BTreeMap<String, SecretString>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("names", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Adds or replaces a secret.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::InvalidValue`].
    pub fn insert(&mut self, name: &str, value: SecretString) -> Result<()> {
        validate_name(name)?;
        validate_value(name, value.expose_secret())?;
        self.secrets.insert(name.to_owned(), value);
        Ok(())
    }

    /// The secret named `name`.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.secrets.get(name)
    }

    /// Removes and returns a secret.
    pub fn remove(&mut self, name: &str) -> Option<SecretString> {
        self.secrets.remove(name)
    }

    /// Names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.secrets.keys().map(String::as_str)
    }

    /// Names and values, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SecretString)> {
        self.secrets.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of secrets.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Moves the named environment variables into a new store and removes them from the
    /// process environment. Variables that are unset are skipped; their names are returned.
    /// Disables core dumps first.
    ///
    /// Call it early in `main`, before threads start: changing the environment while another
    /// thread reads it is a data race in the C library.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::InvalidValue`] for a variable that is not UTF-8, empty
    /// or too long (it is still removed from the environment); [`Error::Harden`].
    pub fn take_from_env(names: &[&str]) -> Result<(MemoryStore, Vec<String>)> {
        crate::harden::disable_core_dumps()?;
        let mut store = MemoryStore::new();
        let mut missing = Vec::new();
        let mut first_err = None;
        for &name in names {
            validate_name(name)?;
            let Some(value) = std::env::var_os(name) else {
                missing.push(name.to_owned());
                continue;
            };
            std::env::remove_var(name);
            let secret = match value.to_str() {
                Some(v) => {
                    let s = secret_from_str(v);
                    drop(Zeroizing::new(value.into_encoded_bytes()));
                    s
                }
                None => {
                    drop(Zeroizing::new(value.into_encoded_bytes()));
                    first_err.get_or_insert(Error::InvalidValue {
                        name: name.to_owned(),
                        reason: "the variable is not UTF-8",
                    });
                    continue;
                }
            };
            if let Err(e) = store.insert(name, secret) {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok((store, missing)),
        }
    }

    /// Reads `NAME=value` lines (see [`parse_env_format`]) from `reader`, at most
    /// [`MAX_ENV_INPUT`] bytes, into a new store. Disables core dumps first.
    ///
    /// # Errors
    ///
    /// [`Error::Io`], [`Error::EnvSyntax`], [`Error::InvalidName`], [`Error::InvalidValue`],
    /// [`Error::Harden`].
    pub fn read_env_format(reader: impl Read, origin: &str) -> Result<MemoryStore> {
        crate::harden::disable_core_dumps()?;
        let text = read_secret(reader, MAX_ENV_INPUT, origin)?;
        let mut store = MemoryStore::new();
        for (name, value) in parse_env_format(&text, origin)? {
            store.insert(&name, value)?;
        }
        Ok(store)
    }

    /// Reads `NAME=value` lines from the inherited file descriptor `fd` (a pipe the parent
    /// wrote the secrets to), through `/dev/fd/N` so no unsafe code is needed. The descriptor
    /// is read to its end.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `fd` is not open, and as [`MemoryStore::read_env_format`].
    #[cfg(unix)]
    pub fn read_fd(fd: u32) -> Result<MemoryStore> {
        let path = format!("/dev/fd/{fd}");
        let file = std::fs::File::open(&path).map_err(|source| Error::Io {
            action: "open",
            path: path.clone().into(),
            source,
        })?;
        MemoryStore::read_env_format(file, &format!("file descriptor {fd}"))
    }
}

/// Largest input [`MemoryStore::read_env_format`] and [`read_secret`] callers use: 4 MiB.
pub const MAX_ENV_INPUT: usize = 4 << 20;

/// Reads all of `reader` (at most `max` bytes) into a zeroizing buffer sized once up front, so
/// no partial copy is left behind by reallocation.
///
/// # Errors
///
/// [`Error::Io`] on a read error; [`Error::InvalidValue`] past `max` bytes or for non-UTF-8
/// input.
pub fn read_secret(mut reader: impl Read, max: usize, origin: &str) -> Result<Zeroizing<String>> {
    let mut buf = Zeroizing::new(vec![0u8; max + 1]);
    let mut filled = 0;
    loop {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled > max {
                    return Err(Error::InvalidValue {
                        name: origin.to_owned(),
                        reason: "input too large",
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path: origin.into(),
                    source,
                })
            }
        }
    }
    let text = std::str::from_utf8(&buf[..filled]).map_err(|_| Error::InvalidValue {
        name: origin.to_owned(),
        reason: "input is not UTF-8",
    })?;
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    out.push_str(text);
    Ok(out)
}

/// Parses dotenv-style text: `NAME=value` per line, optional `export ` prefix, `#` comments
/// and blank lines, values bare (trailing whitespace and ` #` comments trimmed), in single
/// quotes (literal) or double quotes (`\n`, `\t`, `\\`, `\"`, `\$` escapes; may span lines).
/// No variable substitution: `$OTHER` stays as written.
///
/// # Errors
///
/// [`Error::EnvSyntax`] naming `origin` and the line; never the value.
pub fn parse_env_format(text: &str, origin: &str) -> Result<Vec<(String, SecretString)>> {
    let err = |line: usize, reason: &str| Error::EnvSyntax {
        origin: origin.to_owned(),
        line,
        reason: reason.to_owned(),
    };
    let mut out = Vec::new();
    let mut lines = text.split('\n').enumerate();
    while let Some((i, raw)) = lines.next() {
        let lineno = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((name, rest)) = line.split_once('=') else {
            return Err(err(lineno, "expected `NAME=value`"));
        };
        let name = name.trim_end();
        validate_name(name).map_err(|e| err(lineno, &e.to_string()))?;
        let rest = rest.trim_start();
        let mut value = Zeroizing::new(String::with_capacity(rest.len()));
        if let Some(body) = rest.strip_prefix('\'') {
            let Some(end) = body.find('\'') else {
                return Err(err(lineno, "unterminated single quote"));
            };
            value.push_str(&body[..end]);
            check_tail(&body[end + 1..]).map_err(|r| err(lineno, r))?;
        } else if let Some(body) = rest.strip_prefix('"') {
            // May continue over following lines.
            let mut body = Zeroizing::new(body.to_owned());
            let start = lineno;
            loop {
                match unescape_double(&body, &mut value) {
                    Some(end) => {
                        check_tail(&body[end..]).map_err(|r| err(start, r))?;
                        break;
                    }
                    None => {
                        let Some((_, next)) = lines.next() else {
                            return Err(err(start, "unterminated double quote"));
                        };
                        value.clear();
                        body.push('\n');
                        body.push_str(next);
                    }
                }
            }
        } else {
            let bare = match rest.find(" #") {
                Some(at) => &rest[..at],
                None => rest,
            };
            value.push_str(bare.trim_end());
        }
        out.push((name.to_owned(), secret_from_str(&value)));
    }
    Ok(out)
}

/// Appends the unescaped contents of a double-quoted value to `out`; returns the index just past
/// the closing quote, or `None` if there is none yet.
fn unescape_double(body: &str, out: &mut String) -> Option<usize> {
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some(i + 1),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, e @ ('\\' | '"' | '$' | '`'))) => out.push(e),
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => return None,
            },
            c => out.push(c),
        }
    }
    None
}

fn check_tail(tail: &str) -> Result<(), &'static str> {
    let tail = tail.trim_start();
    if tail.is_empty() || tail.starts_with('#') {
        Ok(())
    } else {
        Err("unexpected text after the closing quote")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<(String, String)> {
        parse_env_format(text, "t")
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.expose_secret().to_owned()))
            .collect()
    }

    #[test]
    fn env_format() {
        let got = parse(
            "# c\n\nA=1\nexport B = two words # note\nC='lit $X \\n'\nD=\"a\\nb\\\"c\"\r\nE=\"multi\nline\"\nF=x#y\n",
        );
        let want = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "lit $X \\n"),
            ("D", "a\nb\"c"),
            ("E", "multi\nline"),
            ("F", "x#y"),
        ];
        assert_eq!(got.len(), want.len());
        for ((k, v), (wk, wv)) in got.iter().zip(want) {
            assert_eq!((k.as_str(), v.as_str()), (wk, wv));
        }
    }

    #[test]
    fn env_format_errors_name_the_line_not_the_value() {
        for (text, line) in [
            ("A=1\nnovalue\n", 2),
            ("A='unterminated-s3cr3t\n", 1),
            ("1A=s3cr3t\n", 1),
            ("A=\"s3cr3t\nstill\n", 1),
            ("A='s3cr3t' trailing\n", 1),
        ] {
            let e = parse_env_format(text, "f.env").unwrap_err().to_string();
            assert!(e.starts_with(&format!("f.env:{line}: ")), "{e}");
            assert!(!e.contains("s3cr3t"), "{e}");
        }
    }

    #[test]
    fn take_from_env_removes_the_variables() {
        std::env::set_var("HUSH_VAULT_TEST_TAKE", "v4lue-from-env");
        let (store, missing) =
            MemoryStore::take_from_env(&["HUSH_VAULT_TEST_TAKE", "HUSH_VAULT_TEST_UNSET"]).unwrap();
        assert!(std::env::var_os("HUSH_VAULT_TEST_TAKE").is_none());
        assert_eq!(
            store.get("HUSH_VAULT_TEST_TAKE").unwrap().expose_secret(),
            "v4lue-from-env"
        );
        assert_eq!(missing, ["HUSH_VAULT_TEST_UNSET"]);
        assert!(!format!("{store:?}").contains("v4lue"));
    }

    #[test]
    #[cfg(unix)]
    fn read_fd_reads_an_inherited_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.env");
        std::fs::write(&p, "A=from-fd\n").unwrap();
        let f = std::fs::File::open(&p).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
        let store = MemoryStore::read_fd(fd as u32).unwrap();
        assert_eq!(store.get("A").unwrap().expose_secret(), "from-fd");
        assert!(MemoryStore::read_fd(9999).is_err());
    }

    #[test]
    fn read_secret_is_bounded() {
        assert_eq!(&*read_secret(&b"abc"[..], 3, "x").unwrap(), "abc");
        assert!(read_secret(&b"abcd"[..], 3, "x").is_err());
        let store = MemoryStore::read_env_format(&b"K=v\n"[..], "fd 3").unwrap();
        assert_eq!(store.get("K").unwrap().expose_secret(), "v");
    }
}
