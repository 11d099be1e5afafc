//! Reading the files the pipeline trusts to be regular files: conf files and the key.
//!
//! Kept apart from the parser so that the key, which is not a conf file, can use it without
//! depending on the parser.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use crate::error::{Error, SYMLINK_TO_MISSING_FILE};

/// Reads a file that must be a regular file. Checking first matters: opening a FIFO would block.
pub(crate) fn read_regular_file(path: &Path) -> Result<Vec<u8>, Error> {
    let meta = fs::metadata(path).map_err(|err| match err.kind() {
        ErrorKind::NotFound if fs::symlink_metadata(path).is_ok() => {
            Error::NotAFile { path: path.to_path_buf(), kind: SYMLINK_TO_MISSING_FILE }
        }
        _ => Error::io(path, "read", err),
    })?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.to_path_buf(), kind: file_kind(&meta) });
    }
    fs::read(path).map_err(|err| Error::io(path, "read", err))
}

/// What a path that is not a regular file is instead, for the error message.
fn file_kind(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_dir() {
        "a directory"
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
