//! One task at a time per project: an advisory lock on `<root>/.xtask.lock`.
//!
//! The lock is the operating system's (`flock`), so it is released when the holder exits, however
//! it exits. The file itself is never removed: removing it would let a second process lock a new
//! file while the first still holds the old one.
//!
//! The file is opened without following a link and used only when it is a regular file of the
//! user running the task with no other name (a hard link would carry the process id we write into
//! it to another file). Its mode is 0600: a process can lock any file it can open, even read-only,
//! so a file other users can read is a file they can hold the lock on.
//!
//! Who holds the lock, for the message of a task that finds it busy: on Linux, `/proc/locks` names
//! the process that holds a lock on the file's inode, and `/proc/<pid>` says which program it runs
//! and as whom; a process that has ended is never named. Elsewhere (macOS has no `/proc`, and the
//! library runs no `ps`), the process id the holder wrote into the file is named, with that caveat,
//! only while a process with that id exists.

use std::fs::{self, File, Metadata, TryLockError};
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::Error;
pub use crate::error::LockHolder;
use crate::files::{describe, euid, file_kind};
use crate::paths::ProjectPaths;

/// The lock file's mode: only its owner can open it, so only its owner can hold the lock.
pub const LOCK_FILE_MODE: u32 = 0o600;

/// Holds the project's lock until dropped.
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

impl ProjectLock {
    /// Takes the lock without waiting; fails with [`Error::Busy`] when another process holds it,
    /// and with [`Error::Refused`] when the lock file is not a regular file of the user's own.
    pub fn try_acquire(project: &ProjectPaths) -> Result<Self, Error> {
        let path = project.lock_file();
        let refused = |found: String| Error::Refused {
            path: path.clone(),
            expected: "a regular file of yours",
            found,
            help: format!(
                "remove it (`rm {}`): the next task makes a new one (it only holds the lock and a process id)",
                path.display()
            ),
        };
        // Not following a link: neither a link to another file (whose first bytes would get our
        // process id) nor a dangling one (whose target would be created).
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
        let file = match rustix::fs::open(&path, flags, Mode::from_raw_mode(LOCK_FILE_MODE)) {
            Ok(fd) => File::from(fd),
            Err(Errno::LOOP | Errno::MLINK) => return Err(refused(describe(&path))),
            Err(err) => return Err(Error::io(&path, "open", err.into())),
        };
        let meta = file.metadata().map_err(|err| Error::io(&path, "read", err))?;
        if !meta.is_file() {
            return Err(refused(file_kind(&meta).to_string()));
        }
        if meta.uid() != euid() {
            return Err(refused(format!("a file of another user (user id {})", meta.uid())));
        }
        if meta.nlink() > 1 {
            return Err(refused(format!("a file with {} names (hard links)", meta.nlink())));
        }
        if meta.permissions().mode() & 0o777 != LOCK_FILE_MODE {
            // Older versions made it 0644: from now on, other users cannot open it to hold it.
            file.set_permissions(fs::Permissions::from_mode(LOCK_FILE_MODE))
                .map_err(|err| Error::io(&path, "set the mode of", err))?;
        }
        // A holder that cannot be found has usually just let go: the lock is tried again then, a
        // few times, so that a task that was about to end is not reported as an unknown one.
        let mut attempts = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    attempts += 1;
                    let holder = holder(&file, &meta);
                    if holder.is_some() || attempts == 3 {
                        return Err(Error::Busy { path, holder });
                    }
                }
                Err(TryLockError::Error(err)) => return Err(Error::io(&path, "lock", err)),
            }
        }
        // Who holds it, for systems without /proc/locks; not needed for correctness. A fixed width
        // overwrites the last holder's id without truncating, which costs a journal write on some
        // filesystems.
        let _ = file.write_all_at(format!("{:<10}\n", std::process::id()).as_bytes(), 0);
        Ok(ProjectLock { _file: file })
    }
}

/// The process holding the lock on `file`, if it can be found out and is running.
fn holder(file: &File, meta: &Metadata) -> Option<LockHolder> {
    match fs::read_to_string("/proc/locks") {
        Ok(locks) => {
            let pid = flock_holder(&locks, meta)?;
            running_process(pid)
        }
        // No /proc: the id the holder wrote, if such a process exists.
        Err(_) => {
            let pid = pid_in_file(file)?;
            let pid_ok = rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)?;
            match rustix::process::test_kill_process(pid_ok) {
                // EPERM: it exists, as another user's process.
                Ok(()) | Err(Errno::PERM) => Some(LockHolder { pid, program: None, other_user: None }),
                Err(_) => None,
            }
        }
    }
}

/// The process id `/proc/locks` gives for the flock on the inode of `meta`. Lines look like
/// `3: FLOCK  ADVISORY  WRITE 26659 fe:00:10010792 0 EOF` (device major and minor in hex, inode in
/// decimal); lines with `->` are processes waiting, not holding. Overlay filesystems report the
/// inode's own device there, so when no line matches device and inode, a single line with the
/// inode alone is taken.
fn flock_holder(locks: &str, meta: &Metadata) -> Option<u32> {
    let dev = meta.dev();
    let exact = format!("{:02x}:{:02x}:{}", rustix::fs::major(dev), rustix::fs::minor(dev), meta.ino());
    let inode_suffix = format!(":{}", meta.ino());
    let mut by_inode = Vec::new();
    for line in locks.lines() {
        let fields: Vec<&str> = line.split_whitespace().skip(1).collect();
        let [kind, _, _, pid, id, ..] = fields.as_slice() else { continue };
        if *kind != "FLOCK" {
            continue; // "->" (a waiter), POSIX and OFD locks
        }
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if *id == exact {
            // 0: the holder is in another pid namespace, so it cannot be named from here.
            return (pid != 0).then_some(pid);
        }
        if id.ends_with(&inode_suffix) && id.matches(':').count() == 2 {
            by_inode.push(pid);
        }
    }
    match by_inode.as_slice() {
        [pid] if *pid != 0 => Some(*pid),
        _ => None,
    }
}

/// `pid` with its program and user, from `/proc/<pid>`; `None` when no such process runs.
fn running_process(pid: u32) -> Option<LockHolder> {
    let dir = format!("/proc/{pid}");
    let owner = fs::metadata(&dir).ok()?.uid();
    let program = fs::read_to_string(format!("{dir}/comm")).ok().map(|name| name.trim_end().to_string());
    Some(LockHolder { pid, program, other_user: (owner != euid()).then_some(owner) })
}

fn pid_in_file(mut file: &File) -> Option<u32> {
    let mut text = String::new();
    file.by_ref().take(64).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl ProjectPaths {
    /// `<root>/.xtask.lock`.
    pub fn lock_file(&self) -> std::path::PathBuf {
        self.root.join(".xtask.lock")
    }
}
