//! How the secret key is named: constants that the merge, the key and the callers share.
//!
//! A leaf module (it imports nothing from the crate), so that any module can use it without
//! depending on the crate root or on the modules that re-export it.

/// The name under which the secret key reaches the backend.
pub const SECRET_KEY_VAR: &str = "LUMIGATOR_SECRET_KEY";
