//! Command-line arguments: every task is an enum variant, grouped by what it is about. This module
//! only describes arguments; it imports no task, and tasks import it.
//!
//! clap lists subcommands under one heading, so [`command`] renders the task list itself, one
//! heading per group of [`GROUPS`], from the same clap definitions (names and help lines).

pub mod export;
pub mod format;
pub mod secrets;
pub mod table;
pub mod testing;

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{ArgMatches, Args, Command, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::compose::{Action, ComposeTarget};
use crate::host::GpuCount;
pub use export::{ExportArgs, ExportFormat, RunArgs};
pub use format::Format;
pub use secrets::SecretTask;
use table::{Table, TaskTable};
pub use testing::{DocsTask, TestArgs, TestTask};

/// Lumigator's developer tasks: configure and run the local Docker Compose stack.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, max_term_width = 100)]
#[command(subcommand_value_name = "TASK")]
pub struct Cli {
    /// Options every task takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The task to run.
    #[command(subcommand)]
    pub task: Task,
}

/// Options every task takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The Lumigator checkout to work on (it must hold a .default.conf) [default: this workspace]
    #[arg(long, global = true, value_name = "DIR")]
    pub project_dir: Option<PathBuf>,
    /// Print what the task would run and write (on stdout), with secrets redacted, and change nothing
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Do not echo the commands the task runs, nor its progress (warnings and errors stay)
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Echo every command, probes included, with its folder and environment changes
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
}

/// The tasks, by group; each group is listed under its own heading in `--help`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Task {
    /// Starting, stopping and watching the stack.
    #[command(flatten)]
    Stack(StackTask),
    /// The configuration and the secret key.
    #[command(flatten)]
    Config(ConfigTask),
    /// Removing Docker objects and generated files.
    #[command(flatten)]
    Clean(CleanTask),
    /// Provider API keys in the running backend.
    #[command(flatten)]
    Secret(SecretTask),
    /// Checking the machine.
    #[command(flatten)]
    Diagnostics(DiagnosticsTask),
    /// Running the test suites; preparing the Python environments.
    #[command(flatten)]
    Test(TestTask),
    /// The OpenAPI specification in the docs.
    #[command(flatten)]
    Docs(DocsTask),
}

/// A group of tasks under one heading of `--help`.
pub struct Group {
    /// The heading.
    pub heading: &'static str,
    /// Adds the group's tasks to a command (its `Subcommand::augment_subcommands`).
    pub tasks: fn(Command) -> Command,
}

/// The groups, in the order `--help` lists them. A test checks that every task is in one.
pub const GROUPS: [Group; 7] = [
    Group { heading: "Stack", tasks: StackTask::augment_subcommands },
    Group { heading: "Configuration", tasks: ConfigTask::augment_subcommands },
    Group { heading: "Tests", tasks: TestTask::augment_subcommands },
    Group { heading: "Docs", tasks: DocsTask::augment_subcommands },
    Group { heading: "Cleaning", tasks: CleanTask::augment_subcommands },
    Group { heading: "Secrets", tasks: SecretTask::augment_subcommands },
    Group { heading: "Diagnostics", tasks: DiagnosticsTask::augment_subcommands },
];

/// Starting, stopping and watching the stack.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum StackTask {
    /// The Makefile's Compose targets.
    #[command(flatten)]
    Compose(Table<ComposeTarget>),
    /// Show the stack's logs: every service, or the ones named
    ///
    /// Runs `docker compose ... logs` for any start task's stack (the `local` profile and the
    /// PostgreSQL override included, so every service can be named), with build/.env when a start
    /// left one, else with the configuration in a temporary env file. When no container of the
    /// stack exists and there is no build/.env, says so in one line.
    LocalLogs(LogsArgs),
}

/// The configuration and the secret key.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ConfigTask {
    /// Create ~/.lumigator/lumigator.key if it is missing, and fix the modes of the key and its folder
    ///
    /// The key encrypts the secrets Lumigator stores. It is 32 random bytes from the operating
    /// system, base64-encoded, created once with mode 0600 in a 0700 folder. An existing key is
    /// never replaced; an invalid one is reported and left as it is.
    #[command(name = "config-generate-key")]
    GenerateKey,
    /// Merge .default.conf, ~/.lumigator/user.conf and the secret key into build/.env
    ///
    /// Removes earlier build files, runs the key step, merges (user.conf wins), resolves ${VAR}
    /// references, checks the result like config-check and, when there is no error, writes
    /// build/.env atomically with mode 0600. On an error nothing is written and build/ is removed.
    #[command(name = "config-generate-env")]
    GenerateEnv,
    /// Check the configuration: value types, unknown settings, API keys in conf files
    ///
    /// Exits non-zero when a value has the wrong type or a conf file holds a provider API key;
    /// warns about unknown keys in user.conf (suggesting the closest setting), undefined
    /// variables, and an external Ray cluster paired with the local MinIO. Changes nothing.
    #[command(name = "config-check")]
    Check(CheckArgs),
    /// Show the merged settings in order, with the file and line each value comes from
    ///
    /// Like `git config --list --show-origin`. Secrets are shown as ******** unless --reveal.
    /// Changes nothing on disk.
    #[command(name = "config-show")]
    Show(ShowArgs),
    /// Write the resolved configuration for another consumer: a shell, a CI step, Kubernetes, Helm
    ///
    /// The settings as `config-show` lists them (resolved, in order), in the format asked for.
    /// Secrets (the key and every secret setting) are written only with --with-secrets; without it
    /// they are left out and named on stderr. --output writes the file atomically with mode 0600.
    /// Changes nothing else.
    #[command(name = "config-export")]
    Export(ExportArgs),
    /// Run a command with the resolved configuration in its environment, writing nothing
    ///
    /// CMD gets every setting, the secret key included, byte for byte as resolved (no file, no
    /// second parse). Settings win over variables of your environment with the same name, as for
    /// Compose; the task names (never the values of) those it replaced. stdin, stdout and stderr are
    /// CMD's, SIGTERM is passed on, and the exit status is CMD's (128 + N for signal N). Creates the
    /// key if it is missing, as a start would.
    Run(RunArgs),
}

/// Removing Docker objects and generated files.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum CleanTask {
    /// Remove build/ (it holds a copy of the secret key while the stack runs)
    ConfigClean,
    /// The Makefile's clean-docker targets.
    #[command(flatten)]
    Docker(DockerCleanTask),
    /// Run clean-docker-buildcache, clean-docker-containers and config-clean
    #[command(name = "clean-all")]
    All(YesArgs),
}

/// The Makefile's clean-docker targets.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum DockerCleanTask {
    /// Remove Docker's whole build cache (`docker builder prune --all`)
    #[command(name = "clean-docker-buildcache")]
    Buildcache,
    /// Remove stopped Lumigator containers (by their product label)
    #[command(name = "clean-docker-containers")]
    Containers(YesArgs),
    /// Remove Lumigator's images (mzdotai/*) and dangling images
    #[command(name = "clean-docker-images")]
    Images(YesArgs),
    /// Run all three clean-docker tasks
    #[command(name = "clean-docker-all")]
    All(YesArgs),
}

/// Checking the machine.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum DiagnosticsTask {
    /// Check what a task needs from this machine, changing nothing: Docker, Compose, the engine's
    /// memory and CPUs, free ports, the key, the configuration, the sources
    ///
    /// One row per check: ok, warning or problem, with what to do for each warning and problem.
    /// Exits non-zero when the task would not start. The start tasks run the port, daemon and CPU
    /// checks themselves after writing build/.env (`--skip-preflight` skips them).
    Doctor(DoctorArgs),
}

/// Arguments of a compose task, whichever kind it is. `Default` is what a start without flags
/// does (other tasks that start the stack build it that way).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComposeArgs {
    /// `--gpus`: overrides `RAY_WORKER_GPUS` for this run.
    pub gpus: Option<GpuCount>,
    /// `--skip-preflight` (start tasks only).
    pub skip_preflight: bool,
    /// `--no-wait` (detached start tasks only): return once Compose has started the services.
    pub no_wait: bool,
    /// `--wait-timeout` in seconds; `None` is [`DEFAULT_WAIT_TIMEOUT`].
    pub wait_timeout: Option<u64>,
}

/// How long a start waits for the stack to be ready, in seconds, unless told otherwise.
pub const DEFAULT_WAIT_TIMEOUT: u64 = 300;

impl TaskTable for ComposeTarget {
    type Args = ComposeArgs;

    fn long_about(self) -> Option<&'static str> {
        self.spec().long_about
    }

    fn augment_args(self, cmd: Command) -> Command {
        match self.spec().action {
            Action::Down => GpuArgs::augment_args(cmd),
            Action::Up { detach: true, .. } => DetachedStartArgs::augment_args(cmd),
            Action::Up { detach: false, .. } => StartArgs::augment_args(cmd),
        }
    }

    fn args_from(self, matches: &ArgMatches) -> Result<ComposeArgs, clap::Error> {
        Ok(match self.spec().action {
            Action::Down => ComposeArgs { gpus: GpuArgs::from_arg_matches(matches)?.gpus, ..ComposeArgs::default() },
            Action::Up { detach: true, .. } => {
                let args = DetachedStartArgs::from_arg_matches(matches)?;
                ComposeArgs {
                    gpus: args.start.gpu.gpus,
                    skip_preflight: args.start.skip_preflight,
                    no_wait: args.wait.no_wait,
                    wait_timeout: args.wait.wait_timeout,
                }
            }
            Action::Up { detach: false, .. } => {
                let args = StartArgs::from_arg_matches(matches)?;
                ComposeArgs { gpus: args.gpu.gpus, skip_preflight: args.skip_preflight, ..ComposeArgs::default() }
            }
        })
    }
}

/// Arguments of the tasks that run the stack.
#[derive(Debug, Args)]
pub struct GpuArgs {
    /// GPUs for Ray workers for this run, overriding RAY_WORKER_GPUS: any value it takes (1, 1.0,
    /// 0.5); 1 or more adds the GPU override and the GPU Ray image, less turns it off
    #[arg(long, value_name = "N", value_parser = GpuCount::parse)]
    pub gpus: Option<GpuCount>,
}

/// Arguments of the tasks that start the stack.
#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub gpu: GpuArgs,
    /// Start without the pre-flight checks (ports held by other programs, the daemon, the engine's
    /// CPUs, the NVIDIA runtime), which otherwise stop the task before Compose starts anything
    #[arg(long)]
    pub skip_preflight: bool,
}

/// Arguments of the tasks that start the stack in the background.
#[derive(Debug, Args)]
pub struct DetachedStartArgs {
    #[command(flatten)]
    pub start: StartArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Waiting for the stack to be ready after `up -d`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Return as soon as Compose has started the services, without waiting until they are ready
    #[arg(long, conflicts_with = "wait_timeout")]
    pub no_wait: bool,
    /// Give up waiting after this many seconds (the stack keeps running) [default: 300]
    #[arg(long, value_name = "SECONDS")]
    pub wait_timeout: Option<u64>,
}

/// Arguments of `local-logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The services to show (backend, ray, ...); all of them when none is named
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Keep printing new lines as they come (Ctrl-C stops)
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only the last N lines of each service
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
    /// More options for `docker compose logs`, after `--` (such as `-- --timestamps --since 10m`)
    #[arg(last = true, value_name = "COMPOSE_ARGS", allow_hyphen_values = true)]
    pub compose_args: Vec<String>,
}

/// Arguments of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The task to check for: any task that runs Compose
    #[arg(long, value_name = "TASK", value_enum, default_value = "start-lumigator")]
    pub task: ComposeTarget,
    #[command(flatten)]
    pub gpu: GpuArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Arguments of the tasks that delete Docker objects.
#[derive(Debug, Args)]
pub struct YesArgs {
    /// Do not ask for confirmation (passes -f to docker's prune commands)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Arguments of `config-check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Arguments of `config-show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Show secret values (the secret key, passwords) instead of ********
    #[arg(long)]
    pub reveal: bool,
}

impl Task {
    /// The output format the task was asked for: with JSON, even a failure is one JSON document on
    /// stdout.
    pub fn format(&self) -> Format {
        match self {
            Task::Config(ConfigTask::Check(args)) => args.format,
            Task::Config(ConfigTask::Show(args)) => args.format,
            Task::Diagnostics(DiagnosticsTask::Doctor(args)) => args.format,
            Task::Secret(SecretTask::List(args)) => args.format,
            Task::Config(ConfigTask::Export(args)) if args.format == ExportFormat::Json => Format::Json,
            _ => Format::Text,
        }
    }
}

/// The command line with the task list rendered under the headings of [`GROUPS`].
pub fn command() -> Command {
    let cmd = Cli::command();
    let styles = cmd.get_styles().clone();
    let (header, literal) = (styles.get_header(), styles.get_literal());
    let groups: Vec<(&str, Command)> =
        GROUPS.iter().map(|group| (group.heading, (group.tasks)(Command::new("group")))).collect();
    let width = groups
        .iter()
        .flat_map(|(_, cmd)| cmd.get_subcommands())
        .map(|task| task.get_name().chars().count())
        .max()
        .unwrap_or(0);
    let mut tasks = String::new();
    for (heading, group) in &groups {
        let _ = writeln!(tasks, "{header}{heading}:{header:#}");
        for task in group.get_subcommands() {
            let name = task.get_name();
            let padding = " ".repeat(width - name.chars().count() + 2);
            let about = task.get_about().map(|a| a.to_string()).unwrap_or_default();
            let _ = writeln!(tasks, "  {literal}{name}{literal:#}{padding}{}", wrap(&about, width + 4, 100));
        }
        tasks.push('\n');
    }
    // clap's template language keeps an unknown `{word}` as written, so help lines need no
    // escaping (a test checks that each one appears in the help as written).
    let template = format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{tasks}{header}Options:{header:#}\n{{options}}{{after-help}}"
    );
    cmd.help_template(template)
}

/// `text` wrapped at word boundaries to `width` columns, lines after the first indented by
/// `indent` (the column where it starts).
fn wrap(text: &str, indent: usize, width: usize) -> String {
    let room = width.saturating_sub(indent).max(20);
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines.join(&format!("\n{}", " ".repeat(indent)))
}

/// Parses the command line, exiting with clap's message (status 2) when it is unusable.
///
/// The grouped task list is rendered only when help is asked for: every run pays for parsing, and
/// rendering the list would be most of it.
pub fn parse() -> Cli {
    use clap::error::ErrorKind;
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(err)
            if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand) =>
        {
            command().get_matches()
        }
        Err(err) => err.exit(),
    };
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--help` lists tasks from `GROUPS` only: a group missing there would hide its tasks from
    /// the help (and from the tests that read the task list from it) while they still run.
    #[test]
    fn every_task_is_under_exactly_one_heading() {
        let mut grouped: Vec<String> = GROUPS
            .iter()
            .flat_map(|group| {
                (group.tasks)(Command::new("group"))
                    .get_subcommands()
                    .map(|t| t.get_name().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut parsed: Vec<String> = Cli::command().get_subcommands().map(|t| t.get_name().to_string()).collect();
        grouped.sort();
        parsed.sort();
        assert_eq!(grouped, parsed);
        Cli::command().debug_assert();
    }
}
