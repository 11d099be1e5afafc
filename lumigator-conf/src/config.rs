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

    /// One conf file on its own: no `user.conf`, no key (`LUMIGATOR_SECRET_KEY` resolves empty,
    /// and a `LUMIGATOR_SECRET_KEY` line in the file is ignored). For tasks that must work when
    /// the configuration cannot be used: a stop falls back to the `build/.env` a start wrote, or
    /// to `.default.conf` alone. `key_file` is only named in findings. Changes nothing on disk.
    pub fn load_alone(path: &Path, key_file: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let file = ConfFile::read(path)?;
        let merged = MergedConfig::merge(&file, None, None, key_file);
        let resolved = ResolvedConfig::resolve(&merged, env)?;
        let findings = check::check(&resolved, &file, None);
        Ok(Configuration {
            defaults: file,
            user: None,
            resolved,
            findings,
            key_events: KeyEvents::default(),
            has_key: false,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::render_env;

    #[test]
    fn a_rendered_env_file_loads_alone_to_the_same_values() {
        let dir = tempfile::tempdir().expect("temp dir");
        let defaults = dir.path().join(".default.conf");
        std::fs::write(&defaults, "A=1\nB='single $A'\nC=\"x\\ny\"\nD=${A}0 # comment\n").expect("write");
        let key_file = dir.path().join("lumigator.key");
        let no_env = |_: &str| None;
        let first = Configuration::load_alone(&defaults, &key_file, &no_env).expect("loads");
        let rendered = dir.path().join(".env");
        std::fs::write(&rendered, render_env(&first.resolved)).expect("write");
        let again = Configuration::load_alone(&rendered, &key_file, &no_env).expect("loads");
        let values =
            |c: &Configuration| c.resolved.entries.iter().map(|e| (e.key.clone(), e.value.clone())).collect::<Vec<_>>();
        assert_eq!(values(&again), values(&first));
        assert!(!again.has_key && again.user.is_none());
        assert_eq!(again.resolved.get(crate::SECRET_KEY_VAR).map(|e| e.value.as_str()), Some(""));
    }
}
