//! Arguments of the test tasks (a table over [`TestSuite`]), `setup` and the OpenAPI tasks. Each
//! test task takes only the options that mean something for it: `--use-config` when a suite it
//! runs gets settings, `--keep-up`/`--yes` when it may start the stack, `--keep-going` when it is
//! a composite.

use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};

use super::table::{Table, TaskTable};
use crate::suites::TestSuite;

/// Running Lumigator's test suites and preparing its Python environments.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum TestTask {
    /// The Makefile's test targets.
    #[command(flatten)]
    Suite(Table<TestSuite>),
    /// Create and sync the Python environment of each of Lumigator's packages and of the root (uv)
    ///
    /// For each folder under lumigator/ with a pyproject.toml (none inside a .venv), then for the
    /// root: `uv venv` (unless the .venv exists), `uv sync` and `uv sync --dev`, one progress line
    /// per project. Without uv, prints how to install it and stops; it never downloads and runs an
    /// installer itself.
    Setup,
}

/// Keeping the OpenAPI specification in the docs up to date.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum DocsTask {
    /// Write the backend's OpenAPI specification to docs/source/specs/openapi.json
    ///
    /// Runs `python -m backend.openapi_spec` in lumigator/backend with the test settings; needs
    /// no running stack.
    #[command(name = "update-openapi-docs")]
    UpdateOpenapiDocs,
    /// Check that docs/source/specs/openapi.json is the backend's OpenAPI specification
    ///
    /// Generates the specification into a temporary file (always removed) and compares it with the
    /// file, ignoring line breaks. On a difference, shows it and exits 1: run update-openapi-docs.
    #[command(name = "check-openapi-docs")]
    CheckOpenapiDocs,
}

/// Arguments of a test task, whichever it is (options it does not take stay at their defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestArgs {
    /// `--use-config`: the configuration instead of the test settings.
    pub use_config: bool,
    /// `--debugpy`: wait for a debugger.
    pub debugpy: bool,
    /// `--keep-going` (composites).
    pub keep_going: bool,
    /// `--keep-up` (tasks that may start the stack).
    pub keep_up: bool,
    /// `--yes` (tasks that may find the stack running).
    pub yes: bool,
    /// Arguments after `--`, for pytest.
    pub pytest: Vec<String>,
}

/// Options of every test task.
#[derive(Debug, Args)]
struct PytestArgs {
    /// Wait for a debugger on port 5679 before the tests start (`-m debugpy`); DEBUGPY=true too
    #[arg(long)]
    debugpy: bool,
    /// Arguments for pytest, after `--` (e.g. `-- -k secrets -x`); a composite gives them to each suite
    #[arg(last = true, value_name = "PYTEST_ARGS")]
    pytest: Vec<String>,
}

/// Options of the tasks whose suites get settings.
#[derive(Debug, Args)]
struct SettingsArgs {
    /// Give the tests the resolved configuration (.default.conf, user.conf, the key) instead of the
    /// test settings; USE_ENV_FILE=true too
    #[arg(long)]
    use_config: bool,
}

/// Options of the tasks that may start the stack.
#[derive(Debug, Args)]
struct StackArgs {
    /// Leave a stack the task started running after the tests; KEEP_CONTAINERS_UP=TRUE too
    #[arg(long)]
    keep_up: bool,
    /// Run the tests against a stack that is already running without asking; AUTO_TEST_RUN=y too
    #[arg(long, short = 'y')]
    yes: bool,
}

/// Options of the composites.
#[derive(Debug, Args)]
struct CompositeArgs {
    /// Run every suite even after one fails (make -k); the status is still non-zero
    #[arg(long)]
    keep_going: bool,
}

impl TaskTable for TestSuite {
    type Args = TestArgs;

    fn long_about(self) -> Option<&'static str> {
        Some(if self.may_start_stack() {
            "When a container of this checkout's stack runs, the tests use it (after asking, or with --yes \
             or AUTO_TEST_RUN=y) and leave it running. When none does, the task starts the stack as \
             start-lumigator-build does, runs the tests, and stops it again, also when the tests fail or \
             Ctrl-C stops them, unless --keep-up. The exit status is pytest's."
        } else if self.is_composite() {
            "Runs the suites in the Makefile's order and stops at the first failure unless --keep-going; \
             ends with a table of each suite's result and time."
        } else {
            "Runs pytest through `uv run` in the suite's folder, with the Makefile's arguments. The exit \
             status is pytest's."
        })
    }

    fn augment_args(self, mut cmd: Command) -> Command {
        if self.takes_settings() {
            cmd = SettingsArgs::augment_args(cmd);
        }
        if self.may_start_stack() {
            cmd = StackArgs::augment_args(cmd);
        }
        if self.is_composite() {
            cmd = CompositeArgs::augment_args(cmd);
        }
        PytestArgs::augment_args(cmd)
    }

    fn args_from(self, matches: &ArgMatches) -> Result<TestArgs, clap::Error> {
        let pytest = PytestArgs::from_arg_matches(matches)?;
        let mut args = TestArgs { debugpy: pytest.debugpy, pytest: pytest.pytest, ..TestArgs::default() };
        if self.takes_settings() {
            args.use_config = SettingsArgs::from_arg_matches(matches)?.use_config;
        }
        if self.may_start_stack() {
            let stack = StackArgs::from_arg_matches(matches)?;
            (args.keep_up, args.yes) = (stack.keep_up, stack.yes);
        }
        if self.is_composite() {
            args.keep_going = CompositeArgs::from_arg_matches(matches)?.keep_going;
        }
        Ok(args)
    }
}
