//! `export KEY='value'` lines for a POSIX shell. Single quotes are literal in every POSIX shell
//! (bash, dash, zsh, ksh): nothing is expanded inside them, newlines included, so the one character
//! to take care of is the quote itself, written `'\''` (close, an escaped quote, reopen).

use lumigator_conf::ResolvedConfig;

/// The configuration as shell text that, sourced or `eval`ed, exports every value exactly. No
/// comment line: an interactive zsh without `interactive_comments` would run `#` as a command.
pub fn render(config: &ResolvedConfig) -> String {
    let mut out = String::new();
    for entry in &config.entries {
        // Names are shell names already: the parser accepts no other.
        out.push_str(&format!("export {}={}\n", entry.key, quote(&entry.value)));
    }
    out
}

/// `value` single-quoted for any POSIX shell.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::config;

    #[test]
    fn only_export_lines() {
        assert_eq!(render(&config(&[("A", "x"), ("B", "l1\nl2")])), "export A='x'\nexport B='l1\nl2'\n");
    }

    #[test]
    fn quotes_are_the_only_special_character() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME `x` \\ \"\nz"), "'$HOME `x` \\ \"\nz'");
    }
}
