//! Whose files `~/.lumigator` holds. Its settings and its key are used only when no one but the
//! user running the task could have written them, the rule ssh applies to `~/.ssh`: the folder,
//! `user.conf` and the key must be owned by that user (or by root), and writable by no one else.
//!
//! "No one else" allows one thing ssh on Debian and Ubuntu allows too: the group-write bit when the
//! group is the owner's own private group, which those systems create for every user with the
//! same number as the user's id (their default umask, 002, leaves new files group-writable).

use std::fs::{self, Metadata};
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::Error;
use crate::files::{euid, open_regular};

/// Fails unless the user running the task (or root) owns `meta` (the file at `path`, followed if
/// a link) and no one else can write it.
pub fn check(path: &Path, meta: &Metadata) -> Result<(), Error> {
    let owner = meta.uid();
    if owner != euid() && owner != 0 {
        return Err(Error::NotOwned { path: path.to_path_buf(), owner });
    }
    let mode = meta.mode() & 0o7777;
    let own_group = meta.gid() == owner;
    let writable_by_others = mode & 0o002 != 0 || (mode & 0o020 != 0 && !own_group);
    if writable_by_others {
        return Err(Error::WritableByOthers { path: path.to_path_buf(), mode: mode & 0o777, dir: meta.is_dir() });
    }
    Ok(())
}

/// Checks `~/.lumigator` (the folder a link points to, when it is one), when it exists: `false`
/// when it does not. Something there that is not a directory is an error.
pub fn check_user_dir(dir: &Path) -> Result<bool, Error> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => check(dir, &meta).map(|()| true),
        Ok(_) => Err(Error::UserDirNotADirectory { path: dir.to_path_buf() }),
        Err(err) if err.kind() == ErrorKind::NotFound => {
            if fs::symlink_metadata(dir).is_ok() {
                // A dangling link: someone meant the folder to be elsewhere.
                Err(Error::UserDirNotADirectory { path: dir.to_path_buf() })
            } else {
                Ok(false)
            }
        }
        Err(err) => Err(Error::io(dir, "read", err)),
    }
}

/// Opens `path` (see [`open_regular`]) and checks it (see [`check`]) on the open file. A file the
/// user cannot even open is reported as another user's when it is one, which says more than
/// "permission denied".
pub(crate) fn open_trusted(path: &Path) -> Result<(fs::File, Metadata), Error> {
    match open_regular(path) {
        Ok((file, meta)) => {
            check(path, &meta)?;
            Ok((file, meta))
        }
        Err(Error::Io { source, .. }) if source.kind() == ErrorKind::PermissionDenied => {
            if let Ok(meta) = fs::metadata(path) {
                check(path, &meta)?;
            }
            Err(Error::io(path, "read", source))
        }
        Err(err) => Err(err),
    }
}
