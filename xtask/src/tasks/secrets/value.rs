//! A secret's value: checked before anything is sent, never shown.

use std::fmt;

use lumigator_conf::REDACTED;

use crate::error::TaskError;
use crate::ui::printable;

/// The backend accepts values of 1 to this many characters.
pub const MAX_VALUE_CHARS: usize = 1024;

/// A secret's value. It is only ever put into the request body; `Debug` hides it so that no
/// error or log can print it by accident, and there is deliberately no `Display`.
pub struct SecretValue(String);

impl SecretValue {
    /// Checks the backend's length rule (1 to 1024 characters) before anything is sent.
    pub fn new(value: String) -> Result<Self, TaskError> {
        let chars = value.chars().count();
        if chars == 0 {
            return Err(TaskError::usage("the value is empty", "give the API key on standard input"));
        }
        if chars > MAX_VALUE_CHARS {
            return Err(TaskError::usage(
                format!(
                    "the value has {chars} characters; the backend accepts 1 to {MAX_VALUE_CHARS}: nothing was sent"
                ),
                "check that you gave the API key itself",
            ));
        }
        Ok(SecretValue(value))
    }

    /// The value, for the request body only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the value replaced by `********`, in each form a server can
    /// echo it in (see [`SecretValue::forms`]), for text that came from elsewhere (the backend's
    /// messages) and is about to be shown.
    pub fn mask_in(&self, text: &str) -> String {
        let mut text = text.to_string();
        for form in self.forms() {
            if text.contains(form.as_str()) {
                text = text.replace(form.as_str(), REDACTED);
            }
        }
        text
    }

    /// The value as written raw; inside a JSON string (as serde and Python write it, and with every
    /// non-ASCII character as `\uXXXX`, Python's default); as a Python `repr` writes it; URL-encoded
    /// (either case of hex digits, `%20` or `+` for a space); and as [`printable`] escapes it for a
    /// terminal. Longest first, so that no form is half-masked by a shorter one inside it.
    fn forms(&self) -> Vec<String> {
        let raw = self.expose();
        let json = serde_json::to_string(raw).map(|quoted| quoted[1..quoted.len() - 1].to_string()).unwrap_or_default();
        let ascii_json: String = json
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    c.encode_utf16(&mut [0; 2]).iter().map(|u| format!("\\u{u:04x}")).collect()
                }
            })
            .collect();
        let repr: String = raw
            .chars()
            .map(|c| match c {
                '\\' => "\\\\".to_string(),
                '\'' => "\\'".to_string(),
                '\n' => "\\n".to_string(),
                '\r' => "\\r".to_string(),
                '\t' => "\\t".to_string(),
                c if c.is_control() => format!("\\x{:02x}", u32::from(c)),
                c => c.to_string(),
            })
            .collect();
        let percent = |upper: bool, plus: bool| -> String {
            raw.bytes()
                .map(|b| match b {
                    b' ' if plus => "+".to_string(),
                    b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => (b as char).to_string(),
                    b if upper => format!("%{b:02X}"),
                    b => format!("%{b:02x}"),
                })
                .collect()
        };
        let mut forms = vec![
            raw.to_string(),
            json,
            ascii_json,
            repr,
            percent(true, false),
            percent(false, false),
            percent(true, true),
            percent(false, true),
            printable(raw),
        ];
        forms.retain(|form| !form.is_empty());
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        forms
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue({REDACTED})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_length_is_counted_in_characters() {
        assert!(SecretValue::new(String::new()).is_err());
        assert!(SecretValue::new("é".repeat(MAX_VALUE_CHARS)).is_ok());
        assert!(SecretValue::new("é".repeat(MAX_VALUE_CHARS + 1)).is_err());
    }

    #[test]
    fn debug_hides_the_value() {
        let value = SecretValue::new("sk-do-not-print".to_string()).expect("valid");
        assert_eq!(format!("{value:?}"), "SecretValue(********)");
    }
}
