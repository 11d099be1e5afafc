//! Lumigator's local configuration, as a library.
//!
//! The pipeline that turns `.default.conf`, the optional `~/.lumigator/user.conf` and the secret key
//! in `~/.lumigator/lumigator.key` into `build/.env`:
//!
//! 1. [`parse`] reads a conf file in the env-file dialect Docker Compose reads with `--env-file`;
//! 2. [`merge`] layers the files (defaults, then user, then the key), keeping every value's [`Origin`];
//! 3. [`resolve`] interpolates `${VAR}` references in merged order;
//! 4. [`check`] validates the result against the known [`settings`];
//! 5. [`render`] writes it back so Compose reads exactly the resolved values, and [`clean`] writes it
//!    atomically or removes it.
//!
//! [`config::Configuration::load`] runs steps 1 to 4 in one call; [`key`] creates and guards the
//! secret key; [`lock`] keeps two tasks from working on one project at once; [`test_settings`] are
//! the values the test tasks give pytest instead of the configuration.
//!
//! The library never spawns processes and never prints: callers (the `xtask` binary) decide what to
//! show. Secret values never appear in `Debug`, `Display` or error output.

pub mod check;
pub mod clean;
pub mod config;
pub mod error;
pub mod key;
pub mod lock;
pub mod merge;
pub mod origin;
pub mod parse;
pub mod paths;
pub mod render;
pub mod resolve;
pub mod settings;
pub mod template;
pub mod test_settings;

pub use check::{Finding, Severity};
pub use config::{Configuration, KeyAccess};
pub use error::Error;
pub use key::SecretKey;
pub use merge::{MergedConfig, MergedEntry};
pub use origin::{Location, Origin};
pub use parse::{ConfEntry, ConfFile};
pub use paths::{ProjectPaths, UserPaths};
pub use resolve::{ResolvedConfig, ResolvedEntry};

/// The name under which the secret key reaches the backend.
pub const SECRET_KEY_VAR: &str = "LUMIGATOR_SECRET_KEY";

/// Shown instead of a secret value, everywhere a value could be printed.
pub const REDACTED: &str = "********";
