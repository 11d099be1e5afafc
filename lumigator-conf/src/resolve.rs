//! Interpolation after the merge: `${VAR}` names an earlier entry, else a process environment
//! variable that is not itself a configured key (such as `HOME`).

use std::cell::Cell;
use std::fmt;

use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::error::Error;
use crate::finding::Finding;
use crate::merge::{MergedConfig, MergedValue};
use crate::origin::Location;
use crate::origin::Origin;
use crate::secret::REDACTED;
use crate::settings;

/// One resolved setting: its final value and where it came from.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedEntry {
    /// The variable's name.
    pub key: String,
    /// The value a container receives.
    pub value: String,
    /// Where the winning value was defined.
    pub origin: Origin,
    /// Whether the value must be hidden from output: a secret setting, a name that says it is one,
    /// or a value that uses one.
    pub secret: bool,
}

impl fmt::Debug for ResolvedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if self.secret { &REDACTED } else { &self.value };
        f.debug_struct("ResolvedEntry")
            .field("key", &self.key)
            .field("value", value)
            .field("origin", &self.origin)
            .finish()
    }
}

/// The resolved configuration in merged order, with the warnings resolution produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvedConfig {
    /// The entries, in order.
    pub entries: Vec<ResolvedEntry>,
    /// Warnings of the merge and of interpolation (undefined variables).
    pub warnings: Vec<Finding>,
}

impl ResolvedConfig {
    /// Interpolates every entry of `merged` in order. `env` reads the process environment; it is
    /// asked only for names that are not configured keys, exactly as Compose resolves the merged
    /// file when no configured key is exported (the compose tasks make sure of that).
    pub fn resolve(merged: &MergedConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut resolved =
            ResolvedConfig { entries: Vec::with_capacity(merged.entries.len()), warnings: merged.warnings.clone() };
        // Entries are resolved in order, so entry `i` of `merged` is entry `i` of `resolved`.
        for (position, entry) in merged.entries.iter().enumerate() {
            let (value, from_secret) = match &entry.value {
                MergedValue::SecretKey { key, .. } => (key.map(|k| k.expose().to_string()).unwrap_or_default(), false),
                MergedValue::Entry(source) => {
                    let location = || Location { column: source.value_column, ..source.location.clone() };
                    let entries = &resolved.entries;
                    // A value that uses a secret holds it (`postgres://u:${DB_PASSWORD}@db`), so it
                    // is hidden like the secret itself. Any use counts, even `${SECRET:+x}`: hiding
                    // too much is safe, showing too much is not.
                    let from_secret = Cell::new(false);
                    let lookup = |name: &str| match merged.position(name) {
                        Some(index) if index < position => {
                            from_secret.set(from_secret.get() || entries[index].secret);
                            Some(entries[index].value.clone())
                        }
                        Some(_) => None,
                        None => {
                            let value = env(name);
                            from_secret.set(from_secret.get() || (value.is_some() && settings::is_secret(name)));
                            value
                        }
                    };
                    // One warning per unset name and entry: a line naming it a million times is one
                    // mistake, and a warning each made memory grow a hundredfold faster than the file.
                    let mut unset: Vec<String> = Vec::new();
                    let mut seen = FxHashSet::default();
                    let mut note_unset = |name: &str| {
                        if seen.insert(name.to_string()) {
                            unset.push(name.to_string());
                        }
                    };
                    let value =
                        source.value.evaluate(&lookup, &mut note_unset).map_err(|missing| Error::Interpolation {
                            location: location(),
                            message: if missing.message.is_empty() {
                                format!("{}: required variable {} has no value", entry.key, missing.name)
                            } else {
                                format!(
                                    "{}: required variable {} has no value: {}",
                                    entry.key, missing.name, missing.message
                                )
                            },
                        })?;
                    for name in unset {
                        let why = if merged.position(&name).is_some() {
                            format!(
                                "{name} is set only further down; a value can use only entries above it, so it is empty here"
                            )
                        } else {
                            format!("{name} is not set, so it is empty here")
                        };
                        resolved.warnings.push(Finding::warning(Some(location()), Some(entry.key), why));
                    }
                    (value, from_secret.get())
                }
            };
            resolved.entries.push(ResolvedEntry {
                secret: from_secret || settings::is_secret(entry.key),
                key: entry.key.to_string(),
                value,
                origin: entry.origin(),
            });
        }
        Ok(resolved)
    }

    /// The entry for `key`, if configured.
    pub fn get(&self, key: &str) -> Option<&ResolvedEntry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Adds a value computed from the host (not from any file), or replaces one.
    pub fn set_derived(&mut self, key: &str, value: impl Into<String>, from: &str) {
        let entry = ResolvedEntry {
            key: key.to_string(),
            value: value.into(),
            origin: Origin::Derived { from: from.to_string() },
            secret: false,
        };
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(existing) => *existing = entry,
            None => self.entries.push(entry),
        }
    }
}
