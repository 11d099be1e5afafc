//! Layering the conf files: defaults, then `user.conf`, then the secret key.

use std::path::Path;

use rustc_hash::FxHashMap;

use crate::finding::Finding;
use crate::key::SecretKey;
use crate::origin::Origin;
use crate::parse::{ConfEntry, ConfFile};
use crate::secret::SECRET_KEY_VAR;

/// A merged entry's winning definition: a line of a conf file, or the secret key file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergedValue<'a> {
    /// A conf file's entry, its value not yet interpolated.
    Entry(&'a ConfEntry),
    /// The secret key; `None` when it has not been created yet (only for read-only tasks such as
    /// `config-show`).
    SecretKey {
        /// The key.
        key: Option<&'a SecretKey>,
        /// The key file.
        path: &'a Path,
    },
}

/// One key of the merged configuration with its winning definition. It borrows from the parsed
/// files: a merge copies nothing, which matters for large `user.conf` files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MergedEntry<'a> {
    /// The variable's name.
    pub key: &'a str,
    /// The winning definition.
    pub value: MergedValue<'a>,
}

impl MergedEntry<'_> {
    /// Where the winning value was defined.
    pub fn origin(&self) -> Origin {
        match self.value {
            MergedValue::Entry(entry) => Origin::from_location(&entry.location),
            MergedValue::SecretKey { path, .. } => Origin::SecretKeyFile { path: path.to_path_buf() },
        }
    }
}

/// The merged configuration, in Compose's order: every key at the position of its first appearance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergedConfig<'a> {
    /// The entries, in order.
    pub entries: Vec<MergedEntry<'a>>,
    /// What the merge noticed: repeated keys, an ignored `LUMIGATOR_SECRET_KEY`.
    pub warnings: Vec<Finding>,
    /// The position of each key in `entries`.
    index: FxHashMap<&'a str, usize>,
}

impl<'a> MergedConfig<'a> {
    /// Merges `defaults`, then `user` (if present), then the key file's key. A key keeps the
    /// position of its first appearance; the last definition wins; `LUMIGATOR_SECRET_KEY` always
    /// comes from the key file.
    pub fn merge(
        defaults: &'a ConfFile,
        user: Option<&'a ConfFile>,
        key: Option<&'a SecretKey>,
        key_path: &'a Path,
    ) -> Self {
        let mut merged = MergedConfig::default();
        for file in std::iter::once(defaults).chain(user) {
            let mut seen_here: FxHashMap<&str, usize> = FxHashMap::default();
            for entry in &file.entries {
                if entry.key == SECRET_KEY_VAR {
                    merged.warnings.push(Finding::warning(
                        Some(entry.location.clone()),
                        Some(&entry.key),
                        format!("ignored: the secret key always comes from {}", key_path.display()),
                    ));
                    continue;
                }
                if let Some(line) = seen_here.insert(&entry.key, entry.location.line) {
                    merged.warnings.push(Finding::warning(
                        Some(entry.location.clone()),
                        Some(&entry.key),
                        format!("also set on line {line} of this file; this later line wins"),
                    ));
                }
                match merged.index.get(entry.key.as_str()) {
                    Some(&at) => merged.entries[at].value = MergedValue::Entry(entry),
                    None => {
                        merged.index.insert(&entry.key, merged.entries.len());
                        merged.entries.push(MergedEntry { key: &entry.key, value: MergedValue::Entry(entry) });
                    }
                }
            }
        }
        merged.index.insert(SECRET_KEY_VAR, merged.entries.len());
        merged.entries.push(MergedEntry { key: SECRET_KEY_VAR, value: MergedValue::SecretKey { key, path: key_path } });
        merged
    }

    /// The position of `key` in [`MergedConfig::entries`], if it is configured.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }
}
