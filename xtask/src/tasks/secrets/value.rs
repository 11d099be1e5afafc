//! A secret's value: checked before anything is sent, never shown.

use std::fmt;

use lumigator_conf::REDACTED;

use crate::error::TaskError;

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

    /// `text` with every occurrence of the value replaced by `********`, for text that came from
    /// elsewhere (the backend's messages) and is about to be shown.
    pub fn mask_in(&self, text: &str) -> String {
        text.replace(self.expose(), REDACTED)
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
