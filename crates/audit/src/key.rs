//! The Ed25519 key that signs checkpoints: generated, stored as hex in a 0600 file (or handed
//! over from a vault as 32 seed bytes), and its public half for verification.

use std::io::Write;
use std::path::Path;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::error::AuditError;

/// The checkpoint signing key. Its `Debug` shows only the public key.
pub struct CheckpointKey {
    key: SigningKey,
}

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointKey")
            .field("public", &self.public_hex())
            .finish_non_exhaustive()
    }
}

impl CheckpointKey {
    /// A new random key.
    ///
    /// # Errors
    ///
    /// [`AuditError::Key`] when the OS has no randomness to give.
    pub fn generate() -> Result<CheckpointKey, AuditError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *seed).map_err(|e| AuditError::Key {
            path: "<random>".into(),
            message: format!("no randomness from the OS: {e}"),
        })?;
        Ok(CheckpointKey::from_seed(&seed))
    }

    /// The key with this 32-byte seed (for keys kept in a vault).
    pub fn from_seed(seed: &[u8; 32]) -> CheckpointKey {
        CheckpointKey {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// Creates a new key file (mode 0600, refusing to overwrite) and returns the key.
    ///
    /// # Errors
    ///
    /// [`AuditError::Io`] if the file exists or cannot be written.
    pub fn create(path: &Path) -> Result<CheckpointKey, AuditError> {
        let key = CheckpointKey::generate()?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path).map_err(|e| AuditError::io(path, e))?;
        let hex = Zeroizing::new(hex::encode(key.key.to_bytes()));
        f.write_all(hex.as_bytes())
            .and_then(|()| f.write_all(b"\n"))
            .and_then(|()| f.sync_all())
            .map_err(|e| AuditError::io(path, e))?;
        Ok(key)
    }

    /// Reads a key file written by [`CheckpointKey::create`].
    ///
    /// # Errors
    ///
    /// [`AuditError::Key`] if the file is readable or writable by group or others, or does not
    /// hold 64 hex digits; [`AuditError::Io`] if it cannot be read.
    pub fn load(path: &Path) -> Result<CheckpointKey, AuditError> {
        let meta = std::fs::metadata(path).map_err(|e| AuditError::io(path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(AuditError::Key {
                    path: path.to_path_buf(),
                    message: format!(
                        "mode {mode:04o} lets others read it: run `chmod 600 {}`",
                        path.display()
                    ),
                });
            }
        }
        if meta.len() > 1024 {
            return Err(key_err(path));
        }
        let text = Zeroizing::new(std::fs::read(path).map_err(|e| AuditError::io(path, e))?);
        let trimmed = text.trim_ascii();
        let mut seed = Zeroizing::new([0u8; 32]);
        if trimmed.len() != 64 || hex::decode_to_slice(trimmed, &mut *seed).is_err() {
            return Err(key_err(path));
        }
        Ok(CheckpointKey::from_seed(&seed))
    }

    /// The public key, hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }
}

fn key_err(path: &Path) -> AuditError {
    AuditError::Key {
        path: path.to_path_buf(),
        message: "expected 64 hex digits (an Ed25519 seed); create one with `hush audit keygen`"
            .into(),
    }
}

/// Parses a hex Ed25519 public key.
///
/// # Errors
///
/// [`AuditError::PublicKey`] when it is not 64 hex digits of a valid point.
pub fn parse_public_key(hex_key: &str) -> Result<VerifyingKey, AuditError> {
    let mut b = [0u8; 32];
    hex::decode_to_slice(hex_key.trim(), &mut b)
        .map_err(|_| AuditError::PublicKey(format!("`{}` is not 64 hex digits", hex_key.trim())))?;
    VerifyingKey::from_bytes(&b).map_err(|_| {
        AuditError::PublicKey(format!("`{}` is not an Ed25519 public key", hex_key.trim()))
    })
}
