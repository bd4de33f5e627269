//! One secret and its metadata.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};

use crate::{Error, Result};

/// Longest secret name, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Longest secret value, in bytes (1 MiB: certificates and key files fit).
pub const MAX_VALUE_LEN: usize = 1 << 20;
/// Longest description, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 4096;
/// Most tags per entry.
pub const MAX_TAGS: usize = 64;
/// Longest tag, in bytes.
pub const MAX_TAG_LEN: usize = 128;

/// A stored secret: its name, value and metadata.
///
/// `Debug` shows the metadata and `value: [REDACTED]`; there is no `Display`, no `Serialize`
/// and no `Clone`, so the value leaves only through [`Entry::value`] and `expose_secret()`.
pub struct Entry {
    pub(crate) name: String,
    pub(crate) value: SecretString,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) expires: Option<i64>,
    pub(crate) rotate_after: Option<u64>,
    pub(crate) tags: Vec<String>,
    pub(crate) description: String,
}

/// Where an entry stands against its `expires` and `rotate_after` dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryStatus {
    /// Neither expired nor due.
    Ok,
    /// `updated + rotate_after` has passed.
    RotationDue,
    /// `expires` has passed.
    Expired,
}

impl Entry {
    /// A new entry created and updated at `now`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] or [`Error::InvalidValue`] (see [`validate_name`]; values must be
    /// non-empty, at most [`MAX_VALUE_LEN`] bytes, without NUL bytes, which no environment
    /// variable can carry).
    pub fn new(name: &str, value: SecretString, now: SystemTime) -> Result<Entry> {
        validate_name(name)?;
        validate_value(name, value.expose_secret())?;
        let t = unix(now);
        Ok(Entry {
            name: name.to_owned(),
            value,
            created: t,
            updated: t,
            expires: None,
            rotate_after: None,
            tags: Vec::new(),
            description: String::new(),
        })
    }

    /// The name (an environment-variable-like identifier).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The secret value.
    pub fn value(&self) -> &SecretString {
        &self.value
    }

    /// When the entry was created.
    pub fn created(&self) -> SystemTime {
        from_unix(self.created)
    }

    /// When the value last changed.
    pub fn updated(&self) -> SystemTime {
        from_unix(self.updated)
    }

    /// When the credential stops being valid, if known.
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires.map(from_unix)
    }

    /// How long after `updated` the value should be rotated.
    pub fn rotate_after(&self) -> Option<Duration> {
        self.rotate_after.map(Duration::from_secs)
    }

    /// Free-form labels.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// What the secret is for (may be empty).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Sets the expiry date (`None` clears it).
    pub fn set_expires(&mut self, at: Option<SystemTime>) {
        self.expires = at.map(unix);
    }

    /// Sets the rotation interval (`None` clears it).
    pub fn set_rotate_after(&mut self, every: Option<Duration>) {
        self.rotate_after = every.map(|d| d.as_secs());
    }

    /// Replaces the tags.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMetadata`] for more than [`MAX_TAGS`] tags or a tag that is empty, longer
    /// than [`MAX_TAG_LEN`] or holds a comma, whitespace or a control character.
    pub fn set_tags(&mut self, tags: Vec<String>) -> Result<()> {
        let bad = |reason| Error::InvalidMetadata {
            name: self.name.clone(),
            field: "tag",
            reason,
        };
        if tags.len() > MAX_TAGS {
            return Err(bad("at most 64 tags"));
        }
        for t in &tags {
            if t.is_empty() || t.len() > MAX_TAG_LEN {
                return Err(bad("tags are 1 to 128 bytes"));
            }
            if t.chars()
                .any(|c| c == ',' || c.is_whitespace() || c.is_control())
            {
                return Err(bad("tags hold no commas, spaces or control characters"));
            }
        }
        self.tags = tags;
        Ok(())
    }

    /// Replaces the description.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMetadata`] when longer than [`MAX_DESCRIPTION_LEN`] bytes.
    pub fn set_description(&mut self, description: String) -> Result<()> {
        if description.len() > MAX_DESCRIPTION_LEN {
            return Err(Error::InvalidMetadata {
                name: self.name.clone(),
                field: "description",
                reason: "at most 4096 bytes",
            });
        }
        self.description = description;
        Ok(())
    }

    /// Replaces the value and sets `updated` to `now` (rotation).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidValue`], as for [`Entry::new`].
    pub fn set_value(&mut self, value: SecretString, now: SystemTime) -> Result<()> {
        validate_value(&self.name, value.expose_secret())?;
        self.value = value;
        self.updated = unix(now);
        Ok(())
    }

    /// Expired, due for rotation, or fine, at `now`. Expiry wins over rotation.
    pub fn status(&self, now: SystemTime) -> EntryStatus {
        let now = unix(now);
        if self.expires.is_some_and(|e| e <= now) {
            EntryStatus::Expired
        } else if self.rotate_after.is_some_and(|r| {
            self.updated
                .saturating_add(i64::try_from(r).unwrap_or(i64::MAX))
                <= now
        }) {
            EntryStatus::RotationDue
        } else {
            EntryStatus::Ok
        }
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .field("value", &"[REDACTED]")
            .field("created", &self.created)
            .field("updated", &self.updated)
            .field("expires", &self.expires)
            .field("rotate_after", &self.rotate_after)
            .field("tags", &self.tags)
            .field("description", &self.description)
            .finish()
    }
}

/// Checks that `name` can be a secret name: an ASCII letter or `_`, then letters, digits,
/// `_`, `.` or `-`, at most [`MAX_NAME_LEN`] bytes, so every name is a usable environment
/// variable name (dots and dashes allowed for namespacing, as in `prod.DB_PASSWORD`).
///
/// # Errors
///
/// [`Error::InvalidName`] saying which rule is broken.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidName {
            name: name.chars().take(MAX_NAME_LEN).collect(),
            reason,
        })
    };
    let Some(first) = name.bytes().next() else {
        return bad("names cannot be empty");
    };
    if name.len() > MAX_NAME_LEN {
        return bad("names are at most 256 bytes");
    }
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return bad("names start with a letter or `_`");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return bad("names hold only ASCII letters, digits, `_`, `.` and `-`");
    }
    Ok(())
}

pub(crate) fn validate_value(name: &str, value: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidValue {
            name: name.to_owned(),
            reason,
        })
    };
    if value.is_empty() {
        return bad("values cannot be empty");
    }
    if value.len() > MAX_VALUE_LEN {
        return bad("values are at most 1 MiB");
    }
    if value.as_bytes().contains(&0) {
        return bad("values cannot hold NUL bytes (no environment variable can)");
    }
    Ok(())
}

pub(crate) fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

pub(crate) fn from_unix(t: i64) -> SystemTime {
    if t >= 0 {
        UNIX_EPOCH + Duration::from_secs(t.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(t.unsigned_abs())
    }
}

/// Copies `bytes` into a `SecretString` whose buffer never reallocates (so no unzeroized copy
/// is left behind).
pub(crate) fn secret_from_str(s: &str) -> SecretString {
    let mut owned = String::with_capacity(s.len());
    owned.push_str(s);
    // INVARIANT: capacity == len, so `into_boxed_str` inside `From<String>` does not reallocate.
    SecretString::from(owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["A", "_x", "DB_PASSWORD", "prod.db-pass", "a1"] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "1A", "A B", "A=B", "é", ".x", "-x", &"A".repeat(257)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_value() {
        let e = Entry::new("K", secret_from_str("s3cr3t-v4lue"), SystemTime::now()).unwrap();
        let dbg = format!("{e:?}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(dbg.contains("[REDACTED]"), "{dbg}");
    }

    #[test]
    fn status_expiry_and_rotation() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut e = Entry::new("K", secret_from_str("v"), t0).unwrap();
        assert_eq!(e.status(t0), EntryStatus::Ok);
        e.set_rotate_after(Some(Duration::from_secs(10)));
        assert_eq!(e.status(t0 + Duration::from_secs(9)), EntryStatus::Ok);
        assert_eq!(
            e.status(t0 + Duration::from_secs(10)),
            EntryStatus::RotationDue
        );
        e.set_expires(Some(t0 + Duration::from_secs(5)));
        assert_eq!(e.status(t0 + Duration::from_secs(10)), EntryStatus::Expired);
        e.set_value(secret_from_str("w"), t0 + Duration::from_secs(20))
            .unwrap();
        assert_eq!(e.status(t0 + Duration::from_secs(25)), EntryStatus::Expired);
        e.set_expires(None);
        assert_eq!(e.status(t0 + Duration::from_secs(25)), EntryStatus::Ok);
    }

    #[test]
    fn values_and_metadata_are_checked() {
        let now = SystemTime::now();
        assert!(Entry::new("K", secret_from_str(""), now).is_err());
        assert!(Entry::new("K", secret_from_str("a\0b"), now).is_err());
        let mut e = Entry::new("K", secret_from_str("v"), now).unwrap();
        assert!(e.set_tags(vec!["a b".into()]).is_err());
        assert!(e.set_tags(vec!["".into()]).is_err());
        e.set_tags(vec!["prod".into(), "db".into()]).unwrap();
        assert!(e.set_description("x".repeat(5000)).is_err());
    }
}
