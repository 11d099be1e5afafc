//! Text from the user's files echoed back in messages, cut to a readable length.
//!
//! A leaf module (it imports nothing from the crate). Messages quote names and values so that the
//! user can find them; a name of two megabytes must not become a message of two megabytes.

use std::borrow::Cow;

/// How many characters of a name or value a message quotes.
pub const ECHO_CHARS: usize = 60;

/// `text` as a message quotes it: whole when it has at most [`ECHO_CHARS`] characters, otherwise
/// its first [`ECHO_CHARS`] and `...`. Takes time proportional to what it keeps, not to `text`.
pub fn shorten(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(ECHO_CHARS) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}...", &text[..cut])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        assert_eq!(shorten("S3_BUCKET"), "S3_BUCKET");
        let exact = "x".repeat(ECHO_CHARS);
        assert_eq!(shorten(&exact), exact);
        let long = "é".repeat(ECHO_CHARS * 1000);
        assert_eq!(shorten(&long), format!("{}...", "é".repeat(ECHO_CHARS)));
    }
}
