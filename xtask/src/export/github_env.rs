//! The file format of `$GITHUB_ENV` (GitHub Actions): `NAME=value` lines, and for a value with a
//! line break, a heredoc `NAME<<DELIMITER`, the value, then `DELIMITER` on a line of its own. The
//! runner takes everything between those lines as the value, so a delimiter that occurred in the
//! value could end it early and inject variables of its own: each one is random, and drawn again
//! until it does not occur in the value.
//!
//! Masks are workflow commands, read from a step's output, not from the file: `::add-mask::value`
//! makes the runner hide the value in every later log line.

use lumigator_conf::ResolvedConfig;

/// The configuration in `$GITHUB_ENV` format. `delimiter` draws a new random delimiter.
pub fn render(config: &ResolvedConfig, delimiter: &mut dyn FnMut() -> String) -> String {
    let mut out = String::new();
    for entry in &config.entries {
        if entry.value.contains(['\n', '\r']) {
            let mut end = delimiter();
            while end.is_empty() || entry.value.contains(&end) {
                end = delimiter();
            }
            out.push_str(&format!("{}<<{end}\n{}\n{end}\n", entry.key, entry.value));
        } else {
            out.push_str(&format!("{}={}\n", entry.key, entry.value));
        }
    }
    out
}

/// One `::add-mask::` line per line of every secret value. The runner masks log lines one by
/// one, so a multi-line secret is registered line by line; `%` is escaped as workflow commands
/// require.
pub fn masks(config: &ResolvedConfig) -> String {
    let mut out = String::new();
    for entry in config.entries.iter().filter(|e| e.secret) {
        for line in entry.value.split(['\n', '\r']).filter(|line| !line.trim().is_empty()) {
            out.push_str(&format!("::add-mask::{}\n", line.replace('%', "%25")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::{config, secret_config};

    #[test]
    fn single_lines_are_plain_and_multi_line_values_heredocs() {
        let mut n = 0;
        let mut draw = || {
            n += 1;
            format!("D{n}")
        };
        let text = render(&config(&[("A", "x=y"), ("B", "l1\nD1 inside\n"), ("C", "")]), &mut draw);
        // D1 occurs in B's value, so the next delimiter is used.
        assert_eq!(text, "A=x=y\nB<<D2\nl1\nD1 inside\n\nD2\nC=\n");
    }

    #[test]
    fn every_line_of_a_secret_is_masked() {
        let masks = masks(&secret_config(&[("PASSWORD", "p%1\nsecond"), ("PLAIN", "shown")]));
        assert_eq!(masks, "::add-mask::p%251\n::add-mask::second\n");
    }
}
