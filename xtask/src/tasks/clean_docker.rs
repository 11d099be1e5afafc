//! The Makefile's `clean-docker-*` targets: Docker build cache, Lumigator's containers and images.

use crate::context::{Context, TaskError};
use crate::docker;
use crate::process::{self, Step};
use crate::tasks::compose::run_plain;

/// `docker container prune` filter for Lumigator's containers.
const CONTAINER_FILTER: &str = "label=ai.mozilla.product_name=lumigator";
/// Lumigator's published images.
const IMAGE_REFERENCE: &str = "mzdotai/*";

fn docker_step(ctx: &Context, args: &[&str]) -> Step {
    let mut argv = vec!["docker".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    Step::new(&ctx.project.root, argv)
}

fn require_docker(ctx: &Context) -> Result<(), TaskError> {
    if ctx.dry_run {
        return Ok(());
    }
    docker::require_docker_cli(&ctx.sh)?;
    docker::require_daemon(&ctx.sh)?;
    process::stop_if_interrupted()
}

fn with_yes(mut args: Vec<&'static str>, yes: bool) -> Vec<&'static str> {
    if yes {
        args.push("-f");
    }
    args
}

fn buildcache_steps(ctx: &Context) -> Vec<Step> {
    vec![docker_step(ctx, &["builder", "prune", "--all", "-f"])]
}

fn containers_steps(ctx: &Context, yes: bool) -> Vec<Step> {
    vec![docker_step(ctx, &with_yes(vec!["container", "prune", "--filter", CONTAINER_FILTER], yes))]
}

fn images_steps(ctx: &Context, yes: bool) -> Result<Vec<Step>, TaskError> {
    let mut steps = Vec::new();
    let images = if ctx.dry_run {
        vec![format!("<each image listed by: docker image ls --filter reference={IMAGE_REFERENCE}>")]
    } else {
        list_images(ctx)?
    };
    if !images.is_empty() {
        let mut argv = vec!["docker".to_string(), "rmi".to_string()];
        argv.extend(images);
        steps.push(Step::new(&ctx.project.root, argv));
    }
    steps.push(docker_step(ctx, &with_yes(vec!["image", "prune"], yes)));
    Ok(steps)
}

fn list_images(ctx: &Context) -> Result<Vec<String>, TaskError> {
    let reference = format!("reference={IMAGE_REFERENCE}");
    let format = "{{.Repository}}:{{.Tag}}";
    let listing = xshell::cmd!(ctx.sh, "docker image ls --filter {reference} --format {format}")
        .quiet()
        .read()
        .map_err(|err| TaskError::Failed(format!("cannot list Lumigator's images: {err}")))?;
    let mut images: Vec<String> = listing.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    images.dedup();
    Ok(images)
}

/// `clean-docker-buildcache`.
pub fn buildcache(ctx: &Context) -> Result<(), TaskError> {
    require_docker(ctx)?;
    run_plain(ctx, buildcache_steps(ctx))
}

/// `clean-docker-containers`.
pub fn containers(ctx: &Context, yes: bool) -> Result<(), TaskError> {
    require_docker(ctx)?;
    run_plain(ctx, containers_steps(ctx, yes))
}

/// `clean-docker-images`.
pub fn images(ctx: &Context, yes: bool) -> Result<(), TaskError> {
    require_docker(ctx)?;
    run_plain(ctx, images_steps(ctx, yes)?)
}

/// `clean-docker-all`: the three above, stopping at the first failure.
pub fn all(ctx: &Context, yes: bool) -> Result<(), TaskError> {
    require_docker(ctx)?;
    run_plain(ctx, buildcache_steps(ctx))?;
    run_plain(ctx, containers_steps(ctx, yes))?;
    run_plain(ctx, images_steps(ctx, yes)?)
}
