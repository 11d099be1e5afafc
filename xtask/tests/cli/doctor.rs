//! `doctor` and the start tasks' pre-flight, against the fake `docker` and real listeners.
//!
//! Ports are chosen at runtime (bind port 0, read the number back) so the tests can run in
//! parallel; every listener binds on loopback only and closes when its test ends.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;

use crate::support::fake_docker::FakeDocker;
use crate::support::{Run, Sandbox, VALID_KEY};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A free TCP port: bound on loopback, read back, released.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind").local_addr().expect("addr").port()
}

/// Two different free ports, the smaller first (doctor lists ports in order).
fn two_ports() -> (u16, u16) {
    loop {
        let (a, b) = (free_port(), free_port());
        if a != b {
            return (a.min(b), a.max(b));
        }
    }
}

/// A listener on 127.0.0.1 only, as a developer's own server would hold a port.
fn listen_on_loopback(port: u16) -> TcpListener {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("listen on the chosen port")
}

/// The test process's command name, as the system reports the holder of a port.
fn own_command() -> String {
    fs::read_to_string("/proc/self/comm").map(|c| c.trim().to_string()).unwrap_or_default()
}

/// A sandbox with a fake docker and uv, and the Compose model the fake prints. Its backend
/// publishes a port where nothing answers HTTP, so the starts here pass `--no-wait`: the wait
/// for the backend's health endpoint is tested in `lifecycle`.
struct Setup {
    sandbox: Sandbox,
    fake: FakeDocker,
    _model_dir: TempDir,
}

impl Setup {
    /// A project with `model` as the fake's Compose model. `sources` adds the files a build needs.
    fn new(model: Value, sources: bool) -> Self {
        let mut sandbox = Sandbox::new();
        if sources {
            crate::support::fake_docker::add_source_stand_ins(&sandbox);
        }
        let fake = FakeDocker::install(&mut sandbox, &["docker", "uv"]);
        let model_dir = tempfile::tempdir().expect("model dir");
        let model_file = model_dir.path().join("model.json");
        fs::write(&model_file, model.to_string()).expect("write model");
        sandbox.env.push(("FAKE_COMPOSE_MODEL".into(), model_file.display().to_string()));
        Setup { sandbox, fake, _model_dir: model_dir }
    }

    fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.sandbox.env.push((name.into(), value.into()));
        self
    }

    fn doctor_json(&self, args: &[&str]) -> (Run, Value) {
        let mut all = vec!["doctor", "--format", "json"];
        all.extend(args);
        let run = self.sandbox.run(&all);
        let report = serde_json::from_str(&run.stdout).unwrap_or_else(|err| panic!("{err}: {}", run.transcript()));
        (run, report)
    }

    fn nothing_changed(&self) {
        assert!(!self.sandbox.project().join("build").exists(), "doctor writes no build/");
    }

    fn compose_ran(&self, action: &str) -> bool {
        self.fake.calls().iter().any(|c| c.argv.iter().any(|a| a == action))
    }
}

/// A model like Lumigator's: backend and frontend publish `backend` and `frontend` (every address,
/// as the real files do), and ray has its limits.
fn model(backend: u16, frontend: u16) -> Value {
    json!({
        "name": "lumigator",
        "services": {
            "backend": {"ports": [{"mode": "ingress", "target": 8000, "published": backend.to_string(), "protocol": "tcp"}]},
            "frontend": {"ports": [{"mode": "ingress", "target": 80, "published": frontend.to_string(), "protocol": "tcp"}]},
            "ray": {"deploy": {"resources": {"limits": {"cpus": 2, "memory": "10737418240"}}}},
            "redis": {},
        }
    })
}

/// The rows of a JSON report whose `check` is `check`.
fn rows<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["checks"].as_array().expect("checks").iter().filter(|r| r["check"] == check).collect()
}

fn row<'a>(report: &'a Value, check: &str) -> &'a Value {
    let found = rows(report, check);
    assert_eq!(found.len(), 1, "one {check} row in {report:#}");
    found[0]
}

fn port_row(report: &Value, port: u16) -> &Value {
    rows(report, "port").into_iter().find(|r| r["port"]["port"] == port).unwrap_or_else(|| panic!("{port}: {report:#}"))
}

#[test]
fn a_port_held_on_loopback_stops_doctor_and_the_start_until_it_is_released() {
    let (backend, frontend) = two_ports();
    let setup = Setup::new(model(backend, frontend), false);
    let listener = listen_on_loopback(backend);

    let (run, report) = setup.doctor_json(&[]);
    run.assert_failed();
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"], 1);
    let held = port_row(&report, backend);
    assert_eq!(held["status"], "problem", "a listener on 127.0.0.1 holds a port published on every address");
    assert_eq!(held["port"]["service"], "backend");
    assert_eq!(held["port"]["host_ip"], Value::Null);
    assert_eq!(held["port"]["holder"]["command"], own_command());
    assert!(held["detail"].as_str().expect("detail").contains("backend publishes it"));
    assert!(held["fix"].as_str().expect("fix").starts_with("stop "));
    assert_eq!(port_row(&report, frontend)["status"], "ok");
    setup.nothing_changed();

    let run = setup.sandbox.run(&["start-lumigator"]);
    run.assert_failed();
    let problems: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error: port ")).collect();
    assert_eq!(problems.len(), 1, "one message per port:\n{}", run.stderr);
    assert!(problems[0].starts_with(&format!("error: port {backend}: backend publishes it, but ")), "{}", problems[0]);
    assert!(run.stderr.contains("nothing started, build/ removed"), "{}", run.stderr);
    assert!(!setup.compose_ran("up"), "Compose was not asked to start anything");
    assert!(!setup.sandbox.project().join("build").exists(), "no build/ behind");

    drop(listener);
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    assert_eq!(report["ok"], true);
    assert_eq!(port_row(&report, backend)["status"], "ok");
    setup.sandbox.run(&["start-lumigator", "--no-wait"]).assert_ok();
    assert!(setup.compose_ran("up"));
    assert!(setup.sandbox.env_file().is_file());
}

#[test]
fn skip_preflight_starts_anyway() {
    let (backend, frontend) = two_ports();
    let setup = Setup::new(model(backend, frontend), false);
    let _listener = listen_on_loopback(backend);
    setup.sandbox.run(&["start-lumigator", "--skip-preflight", "--no-wait"]).assert_ok();
    assert!(setup.compose_ran("up"));
    // The model is read after the start (for the addresses), never before it.
    let calls = setup.fake.calls();
    let up = calls.iter().position(|c| c.argv.iter().any(|a| a == "up")).expect("up");
    assert!(
        !calls[..up].iter().any(|c| c.argv.iter().any(|a| a == "config")),
        "no model read before Compose started: the pre-flight did not run"
    );
}

#[test]
fn a_port_published_by_our_own_running_stack_is_fine() {
    let (backend, frontend) = two_ports();
    let mut setup = Setup::new(model(backend, frontend), false);
    // The stack is up: its backend container publishes the port (docker-proxy holds it).
    let _listener = listen_on_loopback(backend);
    let ps = json!({"Names": "lumigator-backend-1", "Ports": format!("0.0.0.0:{backend}->8000/tcp, [::]:{backend}->8000/tcp")});
    setup.set("FAKE_DOCKER_PS", ps.to_string());
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    let own = port_row(&report, backend);
    assert_eq!(own["status"], "ok");
    assert!(own["detail"].as_str().expect("detail").contains("lumigator-backend-1"), "{own}");
    setup.sandbox.run(&["start-lumigator", "--no-wait"]).assert_ok();
    assert!(setup.compose_ran("up"));
}

#[test]
fn a_port_published_on_one_address_is_probed_there() {
    let port = free_port();
    let model = json!({"name": "lumigator", "services": {"backend": {"ports": [
        {"target": 8000, "published": port.to_string(), "host_ip": "127.0.0.1", "protocol": "tcp"}]}}});
    let setup = Setup::new(model, false);
    let listener = listen_on_loopback(port);
    let (_, report) = setup.doctor_json(&[]);
    assert_eq!(port_row(&report, port)["status"], "problem");
    assert_eq!(port_row(&report, port)["port"]["host_ip"], "127.0.0.1");
    drop(listener);
    let (_, report) = setup.doctor_json(&[]);
    assert_eq!(port_row(&report, port)["status"], "ok");
}

#[test]
fn doctor_reads_the_model_with_the_task_s_own_compose_arguments_and_writes_nothing() {
    let (backend, frontend) = two_ports();
    let setup = Setup::new(model(backend, frontend), true);
    setup.sandbox.key(VALID_KEY);
    for (task, gpus) in [("start-lumigator-postgres", "1"), ("start-lumigator-external-services", "0")] {
        setup.sandbox.run(&["doctor", "--task", task, "--gpus", gpus]).assert_ok();
        let doctor_call = setup.fake.calls().into_iter().rfind(|c| c.argv.contains(&"config".to_string()));
        let doctor_call = doctor_call.expect("the model was read");
        setup.nothing_changed();
        setup.sandbox.run(&[task, "--gpus", gpus, "--no-wait"]).assert_ok();
        let up = setup.fake.actions().pop().expect("compose up");

        // Same program, profiles and files; only the env file differs (a temporary one).
        let env_at = |argv: &[String]| argv.iter().position(|a| a == "--env-file").expect("--env-file") + 1;
        let (mut doctor_argv, mut up_argv) = (doctor_call.argv.clone(), up.argv.clone());
        let doctor_env = std::path::PathBuf::from(&doctor_argv[env_at(&doctor_argv)]);
        let (i, j) = (env_at(&doctor_argv), env_at(&up_argv));
        doctor_argv[i] = "ENV".into();
        up_argv[j] = "ENV".into();
        let action = up_argv.iter().position(|a| a == "up").expect("up");
        assert_eq!(doctor_argv[..action], up_argv[..action], "{task}");
        assert_eq!(doctor_argv[action..], ["config", "--format", "json"]);

        assert!(!doctor_env.starts_with(setup.sandbox.project()), "not in the project");
        assert!(!doctor_env.exists(), "the temporary env file is removed");
        let rendered = doctor_call.env_file.expect("the fake copied it");
        assert!(!rendered.contains(VALID_KEY.trim()), "the key never reaches the temporary file");
        assert!(rendered.contains("LUMIGATOR_SECRET_KEY=********"));
        let compute = if gpus == "1" { "COMPUTE_TYPE=-gpu" } else { "COMPUTE_TYPE=-cpu" };
        assert!(rendered.contains(compute), "host values as the start writes them");
        fs::remove_dir_all(setup.sandbox.project().join("build")).expect("clean up after the start");
    }
}

#[test]
fn doctor_creates_no_key_and_says_it_will_be_created() {
    let setup = Setup::new(model(free_port(), free_port()), false);
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    assert!(!setup.sandbox.user_dir().exists(), "no ~/.lumigator");
    setup.nothing_changed();
    for check in ["user-dir", "secret-key"] {
        assert_eq!(row(&report, check)["status"], "ok");
        assert!(row(&report, check)["detail"].as_str().expect("detail").contains("will be created"));
    }
}

#[test]
fn docker_rows() {
    // No docker at all.
    let mut sandbox = Sandbox::new();
    let _fake = FakeDocker::install(&mut sandbox, &[]);
    let run = sandbox.run(&["doctor", "--format", "json"]);
    run.assert_failed();
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(row(&report, "docker-cli")["status"], "problem");
    assert!(row(&report, "docker-cli")["fix"].as_str().expect("fix").starts_with("install Docker"));
    assert_eq!(row(&report, "compose")["status"], "problem");
    assert_eq!(row(&report, "daemon")["status"], "skipped");
    assert_eq!(row(&report, "ports")["status"], "skipped");

    // Compose v1 only.
    let mut setup = Setup::new(model(free_port(), free_port()), false);
    let _standalone = FakeDocker::install(&mut setup.sandbox, &["docker", "docker-compose"]);
    setup.set("FAKE_MODE", "no-plugin").set("FAKE_STANDALONE_VERSION", "1.29.2");
    let (run, report) = setup.doctor_json(&[]);
    run.assert_failed();
    let compose = row(&report, "compose");
    assert_eq!(compose["status"], "problem");
    assert!(compose["detail"].as_str().expect("detail").contains("1.29.2"), "{compose}");
    assert!(compose["fix"].as_str().expect("fix").starts_with("install the Compose v2 plugin"), "{compose}");
    assert_eq!(row(&report, "daemon")["status"], "ok");

    // A standalone Compose v2 is fine.
    setup.set("FAKE_STANDALONE_VERSION", "2.40.3");
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    assert_eq!(row(&report, "compose")["detail"], "`docker-compose` 2.40.3");

    // The daemon is down: a problem; the ports are still checked (the model needs no daemon).
    let mut setup = Setup::new(model(free_port(), free_port()), false);
    setup.set("FAKE_MODE", "daemon-down");
    let (run, report) = setup.doctor_json(&[]);
    run.assert_failed();
    assert_eq!(row(&report, "daemon")["status"], "problem");
    assert!(row(&report, "daemon")["fix"].as_str().expect("fix").starts_with("start it"));
    assert_eq!(row(&report, "resources")["status"], "skipped");
    assert_eq!(rows(&report, "port").len(), 2);
}

#[test]
fn engine_resources_against_the_stack_s_limits() {
    let gib = 1u64 << 30;
    let info =
        |memory: u64, cpus: u64| json!({"ServerVersion": "28.2.2", "MemTotal": memory, "NCPU": cpus}).to_string();

    let mut setup = Setup::new(model(free_port(), free_port()), false);
    setup.set("FAKE_DOCKER_INFO", info(16 * gib, 8));
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    assert_eq!(row(&report, "resources")["status"], "ok");
    assert_eq!(row(&report, "resources")["detail"], "16 GiB of memory, 8 CPUs; ray may use up to 10 GiB");

    // Too little memory: a warning; the stack starts, with the warning.
    setup.set("FAKE_DOCKER_INFO", info(4 * gib, 8));
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    let resources = row(&report, "resources");
    assert_eq!(resources["status"], "warning");
    assert_eq!(resources["detail"], "the engine has 4 GiB of memory; ray may use up to 10 GiB");
    assert!(resources["fix"].as_str().expect("fix").starts_with("give the engine 10 GiB or more"));
    let run = setup.sandbox.run(&["start-lumigator", "--no-wait"]);
    run.assert_ok();
    assert!(run.stderr.contains("warning: the engine has 4 GiB of memory"), "{}", run.stderr);

    // Fewer CPUs than ray's limit: Docker would refuse ray, halfway through the start.
    let mut setup = Setup::new(model(free_port(), free_port()), false);
    setup.set("FAKE_DOCKER_INFO", info(16 * gib, 1));
    let (run, report) = setup.doctor_json(&[]);
    run.assert_failed();
    assert_eq!(row(&report, "resources")["status"], "problem");
    let run = setup.sandbox.run(&["start-lumigator"]);
    run.assert_failed();
    assert!(run.stderr.contains("error: the engine has 1 CPU; ray is limited to 2 CPUs"), "{}", run.stderr);
    assert!(!setup.compose_ran("up"));
    assert!(!setup.sandbox.project().join("build").exists());

    // A model without limits asks for nothing.
    let mut setup = Setup::new(json!({"name": "lumigator", "services": {"backend": {}}}), false);
    setup.set("FAKE_DOCKER_INFO", info(gib, 1));
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    assert_eq!(row(&report, "resources")["detail"], "1 GiB of memory, 1 CPU");
    assert_eq!(row(&report, "ports")["detail"], "the task publishes none");
}

#[test]
fn sources_and_uv_for_the_tasks_that_need_them() {
    let setup = Setup::new(model(free_port(), free_port()), false);
    let (run, report) = setup.doctor_json(&["--task", "start-lumigator-build"]);
    run.assert_failed();
    let sources = row(&report, "sources");
    assert_eq!(sources["status"], "problem");
    assert!(sources["detail"].as_str().expect("detail").contains("has no Dockerfile or lumigator/frontend/Dockerfile"));
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    assert!(rows(&report, "sources").is_empty(), "start-lumigator runs published images");

    let mut setup = Setup::new(model(free_port(), free_port()), true);
    let (run, report) = setup.doctor_json(&["--task", "local-up"]);
    run.assert_ok();
    assert_eq!(row(&report, "sources")["status"], "ok");
    assert_eq!(row(&report, "uv")["detail"], "uv 0.5.0 (fake)");
    let _no_uv = FakeDocker::install(&mut setup.sandbox, &["docker"]);
    let (run, report) = setup.doctor_json(&["--task", "local-up"]);
    run.assert_failed();
    assert_eq!(row(&report, "uv")["status"], "problem");
}

#[test]
fn key_and_user_folder_modes_and_validity() {
    let setup = Setup::new(model(free_port(), free_port()), false);
    setup.sandbox.key(VALID_KEY);
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    assert_eq!(row(&report, "secret-key")["status"], "ok");
    assert_eq!(row(&report, "user-dir")["status"], "ok");

    fs::set_permissions(setup.sandbox.key_file(), fs::Permissions::from_mode(0o644)).expect("chmod");
    fs::set_permissions(setup.sandbox.user_dir(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    let key = row(&report, "secret-key");
    assert_eq!(key["status"], "warning");
    assert_eq!(
        key["fix"],
        format!("run `chmod 600 {}` (the next start does it too)", setup.sandbox.key_file().display())
    );
    assert_eq!(row(&report, "user-dir")["status"], "warning");
    assert!(row(&report, "user-dir")["fix"].as_str().expect("fix").starts_with("run `chmod 700 "));
    assert_eq!(crate::support::mode(&setup.sandbox.key_file()), 0o644, "doctor repairs nothing");
    assert!(!run.stdout.contains(VALID_KEY.trim()) && !run.stderr.contains(VALID_KEY.trim()), "the key is never shown");

    setup.sandbox.key("c2hvcnQ=\n");
    let (run, report) = setup.doctor_json(&[]);
    run.assert_failed();
    let key = row(&report, "secret-key");
    assert_eq!(key["status"], "problem");
    assert!(key["detail"].as_str().expect("detail").contains("decodes to 5 bytes, expected 32"), "{key}");
    assert!(!run.stdout.contains("c2hvcnQ"), "not even an invalid key is shown");
    assert_eq!(row(&report, "configuration")["status"], "ok", "the configuration is still checked");
    assert_eq!(rows(&report, "port").len(), 2, "and the ports");
    assert_eq!(fs::read_to_string(setup.sandbox.key_file()).expect("key"), "c2hvcnQ=\n", "left as it is");
}

#[test]
fn configuration_findings_are_rows() {
    let setup = Setup::new(model(free_port(), free_port()), false);
    setup.sandbox.user_conf("RAY_DASHBORD_PORT=8265\n");
    let (run, report) = setup.doctor_json(&[]);
    run.assert_ok();
    let warning = row(&report, "configuration");
    assert_eq!(warning["status"], "warning");
    assert!(warning["detail"].as_str().expect("detail").contains("did you mean RAY_DASHBOARD_PORT?"), "{warning}");
    assert!(warning["fix"].as_str().expect("fix").starts_with("edit line 1 of "));

    setup.sandbox.user_conf("RAY_DASHBOARD_PORT=eighty\n");
    let (run, report) = setup.doctor_json(&[]);
    run.assert_failed();
    assert_eq!(row(&report, "configuration")["status"], "problem");
    assert_eq!(row(&report, "ports")["status"], "skipped", "no model from a configuration with errors");
}

#[test]
fn compose_failing_to_read_the_files_is_a_problem() {
    let mut setup = Setup::new(model(free_port(), free_port()), false);
    setup.set(
        "FAKE_COMPOSE_MODEL_ERROR",
        "service \"backend\" refers to undefined volume nope: invalid compose project",
    );
    let (run, report) = setup.doctor_json(&[]);
    run.assert_failed();
    let ports = row(&report, "ports");
    assert_eq!(ports["status"], "problem");
    assert!(ports["detail"].as_str().expect("detail").ends_with("invalid compose project"), "{ports}");
    // The start goes on: Compose's own command fails the same way, with its whole message.
    let run = setup.sandbox.run(&["start-lumigator"]);
    run.assert_ok();
    assert!(run.stderr.contains("warning: ports not checked"), "{}", run.stderr);
}

#[test]
fn down_tasks_need_no_ports_and_no_engine_resources() {
    let (backend, frontend) = two_ports();
    let setup = Setup::new(model(backend, frontend), false);
    let _listener = listen_on_loopback(backend);
    let (run, report) = setup.doctor_json(&["--task", "stop-lumigator"]);
    run.assert_ok();
    assert!(rows(&report, "port").is_empty() && rows(&report, "resources").is_empty());
    // And stopping never runs the pre-flight.
    setup.sandbox.run(&["stop-lumigator"]).assert_ok();
    assert!(setup.compose_ran("down"));
    assert!(!setup.compose_ran("config"));
}

#[test]
fn an_unknown_task_is_refused_with_the_list() {
    let setup = Setup::new(model(free_port(), free_port()), false);
    let run = setup.sandbox.run(&["doctor", "--task", "start-lumigatr"]);
    run.assert_failed();
    assert!(run.stderr.contains("start-lumigator-postgres"), "{}", run.stderr);
}

/// Replaces `port` with a placeholder of the same width, so the table stays aligned.
fn redact_port(text: &str, port: u16, tag: &str) -> String {
    let width = port.to_string().len();
    text.replace(&port.to_string(), &format!("{:_<width$}", format!("[{tag}]")))
}

#[test]
fn doctor_text_report() {
    let (backend, frontend) = two_ports();
    let mut setup = Setup::new(model(backend, frontend), true);
    setup.set("FAKE_DOCKER_INFO", json!({"ServerVersion": "28.2.2", "MemTotal": 8u64 << 30, "NCPU": 4}).to_string());
    setup.sandbox.key(VALID_KEY);
    fs::set_permissions(setup.sandbox.key_file(), fs::Permissions::from_mode(0o644)).expect("chmod");
    setup.sandbox.user_conf("RAY_DASHBORD_PORT=8265\n");
    let listener = listen_on_loopback(backend);
    let run = setup.sandbox.run(&["doctor", "--task", "local-up"]);
    drop(listener);
    run.assert_failed();
    // The table is the result, on stdout; the verdict is a diagnostic, on stderr.
    let holder = port_holder(&run.stdout, backend);
    let text =
        setup.sandbox.redact(&run.transcript()).replace(&holder, "[TEST PROCESS]").replace(&own_command(), "[TEST]");
    let text = redact_port(&redact_port(&text, backend, "A"), frontend, "B");
    insta::assert_snapshot!(text);

    let mut sandbox = Sandbox::new();
    let _fake = FakeDocker::install(&mut sandbox, &[]);
    let run = sandbox.run(&["doctor"]);
    run.assert_failed();
    insta::assert_snapshot!("doctor_text_report_without_docker", sandbox.redact(&run.transcript()));
}

/// `command (pid N)` as the report names the holder of `port`.
fn port_holder(report: &str, port: u16) -> String {
    let line = report.lines().find(|l| l.contains(&format!("port {port} "))).expect("the port's row");
    let start = line.find("but ").expect("holder") + 4;
    let end = line.find(") holds it").expect("holder") + 1;
    line[start..end].to_string()
}
