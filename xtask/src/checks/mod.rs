//! The pre-conditions of the tasks, each written once and returning a [`crate::verdict::Verdict`]
//! (or a [`crate::verdict::Checked`] value): the tasks turn a problem into their error, `doctor`
//! prints every verdict as a row. The port and engine-resource checks, which need Compose's model
//! of the stack, are in [`crate::preflight`].

pub mod config;
pub mod docker;
pub mod project;
pub mod user;
