//! The library's error type, as data. Its `Display` says what is wrong and where; [`Error::help`]
//! says what to do, for the caller to print after it. Every variant names the file it is about
//! (except [`Error::NoHome`]); none carries a value that could be secret.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::finding::Finding;
use crate::origin::Location;
use crate::secret::KEY_FILE_NAME;

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
        /// What to do about it, when the parser knows (see [`Error::help`]).
        help: Option<&'static str>,
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

/// The kind of [`Error::NotAFile`] for a symbolic link whose target is missing.
pub(crate) const SYMLINK_TO_MISSING_FILE: &str = "a symbolic link to a missing file";

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        Error::Io { path: path.into(), action, source }
    }

    /// What to do about the error, as a sentence of its own, when there is something to say
    /// beyond the message. A caller prints it after the error, cargo-style:
    ///
    /// ```text
    /// error: <the error>
    /// help: <this>
    /// ```
    ///
    /// Like the message, it never holds a value that could be secret.
    pub fn help(&self) -> Option<String> {
        let text = match self {
            Error::Parse { help, .. } => return help.map(str::to_string),
            Error::Interpolation { .. } => {
                "give the variable a value in a line above this one or in your environment, or drop the `?` \
                 so that an unset variable is allowed"
            }
            Error::Io { .. } => return None,
            Error::NotAFile { path, kind } => {
                // Whatever stands where the key should be may be all that is left of it: never
                // suggest that a new key would do.
                let key = path.file_name().is_some_and(|name| name == KEY_FILE_NAME);
                match (key, *kind == SYMLINK_TO_MISSING_FILE) {
                    (true, true) => {
                        "restore the original key where the link points, or replace the link with the original key: \
                         a new key cannot read the secrets Lumigator stored with the old one"
                    }
                    (true, false) => {
                        "move it out of the way and put the original key in its place: a new key cannot read the \
                         secrets Lumigator stored with the old one"
                    }
                    (false, true) => "restore the file the link points to, or replace the link with the file itself",
                    (false, false) => "move it out of the way and put the file that belongs there in its place",
                }
            }
            Error::UserDirNotADirectory { .. } => {
                "Lumigator keeps its user settings and secret key in that folder: move whatever is there out of \
                 the way"
            }
            Error::InvalidKey { .. } => {
                "restore the original key from a backup. The file was left as it is: replacing it makes every \
                 secret Lumigator stored with it unreadable. Only if no secrets were ever stored, delete the file \
                 to have a new key created"
            }
            Error::Invalid { .. } => {
                "fix the lines named, or run `cargo xtask config-check` to see every error and warning"
            }
            Error::NoHome => "set HOME to your home directory",
            Error::Busy { .. } => "wait for it to finish, then try again",
        };
        Some(text.to_string())
    }
}

impl fmt::Display for Error {
    /// What is wrong, and where: the file, and the line and column when they are known. What to do
    /// about it is [`Error::help`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse { location, message, .. } => write!(f, "{location}: {message}"),
            Error::Interpolation { location, message } => write!(f, "{location}: {message}"),
            Error::Io { path, action, source } => {
                write!(f, "{}: cannot {action}: {}", path.display(), describe_io(source))
            }
            Error::NotAFile { path, kind } => {
                write!(f, "{}: expected a regular file, found {kind}", path.display())
            }
            Error::UserDirNotADirectory { path } => write!(f, "{}: exists but is not a directory", path.display()),
            Error::InvalidKey { path, reason } => {
                write!(f, "{}: not a valid secret key: {reason}", path.display())
            }
            Error::Invalid { findings } => {
                let errors: Vec<&Finding> = findings.iter().filter(|f| f.is_error()).collect();
                write!(f, "the configuration has {}", count(errors.len(), "error", "errors"))?;
                for finding in errors {
                    write!(f, "\n  {finding}")?;
                }
                Ok(())
            }
            Error::NoHome => write!(f, "cannot find the home directory"),
            Error::Busy { path, holder } => {
                let project = path.parent().unwrap_or(path).display();
                match holder {
                    Some(pid) => write!(f, "another cargo xtask task (process {pid}) is working on {project}"),
                    None => write!(f, "another cargo xtask task is working on {project}"),
                }
            }
        }
    }
}

/// `n` and the noun in the right number: "1 error", "2 errors", "0 errors".
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;

    #[test]
    fn counts_are_written_in_the_right_number() {
        assert_eq!(count(0, "error", "errors"), "0 errors");
        assert_eq!(count(1, "error", "errors"), "1 error");
        assert_eq!(count(2, "error", "errors"), "2 errors");
        let one = Error::Invalid {
            findings: vec![Finding::error(None, Some("A"), "bad"), Finding::warning(None, None, "w")],
        };
        assert_eq!(one.to_string(), "the configuration has 1 error\n  A: bad");
        let two = Error::Invalid { findings: vec![Finding::error(None, None, "x"), Finding::error(None, None, "y")] };
        assert!(two.to_string().starts_with("the configuration has 2 errors\n"), "{two}");
    }
}
