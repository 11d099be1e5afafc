//! The old Makefile's Compose targets, with the same command lines (files, profiles, flags, order)
//! and these deliberate differences: Docker and Compose v2 are checked first, the host-derived
//! variables live in build/.env, configuration keys exported in the shell never reach Compose,
//! down tasks remove build/ even when Compose fails, and `--dry-run` shows everything first.

use std::path::Path;

use lumigator_conf::{Origin, ResolvedConfig, clean as build_files};

use crate::context::{Context, TaskError};
use crate::docker::{self, Compose};
use crate::host;
use crate::preflight;
use crate::process::{self, Step};
use crate::tasks::config;

/// The main compose file.
pub const MAIN: &str = "docker-compose.yaml";
/// GPU override: used when Ray workers get GPUs.
pub const GPU: &str = "docker-compose.gpu.override.yaml";
/// Development override (`local-up`): dev image, debugger port, file sync.
pub const DEV: &str = ".devcontainer/docker-compose.override.yaml";
/// PostgreSQL override: a postgres service and the backend pointed at it.
pub const POSTGRES: &str = ".devcontainer/docker-compose-postgres.override.yaml";

/// Files whose absence means the project is not a Lumigator source checkout (build tasks need them).
pub const SOURCES: [&str; 2] = ["Dockerfile", "lumigator/frontend/Dockerfile"];

/// What a task asks Compose to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `up`, with these flags.
    Up { detach: bool, build: bool, watch: bool },
    /// `down`, then remove build/.
    Down,
}

/// One Makefile target that runs Compose after the env step.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The target's name (also the task's name).
    pub name: &'static str,
    /// Whether `--profile local` is given (MinIO, Redis, Ray and MLflow run locally).
    pub local_profile: bool,
    /// Compose files after the GPU override, in order.
    pub files: &'static [&'static str],
    /// What Compose does.
    pub action: Action,
    /// Whether it builds images, and so needs Lumigator's sources.
    pub needs_sources: bool,
    /// Whether it prepares the Python environment first (`uv sync`, pre-commit).
    pub python_setup: bool,
}

const UP_DETACHED: Action = Action::Up { detach: true, build: false, watch: false };
const UP_BUILD: Action = Action::Up { detach: true, build: true, watch: false };

/// The targets, as the Makefile defines them.
pub const TARGETS: [Target; 8] = [
    Target {
        name: "local-up",
        local_profile: true,
        files: &[MAIN, DEV],
        action: Action::Up { detach: false, build: true, watch: true },
        needs_sources: true,
        python_setup: true,
    },
    Target {
        name: "local-down",
        local_profile: true,
        files: &[MAIN, DEV],
        action: Action::Down,
        needs_sources: false,
        python_setup: false,
    },
    Target {
        name: "start-lumigator",
        local_profile: true,
        files: &[MAIN],
        action: UP_DETACHED,
        needs_sources: false,
        python_setup: false,
    },
    Target {
        name: "start-lumigator-postgres",
        local_profile: true,
        files: &[MAIN, POSTGRES],
        action: UP_DETACHED,
        needs_sources: false,
        python_setup: false,
    },
    Target {
        name: "start-lumigator-build",
        local_profile: true,
        files: &[MAIN],
        action: UP_BUILD,
        needs_sources: true,
        python_setup: false,
    },
    Target {
        name: "start-lumigator-build-postgres",
        local_profile: true,
        files: &[MAIN, POSTGRES],
        action: UP_BUILD,
        needs_sources: true,
        python_setup: false,
    },
    Target {
        name: "start-lumigator-external-services",
        local_profile: false,
        files: &[MAIN],
        action: UP_DETACHED,
        needs_sources: false,
        python_setup: false,
    },
    Target {
        name: "stop-lumigator",
        local_profile: true,
        files: &[MAIN, POSTGRES],
        action: Action::Down,
        needs_sources: false,
        python_setup: false,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> &'static Target {
    TARGETS.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no compose target {name}"))
}

/// The Compose command to use: probed for real runs, assumed for dry runs (which run nothing).
fn compose_for(ctx: &Context) -> Result<Compose, TaskError> {
    if ctx.dry_run {
        return Ok(Compose { argv: vec!["docker".into(), "compose".into()], version: "2".into() });
    }
    let compose = docker::require_compose(&ctx.sh)?;
    process::stop_if_interrupted()?;
    Ok(compose)
}

fn require_sources(ctx: &Context, task: &str) -> Result<(), TaskError> {
    let missing: Vec<&str> = SOURCES.iter().copied().filter(|f| !ctx.project.root.join(f).is_file()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(TaskError::Failed(format!(
        "{task} builds Lumigator's images, but {} has no {}: run it in a Lumigator source checkout \
         (or point --project-dir at one), or use start-lumigator to run the published images",
        ctx.project.root.display(),
        missing.join(" or ")
    )))
}

/// The full Compose command line of `target` (after the env step), as the Makefile built it.
pub fn compose_argv(compose: &Compose, env_file: &Path, target: &Target, gpus: bool) -> Vec<String> {
    let mut argv = compose.argv.clone();
    argv.extend(["--env-file".to_string(), env_file.display().to_string()]);
    if target.local_profile {
        argv.extend(["--profile".into(), "local".into()]);
    }
    if gpus {
        argv.extend(["-f".into(), GPU.into()]);
    }
    for file in target.files {
        argv.extend(["-f".into(), file.to_string()]);
    }
    match target.action {
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

/// Runs a compose target: checks, env step, pre-flight, then Compose. `gpus` overrides
/// `RAY_WORKER_GPUS`; `skip_preflight` starts without checking ports and the engine.
pub fn run_target(ctx: &Context, target: &Target, gpus: Option<u32>, skip_preflight: bool) -> Result<(), TaskError> {
    let compose = compose_for(ctx)?;
    if target.needs_sources {
        require_sources(ctx, target.name)?;
    }
    let python_setup = target.python_setup && ctx.project.root.join("pyproject.toml").is_file();
    if python_setup && !ctx.dry_run {
        require_uv(ctx)?;
    }
    let mut lock = ctx.lock_project()?;
    let mut use_gpus = false;
    let config = config::generate_env_with(ctx, |resolved| use_gpus = apply_host_values(resolved, gpus))?;
    process::stop_if_interrupted()?;

    let mut steps = Vec::new();
    if python_setup {
        steps.push(Step::new(&ctx.project.root, vec!["uv".into(), "sync".into()]));
        steps.push(Step::new(&ctx.project.root, ["uv", "run", "pre-commit", "install"].map(String::from).to_vec()));
    }
    let mut compose_step =
        Step::new(&ctx.project.root, compose_argv(&compose, &ctx.project.env_file, target, use_gpus));
    compose_step.env_remove = exported_keys(&config.resolved);
    if !compose_step.env_remove.is_empty() {
        let derived =
            |key: &String| config.resolved.get(key).is_some_and(|e| matches!(e.origin, Origin::Derived { .. }));
        let advice = if compose_step.env_remove.iter().any(derived) {
            "set values in ~/.lumigator/user.conf instead; ARCH, RAY_ARCH_SUFFIX and COMPUTE_TYPE come from \
             the host and RAY_WORKER_GPUS (or --gpus)"
        } else {
            "set values in ~/.lumigator/user.conf instead"
        };
        ctx.ui.warning(format!(
            "not passing {} from your shell to Compose: build/.env is the configuration ({advice})",
            compose_step.env_remove.join(", ")
        ));
    }
    steps.push(compose_step);

    if ctx.dry_run {
        print_steps(ctx, &steps);
        return Ok(());
    }
    let (compose_step, setup) = steps.split_last().unwrap_or_else(|| unreachable!("the compose step is always there"));
    preflight::before_start(ctx, target, compose_step, skip_preflight)?;
    for step in setup {
        let status = step.run(&ctx.sh)?;
        process::stop_if_interrupted()?;
        if !status.success() {
            ctx.ui.error(format!("`{}` failed with exit status {}", step.argv.join(" "), process::exit_code(status)));
            return Err(TaskError::Reported(process::exit_code(status)));
        }
    }
    if target.action != Action::Down && !matches!(target.action, Action::Up { detach: true, .. }) {
        // A foreground stack runs until Ctrl-C: its down task, from another terminal, must not
        // wait for it.
        lock = None;
    }
    let status = compose_step.run(&ctx.sh);
    if target.action == Action::Down {
        // Whatever Compose did, the copy of the key in build/ goes.
        if let Err(err) = build_files::clean(&ctx.project) {
            ctx.ui.warning(err);
        }
    }
    drop(lock);
    let status = status?;
    if status.success() {
        let done = if target.action == Action::Down { "stopped; removed build/" } else { "started" };
        ctx.ui.status(format!("{}: {done}", target.name));
        return Ok(());
    }
    let code = process::exit_code(status);
    ctx.ui.error(format!("Compose failed with exit status {code}"));
    Err(TaskError::Reported(code))
}

/// Adds the host-derived values; returns whether the GPU override is used.
pub fn apply_host_values(resolved: &mut ResolvedConfig, gpus: Option<u32>) -> bool {
    let use_gpus = match gpus {
        Some(count) => {
            resolved.set_derived("RAY_WORKER_GPUS", count.to_string(), "the --gpus flag");
            count >= 1
        }
        None => resolved.get("RAY_WORKER_GPUS").is_some_and(|e| host::wants_gpus(&e.value)),
    };
    for (name, value) in host::derived_variables(use_gpus) {
        resolved.set_derived(name, value, "the host (architecture, GPUs)");
    }
    use_gpus
}

/// The configuration keys exported in our environment. Compose prefers exported variables to
/// `--env-file`, so these are removed from its environment: build/.env stays the one source.
pub fn exported_keys(resolved: &ResolvedConfig) -> Vec<String> {
    resolved.entries.iter().map(|e| e.key.clone()).filter(|k| std::env::var_os(k).is_some()).collect()
}

fn print_steps(ctx: &Context, steps: &[Step]) {
    ctx.ui.status("would run:");
    for step in steps {
        eprint!("{}", step.to_shell());
    }
}

fn require_uv(ctx: &Context) -> Result<(), TaskError> {
    let found = std::process::Command::from(ctx.sh.cmd("uv").arg("--version")).output();
    match found {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err(TaskError::Failed(
            "local-up prepares the Python environment with `uv`, which is not installed: \
             https://docs.astral.sh/uv/getting-started/installation/"
                .into(),
        )),
    }
}

/// `local-logs`: the stack's logs. Uses build/.env when it exists, so Compose can resolve the
/// file without warnings about unset variables.
pub fn logs(ctx: &Context) -> Result<(), TaskError> {
    let compose = compose_for(ctx)?;
    let mut argv = compose.argv.clone();
    if ctx.project.env_file.is_file() {
        argv.extend(["--env-file".to_string(), ctx.project.env_file.display().to_string()]);
    }
    argv.extend(["-f".into(), MAIN.into(), "logs".into()]);
    run_plain(ctx, vec![Step::new(&ctx.project.root, argv)])
}

/// Runs steps in order, stopping at the first failure, with no env step (docker clean-up tasks).
pub fn run_plain(ctx: &Context, steps: Vec<Step>) -> Result<(), TaskError> {
    process::defer_interruptions();
    if ctx.dry_run {
        print_steps(ctx, &steps);
        return Ok(());
    }
    for step in &steps {
        let status = step.run(&ctx.sh)?;
        process::stop_if_interrupted()?;
        if !status.success() {
            let code = process::exit_code(status);
            ctx.ui.error(format!("`{}` failed with exit status {code}", step.argv.join(" ")));
            return Err(TaskError::Reported(code));
        }
    }
    Ok(())
}
