//! Interpolation after the merge: `${VAR}` names an earlier entry, else a process environment
//! variable that is not itself a configured key (such as `HOME`).

use std::cell::Cell;
use std::fmt;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::error::{Error, SizeLimit};
use crate::finding::Finding;
use crate::merge::{MergedConfig, MergedValue};
use crate::origin::Location;
use crate::origin::Origin;
use crate::secret::{REDACTED, holds_url_password};
use crate::settings;
use crate::template::EvalError;
use crate::text::shorten;

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
    /// a value that uses one, or a URL that carries a password (`postgres://user:pass@db`).
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

/// The most bytes one resolved value may hold: far more than any setting needs (they are names,
/// URLs and paths), and a bound on what a line can cost however its references multiply.
pub const MAX_VALUE_BYTES: usize = 4 << 20;

/// The most bytes all resolved values together may hold: beyond the largest configuration the
/// tool is measured with (a 10 MB `user.conf`), and a bound on the memory resolution takes.
pub const MAX_TOTAL_BYTES: usize = 64 << 20;

impl ResolvedConfig {
    /// Interpolates every entry of `merged` in order. `env` reads the process environment; it is
    /// asked only for names that are not configured keys, exactly as Compose resolves the merged
    /// file when no configured key is exported (the compose tasks make sure of that), and once per
    /// name. A value longer than [`MAX_VALUE_BYTES`], or one that would bring the total past
    /// [`MAX_TOTAL_BYTES`], stops resolution with [`Error::TooLarge`] at its line, before it is built.
    pub fn resolve(merged: &MergedConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut resolved =
            ResolvedConfig { entries: Vec::with_capacity(merged.entries.len()), warnings: merged.warnings.clone() };
        // Environment variables by name, read once: a line naming one a million times must not
        // copy it a million times.
        let mut environment: FxHashMap<String, Option<String>> = FxHashMap::default();
        let mut total = 0usize;
        // Entries are resolved in order, so entry `i` of `merged` is entry `i` of `resolved`.
        for (position, entry) in merged.entries.iter().enumerate() {
            let (value, from_secret) = match &entry.value {
                MergedValue::SecretKey { key, .. } => (key.map(|k| k.expose().to_string()).unwrap_or_default(), false),
                MergedValue::Entry(source) => {
                    let location = || Location { column: source.value_column, ..source.location.clone() };
                    for name in source.value.references() {
                        if merged.position(name).is_none() && !environment.contains_key(name) {
                            environment.insert(name.to_string(), env(name));
                        }
                    }
                    let entries = &resolved.entries;
                    let environment = &environment;
                    // A value that uses a secret holds it (`postgres://u:${DB_PASSWORD}@db`), so it
                    // is hidden like the secret itself. Any use counts, even `${SECRET:+x}`: hiding
                    // too much is safe, showing too much is not.
                    let from_secret = Cell::new(false);
                    let lookup = |name: &str| match merged.position(name) {
                        Some(index) if index < position => {
                            from_secret.set(from_secret.get() || entries[index].secret);
                            Some(entries[index].value.as_str())
                        }
                        Some(_) => None,
                        None => {
                            let value = environment.get(name).and_then(Option::as_deref);
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
                    let room = MAX_TOTAL_BYTES - total;
                    let limit = room.min(MAX_VALUE_BYTES);
                    let key = shorten(entry.key);
                    let value = match source.value.evaluate_within(&lookup, &mut note_unset, limit) {
                        Ok(value) => value,
                        Err(EvalError::TooLong) => {
                            let limit = if limit == MAX_VALUE_BYTES {
                                SizeLimit::Value(limit)
                            } else {
                                SizeLimit::Total(MAX_TOTAL_BYTES)
                            };
                            return Err(Error::TooLarge { location: location(), key: key.into_owned(), limit });
                        }
                        Err(EvalError::Missing(missing)) => {
                            let name = shorten(&missing.name);
                            // The message is the file's own text, but its references may have
                            // brought a secret into it.
                            let message = if from_secret.get() {
                                "(its message is not shown: it uses a secret value)".to_string()
                            } else {
                                shorten_message(&missing.message)
                            };
                            let message = if message.is_empty() {
                                format!("{key}: required variable {name} has no value")
                            } else {
                                format!("{key}: required variable {name} has no value: {message}")
                            };
                            return Err(Error::Interpolation { location: location(), message });
                        }
                    };
                    for name in unset {
                        let why = if merged.position(&name).is_some() {
                            format!(
                                "{} is set only further down; a value can use only entries above it, so it is empty here",
                                shorten(&name)
                            )
                        } else {
                            format!("{} is not set, so it is empty here", shorten(&name))
                        };
                        resolved.warnings.push(Finding::warning(Some(location()), Some(entry.key), why));
                    }
                    (value, from_secret.get())
                }
            };
            total += value.len();
            resolved.entries.push(ResolvedEntry {
                secret: from_secret || settings::is_secret(entry.key) || holds_url_password(&value),
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

/// A `:?` message as the error quotes it: the file's own words, cut if very long (its references
/// may have made it megabytes long).
fn shorten_message(message: &str) -> String {
    match message.char_indices().nth(200) {
        None => message.to_string(),
        Some((cut, _)) => format!("{}...", &message[..cut]),
    }
}
