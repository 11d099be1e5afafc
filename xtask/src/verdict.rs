//! The outcome of one check, shared by the tasks and `doctor`: each check in [`crate::checks`] and
//! [`crate::preflight`] is written once and returns a [`Verdict`] (or a [`Checked`] value with
//! its verdict). `doctor` prints it as a row; a task turns a problem into its
//! [`TaskError`] with [`Checked::require`] or [`Verdict::into_error`]. No message is ever parsed
//! back apart: the problem and its fix travel as separate fields.

use crate::error::TaskError;

/// How a check came out, from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Not checked, because something it depends on is missing (that has its own row).
    Skipped,
    /// The task starts, but something may go wrong later.
    Warning,
    /// The task would not start, or would fail halfway.
    Problem,
}

impl Status {
    /// The word used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Warning => "warning",
            Status::Problem => "problem",
        }
    }
}

/// The outcome of one check, in the user's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Ok, warning, problem...
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it (for warnings and problems).
    pub fix: Option<String>,
}

impl Verdict {
    /// A check that passed.
    pub fn ok(detail: impl Into<String>) -> Self {
        Verdict { status: Status::Ok, detail: detail.into(), fix: None }
    }

    /// A check that found a problem: the task would not start.
    pub fn problem(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Verdict { status: Status::Problem, detail: detail.into(), fix: Some(fix.into()) }
    }

    /// A check that found something to look at; the task still starts.
    pub fn warning(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Verdict { status: Status::Warning, detail: detail.into(), fix: Some(fix.into()) }
    }

    /// A check that could not run.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Verdict { status: Status::Skipped, detail: reason.into(), fix: None }
    }

    /// Whether the task cannot go on.
    pub fn is_problem(&self) -> bool {
        self.status == Status::Problem
    }

    /// The verdict as a task's error: what was found, and the fix.
    pub fn into_error(self) -> TaskError {
        TaskError::Unmet { what: self.detail, fix: self.fix.unwrap_or_default() }
    }
}

/// A check that, when it passes, also found something the task uses (the Compose command, the
/// engine's resources, uv's version).
#[derive(Clone, Debug)]
pub struct Checked<T> {
    /// The outcome, for doctor's row.
    pub verdict: Verdict,
    /// What was found; `None` exactly when the verdict is a problem or the check was skipped.
    pub value: Option<T>,
}

impl<T> Checked<T> {
    /// A check that passed and found `value`.
    pub fn ok(value: T, detail: impl Into<String>) -> Self {
        Checked { verdict: Verdict::ok(detail), value: Some(value) }
    }

    /// A check that failed.
    pub fn failed(verdict: Verdict) -> Self {
        Checked { verdict, value: None }
    }

    /// For tasks: what the check found, or its problem as the task's error.
    pub fn require(self) -> Result<T, TaskError> {
        match self.value {
            Some(value) => Ok(value),
            None => Err(self.verdict.into_error()),
        }
    }

    /// Whether the check passed.
    pub fn passed(&self) -> bool {
        self.value.is_some()
    }
}
