//! The authority's files: `key` (32 random bytes, 0600) and `capabilities.json` (issued
//! tokens' metadata and revocations, 0600), changed under an exclusive `flock` on
//! `capabilities.lock` and replaced atomically (temporary file, fsync, rename, fsync of the
//! directory). Tokens themselves are never stored.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::CapError;

/// The store file's format version.
pub const STORE_VERSION: u32 = 1;

/// A token the authority issued or delegated (metadata only, never the token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Record {
    /// Its last link's id.
    pub id: String,
    /// The ids of the links before it, root first (empty for a root token).
    pub chain: Vec<String>,
    /// Who it is for.
    pub agent: String,
    /// Who made it.
    pub issuer: String,
    /// Its effective grants (`OPS PATTERN`).
    pub grants: Vec<String>,
    /// Unix seconds.
    pub issued: u64,
    /// Unix seconds (its effective expiry).
    pub expires: u64,
    /// Further delegations it allows.
    pub max_depth: u8,
    /// For tokens of a plan: the step (`OP RESOURCE`), or `plan` for the plan's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

/// A revoked link id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Revocation {
    /// The link id.
    pub id: String,
    /// When, Unix seconds.
    pub at: u64,
    /// The link's expiry when known: after it the entry can go, since expiry is enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreFile {
    pub(crate) version: u32,
    #[serde(default)]
    pub(crate) issued: Vec<Record>,
    #[serde(default)]
    pub(crate) revoked: Vec<Revocation>,
    /// Agent → cut-off: links for it issued at or before are revoked.
    #[serde(default)]
    pub(crate) agents_revoked: BTreeMap<String, u64>,
}

/// Identifies one version of the store file (inode, size, modification time).
pub(crate) type Stamp = (u64, u64, i64, i64);

/// Where the files are; `None`: in memory only.
#[derive(Debug)]
pub(crate) struct Store {
    dir: Option<PathBuf>,
}

const KEY_FILE: &str = "key";
const STORE_FILE: &str = "capabilities.json";
const LOCK_FILE: &str = "capabilities.lock";
/// Records expired longer than this are dropped when the file is written.
const KEEP_EXPIRED: u64 = 7 * 86_400;

fn io(path: &Path) -> impl Fn(std::io::Error) -> CapError + '_ {
    move |source| CapError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    pub(crate) fn memory() -> Store {
        Store { dir: None }
    }

    /// A store in `dir`, created (0700) if missing.
    pub(crate) fn open(dir: &Path) -> Result<Store, CapError> {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(io(dir))?;
        Ok(Store {
            dir: Some(dir.to_path_buf()),
        })
    }

    pub(crate) fn path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(STORE_FILE))
    }

    /// The root key: read, or generated on first use (under the lock, created exclusively).
    pub(crate) fn key(&self) -> Result<Zeroizing<[u8; 32]>, CapError> {
        let mut key = Zeroizing::new([0u8; 32]);
        let Some(dir) = &self.dir else {
            getrandom::fill(&mut key[..]).map_err(|e| CapError::Random(e.to_string()))?;
            return Ok(key);
        };
        let path = dir.join(KEY_FILE);
        let _lock = self.lock()?;
        match File::open(&path) {
            Ok(mut f) => {
                check_private(&path, &f)?;
                let mut buf = Zeroizing::new(Vec::with_capacity(33));
                (&mut f).take(33).read_to_end(&mut buf).map_err(io(&path))?;
                if buf.len() != 32 {
                    return Err(CapError::Store {
                        path,
                        message: "a key file holds exactly 32 bytes".into(),
                    });
                }
                key.copy_from_slice(&buf);
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                getrandom::fill(&mut key[..]).map_err(|e| CapError::Random(e.to_string()))?;
                let mut o = OpenOptions::new();
                o.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
                let mut f = o.open(&path).map_err(io(&path))?;
                f.write_all(&key[..]).map_err(io(&path))?;
                f.sync_all().map_err(io(&path))?;
                sync_dir(dir)?;
                Ok(key)
            }
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// An exclusive lock on the lock file, released when the file is dropped.
    fn lock(&self) -> Result<Option<File>, CapError> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let path = dir.join(LOCK_FILE);
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let f = o.open(&path).map_err(io(&path))?;
        #[cfg(unix)]
        rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io(&path)(e.into()))?;
        Ok(Some(f))
    }

    /// The file's stamp, `None` when it does not exist (or for a memory store).
    pub(crate) fn stamp(&self) -> Option<Stamp> {
        let meta = std::fs::metadata(self.path()?).ok()?;
        Some(stamp_of(&meta))
    }

    /// Reads the file (an empty store when it does not exist) with its stamp.
    pub(crate) fn read(&self) -> Result<(StoreFile, Option<Stamp>), CapError> {
        let Some(path) = self.path() else {
            return Ok((empty(), None));
        };
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((empty(), None)),
            Err(e) => return Err(io(&path)(e)),
        };
        let meta = check_private(&path, &f)?;
        let mut text = Vec::new();
        f.read_to_end(&mut text).map_err(io(&path))?;
        let file: StoreFile = serde_json::from_slice(&text).map_err(|e| CapError::Store {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if file.version != STORE_VERSION {
            return Err(CapError::Store {
                path,
                message: format!(
                    "version {} is not supported (expected {STORE_VERSION})",
                    file.version
                ),
            });
        }
        Ok((file, Some(stamp_of(&meta))))
    }

    /// Reads the file under the lock, applies `change`, prunes entries long expired, and
    /// writes it back atomically. Returns the new contents and stamp.
    pub(crate) fn update<T>(
        &self,
        now: u64,
        change: impl FnOnce(&mut StoreFile) -> T,
    ) -> Result<(StoreFile, Option<Stamp>, T), CapError> {
        let _lock = self.lock()?;
        let (mut file, _) = self.read()?;
        let out = change(&mut file);
        file.issued
            .retain(|r| r.expires.saturating_add(KEEP_EXPIRED) > now);
        file.revoked.retain(|r| r.expires.is_none_or(|e| e > now));
        let Some(path) = self.path() else {
            return Ok((file, None, out));
        };
        let dir = self.dir.as_deref().unwrap_or(Path::new("."));
        // NamedTempFile creates its file 0600.
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(&path))?;
        let mut json = serde_json::to_vec_pretty(&file).map_err(|e| CapError::Store {
            path: path.clone(),
            message: e.to_string(),
        })?;
        json.push(b'\n');
        tmp.write_all(&json).map_err(io(&path))?;
        tmp.as_file().sync_all().map_err(io(&path))?;
        tmp.persist(&path).map_err(|e| io(&path)(e.error))?;
        sync_dir(dir)?;
        Ok((file, self.stamp(), out))
    }
}

fn empty() -> StoreFile {
    StoreFile {
        version: STORE_VERSION,
        ..StoreFile::default()
    }
}

fn stamp_of(meta: &std::fs::Metadata) -> Stamp {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.ino(), meta.len(), meta.mtime(), meta.mtime_nsec())
    }
    #[cfg(not(unix))]
    {
        (0, meta.len(), 0, 0)
    }
}

/// The open file must be the user's and closed to others.
fn check_private(path: &Path, f: &File) -> Result<std::fs::Metadata, CapError> {
    let meta = f.metadata().map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != rustix::process::geteuid().as_raw() || meta.mode() & 0o077 != 0 {
            return Err(CapError::Permissions {
                path: path.to_path_buf(),
            });
        }
    }
    Ok(meta)
}

fn sync_dir(dir: &Path) -> Result<(), CapError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
