//! Built-in profiles, as TOML compiled into the crate and loaded like any file.

/// `(name, text)` of every built-in profile.
pub(crate) const PROFILES: &[(&str, &str)] = &[
    ("dev", include_str!("profiles/dev.toml")),
    ("prod", include_str!("profiles/prod.toml")),
    ("ide", include_str!("profiles/ide.toml")),
    ("test", include_str!("profiles/test.toml")),
];

/// The names of the built-in profiles.
pub fn profile_names() -> impl Iterator<Item = &'static str> {
    PROFILES.iter().map(|(n, _)| *n)
}

/// The TOML text of a built-in profile.
pub fn profile_text(name: &str) -> Option<&'static str> {
    PROFILES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
