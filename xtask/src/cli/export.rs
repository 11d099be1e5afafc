//! The arguments of the tasks that hand the configuration to other programs: `run` (a child's
//! environment) and `config-export` (a file for a shell, CI, Kubernetes or Helm).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Give CMD the resolved configuration (what run always does; accepted so that a command line
    /// reads the same for run and the test tasks)
    #[arg(long)]
    pub use_config: bool,
    /// The command to run and its arguments (put them after `--` when they start with `-`)
    #[arg(value_name = "CMD", required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// What `config-export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// KEY=value lines as Docker Compose reads them: the content of build/.env
    Dotenv,
    /// `export KEY='value'` lines for a POSIX shell: eval "$(cargo xtask config-export --format sh)"
    Sh,
    /// {"schema": 1, "settings": {KEY: value}}
    Json,
    /// The $GITHUB_ENV file format (multi-line values as heredocs), for the steps after a CI step
    #[value(name = "github-env")]
    GithubEnv,
    /// A Kubernetes ConfigMap (the settings) and a Secret (the secret ones and the key), for envFrom
    K8s,
    /// A values file for Lumigator's Helm chart, each setting at the chart's value path
    Helm,
}

/// Arguments of `config-export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to write
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: ExportFormat,
    /// Include the secret settings and the secret key (left out, and named on stderr, without it)
    #[arg(long)]
    pub with_secrets: bool,
    /// Write to FILE (atomically, mode 0600) instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// k8s: the name of the ConfigMap and of the Secret [default: lumigator]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// github-env: print an `::add-mask::` line for each secret value on stdout, so the runner
    /// hides them in every later log; the file then goes to --output (such as "$GITHUB_ENV")
    #[arg(long)]
    pub mask: bool,
    /// helm: reference the secrets in this existing Secret (made by `--format k8s`) wherever the
    /// chart can take a reference, instead of writing their values
    #[arg(long, value_name = "NAME")]
    pub existing_secret: Option<String>,
}
