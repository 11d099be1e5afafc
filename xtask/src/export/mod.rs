//! The resolved configuration in the formats other consumers read: a POSIX shell, JSON, a GitHub
//! Actions step, Kubernetes, Lumigator's Helm chart (Compose's env file is
//! `lumigator_conf::render::render_env`). Each format is a pure function from the configuration to
//! text, in a module of its own; the `config-export` task chooses, prints and writes.

pub mod github_env;
pub mod helm;
pub mod json;
pub mod k8s;
pub mod sh;
pub mod yaml;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use lumigator_conf::ResolvedConfig;

/// The mode of an exported file: it may hold secrets.
pub const FILE_MODE: u32 = 0o600;

/// The configuration without its secret entries (the key, declared secrets, names that say so,
/// values that use a secret), and the names of those left out, in order.
pub fn without_secrets(config: &ResolvedConfig) -> (ResolvedConfig, Vec<String>) {
    let mut kept = config.clone();
    let left_out = config.entries.iter().filter(|e| e.secret).map(|e| e.key.clone()).collect();
    kept.entries.retain(|e| !e.secret);
    (kept, left_out)
}

/// Writes `contents` to `path` so that readers see the old file or the new one, never a part, and
/// only its owner can read it: a temporary file in the same folder, created exclusively with mode
/// 0600 whatever the umask, synced, then renamed over `path`. A symbolic link at `path` is
/// replaced, never followed: the configuration's secrets must not land wherever a link points.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let name = path.file_name().ok_or_else(|| std::io::Error::other("not a file name"))?;
    let temp = path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let written = (|| {
        // create_new (O_EXCL) neither reuses nor follows anything already at the temporary name.
        let mut file = OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(&temp)?;
        file.write_all(contents.as_bytes())?;
        // Unlike build/.env, an export may be all the user keeps: sync it before it replaces the
        // old file.
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
pub(crate) mod tests {
    use lumigator_conf::{Origin, ResolvedConfig, ResolvedEntry, settings};

    use super::*;

    /// A configuration of `pairs`, none of them secret.
    pub fn config(pairs: &[(&str, &str)]) -> ResolvedConfig {
        let entries = pairs
            .iter()
            .map(|(key, value)| ResolvedEntry {
                key: key.to_string(),
                value: value.to_string(),
                origin: Origin::Derived { from: "test".into() },
                secret: false,
            })
            .collect();
        ResolvedConfig { entries, warnings: Vec::new() }
    }

    /// A configuration of `pairs`, secret as their names say (`settings::is_secret`).
    pub fn secret_config(pairs: &[(&str, &str)]) -> ResolvedConfig {
        let mut config = config(pairs);
        for entry in &mut config.entries {
            entry.secret = settings::is_secret(&entry.key);
        }
        config
    }

    #[test]
    fn secrets_are_taken_out_and_named() {
        let (kept, left_out) = without_secrets(&secret_config(&[("A", "1"), ("MY_TOKEN", "t"), ("B", "2")]));
        assert_eq!(kept.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(left_out, ["MY_TOKEN"]);
    }

    #[test]
    fn a_link_at_the_destination_is_replaced_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("elsewhere");
        fs::write(&target, "untouched").expect("write");
        let link = dir.path().join("out.env");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        write_private(&link, "A=1\n").expect("written");
        assert_eq!(fs::read_to_string(&target).expect("read"), "untouched");
        let meta = fs::symlink_metadata(&link).expect("stat");
        assert!(meta.is_file() && meta.permissions().mode() & 0o777 == FILE_MODE);
        assert_eq!(fs::read_to_string(&link).expect("read"), "A=1\n");
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 2, "no temporary file left");
    }
}
