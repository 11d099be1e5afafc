//! Running the stack: the Makefile's Compose targets, with the same command lines (files,
//! profiles, flags, order), for the stack tasks and for any other task that needs the stack (the
//! test tasks start and stop it around integration tests). Deliberate differences from the
//! Makefile: Docker and Compose v2 are checked first, the host-derived
//! variables live in build/.env, configuration keys exported in the shell never reach Compose,
//! down tasks remove build/ even when Compose fails, and `--dry-run` shows everything first.

use lumigator_conf::{Origin, clean as build_files};

use crate::checks;
use crate::cli::ComposeArgs;
use crate::compose::{self, Action, Compose, ComposeTarget};
use crate::context::Context;
use crate::env_step;
use crate::error::TaskError;
use crate::preflight;
use crate::runner::{Cmd, exit_code};
use crate::signals;

/// The Compose command to use: probed for real runs, assumed for dry runs (which run nothing).
pub fn compose_for(ctx: &Context) -> Result<Compose, TaskError> {
    if ctx.dry_run {
        return Ok(Compose::assumed());
    }
    let compose = checks::docker::require_compose(ctx)?;
    signals::stop_if_interrupted()?;
    Ok(compose)
}

/// Runs a compose target: checks, env step, pre-flight, then Compose.
pub fn run_target(ctx: &Context, target: ComposeTarget, args: &ComposeArgs) -> Result<(), TaskError> {
    let spec = target.spec();
    let name = target.name();
    let compose = compose_for(ctx)?;
    if spec.needs_sources {
        let sources = checks::project::sources(ctx, &name);
        if sources.is_problem() {
            return Err(sources.into_error());
        }
    }
    let python_setup = spec.python_setup && ctx.project.root.join("pyproject.toml").is_file();
    if python_setup && !ctx.dry_run {
        checks::project::uv(ctx).require()?;
    }
    let mut lock = ctx.lock_project()?;
    let mut use_gpus = false;
    let config = env_step::generate_env(ctx, |resolved| use_gpus = compose::apply_host_values(resolved, args.gpus))?;
    signals::stop_if_interrupted()?;

    let mut setup = Vec::new();
    if python_setup {
        setup.push(ctx.cmd("uv").args(["sync"]));
        setup.push(ctx.cmd("uv").args(["run", "pre-commit", "install"]));
    }
    let exported = compose::exported_keys(&config.resolved);
    if !exported.is_empty() {
        let derived =
            |key: &String| config.resolved.get(key).is_some_and(|e| matches!(e.origin, Origin::Derived { .. }));
        let advice = if exported.iter().any(derived) {
            "set values in ~/.lumigator/user.conf instead; ARCH, RAY_ARCH_SUFFIX and COMPUTE_TYPE come from \
             the host and RAY_WORKER_GPUS (or --gpus)"
        } else {
            "set values in ~/.lumigator/user.conf instead"
        };
        ctx.ui.warning(format!(
            "not passing {} from your shell to Compose: build/.env is the configuration ({advice})",
            exported.join(", ")
        ));
    }
    let compose_cmd =
        Cmd::from_argv(&ctx.project.root, &compose::compose_argv(&compose, &ctx.project.env_file, target, use_gpus))
            .env_remove(exported);

    if ctx.dry_run {
        let mut steps = setup;
        steps.push(compose_cmd);
        ctx.print_plan(&steps);
        return Ok(());
    }
    preflight::before_start(ctx, target, &compose_cmd, args.skip_preflight)?;
    for step in &setup {
        ctx.runner.run_checked(step)?;
    }
    if matches!(spec.action, Action::Up { detach: false, .. }) {
        // A foreground stack runs until Ctrl-C: its down task, from another terminal, must not
        // wait for it.
        lock = None;
    }
    let status = ctx.runner.run(&compose_cmd);
    if target.stops() {
        // Whatever Compose did, the copy of the key in build/ goes.
        if let Err(err) = build_files::clean(&ctx.project) {
            ctx.ui.warning(err);
        }
    }
    drop(lock);
    let status = status?;
    if status.success() {
        let done = if target.stops() { "stopped; removed build/" } else { "started" };
        ctx.ui.status(format!("{name}: {done}"));
        return Ok(());
    }
    Err(TaskError::Command { command: compose_cmd.line(), code: exit_code(status) })
}

/// `local-logs`: the stack's logs. Uses build/.env when it exists, so Compose can resolve the
/// file without warnings about unset variables.
pub fn logs(ctx: &Context) -> Result<(), TaskError> {
    let compose = compose_for(ctx)?;
    let mut argv = compose.argv.clone();
    if ctx.project.env_file.is_file() {
        argv.extend(["--env-file".to_string(), ctx.project.env_file.display().to_string()]);
    }
    argv.extend(["-f".into(), compose::target::MAIN.into(), "logs".into()]);
    ctx.run_steps(&[Cmd::from_argv(&ctx.project.root, &argv)])
}
