//! The integration tests of lumigator-conf, against its public API, in one test binary: one link
//! step instead of one per file, and one place for the helpers they share (`support`).
//!
//! - `corpus`: the env-file dialect against values observed from Docker Compose;
//! - `malformed`: every file of the workspace's `tests/malformed` is refused with its place;
//! - `properties`: generated input, hostile bytes, large files;
//! - `key`: the secret key is created once, never replaced, never shown;
//! - `lock`: one task at a time per project;
//! - `check`: what `config-check` reports, where, and never a secret;
//! - `config`: `Configuration::load`, and errors that say what is wrong apart from what to do;
//! - `hardening`: links where `build/` belongs, values that multiply, names of megabytes, secrets
//!   that travel through references, and files another user could have written;
//!
//! The opt-in tests that run the real Docker Compose are `#[ignore]`d with the reason; CI runs them
//! (`.ci/run`).

mod check;
mod config;
mod corpus;
mod hardening;
mod key;
mod lock;
mod malformed;
mod properties;
mod support;

/// Large generated conf files, shared with the benchmark `benches/large_user_conf.rs`.
#[path = "../../benches/support/big_conf.rs"]
mod big_conf;
