//! Whether this checkout's stack has containers: the ones Compose labelled with this checkout as
//! their project's folder. The Makefile looked for any container whose name starts with
//! `lumigator-`, which also finds another checkout's stack (or a stranger's container).

use std::path::Path;

use crate::context::Context;
use crate::error::TaskError;
use crate::runner::{exit_code, last_line};

/// The label Compose gives each container: the project's folder, as an absolute path.
pub const WORKING_DIR_LABEL: &str = "com.docker.compose.project.working_dir";

/// Which containers to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Running ones (`docker ps`).
    Running,
    /// Stopped ones too (`docker ps -a`): what a start that failed halfway may leave.
    All,
}

/// The names of this checkout's containers. Needs the Docker CLI and a daemon (checked first by
/// the callers, which need them anyway).
pub fn containers(ctx: &Context, which: Which) -> Result<Vec<String>, TaskError> {
    let filter = format!("label={WORKING_DIR_LABEL}");
    let format = format!("{{{{.Names}}}}\t{{{{.Label \"{WORKING_DIR_LABEL}\"}}}}");
    let mut ps = ctx.cmd("docker").args(["ps"]);
    if which == Which::All {
        ps = ps.args(["-a"]);
    }
    let ps = ps.args(["--filter", &filter, "--format", &format]);
    let out = ctx.runner.output(&ps)?;
    if !out.status.success() {
        return Err(TaskError::unmet(
            format!(
                "cannot tell whether this checkout's stack runs: `{}` failed with exit status {} ({})",
                ps.line(),
                exit_code(out.status),
                last_line(&out.stderr)
            ),
            "check that the Docker daemon answers (`cargo xtask doctor`)",
        ));
    }
    Ok(ours(&String::from_utf8_lossy(&out.stdout), &ctx.project.root))
}

/// The names in a `NAME<TAB>FOLDER` listing whose folder is `root` (compared as the same folder,
/// so a path through a symbolic link counts).
fn ours(listing: &str, root: &Path) -> Vec<String> {
    let canonical = |path: &Path| path.canonicalize().ok();
    let root_canonical = canonical(root);
    listing
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, dir)| {
            let dir = Path::new(dir.trim());
            dir == root || (root_canonical.is_some() && canonical(dir) == root_canonical)
        })
        .map(|(name, _)| name.trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::ours;
    use std::path::Path;

    #[test]
    fn only_this_checkouts_containers_count() {
        let root = std::env::temp_dir();
        let listing = format!(
            "lumigator-backend-1\t{}\nlumigator-ray-1\t/somewhere/else\nnot-a-line\nlumigator-redis-1\t{}/.\n",
            root.display(),
            root.display()
        );
        assert_eq!(ours(&listing, &root), ["lumigator-backend-1", "lumigator-redis-1"]);
        assert!(ours("", Path::new("/nowhere")).is_empty());
    }
}
