//! The secret key in `~/.lumigator/lumigator.key`: created once, never replaced.
//!
//! Lumigator's backend encrypts stored secrets with it (AES-256), so losing or changing it makes
//! them unreadable. Every operation here either leaves an existing key byte-identical or fails.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::TryRng;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::Error;
use crate::files::read_opened;
use crate::paths::UserPaths;
use crate::secret::REDACTED;
use crate::trust;

/// The number of random bytes in a key (AES-256).
pub const KEY_BYTES: usize = 32;
const DIR_MODE: u32 = 0o700;
const KEY_MODE: u32 = 0o600;

/// A valid secret key: standard base64, with padding, of exactly 32 bytes. Its `Debug` and
/// `Display` never show it; use [`SecretKey::expose`] where the value is really needed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Validates the text of a key file (trailing newlines are ignored).
    pub fn from_file_text(text: &str) -> Result<Self, String> {
        let key = text.trim_end_matches(['\n', '\r']);
        if key.is_empty() {
            return Err("the file is empty".to_string());
        }
        match STANDARD.decode(key) {
            Ok(bytes) if bytes.len() == KEY_BYTES => Ok(SecretKey(key.to_string())),
            Ok(bytes) => Err(format!("it decodes to {} bytes, expected {KEY_BYTES}", bytes.len())),
            Err(err) => Err(format!("it is not standard base64 ({})", describe_base64_error(&err))),
        }
    }

    /// A new key from the operating system's secure random source.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = [0u8; KEY_BYTES];
        rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|err| Error::Io {
            path: "the system random source".into(),
            action: "read",
            source: std::io::Error::other(err.to_string()),
        })?;
        Ok(SecretKey(STANDARD.encode(bytes)))
    }

    /// The key's base64 text. Only for writing `build/.env`.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn describe_base64_error(err: &base64::DecodeError) -> String {
    // The error names the offending byte; print its position only, never the key material.
    match err {
        base64::DecodeError::InvalidByte(offset, _) => {
            format!("invalid character at position {}", offset + 1)
        }
        base64::DecodeError::InvalidLength(_) => "its length is not a multiple of 4".to_string(),
        base64::DecodeError::InvalidLastSymbol { offset, .. } => {
            format!("invalid last character at position {}", offset + 1)
        }
        base64::DecodeError::InvalidPadding => "invalid padding".to_string(),
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({REDACTED})")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// What [`ensure`] changed, for the caller to report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyEvents {
    /// `~/.lumigator` was created.
    pub created_dir: bool,
    /// `~/.lumigator` had this wider mode and was set to 0700.
    pub repaired_dir_mode: Option<u32>,
    /// A new key was generated and written.
    pub created_key: bool,
    /// The key file had this wider mode and was set to 0600.
    pub repaired_key_mode: Option<u32>,
    /// `~/.lumigator` is a symbolic link to a folder with this wider mode, left as it is: modes are
    /// never changed through a link.
    pub unrepaired_dir_mode: Option<u32>,
    /// The key file is a symbolic link to a file with this wider mode, left as it is.
    pub unrepaired_key_mode: Option<u32>,
}

/// The key step: makes sure `~/.lumigator` is a private directory and holds a valid key,
/// creating one if there is none. An existing key is never rewritten. A folder or key that another
/// user owns or can write is refused (see [`crate::trust`]).
pub fn ensure(user: &UserPaths) -> Result<(SecretKey, KeyEvents), Error> {
    let mut events = KeyEvents::default();
    ensure_private_dir(&user.dir, &mut events)?;
    if let Some(key) = load_existing(&user.key_file, &mut events)? {
        return Ok((key, events));
    }
    let key = SecretKey::generate()?;
    match create_exclusively(&user.dir, &user.key_file, key.expose()) {
        Ok(()) => {
            events.created_key = true;
            Ok((key, events))
        }
        // Another run created it first: use theirs, so every concurrent run agrees on one key.
        Err(err) if err.kind() == ErrorKind::AlreadyExists => match load_existing(&user.key_file, &mut events)? {
            Some(key) => Ok((key, events)),
            None => Err(Error::io(&user.key_file, "read", err)),
        },
        Err(err) => Err(Error::io(&user.key_file, "create", err)),
    }
}

/// Reads the key if it exists, without creating anything or changing any mode (for read-only
/// tasks). The same files are refused as by [`ensure`].
pub fn read(user: &UserPaths) -> Result<Option<SecretKey>, Error> {
    if !trust::check_user_dir(&user.dir)? {
        return Ok(None);
    }
    match fs::symlink_metadata(&user.key_file) {
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io(&user.key_file, "read", err)),
        Ok(_) => {
            let (file, meta) = trust::open_trusted(&user.key_file)?;
            let bytes = read_opened(&user.key_file, &file, &meta)?;
            parse_key(&user.key_file, &bytes).map(Some)
        }
    }
}

fn parse_key(path: &Path, bytes: &[u8]) -> Result<SecretKey, Error> {
    let invalid = |reason: String| Error::InvalidKey { path: path.to_path_buf(), reason };
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("it is not text".to_string()))?;
    SecretKey::from_file_text(text).map_err(invalid)
}

fn ensure_private_dir(dir: &Path, events: &mut KeyEvents) -> Result<(), Error> {
    let not_a_directory = || Error::UserDirNotADirectory { path: dir.to_path_buf() };
    match fs::symlink_metadata(dir) {
        Ok(link) if link.file_type().is_symlink() => {
            // Followed to read and write the files inside (the user may keep the folder elsewhere),
            // but its mode is not changed through the link: only reported.
            let meta = fs::metadata(dir).map_err(|_| not_a_directory())?;
            if !meta.is_dir() {
                return Err(not_a_directory());
            }
            trust::check(dir, &meta)?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                events.unrepaired_dir_mode = Some(mode);
            }
            Ok(())
        }
        Ok(meta) if !meta.is_dir() => Err(not_a_directory()),
        Ok(_) => {
            // The mode is read and set on the open folder, which cannot be a link.
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let folder = match rustix::fs::open(dir, flags, Mode::empty()) {
                Ok(fd) => File::from(fd),
                Err(Errno::LOOP | Errno::MLINK | Errno::NOTDIR) => return Err(not_a_directory()),
                Err(err) => return Err(Error::io(dir, "open", err.into())),
            };
            let meta = folder.metadata().map_err(|err| Error::io(dir, "read", err))?;
            trust::check(dir, &meta)?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                folder
                    .set_permissions(Permissions::from_mode(DIR_MODE))
                    .map_err(|err| Error::io(dir, "set the mode of", err))?;
                events.repaired_dir_mode = Some(mode);
            }
            Ok(())
        }
        // Missing, or a symbolic link to something missing: mkdir decides which, in one step.
        // (Looking first raced with a concurrent first run that created the folder in between.)
        Err(err) if err.kind() == ErrorKind::NotFound => {
            match DirBuilder::new().mode(DIR_MODE).create(dir) {
                Ok(()) => events.created_dir = true,
                // A concurrent first run made it: fine, as long as it is a directory of ours.
                Err(err) if err.kind() == ErrorKind::AlreadyExists && dir.is_dir() => {
                    let meta = fs::metadata(dir).map_err(|err| Error::io(dir, "read", err))?;
                    trust::check(dir, &meta)?;
                }
                // mkdir does not follow a dangling link, and neither do we: nothing is created.
                Err(err) if err.kind() == ErrorKind::AlreadyExists => return Err(not_a_directory()),
                Err(err) => return Err(Error::io(dir, "create", err)),
            }
            Ok(())
        }
        Err(err) => Err(Error::io(dir, "read", err)),
    }
}

/// Reads and validates an existing key, repairing a too-wide mode. `None` when there is no key.
fn load_existing(path: &Path, events: &mut KeyEvents) -> Result<Option<SecretKey>, Error> {
    let link = match fs::symlink_metadata(path) {
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io(path, "read", err)),
        Ok(meta) => meta,
    };
    let (file, meta) = trust::open_trusted(path)?;
    let bytes = read_opened(path, &file, &meta)?;
    let key = parse_key(path, &bytes)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        // The open file is the one the path named when it was not a link (same device and inode):
        // its mode is set on it, never through a link.
        let same_file = !link.file_type().is_symlink() && link.dev() == meta.dev() && link.ino() == meta.ino();
        if same_file {
            file.set_permissions(Permissions::from_mode(KEY_MODE))
                .map_err(|err| Error::io(path, "set the mode of", err))?;
            events.repaired_key_mode = Some(mode);
        } else {
            events.unrepaired_key_mode = Some(mode);
        }
    }
    Ok(Some(key))
}

/// Writes the key so that it appears complete or not at all: a private temporary file in the same
/// directory, then a hard link to the final name, which fails if any other run got there first.
fn create_exclusively(dir: &Path, path: &Path, key: &str) -> std::io::Result<()> {
    // One name per call, not just per process: threads of one process that create the key at
    // once each removed and replaced the others' temporary file, and failed instead of agreeing.
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".lumigator.key.{}.{call}.tmp", std::process::id()));
    // A leftover with this name is from an interrupted process that had our pid: ours to replace.
    let _ = fs::remove_file(&temp);
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(KEY_MODE).open(&temp)?;
        file.write_all(format!("{key}\n").as_bytes())?;
        file.sync_all()?;
        fs::hard_link(&temp, path)
    })();
    let _ = fs::remove_file(&temp);
    result
}
