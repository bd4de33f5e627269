//! [`Vault`]: an unlocked vault file, its atomic writes and its lock.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::entry::Entry;
use crate::format::{self, DataKey, Header, HeaderInfo, KdfParams};
use crate::{Error, Result};

/// An unlocked vault: its entries in zeroizing memory and the data key to write them back.
///
/// - [`Vault::open`] reads a snapshot; [`Vault::open_for_update`] also takes the vault's write
///   lock (an advisory `flock` on `<vault>.lock`) and holds it until the value is dropped, so
///   read-modify-write cycles of concurrent processes serialise and lose nothing.
/// - [`Vault::save`] writes a temporary file in the same directory, fsyncs it, renames it over
///   the vault and fsyncs the directory: readers and crashes see the old or the new vault.
/// - Opening disables core dumps for the process ([`crate::disable_core_dumps`]).
///
/// `Debug` shows the path and entry names only.
pub struct Vault {
    path: PathBuf,
    header: Header,
    data_key: DataKey,
    entries: BTreeMap<String, Entry>,
    lock: Option<File>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .field("entries", &self.entries.keys().collect::<Vec<_>>())
            .field("locked", &self.lock.is_some())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Creates an empty vault at `path` (mode 0600; missing directories are created 0700) and
    /// returns it unlocked, holding the write lock.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`], [`Error::Io`], [`Error::Lock`], [`Error::Random`].
    pub fn create(path: &Path, passphrase: &SecretString, kdf: KdfParams) -> Result<Vault> {
        crate::harden::disable_core_dumps()?;
        if let Some(dir) = parent(path) {
            create_private_dir(dir)?;
        }
        let lock = lock(path)?;
        if path.exists() {
            return Err(Error::AlreadyExists {
                path: path.to_owned(),
            });
        }
        let data_key = format::new_data_key()?;
        let header = format::wrap(kdf, passphrase, &data_key)?;
        let vault = Vault {
            path: path.to_owned(),
            header,
            data_key,
            entries: BTreeMap::new(),
            lock: Some(lock),
        };
        vault.save()?;
        Ok(vault)
    }

    /// Reads and unlocks the vault at `path` without taking the write lock.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::InsecurePermissions`], [`Error::WrongOwner`],
    /// [`Error::NotAVault`], [`Error::UnsupportedVersion`], [`Error::Truncated`],
    /// [`Error::Corrupted`], [`Error::WrongPassphrase`], [`Error::Io`].
    pub fn open(path: &Path, passphrase: &SecretString) -> Result<Vault> {
        crate::harden::disable_core_dumps()?;
        let bytes = read_checked(path)?;
        Vault::from_bytes(path, &bytes, passphrase)
    }

    /// Unlocks the vault, then takes the write lock (see [`Vault::lock_for_update`]); the
    /// lock is held until the returned value is dropped. The slow key derivation runs before
    /// the lock is taken, so other writers wait only for the read-modify-write itself.
    ///
    /// # Errors
    ///
    /// As [`Vault::open`], and [`Error::Lock`].
    pub fn open_for_update(path: &Path, passphrase: &SecretString) -> Result<Vault> {
        let mut vault = Vault::open(path, passphrase)?;
        vault.lock_for_update()?;
        Ok(vault)
    }

    /// Takes the write lock (waiting for other writers) and reloads the file under it, so
    /// changes written since this vault was opened are kept. No key derivation: the data key
    /// is already known and authenticates the current header and entries. Unsaved changes
    /// made before the call are discarded. A no-op if the lock is already held.
    ///
    /// Use it to keep the lock short: open, ask the user for the value, then lock and change.
    ///
    /// # Errors
    ///
    /// [`Error::Lock`]; as [`Vault::open`] for the file read under the lock, with
    /// [`Error::Corrupted`] also when the file was replaced by another vault meanwhile.
    pub fn lock_for_update(&mut self) -> Result<()> {
        if self.lock.is_some() {
            return Ok(());
        }
        let lock = lock(&self.path)?;
        let bytes = read_checked(&self.path)?;
        let (header, _, _) = format::parse(&self.path, &bytes)?;
        let entries = format::open_payload(&self.path, &bytes, &self.data_key).map_err(|e| {
            if header.salt == self.header.salt {
                e
            } else {
                Error::Corrupted {
                    path: self.path.clone(),
                    what: "the file was replaced by another vault while it was open; run the command again",
                }
            }
        })?;
        // INVARIANT: the payload AAD covers the whole header, so a header that opens with our
        // data key is authentic even if `passwd` re-wrapped the key meanwhile.
        self.header = header;
        self.entries = entries;
        self.lock = Some(lock);
        Ok(())
    }

    /// Unlocks a vault held in memory; `path` only names it in errors and in [`Vault::save`].
    /// The result holds no lock.
    ///
    /// # Errors
    ///
    /// As [`Vault::open`], except the file-system ones.
    pub fn from_bytes(path: &Path, bytes: &[u8], passphrase: &SecretString) -> Result<Vault> {
        let (header, _, _) = format::parse(path, bytes)?;
        let data_key = format::unwrap(path, &header, passphrase)?;
        let entries = format::open_payload(path, bytes, &data_key)?;
        Ok(Vault {
            path: path.to_owned(),
            header,
            data_key,
            entries,
            lock: None,
        })
    }

    /// Reads the header of the vault at `path` (no passphrase needed).
    ///
    /// # Errors
    ///
    /// As [`Vault::open`], minus the passphrase and entry-table errors.
    pub fn inspect(path: &Path) -> Result<HeaderInfo> {
        HeaderInfo::parse(path, &read_checked(path)?)
    }

    /// The vault file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The KDF parameters in the header.
    pub fn kdf(&self) -> KdfParams {
        self.header.kdf
    }

    /// The entry named `name`: one `BTreeMap` lookup, no I/O, no cryptography.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    /// The entry named `name`, to change its value or metadata before [`Vault::save`].
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.entries.get_mut(name)
    }

    /// All entries, sorted by name.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the vault holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds or replaces an entry; returns the one it replaced.
    pub fn insert(&mut self, entry: Entry) -> Option<Entry> {
        self.entries.insert(entry.name.clone(), entry)
    }

    /// Removes an entry.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchEntry`].
    pub fn remove(&mut self, name: &str) -> Result<Entry> {
        self.entries.remove(name).ok_or_else(|| Error::NoSuchEntry {
            name: name.to_owned(),
        })
    }

    /// Re-wraps the data key under a new passphrase (fresh salt; `kdf` or the current
    /// parameters). Entries are not re-encrypted with a new key; [`Vault::save`] writes the
    /// result.
    ///
    /// # Errors
    ///
    /// [`Error::KdfParams`], [`Error::Random`].
    pub fn change_passphrase(
        &mut self,
        passphrase: &SecretString,
        kdf: Option<KdfParams>,
    ) -> Result<()> {
        let kdf = kdf.unwrap_or(self.header.kdf);
        self.header = format::wrap(kdf, passphrase, &self.data_key)?;
        Ok(())
    }

    /// Writes the vault back atomically and durably (fresh nonce).
    ///
    /// # Errors
    ///
    /// [`Error::ReadOnly`] unless opened with [`Vault::open_for_update`] or [`Vault::create`];
    /// [`Error::Io`].
    pub fn save(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::ReadOnly {
                path: self.path.clone(),
            });
        }
        let bytes = format::seal(&self.header, &self.data_key, &self.entries)?;
        write_atomic(&self.path, &bytes)
    }
}

fn parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` and its missing parents with mode 0700.
fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(io("create directory", dir))
}

fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Opens `<vault>.lock` (0600) and takes an exclusive advisory lock, waiting for other writers.
fn lock(path: &Path) -> Result<File> {
    let lpath = lock_path(path);
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let file = o.open(&lpath).map_err(|source| Error::Lock {
        path: lpath.clone(),
        source,
    })?;
    #[cfg(unix)]
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|e| {
        Error::Lock {
            path: lpath.clone(),
            source: e.into(),
        }
    })?;
    Ok(file)
}

/// Checks that the file `path` (whose metadata is `meta`, taken from the open file) is owned
/// by the effective user and not accessible by group or others; a no-op off Unix.
///
/// # Errors
///
/// [`Error::WrongOwner`], [`Error::InsecurePermissions`] (with the `chmod` that fixes it).
pub fn check_private_file(path: &Path, meta: &fs::Metadata) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(Error::WrongOwner {
                path: path.to_owned(),
                owner: meta.uid(),
                me,
            });
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(Error::InsecurePermissions {
                path: path.to_owned(),
                mode,
                fix: 0o600,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta);
    Ok(())
}

/// Reads a vault file after checking who owns it and who else can read it.
fn read_checked(path: &Path) -> Result<Vec<u8>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound {
                path: path.to_owned(),
            })
        }
        Err(e) => return Err(io("open", path)(e)),
    };
    let meta = file.metadata().map_err(io("stat", path))?;
    check_private_file(path, &meta)?;
    #[cfg(unix)]
    if let Some(dir) = parent(path) {
        use std::os::unix::fs::MetadataExt;
        let dmode = fs::metadata(dir).map_err(io("stat", dir))?.mode() & 0o7777;
        // Others who can write the directory can swap the file (unless it is sticky).
        if dmode & 0o022 != 0 && dmode & 0o1000 == 0 {
            return Err(Error::InsecurePermissions {
                path: dir.to_owned(),
                mode: dmode,
                fix: 0o700,
            });
        }
    }
    let limit = (format::HEADER_LEN as u64) + u64::from(format::MAX_PAYLOAD_LEN) + 1;
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize);
    (&mut file)
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(io("read", path))?;
    Ok(bytes)
}

/// Temporary files are `.<vault name>.tmp.<random>` beside the vault.
fn tmp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.tmp.")
}

/// Write a temporary file, fsync, rename over `path`, fsync the directory.
///
/// INVARIANT: called with the vault's write lock held, so leftover temporary files (from a
/// writer killed mid-write) belong to no live writer and are removed here.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent(path).unwrap_or(Path::new("."));
    let prefix = tmp_prefix(path);
    if let Ok(rd) = fs::read_dir(dir) {
        for ent in rd.flatten() {
            if ent.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(ent.path());
            }
        }
    }
    let suffix: [u8; 8] = format::random()?;
    let tmp = dir.join(format!("{prefix}{:016x}", u64::from_le_bytes(suffix)));
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let result = (|| {
        let mut f = o.open(&tmp).map_err(io("create", &tmp))?;
        f.write_all(bytes).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("fsync", &tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io("rename", &tmp))?;
        #[cfg(unix)]
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("fsync directory", dir))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
