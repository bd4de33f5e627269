//! Trust levels for servers and tools, stored in a 0600 JSON file written atomically.
//!
//! A server is identified by its command line ([`server_id`]); a tool by its name and the hash
//! of its definition. A tool setting holds only while the definition hash matches: a changed
//! definition sends the tool back to untrusted (rug-pull defence) until the user trusts it again.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The trust file format version.
pub const TRUST_FILE_VERSION: u32 = 1;

/// How far a server is trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerLevel {
    /// Tools are allowed unless a risk check or tool setting says otherwise.
    Trusted,
    /// The default: medium-risk calls are confirmed.
    #[default]
    Untrusted,
    /// Runs under the OS sandbox (with `crates/exec`); until then treated like `untrusted`.
    Sandboxed,
}

/// How far a tool is trusted. Overrides the server's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolLevel {
    /// Allowed (risk checks still apply).
    AlwaysAllow,
    /// Confirmed on first use in a session, then allowed for that session.
    ConfirmOnce,
    /// Confirmed on every call.
    ConfirmAlways,
    /// Hidden from `tools/list`, every call denied.
    Blocked,
}

/// Validity shared by server and tool entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validity {
    /// Unix seconds after which the entry no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// Revoked: kept for the record, never applies.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
    /// Suspended: every call denied until resumed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Unix seconds of the last change.
    #[serde(default)]
    pub updated: u64,
}

impl Validity {
    fn live(&self, now: u64) -> bool {
        !self.revoked && self.expires.is_none_or(|e| now < e)
    }
}

/// A trusted tool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolEntry {
    /// The definition hash the level was granted for.
    pub hash: String,
    /// The level.
    pub level: ToolLevel,
    /// Set when the server presented a different definition: the level no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_to: Option<String>,
    /// Validity.
    #[serde(flatten)]
    pub validity: Validity,
}

impl ToolEntry {
    /// A live entry granting `level` to definition `hash` at `now` (unix seconds).
    pub fn new(hash: &str, level: ToolLevel, now: u64, expires: Option<u64>) -> ToolEntry {
        ToolEntry {
            hash: hash.to_string(),
            level,
            changed_to: None,
            validity: Validity {
                expires,
                revoked: false,
                suspended: false,
                updated: now,
            },
        }
    }
}

/// A server and its tools.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerEntry {
    /// The command line, for display.
    pub command: Vec<String>,
    /// The server's level, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<ServerLevel>,
    /// Validity of the server entry.
    #[serde(flatten)]
    pub validity: Validity,
    /// Tools by name.
    #[serde(default)]
    pub tools: BTreeMap<String, ToolEntry>,
}

/// The trust file's contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
    /// [`TRUST_FILE_VERSION`].
    pub version: u32,
    /// Servers by [`server_id`].
    #[serde(default)]
    pub servers: BTreeMap<String, ServerEntry>,
}

impl Default for TrustFile {
    fn default() -> Self {
        TrustFile {
            version: TRUST_FILE_VERSION,
            servers: BTreeMap::new(),
        }
    }
}

/// What applies to one tool of one server now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// The server's level (default `untrusted`).
    pub server: ServerLevel,
    /// The tool's own level, when one applies (live, same definition hash).
    pub tool: Option<ToolLevel>,
    /// The server or the tool is suspended.
    pub suspended: bool,
    /// A tool level exists but was granted for another definition.
    pub definition_changed: bool,
}

/// Errors reading or writing the trust file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// I/O on the file or its directory.
    #[error("trust file `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not a trust file.
    #[error("trust file `{path}` is not valid: {message}; fix or remove it")]
    Format {
        /// The file.
        path: PathBuf,
        /// serde_json's message (line and column).
        message: String,
    },
    /// Writable by other users: anyone could trust a server.
    #[error("trust file `{path}` is writable by group or others; run `chmod 600` on it")]
    Permissions {
        /// The file.
        path: PathBuf,
    },
    /// No server, or more than one, matches an id prefix.
    #[error("no single server in the trust file matches `{0}`; see `hush trust list`")]
    NoSuchServer(String),
    /// The server has no such tool.
    #[error("server `{server}` has no trusted tool `{tool}`; see `hush trust list`")]
    NoSuchTool {
        /// The server id.
        server: String,
        /// The tool.
        tool: String,
    },
}

/// The identity of a server: the first 16 hex digits of the SHA-256 of its command line as a
/// canonical JSON array.
pub fn server_id(command: &[String]) -> String {
    let json = serde_json::to_vec(command).unwrap_or_default();
    crate::message::hex(&Sha256::digest(&json)[..8])
}

/// A trust file on disk (or in memory only, when `path` is `None`).
#[derive(Debug)]
pub struct TrustStore {
    path: Option<PathBuf>,
    file: TrustFile,
    /// (inode, length, mtime) of the file as last read or written.
    stamp: Option<Stamp>,
}

type Stamp = (u64, u64, Option<std::time::SystemTime>);

fn stamp_of(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.len(), m.modified().ok()))
}

impl TrustStore {
    /// An in-memory store: nothing persists.
    pub fn in_memory() -> TrustStore {
        TrustStore {
            path: None,
            file: TrustFile::default(),
            stamp: None,
        }
    }

    /// Loads `path`; a missing file is an empty store (created on first save).
    ///
    /// # Errors
    /// [`TrustError`] when the file can't be read, isn't a trust file, or is writable by others.
    pub fn load(path: &Path) -> Result<TrustStore, TrustError> {
        let io = |source| TrustError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TrustStore {
                    path: Some(path.to_path_buf()),
                    file: TrustFile::default(),
                    stamp: None,
                })
            }
            Err(e) => return Err(io(e)),
        };
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o022 != 0 {
            return Err(TrustError::Permissions {
                path: path.to_path_buf(),
            });
        }
        let file: TrustFile = serde_json::from_slice(&text).map_err(|e| TrustError::Format {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if file.version != TRUST_FILE_VERSION {
            return Err(TrustError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "version {} is not supported (expected {TRUST_FILE_VERSION})",
                    file.version
                ),
            });
        }
        Ok(TrustStore {
            path: Some(path.to_path_buf()),
            file,
            stamp: stamp_of(path),
        })
    }

    /// Re-reads the file when it changed on disk since it was last read or written (another
    /// `hush mcp`, or `hush trust revoke`), so revocations apply to running sessions and saves
    /// do not undo other processes' changes. Returns whether it re-read.
    ///
    /// # Errors
    /// As [`TrustStore::load`]; the contents in memory are kept.
    pub fn refresh(&mut self) -> Result<bool, TrustError> {
        let Some(path) = self.path.clone() else {
            return Ok(false);
        };
        let now = stamp_of(&path);
        if now == self.stamp {
            return Ok(false);
        }
        *self = TrustStore::load(&path)?;
        Ok(true)
    }

    /// The contents.
    pub fn file(&self) -> &TrustFile {
        &self.file
    }

    /// Writes the file atomically (a 0600 temporary file in the same directory, synced, then
    /// renamed over the old one). No-op for an in-memory store.
    ///
    /// # Errors
    /// [`TrustError::Io`].
    pub fn save(&self) -> Result<(), TrustError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let io = |source| TrustError::Io {
            path: path.clone(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        // NamedTempFile creates its file 0600.
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
        let mut json = serde_json::to_vec_pretty(&self.file).unwrap_or_default();
        json.push(b'\n');
        tmp.write_all(&json).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// [`TrustStore::save`], recording the new file's stamp so [`TrustStore::refresh`] does not
    /// re-read what this store wrote.
    ///
    /// # Errors
    /// [`TrustError::Io`].
    pub fn save_and_stamp(&mut self) -> Result<(), TrustError> {
        self.save()?;
        if let Some(path) = &self.path {
            self.stamp = stamp_of(path);
        }
        Ok(())
    }

    /// What applies to `tool` (definition hash `hash`) of `server` at `now` (unix seconds).
    pub fn effective(&self, server: &str, tool: &str, hash: Option<&str>, now: u64) -> Effective {
        let mut eff = Effective {
            server: ServerLevel::Untrusted,
            tool: None,
            suspended: false,
            definition_changed: false,
        };
        let Some(s) = self.file.servers.get(server) else {
            return eff;
        };
        if s.validity.live(now) {
            eff.server = s.level.unwrap_or_default();
            eff.suspended = s.validity.suspended;
        }
        if let Some(t) = s.tools.get(tool) {
            if t.validity.live(now) {
                eff.suspended |= t.validity.suspended;
                if t.level == ToolLevel::Blocked {
                    // Blocking holds whatever the definition.
                    eff.tool = Some(ToolLevel::Blocked);
                } else if t.changed_to.is_some() || hash.is_some_and(|h| h != t.hash) {
                    eff.definition_changed = true;
                } else if hash.is_some() {
                    eff.tool = Some(t.level);
                }
            }
        }
        eff
    }

    /// Records that `server` now presents `tool` with definition `hash`. Returns true (and marks
    /// the entry) when a live tool setting was granted for another definition.
    pub fn observe(&mut self, server: &str, tool: &str, hash: &str, now: u64) -> bool {
        let Some(t) = self
            .file
            .servers
            .get_mut(server)
            .and_then(|s| s.tools.get_mut(tool))
        else {
            return false;
        };
        if !t.validity.live(now) || t.hash == hash {
            return false;
        }
        if t.changed_to.as_deref() == Some(hash) {
            return false;
        }
        t.changed_to = Some(hash.to_string());
        t.validity.updated = now;
        true
    }

    fn server_mut(&mut self, server: &str, command: &[String]) -> &mut ServerEntry {
        let s = self.file.servers.entry(server.to_string()).or_default();
        if s.command.is_empty() {
            s.command = command.to_vec();
        }
        s
    }

    /// Sets `server`'s level.
    pub fn set_server(
        &mut self,
        server: &str,
        command: &[String],
        level: ServerLevel,
        now: u64,
        expires: Option<u64>,
    ) {
        let s = self.server_mut(server, command);
        s.level = Some(level);
        s.validity = Validity {
            expires,
            revoked: false,
            suspended: false,
            updated: now,
        };
    }

    /// Sets `tool`'s entry.
    pub fn set_tool(&mut self, server: &str, command: &[String], tool: &str, entry: ToolEntry) {
        self.server_mut(server, command)
            .tools
            .insert(tool.to_string(), entry);
    }

    /// The full id of the one server whose id starts with `prefix`.
    ///
    /// # Errors
    /// [`TrustError::NoSuchServer`] when none or several match.
    pub fn resolve_id(&self, prefix: &str) -> Result<String, TrustError> {
        let mut hits = self
            .file
            .servers
            .keys()
            .filter(|k| !prefix.is_empty() && k.starts_with(prefix));
        match (hits.next(), hits.next()) {
            (Some(id), None) => Ok(id.clone()),
            _ => Err(TrustError::NoSuchServer(prefix.to_string())),
        }
    }

    /// Applies `f` to the validity of a server (`tool` None) or one of its tools.
    ///
    /// # Errors
    /// [`TrustError::NoSuchServer`], [`TrustError::NoSuchTool`].
    pub fn update(
        &mut self,
        server_prefix: &str,
        tool: Option<&str>,
        f: impl FnOnce(&mut Validity),
    ) -> Result<String, TrustError> {
        let id = self.resolve_id(server_prefix)?;
        let s = self
            .file
            .servers
            .get_mut(&id)
            .ok_or_else(|| TrustError::NoSuchServer(server_prefix.to_string()))?;
        match tool {
            None => f(&mut s.validity),
            Some(name) => {
                let t = s
                    .tools
                    .get_mut(name)
                    .ok_or_else(|| TrustError::NoSuchTool {
                        server: id.clone(),
                        tool: name.to_string(),
                    })?;
                f(&mut t.validity);
            }
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_level_holds_only_for_its_definition() {
        let mut st = TrustStore::in_memory();
        let cmd = vec!["srv".to_string()];
        let id = server_id(&cmd);
        assert_eq!(
            st.effective(&id, "t", Some("h1"), 10).server,
            ServerLevel::Untrusted
        );
        st.set_server(&id, &cmd, ServerLevel::Trusted, 10, Some(100));
        st.set_tool(
            &id,
            &cmd,
            "t",
            ToolEntry::new("h1", ToolLevel::ConfirmAlways, 10, None),
        );
        let e = st.effective(&id, "t", Some("h1"), 20);
        assert_eq!(
            (e.server, e.tool),
            (ServerLevel::Trusted, Some(ToolLevel::ConfirmAlways))
        );
        // Expired server entry: back to the default.
        assert_eq!(
            st.effective(&id, "t", Some("h1"), 100).server,
            ServerLevel::Untrusted
        );
        // Rug pull.
        assert!(st.observe(&id, "t", "h2", 30));
        assert!(!st.observe(&id, "t", "h2", 31));
        let e = st.effective(&id, "t", Some("h1"), 40);
        assert!(e.definition_changed && e.tool.is_none());
        // Re-trusted for the new definition.
        st.set_tool(
            &id,
            &cmd,
            "t",
            ToolEntry::new("h2", ToolLevel::AlwaysAllow, 50, None),
        );
        let e = st.effective(&id, "t", Some("h2"), 60);
        assert_eq!(
            (e.tool, e.definition_changed),
            (Some(ToolLevel::AlwaysAllow), false)
        );
        st.update(&id[..4], Some("t"), |v| v.suspended = true)
            .unwrap();
        assert!(st.effective(&id, "t", Some("h2"), 60).suspended);
        st.update(&id, Some("t"), |v| v.revoked = true).unwrap();
        assert_eq!(st.effective(&id, "t", Some("h2"), 60).tool, None);
        assert!(st.update("zz", None, |_| {}).is_err());
    }

    #[test]
    fn saves_atomically_0600_and_rejects_loose_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/trust.json");
        let mut st = TrustStore::load(&path).unwrap();
        let cmd = vec!["a".to_string(), "b".to_string()];
        st.set_server(&server_id(&cmd), &cmd, ServerLevel::Sandboxed, 1, None);
        st.save().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = TrustStore::load(&path).unwrap();
        assert_eq!(again.file(), st.file());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(
            TrustStore::load(&path),
            Err(TrustError::Permissions { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "{\"version\":1,\"extra\":2}").unwrap();
        let err = TrustStore::load(&path).unwrap_err().to_string();
        assert!(err.contains("unknown field `extra`"), "{err}");
    }

    #[test]
    fn refresh_sees_other_writers_and_keeps_last_good_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.json");
        let cmd = vec!["srv".to_string()];
        let id = server_id(&cmd);
        let mut running = TrustStore::load(&path).unwrap();
        assert!(!running.refresh().unwrap());
        // Another process trusts the server...
        let mut other = TrustStore::load(&path).unwrap();
        other.set_server(&id, &cmd, ServerLevel::Trusted, 1, None);
        other.save().unwrap();
        assert!(running.refresh().unwrap());
        assert_eq!(
            running.effective(&id, "t", None, 2).server,
            ServerLevel::Trusted
        );
        // ...the running session writes a tool entry without undoing it...
        running.set_tool(
            &id,
            &cmd,
            "t",
            ToolEntry::new("h", ToolLevel::AlwaysAllow, 3, None),
        );
        running.save_and_stamp().unwrap();
        assert!(!running.refresh().unwrap());
        // ...and a revocation elsewhere applies to the running session.
        let mut cli = TrustStore::load(&path).unwrap();
        cli.update(&id, None, |v| v.revoked = true).unwrap();
        cli.save().unwrap();
        assert!(running.refresh().unwrap());
        let e = running.effective(&id, "t", Some("h"), 4);
        assert_eq!(
            (e.server, e.tool),
            (ServerLevel::Untrusted, Some(ToolLevel::AlwaysAllow))
        );
        // A broken file: the last good contents stay.
        std::fs::write(&path, "{").unwrap();
        assert!(running.refresh().is_err());
        assert_eq!(
            running.effective(&id, "t", Some("h"), 4).tool,
            Some(ToolLevel::AlwaysAllow)
        );
    }
}
