//! The one way this crate runs a program: a [`Cmd`] (program, arguments, folder, environment
//! changes) handed to the [`Runner`], which echoes it on stderr as make did, then either runs it
//! with the terminal ([`Runner::run`]: its status, signals passed on) or captures its output
//! ([`Runner::output`], [`Runner::start`]).
//!
//! Processes are started with duct, which gives a handle on a running child (to pass SIGTERM on and
//! to wait with a timeout) and captures output without deadlocks; see the README for why duct and
//! not xshell.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output};
use std::time::Duration;

use crate::error::TaskError;
use crate::signals;
use crate::ui::Ui;

/// A variable a command gets. Secret ones (the key, passwords) are never echoed with their value.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Whether the value must not be shown.
    pub secret: bool,
}

impl fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.secret { lumigator_conf::REDACTED } else { &self.value };
        write!(f, "{}={value:?}", self.name)
    }
}

/// One command line with the environment changes it needs, run from a given folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The folder it runs in.
    pub cwd: PathBuf,
    /// Variables removed from its environment.
    pub env_remove: Vec<String>,
    /// Variables set in its environment (after the removals).
    pub env: Vec<EnvVar>,
}

impl Cmd {
    /// `program` with no arguments, run in `cwd` with the inherited environment.
    pub fn new(cwd: &Path, program: impl Into<String>) -> Self {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.to_path_buf(),
            env_remove: Vec::new(),
            env: Vec::new(),
        }
    }

    /// `argv[0]` with the rest of `argv` as arguments.
    pub fn from_argv(cwd: &Path, argv: &[String]) -> Self {
        let mut cmd = Cmd::new(cwd, argv.first().cloned().unwrap_or_default());
        cmd.args = argv.iter().skip(1).cloned().collect();
        cmd
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets variables, each shown or hidden as it says.
    pub fn envs(mut self, vars: impl IntoIterator<Item = EnvVar>) -> Self {
        self.env.extend(vars);
        self
    }

    /// Removes variables from the environment.
    pub fn env_remove(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.env_remove.extend(names);
        self
    }

    /// The program and its arguments.
    pub fn argv(&self) -> Vec<&str> {
        std::iter::once(self.program.as_str()).chain(self.args.iter().map(String::as_str)).collect()
    }

    /// The command line, shell-quoted, on one line.
    pub fn line(&self) -> String {
        self.argv().iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
    }

    /// The command as shell lines that can be pasted: `cd`, `unset`, the variables it sets (secret
    /// values redacted), then the command.
    pub fn to_shell(&self) -> String {
        let mut out = format!("cd {}\n", quote(&self.cwd.display().to_string()));
        if !self.env_remove.is_empty() {
            out.push_str(&format!("unset {}\n", self.env_remove.join(" ")));
        }
        for var in &self.env {
            let value = if var.secret { lumigator_conf::REDACTED } else { &var.value };
            out.push_str(&format!("export {}={}\n", var.name, quote(value)));
        }
        out.push_str(&self.line());
        out.push('\n');
        out
    }

    fn expression(&self) -> duct::Expression {
        let mut expression = duct::cmd(&self.program, &self.args).dir(&self.cwd).unchecked();
        for name in &self.env_remove {
            expression = expression.env_remove(name);
        }
        for var in &self.env {
            expression = expression.env(&var.name, &var.value);
        }
        expression
    }
}

/// How much the runner says about the commands it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Echo {
    /// Nothing (`--quiet`).
    Quiet,
    /// Each command the task runs for the user, as make did.
    Normal,
    /// Each command, probes included, with its folder and environment changes (`--verbose`).
    Verbose,
}

/// Runs commands, echoing them on stderr first.
#[derive(Clone, Copy, Debug)]
pub struct Runner {
    echo: Echo,
    ui: Ui,
}

impl Runner {
    /// A runner that echoes at `echo` through `ui`.
    pub fn new(echo: Echo, ui: Ui) -> Self {
        Runner { echo, ui }
    }

    fn announce(&self, cmd: &Cmd, probe: bool) {
        let shown = match self.echo {
            Echo::Quiet => false,
            Echo::Normal => !probe,
            Echo::Verbose => true,
        };
        if !shown {
            return;
        }
        if self.echo == Echo::Verbose {
            let mut changes = vec![format!("in {}", cmd.cwd.display())];
            if !cmd.env_remove.is_empty() {
                changes.push(format!("unset {}", cmd.env_remove.join(" ")));
            }
            for var in &cmd.env {
                let value = if var.secret { Cow::Borrowed(lumigator_conf::REDACTED) } else { quote(&var.value) };
                changes.push(format!("{}={value}", var.name));
            }
            self.ui.command(&cmd.line(), Some(&changes.join(", ")));
        } else {
            self.ui.command(&cmd.line(), None);
        }
    }

    /// Runs `cmd` with the terminal (stdin, stdout and stderr inherited) and waits for it. A
    /// SIGINT reaches the child directly (same process group); a SIGTERM sent to us alone is
    /// passed on to it. Either way we wait for the child to finish, so the caller can clean up and
    /// report its status.
    pub fn run(&self, cmd: &Cmd) -> Result<ExitStatus, TaskError> {
        self.announce(cmd, false);
        let handle = cmd.expression().start().map_err(|err| spawn_error(&cmd.program, &err))?;
        let mut forwarded = false;
        loop {
            let waited = handle.wait_timeout(Duration::from_millis(20));
            match waited {
                Ok(Some(output)) => return Ok(output.status),
                Ok(None) => {}
                Err(err) => {
                    return Err(TaskError::Io {
                        what: format!("waiting for `{}`", cmd.program),
                        reason: err.to_string(),
                    });
                }
            }
            if !forwarded && signals::terminated() {
                forwarded = true;
                // std and duct can only SIGKILL a child; Compose deserves the chance to stop
                // cleanly. An absolute path: PATH may not hold `kill`, and /bin/kill exists on
                // Linux and macOS.
                for pid in handle.pids() {
                    let _ = std::process::Command::new("/bin/kill").args(["-TERM", &pid.to_string()]).status();
                }
            }
        }
    }

    /// Runs `cmd` like [`Runner::run`] and turns a failure status into [`TaskError::Command`].
    pub fn run_checked(&self, cmd: &Cmd) -> Result<(), TaskError> {
        let status = self.run(cmd)?;
        signals::stop_if_interrupted()?;
        if status.success() { Ok(()) } else { Err(TaskError::Command { command: cmd.line(), code: exit_code(status) }) }
    }

    /// Runs `cmd` with no input and its output captured (a probe: echoed only with `--verbose`).
    pub fn output(&self, cmd: &Cmd) -> Result<Output, TaskError> {
        self.start(cmd)?.finish()
    }

    /// Starts `cmd` like [`Runner::output`] without waiting, so that two probes run at once.
    pub fn start(&self, cmd: &Cmd) -> Result<Started, TaskError> {
        self.announce(cmd, true);
        let handle = cmd
            .expression()
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .start()
            .map_err(|err| spawn_error(&cmd.program, &err))?;
        Ok(Started { handle, program: cmd.program.clone() })
    }
}

/// A probe started by [`Runner::start`].
pub struct Started {
    handle: duct::Handle,
    program: String,
}

impl Started {
    /// Waits at most `limit` for it: a probe that hangs (a daemon that stopped answering) is
    /// killed and reported instead of holding the task.
    pub fn finish_within(self, limit: Duration) -> Result<Output, TaskError> {
        match self.handle.wait_timeout(limit) {
            Ok(Some(_)) => self.finish(),
            Ok(None) => {
                let _ = self.handle.kill();
                Err(TaskError::Io {
                    what: format!("`{}` did not answer within {} s", self.program, limit.as_secs_f64().ceil()),
                    reason: "stopped it".to_string(),
                })
            }
            Err(err) => Err(TaskError::Io { what: format!("waiting for `{}`", self.program), reason: err.to_string() }),
        }
    }

    /// Waits for it and returns what it printed.
    pub fn finish(self) -> Result<Output, TaskError> {
        self.handle.into_output().map_err(|err| TaskError::Io {
            what: format!("reading the output of `{}`", self.program),
            reason: err.to_string(),
        })
    }
}

fn spawn_error(program: &str, err: &std::io::Error) -> TaskError {
    let reason = if err.kind() == std::io::ErrorKind::NotFound {
        "it is not installed or not on PATH".to_string()
    } else {
        err.to_string()
    };
    TaskError::Spawn { program: program.to_string(), reason }
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

/// The first non-empty line of a program's output, trimmed (for messages).
pub fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default().to_string()
}

/// The last non-empty line a program printed (where Docker puts the error, after any warnings).
pub fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("no message").to_string()
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

    #[test]
    fn secret_variables_are_never_shown() {
        let cmd = Cmd::new(Path::new("/p"), "env").envs([
            EnvVar { name: "A".into(), value: "x y".into(), secret: false },
            EnvVar { name: "KEY".into(), value: "s3cret".into(), secret: true },
        ]);
        assert_eq!(cmd.to_shell(), "cd /p\nexport A='x y'\nexport KEY='********'\nenv\n");
        assert!(!format!("{cmd:?}").contains("s3cret"));
    }
}
