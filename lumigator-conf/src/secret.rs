//! How secrets are named and hidden: constants that the merge, the key, the resolved entries and
//! the callers share.
//!
//! A leaf module (it imports nothing from the crate), so that any module can use it without
//! depending on the crate root or on the modules that re-export it.

/// The name under which the secret key reaches the backend.
pub const SECRET_KEY_VAR: &str = "LUMIGATOR_SECRET_KEY";

/// The key file's name in `~/.lumigator`. Errors about this file must never suggest replacing it.
pub(crate) const KEY_FILE_NAME: &str = "lumigator.key";

/// What is shown in place of a secret value: by this crate's `Debug` and `Display`, and meant for
/// callers too (`config-show`), so that every mask is the same text and a test can look for it.
pub const REDACTED: &str = "********";

/// Whether `value` holds a URL with a password in it: `scheme://user:password@host` (or
/// `scheme://:password@host`). Such a value is hidden like a secret setting, whatever its name.
/// Linear in the value: each authority is scanned once, up to the next `/`.
pub fn holds_url_password(value: &str) -> bool {
    value.match_indices("://").any(|(at, _)| {
        let rest = &value[at + 3..];
        let end = rest.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace()).unwrap_or(rest.len());
        let authority = &rest[..end];
        match authority.rfind('@') {
            Some(at) => authority[..at].split_once(':').is_some_and(|(_, password)| !password.is_empty()),
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::holds_url_password;

    #[test]
    fn urls_with_a_password_are_recognised() {
        for yes in ["postgres://admin:s3cret@db:5432/x", "redis://:pw@cache", "x=mysql://u:p@h a", "a, http://u:p@h"] {
            assert!(holds_url_password(yes), "{yes}");
        }
        for no in
            ["sqlite:////db-data/local.db", "http://localhost:8000", "s3://bucket/path", "http://u@h", "http://u:@h"]
        {
            assert!(!holds_url_password(no), "{no}");
        }
        assert!(!holds_url_password("http://h/path?next=ftp://x@y"), "an @ after the authority is not a password");
    }
}
