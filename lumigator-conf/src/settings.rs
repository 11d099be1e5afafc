//! The settings Lumigator knows: name, type, description, whether secret. The data lives in
//! `settings.toml` (one place for validation, help and redaction), parsed once on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The type of a setting's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Any text.
    String,
    /// A whole number.
    Integer,
    /// A decimal number.
    Float,
}

/// One known setting.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// The variable's name.
    pub name: String,
    /// The type of its value.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// What it does.
    pub description: String,
    /// Whether its value must never be shown.
    #[serde(default)]
    pub secret: bool,
    /// The smallest value allowed (numbers).
    pub min: Option<f64>,
    /// The largest value allowed (numbers).
    pub max: Option<f64>,
    /// The only values allowed (strings), if limited.
    pub allowed: Option<Vec<String>>,
    /// Where Lumigator's Helm chart takes this setting: value paths of the chart, dot-separated
    /// from the top of its values (`backend.s3Bucket`). A last segment `list[NAME]` is the item
    /// named NAME of a Kubernetes env list (`name:` and `value:` or `valueFrom:`), where a secret
    /// can be a reference to an existing Secret. Empty: the chart has no place for it.
    #[serde(default)]
    pub helm: Vec<String>,
}

#[derive(Deserialize)]
struct SettingsFile {
    setting: Vec<Setting>,
}

/// Every known setting, in `.default.conf` order.
pub fn all() -> &'static [Setting] {
    static SETTINGS: OnceLock<Vec<Setting>> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        // The file is part of this crate and checked by its tests, so a parse failure is a bug.
        toml_edit::de::from_str::<SettingsFile>(include_str!("../settings.toml"))
            .expect("settings.toml is valid")
            .setting
    })
}

/// The known setting called `name`.
pub fn find(name: &str) -> Option<&'static Setting> {
    static BY_NAME: OnceLock<HashMap<&'static str, &'static Setting>> = OnceLock::new();
    BY_NAME.get_or_init(|| all().iter().map(|s| (s.name.as_str(), s)).collect()).get(name).copied()
}

/// Whether `name`'s value must be hidden: a known secret, or a name that says it is one.
pub fn is_secret(name: &str) -> bool {
    match find(name) {
        Some(setting) => setting.secret,
        None => {
            // Every name passes through here, so no allocation and no substring searcher: look for
            // the words only where their first letter is.
            let bytes = name.as_bytes();
            let word_at = |i: usize, word: &str| {
                bytes.get(i..i + word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
            };
            (0..bytes.len()).any(|i| match bytes[i].to_ascii_uppercase() {
                b'S' => word_at(i, "SECRET"),
                b'P' => word_at(i, "PASSWORD") || word_at(i, "PASSWD"),
                b'T' => word_at(i, "TOKEN"),
                b'_' => word_at(i, "_KEY"),
                b'C' => word_at(i, "CREDENTIAL"),
                _ => false,
            })
        }
    }
}

/// Why `value` is not a valid value of `setting`, or `None` when it is.
pub fn validate(setting: &Setting, value: &str) -> Option<String> {
    let number = match setting.kind {
        Kind::String => {
            return match &setting.allowed {
                Some(allowed) if !allowed.iter().any(|a| a == value) => {
                    Some(format!("expected one of {}", allowed.join(", ")))
                }
                _ => None,
            };
        }
        Kind::Integer => match value.parse::<i64>() {
            Ok(n) => n as f64,
            Err(_) => return Some("expected a whole number".to_string()),
        },
        Kind::Float => match value.parse::<f64>() {
            Ok(n) if n.is_finite() => n,
            _ => return Some("expected a number".to_string()),
        },
    };
    match (setting.min, setting.max) {
        (Some(min), Some(max)) if number < min || number > max => {
            Some(format!("expected a number from {min} to {max}"))
        }
        (Some(min), _) if number < min => Some(format!("expected a number of at least {min}")),
        (_, Some(max)) if number > max => Some(format!("expected a number of at most {max}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_loads_and_has_the_documented_settings() {
        assert_eq!(all().len(), 26);
        assert!(
            is_secret("LUMIGATOR_SECRET_KEY") && is_secret("MINIO_ROOT_PASSWORD") && is_secret("AWS_SECRET_ACCESS_KEY")
        );
        assert!(!is_secret("AWS_ACCESS_KEY_ID") && !is_secret("S3_BUCKET"));
        assert!(is_secret("MY_DB_PASSWORD"));
    }

    #[test]
    fn values_are_checked_against_their_type() {
        let port = find("RAY_DASHBOARD_PORT").unwrap();
        assert_eq!(validate(port, "8265"), None);
        assert!(
            validate(port, "abc").is_some() && validate(port, "70000").is_some() && validate(port, "1.5").is_some()
        );
        let fraction = find("RAY_WORKER_GPUS_FRACTION").unwrap();
        assert_eq!(validate(fraction, "0.5"), None);
        assert!(validate(fraction, "x").is_some() && validate(fraction, "NaN").is_some());
        let deployment = find("DEPLOYMENT_TYPE").unwrap();
        assert_eq!(validate(deployment, "staging"), None);
        assert_eq!(
            validate(deployment, "prod").as_deref(),
            Some("expected one of local, development, staging, production")
        );
    }
}
