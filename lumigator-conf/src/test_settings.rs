//! The settings the test tasks give pytest by default: `test-settings.conf`, in the same
//! env-file dialect as `.default.conf`, built into the library (so it is the same whatever
//! checkout `--project-dir` names) and resolved like the configuration, in file order.
//!
//! Only the values live in the file; which suites get them, and what overrides them, is the
//! caller's business.

use std::path::Path;

use crate::error::Error;
use crate::finding::Finding;
use crate::origin::Origin;
use crate::parse::ConfFile;
use crate::resolve::{ResolvedConfig, ResolvedEntry};
use crate::settings;

/// The file's text, as shipped.
pub const TEXT: &str = include_str!("../test-settings.conf");

/// The name the file is shown under (in findings and origins).
pub const SHOWN_AS: &str = "lumigator-conf/test-settings.conf";

/// The test settings, resolved: `${VAR}` names an entry above it, else a variable of `env` (the
/// caller's environment). A variable that is unset gives an empty value and a warning.
pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<ResolvedConfig, Error> {
    resolve(&ConfFile::parse(Path::new(SHOWN_AS), TEXT.as_bytes())?, env)
}

fn resolve(file: &ConfFile, env: &dyn Fn(&str) -> Option<String>) -> Result<ResolvedConfig, Error> {
    let mut resolved = ResolvedConfig::default();
    for entry in &file.entries {
        let entries = &resolved.entries;
        let lookup = |name: &str| match entries.iter().rev().find(|e| e.key == name) {
            Some(earlier) => Some(earlier.value.clone()),
            None => env(name),
        };
        let mut unset = Vec::new();
        let value = entry.value.evaluate(&lookup, &mut |name| unset.push(name.to_string())).map_err(|missing| {
            Error::Interpolation {
                location: entry.location.clone(),
                message: format!("{}: required variable {} has no value", entry.key, missing.name),
            }
        })?;
        for name in unset {
            resolved.warnings.push(Finding::warning(
                Some(entry.location.clone()),
                Some(&entry.key),
                format!("{name} is not set, so it is empty here"),
            ));
        }
        let new = ResolvedEntry {
            key: entry.key.clone(),
            value,
            origin: Origin::from_location(&entry.location),
            secret: settings::is_secret(&entry.key),
        };
        // A key set twice keeps its first position and its last value, as in a merge.
        match resolved.entries.iter_mut().find(|e| e.key == entry.key) {
            Some(existing) => *existing = new,
            None => resolved.entries.push(new),
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_shipped_file_parses_and_resolves_without_warnings() {
        let resolved = load(&no_env).expect("the shipped file is valid");
        assert!(resolved.warnings.is_empty(), "{:?}", resolved.warnings);
        let value = |key: &str| resolved.get(key).map(|e| e.value.as_str());
        assert_eq!(value("AWS_ENDPOINT_URL"), Some("http://localhost:9000"));
        assert_eq!(value("SQLALCHEMY_DATABASE_URL"), Some("sqlite:////tmp/local.db"));
        assert_eq!(value("RAY_WORKER_GPUS"), Some("0.0"));
        let key = resolved.get("LUMIGATOR_SECRET_KEY").expect("a test key");
        assert!(key.secret && resolved.get("AWS_SECRET_ACCESS_KEY").is_some_and(|e| e.secret));
        assert!(!format!("{resolved:?}").contains(&key.value), "never shown by Debug");
    }

    #[test]
    fn references_name_entries_above_or_the_environment() {
        let file = ConfFile::parse(Path::new("t.conf"), b"A=x\nB=${A}-${HOME}-${NOPE}\nA=y\n").expect("parses");
        let env = |name: &str| (name == "HOME").then(|| "/h".to_string());
        let resolved = resolve(&file, &env).expect("resolves");
        assert_eq!(resolved.get("B").map(|e| e.value.as_str()), Some("x-/h-"));
        assert_eq!(resolved.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(resolved.get("A").map(|e| e.value.as_str()), Some("y"));
        assert_eq!(resolved.warnings.len(), 1, "NOPE is unset");
    }
}
