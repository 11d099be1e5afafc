//! The task's own messages: short, on stderr, coloured only on a terminal and never with NO_COLOR.

use std::fmt::Display;
use std::io::IsTerminal;

use lumigator_conf::{Finding, Severity};

/// Where and how messages are printed.
#[derive(Clone, Copy, Debug)]
pub struct Ui {
    color: bool,
}

impl Ui {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset or empty (no-color.org).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ui { color: !no_color && std::io::stderr().is_terminal() }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    /// A step the task took.
    pub fn status(&self, message: impl Display) {
        eprintln!("{} {message}", self.paint("1;32", "xtask:"));
    }

    /// Something the user should look at.
    pub fn warning(&self, message: impl Display) {
        eprintln!("{} {message}", self.paint("1;33", "warning:"));
    }

    /// Why the task failed.
    pub fn error(&self, message: impl Display) {
        eprintln!("{} {message}", self.paint("1;31", "error:"));
    }

    /// A configuration finding, `path:line:col: severity: KEY: message` as compilers print them.
    pub fn finding(&self, finding: &Finding) {
        let (code, label) = match finding.severity {
            Severity::Error => ("1;31", "error:"),
            Severity::Warning => ("1;33", "warning:"),
        };
        match &finding.location {
            Some(location) => {
                let rest = Finding { location: None, ..finding.clone() };
                eprintln!("{location}: {} {rest}", self.paint(code, label));
            }
            None => eprintln!("{} {finding}", self.paint(code, label)),
        }
    }
}
