//! The tests of the `cargo xtask` binary, in one test binary: each module is a family of tasks,
//! run for real (a temporary HOME and project, the real binary, a fake `docker` and `uv` on
//! PATH); `e2e` needs a real Docker Engine and is opt-in (`--include-ignored`, which `.ci/run`
//! passes after starting one).

// Each module uses the part of the shared support it needs.
#![allow(dead_code)]

mod architecture;
mod compose;
mod compose_parity;
mod config;
mod docs;
mod doctor;
mod e2e;
mod export;
mod hardening;
mod hardening2;
mod lifecycle;
mod output;
mod secrets;
mod support;
mod test_tasks;
