//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Lumigator's developer tasks: configure and run the local Docker Compose stack.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, max_term_width = 100)]
#[command(subcommand_help_heading = "Tasks", subcommand_value_name = "TASK")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub task: Task,
}

/// Options every task takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The Lumigator checkout to work on (it must hold a .default.conf) [default: this workspace]
    #[arg(long, global = true, value_name = "DIR")]
    pub project_dir: Option<PathBuf>,
    /// Print what the task would run and write, with secrets redacted, and change nothing
    #[arg(long, global = true)]
    pub dry_run: bool,
}

/// The tasks.
#[derive(Debug, Subcommand)]
pub enum Task {
    /// Create ~/.lumigator/lumigator.key if it is missing, and fix the modes of the key and its folder
    ///
    /// The key encrypts the secrets Lumigator stores. It is 32 random bytes from the operating
    /// system, base64-encoded, created once with mode 0600 in a 0700 folder. An existing key is
    /// never replaced; an invalid one is reported and left as it is.
    ConfigGenerateKey,
    /// Merge .default.conf, ~/.lumigator/user.conf and the secret key into build/.env
    ///
    /// Removes earlier build files, runs the key step, merges (user.conf wins), resolves ${VAR}
    /// references, checks the result like config-check and, when there is no error, writes
    /// build/.env atomically with mode 0600. On an error nothing is written and build/ is removed.
    ConfigGenerateEnv,
    /// Remove build/ (it holds a copy of the secret key while the stack runs)
    ConfigClean,
    /// Check the configuration: value types, unknown settings, API keys in conf files
    ///
    /// Exits non-zero when a value has the wrong type or a conf file holds a provider API key;
    /// warns about unknown keys in user.conf (suggesting the closest setting), undefined
    /// variables, and an external Ray cluster paired with the local MinIO. Changes nothing.
    ConfigCheck(CheckArgs),
    /// Show the merged settings in order, with the file and line each value comes from
    ///
    /// Like `git config --list --show-origin`. Secrets are shown as ******** unless --reveal.
    /// Changes nothing on disk.
    ConfigShow(ShowArgs),
    /// Start the development stack in the foreground, with file sync and rebuilds (Ctrl-C stops it)
    ///
    /// Needs Lumigator's sources. Runs `uv sync` and `uv run pre-commit install` first when the
    /// project has a pyproject.toml, then `docker compose ... up --watch --build` with the
    /// development override.
    LocalUp(StartArgs),
    /// Stop the development stack and remove build/
    LocalDown(GpuArgs),
    /// Show the stack's logs
    LocalLogs,
    /// Start Lumigator with the published images, in the background
    StartLumigator(StartArgs),
    /// Start Lumigator with PostgreSQL instead of SQLite, in the background
    StartLumigatorPostgres(StartArgs),
    /// Build Lumigator's images from the sources, then start them in the background
    StartLumigatorBuild(StartArgs),
    /// Build from the sources and start with PostgreSQL, in the background
    StartLumigatorBuildPostgres(StartArgs),
    /// Start only Lumigator's backend and frontend: MinIO, Redis, Ray and MLflow are external
    ///
    /// Point AWS_ENDPOINT_URL, RAY_HEAD_NODE_HOST and MLFLOW_TRACKING_URI at the external services
    /// in ~/.lumigator/user.conf first.
    StartLumigatorExternalServices(StartArgs),
    /// Stop Lumigator (any start task's stack, PostgreSQL included) and remove build/
    ///
    /// build/ is removed even when Compose fails, so no copy of the secret key stays behind; the
    /// task then exits with Compose's status.
    StopLumigator(GpuArgs),
    /// Remove Docker's whole build cache (`docker builder prune --all`)
    CleanDockerBuildcache,
    /// Remove stopped Lumigator containers (by their product label)
    CleanDockerContainers(YesArgs),
    /// Remove Lumigator's images (mzdotai/*) and dangling images
    CleanDockerImages(YesArgs),
    /// Run all three clean-docker tasks
    CleanDockerAll(YesArgs),
    /// Check what a task needs from this machine, changing nothing: Docker, Compose, the engine's
    /// memory and CPUs, free ports, the key, the configuration, the sources
    ///
    /// One row per check: ok, warning or problem, with what to do for each warning and problem.
    /// Exits non-zero when the task would not start. The start tasks run the port, daemon and CPU
    /// checks themselves after writing build/.env (`--skip-preflight` skips them).
    Doctor(DoctorArgs),
    #[command(flatten)]
    Secrets(crate::tasks::secrets::SecretTask),
}

/// Arguments of the tasks that run the stack.
#[derive(Debug, Args)]
pub struct GpuArgs {
    /// Number of GPUs for Ray workers for this run, overriding RAY_WORKER_GPUS (1 or more adds the
    /// GPU override and the GPU Ray image; 0 turns it off)
    #[arg(long, value_name = "N")]
    pub gpus: Option<u32>,
}

/// Arguments of the tasks that start the stack.
#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub gpu: GpuArgs,
    /// Start without the pre-flight checks (ports held by other programs, the daemon, the engine's
    /// CPUs), which otherwise stop the task before Compose starts anything
    #[arg(long)]
    pub skip_preflight: bool,
}

/// Arguments of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The task to check for: any task that runs Compose
    #[arg(long, value_name = "TASK", default_value = "start-lumigator",
          value_parser = clap::builder::PossibleValuesParser::new(crate::tasks::compose::TARGETS.map(|t| t.name)))]
    pub task: String,
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

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people, on stderr (findings) or stdout (listings)
    #[default]
    Text,
    /// For scripts, on stdout
    Json,
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
