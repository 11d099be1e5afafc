//! What every task works with: the project, the user's files, the messages, the runner, and the
//! dry-run switch.

use std::path::{Path, PathBuf};

use lumigator_conf::lock::ProjectLock;
use lumigator_conf::{ProjectPaths, UserPaths};

use crate::cli::GlobalArgs;
use crate::error::TaskError;
use crate::runner::{Cmd, Echo, Runner};
use crate::signals;
use crate::ui::Ui;

/// Shared state of one `cargo xtask` run, built once from the global arguments.
pub struct Context {
    /// The Lumigator checkout the tasks work on.
    pub project: ProjectPaths,
    /// `~/.lumigator` and its files.
    pub user: UserPaths,
    /// Message output.
    pub ui: Ui,
    /// Print instead of doing.
    pub dry_run: bool,
    /// Runs commands.
    pub runner: Runner,
}

/// This workspace's root, found once from where Cargo built us.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

impl Context {
    /// The context for `args`: the project must hold a `.default.conf`.
    pub fn new(args: &GlobalArgs) -> Result<Self, TaskError> {
        let ui = Ui::new(args.quiet);
        let root = match &args.project_dir {
            Some(dir) => std::path::absolute(dir).map_err(|err| {
                TaskError::usage(
                    format!("{}: cannot use as --project-dir: {err}", dir.display()),
                    "give a folder that exists",
                )
            })?,
            None => workspace_root(),
        };
        let project = ProjectPaths::new(&root);
        // Only "is there anything": a .default.conf that is a directory or a FIFO is reported,
        // with what it is, when it is read.
        if std::fs::symlink_metadata(&project.default_conf).is_err() {
            return Err(TaskError::usage(
                format!("{}: no .default.conf here", root.display()),
                "--project-dir must point at a Lumigator checkout",
            ));
        }
        let user = UserPaths::from_home()?;
        let echo = match (args.quiet, args.verbose) {
            (true, _) => Echo::Quiet,
            (false, true) => Echo::Verbose,
            (false, false) => Echo::Normal,
        };
        Ok(Context { project, user, ui, dry_run: args.dry_run, runner: Runner::new(echo, ui) })
    }

    /// Takes the project's lock for a task that writes build/ or runs Compose; a dry run, which
    /// changes nothing, takes none. Fails at once when another task holds it.
    pub fn lock_project(&self) -> Result<Option<ProjectLock>, TaskError> {
        if self.dry_run {
            return Ok(None);
        }
        Ok(Some(ProjectLock::try_acquire(&self.project)?))
    }

    /// A command run from the project's root.
    pub fn cmd(&self, program: &str) -> Cmd {
        Cmd::new(&self.project.root, program)
    }

    /// Runs `steps` in order, stopping at the first failure (with its status), or with
    /// `--dry-run` prints them as the plan on stdout and runs nothing.
    pub fn run_steps(&self, steps: &[Cmd]) -> Result<(), TaskError> {
        signals::defer_interruptions();
        if self.dry_run {
            self.print_plan(steps);
            return Ok(());
        }
        for step in steps {
            self.runner.run_checked(step)?;
        }
        Ok(())
    }

    /// `steps` as the plan of a dry run, on stdout.
    pub fn print_plan(&self, steps: &[Cmd]) {
        let mut plan = String::from("would run:\n");
        for step in steps {
            plan.push_str(&step.to_shell());
        }
        self.ui.out(plan);
    }
}
