//! YAML scalars for the Kubernetes and Helm exports: every value double-quoted, so that no value
//! can turn into a number, a boolean, null, a comment or a document marker, and every character a
//! YAML reader could change (line breaks, control characters, the BOM) escaped. A YAML 1.1 reader
//! (PyYAML, Helm's) and a 1.2 one read the same string back.

/// `value` as a double-quoted YAML scalar that reads back exactly as `value`.
pub fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xFF => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A mapping key: bare when it is a plain name that no YAML reader takes for anything but a
/// string, double-quoted otherwise (`y`, `no`, `on` and `null` are booleans or null in YAML 1.1).
pub fn key(name: &str) -> String {
    const SPECIAL: [&str; 9] = ["y", "n", "yes", "no", "true", "false", "on", "off", "null"];
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
        && !SPECIAL.iter().any(|word| word.eq_ignore_ascii_case(name));
    if plain { name.to_string() } else { quoted(name) }
}

/// Whether YAML lets `c` stand as itself inside double quotes and reads it back unchanged: its
/// printable set, minus the characters a YAML 1.1 reader takes as line breaks (NEL, LS, PS) and
/// the byte-order mark.
fn printable(c: char) -> bool {
    matches!(c as u32, 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_and_escaped() {
        assert_eq!(quoted("plain"), r#""plain""#);
        assert_eq!(quoted(""), r#""""#);
        assert_eq!(quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quoted("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(quoted("bell\u{7} del\u{7f} nel\u{85}"), r#""bell\x07 del\x7F nel\x85""#);
        assert_eq!(quoted("\u{2028}\u{feff}"), r#""\u2028\uFEFF""#);
        assert_eq!(quoted("Crème 日本 😀 # : - ---"), "\"Crème 日本 😀 # : - ---\"");
    }

    #[test]
    fn keys_are_bare_unless_yaml_would_read_them_otherwise() {
        assert_eq!(key("AWS_ACCESS_KEY_ID"), "AWS_ACCESS_KEY_ID");
        assert_eq!(key("ray-cluster"), "ray-cluster");
        assert_eq!(key("ON"), r#""ON""#);
        assert_eq!(key("Null"), r#""Null""#);
        assert_eq!(key("y"), r#""y""#);
    }
}
