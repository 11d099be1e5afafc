//! Docker Compose command lines: which Compose program to call, and the arguments each compose
//! task gives it, built exactly as the Makefile built them.

pub mod target;

use std::path::Path;

use lumigator_conf::ResolvedConfig;

use crate::host::{self, GpuCount};
use crate::runner::Cmd;
pub use target::{Action, ComposeTarget};

/// How to invoke Compose v2 on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compose {
    /// `["docker", "compose"]` for the plugin, `["docker-compose"]` for a standalone v2.
    pub argv: Vec<String>,
    /// Its version, as it reports it (e.g. `2.40.3`).
    pub version: String,
}

impl Compose {
    /// The plugin form, assumed by dry runs (which run nothing, so nothing is probed).
    pub fn assumed() -> Self {
        Compose { argv: vec!["docker".into(), "compose".into()], version: "2".into() }
    }
}

/// The full Compose command line of `target` (after the env step), as the Makefile built it.
pub fn compose_argv(compose: &Compose, env_file: &Path, target: ComposeTarget, gpus: bool) -> Vec<String> {
    let spec = target.spec();
    let mut argv = compose.argv.clone();
    argv.extend(["--env-file".to_string(), env_file.display().to_string()]);
    if spec.local_profile {
        argv.extend(["--profile".into(), "local".into()]);
    }
    if gpus {
        argv.extend(["-f".into(), target::GPU.into()]);
    }
    for file in spec.files {
        argv.extend(["-f".into(), file.to_string()]);
    }
    match spec.action {
        Action::Up { detach, build, watch } => {
            argv.push("up".into());
            if watch {
                argv.push("--watch".into());
            }
            if detach {
                argv.push("-d".into());
            }
            if build {
                argv.push("--build".into());
            }
        }
        Action::Down => argv.push("down".into()),
    }
    argv
}

/// Whether the GPU override is used: `--gpus` when given, else the configuration's
/// `RAY_WORKER_GPUS` (1 or more).
pub fn uses_gpus(resolved: &ResolvedConfig, gpus: Option<&GpuCount>) -> bool {
    match gpus {
        Some(count) => count.wants_gpus(),
        None => resolved.get(host::GPUS_SETTING).is_some_and(|e| host::wants_gpus(&e.value)),
    }
}

/// Adds the host-derived values; returns whether the GPU override is used. `gpus` overrides
/// `RAY_WORKER_GPUS`.
pub fn apply_host_values(resolved: &mut ResolvedConfig, gpus: Option<&GpuCount>) -> bool {
    let use_gpus = uses_gpus(resolved, gpus);
    if let Some(count) = gpus {
        resolved.set_derived(host::GPUS_SETTING, count.as_str(), "the --gpus flag");
    }
    for (name, value) in host::derived_variables(use_gpus) {
        resolved.set_derived(name, value, "the host (architecture, GPUs)");
    }
    use_gpus
}

/// `compose_argv` (as [`compose_argv`] builds it) with its action replaced by `action`: the same
/// program, env file, profiles and files, for a probe of the same stack (`config`, `ps`, `logs`).
pub fn with_action(compose_argv: &[String], action: &[&str]) -> Vec<String> {
    // The files come last before the action, each after `-f`.
    let files_end = compose_argv.iter().rposition(|a| a == "-f").map_or(compose_argv.len(), |i| i + 2);
    let mut argv = compose_argv[..files_end.min(compose_argv.len())].to_vec();
    argv.extend(action.iter().map(|a| a.to_string()));
    argv
}

/// `compose_cmd` (a Compose command line built by [`compose_argv`]) with another action, the same
/// environment and folder: a probe of the same stack.
pub fn with_action_cmd(compose_cmd: &Cmd, action: &[&str]) -> Cmd {
    let argv: Vec<String> = compose_cmd.argv().iter().map(|a| a.to_string()).collect();
    let argv = with_action(&argv, action);
    Cmd { args: argv[1..].to_vec(), ..compose_cmd.clone() }
}

/// The configuration keys exported in our environment. Compose prefers exported variables to
/// `--env-file`, so these are removed from its environment: build/.env stays the one source.
pub fn exported_keys(resolved: &ResolvedConfig) -> Vec<String> {
    resolved.entries.iter().map(|e| e.key.clone()).filter(|k| std::env::var_os(k).is_some()).collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_probe_of_the_stack_replaces_the_action_and_keeps_the_rest() {
        let up = Cmd::from_argv(
            Path::new("/p"),
            &"docker compose --env-file /p/build/.env --profile local -f a.yaml -f b.yaml up -d --build"
                .split(' ')
                .map(String::from)
                .collect::<Vec<_>>(),
        )
        .env_remove(["S3_BUCKET".to_string()]);
        let probe = with_action_cmd(&up, &["config", "--format", "json"]);
        assert_eq!(
            probe.line(),
            "docker compose --env-file /p/build/.env --profile local -f a.yaml -f b.yaml config --format json"
        );
        assert_eq!((probe.cwd, probe.env_remove), (up.cwd, up.env_remove));
    }
}
