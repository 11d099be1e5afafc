//! The test tasks: the Makefile's `test-*` targets. What each runs is [`crate::suites`]; its
//! environment, [`crate::test_env`]; starting and stopping the stack, [`crate::stack`].
//!
//! Deliberate differences from the Makefile: uv is checked before anything runs; the environment
//! is built in memory (no `build/.env`, no shell parsing, no values echoed); a
//! `SQLALCHEMY_DATABASE_URL` of the caller's wins; the `*-containers` suites look for this
//! checkout's containers only, never wait for an answer that cannot come, and stop the stack they
//! started on failure and Ctrl-C too; composites end with a summary and can `--keep-going`.

use std::cell::Cell;
use std::io::IsTerminal;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::checks;
use crate::cli::{ComposeArgs, TestArgs};
use crate::compose::ComposeTarget;
use crate::context::Context;
use crate::env_step::process_env;
use crate::error::TaskError;
use crate::runner::Cmd;
use crate::signals;
use crate::stack;
use crate::stack_status::{self, Which};
use crate::suites::{Pytest, SuiteSpec, TestSuite};
use crate::test_env::{self, Settings, Source};
use crate::ui::plural;

/// What one run of a test task was asked, from its options and the caller's environment (the
/// Makefile's variables).
struct Options {
    /// `--debugpy` or `DEBUGPY=true`.
    debugpy: bool,
    /// `--keep-up` or `KEEP_CONTAINERS_UP=TRUE`.
    keep_up: bool,
    /// `--yes` or `AUTO_TEST_RUN=y`: `Some(true)`; `AUTO_TEST_RUN=n`: `Some(false)`; also the
    /// answer given at the terminal, so a composite asks once.
    answer: Cell<Option<bool>>,
    /// `--keep-going`.
    keep_going: bool,
    /// Arguments for pytest.
    pytest: Vec<String>,
    /// The settings, when a suite of the task takes them (loaded once).
    settings: Option<Settings>,
}

/// Whether the caller's variable `name` is `true` (in any case), as the Makefile tested it.
fn env_true(name: &str) -> bool {
    process_env(name).is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

/// `AUTO_TEST_RUN`, read as the Makefile read it: unset or empty is no answer, `y...` yes, `n...`
/// no, anything else an error.
fn auto_test_run() -> Result<Option<bool>, TaskError> {
    match process_env("AUTO_TEST_RUN").as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => yes_or_no(value).map(Some).ok_or_else(|| {
            TaskError::usage(
                format!("AUTO_TEST_RUN={value:?} is neither yes nor no"),
                "set AUTO_TEST_RUN=y to test against a running stack, or AUTO_TEST_RUN=n to refuse",
            )
        }),
    }
}

/// An answer starting with y or n (any case), as the Makefile's `case` matched it.
fn yes_or_no(answer: &str) -> Option<bool> {
    match answer.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('y') => Some(true),
        Some('n') => Some(false),
        _ => None,
    }
}

/// Runs a test task.
pub fn run(ctx: &Context, suite: TestSuite, args: &TestArgs) -> Result<(), TaskError> {
    // Ctrl-C reaches pytest (it is in our process group) and ends the suite; we wait for it, so
    // that a stack this task started is stopped and the status is reported.
    signals::defer_interruptions();
    let answer = if suite.may_start_stack() { if args.yes { Some(true) } else { auto_test_run()? } } else { None };
    if !ctx.dry_run {
        checks::project::require_uv(ctx, &format!("{} runs pytest with it", suite.name()))?;
    }
    let settings = if suite.takes_settings() {
        let source =
            if args.use_config || env_true("USE_ENV_FILE") { Source::Configuration } else { Source::TestSettings };
        Some(test_env::load(ctx, source)?)
    } else {
        None
    };
    let options = Options {
        debugpy: args.debugpy || env_true("DEBUGPY"),
        keep_up: args.keep_up || env_true("KEEP_CONTAINERS_UP"),
        answer: Cell::new(answer),
        keep_going: args.keep_going,
        pytest: args.pytest.clone(),
        settings,
    };
    run_suite(ctx, suite, &options)
}

fn run_suite(ctx: &Context, suite: TestSuite, options: &Options) -> Result<(), TaskError> {
    match suite.spec() {
        SuiteSpec::Pytest(pytest) => run_pytest(ctx, suite, &pytest, options),
        SuiteSpec::WithStack(inner) => with_stack(ctx, inner, options),
        SuiteSpec::Parts(_) => composite(ctx, suite, options),
    }
}

/// One pytest run, through `uv run`, in the suite's folder.
fn run_pytest(ctx: &Context, suite: TestSuite, pytest: &Pytest, options: &Options) -> Result<(), TaskError> {
    let dir = ctx.project.root.join(pytest.dir);
    if !ctx.dry_run && !dir.is_dir() {
        return Err(TaskError::unmet(
            format!("{} has no {}: {} runs its tests there", ctx.project.root.display(), pytest.dir, suite.name()),
            "run it in a Lumigator source checkout, or point --project-dir at one",
        ));
    }
    let settings = options.settings.as_ref().filter(|_| pytest.settings);
    let with = settings.map_or("no settings".to_string(), |s| s.source.describe().to_string());
    ctx.ui.status(format!("{}: pytest in {}, with {with}", suite.name(), pytest.dir));
    let cmd = Cmd::new(&dir, "uv").args(pytest.uv_args(options.debugpy, &options.pytest)).envs(test_env::for_pytest(
        pytest,
        settings,
        &process_env,
    ));
    if ctx.dry_run {
        ctx.print_plan(&[cmd]);
        return Ok(());
    }
    ctx.runner.run_checked(&cmd)
}

/// `inner` against this checkout's stack: the running one (never stopped), or one started for
/// the tests and stopped after them, whatever happened.
fn with_stack(ctx: &Context, inner: TestSuite, options: &Options) -> Result<(), TaskError> {
    let start = ComposeTarget::StartLumigatorBuild;
    let stop = ComposeTarget::StopLumigator;
    if ctx.dry_run {
        let then = if options.keep_up { "leave it running (--keep-up)" } else { "stop it (stop-lumigator)" };
        ctx.ui.out(format!(
            "when a container of this checkout's stack runs: would ask, then run {name} only\n\
             when none runs: would start the stack ({}), run {name}, then {then}\n",
            start.name(),
            name = inner.name()
        ));
        stack::run_target(ctx, start, &ComposeArgs::default())?;
        run_suite(ctx, inner, options)?;
        if !options.keep_up {
            stack::run_target(ctx, stop, &ComposeArgs::default())?;
        }
        return Ok(());
    }
    stack::compose_for(ctx)?;
    let running = stack_status::containers(ctx, Which::Running)?;
    if !running.is_empty() {
        confirm(ctx, &running, options)?;
        ctx.ui.status(format!("using the running stack ({}); it stays up", plural(running.len(), "container")));
        return run_suite(ctx, inner, options);
    }
    ctx.ui.status(format!("no container of this checkout's stack runs: starting it ({})", start.name()));
    let tests = match stack::run_target(ctx, start, &ComposeArgs::default()) {
        Ok(()) => run_suite(ctx, inner, options),
        Err(err) => {
            // A start that failed before Compose ran left nothing to stop; one that failed
            // halfway (or was interrupted) may have left containers, running or not.
            if stack_status::containers(ctx, Which::All).unwrap_or_default().is_empty() {
                return Err(err);
            }
            Err(err)
        }
    };
    if options.keep_up {
        ctx.ui.status(format!("leaving the stack running (--keep-up): `cargo xtask {}` stops it", stop.name()));
        return tests;
    }
    // The stop must run even after Ctrl-C; the interruption is reported after it.
    let signal = signals::take_interruption();
    ctx.ui.status(format!("stopping the stack this task started ({})", stop.name()));
    let stopped = stack::run_target(ctx, stop, &ComposeArgs::default());
    match (tests, stopped) {
        (Err(err), Err(stop_err)) => {
            ctx.ui.error(&stop_err);
            Err(err)
        }
        (Err(err), Ok(())) => Err(err),
        (Ok(()), Err(stop_err)) => Err(stop_err),
        (Ok(()), Ok(())) => match signal {
            Some(signal) => Err(TaskError::Interrupted(u8::try_from(128 + signal).unwrap_or(130))),
            None => Ok(()),
        },
    }
}

/// Whether to test against the stack that runs: `--yes` or `AUTO_TEST_RUN`, else the answer at a
/// terminal; with neither, a refusal at once (never a wait for input that cannot come).
fn confirm(ctx: &Context, running: &[String], options: &Options) -> Result<(), TaskError> {
    let refused = |why: &str| {
        TaskError::unmet(
            format!("not testing against the running stack: {why}"),
            "stop it first (`cargo xtask stop-lumigator`) to test against a stack started for the tests",
        )
    };
    let answer = match options.answer.get() {
        Some(answer) => answer,
        None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            ctx.ui.status(format!(
                "this checkout's stack is running ({}: {})",
                plural(running.len(), "container"),
                running.join(", ")
            ));
            ctx.ui.prompt("run the tests against the running stack? [Y/n]");
            match read_answer()? {
                Some(line) if line.trim().is_empty() => true,
                Some(line) => match yes_or_no(line.trim()) {
                    Some(answer) => answer,
                    None => return Err(refused(&format!("{:?} is neither yes nor no", line.trim()))),
                },
                None => return Err(refused("no answer (end of input)")),
            }
        }
        None => {
            return Err(TaskError::unmet(
                format!(
                    "this checkout's stack is already running ({}) and there is no terminal to ask whether \
                     to test against it",
                    plural(running.len(), "container")
                ),
                "pass --yes or set AUTO_TEST_RUN=y to test against it (AUTO_TEST_RUN=n refuses), or stop it \
                 first with `cargo xtask stop-lumigator`",
            ));
        }
    };
    options.answer.set(Some(answer));
    if answer { Ok(()) } else { Err(refused("the answer was no")) }
}

/// A line from the terminal, `None` at end of input. Ctrl-C while waiting stops the task (the
/// read itself would go on: the handlers restart it).
fn read_answer() -> Result<Option<String>, TaskError> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().read_line(&mut line).map(|n| (n > 0).then_some(line));
        let _ = sender.send(read);
    });
    loop {
        match receiver.recv_timeout(Duration::from_millis(50)) {
            Ok(Ok(line)) => return Ok(line),
            Ok(Err(err)) => {
                return Err(TaskError::Io { what: "cannot read the answer".to_string(), reason: err.to_string() });
            }
            Err(mpsc::RecvTimeoutError::Timeout) => signals::stop_if_interrupted()?,
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(None),
        }
    }
}

/// How a suite of a composite ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed(u8),
    NotRun,
}

/// The suites of a composite in order; at the first failure the rest are not run, unless
/// `--keep-going`. A Ctrl-C always stops it. Ends with the table of results.
fn composite(ctx: &Context, suite: TestSuite, options: &Options) -> Result<(), TaskError> {
    let parts = suite.leaves();
    let mut rows: Vec<(TestSuite, Outcome, Option<Duration>)> = Vec::new();
    let mut interrupted = None;
    for (index, part) in parts.iter().copied().enumerate() {
        let stopped = interrupted.is_some()
            || (!options.keep_going && rows.iter().any(|(_, outcome, _)| matches!(outcome, Outcome::Failed(_))));
        if stopped {
            rows.push((part, Outcome::NotRun, None));
            continue;
        }
        ctx.ui.status(format!("{} ({} of {}) ...", part.name(), index + 1, parts.len()));
        let started = Instant::now();
        let result = run_suite(ctx, part, options);
        let elapsed = started.elapsed();
        let outcome = match result {
            Ok(()) => Outcome::Passed,
            Err(err) => {
                if let TaskError::Interrupted(code) = err {
                    interrupted = Some(code);
                }
                ctx.ui.error(&err);
                Outcome::Failed(err.exit_code())
            }
        };
        rows.push((part, outcome, Some(elapsed)));
    }
    if ctx.dry_run {
        return Ok(());
    }
    ctx.ui.out(summary(&rows));
    if let Some(code) = interrupted {
        return Err(TaskError::Interrupted(code));
    }
    let failed: Vec<(String, u8)> = rows
        .iter()
        .filter_map(|(part, outcome, _)| match outcome {
            Outcome::Failed(code) => Some((part.name(), *code)),
            _ => None,
        })
        .collect();
    match failed.first() {
        None => Ok(()),
        Some((_, code)) => {
            let names: Vec<&str> = failed.iter().map(|(name, _)| name.as_str()).collect();
            ctx.ui.problem(
                format!("{} of {} failed: {}", failed.len(), plural(parts.len(), "suite"), names.join(", ")),
                None,
            );
            Err(TaskError::Reported(*code))
        }
    }
}

/// The table a composite ends with: suite, result, seconds.
fn summary(rows: &[(TestSuite, Outcome, Option<Duration>)]) -> String {
    let width = rows.iter().map(|(part, _, _)| part.name().len()).max().unwrap_or(0).max("suite".len());
    let mut table = format!("{:width$}  {:<17}  {:>7}\n", "suite", "result", "seconds");
    for (part, outcome, elapsed) in rows {
        let result = match outcome {
            Outcome::Passed => "passed".to_string(),
            Outcome::Failed(code) => format!("failed (status {code})"),
            Outcome::NotRun => "not run".to_string(),
        };
        let seconds = elapsed.map_or("-".to_string(), |e| format!("{:.1}", e.as_secs_f64()));
        table.push_str(&format!("{:width$}  {result:<17}  {seconds:>7}\n", part.name()));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_the_makefile_read_them() {
        assert_eq!(yes_or_no("y"), Some(true));
        assert_eq!(yes_or_no("Yes please"), Some(true));
        assert_eq!(yes_or_no("N"), Some(false));
        assert_eq!(yes_or_no("maybe"), None);
        assert_eq!(yes_or_no(""), None);
    }

    #[test]
    fn the_summary_lines_up() {
        let rows = [
            (TestSuite::SchemasUnit, Outcome::Passed, Some(Duration::from_millis(3150))),
            (TestSuite::SdkUnit, Outcome::Failed(1), Some(Duration::from_millis(420))),
            (TestSuite::SdkIntegrationContainers, Outcome::NotRun, None),
        ];
        insta::assert_snapshot!(summary(&rows), @r"
        suite                            result             seconds
        test-schemas-unit                passed                 3.1
        test-sdk-unit                    failed (status 1)      0.4
        test-sdk-integration-containers  not run                  -
        ");
    }
}
