//! End to end on a real Docker Engine and Compose v2: the busybox stack in tests/stack started and
//! stopped by the real binary, with the values read back from inside the running containers; and
//! every compose task's command line resolved by the real `docker compose config` against
//! Lumigator's own compose files. `.ci/run` starts the engine (`.ci/docker-setup.sh`) and runs these
//! with `--include-ignored`; without an engine they fail with what to run, they never skip.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::fake_docker::{Call, FakeDocker};
use crate::support::{Sandbox, repo_root, tasks};
use serde_json::Value;

/// The local image every test service runs (`pull_policy: never`): built by `.ci/docker-setup.sh`.
const IMAGE: &str = "lumigator-test-busybox:local";
const SETUP: &str = "run `bash .ci/docker-setup.sh` (as root): it installs Docker Engine and Compose v2, starts \
                     dockerd and builds the test image; `.ci/run` does it before the tests";

/// The settings the test stack passes through to both services (besides TRICKY_01..TRICKY_64).
const PASSED_THROUGH: [&str; 5] =
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_BUCKET", "MLFLOW_S3_ROOT_PATH", "HF_HOME"];
const SECRET_KEY: &str = "LUMIGATOR_SECRET_KEY";
/// What Docker itself puts in every container's environment.
const ADDED_BY_DOCKER: [&str; 3] = ["HOME", "HOSTNAME", "PATH"];

/// The variables that choose which engine `docker` talks to. The sandbox clears the environment,
/// so they are handed on: xtask must reach the same engine as the checks and the clean-up here.
const DOCKER_VARS: [&str; 5] =
    ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"];

fn tricky_names() -> Vec<String> {
    (1..=64).map(|n| format!("TRICKY_{n:02}")).collect()
}

fn corpus(name: &str) -> std::path::PathBuf {
    repo_root().join("lumigator-conf/tests/corpus").join(name)
}

// ---------------------------------------------------------------------------------- the engine --

/// Runs the real `docker` (with the test runner's environment).
fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().unwrap_or_else(|err| panic!("cannot run `docker` ({err}): {SETUP}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The lines of a `docker ... -q`-style listing that must succeed.
fn listing(args: &[&str]) -> Vec<String> {
    let out = docker(args);
    assert!(out.status.success(), "`docker {}` failed: {}", args.join(" "), text(&out.stderr));
    text(&out.stdout).lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
}

/// Compose v2 as the `docker compose` plugin (what `.ci/docker-setup.sh` installs). `config` needs
/// no daemon, so this is all the configuration test needs.
fn require_compose() {
    let out = docker(&["compose", "version", "--short"]);
    let version = text(&out.stdout).trim().trim_start_matches('v').to_string();
    assert!(
        out.status.success() && version.starts_with("2."),
        "these tests need Docker Compose v2 as `docker compose` (got {version:?}, {}): {SETUP}",
        text(&out.stderr).trim()
    );
}

/// A daemon that answers, Compose v2 and the test image: in CI, missing any of them is a failure.
fn require_engine() {
    require_compose();
    let info = docker(&["info", "--format", "{{.ServerVersion}}"]);
    assert!(info.status.success(), "no Docker Engine answers `docker info` ({}): {SETUP}", text(&info.stderr).trim());
    let image = docker(&["image", "inspect", "--format", "{{.Id}}", IMAGE]);
    assert!(
        image.status.success(),
        "the test image {IMAGE} is missing: run `bash .ci/docker-setup.sh`, which builds it from tests/stack/image \
         (nothing is pulled)"
    );
}

fn pass_docker_vars(sandbox: &mut Sandbox) {
    for var in DOCKER_VARS {
        if let Ok(value) = std::env::var(var) {
            sandbox.env.push((var.into(), value));
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

// --------------------------------------------------------------------------- the test stack --

/// One Compose project of the test stack, named for one test. Everything it labels is removed when
/// it is dropped, so also when the test fails.
struct Stack {
    name: String,
}

impl Stack {
    fn new(test: &str) -> Self {
        require_engine();
        // The process id keeps two `cargo test` runs on the same engine apart too.
        let stack = Stack { name: format!("lumigator-e2e-{test}-{}", std::process::id()) };
        stack.remove();
        stack
    }

    fn project_label(&self) -> String {
        format!("label=com.docker.compose.project={}", self.name)
    }

    /// A temporary HOME, and a project that is a copy of tests/stack with the shipped
    /// `.default.conf`, whose tasks run Compose under this stack's project name.
    fn sandbox(&self) -> Sandbox {
        let mut sandbox = Sandbox::new();
        copy_dir(&repo_root().join("tests/stack"), sandbox.project());
        pass_docker_vars(&mut sandbox);
        // Compose prefers COMPOSE_PROJECT_NAME to the file's `name:`, and xtask keeps it in Compose's
        // environment (it is no configuration key): each test has its own containers, so the tests
        // run in parallel. `assert_running` checks that it really works.
        sandbox.env.push(("COMPOSE_PROJECT_NAME".into(), self.name.clone()));
        sandbox
    }

    /// Every container of the project, running or not.
    fn containers(&self) -> Vec<String> {
        listing(&["ps", "-aq", "--no-trunc", "--filter", &self.project_label()])
    }

    fn networks(&self) -> Vec<String> {
        listing(&["network", "ls", "-q", "--no-trunc", "--filter", &self.project_label()])
    }

    /// The one running container of `service`.
    fn container(&self, service: &str) -> String {
        let service_label = format!("label=com.docker.compose.service={service}");
        let ids = listing(&["ps", "-q", "--no-trunc", "--filter", &self.project_label(), "--filter", &service_label]);
        assert_eq!(ids.len(), 1, "one running {service} container in project {}: {ids:?}", self.name);
        ids[0].clone()
    }

    /// Checks that exactly `backend` and `ray` run, under this project's name (not the file's
    /// `lumigator-e2e`), and returns their container ids.
    fn assert_running(&self) -> BTreeMap<String, String> {
        let services: BTreeSet<String> = listing(&[
            "ps",
            "-a",
            "--filter",
            &self.project_label(),
            "--format",
            "{{.Label \"com.docker.compose.service\"}} {{.State}}",
        ])
        .into_iter()
        .collect();
        let expected: BTreeSet<String> = ["backend running", "ray running"].map(String::from).into();
        assert_eq!(services, expected, "the stack runs under COMPOSE_PROJECT_NAME={}", self.name);
        ["backend", "ray"].into_iter().map(|s| (s.to_string(), self.container(s))).collect()
    }

    /// The environment Docker gave `service`'s container: PID 1 is the `sh` Docker started, so
    /// `/proc/1/environ` is exactly that environment, NUL-separated (values may hold newlines).
    fn environ(&self, service: &str) -> BTreeMap<String, Vec<u8>> {
        let id = self.container(service);
        let out = docker(&["exec", &id, "cat", "/proc/1/environ"]);
        assert!(out.status.success(), "docker exec {service}: {}", text(&out.stderr));
        out.stdout
            .split(|&b| b == 0)
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let eq = kv.iter().position(|&b| b == b'=').expect("NAME=value");
                (String::from_utf8(kv[..eq].to_vec()).expect("UTF-8 name"), kv[eq + 1..].to_vec())
            })
            .collect()
    }

    /// Removes the project's containers, networks and volumes. Never panics: it runs in `drop`,
    /// maybe while a failed test unwinds.
    fn remove(&self) {
        let label = self.project_label();
        let kinds: [(&[&str], &[&str]); 3] = [
            (&["ps", "-aq"], &["rm", "-f", "-v"]),
            (&["network", "ls", "-q"], &["network", "rm"]),
            (&["volume", "ls", "-q"], &["volume", "rm", "-f"]),
        ];
        for (list, remove) in kinds {
            let Ok(out) = Command::new("docker").args(list).args(["--filter", &label]).output() else { return };
            let ids: Vec<String> = text(&out.stdout).split_whitespace().map(String::from).collect();
            if ids.is_empty() {
                continue;
            }
            match Command::new("docker").args(remove).args(&ids).output() {
                Ok(out) if out.status.success() => {}
                _ => eprintln!("could not remove {ids:?} of project {}", self.name),
            }
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.remove();
    }
}

// ------------------------------------------------------------------------ the configuration --

/// One setting as `config-show --format json --reveal` reports it.
struct Setting {
    value: String,
    secret: bool,
}

/// The merged settings, as `cargo xtask config-show --format json --reveal` reports them.
fn config_show(sandbox: &Sandbox) -> BTreeMap<String, Setting> {
    let run = sandbox.run(&["config-show", "--format", "json", "--reveal"]);
    run.assert_ok();
    let shown: Value = serde_json::from_str(&run.stdout).expect("config-show prints JSON");
    shown["settings"]
        .as_array()
        .expect("settings")
        .iter()
        .map(|s| {
            let setting = Setting {
                value: s["value"].as_str().expect("value").to_string(),
                secret: s["secret"].as_bool().expect("secret"),
            };
            (s["key"].as_str().expect("key").to_string(), setting)
        })
        .collect()
}

/// Checks that `service`'s container got each of `keys` with exactly the value config-show
/// reports. A secret's value is never printed.
#[track_caller]
fn assert_values(
    service: &str,
    container: &BTreeMap<String, Vec<u8>>,
    settings: &BTreeMap<String, Setting>,
    keys: &[String],
) {
    let mut wrong = Vec::new();
    for key in keys {
        let setting = settings.get(key).unwrap_or_else(|| panic!("config-show reports {key}"));
        match container.get(key) {
            Some(value) if value == setting.value.as_bytes() => {}
            None => wrong.push(format!("{key}: not in the container")),
            Some(_) if setting.secret => wrong.push(format!("{key}: differs (a secret: values not shown)")),
            Some(value) => wrong.push(format!("{key}: container {:?}, config-show {:?}", text(value), setting.value)),
        }
    }
    assert!(wrong.is_empty(), "{service} did not get the configured values:\n{}", wrong.join("\n"));
}

/// Checks that the container's environment holds exactly `keys` and what Docker adds.
#[track_caller]
fn assert_names(service: &str, container: &BTreeMap<String, Vec<u8>>, keys: &[String]) {
    let expected: BTreeSet<&str> = keys.iter().map(String::as_str).chain(ADDED_BY_DOCKER).collect();
    let got: BTreeSet<&str> = container.keys().map(String::as_str).collect();
    assert_eq!(got, expected, "the names in {service}'s environment");
}

// ----------------------------------------------------------------------------------- tests --

#[test]
#[ignore = "needs a Docker Engine and Compose v2; .ci/run starts them"]
fn the_containers_get_every_configured_value_byte_for_byte() {
    let stack = Stack::new("tricky");
    let sandbox = stack.sandbox();
    sandbox.user_conf(fs::read(corpus("tricky.conf")).expect("corpus"));
    sandbox.run(&["start-lumigator"]).assert_ok();
    stack.assert_running();

    let settings = config_show(&sandbox);
    let tricky = tricky_names();
    let shared: Vec<String> = PASSED_THROUGH.iter().map(|k| k.to_string()).chain(tricky.iter().cloned()).collect();
    let with_key: Vec<String> = shared.iter().cloned().chain([SECRET_KEY.to_string()]).collect();

    let backend = stack.environ("backend");
    assert_names("backend", &backend, &with_key);
    assert_values("backend", &backend, &settings, &with_key);
    let key = fs::read_to_string(sandbox.key_file()).expect("start created the key");
    assert!(
        backend.get(SECRET_KEY).is_some_and(|v| !v.is_empty() && *v == key.trim_end().as_bytes()),
        "backend gets the key of ~/.lumigator/lumigator.key (values not shown)"
    );

    let ray = stack.environ("ray");
    assert!(!ray.contains_key(SECRET_KEY), "ray never gets {SECRET_KEY}");
    assert!(!ray.values().any(|v| *v == key.trim_end().as_bytes()), "nor the key's value under another name");
    assert_names("ray", &ray, &shared);
    assert_values("ray", &ray, &settings, &shared);

    // And those are the values Compose itself reads from the corpus (observed once and pinned):
    // what reaches the containers is what the user wrote, not only what we think they wrote.
    let observed: BTreeMap<String, String> =
        serde_json::from_str(&fs::read_to_string(corpus("tricky.expected.json")).expect("expected")).expect("JSON");
    let in_backend: BTreeMap<String, String> = tricky.iter().map(|k| (k.clone(), text(&backend[k]))).collect();
    assert_eq!(in_backend, observed);
    // Some of them, spelled out: `#`, `$`, quotes, backslashes, control characters, unicode, an
    // empty value and 4 KiB, each exactly as written.
    for (key, value) in [
        ("TRICKY_02", "pass#word"),
        ("TRICKY_06", r"single $TRICKY_01 ${TRICKY_01} $$ \n stays literal"),
        ("TRICKY_07", "it's"),
        ("TRICKY_09", "line1\nline2\ttab"),
        ("TRICKY_10", r#"back\slash "quoted""#),
        ("TRICKY_16", "  spaces kept inside quotes  "),
        ("TRICKY_20", "emoji 😀🚀✨"),
        ("TRICKY_21", ""),
        ("TRICKY_30", "price: $5"),
    ] {
        assert_eq!(text(&backend[key]), value, "{key}");
    }
    assert_eq!(backend["TRICKY_24"].len(), 4096, "the 4 KiB value arrives whole");
}

#[test]
#[ignore = "needs a Docker Engine and Compose v2; .ci/run starts them"]
fn values_exported_in_the_shell_do_not_reach_the_containers() {
    let stack = Stack::new("shell");
    let mut sandbox = stack.sandbox();
    sandbox.user_conf("AWS_ACCESS_KEY_ID=from-user-conf\n");
    sandbox.env.push(("AWS_ACCESS_KEY_ID".into(), "from-shell".into()));
    sandbox.env.push((SECRET_KEY.into(), "from-shell".into()));
    let run = sandbox.run(&["start-lumigator"]);
    run.assert_ok();
    stack.assert_running();

    let key = fs::read_to_string(sandbox.key_file()).expect("start created the key");
    let backend = stack.environ("backend");
    let ray = stack.environ("ray");
    for (service, environ) in [("backend", &backend), ("ray", &ray)] {
        assert_eq!(text(&environ["AWS_ACCESS_KEY_ID"]), "from-user-conf", "{service}: the configured value wins");
        assert!(!environ.values().any(|v| v == b"from-shell"), "{service}: nothing from the shell");
    }
    assert!(backend[SECRET_KEY] == key.trim_end().as_bytes(), "backend gets the key file's key, not the shell's");
    assert!(!ray.contains_key(SECRET_KEY));
    // And the task said so (names only).
    assert!(
        run.stderr.contains("not passing AWS_ACCESS_KEY_ID, LUMIGATOR_SECRET_KEY from your shell"),
        "{}",
        run.stderr
    );
}

#[test]
#[ignore = "needs a Docker Engine and Compose v2; .ci/run starts them"]
fn stop_lumigator_leaves_no_container_network_or_build_dir() {
    let stack = Stack::new("stop");
    let sandbox = stack.sandbox();
    sandbox.run(&["start-lumigator"]).assert_ok();
    stack.assert_running();
    assert!(sandbox.env_file().is_file(), "the stack runs with build/.env");

    let run = sandbox.run(&["stop-lumigator"]);
    run.assert_ok();
    assert!(stack.containers().is_empty(), "containers left: {:?}\n{}", stack.containers(), run.transcript());
    // The test stack makes no network (network_mode: none); Lumigator's stack does, and a down
    // task must not leave one behind either.
    assert!(stack.networks().is_empty(), "networks left: {:?}", stack.networks());
    assert!(!sandbox.project().join("build").exists(), "build/ (with its copy of the key) is gone");
    assert!(sandbox.key_file().is_file(), "the key itself stays");
}

#[test]
#[ignore = "needs a Docker Engine and Compose v2; .ci/run starts them"]
fn starting_twice_and_stopping_twice_both_succeed() {
    let stack = Stack::new("twice");
    let sandbox = stack.sandbox();
    sandbox.user_conf(fs::read(corpus("tricky.conf")).expect("corpus"));
    sandbox.run(&["start-lumigator"]).assert_ok();
    let first = stack.assert_running();
    let run = sandbox.run(&["start-lumigator"]);
    run.assert_ok();
    // Same key, same build/.env: Compose finds nothing to change and keeps the containers.
    assert_eq!(stack.assert_running(), first, "the second start recreated containers:\n{}", run.transcript());

    sandbox.run(&["stop-lumigator"]).assert_ok();
    assert!(stack.containers().is_empty());
    let run = sandbox.run(&["stop-lumigator"]);
    run.assert_ok();
    assert!(stack.containers().is_empty());
    // The second stop writes build/.env for Compose like any task, and removes it again.
    assert!(!sandbox.project().join("build").exists(), "build/ is gone:\n{}", run.transcript());
}

#[test]
#[ignore = "needs a Docker Engine and Compose v2; .ci/run starts them"]
fn gpus_bring_in_the_gpu_override_on_the_real_engine() {
    let stack = Stack::new("gpus");
    let sandbox = stack.sandbox();
    sandbox.run(&["start-lumigator", "--gpus", "1"]).assert_ok();
    stack.assert_running();
    let backend = stack.environ("backend");
    assert_eq!(text(&backend["E2E_OVERRIDE_GPU"]), "1", "the override file was used");
    assert_eq!(text(&backend["RAY_WORKER_GPUS"]), "1", "--gpus reaches the backend");
    assert_eq!(text(&stack.environ("ray")["E2E_OVERRIDE_GPU"]), "1");
    // Without --gpus the configuration says 0, so the stop runs without the override: Compose
    // finds the containers by project name all the same.
    sandbox.run(&["stop-lumigator"]).assert_ok();
    assert!(stack.containers().is_empty(), "containers left: {:?}", stack.containers());
}

// ------------------------------------------------------------- readiness and stopping --

/// The health of `service`'s container, as Docker reports it.
fn health(stack: &Stack, service: &str) -> String {
    let id = stack.container(service);
    let out = docker(&["inspect", "--format", "{{.State.Health.Status}}", &id]);
    text(&out.stdout).trim().to_string()
}

#[test]
#[ignore = "needs a Docker Engine and Compose v2; .ci/run starts them"]
fn a_start_waits_until_ray_is_healthy() {
    let stack = Stack::new("ready");
    let sandbox = stack.sandbox();
    let run = sandbox.run(&["start-lumigator"]);
    run.assert_ok();
    assert_eq!(health(&stack, "ray"), "healthy", "the task returned once ray was healthy:\n{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("xtask: ray: ")).collect();
    assert!(lines.first().is_some_and(|l| l.contains("starting")), "{}", run.stderr);
    assert!(lines.last().is_some_and(|l| l.starts_with("xtask: ray: healthy")), "{}", run.stderr);
    assert!(run.stdout.starts_with("Lumigator is ready"), "{}", run.stdout);
    stack.assert_running();
}

#[test]
#[ignore = "needs a Docker Engine and Compose v2; .ci/run starts them"]
fn a_start_whose_ray_never_turns_healthy_fails_by_name_within_the_timeout_and_leaves_it_running() {
    let stack = Stack::new("unready");
    let sandbox = stack.sandbox();
    // The test stack's variant that never turns healthy (see tests/stack/docker-compose.yaml).
    sandbox.user_conf("E2E_READY_AFTER=never\n");
    let started = std::time::Instant::now();
    let run = sandbox.run(&["start-lumigator", "--wait-timeout", "4"]);
    let took = started.elapsed();
    assert_eq!(run.status, 1, "{}", run.transcript());
    // `up -d` itself takes a moment; the wait ends at its timeout, give or take one question.
    assert!(took < std::time::Duration::from_secs(4 + 8), "well within the timeout plus a few seconds: {took:?}");
    assert!(
        run.stderr.contains("error: start-lumigator: 1 service not ready after 4 s (ray: starting"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("note: the last 20 lines of ray's log:"), "{}", run.stderr);
    assert!(run.stderr.contains("LUMIGATOR_E2E_ENVIRON_HEX_END"), "ray's own log lines: {}", run.stderr);
    assert!(run.stderr.contains("`cargo xtask stop-lumigator` stops it"), "{}", run.stderr);
    // Left running, as it said; the stop stops it.
    stack.assert_running();
    assert_eq!(health(&stack, "ray"), "starting");
    assert!(sandbox.env_file().is_file());
    sandbox.run(&["stop-lumigator"]).assert_ok();
    assert!(stack.containers().is_empty());
}

#[test]
#[ignore = "needs a Docker Engine and Compose v2; .ci/run starts them"]
fn stop_lumigator_stops_the_stack_with_a_broken_user_conf() {
    let stack = Stack::new("broken");
    let sandbox = stack.sandbox();
    // With the build/.env the start left, then with the defaults alone.
    for keep_build_env in [true, false] {
        sandbox.user_conf("");
        sandbox.run(&["start-lumigator", "--no-wait"]).assert_ok();
        stack.assert_running();
        if !keep_build_env {
            sandbox.run(&["config-clean"]).assert_ok();
        }
        sandbox.user_conf("RAY_DASHBOARD_PORT=abc\nBROKEN\n");
        let run = sandbox.run(&["stop-lumigator"]);
        run.assert_ok();
        assert!(run.stderr.contains("warning: stop-lumigator ignores the configuration"), "{}", run.stderr);
        let used = if keep_build_env { "as the last start wrote it" } else { ".default.conf alone" };
        assert!(run.stderr.contains(used), "{}", run.stderr);
        assert!(stack.containers().is_empty(), "containers left: {:?}\n{}", stack.containers(), run.transcript());
        assert!(!sandbox.project().join("build").exists(), "build/ is gone");
    }
}

// ------------------------------------------- every task against Lumigator's real compose files --

/// A project holding copies of Lumigator's compose files and `.default.conf` (and stand-in
/// Dockerfiles, which the build tasks look for), with the fake docker that records the task's
/// Compose command line and a copy of its env file.
fn lumigator_checkout(user_conf: &str) -> (Sandbox, FakeDocker) {
    let mut sandbox = Sandbox::new();
    let root = repo_root();
    let mut files = vec!["docker-compose.yaml".to_string(), "docker-compose.gpu.override.yaml".to_string()];
    for entry in fs::read_dir(root.join(".devcontainer")).expect(".devcontainer") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") {
            files.push(format!(".devcontainer/{name}"));
        }
    }
    for file in &files {
        let target = sandbox.project().join(file);
        fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        fs::copy(root.join(file), target).expect("copy compose file");
    }
    for file in ["Dockerfile", "lumigator/frontend/Dockerfile"] {
        let target = sandbox.project().join(file);
        fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        fs::write(target, "# stand-in\n").expect("write");
    }
    sandbox.user_conf(user_conf);
    // Handed on to the replay with the real Compose (which finds its plugin through DOCKER_CONFIG).
    pass_docker_vars(&mut sandbox);
    let fake = FakeDocker::install(&mut sandbox, &["docker"]);
    (sandbox, fake)
}

/// A user.conf giving every secret setting (but the key, which comes from its file) a value of
/// its own: the shipped defaults share theirs with other settings (`lumigator` is both
/// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), so only then can a value be told to be a secret.
fn distinct_secrets() -> String {
    let sandbox = Sandbox::new();
    config_show(&sandbox)
        .into_iter()
        .filter(|(key, setting)| setting.secret && key != SECRET_KEY)
        .map(|(key, _)| format!("{key}=e2e-secret-value-of-{key}\n"))
        .collect()
}

/// What Compose makes of `call` (a compose task's recorded command line): the same files,
/// profiles, environment and env file, with `config --format json` instead of the action.
fn resolve_with_compose(call: &Call, scratch: &Path) -> Value {
    assert_eq!(call.argv[..2], ["docker", "compose"], "the task ran the plugin");
    let env_copy = scratch.join("env");
    fs::write(&env_copy, call.env_file.as_deref().expect("the task gave Compose an env file")).expect("write env");
    let mut options: Vec<String> = Vec::new();
    let mut rest = call.argv[2..].iter();
    let action = loop {
        let Some(arg) = rest.next() else { panic!("no action in {:?}", call.argv) };
        if !matches!(arg.as_str(), "--env-file" | "--profile" | "-f") {
            break std::iter::once(arg.clone()).chain(rest.cloned()).collect::<Vec<_>>().join(" ");
        }
        let value = rest.next().expect("option value");
        options.push(arg.clone());
        // Down tasks remove build/: the fake kept a copy of what Compose read.
        options.push(if arg == "--env-file" { env_copy.display().to_string() } else { value.clone() });
    };
    let out = Command::new("docker")
        .arg("compose")
        .args(&options)
        .args(["config", "--format", "json"])
        .current_dir(&call.cwd)
        .env_clear()
        .envs(call.env.iter().filter(|(k, _)| !matches!(k.as_str(), "PATH" | "FAKE_LOG")))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run docker compose config");
    let stderr = text(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "`docker compose {} config` (for `{action}`) failed or warned:\n{stderr}",
        options.join(" ")
    );
    serde_json::from_slice(&out.stdout).expect("config prints JSON")
}

/// Each service's image and environment, secrets replaced by `[REDACTED]`. Also checks that the
/// key reaches the backend, and no other service. A stop (`stops`) neither creates nor reads the
/// key: its backend gets an empty one.
fn render_services(model: &Value, settings: &BTreeMap<String, Setting>, stops: bool) -> String {
    let key = &settings[SECRET_KEY].value;
    assert_eq!(key.is_empty(), stops, "a start creates the key; a stop needs none and makes none");
    let secret_values: BTreeSet<&str> =
        settings.values().filter(|s| s.secret).map(|s| s.value.as_str()).filter(|v| !v.is_empty()).collect();
    let services = model["services"].as_object().expect("services");
    assert!(services.contains_key("backend"), "every task runs the backend");
    let mut out = String::new();
    for (name, service) in services.iter().collect::<BTreeMap<_, _>>() {
        out.push_str(&format!("{name}: {}\n", service["image"].as_str().unwrap_or("(no image)")));
        let environment: BTreeMap<&str, &Value> = service["environment"]
            .as_object()
            .map(|e| e.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default();
        let has_key = environment.iter().any(|(k, v)| *k == SECRET_KEY || (!key.is_empty() && v.as_str() == Some(key)));
        if name == "backend" {
            assert_eq!(environment.get(SECRET_KEY).and_then(|v| v.as_str()), Some(key.as_str()));
        } else {
            assert!(!has_key, "{name} must not get the secret key");
        }
        for (k, v) in environment {
            // `config` writes each `$` of a value as `$$`; the container gets one.
            let value = v.as_str().map(|v| v.replace("$$", "$"));
            let secret = settings.get(k).is_some_and(|s| s.secret)
                || value.as_deref().is_some_and(|v| secret_values.contains(v));
            let shown = match value {
                _ if secret => "[REDACTED]".to_string(),
                Some(value) => value,
                None => "(unset)".to_string(),
            };
            out.push_str(&format!("  {k}={shown}\n"));
        }
    }
    for secret in &secret_values {
        assert!(!out.contains(secret), "a secret value is left in the snapshot");
    }
    out
}

#[test]
#[ignore = "needs a Docker Engine and Compose v2; .ci/run starts them"]
fn every_compose_task_resolves_lumigators_compose_files_cleanly() {
    require_compose();
    let secrets = distinct_secrets();
    assert!(secrets.contains("AWS_SECRET_ACCESS_KEY="), "settings.toml marks the S3 secret as one:\n{secrets}");
    let compose_tasks = tasks::compose();
    let mut runs: Vec<(String, &str)> = compose_tasks.iter().map(|task| (secrets.clone(), task.as_str())).collect();
    // Once with GPUs: the override file joins the command line and COMPUTE_TYPE turns -gpu.
    runs.push((format!("{secrets}RAY_WORKER_GPUS=1\n"), "start-lumigator"));

    // Tasks whose resolved stacks are the same share one entry, so the differences stand out.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (user_conf, task) in runs {
        let (sandbox, fake) = lumigator_checkout(&user_conf);
        sandbox.run(&[task]).assert_ok();
        let call = fake.actions().pop().expect("the task ran Compose");
        let gpus = user_conf.contains("RAY_WORKER_GPUS=1");
        assert_eq!(call.argv.iter().any(|a| a == "docker-compose.gpu.override.yaml"), gpus, "{task}: GPU override");

        let scratch = tempfile::tempdir().expect("scratch");
        let model = resolve_with_compose(&call, scratch.path());
        let settings = config_show(&sandbox);
        let stops = tasks::stopping().iter().any(|t| t == task);
        let mut body = sandbox.redact(&render_services(&model, &settings, stops));
        // The snapshot is the x86_64 one: on ARM hosts the Ray image carries the host's suffix,
        // taken out here so that one snapshot holds on every host.
        let env_file = call.env_file.as_deref().expect("env file");
        let suffix = env_file.lines().find_map(|l| l.strip_prefix("RAY_ARCH_SUFFIX=")).expect("derived suffix");
        let suffix = suffix.trim_matches(['"', '\'']);
        if !suffix.is_empty() && body.contains("rayproject/ray:") {
            assert!(body.contains(suffix), "the Ray image has the host's suffix {suffix}");
            body = body.replace(suffix, "");
        }
        let heading = format!("{task}{}: {}", if gpus { " (RAY_WORKER_GPUS=1)" } else { "" }, call.line(&sandbox));
        match groups.iter_mut().find(|(b, _)| *b == body) {
            Some((_, headings)) => headings.push(heading),
            None => groups.push((body, vec![heading])),
        }
    }
    let mut snapshot = String::new();
    for (body, headings) in groups {
        for heading in headings {
            snapshot.push_str(&format!("## {heading}\n"));
        }
        snapshot.push_str(&body);
        snapshot.push('\n');
    }
    insta::assert_snapshot!(snapshot);
}
