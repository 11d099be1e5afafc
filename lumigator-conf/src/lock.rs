//! One task at a time per project: an advisory lock on `<root>/.xtask.lock`.
//!
//! The lock is the operating system's (`flock`), so it is released when the holder exits, however
//! it exits. The file itself is never removed: removing it would let a second process lock a new
//! file while the first still holds the old one.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt};

use crate::error::Error;
use crate::paths::ProjectPaths;

/// Holds the project's lock until dropped.
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

impl ProjectLock {
    /// Takes the lock without waiting; fails with [`Error::Busy`] when another process holds it.
    pub fn try_acquire(project: &ProjectPaths) -> Result<Self, Error> {
        let path = project.lock_file();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            // It holds only a process id; the mode keeps other users from writing it even under
            // a permissive umask.
            .mode(0o644)
            .open(&path)
            .map_err(|err| Error::io(&path, "open", err))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(Error::Busy { path, holder: holder(&mut file) }),
            Err(TryLockError::Error(err)) => return Err(Error::io(&path, "lock", err)),
        }
        // Who holds it, for the message another process shows; not needed for correctness. A
        // fixed width overwrites the last holder's id without truncating, which costs a journal
        // write on some filesystems.
        let _ = file.write_all_at(format!("{:<10}\n", std::process::id()).as_bytes(), 0);
        Ok(ProjectLock { _file: file })
    }
}

fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl ProjectPaths {
    /// `<root>/.xtask.lock`.
    pub fn lock_file(&self) -> std::path::PathBuf {
        self.root.join(".xtask.lock")
    }
}
