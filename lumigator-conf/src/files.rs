//! Opening the files the pipeline trusts to be regular files (conf files and the key), and saying
//! what stands at a path when it is something else.
//!
//! Kept apart from the parser so that the key, which is not a conf file, can use it without
//! depending on the parser. Every check is made on the open file, not on the path before opening
//! it: what is read is what was checked, even if the path changes in between.

use std::fs::{self, File, Metadata};
use std::io::{ErrorKind, Read};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use crate::error::{Error, SYMLINK_TO_MISSING_FILE};

/// The largest conf or key file read: far beyond any real one (the shipped defaults are 3 KB; the
/// benchmarks parse a 10 MB `user.conf`), and small enough that parsing one cannot exhaust memory
/// (a line of nothing but `$A` references takes about 50 times its size once parsed).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Opens `path` for reading, following links, and checks on the open file that it is a regular
/// file. Opening does not block: a FIFO is reported, not waited on.
pub(crate) fn open_regular(path: &Path) -> Result<(File, Metadata), Error> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let file = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(err) => {
            let err = std::io::Error::from(err);
            return Err(match err.kind() {
                ErrorKind::NotFound if fs::symlink_metadata(path).is_ok() => {
                    Error::NotAFile { path: path.to_path_buf(), kind: SYMLINK_TO_MISSING_FILE }
                }
                _ => Error::io(path, "read", err),
            });
        }
    };
    let meta = file.metadata().map_err(|err| Error::io(path, "read", err))?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.to_path_buf(), kind: file_kind(&meta) });
    }
    Ok((file, meta))
}

/// Reads an opened regular file, refusing one larger than [`MAX_FILE_BYTES`] before reading it.
pub(crate) fn read_opened(path: &Path, file: &File, meta: &Metadata) -> Result<Vec<u8>, Error> {
    let too_large = || Error::FileTooLarge { path: path.to_path_buf(), limit: MAX_FILE_BYTES };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    // The size can change after fstat (a file still being written): read one byte past the limit
    // at most, so a growing file cannot take more memory than that either.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|err| Error::io(path, "read", err))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Reads a file that must be a regular file (see [`open_regular`]).
pub(crate) fn read_regular_file(path: &Path) -> Result<Vec<u8>, Error> {
    let (file, meta) = open_regular(path)?;
    read_opened(path, &file, &meta)
}

/// What a path that is not a regular file is instead, for the error message.
pub(crate) fn file_kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_file() {
        "a regular file"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "something that is not a regular file"
    }
}

/// What stands at `path`, without following a link: "a symbolic link to /elsewhere", "a FIFO",
/// "nothing". For messages that refuse it.
pub(crate) fn describe(path: &Path) -> String {
    match fs::symlink_metadata(path) {
        Err(_) => "nothing".to_string(),
        Ok(meta) if meta.file_type().is_symlink() => match fs::read_link(path) {
            Ok(target) => format!("a symbolic link to {}", target.display()),
            Err(_) => "a symbolic link".to_string(),
        },
        Ok(meta) => file_kind(&meta).to_string(),
    }
}

/// The user this process acts as (its effective user id): the owner files must have to be trusted.
pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}
