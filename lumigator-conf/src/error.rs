//! The library's error type, as data. Its `Display` says what is wrong and where; [`Error::help`]
//! says what to do, for the caller to print after it. Every variant names the file it is about
//! (except [`Error::NoHome`]); none carries a value that could be secret.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::finding::Finding;
use crate::origin::Location;
use crate::secret::KEY_FILE_NAME;
use crate::text::shorten;

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
        /// The process that holds it, when it could be found out and is still running.
        holder: Option<LockHolder>,
    },
    /// A path that cargo xtask writes or deletes in (`build/`, `build/.env`, the lock file) is not
    /// what it must be: a symbolic link, a file where a folder belongs, a file of another user.
    /// Nothing is written or deleted through it.
    Refused {
        /// The path.
        path: PathBuf,
        /// What it must be ("a directory").
        expected: &'static str,
        /// What it is instead ("a symbolic link to /elsewhere").
        found: String,
        /// What to do about it.
        help: String,
    },
    /// A file or folder of `~/.lumigator` belongs to another user: its settings or key could be
    /// anyone's, so it is not read.
    NotOwned {
        /// The file or folder.
        path: PathBuf,
        /// Its owner's user id.
        owner: u32,
    },
    /// Another user can write a file or folder of `~/.lumigator`, so what it holds may not be the
    /// user's own: it is not read.
    WritableByOthers {
        /// The file or folder.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// Whether it is the folder (the help differs).
        dir: bool,
    },
    /// A conf file or the key file is larger than any real one can be.
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Interpolation would make a value, or the whole resolved configuration, larger than its cap.
    TooLarge {
        /// The value whose interpolation would exceed the cap.
        location: Location,
        /// Its key (cut if very long).
        key: String,
        /// Which cap.
        limit: SizeLimit,
    },
}

/// The caps on the size of resolved values (see [`Error::TooLarge`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeLimit {
    /// One value may hold at most this many bytes.
    Value(usize),
    /// All values together may hold at most this many bytes.
    Total(usize),
}

/// The process that holds a project's lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockHolder {
    /// Its process id.
    pub pid: u32,
    /// Its program's name (`xtask`), when the system says; `None` when the process id comes from
    /// the lock file alone (where `/proc` does not exist).
    pub program: Option<String>,
    /// Its user's id, when that is not the user running this task.
    pub other_user: Option<u32>,
}

impl LockHolder {
    fn is_xtask(&self) -> bool {
        self.program.as_deref().is_none_or(|program| program.starts_with("xtask"))
    }
}

/// `bytes` as people write sizes: "4 MiB", "512 KiB", "100 bytes".
pub(crate) fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => count(b as usize, "byte", "bytes"),
    }
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
            Error::Busy { path, holder } => {
                return Some(match holder {
                    Some(holder) if holder.is_xtask() && holder.other_user.is_none() => {
                        "wait for it to finish, then try again".to_string()
                    }
                    Some(holder) => {
                        format!("wait for it to finish, then try again; `ps -f -p {}` shows what it is", holder.pid)
                    }
                    None => format!(
                        "wait for it to finish, then try again; `fuser -v {}` shows which process holds it",
                        path.display()
                    ),
                });
            }
            Error::Refused { help, .. } => return Some(help.clone()),
            Error::NotOwned { path, .. } => {
                return Some(format!(
                    "if what it holds is yours, make it yours with `sudo chown $(id -u) {}`; settings and keys \
                     that another user controls are never used",
                    path.display()
                ));
            }
            Error::WritableByOthers { path, dir, .. } => {
                let what = if *dir { "that the files in it are yours" } else { "that what it holds is yours" };
                return Some(format!("check {what}, then run `chmod go-w {}`", path.display()));
            }
            Error::FileTooLarge { .. } => "check that the path names the right file",
            Error::TooLarge { .. } => {
                "values are capped so that references that grow from line to line (`B=$A$A`, `C=$B$B`, ...) \
                 cannot exhaust memory: check the references on this line and the lines they name"
            }
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
                let Some(holder) = holder else {
                    return write!(f, "another process, which could not be identified, holds the lock on {project}");
                };
                let mut about = format!("process {}", holder.pid);
                match &holder.program {
                    Some(program) if !holder.is_xtask() => about.push_str(&format!(", `{}`", shorten(program))),
                    Some(_) => {}
                    None => about.push_str(", as the lock file says"),
                }
                if let Some(user) = holder.other_user {
                    about.push_str(&format!(", of user {user}"));
                }
                if holder.is_xtask() {
                    write!(f, "another cargo xtask task ({about}) is working on {project}")
                } else {
                    write!(f, "another program ({about}) holds the lock on {project}")
                }
            }
            Error::Refused { path, expected, found, .. } => {
                write!(f, "{}: expected {expected}, found {found}", path.display())
            }
            Error::NotOwned { path, owner } => {
                write!(f, "{}: owned by another user (user id {owner}), so it is not used", path.display())
            }
            Error::WritableByOthers { path, mode, dir } => {
                let what = if *dir { "its files" } else { "it" };
                write!(
                    f,
                    "{}: other users can write to it (mode {mode:o}), so {what} may not be yours: not used",
                    path.display()
                )
            }
            Error::FileTooLarge { path, limit } => {
                write!(f, "{}: larger than {}, the most a conf or key file may hold", path.display(), size(*limit))
            }
            Error::TooLarge { location, key, limit } => match limit {
                SizeLimit::Value(bytes) => write!(
                    f,
                    "{location}: {key}: the value would be longer than {}, the most one value may hold",
                    size(*bytes as u64)
                ),
                SizeLimit::Total(bytes) => write!(
                    f,
                    "{location}: {key}: this value would make the resolved configuration larger than {}, the most \
                     it may hold",
                    size(*bytes as u64)
                ),
            },
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
