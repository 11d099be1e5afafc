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
