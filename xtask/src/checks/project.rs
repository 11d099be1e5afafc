//! What the project and the machine need for the tasks that build or prepare Python: Lumigator's
//! sources and uv.

use crate::compose::target::SOURCES;
use crate::context::Context;
use crate::runner::first_line;
use crate::verdict::{Checked, Verdict};

/// Where uv's official installation instructions are.
pub const INSTALL_UV: &str = "install it: https://docs.astral.sh/uv/getting-started/installation/";

/// Whether the project holds Lumigator's sources (its Dockerfiles), which `task` builds from.
pub fn sources(ctx: &Context, task: &str) -> Verdict {
    let missing: Vec<&str> = SOURCES.iter().copied().filter(|f| !ctx.project.root.join(f).is_file()).collect();
    if missing.is_empty() {
        return Verdict::ok(SOURCES.join(" and "));
    }
    Verdict::problem(
        format!(
            "{} has no {}; {task} builds Lumigator's images from them",
            ctx.project.root.display(),
            missing.join(" or ")
        ),
        "run it in a Lumigator source checkout (or point --project-dir at one), or use start-lumigator to run \
         the published images",
    )
}

/// Whether uv is installed, and its version.
pub fn uv(ctx: &Context) -> Checked<String> {
    match ctx.runner.output(&ctx.cmd("uv").args(["--version"])) {
        Ok(out) if out.status.success() => {
            let version = first_line(&out.stdout);
            Checked::ok(version.clone(), version)
        }
        _ => Checked::failed(Verdict::problem(
            "`uv` is not installed; the task prepares the Python environment with it",
            INSTALL_UV,
        )),
    }
}

/// How to install uv, as the commands uv's documentation gives (the installer script is
/// downloaded to a file to be read and run by the user, never piped into a shell by us).
pub const INSTALL_UV_COMMANDS: &str = "install uv with one of these, then run the task again:
      pipx install uv                                  (or `pip install --user uv`)
      brew install uv                                  (macOS, Homebrew)
      curl -LsSf https://astral.sh/uv/install.sh -o uv-install.sh && sh uv-install.sh
  (the last is uv's official installer: read it before running it; more ways at
  https://docs.astral.sh/uv/getting-started/installation/)";

/// uv's version for a task that cannot start without it: one message saying `why` it is needed
/// and how to install it, before the task runs anything.
pub fn require_uv(ctx: &Context, why: &str) -> Result<String, crate::error::TaskError> {
    uv(ctx).require().map_err(|_| {
        crate::error::TaskError::unmet(format!("`uv` is not installed (no `uv` on PATH); {why}"), INSTALL_UV_COMMANDS)
    })
}
