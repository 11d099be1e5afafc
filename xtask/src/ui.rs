//! The task's own messages. Diagnostics and progress go to stderr, results (tables, plans, JSON,
//! listings) to stdout, as the README's output contract says.
//!
//! Colour goes through anstream, the same streams clap prints its help and errors with, so
//! `NO_COLOR`, `CLICOLOR=0`, `CLICOLOR_FORCE=1` and `TERM=dumb` act on our messages exactly as on
//! clap's: styles are written always and stripped by the stream when colour is off.

use std::fmt::Display;
use std::io::Write;

use anstyle::{AnsiColor, Style};
use lumigator_conf::{Finding, Severity};

use crate::error::TaskError;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const STATUS: Style = AnsiColor::Green.on_default().bold();
const HELP: Style = AnsiColor::Cyan.on_default().bold();
const COMMAND: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

/// `count` and `noun`, with the noun's plural when count is not 1: "1 error", "2 warnings".
pub fn plural(count: usize, noun: &str) -> String {
    match (count, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "process") => format!("{count} processes"),
        _ => format!("{count} {noun}s"),
    }
}

/// `text` with control characters escaped (`\n`, `\u{1b}`), so that text from elsewhere (a
/// backend's message, a description) cannot move the cursor or change the terminal's colours.
pub fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// [`printable`] for a message of several lines: control characters escaped, line breaks kept.
pub fn printable_lines(text: &str) -> String {
    text.split('\n').map(printable).collect::<Vec<_>>().join("\n")
}

/// Where and how messages are printed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ui {
    quiet: bool,
}

impl Ui {
    /// Messages for a run; `quiet` drops progress lines (warnings and errors stay).
    pub fn new(quiet: bool) -> Self {
        Ui { quiet }
    }

    /// A step the task took.
    pub fn status(&self, message: impl Display) {
        if !self.quiet {
            anstream::eprintln!("{STATUS}xtask:{STATUS:#} {message}");
        }
    }

    /// Something the user should look at.
    pub fn warning(&self, message: impl Display) {
        anstream::eprintln!("{WARNING}warning:{WARNING:#} {}", printable_lines(&message.to_string()));
    }

    /// A problem found along the way (the task fails after saying all of them), with its fix. A
    /// line of the fix that starts with a space continues the one above (a list, an indented
    /// command); any other line is advice of its own, on a `help:` line. The text may quote paths
    /// and values from the user's files, so control characters in it are escaped.
    pub fn problem(&self, what: impl Display, help: Option<&str>) {
        let mut err = anstream::stderr().lock();
        let _ = writeln!(err, "{ERROR}error:{ERROR:#} {}", printable_lines(&what.to_string()));
        for line in help.into_iter().flat_map(str::lines) {
            if line.starts_with(char::is_whitespace) {
                let _ = writeln!(err, "{}", printable(line));
            } else {
                let _ = writeln!(err, "{HELP}help:{HELP:#} {}", printable(line));
            }
        }
    }

    /// Text from elsewhere that explains a failure (the end of a container's log), on stderr under
    /// a heading, indented, with control characters escaped. Shown even with `--quiet`: it belongs
    /// to the error that follows.
    pub fn excerpt(&self, heading: impl Display, text: &str) {
        let mut err = anstream::stderr().lock();
        let _ = writeln!(err, "{HELP}note:{HELP:#} {heading}");
        for line in text.lines() {
            let _ = writeln!(err, "    {}", printable(line));
        }
    }

    /// Why the task failed: `error: what`, then `help: what to do` on its own line. Prints
    /// nothing for an error the task already reported.
    pub fn error(&self, err: &TaskError) {
        if let Some(what) = err.what() {
            self.problem(what, err.help().as_deref());
        }
    }

    /// A question for the user at a terminal, on stderr, with no line break after it.
    pub fn prompt(&self, question: impl Display) {
        let mut err = anstream::stderr().lock();
        let _ = write!(err, "{HELP}?{HELP:#} {question} ");
        let _ = err.flush();
    }

    /// A command about to run, as make echoed it; `changes` (folder, environment) with `--verbose`.
    pub fn command(&self, line: &str, changes: Option<&str>) {
        match changes {
            Some(changes) => anstream::eprintln!("{COMMAND}${COMMAND:#} {line}  {DIM}({changes}){DIM:#}"),
            None => anstream::eprintln!("{COMMAND}${COMMAND:#} {line}"),
        }
    }

    /// Text that is the task's result, on stdout, exactly as given: results carry no styles, and
    /// anstream would strip escape sequences that are part of a value.
    pub fn out(&self, text: impl Display) {
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, "{text}");
        let _ = stdout.flush();
    }

    /// Configuration findings, `path:line:col: severity: KEY: message` as compilers print them.
    /// Every error is printed; past `max_warnings` warnings, one line says how many more there are.
    pub fn findings(&self, findings: &[Finding], max_warnings: usize) {
        let mut out = anstream::stderr().lock();
        let mut warnings = 0;
        for finding in findings {
            if !finding.is_error() {
                warnings += 1;
                if warnings > max_warnings {
                    continue;
                }
            }
            let (style, label) = match finding.severity {
                Severity::Error => (ERROR, "error:"),
                Severity::Warning => (WARNING, "warning:"),
            };
            // A finding may quote a value from a conf file: its control characters are escaped.
            let _ = match &finding.location {
                Some(location) => writeln!(
                    out,
                    "{}: {style}{label}{style:#} {}",
                    printable(&location.to_string()),
                    printable(&Finding { location: None, ..finding.clone() }.to_string())
                ),
                None => writeln!(out, "{style}{label}{style:#} {}", printable(&finding.to_string())),
            };
        }
        if warnings > max_warnings {
            let more = plural(warnings - max_warnings, "more warning");
            let _ =
                writeln!(out, "{WARNING}warning:{WARNING:#} ... and {more}: `cargo xtask config-check` lists them all");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn plurals() {
        assert_eq!(plural(0, "error"), "0 errors");
        assert_eq!(plural(1, "error"), "1 error");
        assert_eq!(plural(2, "warning"), "2 warnings");
        assert_eq!(plural(3, "process"), "3 processes");
    }
}
