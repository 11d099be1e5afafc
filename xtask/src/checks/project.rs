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
