//! `cargo xtask <task>`: Lumigator's developer tasks (the old Makefile's targets), in Rust.
//!
//! `main` only dispatches: it parses the command line ([`cli`]), builds the [`context::Context`],
//! runs the task's function and prints its error in the one place errors are printed. The map of
//! the modules is ARCHITECTURE.md at the workspace root.

mod addresses;
mod checks;
mod cli;
mod compose;
mod context;
mod env_step;
mod error;
mod export;
mod host;
mod http;
mod output;
mod preflight;
mod private_dir;
mod readiness;
mod runner;
mod signals;
mod stack;
mod stack_status;
mod suites;
mod tasks;
mod test_env;
mod ui;
mod verdict;

use std::process::ExitCode;

use crate::cli::{CleanTask, ConfigTask, DiagnosticsTask, DocsTask, Format, StackTask, Task, TestTask};
use crate::context::Context;
use crate::error::TaskError;

fn main() -> ExitCode {
    let cli = cli::parse();
    let format = cli.task.format();
    let result = Context::new(&cli.global).and_then(|ctx| run(&ctx, cli.task));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let ui = ui::Ui::new(cli.global.quiet);
            if format == Format::Json && !matches!(err, TaskError::Reported(_)) {
                output::json_error(&ui, &err);
            }
            ui.error(&err);
            err.exit()
        }
    }
}

fn run(ctx: &Context, task: Task) -> Result<(), TaskError> {
    use tasks::{clean_docker, config, doctor, export, openapi, run, secrets, setup, stack, testing};
    match task {
        Task::Stack(StackTask::Compose(table)) => stack::run(ctx, table.task, &table.args),
        Task::Stack(StackTask::LocalLogs(args)) => stack::logs(ctx, &args),
        Task::Config(ConfigTask::GenerateKey) => config::generate_key(ctx),
        Task::Config(ConfigTask::GenerateEnv) => config::generate_env(ctx),
        Task::Config(ConfigTask::Check(args)) => config::check(ctx, &args),
        Task::Config(ConfigTask::Show(args)) => config::show(ctx, &args),
        Task::Config(ConfigTask::Export(args)) => export::run(ctx, &args),
        Task::Config(ConfigTask::Run(args)) => run::run(ctx, &args),
        Task::Clean(CleanTask::ConfigClean) => config::clean(ctx),
        Task::Clean(CleanTask::Docker(task)) => clean_docker::run(ctx, &task),
        Task::Clean(CleanTask::All(args)) => clean_docker::all(ctx, args.yes),
        Task::Secret(task) => secrets::run(ctx, &task),
        Task::Diagnostics(DiagnosticsTask::Doctor(args)) => doctor::run(ctx, &args),
        Task::Test(TestTask::Suite(table)) => testing::run(ctx, table.task, &table.args),
        Task::Test(TestTask::Setup) => setup::run(ctx),
        Task::Docs(DocsTask::UpdateOpenapiDocs) => openapi::update(ctx),
        Task::Docs(DocsTask::CheckOpenapiDocs) => openapi::check(ctx),
    }
}
