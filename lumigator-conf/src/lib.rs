//! Lumigator's local configuration, as a library.
//!
//! The pipeline that turns `.default.conf`, the optional `~/.lumigator/user.conf` and the secret key
//! in `~/.lumigator/lumigator.key` into `build/.env`:
//!
//! 1. [`parse`] reads a conf file in the env-file dialect Docker Compose reads with `--env-file`
//!    (described in `docs/env-file-dialect.md` at the workspace root), and [`template`] parses the
//!    `${VAR}` references in its values;
//! 2. [`merge`] layers the files (defaults, then user, then the key), keeping every value's [`Origin`];
//! 3. [`resolve`] interpolates `${VAR}` references in merged order;
//! 4. [`check`] validates the result against the known [`settings`], reporting each problem as a
//!    [`Finding`];
//! 5. [`render`] writes it back so Compose reads exactly the resolved values, and [`clean`] writes it
//!    atomically or removes it.
//!
//! [`config::Configuration::load`] runs steps 1 to 4 in one call; [`key`] creates and guards the
//! secret key; [`lock`] keeps two tasks from working on one project at once; [`test_settings`] are
//! the values the test tasks give pytest instead of the configuration.
//!
//! Failures are an [`Error`]: its `Display` says what is wrong and where, and [`Error::help`] what to
//! do about it, for the caller to print as it likes. [`secret`] names the key's variable and the
//! [`REDACTED`] mask.
//!
//! The library never spawns processes and never prints: callers (the `xtask` binary) decide what to
//! show. Secret values never appear in `Debug`, `Display` or error output.
//!
//! The modules import each other without a cycle, so each can be read and changed on its own. What
//! several of them share lives in modules that import little or nothing: [`origin`], [`settings`],
//! [`template`], [`secret`] and [`text`] import nothing from the crate, [`finding`] only [`origin`]
//! and [`text`], and [`error`] only those. [`trust`] (whose files `~/.lumigator` may hold) imports
//! only [`error`] and the crate-private `files` (opening regular files, describing what a path is).
//!
//! Files the pipeline writes or deletes ([`clean`], [`lock`]) are never reached through a symbolic
//! link it did not make, and modes are changed only on open files; see the README's guarantees.

pub mod check;
pub mod clean;
pub mod config;
pub mod error;
mod files;
pub mod finding;
pub mod key;
pub mod lock;
pub mod merge;
pub mod origin;
pub mod parse;
pub mod paths;
pub mod render;
pub mod resolve;
pub mod secret;
pub mod settings;
pub mod template;
pub mod test_settings;
pub mod text;
pub mod trust;

pub use config::{Configuration, KeyAccess};
pub use error::Error;
pub use files::MAX_FILE_BYTES;
pub use finding::{Finding, Severity};
pub use key::SecretKey;
pub use merge::{MergedConfig, MergedEntry};
pub use origin::{Location, Origin};
pub use parse::{ConfEntry, ConfFile};
pub use paths::{ProjectPaths, UserPaths};
pub use resolve::{ResolvedConfig, ResolvedEntry};
pub use secret::{REDACTED, SECRET_KEY_VAR};
