//! `cargo xtask <task>`: Lumigator's developer tasks (the old Makefile's targets), in Rust.
//!
//! Each task is a plain function over a [`Context`]; the configuration logic lives in the
//! `lumigator-conf` library, and this binary only parses arguments, runs commands and prints.

mod cli;
mod context;
mod docker;
mod host;
mod preflight;
mod process;
mod tasks;
mod ui;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Task};
use crate::context::Context;
use crate::tasks::{clean_docker, compose};

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
        Task::LocalUp(a) => compose::run_target(&ctx, compose::target("local-up"), a.gpu.gpus, a.skip_preflight),
        Task::LocalDown(a) => compose::run_target(&ctx, compose::target("local-down"), a.gpus, false),
        Task::LocalLogs => compose::logs(&ctx),
        Task::StartLumigator(a) => {
            compose::run_target(&ctx, compose::target("start-lumigator"), a.gpu.gpus, a.skip_preflight)
        }
        Task::StartLumigatorPostgres(a) => {
            compose::run_target(&ctx, compose::target("start-lumigator-postgres"), a.gpu.gpus, a.skip_preflight)
        }
        Task::StartLumigatorBuild(a) => {
            compose::run_target(&ctx, compose::target("start-lumigator-build"), a.gpu.gpus, a.skip_preflight)
        }
        Task::StartLumigatorBuildPostgres(a) => {
            compose::run_target(&ctx, compose::target("start-lumigator-build-postgres"), a.gpu.gpus, a.skip_preflight)
        }
        Task::StartLumigatorExternalServices(a) => compose::run_target(
            &ctx,
            compose::target("start-lumigator-external-services"),
            a.gpu.gpus,
            a.skip_preflight,
        ),
        Task::StopLumigator(a) => compose::run_target(&ctx, compose::target("stop-lumigator"), a.gpus, false),
        Task::Doctor(args) => tasks::doctor::run(&ctx, &args),
        Task::CleanDockerBuildcache => clean_docker::buildcache(&ctx),
        Task::CleanDockerContainers(a) => clean_docker::containers(&ctx, a.yes),
        Task::CleanDockerImages(a) => clean_docker::images(&ctx, a.yes),
        Task::CleanDockerAll(a) => clean_docker::all(&ctx, a.yes),
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
