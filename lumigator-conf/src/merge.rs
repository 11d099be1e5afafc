//! Layering the conf files: defaults, then `user.conf`, then the secret key.

use std::collections::HashMap;
use std::path::Path;

use crate::SECRET_KEY_VAR;
use crate::check::Finding;
use crate::key::SecretKey;
use crate::origin::{Location, Origin};
use crate::parse::ConfFile;
use crate::template::Template;

/// A merged entry's raw value: a template from a conf file, or the secret key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergedValue {
    /// A conf file's value, not yet interpolated.
    Template {
        /// The value.
        template: Template,
        /// Where the value starts, for interpolation errors.
        location: Location,
    },
    /// The secret key from the key file; `None` when it has not been created yet (only for
    /// read-only tasks such as `config-show`).
    SecretKey(Option<SecretKey>),
}

/// One key of the merged configuration with its winning raw value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergedEntry {
    /// The variable's name.
    pub key: String,
    /// The winning value.
    pub value: MergedValue,
    /// Where the winning value was defined.
    pub origin: Origin,
}

/// The merged configuration, in Compose's order: every key at the position of its first appearance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergedConfig {
    /// The entries, in order.
    pub entries: Vec<MergedEntry>,
    /// What the merge noticed: repeated keys, an ignored `LUMIGATOR_SECRET_KEY`.
    pub warnings: Vec<Finding>,
    /// The position of each key in `entries`.
    index: HashMap<String, usize>,
}

impl MergedConfig {
    /// Merges `defaults`, then `user` (if present), then the key file's key. A key keeps the
    /// position of its first appearance; the last definition wins; `LUMIGATOR_SECRET_KEY` always
    /// comes from the key file.
    pub fn merge(defaults: &ConfFile, user: Option<&ConfFile>, key: Option<&SecretKey>, key_path: &Path) -> Self {
        let mut merged = MergedConfig::default();
        for file in std::iter::once(defaults).chain(user) {
            let mut seen_here: HashMap<&str, usize> = HashMap::new();
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
                let value = MergedValue::Template {
                    template: entry.value.clone(),
                    location: Location { column: entry.value_column, ..entry.location.clone() },
                };
                let origin = Origin::from_location(&entry.location);
                match merged.index.get(&entry.key) {
                    Some(&at) => {
                        merged.entries[at].value = value;
                        merged.entries[at].origin = origin;
                    }
                    None => {
                        merged.index.insert(entry.key.clone(), merged.entries.len());
                        merged.entries.push(MergedEntry { key: entry.key.clone(), value, origin });
                    }
                }
            }
        }
        merged.index.insert(SECRET_KEY_VAR.to_string(), merged.entries.len());
        merged.entries.push(MergedEntry {
            key: SECRET_KEY_VAR.to_string(),
            value: MergedValue::SecretKey(key.cloned()),
            origin: Origin::SecretKeyFile { path: key_path.to_path_buf() },
        });
        merged
    }

    /// The position of `key` in [`MergedConfig::entries`], if it is configured.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }
}
