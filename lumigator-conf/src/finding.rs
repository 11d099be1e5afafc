//! What the checks say about a configuration: a [`Finding`] with its [`Severity`].
//!
//! The merge, the resolution and the checks all produce findings, and the error type carries
//! them, so the type lives apart from all of them and depends only on [`crate::origin`] and
//! [`crate::text`].

use std::fmt;

use serde::Serialize;

use crate::origin::Location;
use crate::text::shorten;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration cannot be used: nothing is written.
    Error,
    /// Probably a mistake, but the configuration works.
    Warning,
}

/// Something `config-check` has to say about the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Where, when it is about a line of a file.
    pub location: Option<Location>,
    /// The key concerned, if any (cut to its first characters when very long; see [`shorten`]).
    pub key: Option<String>,
    /// What is wrong and what to do; never contains a value.
    pub message: String,
}

impl Finding {
    /// A warning.
    pub fn warning(location: Option<Location>, key: Option<&str>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            location,
            key: key.map(|k| shorten(k).into_owned()),
            message: message.into(),
        }
    }

    /// An error.
    pub fn error(location: Option<Location>, key: Option<&str>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            location,
            key: key.map(|k| shorten(k).into_owned()),
            message: message.into(),
        }
    }

    /// Whether this finding stops the configuration from being used.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}
