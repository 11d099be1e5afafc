//! Reading a secret's value: without echo from a terminal, or one line from a pipe.

use std::io::{IsTerminal, Read};

use crate::error::TaskError;
use crate::tasks::secrets::value::{MAX_VALUE_CHARS, SecretValue};

/// Reads the value: without echo from a terminal, or one line from a pipe. `what` names it in the
/// prompt.
pub fn read_value(what: &str) -> Result<SecretValue, TaskError> {
    let stdin = std::io::stdin();
    let text = if stdin.is_terminal() {
        rpassword::prompt_password(format!("{what} (input hidden, Enter to finish): ")).map_err(|err| {
            TaskError::Io { what: "cannot read the value from the terminal".into(), reason: err.to_string() }
        })?
    } else {
        read_piped_value(stdin.lock())?
    };
    SecretValue::new(text)
}

/// The value piped on standard input: one line, its `\n` (or `\r\n`) dropped. More than one line
/// is refused rather than guessed at: it usually means a whole file was piped by mistake.
pub fn read_piped_value(input: impl Read) -> Result<String, TaskError> {
    // Enough for 1024 four-byte characters and a CRLF, plus one byte to tell that there is more.
    let limit = MAX_VALUE_CHARS * 4 + 2;
    let mut bytes = Vec::with_capacity(256);
    input.take(limit as u64 + 1).read_to_end(&mut bytes).map_err(|err| TaskError::Io {
        what: "cannot read the value from standard input".into(),
        reason: err.to_string(),
    })?;
    if bytes.len() > limit {
        return Err(TaskError::usage(
            format!(
                "standard input holds more than {MAX_VALUE_CHARS} characters; the backend accepts 1 to {MAX_VALUE_CHARS}: nothing was sent"
            ),
            "pipe only the API key",
        ));
    }
    let mut text = String::from_utf8(bytes)
        .map_err(|_| TaskError::usage("the value on standard input is not UTF-8 text", "pipe only the API key"))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.contains('\n') {
        return Err(TaskError::usage(
            "standard input holds more than one line",
            "pipe only the API key, e.g. `printf %s \"$KEY\" | cargo xtask secret-set openai`",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Option<String> {
        read_piped_value(bytes).ok()
    }

    #[test]
    fn piped_value_drops_one_newline_and_its_carriage_return() {
        assert_eq!(read(b"abc\n").as_deref(), Some("abc"));
        assert_eq!(read(b"abc\r\n").as_deref(), Some("abc"));
        assert_eq!(read(b"abc").as_deref(), Some("abc"));
        assert_eq!(read(b" a b \n").as_deref(), Some(" a b "));
        assert!(read(b"abc\n\n").is_none());
        assert!(read(b"abc\ndef\n").is_none());
        assert!(read(&[0xff, 0xfe]).is_none());
    }
}
