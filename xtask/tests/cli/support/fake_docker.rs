//! A fake `docker` (and `docker-compose`, `uv`) first and alone on PATH, recording every call.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::support::{Sandbox, repo_root};

/// One recorded call.
#[derive(Debug)]
pub struct Call {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    /// A copy of the file given with `--env-file`, if any.
    pub env_file: Option<String>,
}

impl Call {
    /// The call as one line, with the project directory shown as `[PROJECT]` and an env file
    /// outside it (a temporary one, named after the process) as `[TEMPORARY]`.
    pub fn line(&self, sandbox: &Sandbox) -> String {
        let mut words = self.argv.clone();
        for at in 1..words.len() {
            if words[at - 1] == "--env-file" && !Path::new(&words[at]).starts_with(sandbox.project()) {
                words[at] = "[TEMPORARY]".into();
            }
        }
        sandbox.redact(&words.join(" "))
    }

    /// Whether this is a compose action, not a probe: a version or daemon probe, one of the
    /// pre-flight's (`compose ... config`, `docker ps`), or the readiness wait's (`compose ... ps`).
    pub fn is_action(&self) -> bool {
        let probe = self.argv.iter().any(|a| a == "version" || a == "--version" || a == "info" || a == "config")
            || self.compose_action() == Some("ps")
            || self.argv.get(1).is_some_and(|a| a == "ps");
        !probe
    }

    /// The action of a Compose call (`up`, `down`, `ps`, `logs`, ...), after its options.
    pub fn compose_action(&self) -> Option<&str> {
        let mut words = self.argv.iter().skip(1).map(String::as_str);
        if self.argv.first().is_some_and(|p| p == "docker") && words.next() != Some("compose") {
            return None;
        }
        while let Some(word) = words.next() {
            match word {
                "--env-file" | "--profile" | "-f" | "-p" | "--project-name" => {
                    words.next();
                }
                action => return Some(action),
            }
        }
        None
    }
}

/// The fake tools and their call log.
pub struct FakeDocker {
    bin: TempDir,
    log: TempDir,
}

impl FakeDocker {
    /// Installs the fake tools for `sandbox`: its PATH holds only them. `tools` picks which exist
    /// (`docker`, `docker-compose`, `uv`).
    pub fn install(sandbox: &mut Sandbox, tools: &[&str]) -> Self {
        let fake = FakeDocker { bin: tempfile::tempdir().expect("bin"), log: tempfile::tempdir().expect("log") };
        let script = repo_root().join("xtask/tests/cli/fake/docker");
        for tool in tools {
            symlink(&script, fake.bin.path().join(tool)).expect("symlink");
        }
        sandbox.env.retain(|(k, _)| k != "PATH" && k != "FAKE_LOG");
        sandbox.env.push(("PATH".into(), fake.bin.path().display().to_string()));
        sandbox.env.push(("FAKE_LOG".into(), fake.log.path().display().to_string()));
        fake
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        let mut calls = Vec::new();
        for n in 0.. {
            let base = self.log.path().join(n.to_string());
            let Ok(argv) = fs::read(base.with_extension("argv")) else { break };
            calls.push(Call {
                argv: split_nul(&argv),
                cwd: PathBuf::from(fs::read_to_string(base.with_extension("cwd")).expect("cwd")),
                env: split_nul(&fs::read(base.with_extension("env")).expect("env"))
                    .into_iter()
                    .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                    .collect(),
                env_file: fs::read_to_string(base.with_extension("envfile")).ok(),
            });
        }
        calls
    }

    /// The calls that did something (no probes).
    pub fn actions(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::is_action).collect()
    }

    pub fn log_dir(&self) -> &Path {
        self.log.path()
    }
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    bytes.split(|&b| b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

/// Makes `sandbox`'s project look like a Lumigator source checkout: stand-in Dockerfiles (which
/// the build tasks require) and a pyproject.toml (which makes local-up run uv).
pub fn add_source_stand_ins(sandbox: &Sandbox) {
    for file in ["Dockerfile", "lumigator/frontend/Dockerfile", "pyproject.toml"] {
        let path = sandbox.project().join(file);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, "# stand-in\n").expect("write");
    }
}

/// A source checkout with the fake docker and uv installed.
pub fn source_checkout() -> (Sandbox, FakeDocker) {
    let mut sandbox = Sandbox::new();
    add_source_stand_ins(&sandbox);
    let fake = FakeDocker::install(&mut sandbox, &["docker", "uv"]);
    (sandbox, fake)
}
