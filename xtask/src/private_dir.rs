//! A private temporary folder: mode 0700, a fresh name in the system's temporary directory, and
//! removed with everything in it however the task ends, short of SIGKILL.
//!
//! Removal is the folder's `Drop`. For a signal to reach it, SIGINT and SIGTERM are deferred (see
//! [`crate::signals`]) from the moment a folder is about to exist: the task finishes the step it is
//! in, drops the folder, and stops with 130 or 143 at its next [`crate::signals::stop_if_interrupted`].
//! Files go inside the folder, never directly in the shared temporary directory: no other user can
//! see, guess or replace their names there.
//!
//! Imports only [`crate::signals`].

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::signals;

/// A folder only this user can enter, removed when dropped.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Creates `<tmp>/<prefix>-<pid>-<n>` with mode 0700 (mkdir fails rather than reuse anything
    /// already there, so the name cannot be taken over first).
    pub fn create(prefix: &str) -> std::io::Result<Self> {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        signals::defer_interruptions();
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        for _ in 0..100 {
            let n = CALLS.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("{prefix}-{}-{nanos:x}{n}", std::process::id()));
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(PrivateDir { path }),
                Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
        Err(std::io::Error::new(ErrorKind::AlreadyExists, "no free name for a temporary folder"))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to a new file `name` in the folder, with mode 0600; returns its path.
    pub fn write_file(&self, name: &str, contents: &str) -> std::io::Result<PathBuf> {
        let path = self.path.join(name);
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        file.write_all(contents.as_bytes())?;
        Ok(path)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_folder_is_private_and_goes_with_its_files() {
        let dir = PrivateDir::create("xtask-test").expect("create");
        let path = dir.path.clone();
        assert_eq!(fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o700);
        let file = dir.write_file("a.env", "SECRET=1\n").expect("write");
        assert_eq!(fs::metadata(&file).expect("stat").permissions().mode() & 0o777, 0o600);
        assert!(dir.write_file("a.env", "again").is_err(), "an existing file is never reused");
        drop(dir);
        assert!(!path.exists());
    }
}
