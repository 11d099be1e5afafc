//! The Makefile's `clean-docker-*` targets (Docker build cache, Lumigator's containers and
//! images) and `clean-all`.

use crate::checks;
use crate::cli::DockerCleanTask;
use crate::context::Context;
use crate::env_step;
use crate::error::TaskError;
use crate::runner::Cmd;
use crate::signals;

/// `docker container prune` filter for Lumigator's containers.
const CONTAINER_FILTER: &str = "label=ai.mozilla.product_name=lumigator";
/// Lumigator's published images.
const IMAGE_REFERENCE: &str = "mzdotai/*";

/// Runs a clean-docker task.
pub fn run(ctx: &Context, task: &DockerCleanTask) -> Result<(), TaskError> {
    if !ctx.dry_run {
        checks::docker::require_docker(ctx)?;
        signals::stop_if_interrupted()?;
    }
    match task {
        DockerCleanTask::Buildcache => ctx.run_steps(&[buildcache(ctx)]),
        DockerCleanTask::Containers(args) => ctx.run_steps(&[containers(ctx, args.yes)]),
        DockerCleanTask::Images(args) => ctx.run_steps(&images(ctx, args.yes)?),
        DockerCleanTask::All(args) => {
            ctx.run_steps(&[buildcache(ctx)])?;
            ctx.run_steps(&[containers(ctx, args.yes)])?;
            ctx.run_steps(&images(ctx, args.yes)?)
        }
    }
}

/// `clean-all`: as the Makefile, the build cache, then Lumigator's stopped containers, then
/// build/ (config-clean). Stops at the first failure.
pub fn all(ctx: &Context, yes: bool) -> Result<(), TaskError> {
    if !ctx.dry_run {
        checks::docker::require_docker(ctx)?;
        signals::stop_if_interrupted()?;
    }
    ctx.run_steps(&[buildcache(ctx), containers(ctx, yes)])?;
    env_step::remove_build(ctx)
}

fn with_yes(cmd: Cmd, yes: bool) -> Cmd {
    if yes { cmd.args(["-f"]) } else { cmd }
}

fn buildcache(ctx: &Context) -> Cmd {
    ctx.cmd("docker").args(["builder", "prune", "--all", "-f"])
}

fn containers(ctx: &Context, yes: bool) -> Cmd {
    with_yes(ctx.cmd("docker").args(["container", "prune", "--filter", CONTAINER_FILTER]), yes)
}

fn images(ctx: &Context, yes: bool) -> Result<Vec<Cmd>, TaskError> {
    let mut steps = Vec::new();
    let images = if ctx.dry_run {
        vec![format!("<each image listed by: docker image ls --filter reference={IMAGE_REFERENCE}>")]
    } else {
        list_images(ctx)?
    };
    if !images.is_empty() {
        steps.push(ctx.cmd("docker").args(["rmi".to_string()].into_iter().chain(images)));
    }
    steps.push(with_yes(ctx.cmd("docker").args(["image", "prune"]), yes));
    Ok(steps)
}

fn list_images(ctx: &Context) -> Result<Vec<String>, TaskError> {
    let reference = format!("reference={IMAGE_REFERENCE}");
    let ls = ctx.cmd("docker").args(["image", "ls", "--filter", &reference, "--format", "{{.Repository}}:{{.Tag}}"]);
    let out = ctx.runner.output(&ls)?;
    if !out.status.success() {
        return Err(TaskError::Command { command: ls.line(), code: crate::runner::exit_code(out.status) });
    }
    let listing = String::from_utf8_lossy(&out.stdout);
    let mut images: Vec<String> = listing.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    images.dedup();
    Ok(images)
}
