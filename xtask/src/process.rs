//! Running external commands: printing them for `--dry-run`, streaming their output, propagating
//! their exit status, and letting Ctrl-C reach them rather than us.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use xshell::Shell;

use crate::context::TaskError;

/// One command line with the environment changes it needs, run from a given directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The directory it runs in.
    pub cwd: PathBuf,
    /// Variables removed from its environment.
    pub env_remove: Vec<String>,
    /// The program and its arguments.
    pub argv: Vec<String>,
}

impl Step {
    /// `argv` run in `cwd` with the inherited environment.
    pub fn new(cwd: &Path, argv: Vec<String>) -> Self {
        Step { cwd: cwd.to_path_buf(), env_remove: Vec::new(), argv }
    }

    /// The step as shell lines that can be pasted: `cd`, `unset`, then the command.
    pub fn to_shell(&self) -> String {
        let mut out = format!("cd {}\n", quote(&self.cwd.display().to_string()));
        if !self.env_remove.is_empty() {
            out.push_str(&format!("unset {}\n", self.env_remove.join(" ")));
        }
        let words: Vec<Cow<str>> = self.argv.iter().map(|w| quote(w)).collect();
        out.push_str(&words.join(" "));
        out.push('\n');
        out
    }

    fn command(&self, sh: &Shell) -> Command {
        let mut cmd = sh.cmd(&self.argv[0]).args(&self.argv[1..]);
        for name in &self.env_remove {
            cmd = cmd.env_remove(name);
        }
        let mut command = Command::from(cmd);
        command.current_dir(&self.cwd);
        command
    }

    /// Runs the step with inherited stdio and waits for it. A SIGINT reaches the child directly
    /// (same process group); a SIGTERM sent to us alone is passed on to the child. Either way we
    /// wait for the child to finish, so the caller can clean up and report its status.
    pub fn run(&self, sh: &Shell) -> Result<ExitStatus, TaskError> {
        let mut child = self.command(sh).spawn().map_err(|err| spawn_error(&self.argv[0], &err))?;
        let mut forwarded = false;
        loop {
            if let Some(status) =
                child.try_wait().map_err(|err| TaskError::Failed(format!("waiting for {}: {err}", self.argv[0])))?
            {
                return Ok(status);
            }
            if !forwarded && interrupted() == Some(SIGTERM) {
                forwarded = true;
                // std can only SIGKILL a child; Compose deserves the chance to stop cleanly. An
                // absolute path: PATH may not hold `kill`, and /bin/kill exists on Linux and macOS.
                let _ = Command::new("/bin/kill").args(["-TERM", &child.id().to_string()]).status();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn spawn_error(program: &str, err: &std::io::Error) -> TaskError {
    if err.kind() == std::io::ErrorKind::NotFound {
        TaskError::Failed(format!("`{program}` is not installed or not on PATH"))
    } else {
        TaskError::Failed(format!("cannot run `{program}`: {err}"))
    }
}

/// The exit code to report for a child's status: its own code, or 128 + the signal that killed it.
pub fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        (None, None) => 1,
    }
}

/// Quotes `word` for a POSIX shell when it needs it.
pub fn quote(word: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}

static SIGNAL: std::sync::OnceLock<Arc<AtomicUsize>> = std::sync::OnceLock::new();

/// Catches SIGINT and SIGTERM for the rest of the run: instead of dying halfway through writing a
/// file or while Compose is stopping, the task finishes the step it is in and then stops. Handled
/// signals are reset to their defaults in children, so Compose still receives Ctrl-C normally.
/// Calling it again changes nothing. Tasks that wait for the user (secret-set's prompt) do not
/// call it, so Ctrl-C stops them at once.
pub fn defer_interruptions() {
    SIGNAL.get_or_init(|| {
        let flag = Arc::new(AtomicUsize::new(0));
        for signal in [SIGINT, SIGTERM] {
            // Registration fails only for forbidden signals; these two are always allowed.
            let _ = signal_hook::flag::register_usize(signal, Arc::clone(&flag), signal as usize);
        }
        flag
    });
}

/// The signal received since [`defer_interruptions`], if any.
pub fn interrupted() -> Option<i32> {
    let signal = SIGNAL.get()?.load(Ordering::SeqCst);
    (signal != 0).then_some(signal as i32)
}

/// Fails with the conventional exit code when a signal arrived, so a task stops between steps.
pub fn stop_if_interrupted() -> Result<(), TaskError> {
    match interrupted() {
        Some(signal) => Err(TaskError::Interrupted(u8::try_from(128 + signal).unwrap_or(130))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("docker-compose.yaml"), "docker-compose.yaml");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
