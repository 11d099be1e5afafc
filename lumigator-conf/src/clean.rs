//! The files of `build/`: written atomically, removed whole, never through a link.
//!
//! `build/` is opened once, without following a link, and every later step works relative to that
//! open folder (`openat`, `renameat`, `unlinkat`): a `build/` that is a symbolic link, or one
//! swapped for a link halfway through, is refused or missed, never written or emptied through. The
//! folder's mode is set on the open folder too, so a link cannot redirect that either.

use std::ffi::{CStr, OsStr};
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, Dir, Mode, OFlags};
use rustix::io::Errno;

use crate::error::Error;
use crate::files::{describe, file_kind};
use crate::paths::ProjectPaths;

/// The mode of `build/.env`: it holds the secret key.
pub const ENV_FILE_MODE: u32 = 0o600;

/// The mode of `build/`, set on every write whatever it was.
pub const BUILD_DIR_MODE: u32 = 0o700;

/// How deep a folder inside `build/` may nest for [`clean`] to remove it. Nothing we write nests at
/// all; the bound keeps a hostile tree from exhausting the stack.
const MAX_DEPTH: usize = 256;

/// The name of `.env` inside `build/`.
const ENV_NAME: &str = ".env";

/// Removes `build/` and everything in it. A missing `build/` is fine; a `build/` that is not a real
/// folder (a symbolic link, a file) is refused and left alone, and no link inside it is followed.
pub fn clean(project: &ProjectPaths) -> Result<(), Error> {
    let Some(dir) = open_build_dir(project, false)? else { return Ok(()) };
    remove_entries(&dir, &project.build_dir, &[], 0)?;
    drop(dir);
    // rmdir does not follow a link either: if build/ was replaced by one meanwhile, this fails.
    match rustix::fs::unlinkat(CWD, &project.build_dir, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(err) => Err(Error::io(&project.build_dir, "remove", err.into())),
    }
}

/// Fails, changing nothing, when `build/` or `build/.env` exists but is not what the tasks would
/// make (a real folder, a regular file): the check [`write_env`] and [`clean`] make first.
pub fn check(project: &ProjectPaths) -> Result<(), Error> {
    if let Some(dir) = open_build_dir(project, false)? {
        open_existing_env(&dir, project)?;
    }
    Ok(())
}

/// The name of the temporary file [`write_env`] writes before renaming it into place.
pub fn temp_env_path(project: &ProjectPaths) -> PathBuf {
    project.build_dir.join(temp_env_name())
}

fn temp_env_name() -> String {
    format!(".env.{}.tmp", std::process::id())
}

/// Replaces `build/.env` with `contents` so that readers see the old file or the new one, never a
/// part: a private temporary file in `build/`, then renamed over `.env`. Any other file in `build/`
/// is removed (the "clean" step), the new file last of all. `build/` is created with mode 0700, or
/// set to it. A `build/` or `build/.env` that is not a real folder or file is refused.
pub fn write_env(project: &ProjectPaths, contents: &str) -> Result<(), Error> {
    let dir = open_build_dir(project, true)?
        .ok_or_else(|| Error::io(&project.build_dir, "create", std::io::Error::from(ErrorKind::NotFound)))?;
    if let Some(existing) = open_existing_env(&dir, project)?
        && holds_exactly(existing, contents)
    {
        // Already what we would write: leave it, and only clean up around it. A rename is the
        // slowest step of a start on some filesystems, and an unchanged file needs none.
        return remove_entries(&dir, &project.build_dir, &[ENV_NAME], 0);
    }
    let temp = temp_env_name();
    let temp_path = project.build_dir.join(&temp);
    if let Err(err) = write_private(&dir, &temp, contents) {
        let _ = rustix::fs::unlinkat(&dir, temp.as_str(), AtFlags::empty());
        return Err(Error::io(&temp_path, "write", err));
    }
    remove_entries(&dir, &project.build_dir, &[&temp, ENV_NAME], 0)?;
    rustix::fs::renameat(&dir, temp.as_str(), &dir, ENV_NAME).map_err(|err| {
        let _ = rustix::fs::unlinkat(&dir, temp.as_str(), AtFlags::empty());
        Error::io(&project.env_file, "write", err.into())
    })
}

/// Opens `build/` without following a link, creating it (0700) first when `create`; `None` when it
/// is missing and not created. Writing (`create`) also sets its mode to 0700 if it was another.
fn open_build_dir(project: &ProjectPaths, create: bool) -> Result<Option<OwnedFd>, Error> {
    let path = &project.build_dir;
    if create {
        match rustix::fs::mkdir(path, Mode::from_raw_mode(BUILD_DIR_MODE)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(err) => return Err(Error::io(path, "create", err.into())),
        }
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let dir = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(dir) => dir,
        Err(Errno::NOENT) if !create => return Ok(None),
        // A link (ELOOP; some systems say EMLINK) or something that is not a folder.
        Err(Errno::LOOP | Errno::MLINK | Errno::NOTDIR) => return Err(refused_build_dir(path)),
        Err(err) => return Err(Error::io(path, "open", err.into())),
    };
    if create {
        let file = File::from(dir);
        let mode = file.metadata().map_err(|err| Error::io(path, "read", err))?.permissions().mode() & 0o7777;
        if mode != BUILD_DIR_MODE {
            file.set_permissions(std::fs::Permissions::from_mode(BUILD_DIR_MODE))
                .map_err(|err| Error::io(path, "set the mode of", err))?;
        }
        return Ok(Some(OwnedFd::from(file)));
    }
    Ok(Some(dir))
}

fn refused_build_dir(path: &Path) -> Error {
    let found = describe(path);
    let mut help = format!(
        "remove it (`rm {}`) and run the task again, which makes a private folder there; build/ holds a copy of \
         the secret key, so cargo xtask never writes or deletes through a link",
        path.display()
    );
    if let Ok(target) = std::fs::read_link(path) {
        help.push_str(&format!(
            ". If {} exists, it may hold a copy of your key written by an older version: delete it",
            Path::new(&target).join(ENV_NAME).display()
        ));
    }
    Error::Refused { path: path.to_path_buf(), expected: "a directory", found, help }
}

/// Opens `build/.env` without following a link, when it exists: it must be a regular file.
fn open_existing_env(dir: &OwnedFd, project: &ProjectPaths) -> Result<Option<File>, Error> {
    let path = &project.env_file;
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let refused = |found: String| Error::Refused {
        path: path.clone(),
        expected: "a regular file",
        found,
        help: format!(
            "remove it (`rm {}`) and run the task again: build/.env is written by cargo xtask alone, never \
             through a link",
            path.display()
        ),
    };
    let file = match rustix::fs::openat(dir, ENV_NAME, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(Errno::NOENT) => return Ok(None),
        Err(Errno::LOOP | Errno::MLINK) => return Err(refused(describe(path))),
        Err(err) => return Err(Error::io(path, "open", err.into())),
    };
    let meta = file.metadata().map_err(|err| Error::io(path, "read", err))?;
    if !meta.is_file() {
        return Err(refused(file_kind(&meta).to_string()));
    }
    Ok(Some(file))
}

/// Whether `file` (a regular file) is private and holds exactly `contents`.
fn holds_exactly(mut file: File, contents: &str) -> bool {
    let Ok(meta) = file.metadata() else { return false };
    if meta.permissions().mode() & 0o777 != ENV_FILE_MODE || meta.len() != contents.len() as u64 {
        return false;
    }
    let mut existing = Vec::with_capacity(contents.len());
    file.read_to_end(&mut existing).is_ok() && existing == contents.as_bytes()
}

fn write_private(dir: &OwnedFd, name: &str, contents: &str) -> std::io::Result<()> {
    // A leftover with this name is from an interrupted process that had our pid: ours to replace.
    let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut file = File::from(rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(ENV_FILE_MODE))?);
    // No fsync: the file is regenerated on every start, and the rename alone already gives
    // readers the old file or the new one. (The key file, which cannot be regenerated, is synced.)
    file.write_all(contents.as_bytes())
}

/// Removes every entry of the open folder `dir` (at `path`, for messages) except those named in
/// `keep`: files and links are unlinked (a link itself, never its target), folders emptied the same
/// way through their own descriptors and removed.
fn remove_entries(dir: &impl AsFd, path: &Path, keep: &[&str], depth: usize) -> Result<(), Error> {
    let read_error = |err: Errno| Error::io(path, "read", err.into());
    let entries = Dir::read_from(dir).map_err(read_error)?;
    // Collected first: removing while reading may make the listing skip entries.
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name();
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." || keep.iter().any(|k| k.as_bytes() == bytes) {
            continue;
        }
        names.push(name.to_owned());
    }
    for name in names {
        remove_entry(dir, path, &name, depth)?;
    }
    Ok(())
}

fn remove_entry(dir: &impl AsFd, path: &Path, name: &CStr, depth: usize) -> Result<(), Error> {
    let entry_path = path.join(OsStr::from_bytes(name.to_bytes()));
    let not_a_file = match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        // A folder (Linux says EISDIR, macOS EPERM): emptied below, then removed.
        Err(err @ (Errno::ISDIR | Errno::PERM)) => err,
        Err(err) => return Err(Error::io(&entry_path, "remove", err.into())),
    };
    if depth >= MAX_DEPTH {
        return Err(Error::io(&entry_path, "remove", std::io::Error::other("folders nested too deep")));
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(sub) => remove_entries(&sub, &entry_path, &[], depth + 1)?,
        // Not a folder after all (or replaced by a link since): the unlink's own error stands.
        Err(Errno::LOOP | Errno::MLINK | Errno::NOTDIR) => {
            return Err(Error::io(&entry_path, "remove", not_a_file.into()));
        }
        Err(Errno::NOENT) => return Ok(()),
        Err(err) => return Err(Error::io(&entry_path, "open", err.into())),
    }
    match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(err) => Err(Error::io(&entry_path, "remove", err.into())),
    }
}
