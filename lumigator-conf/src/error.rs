//! The library's error type. Every variant names the file it is about; none carries a value that
//! could be secret.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::finding::Finding;
use crate::origin::Location;

/// Everything that can go wrong between reading the conf files and writing `build/.env`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A conf file is not in the env-file dialect.
    Parse {
        /// Where the problem is.
        location: Location,
        /// What is wrong, without the value.
        message: String,
    },
    /// A `${VAR:?message}` or `${VAR?message}` reference to an unset variable.
    Interpolation {
        /// Where the reference is.
        location: Location,
        /// The variable's name and the file's own message.
        message: String,
    },
    /// A file operation failed.
    Io {
        /// The file.
        path: PathBuf,
        /// What we tried: "read", "create", "write", ...
        action: &'static str,
        /// What the operating system said.
        source: io::Error,
    },
    /// A path that must be a regular file is something else.
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead ("a directory", "a FIFO", ...).
        kind: &'static str,
    },
    /// `~/.lumigator` exists but is not a directory.
    UserDirNotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The secret key file exists but does not hold a valid key.
    InvalidKey {
        /// The key file.
        path: PathBuf,
        /// Why it is invalid, without its content.
        reason: String,
    },
    /// The configuration has errors (wrong types, forbidden keys).
    Invalid {
        /// Every finding, errors and warnings; at least one is an error.
        findings: Vec<Finding>,
    },
    /// The home directory cannot be determined.
    NoHome,
    /// Another process holds the project's lock.
    Busy {
        /// The lock file.
        path: PathBuf,
        /// The process that holds it, when it could be read.
        holder: Option<u32>,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        Error::Io { path: path.into(), action, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse { location, message } => write!(f, "{location}: {message}"),
            Error::Interpolation { location, message } => write!(f, "{location}: {message}"),
            Error::Io { path, action, source } => {
                write!(f, "{}: cannot {action}: {}", path.display(), describe_io(source))
            }
            Error::NotAFile { path, kind } => {
                write!(f, "{}: expected a regular file, found {kind}", path.display())
            }
            Error::UserDirNotADirectory { path } => write!(
                f,
                "{}: exists but is not a directory; Lumigator keeps its user settings and secret key \
                 there, so move that file out of the way",
                path.display()
            ),
            Error::InvalidKey { path, reason } => write!(
                f,
                "{}: not a valid secret key: {reason}. It was left untouched: replacing it makes every \
                 secret Lumigator stored with it unreadable. Restore the original key; only if no \
                 secrets were ever stored, delete the file to have a new key created",
                path.display()
            ),
            Error::Invalid { findings } => {
                let errors: Vec<&Finding> = findings.iter().filter(|f| f.is_error()).collect();
                write!(f, "the configuration has {} error(s)", errors.len())?;
                for finding in errors {
                    write!(f, "\n  {finding}")?;
                }
                Ok(())
            }
            Error::NoHome => write!(f, "cannot find the home directory: set HOME"),
            Error::Busy { path, holder } => {
                let project = path.parent().unwrap_or(path).display();
                match holder {
                    Some(pid) => write!(
                        f,
                        "another cargo xtask task (process {pid}) is working on {project}: wait for it to finish, then try again"
                    ),
                    None => write!(
                        f,
                        "another cargo xtask task is working on {project}: wait for it to finish, then try again"
                    ),
                }
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The OS message without Rust's "(os error N)" suffix, which helps nobody.
fn describe_io(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}
