//! The Makefile's test targets as data: one enum variant per task (its doc comment is its help
//! line) and one `match` saying what each runs, as [`crate::compose::ComposeTarget`] does for the
//! compose targets. Adding a test task is a variant, its arm in [`TestSuite::spec`] and its row in
//! the README's task table.
//!
//! A suite is one pytest run through `uv run`, in a folder of the checkout, with the Makefile's
//! arguments; a suite "with the stack" runs another one against the running stack, starting and
//! stopping it around the tests when none runs; a composite runs other suites in order.

use clap::ValueEnum;

/// The arguments `DEBUGPY=true` (or `--debugpy`) adds before `-m pytest`: the tests wait for a
/// debugger on port 5679.
pub const DEBUGPY: [&str; 5] = ["-m", "debugpy", "--listen", "5679", "--wait-for-client"];

/// The folder the backend suites prepend to `PYTHONPATH` (relative to `lumigator/backend`): the
/// jobs' code, which the backend imports.
pub const JOBS_PYTHONPATH: &str = "../jobs";

/// The variables the GPU suites set to `1.0`.
pub const GPU_VARIABLES: [&str; 2] = ["RAY_WORKER_GPUS", "RAY_WORKER_GPUS_FRACTION"];

/// The test tasks, under their Makefile names, in the Makefile's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum TestSuite {
    /// Run the schemas package's unit tests
    #[value(name = "test-schemas-unit")]
    SchemasUnit,
    /// Run every schemas suite (test-schemas-unit)
    #[value(name = "test-schemas")]
    Schemas,
    /// Run the SDK's unit tests
    #[value(name = "test-sdk-unit")]
    SdkUnit,
    /// Run the SDK's integration tests against the running stack
    #[value(name = "test-sdk-integration")]
    SdkIntegration,
    /// Run the SDK's end-to-end tests against the running stack
    #[value(name = "test-sdk-e2e")]
    SdkE2e,
    /// Run the SDK's integration tests against a running stack whose Ray workers have GPUs
    #[value(name = "test-sdk-integration-gpu")]
    SdkIntegrationGpu,
    /// Run test-sdk-integration, starting the stack first (and stopping it after) when none runs
    #[value(name = "test-sdk-integration-containers")]
    SdkIntegrationContainers,
    /// Run test-sdk-unit, then test-sdk-integration-containers
    #[value(name = "test-sdk")]
    Sdk,
    /// Run the backend's unit tests
    #[value(name = "test-backend-unit")]
    BackendUnit,
    /// Run the backend's integration tests against the running stack
    #[value(name = "test-backend-integration")]
    BackendIntegration,
    /// Run the backend's integration tests against a running stack whose Ray workers have GPUs
    #[value(name = "test-backend-integration-gpu")]
    BackendIntegrationGpu,
    /// Run test-backend-integration, starting the stack first (and stopping it after) when none runs
    #[value(name = "test-backend-integration-containers")]
    BackendIntegrationContainers,
    /// Run test-backend-unit, then test-backend-integration-containers
    #[value(name = "test-backend")]
    Backend,
    /// Run the backend's end-to-end tests against the running stack
    #[value(name = "test-backend-e2e")]
    BackendE2e,
    /// Run the evaluator job's unit tests in an isolated environment
    #[value(name = "test-jobs-evaluation-unit")]
    JobsEvaluationUnit,
    /// Run the inference job's unit tests in an isolated environment
    #[value(name = "test-jobs-inference-unit")]
    JobsInferenceUnit,
    /// Run test-jobs-evaluation-unit, then test-jobs-inference-unit
    #[value(name = "test-jobs-unit")]
    JobsUnit,
    /// Run test-schemas, test-sdk, test-backend and test-jobs-unit
    #[value(name = "test-all")]
    All,
    /// Run every unit suite: schemas, SDK, backend, then the jobs
    #[value(name = "test-all-unit")]
    AllUnit,
    /// Run test-sdk-integration, then test-backend-integration, against the running stack
    #[value(name = "test-all-integration")]
    AllIntegration,
}

/// One pytest run, as the Makefile's recipe gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pytest {
    /// The folder it runs in, relative to the checkout's root.
    pub dir: &'static str,
    /// `uv run` options before the module (`--with`, `--isolated`, ...).
    pub uv_options: &'static [&'static str],
    /// pytest's arguments (`-s`, `-o python_files=...`), before the caller's.
    pub pytest_args: &'static [&'static str],
    /// Whether it gets the test settings (or, asked, the configuration) in its environment.
    pub settings: bool,
    /// Whether it prepends [`JOBS_PYTHONPATH`] to `PYTHONPATH`.
    pub jobs_on_path: bool,
    /// Whether it sets [`GPU_VARIABLES`] to `1.0`.
    pub gpus: bool,
}

/// What a test task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuiteSpec {
    /// One pytest run.
    Pytest(Pytest),
    /// That suite, against this checkout's running stack; when none runs, the stack is started as
    /// `start-lumigator-build` starts it, and stopped after the tests.
    WithStack(TestSuite),
    /// These suites in order, stopping at the first failure unless asked to keep going.
    Parts(&'static [TestSuite]),
}

const SCHEMAS: &str = "lumigator/schemas";
const SDK_TESTS: &str = "lumigator/sdk/tests";
const BACKEND: &str = "lumigator/backend";

/// The defaults of the pytest runs: no uv options, no settings, no GPUs.
const PYTEST: Pytest =
    Pytest { dir: "", uv_options: &[], pytest_args: &[], settings: false, jobs_on_path: false, gpus: false };

/// A backend suite: the test settings and the jobs on `PYTHONPATH`.
const BACKEND_PYTEST: Pytest = Pytest { dir: BACKEND, settings: true, jobs_on_path: true, ..PYTEST };

/// A job's suite: an isolated environment with pytest, the schemas and the job's requirements.
const JOB_UV_OPTIONS: &[&str] =
    &["--with", "pytest", "--with", "../../schemas", "--with-requirements", "requirements.txt", "--isolated"];

const SDK_INTEGRATION_ARGS: &[&str] = &["-s", "-o", "python_files=integration/test_*.py integration/*/test_*.py"];
const BACKEND_INTEGRATION_ARGS: &[&str] = &["-s", "-o", "python_files=backend/tests/integration/*/test_*.py"];

impl TestSuite {
    /// What the task runs, as the Makefile defines it.
    pub fn spec(self) -> SuiteSpec {
        use TestSuite::*;
        let pytest = SuiteSpec::Pytest;
        match self {
            SchemasUnit => pytest(Pytest {
                dir: SCHEMAS,
                pytest_args: &["-s", "-o", "python_files=lumigator_schemas/tests/unit/*/test_*.py unit/test_*.py"],
                ..PYTEST
            }),
            Schemas => SuiteSpec::Parts(&[SchemasUnit]),
            SdkUnit => pytest(Pytest {
                dir: SDK_TESTS,
                pytest_args: &["-o", "python_files=unit/*/test_*.py unit/test_*.py"],
                ..PYTEST
            }),
            SdkIntegration => pytest(Pytest { dir: SDK_TESTS, pytest_args: SDK_INTEGRATION_ARGS, ..PYTEST }),
            SdkE2e => pytest(Pytest {
                dir: SDK_TESTS,
                pytest_args: &["-s", "-o", "python_files=e2e/test_*.py e2e/*/test_*.py"],
                ..PYTEST
            }),
            SdkIntegrationGpu => {
                pytest(Pytest { dir: SDK_TESTS, pytest_args: SDK_INTEGRATION_ARGS, gpus: true, ..PYTEST })
            }
            SdkIntegrationContainers => SuiteSpec::WithStack(SdkIntegration),
            Sdk => SuiteSpec::Parts(&[SdkUnit, SdkIntegrationContainers]),
            BackendUnit => pytest(Pytest {
                pytest_args: &["-s", "-o", "python_files=backend/tests/unit/*/test_*.py backend/tests/unit/test_*.py"],
                ..BACKEND_PYTEST
            }),
            BackendIntegration => pytest(Pytest { pytest_args: BACKEND_INTEGRATION_ARGS, ..BACKEND_PYTEST }),
            BackendIntegrationGpu => {
                pytest(Pytest { pytest_args: BACKEND_INTEGRATION_ARGS, gpus: true, ..BACKEND_PYTEST })
            }
            BackendIntegrationContainers => SuiteSpec::WithStack(BackendIntegration),
            Backend => SuiteSpec::Parts(&[BackendUnit, BackendIntegrationContainers]),
            BackendE2e => pytest(Pytest {
                pytest_args: &["-s", "-o", "python_files=backend/tests/e2e/*test_*.py"],
                ..BACKEND_PYTEST
            }),
            JobsEvaluationUnit => {
                pytest(Pytest { dir: "lumigator/jobs/evaluator", uv_options: JOB_UV_OPTIONS, ..PYTEST })
            }
            JobsInferenceUnit => {
                pytest(Pytest { dir: "lumigator/jobs/inference", uv_options: JOB_UV_OPTIONS, ..PYTEST })
            }
            JobsUnit => SuiteSpec::Parts(&[JobsEvaluationUnit, JobsInferenceUnit]),
            All => SuiteSpec::Parts(&[Schemas, Sdk, Backend, JobsUnit]),
            AllUnit => SuiteSpec::Parts(&[SchemasUnit, SdkUnit, BackendUnit, JobsUnit]),
            AllIntegration => SuiteSpec::Parts(&[SdkIntegration, BackendIntegration]),
        }
    }

    /// The task's name, as the Makefile's target and on the command line.
    pub fn name(self) -> String {
        self.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
    }

    /// The suites a run of this task runs, composites flattened, in order (each once, as make
    /// runs a prerequisite once).
    pub fn leaves(self) -> Vec<TestSuite> {
        let mut leaves = Vec::new();
        self.collect_leaves(&mut leaves);
        leaves
    }

    fn collect_leaves(self, leaves: &mut Vec<TestSuite>) {
        match self.spec() {
            SuiteSpec::Parts(parts) => parts.iter().for_each(|part| part.collect_leaves(leaves)),
            _ if leaves.contains(&self) => {}
            _ => leaves.push(self),
        }
    }

    /// The pytest run this suite ends in (for a suite with the stack, the suite it runs).
    pub fn pytest(self) -> Option<Pytest> {
        match self.spec() {
            SuiteSpec::Pytest(pytest) => Some(pytest),
            SuiteSpec::WithStack(inner) => inner.pytest(),
            SuiteSpec::Parts(_) => None,
        }
    }

    /// Whether it is a composite of other tasks.
    pub fn is_composite(self) -> bool {
        matches!(self.spec(), SuiteSpec::Parts(_))
    }

    /// Whether some suite it runs may start the stack.
    pub fn may_start_stack(self) -> bool {
        self.leaves().iter().any(|leaf| matches!(leaf.spec(), SuiteSpec::WithStack(_)))
    }

    /// Whether some suite it runs gets the test settings (and so may get the configuration).
    pub fn takes_settings(self) -> bool {
        self.leaves().iter().any(|leaf| leaf.pytest().is_some_and(|p| p.settings))
    }
}

impl Pytest {
    /// `uv run`'s arguments: the uv options, the debugger when asked, `-m pytest`, the suite's
    /// pytest arguments, then the caller's (`cargo xtask <suite> -- ARGS`).
    pub fn uv_args(&self, debugpy: bool, extra: &[String]) -> Vec<String> {
        let mut args: Vec<String> = vec!["run".into()];
        args.extend(self.uv_options.iter().map(|a| a.to_string()));
        if debugpy {
            args.extend(DEBUGPY.iter().map(|a| a.to_string()));
        }
        args.extend(["-m".to_string(), "pytest".to_string()]);
        args.extend(self.pytest_args.iter().map(|a| a.to_string()));
        args.extend(extra.iter().cloned());
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composites_flatten_in_the_makefiles_order() {
        let names = |suite: TestSuite| suite.leaves().into_iter().map(TestSuite::name).collect::<Vec<_>>();
        assert_eq!(
            names(TestSuite::All),
            [
                "test-schemas-unit",
                "test-sdk-unit",
                "test-sdk-integration-containers",
                "test-backend-unit",
                "test-backend-integration-containers",
                "test-jobs-evaluation-unit",
                "test-jobs-inference-unit",
            ]
        );
        assert_eq!(names(TestSuite::AllIntegration), ["test-sdk-integration", "test-backend-integration"]);
        assert_eq!(names(TestSuite::BackendUnit), ["test-backend-unit"]);
    }

    #[test]
    fn what_each_kind_of_suite_takes() {
        assert!(TestSuite::Backend.may_start_stack() && !TestSuite::AllIntegration.may_start_stack());
        assert!(TestSuite::All.takes_settings() && !TestSuite::Sdk.takes_settings());
        assert!(TestSuite::JobsUnit.is_composite() && !TestSuite::SdkIntegrationContainers.is_composite());
    }

    #[test]
    fn the_debugger_goes_after_uvs_options_and_before_pytest() {
        let Some(job) = TestSuite::JobsInferenceUnit.pytest() else { panic!("a pytest run") };
        let args = job.uv_args(true, &["-x".to_string()]);
        assert_eq!(args[..2], ["run", "--with"]);
        let isolated = args.iter().position(|a| a == "--isolated").expect("isolated");
        assert_eq!(
            args[isolated + 1..],
            ["-m", "debugpy", "--listen", "5679", "--wait-for-client", "-m", "pytest", "-x"]
        );
    }
}
