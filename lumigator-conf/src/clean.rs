//! The files of `build/`: written atomically, removed whole.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use crate::error::Error;
use crate::paths::ProjectPaths;

/// The mode of `build/.env`: it holds the secret key.
pub const ENV_FILE_MODE: u32 = 0o600;

/// Removes `build/` and everything in it. A missing `build/` is fine.
pub fn clean(project: &ProjectPaths) -> Result<(), Error> {
    match fs::remove_dir_all(&project.build_dir) {
        Err(err) if err.kind() != ErrorKind::NotFound => Err(Error::io(&project.build_dir, "remove", err)),
        _ => Ok(()),
    }
}

/// The name of the temporary file [`write_env`] writes before renaming it into place.
pub fn temp_env_path(project: &ProjectPaths) -> std::path::PathBuf {
    project.build_dir.join(format!(".env.{}.tmp", std::process::id()))
}

/// Replaces `build/.env` with `contents` so that readers see the old file or the new one, never a
/// part: a private temporary file in `build/`, then renamed over `.env`. Any other file
/// in `build/` is removed (the "clean" step), the new file last of all.
pub fn write_env(project: &ProjectPaths, contents: &str) -> Result<(), Error> {
    match DirBuilder::new().mode(0o700).create(&project.build_dir) {
        Err(err) if err.kind() != ErrorKind::AlreadyExists => {
            return Err(Error::io(&project.build_dir, "create", err));
        }
        _ => {}
    }
    if holds_exactly(&project.env_file, contents) {
        // Already what we would write: leave it, and only clean up around it. A rename is the
        // slowest step of a start on some filesystems, and an unchanged file needs none.
        return remove_others(&project.build_dir, &[&project.env_file]);
    }
    let temp = temp_env_path(project);
    let written = write_private(&temp, contents);
    if let Err(err) = written {
        let _ = fs::remove_file(&temp);
        return Err(Error::io(&temp, "write", err));
    }
    remove_others(&project.build_dir, &[&temp, &project.env_file])?;
    fs::rename(&temp, &project.env_file).map_err(|err| {
        let _ = fs::remove_file(&temp);
        Error::io(&project.env_file, "write", err)
    })
}

/// Whether `path` is a private regular file (not a link) whose content is `contents`.
fn holds_exactly(path: &Path, contents: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let private_file = fs::symlink_metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o777 == ENV_FILE_MODE);
    private_file && fs::read(path).is_ok_and(|existing| existing == contents.as_bytes())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let _ = fs::remove_file(path);
    let mut file = OpenOptions::new().write(true).create_new(true).mode(ENV_FILE_MODE).open(path)?;
    // No fsync: the file is regenerated on every start, and the rename alone already gives
    // readers the old file or the new one. (The key file, which cannot be regenerated, is synced.)
    file.write_all(contents.as_bytes())
}

/// Removes every entry of `dir` except `keep`.
fn remove_others(dir: &Path, keep: &[&Path]) -> Result<(), Error> {
    let entries = fs::read_dir(dir).map_err(|err| Error::io(dir, "read", err))?;
    for entry in entries {
        let path = entry.map_err(|err| Error::io(dir, "read", err))?.path();
        if keep.contains(&path.as_path()) {
            continue;
        }
        let removed =
            if path.is_dir() && !path.is_symlink() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        removed.map_err(|err| Error::io(&path, "remove", err))?;
    }
    Ok(())
}
