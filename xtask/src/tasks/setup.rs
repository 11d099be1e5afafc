//! `setup`: a Python environment for each of Lumigator's packages and for the root, made with uv
//! as `scripts/setup_uv.sh` made them. Unlike the script it never installs or updates uv itself
//! (that meant piping a download into a shell, and asking GitHub for the latest release): without
//! uv it says how to install it and stops. And it keeps an existing `.venv`, which it syncs.

use std::fs;
use std::path::{Path, PathBuf};

use crate::checks;
use crate::context::Context;
use crate::error::TaskError;
use crate::runner::Cmd;
use crate::signals;

/// Where the packages are, under the checkout's root.
const PACKAGES: &str = "lumigator";

/// A folder skipped by the search: a virtual environment's own packages are not projects.
const VENV: &str = ".venv";

/// Runs `setup`.
pub fn run(ctx: &Context) -> Result<(), TaskError> {
    signals::defer_interruptions();
    if !ctx.dry_run {
        checks::project::require_uv(ctx, "setup creates the Python environments with it")?;
    }
    let root = &ctx.project.root;
    let mut projects = Vec::new();
    find_projects(&root.join(PACKAGES), &mut projects);
    projects.sort();
    let root_project = root.join("pyproject.toml").is_file();
    let total = projects.len() + usize::from(root_project);
    if total == 0 {
        return Err(TaskError::unmet(
            format!("{} has no pyproject.toml, at its root or under {PACKAGES}/", root.display()),
            "run it in a Lumigator source checkout, or point --project-dir at one",
        ));
    }
    let mut plan = Vec::new();
    for (index, project) in projects.iter().enumerate() {
        let shown = project.strip_prefix(root).unwrap_or(project).display().to_string();
        let mut steps = Vec::new();
        // From the root, as the script ran it. An existing environment is kept (the sync brings
        // it up to date): uv no longer replaces one without `--clear`, so the script's `uv venv`
        // failed on every run after the first.
        if !project.join(VENV).exists() {
            steps.push(ctx.cmd("uv").args(["venv".to_string(), format!("{shown}/{VENV}")]));
        }
        steps.push(Cmd::new(project, "uv").args(["sync"]));
        steps.push(Cmd::new(project, "uv").args(["sync", "--dev"]));
        step(ctx, &format!("setup: {shown} ({} of {total})", index + 1), steps, &mut plan)?;
    }
    if root_project {
        let steps = vec![ctx.cmd("uv").args(["sync"]), ctx.cmd("uv").args(["sync", "--dev"])];
        step(ctx, &format!("setup: the root project ({total} of {total})"), steps, &mut plan)?;
    }
    if ctx.dry_run {
        ctx.print_plan(&plan);
    } else {
        ctx.ui.status(format!("setup: {total} Python environments ready"));
    }
    Ok(())
}

/// One project's steps: run now, or added to the dry run's plan.
fn step(ctx: &Context, progress: &str, steps: Vec<Cmd>, plan: &mut Vec<Cmd>) -> Result<(), TaskError> {
    if ctx.dry_run {
        plan.extend(steps);
        return Ok(());
    }
    ctx.ui.status(progress);
    for cmd in &steps {
        ctx.runner.run_checked(cmd)?;
    }
    Ok(())
}

/// Folders under `dir` holding a `pyproject.toml`, not inside a `.venv` (symbolic links are not
/// followed: a link back up would loop).
fn find_projects(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    if dir.join("pyproject.toml").is_file() {
        found.push(dir.to_path_buf());
    }
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && entry.file_name() != VENV {
            find_projects(&entry.path(), found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_outside_virtual_environments() {
        let root = std::env::temp_dir().join(format!("xtask-setup-{}", std::process::id()));
        for dir in ["lumigator/schemas", "lumigator/sdk/.venv/lib/pkg", "lumigator/backend", "lumigator/jobs/x"] {
            fs::create_dir_all(root.join(dir)).expect("mkdir");
        }
        for file in ["lumigator/schemas", "lumigator/sdk", "lumigator/sdk/.venv/lib/pkg", "lumigator/backend"] {
            fs::write(root.join(file).join("pyproject.toml"), "").expect("write");
        }
        let mut found = Vec::new();
        find_projects(&root.join("lumigator"), &mut found);
        found.sort();
        let shown: Vec<String> =
            found.iter().map(|p| p.strip_prefix(&root).expect("under root").display().to_string()).collect();
        assert_eq!(shown, ["lumigator/backend", "lumigator/schemas", "lumigator/sdk"]);
        fs::remove_dir_all(&root).expect("clean up");
    }
}
