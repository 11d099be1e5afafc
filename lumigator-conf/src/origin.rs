//! Where a value came from: a place in a conf file, the secret key file, or the host.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

/// A position in a file: 1-based line and column (columns count Unicode characters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file (shared: every entry of a file points at it).
    pub path: Arc<Path>,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl Location {
    /// A location in `path`.
    pub fn new(path: impl Into<Arc<Path>>, line: usize, column: usize) -> Self {
        Location { path: path.into(), line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// Where a merged entry's winning value was defined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    /// A line of a conf file (`.default.conf` or `user.conf`).
    File {
        /// The conf file.
        path: Arc<Path>,
        /// 1-based line of the entry's key.
        line: usize,
    },
    /// The secret key file, `~/.lumigator/lumigator.key`.
    SecretKeyFile {
        /// The key file.
        path: PathBuf,
    },
    /// Computed from the host machine (architecture, GPUs), not from any file.
    Derived {
        /// What it was derived from, in a few words.
        from: String,
    },
}

impl Origin {
    /// The start of the line it names, when it is a line of a conf file (for findings).
    pub fn line_start(&self) -> Option<Location> {
        match self {
            Origin::File { path, line } => Some(Location::new(path.clone(), *line, 1)),
            _ => None,
        }
    }

    /// The origin of an entry parsed at `location`.
    pub fn from_location(location: &Location) -> Self {
        Origin::File { path: location.path.clone(), line: location.line }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::SecretKeyFile { path } => write!(f, "secret key file {}", path.display()),
            Origin::Derived { from } => write!(f, "derived from {from}"),
        }
    }
}
