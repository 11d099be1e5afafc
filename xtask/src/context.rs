//! What every task works with: the project, the user's files, the UI, and the dry-run switch.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lumigator_conf::{ProjectPaths, UserPaths};

use crate::cli::GlobalArgs;
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
    /// Runs commands from the project root.
    pub sh: xshell::Shell,
}

/// This workspace's root, found once from where Cargo built us.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

impl Context {
    pub fn new(args: &GlobalArgs, ui: Ui) -> Result<Self, TaskError> {
        let root = match &args.project_dir {
            Some(dir) => std::path::absolute(dir)
                .map_err(|err| TaskError::Failed(format!("{}: cannot use as --project-dir: {err}", dir.display())))?,
            None => workspace_root(),
        };
        let project = ProjectPaths::new(&root);
        // Only "is there anything": a .default.conf that is a directory or a FIFO is reported,
        // with what it is, when it is read.
        if std::fs::symlink_metadata(&project.default_conf).is_err() {
            return Err(TaskError::Failed(format!(
                "{}: no .default.conf here; --project-dir must point at a Lumigator checkout",
                root.display()
            )));
        }
        let user = UserPaths::from_home()?;
        let sh = xshell::Shell::new().map_err(|err| TaskError::Failed(format!("cannot start: {err}")))?;
        sh.change_dir(&project.root);
        Ok(Context { project, user, ui, dry_run: args.dry_run, sh })
    }
}

impl Context {
    /// Takes the project's lock for a task that writes build/ or runs Compose; a dry run, which
    /// changes nothing, takes none. Fails at once when another task holds it.
    pub fn lock_project(&self) -> Result<Option<lumigator_conf::lock::ProjectLock>, TaskError> {
        if self.dry_run {
            return Ok(None);
        }
        Ok(Some(lumigator_conf::lock::ProjectLock::try_acquire(&self.project)?))
    }
}

/// Why a task failed.
#[derive(Debug)]
pub enum TaskError {
    /// The configuration library failed.
    Conf(lumigator_conf::Error),
    /// A failure described in one message.
    Failed(String),
    /// The task already printed why it failed; exit with this code.
    Reported(u8),
    /// A signal stopped the task between two steps; exit with 128 + the signal.
    Interrupted(u8),
}

impl TaskError {
    /// Whether the task already told the user.
    pub fn already_reported(&self) -> bool {
        matches!(self, TaskError::Reported(_))
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            TaskError::Reported(code) | TaskError::Interrupted(code) => ExitCode::from(*code),
            _ => ExitCode::FAILURE,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Conf(err) => err.fmt(f),
            TaskError::Failed(message) => f.write_str(message),
            TaskError::Reported(code) => write!(f, "failed with exit status {code}"),
            TaskError::Interrupted(code) => write!(f, "interrupted (exit status {code})"),
        }
    }
}

impl From<lumigator_conf::Error> for TaskError {
    fn from(err: lumigator_conf::Error) -> Self {
        TaskError::Conf(err)
    }
}
