//! The environment a test suite's pytest gets, built in memory and handed to the child: no file
//! is written and nothing is parsed twice.
//!
//! - The settings: by default the test settings (`lumigator-conf/test-settings.conf`, the values
//!   Lumigator's `scripts/set_env_vars.sh` exported); with `--use-config` or `USE_ENV_FILE=true`,
//!   the resolved configuration, value for value.
//! - `SQLALCHEMY_DATABASE_URL` exported by the caller wins over either: the child inherits it, so
//!   it is never echoed either (CI's PostgreSQL URL holds a password).
//! - The backend suites put the jobs' folder first on `PYTHONPATH`; the GPU suites set
//!   `RAY_WORKER_GPUS` and `RAY_WORKER_GPUS_FRACTION` to `1.0`.
//!
//! Everything else of the caller's environment (`UV_PYTHON` and uv's other settings included)
//! passes through untouched. Secret values are marked, so no echo of a command shows them.

use lumigator_conf::config::KeyAccess;
use lumigator_conf::test_settings;

use crate::context::Context;
use crate::env_step::{self, process_env};
use crate::error::TaskError;
use crate::runner::EnvVar;
use crate::suites::{GPU_VARIABLES, JOBS_PYTHONPATH, Pytest};

/// The setting the caller's environment overrides, whichever settings the suite gets.
pub const CALLER_WINS: &str = "SQLALCHEMY_DATABASE_URL";

/// Where a suite's settings come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `lumigator-conf/test-settings.conf`.
    TestSettings,
    /// `.default.conf`, `~/.lumigator/user.conf` and the key, resolved.
    Configuration,
}

impl Source {
    /// In a few words, for progress lines.
    pub fn describe(self) -> &'static str {
        match self {
            Source::TestSettings => "the test settings",
            Source::Configuration => "the configuration (--use-config)",
        }
    }
}

/// The settings of one task run, loaded once and shared by the suites of a composite.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where they come from.
    pub source: Source,
    /// The variables, in order, secrets marked.
    pub vars: Vec<EnvVar>,
}

/// Loads the settings from `source`. The configuration is checked as a start checks it (errors
/// stop the task before anything runs); a dry run creates no key.
pub fn load(ctx: &Context, source: Source) -> Result<Settings, TaskError> {
    let vars = match source {
        Source::TestSettings => {
            let resolved = test_settings::load(&process_env)?;
            ctx.ui.findings(&resolved.warnings, env_step::MAX_WARNINGS_ON_START);
            env_step::child_env(&resolved)
        }
        Source::Configuration => {
            let access = if ctx.dry_run { KeyAccess::ReadOnly } else { KeyAccess::CreateIfMissing };
            env_step::child_env(&env_step::load_checked(ctx, access)?.resolved)
        }
    };
    Ok(Settings { source, vars })
}

/// The environment changes of `pytest`'s run. `settings` are given when the suite takes them;
/// `caller` reads the caller's environment.
pub fn for_pytest(
    pytest: &Pytest,
    settings: Option<&Settings>,
    caller: &dyn Fn(&str) -> Option<String>,
) -> Vec<EnvVar> {
    let mut vars: Vec<EnvVar> = Vec::new();
    if let (true, Some(settings)) = (pytest.settings, settings) {
        let callers_own = caller(CALLER_WINS).is_some();
        vars.extend(settings.vars.iter().filter(|var| !(callers_own && var.name == CALLER_WINS)).cloned());
    }
    if pytest.jobs_on_path {
        // Prepended, as the Makefile did; no empty entry when the caller has none (Python would
        // read it as the current folder).
        let value = match caller("PYTHONPATH").filter(|p| !p.is_empty()) {
            Some(theirs) => format!("{JOBS_PYTHONPATH}:{theirs}"),
            None => JOBS_PYTHONPATH.to_string(),
        };
        set(&mut vars, "PYTHONPATH", value);
    }
    if pytest.gpus {
        for name in GPU_VARIABLES {
            set(&mut vars, name, "1.0".to_string());
        }
    }
    vars
}

/// Sets `name` in `vars`: replaced where it is, or added at the end.
fn set(vars: &mut Vec<EnvVar>, name: &str, value: String) {
    match vars.iter_mut().find(|var| var.name == name) {
        Some(var) => var.value = value,
        None => vars.push(EnvVar { name: name.to_string(), value, secret: false }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suites::TestSuite;

    fn settings() -> Settings {
        let resolved = test_settings::load(&|_| None).expect("shipped");
        Settings { source: Source::TestSettings, vars: env_step::child_env(&resolved) }
    }

    fn value<'a>(vars: &'a [EnvVar], name: &str) -> Option<&'a str> {
        vars.iter().find(|v| v.name == name).map(|v| v.value.as_str())
    }

    #[test]
    fn the_callers_database_url_wins_and_is_inherited_not_set() {
        let backend = TestSuite::BackendIntegration.pytest().expect("pytest");
        let mine = for_pytest(&backend, Some(&settings()), &|_| None);
        assert_eq!(value(&mine, CALLER_WINS), Some("sqlite:////tmp/local.db"));
        let ci = |name: &str| (name == CALLER_WINS).then(|| "postgresql://admin:pw@localhost/lumigator".to_string());
        assert_eq!(value(&for_pytest(&backend, Some(&settings()), &ci), CALLER_WINS), None);
    }

    #[test]
    fn pythonpath_and_gpus() {
        let gpu = TestSuite::BackendIntegrationGpu.pytest().expect("pytest");
        let theirs = |name: &str| (name == "PYTHONPATH").then(|| "/x".to_string());
        let vars = for_pytest(&gpu, Some(&settings()), &theirs);
        assert_eq!(value(&vars, "PYTHONPATH"), Some("../jobs:/x"));
        assert_eq!(value(&vars, "RAY_WORKER_GPUS"), Some("1.0"));
        assert_eq!(value(&vars, "RAY_WORKER_GPUS_FRACTION"), Some("1.0"));
        assert_eq!(vars.iter().filter(|v| v.name == "RAY_WORKER_GPUS").count(), 1);
        let sdk = TestSuite::SdkUnit.pytest().expect("pytest");
        assert!(for_pytest(&sdk, Some(&settings()), &theirs).is_empty(), "the SDK's suites get nothing");
    }
}
