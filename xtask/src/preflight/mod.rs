//! Pre-flight checks of the host, shared by `doctor` and the start tasks: the ports a task's
//! services would publish (read from Compose's resolved model) and who holds them, and the
//! engine's memory and CPUs against the stack's limits.
//!
//! Compose starts services one after another, so a port held by another program, or a CPU limit
//! the engine cannot grant, makes it fail halfway with part of the stack running. The start tasks
//! run these checks after writing build/.env (the model needs it) and before Compose starts
//! anything; [`before_start`] is that policy.

pub mod engine;
pub mod model;
pub mod ports;

use lumigator_conf::clean as build_files;

use crate::checks::docker::Engine;
use crate::checks::docker::{ENGINE_INFO, engine_from, gpu_runtime};
use crate::compose::ComposeTarget;
use crate::context::Context;
use crate::error::TaskError;
use crate::runner::{Cmd, last_line};
use crate::verdict::{Checked, Status, Verdict};
use engine::engine_verdicts;
use model::Model;

/// Reads the model of the stack whose Compose command is `compose_cmd` (a probe).
pub fn read_model(ctx: &Context, compose_cmd: &Cmd) -> Result<Model, String> {
    finish(ctx.runner.output(&model_cmd(compose_cmd))).and_then(|json| Model::parse(&json))
}

/// The probe that prints the resolved model of the stack `compose_cmd` runs: `config --format
/// json`, which needs no daemon.
fn model_cmd(compose_cmd: &Cmd) -> Cmd {
    crate::compose::with_action_cmd(compose_cmd, &["config", "--format", "json"])
}

/// Reads the model of the task whose Compose command is `compose_cmd` and asks the daemon about the
/// engine, both at once: together they take as long as the slower of the two.
pub fn model_and_engine(ctx: &Context, compose_cmd: &Cmd) -> (Result<Model, String>, Checked<Engine>) {
    let model_cmd = model_cmd(compose_cmd);
    let engine_cmd = ctx.cmd(ENGINE_INFO[0]).args(ENGINE_INFO[1..].iter().copied());
    let model = ctx.runner.start(&model_cmd);
    let engine = ctx.runner.start(&engine_cmd);
    let engine = engine_from(finish(engine.and_then(|started| started.finish())));
    let model = finish(model.and_then(|started| started.finish())).and_then(|json| Model::parse(&json));
    (model, engine)
}

/// A probe's stdout on success, else the last line it printed on stderr (where Docker puts the
/// error, after any warnings).
fn finish(output: Result<std::process::Output, TaskError>) -> Result<String, String> {
    match output {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => Err(last_line(&out.stderr)),
        Err(err) => Err(err.what().unwrap_or_default()),
    }
}

/// The pre-flight of a start task: after build/.env is written, before anything runs. Stops the
/// task when a published port is held by another program, the daemon stopped answering, the
/// engine cannot grant a CPU limit, or a service asks for NVIDIA GPUs that Docker cannot give;
/// warns when it has less memory than a limit. On a stop, build/ is removed (as the down tasks
/// do), so nothing is left behind. Down tasks, dry runs and `--skip-preflight` skip it. Returns
/// the model it read, for the wait after the start.
pub fn before_start(
    ctx: &Context,
    target: ComposeTarget,
    compose_cmd: &Cmd,
    skip: bool,
) -> Result<Option<Model>, TaskError> {
    if skip || ctx.dry_run || target.stops() {
        return Ok(None);
    }
    let (model, engine) = model_and_engine(ctx, compose_cmd);
    let mut problems = 0;
    let mut note = |verdict: Verdict| match verdict.status {
        Status::Problem => {
            problems += 1;
            ctx.ui.problem(&verdict.detail, verdict.fix.as_deref());
        }
        Status::Warning => ctx.ui.warning(match &verdict.fix {
            Some(fix) => format!("{}: {fix}", verdict.detail),
            None => verdict.detail,
        }),
        Status::Ok | Status::Skipped => {}
    };
    match &engine.value {
        Some(engine) => {
            engine_verdicts(engine, model.as_ref().ok()).into_iter().for_each(&mut note);
            if let Ok(model) = &model
                && !model.gpu_services.is_empty()
            {
                note(gpu_runtime(engine, &model.gpu_services));
            }
        }
        None => note(engine.verdict.clone()),
    }
    match &model {
        Ok(model) => {
            for (published, state) in ports::check_ports(ctx, model) {
                let verdict = state.verdict(&published);
                note(Verdict { detail: format!("port {}: {}", published.label(), verdict.detail), ..verdict });
            }
        }
        // Compose's own command fails the same way next, with its whole message.
        Err(reason) => ctx.ui.warning(format!("ports not checked: Compose cannot read the task's files ({reason})")),
    }
    if problems == 0 {
        return Ok(model.ok());
    }
    if let Err(err) = build_files::clean(&ctx.project) {
        ctx.ui.warning(err);
    }
    let name = target.name();
    Err(TaskError::unmet(
        format!("{name}: nothing started, build/ removed"),
        format!("`cargo xtask doctor --task {name}` checks everything; --skip-preflight starts anyway"),
    ))
}
