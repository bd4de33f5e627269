//! The vault file format, version 1 (see `FORMAT.md`): header, key wrapping and the entry table.
//!
//! Reading checks, in order: magic, version, header length, header checksum, file length,
//! KDF parameters; then the passphrase key unwraps the data key (failure: wrong passphrase) and
//! the data key opens the entry table (failure: corruption, since the key was right).

use std::collections::BTreeMap;
use std::path::Path;

use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::Aes256Gcm;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::entry::{secret_from_str, validate_name, validate_value, Entry};
use crate::{Error, Result};

/// The first eight bytes of every vault file.
pub const MAGIC: [u8; 8] = *b"hushvlt\x00";
/// The format version this build reads and writes.
pub const VERSION: u16 = 1;
/// KDF id for argon2id (version 0x13).
pub(crate) const KDF_ARGON2ID: u8 = 1;
pub(crate) const SALT_LEN: usize = 16;
pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const KEY_LEN: usize = 32;
pub(crate) const TAG_LEN: usize = 16;

// Header field offsets (little-endian integers).
const OFF_VERSION: usize = 8;
const OFF_KDF: usize = 10;
const OFF_MEMORY: usize = 11;
const OFF_PASSES: usize = 15;
const OFF_LANES: usize = 19;
const OFF_SALT: usize = 23;
const OFF_KEY_NONCE: usize = OFF_SALT + SALT_LEN; // 39
const OFF_WRAPPED: usize = OFF_KEY_NONCE + NONCE_LEN; // 51
const OFF_PAYLOAD_NONCE: usize = OFF_WRAPPED + KEY_LEN + TAG_LEN; // 99
const OFF_PAYLOAD_LEN: usize = OFF_PAYLOAD_NONCE + NONCE_LEN; // 111
const OFF_CHECKSUM: usize = OFF_PAYLOAD_LEN + 4; // 115
/// Length of the whole header, checksum included.
pub const HEADER_LEN: usize = OFF_CHECKSUM + 32; // 147
/// The key-wrapping AAD: everything the passphrase key depends on.
const WRAP_AAD: std::ops::Range<usize> = 0..OFF_KEY_NONCE;
/// The entry-table AAD: the whole header before the checksum.
const PAYLOAD_AAD: std::ops::Range<usize> = 0..OFF_CHECKSUM;

/// Largest entry table accepted (ciphertext bytes): 256 MiB.
pub const MAX_PAYLOAD_LEN: u32 = 256 << 20;

/// argon2id cost parameters, stored in the header.
///
/// The default (64 MiB, 3 passes, 1 lane) takes a few hundred milliseconds on a laptop core:
/// unlocking is deliberately slow so a stolen file resists guessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    memory_kib: u32,
    passes: u32,
    lanes: u32,
}

impl KdfParams {
    /// Smallest memory cost accepted, in KiB (argon2's own minimum for one lane).
    pub const MIN_MEMORY_KIB: u32 = 8;
    /// Largest memory cost accepted when reading a file, in KiB (2 GiB), so a crafted header
    /// cannot make an unlock allocate without bound.
    pub const MAX_MEMORY_KIB: u32 = 2 << 20;
    /// Most passes accepted.
    pub const MAX_PASSES: u32 = 64;
    /// Most lanes accepted.
    pub const MAX_LANES: u32 = 16;
    /// Default memory cost: 64 MiB.
    pub const DEFAULT_MEMORY_KIB: u32 = 64 * 1024;
    /// Default passes.
    pub const DEFAULT_PASSES: u32 = 3;

    /// Parameters for a new vault.
    ///
    /// Tests use small costs to stay fast; production vaults use [`KdfParams::default`] or
    /// stronger. Anything valid for argon2 within the limits above is accepted, because the
    /// header makes every file self-describing.
    ///
    /// # Errors
    ///
    /// [`Error::KdfParams`] outside the limits (`memory_kib >= 8 * lanes`).
    pub fn new(memory_kib: u32, passes: u32, lanes: u32) -> Result<KdfParams> {
        if !(1..=Self::MAX_LANES).contains(&lanes) {
            return Err(Error::KdfParams(format!(
                "lanes must be 1 to {}",
                Self::MAX_LANES
            )));
        }
        if !(1..=Self::MAX_PASSES).contains(&passes) {
            return Err(Error::KdfParams(format!(
                "passes must be 1 to {}",
                Self::MAX_PASSES
            )));
        }
        if memory_kib < Self::MIN_MEMORY_KIB * lanes || memory_kib > Self::MAX_MEMORY_KIB {
            return Err(Error::KdfParams(format!(
                "memory must be {} KiB per lane to {} KiB",
                Self::MIN_MEMORY_KIB,
                Self::MAX_MEMORY_KIB
            )));
        }
        Ok(KdfParams {
            memory_kib,
            passes,
            lanes,
        })
    }

    /// Memory cost in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Number of passes (argon2 `t_cost`).
    pub fn passes(&self) -> u32 {
        self.passes
    }

    /// Degree of parallelism (argon2 `p_cost`).
    pub fn lanes(&self) -> u32 {
        self.lanes
    }

    /// Derives the 256-bit passphrase key.
    pub(crate) fn derive(
        &self,
        passphrase: &SecretString,
        salt: &[u8; SALT_LEN],
    ) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        let params = argon2::Params::new(self.memory_kib, self.passes, self.lanes, Some(KEY_LEN))
            .map_err(|e| Error::KdfParams(e.to_string()))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        argon
            .hash_password_into(passphrase.expose_secret().as_bytes(), salt, &mut key[..])
            .map_err(|e| Error::KdfParams(e.to_string()))?;
        Ok(key)
    }
}

impl Default for KdfParams {
    fn default() -> KdfParams {
        KdfParams {
            memory_kib: Self::DEFAULT_MEMORY_KIB,
            passes: Self::DEFAULT_PASSES,
            lanes: 1,
        }
    }
}

/// What a vault header says, readable without the passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeaderInfo {
    /// Format version.
    pub version: u16,
    /// The KDF parameters an unlock will use.
    pub kdf: KdfParams,
    /// Length of the encrypted entry table (tag included).
    pub payload_len: u32,
}

impl HeaderInfo {
    /// Parses and checks the header of the vault file `bytes` (magic, version, checksum,
    /// lengths, KDF parameters) without a passphrase; `path` names it in errors.
    ///
    /// # Errors
    ///
    /// [`Error::NotAVault`], [`Error::UnsupportedVersion`], [`Error::Truncated`],
    /// [`Error::Corrupted`].
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<HeaderInfo> {
        Ok(parse(path, bytes)?.1)
    }
}

/// The parsed, checked header: everything but the ciphertext.
#[derive(Clone)]
pub(crate) struct Header {
    pub(crate) kdf: KdfParams,
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) key_nonce: [u8; NONCE_LEN],
    pub(crate) wrapped_key: [u8; KEY_LEN + TAG_LEN],
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks the header and the file length; returns the header and the ciphertext.
pub(crate) fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<(Header, HeaderInfo, &'a [u8])> {
    let len = bytes.len() as u64;
    let truncated = |expected: usize| Error::Truncated {
        path: path.to_owned(),
        len,
        expected: expected as u64,
    };
    let corrupted = |what| Error::Corrupted {
        path: path.to_owned(),
        what,
    };
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(Error::NotAVault {
            path: path.to_owned(),
        });
    }
    if bytes.len() < OFF_KDF {
        return Err(truncated(HEADER_LEN));
    }
    let version = u16::from_le_bytes([bytes[OFF_VERSION], bytes[OFF_VERSION + 1]]);
    if version != VERSION {
        return Err(Error::UnsupportedVersion {
            path: path.to_owned(),
            version,
            supported: VERSION,
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(truncated(HEADER_LEN));
    }
    let digest = Sha256::digest(&bytes[..OFF_CHECKSUM]);
    if digest[..] != bytes[OFF_CHECKSUM..HEADER_LEN] {
        return Err(corrupted("header checksum mismatch"));
    }
    let payload_len = le_u32(bytes, OFF_PAYLOAD_LEN);
    if payload_len > MAX_PAYLOAD_LEN || (payload_len as usize) < TAG_LEN + 4 {
        return Err(corrupted("entry table length out of range"));
    }
    let expected = HEADER_LEN + payload_len as usize;
    if bytes.len() < expected {
        return Err(truncated(expected));
    }
    if bytes.len() > expected {
        return Err(corrupted("trailing bytes after the entry table"));
    }
    if bytes[OFF_KDF] != KDF_ARGON2ID {
        return Err(corrupted("unknown KDF id"));
    }
    let kdf = KdfParams::new(
        le_u32(bytes, OFF_MEMORY),
        le_u32(bytes, OFF_PASSES),
        le_u32(bytes, OFF_LANES),
    )
    .map_err(|_| corrupted("KDF parameters out of range"))?;
    let mut header = Header {
        kdf,
        salt: [0; SALT_LEN],
        key_nonce: [0; NONCE_LEN],
        wrapped_key: [0; KEY_LEN + TAG_LEN],
    };
    header.salt.copy_from_slice(&bytes[OFF_SALT..OFF_KEY_NONCE]);
    header
        .key_nonce
        .copy_from_slice(&bytes[OFF_KEY_NONCE..OFF_WRAPPED]);
    header
        .wrapped_key
        .copy_from_slice(&bytes[OFF_WRAPPED..OFF_PAYLOAD_NONCE]);
    let info = HeaderInfo {
        version,
        kdf,
        payload_len,
    };
    Ok((header, info, &bytes[HEADER_LEN..]))
}

/// The data key: 256 random bits, one per vault, wrapped by the passphrase key.
pub(crate) type DataKey = SecretBox<[u8; KEY_LEN]>;

pub(crate) fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Random(e.to_string()))?;
    Ok(b)
}

pub(crate) fn new_data_key() -> Result<DataKey> {
    let mut failed = None;
    let key = SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| {
        if let Err(e) = getrandom::fill(k) {
            failed = Some(e);
        }
    });
    match failed {
        Some(e) => Err(Error::Random(e.to_string())),
        None => Ok(key),
    }
}

/// A header for `kdf` with a fresh salt, wrapping `data_key` under `passphrase`.
pub(crate) fn wrap(
    kdf: KdfParams,
    passphrase: &SecretString,
    data_key: &DataKey,
) -> Result<Header> {
    let mut header = Header {
        kdf,
        salt: random()?,
        key_nonce: random()?,
        wrapped_key: [0; KEY_LEN + TAG_LEN],
    };
    let pkey = kdf.derive(passphrase, &header.salt)?;
    let cipher = Aes256Gcm::new(GenericArray::from_slice(&pkey[..]));
    let aad = header_bytes(&header, &[0; NONCE_LEN], 0);
    let mut buf = Zeroizing::new(*data_key.expose_secret());
    let tag = cipher
        .encrypt_in_place_detached(
            GenericArray::from_slice(&header.key_nonce),
            &aad[WRAP_AAD],
            &mut buf[..],
        )
        .map_err(|_| Error::Random("AES-GCM refused to encrypt".into()))?;
    header.wrapped_key[..KEY_LEN].copy_from_slice(&buf[..]);
    header.wrapped_key[KEY_LEN..].copy_from_slice(&tag);
    Ok(header)
}

/// Unwraps the data key; a failure means the passphrase (or the KDF inputs) is wrong.
pub(crate) fn unwrap(path: &Path, header: &Header, passphrase: &SecretString) -> Result<DataKey> {
    let pkey = header.kdf.derive(passphrase, &header.salt)?;
    let cipher = Aes256Gcm::new(GenericArray::from_slice(&pkey[..]));
    let aad = header_bytes(header, &[0; NONCE_LEN], 0);
    let tag = GenericArray::clone_from_slice(&header.wrapped_key[KEY_LEN..]);
    let mut ok = false;
    let key = SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| {
        k.copy_from_slice(&header.wrapped_key[..KEY_LEN]);
        ok = cipher
            .decrypt_in_place_detached(
                GenericArray::from_slice(&header.key_nonce),
                &aad[WRAP_AAD],
                &mut k[..],
                &tag,
            )
            .is_ok();
    });
    if ok {
        Ok(key)
    } else {
        Err(Error::WrongPassphrase {
            path: path.to_owned(),
        })
    }
}

/// The header bytes before the checksum, for a payload of `payload_len` under `payload_nonce`.
fn header_bytes(h: &Header, payload_nonce: &[u8; NONCE_LEN], payload_len: u32) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    b[..8].copy_from_slice(&MAGIC);
    b[OFF_VERSION..OFF_KDF].copy_from_slice(&VERSION.to_le_bytes());
    b[OFF_KDF] = KDF_ARGON2ID;
    b[OFF_MEMORY..OFF_PASSES].copy_from_slice(&h.kdf.memory_kib.to_le_bytes());
    b[OFF_PASSES..OFF_LANES].copy_from_slice(&h.kdf.passes.to_le_bytes());
    b[OFF_LANES..OFF_SALT].copy_from_slice(&h.kdf.lanes.to_le_bytes());
    b[OFF_SALT..OFF_KEY_NONCE].copy_from_slice(&h.salt);
    b[OFF_KEY_NONCE..OFF_WRAPPED].copy_from_slice(&h.key_nonce);
    b[OFF_WRAPPED..OFF_PAYLOAD_NONCE].copy_from_slice(&h.wrapped_key);
    b[OFF_PAYLOAD_NONCE..OFF_PAYLOAD_LEN].copy_from_slice(payload_nonce);
    b[OFF_PAYLOAD_LEN..OFF_CHECKSUM].copy_from_slice(&payload_len.to_le_bytes());
    b
}

/// The whole file: header, checksum, then the entry table sealed under `data_key` with a fresh
/// nonce.
pub(crate) fn seal(
    header: &Header,
    data_key: &DataKey,
    entries: &BTreeMap<String, Entry>,
) -> Result<Vec<u8>> {
    let plain_len = encoded_len(entries);
    let payload_len = u32::try_from(plain_len + TAG_LEN)
        .ok()
        .filter(|&n| n <= MAX_PAYLOAD_LEN)
        .ok_or_else(|| Error::InvalidMetadata {
            name: String::from("(vault)"),
            field: "size",
            reason: "the entry table would exceed 256 MiB",
        })?;
    // INVARIANT: sized for the tag too, so encryption in place never reallocates plaintext.
    let mut buf = Zeroizing::new(Vec::with_capacity(plain_len + TAG_LEN));
    encode(entries, &mut buf);
    debug_assert_eq!(buf.len(), plain_len);
    let nonce: [u8; NONCE_LEN] = random()?;
    let mut head = header_bytes(header, &nonce, payload_len);
    let digest = Sha256::digest(&head[..OFF_CHECKSUM]);
    head[OFF_CHECKSUM..].copy_from_slice(&digest);
    let cipher = Aes256Gcm::new(GenericArray::from_slice(data_key.expose_secret()));
    cipher
        .encrypt_in_place(
            GenericArray::from_slice(&nonce),
            &head[PAYLOAD_AAD],
            &mut *buf,
        )
        .map_err(|_| Error::Random("AES-GCM refused to encrypt".into()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + buf.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens the entry table of a file whose header `parse` accepted.
pub(crate) fn open_payload(
    path: &Path,
    bytes: &[u8],
    data_key: &DataKey,
) -> Result<BTreeMap<String, Entry>> {
    let corrupted = |what| Error::Corrupted {
        path: path.to_owned(),
        what,
    };
    let nonce = &bytes[OFF_PAYLOAD_NONCE..OFF_PAYLOAD_LEN];
    let cipher = Aes256Gcm::new(GenericArray::from_slice(data_key.expose_secret()));
    let mut buf = Zeroizing::new(Vec::with_capacity(bytes.len() - HEADER_LEN));
    buf.extend_from_slice(&bytes[HEADER_LEN..]);
    cipher
        .decrypt_in_place(
            GenericArray::from_slice(nonce),
            &bytes[PAYLOAD_AAD],
            &mut *buf,
        )
        .map_err(|_| corrupted("the entry table fails authentication"))?;
    decode(&buf).map_err(corrupted)
}

// --- the entry table -------------------------------------------------------------------------

const FLAG_EXPIRES: u8 = 1;
const FLAG_ROTATE: u8 = 2;

fn encoded_len(entries: &BTreeMap<String, Entry>) -> usize {
    4 + entries
        .values()
        .map(|e| {
            2 + e.name.len()
                + 4
                + e.value.expose_secret().len()
                + 16
                + 1
                + if e.expires.is_some() { 8 } else { 0 }
                + if e.rotate_after.is_some() { 8 } else { 0 }
                + 2
                + e.description.len()
                + 2
                + e.tags.iter().map(|t| 2 + t.len()).sum::<usize>()
        })
        .sum::<usize>()
}

fn encode(entries: &BTreeMap<String, Entry>, out: &mut Vec<u8>) {
    // Lengths fit: names, tags and descriptions are bounded well below u16::MAX, values below
    // u32::MAX, and the table below MAX_PAYLOAD_LEN (checked by the caller).
    let put16 = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries.values() {
        put16(out, e.name.len());
        out.extend_from_slice(e.name.as_bytes());
        let v = e.value.expose_secret().as_bytes();
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(v);
        out.extend_from_slice(&e.created.to_le_bytes());
        out.extend_from_slice(&e.updated.to_le_bytes());
        let flags = if e.expires.is_some() { FLAG_EXPIRES } else { 0 }
            | if e.rotate_after.is_some() {
                FLAG_ROTATE
            } else {
                0
            };
        out.push(flags);
        if let Some(x) = e.expires {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(r) = e.rotate_after {
            out.extend_from_slice(&r.to_le_bytes());
        }
        put16(out, e.description.len());
        out.extend_from_slice(e.description.as_bytes());
        put16(out, e.tags.len());
        for t in &e.tags {
            put16(out, t.len());
            out.extend_from_slice(t.as_bytes());
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.rest.len() < n {
            return Err("the entry table ends early");
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<usize, &'static str> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_le_bytes([b[0], b[1]])))
    }
    fn u32(&mut self) -> Result<usize, &'static str> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn i64(&mut self) -> Result<i64, &'static str> {
        Ok(self.u64()? as i64)
    }
    fn str(&mut self, n: usize) -> Result<&'a str, &'static str> {
        std::str::from_utf8(self.take(n)?).map_err(|_| "an entry field is not UTF-8")
    }
}

/// Decodes an entry table. Errors name the check that failed, never the bytes.
pub(crate) fn decode(bytes: &[u8]) -> Result<BTreeMap<String, Entry>, &'static str> {
    let mut r = Reader { rest: bytes };
    let count = r.u32()?;
    let mut entries = BTreeMap::new();
    for _ in 0..count {
        let n = r.u16()?;
        let name = r.str(n)?;
        validate_name(name).map_err(|_| "an entry has an invalid name")?;
        let n = r.u32()?;
        let value = r.str(n)?;
        validate_value(name, value).map_err(|_| "an entry has an invalid value")?;
        let value = secret_from_str(value);
        let created = r.i64()?;
        let updated = r.i64()?;
        let flags = r.u8()?;
        if flags & !(FLAG_EXPIRES | FLAG_ROTATE) != 0 {
            return Err("an entry has unknown flags");
        }
        let expires = if flags & FLAG_EXPIRES != 0 {
            Some(r.i64()?)
        } else {
            None
        };
        let rotate_after = if flags & FLAG_ROTATE != 0 {
            Some(r.u64()?)
        } else {
            None
        };
        let n = r.u16()?;
        let description = r.str(n)?.to_owned();
        let ntags = r.u16()?;
        let mut tags = Vec::with_capacity(ntags.min(crate::entry::MAX_TAGS));
        for _ in 0..ntags {
            let n = r.u16()?;
            tags.push(r.str(n)?.to_owned());
        }
        let mut entry = Entry {
            name: name.to_owned(),
            value,
            created,
            updated,
            expires,
            rotate_after,
            tags: Vec::new(),
            description: String::new(),
        };
        entry
            .set_tags(tags)
            .map_err(|_| "an entry has an invalid tag")?;
        entry
            .set_description(description)
            .map_err(|_| "an entry has an invalid description")?;
        if entries.insert(entry.name.clone(), entry).is_some() {
            return Err("two entries have the same name");
        }
    }
    if !r.rest.is_empty() {
        return Err("bytes after the last entry");
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn entry_table_round_trips() {
        let mut m = BTreeMap::new();
        let now = SystemTime::now();
        let mut e = Entry::new("A", secret_from_str("alpha"), now).unwrap();
        e.set_tags(vec!["x".into(), "y".into()]).unwrap();
        e.set_description("what".into()).unwrap();
        e.set_rotate_after(Some(std::time::Duration::from_secs(60)));
        m.insert("A".into(), e);
        let mut e = Entry::new("B", secret_from_str("beta"), now).unwrap();
        e.set_expires(Some(now));
        m.insert("B".into(), e);
        let mut buf = Vec::new();
        encode(&m, &mut buf);
        assert_eq!(buf.len(), encoded_len(&m));
        let back = decode(&buf).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back["A"].value.expose_secret(), "alpha");
        assert_eq!(back["A"].tags, ["x", "y"]);
        assert_eq!(back["A"].rotate_after, Some(60));
        assert_eq!(back["B"].expires, m["B"].expires);
        for cut in 0..buf.len() {
            assert!(decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
        buf.push(0);
        assert_eq!(decode(&buf).unwrap_err(), "bytes after the last entry");
    }

    #[test]
    fn kdf_limits() {
        assert!(KdfParams::new(8, 1, 1).is_ok());
        assert!(KdfParams::new(7, 1, 1).is_err());
        assert!(KdfParams::new(16, 1, 4).is_err());
        assert!(KdfParams::new(1024, 0, 1).is_err());
        assert!(KdfParams::new(KdfParams::MAX_MEMORY_KIB + 1, 1, 1).is_err());
        let d = KdfParams::default();
        assert!(d.memory_kib() >= 64 * 1024 && d.passes() >= 3);
    }
}
