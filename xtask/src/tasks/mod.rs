//! One module per task or family of tasks; each is a plain function over a
//! [`crate::context::Context`]. Tasks do not import one another: what two tasks share lives
//! outside `tasks` (the env step, the checks, the compose command lines).

pub mod clean_docker;
pub mod config;
pub mod doctor;
pub mod export;
pub mod openapi;
pub mod run;
pub mod secrets;
pub mod setup;
pub mod stack;
pub mod testing;
