//! Running the stack: the Makefile's Compose targets, with the same command lines (files,
//! profiles, flags, order), for the stack tasks and for any other task that needs the stack (the
//! test tasks start and stop it around integration tests). Deliberate differences from the
//! Makefile: Docker and Compose v2 are checked first, the host-derived variables live in
//! build/.env, configuration keys exported in the shell never reach Compose, a start in the
//! background waits until the stack is ready, a stop never fails because of the configuration,
//! down tasks remove build/ even when Compose fails, and `--dry-run` shows everything first.

use std::time::Duration;

use lumigator_conf::{Origin, ResolvedConfig, clean as build_files};

use crate::addresses::{self, Address};
use crate::checks;
use crate::cli::{ComposeArgs, DEFAULT_WAIT_TIMEOUT, LogsArgs};
use crate::compose::{self, Action, Compose, ComposeTarget};
use crate::context::Context;
use crate::env_step::{self, TempEnvFile, redacted};
use crate::error::TaskError;
use crate::preflight::{self, model::Model};
use crate::readiness::{self, ComposeObserver, Outcome, Rules, SystemClock};
use crate::runner::{Cmd, exit_code, last_line};
use crate::signals;
use crate::ui::plural;

/// How many lines of a service's log a failed wait shows.
pub const LOG_LINES: usize = 20;

/// The Compose command to use: probed for real runs, assumed for dry runs (which run nothing).
pub fn compose_for(ctx: &Context) -> Result<Compose, TaskError> {
    if ctx.dry_run {
        return Ok(Compose::assumed());
    }
    let compose = checks::docker::require_compose(ctx)?;
    signals::stop_if_interrupted()?;
    Ok(compose)
}

/// What a compose target did, for the task to report.
#[derive(Clone, Debug, Default)]
pub struct Ran {
    /// For a start in the background: where Lumigator answers.
    pub addresses: Vec<Address>,
    /// For a start in the background: how long the wait took, `None` with `--no-wait` (or a dry
    /// run, or a task that does not start the stack in the background).
    pub ready_after: Option<Duration>,
}

/// Runs a compose target: checks, env step, pre-flight, Compose, and for a start in the
/// background the wait until the stack is ready (unless `--no-wait`).
pub fn run_target(ctx: &Context, target: ComposeTarget, args: &ComposeArgs) -> Result<(), TaskError> {
    run(ctx, target, args).map(drop)
}

/// [`run_target`], saying what it did.
pub fn run(ctx: &Context, target: ComposeTarget, args: &ComposeArgs) -> Result<Ran, TaskError> {
    let spec = target.spec();
    let name = target.name();
    let compose = compose_for(ctx)?;
    if spec.needs_sources {
        let sources = checks::project::sources(ctx, &name);
        if sources.is_problem() {
            return Err(sources.into_error());
        }
    }
    let python_setup = spec.python_setup && ctx.project.root.join("pyproject.toml").is_file();
    if python_setup && !ctx.dry_run {
        checks::project::uv(ctx).require()?;
    }
    let mut lock = ctx.lock_project()?;
    let mut use_gpus = false;
    let derive = |resolved: &mut ResolvedConfig| use_gpus = compose::apply_host_values(resolved, args.gpus.as_ref());
    let resolved = if target.stops() {
        env_step::stop_env(ctx, &name, derive)?
    } else {
        env_step::generate_env(ctx, derive)?.resolved
    };
    signals::stop_if_interrupted()?;

    let mut setup = Vec::new();
    if python_setup {
        setup.push(ctx.cmd("uv").args(["sync"]));
        setup.push(ctx.cmd("uv").args(["run", "pre-commit", "install"]));
    }
    let exported = compose::exported_keys(&resolved);
    warn_exported(ctx, &resolved, &exported);
    let compose_cmd =
        Cmd::from_argv(&ctx.project.root, &compose::compose_argv(&compose, &ctx.project.env_file, target, use_gpus))
            .env_remove(exported);
    let waits = matches!(spec.action, Action::Up { detach: true, .. }) && !args.no_wait;
    let timeout = Duration::from_secs(args.wait_timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT));

    if ctx.dry_run {
        let mut steps = setup;
        steps.push(compose_cmd);
        ctx.print_plan(&steps);
        if waits {
            ctx.ui.out(format!(
                "then wait up to {} s until every service is ready (--no-wait does not wait)\n",
                timeout.as_secs()
            ));
        }
        return Ok(Ran::default());
    }
    let model = preflight::before_start(ctx, target, &compose_cmd, args.skip_preflight)?;
    for step in &setup {
        if let Err(err) = ctx.runner.run_checked(step) {
            // Nothing of the stack started: no copy of the key stays behind, as after a failed
            // pre-flight.
            if let Err(clean) = build_files::clean(&ctx.project) {
                ctx.ui.warning(clean);
            }
            return Err(err.with_help(format!("nothing started, build/ removed; fix that step, then run {name} again")));
        }
    }
    if matches!(spec.action, Action::Up { detach: false, .. }) {
        // A foreground stack runs until Ctrl-C: its down task, from another terminal, must not
        // wait for it.
        lock = None;
    }
    let status = ctx.runner.run(&compose_cmd);
    if target.stops() {
        // Whatever Compose did, the copy of the key in build/ goes.
        if let Err(err) = build_files::clean(&ctx.project) {
            ctx.ui.warning(err);
        }
    }
    let status = status?;
    if !status.success() {
        let err = TaskError::Command { command: compose_cmd.line(), code: exit_code(status) };
        return Err(if target.stops() { err } else { after_failed_start(target, err) });
    }
    if target.stops() {
        ctx.ui.status(format!("{name}: stopped; removed build/"));
        return Ok(Ran::default());
    }
    if !matches!(spec.action, Action::Up { detach: true, .. }) {
        ctx.ui.status(format!("{name}: Compose ended"));
        return Ok(Ran::default());
    }
    // The model names the one-shot services, the backend's address and the addresses to show;
    // the pre-flight read it already, unless it was skipped.
    let model = model.or_else(|| preflight::read_model(ctx, &compose_cmd).ok());
    let dashboard = resolved.get("RAY_DASHBOARD_PORT").and_then(|e| e.value.trim().parse::<u16>().ok());
    let found = model.as_ref().map(|m| addresses::addresses(m, dashboard)).unwrap_or_default();
    if !waits {
        ctx.ui.status(format!("{name}: started; not waiting until it is ready (--no-wait)"));
        return Ok(Ran { addresses: found, ready_after: None });
    }
    let took = wait_until_ready(ctx, target, &compose_cmd, model.as_ref(), timeout)?;
    drop(lock);
    ctx.ui.status(format!("{name}: ready after {} s", took.as_secs()));
    Ok(Ran { addresses: found, ready_after: Some(took) })
}

/// Says which configuration keys exported in the shell are kept from Compose.
fn warn_exported(ctx: &Context, resolved: &ResolvedConfig, exported: &[String]) {
    if exported.is_empty() {
        return;
    }
    let derived = |key: &String| resolved.get(key).is_some_and(|e| matches!(e.origin, Origin::Derived { .. }));
    let advice = if exported.iter().any(derived) {
        "set values in ~/.lumigator/user.conf instead; ARCH, RAY_ARCH_SUFFIX and COMPUTE_TYPE come from the host \
         and RAY_WORKER_GPUS (or --gpus)"
    } else {
        "set values in ~/.lumigator/user.conf instead"
    };
    ctx.ui.warning(format!(
        "not passing {} from your shell to Compose: build/.env is the configuration ({advice})",
        exported.join(", ")
    ));
}

/// What to do after a start whose Compose failed: look, check, stop. build/.env stays, so that
/// the stop task finds what the start used.
fn next_steps(target: ComposeTarget) -> String {
    let name = target.name();
    let stop = target.stop_task().name();
    format!(
        "`cargo xtask local-logs` shows what the services said, `cargo xtask doctor --task {name}` checks this \
         machine\nthe stack may be partly running: `cargo xtask {stop}` stops it; build/.env, which holds a copy of \
         the secret key, is kept until then"
    )
}

/// A start's failure once Compose ran, with what to do next. A Compose that the user stopped
/// (Ctrl-C: 130, SIGTERM: 143) needs no advice.
fn after_failed_start(target: ComposeTarget, err: TaskError) -> TaskError {
    match err {
        TaskError::Command { code: 130 | 143, .. } | TaskError::Reported(_) => err,
        err => err.with_help(next_steps(target)),
    }
}

/// Waits until the stack `compose_cmd` started is ready, saying each change of a service's
/// standing on stderr. On a failure, a timeout or an interruption, shows the end of the log of
/// the services concerned and fails with what to do next; the stack keeps running.
fn wait_until_ready(
    ctx: &Context,
    target: ComposeTarget,
    compose_cmd: &Cmd,
    model: Option<&Model>,
    timeout: Duration,
) -> Result<Duration, TaskError> {
    let name = target.name();
    let rules = Rules::from_model(model);
    ctx.ui.status(format!("{name}: waiting up to {} s until every service is ready", timeout.as_secs()));
    let mut observer = ComposeObserver::new(ctx, compose_cmd);
    let mut clock = SystemClock::start();
    let outcome = readiness::wait(&mut observer, &mut clock, &rules, timeout, readiness::POLL, &mut |change| {
        let (service, standing, at) = change;
        ctx.ui.status(format!("{service}: {} ({} s)", standing.text(), at.as_secs()));
    });
    let stop = target.stop_task().name();
    let keeps_running = format!(
        "the stack keeps running: `cargo xtask {stop}` stops it and removes build/.env (kept until then: it holds a \
         copy of the secret key)"
    );
    let (what, show, help) = match outcome {
        Outcome::Ready { took } => return Ok(took),
        Outcome::Failed { service, why } => {
            let help = format!(
                "`cargo xtask local-logs {service}` shows its whole log, `cargo xtask doctor --task {name}` checks this \
                 machine\n{keeps_running}"
            );
            (format!("{name}: {service} is not ready: {why}"), vec![service], help)
        }
        Outcome::TimedOut { waiting } => {
            let names: Vec<String> = waiting.iter().map(|(n, _)| n.clone()).filter(|n| n != "compose ps").collect();
            let states: Vec<String> = waiting.iter().map(|(n, s)| format!("{n}: {s}")).collect();
            let help = format!(
                "`cargo xtask local-logs {}` shows more, `cargo xtask doctor --task {name}` checks this machine; \
                 `--wait-timeout SECONDS` waits longer (a first start downloads images and packages)\n{keeps_running}",
                names.join(" ")
            );
            let what = if names.is_empty() {
                format!(
                    "{name}: Compose could not say within {} s whether the stack is ready ({})",
                    timeout.as_secs(),
                    states.join("; ")
                )
            } else {
                format!(
                    "{name}: {} not ready after {} s ({})",
                    plural(names.len(), "service"),
                    timeout.as_secs(),
                    states.join("; ")
                )
            };
            (what, names, help)
        }
        Outcome::Vanished => {
            let what = format!("{name}: no container of the stack is left (removed while the task waited?)");
            (what, Vec::new(), format!("`cargo xtask {name}` starts it again"))
        }
        Outcome::Interrupted => {
            let code = signals::stop_if_interrupted().err().map_or(130, |err| err.exit_code());
            return Err(TaskError::Interrupted(code).with_help(keeps_running));
        }
    };
    for service in &show {
        show_log_tail(ctx, compose_cmd, service);
    }
    Err(TaskError::unmet(what, help))
}

/// Shows the last [`LOG_LINES`] lines of `service`'s log on stderr.
fn show_log_tail(ctx: &Context, compose_cmd: &Cmd, service: &str) {
    let lines = LOG_LINES.to_string();
    let logs = compose::with_action_cmd(compose_cmd, &["logs", "--tail", &lines, service]);
    let heading = format!("the last {LOG_LINES} lines of {service}'s log:");
    let answer = ctx.runner.start(&logs).and_then(|started| started.finish_within(Duration::from_secs(10)));
    match answer {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let text = if text.trim().is_empty() { "(empty)".into() } else { text };
            ctx.ui.excerpt(heading, &text);
        }
        Ok(out) => ctx.ui.excerpt(heading, &format!("(cannot read it: {})", last_line(&out.stderr))),
        Err(err) => ctx.ui.excerpt(heading, &format!("(cannot read it: {})", err.what().unwrap_or_default())),
    }
}

/// The Compose files and profile `local-logs` reads: those of `stop-lumigator`, which cover the
/// services of every start task (the `local` profile's and PostgreSQL included), so that any of
/// them can be named.
const LOGS_TARGET: ComposeTarget = ComposeTarget::StopLumigator;

/// `local-logs`: the stack's logs. Uses build/.env when a start left one; otherwise the
/// configuration in a temporary env file (Compose needs the values to read the files), and when
/// no container of the stack exists either, says so in one line.
pub fn logs(ctx: &Context, args: &LogsArgs) -> Result<(), TaskError> {
    let compose = compose_for(ctx)?;
    let left = ctx.project.env_file.is_file();
    let temporary = if left || ctx.dry_run {
        None
    } else {
        let resolved = env_step::usable_config(ctx, "local-logs")?;
        let mut resolved = redacted(&resolved);
        compose::apply_host_values(&mut resolved, None);
        let file = TempEnvFile::create("logs", &lumigator_conf::render::render_env(&resolved)).map_err(|err| {
            TaskError::Io { what: "cannot write a temporary env file".into(), reason: err.to_string() }
        })?;
        Some(file)
    };
    let env_file = match &temporary {
        Some(file) => file.path().to_path_buf(),
        None if left => ctx.project.env_file.clone(),
        None => std::path::PathBuf::from("<temporary env file with the configuration>"),
    };
    let base = Cmd::from_argv(&ctx.project.root, &compose::compose_argv(&compose, &env_file, LOGS_TARGET, false));
    if temporary.is_some() {
        let ps = compose::with_action_cmd(&base, &["ps", "--all", "--format", "json"]);
        let out = ctx.runner.output(&ps)?;
        let none = out.status.success()
            && readiness::parse_ps(&String::from_utf8_lossy(&out.stdout)).is_ok_and(|c| c.is_empty());
        if none {
            ctx.ui.status(
                "local-logs: nothing to show: no container of Lumigator's stack exists and no start left a \
                 build/.env (`cargo xtask start-lumigator` starts it)",
            );
            return Ok(());
        }
    }
    let mut action = vec!["logs".to_string()];
    if args.follow {
        action.push("--follow".into());
    }
    if let Some(tail) = args.tail {
        action.extend(["--tail".to_string(), tail.to_string()]);
    }
    action.extend(args.compose_args.iter().cloned());
    action.extend(args.services.iter().cloned());
    let action: Vec<&str> = action.iter().map(String::as_str).collect();
    let logs = compose::with_action_cmd(&base, &action);
    if !args.follow || ctx.dry_run {
        return ctx.run_steps(&[logs]);
    }
    // Following ends with Ctrl-C, which reaches Compose too: that is how it is meant to end, so
    // the task exits as interrupted, with nothing more to say.
    signals::defer_interruptions();
    let status = ctx.runner.run(&logs)?;
    drop(temporary);
    if let Err(interrupted) = signals::stop_if_interrupted() {
        return Err(TaskError::Reported(interrupted.exit_code()));
    }
    if status.success() { Ok(()) } else { Err(TaskError::Command { command: logs.line(), code: exit_code(status) }) }
}
