//! The files the pipeline reads and writes, found once.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::secret::KEY_FILE_NAME;

/// Files inside a Lumigator checkout (the "project").
#[derive(Clone, Debug)]
pub struct ProjectPaths {
    /// The checkout's root directory.
    pub root: PathBuf,
    /// `<root>/.default.conf`: the shipped defaults.
    pub default_conf: PathBuf,
    /// `<root>/build`: temporary files that exist while the stack runs.
    pub build_dir: PathBuf,
    /// `<root>/build/.env`: the merged configuration handed to Compose.
    pub env_file: PathBuf,
}

impl ProjectPaths {
    /// The paths of the checkout rooted at `root`.
    pub fn new(root: &Path) -> Self {
        let build_dir = root.join("build");
        ProjectPaths {
            root: root.to_path_buf(),
            default_conf: root.join(".default.conf"),
            env_file: build_dir.join(".env"),
            build_dir,
        }
    }
}

/// Files in the user's `~/.lumigator` directory.
#[derive(Clone, Debug)]
pub struct UserPaths {
    /// `~/.lumigator`.
    pub dir: PathBuf,
    /// `~/.lumigator/user.conf`: optional overrides, created by hand.
    pub user_conf: PathBuf,
    /// `~/.lumigator/lumigator.key`: the secret key, created on first use.
    pub key_file: PathBuf,
}

impl UserPaths {
    /// The paths under `home`.
    pub fn under(home: &Path) -> Self {
        let dir = home.join(".lumigator");
        UserPaths { user_conf: dir.join("user.conf"), key_file: dir.join(KEY_FILE_NAME), dir }
    }

    /// The paths under the current user's home directory (`$HOME` on Unix).
    pub fn from_home() -> Result<Self, Error> {
        match home::home_dir() {
            Some(home) if !home.as_os_str().is_empty() => Ok(Self::under(&home)),
            _ => Err(Error::NoHome),
        }
    }
}
