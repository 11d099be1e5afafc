//! `cargo xtask <task>`: Lumigator's developer tasks (the old Makefile's targets), in Rust.
//!
//! Each task is a plain function over a [`Context`]; the configuration logic lives in the
//! `lumigator-conf` library, and this binary only parses arguments, runs commands and prints.

mod cli;
mod context;
mod tasks;
mod ui;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Task};
use crate::context::Context;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ui = ui::Ui::from_env();
    let ctx = match Context::new(&cli.global, ui) {
        Ok(ctx) => ctx,
        Err(err) => {
            ui.error(&err);
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.task {
        Task::ConfigGenerateKey => tasks::config::generate_key(&ctx),
        Task::ConfigGenerateEnv => tasks::config::generate_env(&ctx).map(|_| ()),
        Task::ConfigClean => tasks::config::clean(&ctx),
        Task::ConfigCheck(args) => tasks::config::check(&ctx, &args),
        Task::ConfigShow(args) => tasks::config::show(&ctx, &args),
        Task::Secrets(task) => tasks::secrets::run(&ctx, &task),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if !err.already_reported() {
                ctx.ui.error(&err);
            }
            err.exit_code()
        }
    }
}
