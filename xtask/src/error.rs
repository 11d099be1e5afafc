//! Why a task failed, as data: what is wrong and what to do about it. Every failure of every task
//! is one of these variants, and [`crate::ui::Ui::error`] is the one place that prints them
//! (`error: what`, then `help: what to do`, as cargo does).
//!
//! A leaf module: it imports nothing of this crate, so every other module can use it.

use std::process::ExitCode;

/// Exit status for a usage error (an argument the task cannot use), as clap uses for its own.
pub const USAGE_EXIT: u8 = 2;

/// Why a task failed.
#[derive(Debug)]
pub enum TaskError {
    /// The configuration library failed: a malformed conf file, an invalid key, a busy project,
    /// a file that cannot be read or written. Its `Display` says what, its `help()` what to do.
    Conf(lumigator_conf::Error),
    /// Something the task needs from this machine is missing or wrong (Docker, Compose, the
    /// daemon, uv, Lumigator's sources, a free port): what a check found, and the fix.
    Unmet {
        /// What is wrong.
        what: String,
        /// What to do about it.
        fix: String,
    },
    /// An argument the task cannot use (`--api-url`, a secret's name, `--project-dir`).
    Usage {
        /// What is wrong with it.
        what: String,
        /// What to give instead.
        fix: String,
    },
    /// The backend of the secret tasks refused or could not be reached.
    Backend {
        /// What happened, in the backend's own words where it gave any.
        what: String,
        /// What to do, when there is something to do.
        fix: Option<String>,
    },
    /// A program the task ran exited with a failure status; the task exits with the same one.
    Command {
        /// The command line, as echoed (never with a secret value: secrets travel in files or
        /// the environment, not in arguments).
        command: String,
        /// Its exit status (128 + N when signal N ended it).
        code: u8,
    },
    /// A program could not be started at all.
    Spawn {
        /// The program.
        program: String,
        /// What the operating system said.
        reason: String,
    },
    /// Reading or writing a file of the task's own (not the configuration's) failed.
    Io {
        /// What we tried, with the path: "cannot read standard input", ...
        what: String,
        /// What the operating system said.
        reason: String,
    },
    /// Another failure, with what to do next added to its own advice: a start that failed after
    /// writing build/.env says how to look at the stack, check the machine and stop what runs.
    /// Prints and exits as the failure it wraps.
    WithHelp {
        /// The failure.
        error: Box<TaskError>,
        /// What to do next (after the failure's own help, if any).
        help: String,
    },
    /// The task already printed why it failed (configuration findings, a doctor table, a JSON
    /// document); exit with this status and print nothing more.
    Reported(u8),
    /// SIGINT or SIGTERM arrived; the task finished the step it was in and stopped.
    Interrupted(u8),
}

impl TaskError {
    /// This failure with `help` added to its advice.
    pub fn with_help(self, help: impl Into<String>) -> Self {
        TaskError::WithHelp { error: Box::new(self), help: help.into() }
    }

    /// A precondition that is not met.
    pub fn unmet(what: impl Into<String>, fix: impl Into<String>) -> Self {
        TaskError::Unmet { what: what.into(), fix: fix.into() }
    }

    /// An argument that cannot be used.
    pub fn usage(what: impl Into<String>, fix: impl Into<String>) -> Self {
        TaskError::Usage { what: what.into(), fix: fix.into() }
    }

    /// What is wrong, in one sentence (no `error:` prefix). `None` when the task already said.
    pub fn what(&self) -> Option<String> {
        Some(match self {
            TaskError::Conf(err) => err.to_string(),
            TaskError::Unmet { what, .. } | TaskError::Usage { what, .. } | TaskError::Backend { what, .. } => {
                what.clone()
            }
            TaskError::Command { command, code } => format!("`{command}` failed with exit status {code}"),
            TaskError::Spawn { program, reason } => format!("cannot run `{program}`: {reason}"),
            TaskError::Io { what, reason } => format!("{what}: {reason}"),
            TaskError::Interrupted(code) => format!("interrupted (exit status {code})"),
            TaskError::WithHelp { error, .. } => return error.what(),
            TaskError::Reported(_) => return None,
        })
    }

    /// What to do about it, when there is advice to give.
    pub fn help(&self) -> Option<String> {
        match self {
            TaskError::Conf(err) => err.help(),
            TaskError::Unmet { fix, .. } | TaskError::Usage { fix, .. } => Some(fix.clone()),
            TaskError::Backend { fix, .. } => fix.clone(),
            TaskError::Spawn { .. } => Some("check that it is installed and on PATH".to_string()),
            // One line each: the failure's own advice first.
            TaskError::WithHelp { error, help } => match error.help() {
                Some(own) => Some(format!("{own}\n{help}")),
                None => Some(help.clone()),
            },
            TaskError::Command { .. } | TaskError::Io { .. } | TaskError::Reported(_) | TaskError::Interrupted(_) => {
                None
            }
        }
    }

    /// The process exit status for this failure (the table is in the README).
    pub fn exit_code(&self) -> u8 {
        match self {
            TaskError::Usage { .. } => USAGE_EXIT,
            TaskError::Command { code, .. } | TaskError::Reported(code) | TaskError::Interrupted(code) => *code,
            TaskError::WithHelp { error, .. } => error.exit_code(),
            _ => 1,
        }
    }

    /// [`TaskError::exit_code`] for `main`.
    pub fn exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }
}

impl From<lumigator_conf::Error> for TaskError {
    fn from(err: lumigator_conf::Error) -> Self {
        TaskError::Conf(err)
    }
}
