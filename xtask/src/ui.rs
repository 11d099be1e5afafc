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

    /// Configuration findings, `path:line:col: severity: KEY: message` as compilers print them.
    /// Every error is printed; past `max_warnings` warnings, one line says how many more there are.
    pub fn findings(&self, findings: &[Finding], max_warnings: usize) {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stderr().lock());
        let mut warnings = 0;
        for finding in findings {
            if !finding.is_error() {
                warnings += 1;
                if warnings > max_warnings {
                    continue;
                }
            }
            let (code, label) = match finding.severity {
                Severity::Error => ("1;31", "error:"),
                Severity::Warning => ("1;33", "warning:"),
            };
            let label = self.paint(code, label);
            let _ = match &finding.location {
                Some(location) => {
                    writeln!(out, "{location}: {label} {}", Finding { location: None, ..finding.clone() })
                }
                None => writeln!(out, "{label} {finding}"),
            };
        }
        if warnings > max_warnings {
            let label = self.paint("1;33", "warning:");
            let more = warnings - max_warnings;
            let _ = writeln!(out, "{label} ... and {more} more warning(s): `cargo xtask config-check` lists them all");
        }
    }
}
