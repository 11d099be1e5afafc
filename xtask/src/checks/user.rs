//! The user's folder, `~/.lumigator`, and the secret key in it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use lumigator_conf::{Error, key, trust};

use crate::context::Context;
use crate::verdict::Verdict;

fn mode_of(path: &Path) -> Option<u32> {
    fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o777)
}

/// `~/.lumigator`: a private folder of the user's own, or not there yet. The library's rule for
/// whose folder it is ([`trust`]) decides, so doctor and the tasks agree.
pub fn user_dir(ctx: &Context) -> Verdict {
    let dir = &ctx.user.dir;
    match trust::check_user_dir(dir) {
        Ok(false) => Verdict::ok(format!("{} will be created (mode 700) by the first start", dir.display())),
        Err(err) => {
            let fix = err.help().unwrap_or_else(|| "make it a folder you can read".to_string());
            Verdict::problem(err.to_string(), fix)
        }
        Ok(true) => match mode_of(dir) {
            Some(mode) if mode & 0o077 != 0 => Verdict::warning(
                format!("{} has mode {mode:o}, open to other users", dir.display()),
                format!("run `chmod 700 {}` (the next start does it too, unless it is a link)", dir.display()),
            ),
            mode => Verdict::ok(format!("{} (mode {:o})", dir.display(), mode.unwrap_or(0o700))),
        },
    }
}

/// The secret key: valid and private, or not created yet.
pub fn secret_key(ctx: &Context) -> Verdict {
    let path = &ctx.user.key_file;
    match key::read(&ctx.user) {
        Ok(None) => Verdict::ok(format!("{} will be created by the first start", path.display())),
        Ok(Some(_)) => match mode_of(path) {
            Some(mode) if mode & 0o077 != 0 => Verdict::warning(
                format!("{} is valid but has mode {mode:o}, readable by other users", path.display()),
                format!("run `chmod 600 {}` (the next start does it too)", path.display()),
            ),
            mode => Verdict::ok(format!("{} is valid (mode {:o})", path.display(), mode.unwrap_or(0o600))),
        },
        Err(Error::UserDirNotADirectory { .. }) => Verdict::skipped("needs the user folder"),
        // The folder's own row says what is wrong with it.
        Err(Error::NotOwned { path: found, .. } | Error::WritableByOthers { path: found, .. })
            if found == ctx.user.dir =>
        {
            Verdict::skipped("needs a user folder of yours")
        }
        Err(err) => {
            let fix = err.help().unwrap_or_else(|| "make the key file a regular file you can read".to_string());
            Verdict::problem(err.to_string(), fix)
        }
    }
}
