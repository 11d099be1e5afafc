//! One module per concern; each task is a plain function over a [`crate::context::Context`].

pub mod clean_docker;
pub mod compose;
pub mod config;
pub mod doctor;
pub mod secrets;
