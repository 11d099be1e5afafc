//! The whole pipeline in one call: read the conf files, the key, merge, resolve and check.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use crate::check;
use crate::error::Error;
use crate::files::read_opened;
use crate::finding::Finding;
use crate::key::{self, KeyEvents};
use crate::merge::MergedConfig;
use crate::parse::ConfFile;
use crate::paths::{ProjectPaths, UserPaths};
use crate::resolve::ResolvedConfig;
use crate::secret::SECRET_KEY_VAR;
use crate::trust;

/// Whether loading may create `~/.lumigator` and the key, and repair their modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAccess {
    /// The key step of a start: create what is missing, repair modes.
    CreateIfMissing,
    /// Change nothing on disk; a missing key shows as not yet created.
    ReadOnly,
    /// Do not read the key at all: `LUMIGATOR_SECRET_KEY` resolves empty, as before the key is
    /// created. For `doctor`, which checks the key on its own row (an invalid key must not hide the
    /// configuration's findings) and hands the configuration to Compose without it.
    Skip,
}

/// A loaded configuration: its sources, the resolved values and what the checks found.
#[derive(Debug)]
pub struct Configuration {
    /// `.default.conf`.
    pub defaults: ConfFile,
    /// `~/.lumigator/user.conf`, if present.
    pub user: Option<ConfFile>,
    /// The merged, resolved entries.
    pub resolved: ResolvedConfig,
    /// Errors and warnings, in file order.
    pub findings: Vec<Finding>,
    /// What the key step changed.
    pub key_events: KeyEvents,
    /// Whether the secret key exists (always true with [`KeyAccess::CreateIfMissing`]).
    pub has_key: bool,
}

impl Configuration {
    /// Reads everything and resolves it. The conf files are parsed and resolved before the key
    /// step, so a malformed file (or a `${VAR:?}` that fails) changes nothing on disk. `env` reads
    /// the process environment.
    pub fn load(
        project: &ProjectPaths,
        user: &UserPaths,
        access: KeyAccess,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let defaults = ConfFile::read(&project.default_conf)?;
        // Before anything in ~/.lumigator is read: a folder or file that another user owns or can
        // write may hold their settings, not the user's (see `trust`).
        let user_conf = if trust::check_user_dir(&user.dir)? { read_user_conf(&user.user_conf)? } else { None };
        // Resolve without the key first: no entry can use its value (it comes last, and a
        // reference sees only entries above it), so it is filled in once the key step is done.
        let merged = MergedConfig::merge(&defaults, user_conf.as_ref(), None, &user.key_file);
        let mut resolved = ResolvedConfig::resolve(&merged, env)?;
        let (key, key_events) = match access {
            KeyAccess::CreateIfMissing => {
                let (key, events) = key::ensure(user)?;
                (Some(key), events)
            }
            KeyAccess::ReadOnly => (key::read(user)?, KeyEvents::default()),
            KeyAccess::Skip => (None, KeyEvents::default()),
        };
        if let Some(key) = &key
            && let Some(entry) = resolved.entries.iter_mut().rev().find(|e| e.key == SECRET_KEY_VAR)
        {
            entry.value = key.expose().to_string();
        }
        let findings = check::check(&resolved, &defaults, user_conf.as_ref());
        Ok(Configuration { defaults, user: user_conf, resolved, findings, key_events, has_key: key.is_some() })
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }

    /// Fails with every finding when any of them is an error.
    pub fn require_valid(&self) -> Result<(), Error> {
        if self.has_errors() { Err(Error::Invalid { findings: self.findings.clone() }) } else { Ok(()) }
    }
}

/// `~/.lumigator/user.conf` when it exists, read only when the user owns it and no one else can
/// write it. A symbolic link whose target is missing is an error: someone meant that file to exist.
fn read_user_conf(path: &Path) -> Result<Option<ConfFile>, Error> {
    match fs::symlink_metadata(path) {
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io(path, "read", err)),
        Ok(_) => {}
    }
    let (file, meta) = trust::open_trusted(path)?;
    let bytes = read_opened(path, &file, &meta)?;
    ConfFile::parse(path, &bytes).map(Some)
}
