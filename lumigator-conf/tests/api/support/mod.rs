//! What the test modules share: paths of the fixtures, loading a file on its own, a temporary
//! HOME and project ([`Sandbox`]), a picture of a directory tree to show that nothing changed, and
//! the real Docker Compose as an oracle (`compose`).

pub mod compose;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use lumigator_conf::config::{Configuration, KeyAccess};
use lumigator_conf::{ConfFile, Error, MergedConfig, ProjectPaths, ResolvedConfig, SECRET_KEY_VAR, UserPaths};
use tempfile::TempDir;

/// A valid secret key file: standard base64 of 32 bytes ("0123...901"), with its newline.
pub const VALID_KEY: &str = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\n";

/// The workspace root, where the shipped `.default.conf` and the malformed-input corpus live.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("lumigator-conf lives in the workspace").to_path_buf()
}

/// A file of `tests/corpus`, the lines whose values were observed from Compose.
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(name)
}

/// Parses `bytes` as the conf file `path` (used only in locations) and resolves it on its own.
pub fn load_bytes(path: &Path, bytes: &[u8]) -> Result<ResolvedConfig, Error> {
    resolve_alone(&ConfFile::parse(path, bytes)?)
}

/// Reads the conf file at `path` and resolves it on its own.
pub fn load_file(path: &Path) -> Result<ResolvedConfig, Error> {
    resolve_alone(&ConfFile::read(path)?)
}

/// `file` merged with nothing else, resolved with an empty process environment, without the
/// (missing) secret key's entry: what a file says by itself.
fn resolve_alone(file: &ConfFile) -> Result<ResolvedConfig, Error> {
    let merged = MergedConfig::merge(file, None, None, Path::new("/nonexistent/lumigator.key"));
    let mut resolved = ResolvedConfig::resolve(&merged, &|_| None)?;
    resolved.entries.retain(|e| e.key != SECRET_KEY_VAR);
    Ok(resolved)
}

/// The resolved values by name.
pub fn values(config: &ResolvedConfig) -> BTreeMap<String, String> {
    config.entries.iter().map(|e| (e.key.clone(), e.value.clone())).collect()
}

/// A temporary HOME and project for the library's file-handling API; both are removed on drop.
pub struct Sandbox {
    home: TempDir,
    project: TempDir,
}

impl Sandbox {
    /// A project with the shipped `.default.conf` and an empty HOME (no `~/.lumigator` yet).
    pub fn new() -> Self {
        Self::with_defaults(&fs::read(workspace_root().join(".default.conf")).expect("shipped defaults"))
    }

    /// A project whose `.default.conf` is `defaults`.
    pub fn with_defaults(defaults: &[u8]) -> Self {
        let sandbox = Sandbox {
            home: tempfile::Builder::new().prefix("home").tempdir().expect("temp HOME"),
            project: tempfile::Builder::new().prefix("project").tempdir().expect("temp project"),
        };
        fs::write(sandbox.project().default_conf, defaults).expect("write defaults");
        sandbox
    }

    /// The temporary HOME.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The files under `~/.lumigator`.
    pub fn user(&self) -> UserPaths {
        UserPaths::under(self.home())
    }

    /// The project's files.
    pub fn project(&self) -> ProjectPaths {
        ProjectPaths::new(self.project.path())
    }

    /// Creates `~/.lumigator` (mode 0700) if it is missing.
    pub fn user_dir(&self) -> &Self {
        let dir = self.user().dir;
        if !dir.exists() {
            fs::DirBuilder::new().mode(0o700).create(&dir).expect("mkdir ~/.lumigator");
        }
        self
    }

    /// Writes `~/.lumigator/user.conf`.
    pub fn user_conf(&self, content: impl AsRef<[u8]>) -> &Self {
        self.user_dir();
        fs::write(self.user().user_conf, content).expect("write user.conf");
        self
    }

    /// Writes `~/.lumigator/lumigator.key` with mode 0600, whatever it holds.
    pub fn key(&self, content: impl AsRef<[u8]>) -> &Self {
        self.user_dir();
        let path = self.user().key_file;
        let _ = fs::remove_file(&path);
        let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).expect("key");
        std::io::Write::write_all(&mut file, content.as_ref()).expect("write key");
        self
    }

    /// `Configuration::load` on this sandbox, with an environment that has only `HOME`.
    pub fn load(&self, access: KeyAccess) -> Result<Configuration, Error> {
        let home = self.home().display().to_string();
        Configuration::load(&self.project(), &self.user(), access, &move |name| (name == "HOME").then(|| home.clone()))
    }

    /// Everything in HOME and the project, for comparing before and after.
    pub fn files(&self) -> BTreeMap<PathBuf, String> {
        let mut all = tree(self.home());
        all.extend(tree(self.project.path()));
        all
    }
}

/// Everything under `dir`, each path with its kind, mode and content (files) or target (links),
/// so that comparing two of them shows any change. FIFOs are never opened: that would block.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(path: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(meta) = fs::symlink_metadata(path) else { return };
        let mode = meta.permissions().mode() & 0o7777;
        let kind = meta.file_type();
        let description = if kind.is_symlink() {
            format!("link to {:?}", fs::read_link(path).expect("read link"))
        } else if kind.is_dir() {
            for entry in fs::read_dir(path).expect("read dir") {
                walk(&entry.expect("entry").path(), out);
            }
            format!("dir {mode:o}")
        } else if kind.is_file() {
            format!("file {mode:o} b\"{}\"", fs::read(path).expect("read").escape_ascii())
        } else {
            format!("special {mode:o} fifo={}", kind.is_fifo())
        };
        out.insert(path.to_path_buf(), description);
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// The permission bits of `path` (not following a symbolic link).
pub fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// Makes a FIFO at `path` with the system's `mkfifo` (the workspace forbids `unsafe`, so no libc).
pub fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Whether the tests run as root, for whom file modes do not apply and who can give files away.
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    tempfile::tempfile().expect("temp file").metadata().expect("stat").uid() == 0
}
