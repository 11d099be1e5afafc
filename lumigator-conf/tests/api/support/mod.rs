//! What the test modules share: paths of the fixtures, loading a file on its own, and the real
//! Docker Compose as an oracle (`compose`).

pub mod compose;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lumigator_conf::{ConfFile, Error, MergedConfig, ResolvedConfig, SECRET_KEY_VAR};

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
