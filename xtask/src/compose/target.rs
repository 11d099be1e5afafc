//! The Makefile's Compose targets as data: one enum variant per task, and one `match` that says
//! what each runs. Adding a compose task is a variant here (its doc comment is its help line), its
//! arm in [`ComposeTarget::spec`], and its row in the README's task table: the compiler checks the
//! first two (the arm is required), a test the third.

use clap::ValueEnum;

/// The main compose file.
pub const MAIN: &str = "docker-compose.yaml";
/// GPU override: used when Ray workers get GPUs.
pub const GPU: &str = "docker-compose.gpu.override.yaml";
/// Development override (`local-up`): dev image, debugger port, file sync.
pub const DEV: &str = ".devcontainer/docker-compose.override.yaml";
/// PostgreSQL override: a postgres service and the backend pointed at it.
pub const POSTGRES: &str = ".devcontainer/docker-compose-postgres.override.yaml";

/// Files whose absence means the project is not a Lumigator source checkout (build tasks need them).
pub const SOURCES: [&str; 2] = ["Dockerfile", "lumigator/frontend/Dockerfile"];

/// The tasks that run Docker Compose after the env step, under their Makefile names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum ComposeTarget {
    /// Start the development stack in the foreground, with file sync and rebuilds (Ctrl-C stops it)
    LocalUp,
    /// Stop the development stack and remove build/
    LocalDown,
    /// Start Lumigator with the published images, in the background
    StartLumigator,
    /// Start Lumigator with PostgreSQL instead of SQLite, in the background
    StartLumigatorPostgres,
    /// Build Lumigator's images from the sources, then start them in the background
    StartLumigatorBuild,
    /// Build from the sources and start with PostgreSQL, in the background
    StartLumigatorBuildPostgres,
    /// Start only Lumigator's backend and frontend: MinIO, Redis, Ray and MLflow are external
    StartLumigatorExternalServices,
    /// Stop Lumigator (any start task's stack, PostgreSQL included) and remove build/
    StopLumigator,
}

/// What a compose task asks Compose to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `up`, with these flags.
    Up {
        /// `-d`: in the background.
        detach: bool,
        /// `--build`: build the images from the sources first.
        build: bool,
        /// `--watch`: sync files and rebuild on change (foreground only).
        watch: bool,
    },
    /// `down`, then remove build/.
    Down,
}

/// Everything that differs between compose tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    /// Whether `--profile local` is given (MinIO, Redis, Ray and MLflow run locally).
    pub local_profile: bool,
    /// Compose files after the GPU override, in order.
    pub files: &'static [&'static str],
    /// What Compose does.
    pub action: Action,
    /// Whether it builds images, and so needs Lumigator's sources.
    pub needs_sources: bool,
    /// Whether it prepares the Python environment first (`uv sync`, pre-commit).
    pub python_setup: bool,
    /// The task's longer help, below its help line.
    pub long_about: Option<&'static str>,
}

const UP_DETACHED: Action = Action::Up { detach: true, build: false, watch: false };
const UP_BUILD: Action = Action::Up { detach: true, build: true, watch: false };

/// The defaults most targets share: the local profile, published images, no Python setup.
const BASE: TargetSpec = TargetSpec {
    local_profile: true,
    files: &[MAIN],
    action: UP_DETACHED,
    needs_sources: false,
    python_setup: false,
    long_about: None,
};

impl ComposeTarget {
    /// What the task runs, as the Makefile defines it.
    pub fn spec(self) -> TargetSpec {
        match self {
            ComposeTarget::LocalUp => TargetSpec {
                files: &[MAIN, DEV],
                action: Action::Up { detach: false, build: true, watch: true },
                needs_sources: true,
                python_setup: true,
                long_about: Some(
                    "Needs Lumigator's sources. Runs `uv sync` and `uv run pre-commit install` first when the \
                     project has a pyproject.toml, then `docker compose ... up --watch --build` with the \
                     development override.",
                ),
                ..BASE
            },
            ComposeTarget::LocalDown => TargetSpec { files: &[MAIN, DEV], action: Action::Down, ..BASE },
            ComposeTarget::StartLumigator => BASE,
            ComposeTarget::StartLumigatorPostgres => TargetSpec { files: &[MAIN, POSTGRES], ..BASE },
            ComposeTarget::StartLumigatorBuild => TargetSpec { action: UP_BUILD, needs_sources: true, ..BASE },
            ComposeTarget::StartLumigatorBuildPostgres => {
                TargetSpec { files: &[MAIN, POSTGRES], action: UP_BUILD, needs_sources: true, ..BASE }
            }
            ComposeTarget::StartLumigatorExternalServices => TargetSpec {
                local_profile: false,
                long_about: Some(
                    "Point AWS_ENDPOINT_URL, RAY_HEAD_NODE_HOST and MLFLOW_TRACKING_URI at the external services \
                     in ~/.lumigator/user.conf first.",
                ),
                ..BASE
            },
            ComposeTarget::StopLumigator => TargetSpec {
                files: &[MAIN, POSTGRES],
                action: Action::Down,
                long_about: Some(
                    "build/ is removed even when Compose fails, so no copy of the secret key stays behind; the \
                     task then exits with Compose's status.",
                ),
                ..BASE
            },
        }
    }

    /// The task's name, as the Makefile's target and on the command line.
    pub fn name(self) -> String {
        self.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
    }

    /// The task that stops what this one starts.
    pub fn stop_task(self) -> ComposeTarget {
        match self {
            ComposeTarget::LocalUp | ComposeTarget::LocalDown => ComposeTarget::LocalDown,
            _ => ComposeTarget::StopLumigator,
        }
    }

    /// Whether it stops the stack (and removes build/).
    pub fn stops(self) -> bool {
        self.spec().action == Action::Down
    }
}
