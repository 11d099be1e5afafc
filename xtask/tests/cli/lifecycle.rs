//! The stack's lifecycle against the fake `docker`: a start waits until Compose says every service
//! is ready (and the backend's health endpoint answers), names what is not, and says what to do
//! next; a stop always stops, whatever state the configuration is in; `local-logs` takes services
//! and options; `--gpus` takes what the configuration takes, and GPUs need Docker's NVIDIA
//! runtime.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::fake_docker::{Call, FakeDocker, source_checkout};
use crate::support::{Run, Sandbox, VALID_KEY, run_within, tasks};

/// Longer than any run here may take: a run still going then is a hang.
const LIMIT: Duration = Duration::from_secs(30);

/// A sandbox with the fake docker, and files for its answers (the Compose model, `ps` answers).
struct Setup {
    sandbox: Sandbox,
    fake: FakeDocker,
    answers: TempDir,
}

impl Setup {
    fn new() -> Self {
        let (sandbox, fake) = source_checkout();
        Setup { sandbox, fake, answers: tempfile::tempdir().expect("answers") }
    }

    fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.sandbox.env.retain(|(k, _)| k != name);
        self.sandbox.env.push((name.into(), value.into()));
        self
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.answers.path().join(name);
        fs::write(&path, text).expect("write answer");
        path
    }

    /// The Compose model the fake prints for `config`.
    fn model(&mut self, model: Value) -> &mut Self {
        let path = self.file("model.json", &model.to_string());
        self.set("FAKE_COMPOSE_MODEL", path.display().to_string())
    }

    /// What the fake's `compose ps` prints, call after call (the last answer repeats). Each answer
    /// is a list of (service, state, health, exit code), printed one object a line as Compose 2.40
    /// does (the array form is read too: see readiness.rs).
    fn ps(&mut self, answers: &[&[(&str, &str, &str, i64)]]) -> &mut Self {
        let mut files = Vec::new();
        for (n, containers) in answers.iter().enumerate() {
            let lines: String = containers
                .iter()
                .map(|(service, state, health, code)| {
                    format!(
                        "{}\n",
                        json!({"Service": service, "State": state, "Health": health, "ExitCode": code,
                               "Name": format!("lumigator-{service}-1")})
                    )
                })
                .collect();
            files.push(self.file(&format!("ps-{n}.json"), &lines).display().to_string());
        }
        self.set("FAKE_COMPOSE_PS", files.join(":"))
    }

    fn run(&self, args: &[&str]) -> Run {
        run_within(self.sandbox.command(args), LIMIT)
    }

    fn calls_to(&self, action: &str) -> Vec<Call> {
        self.fake.calls().into_iter().filter(|c| c.compose_action() == Some(action)).collect()
    }
}

/// Lumigator's shape: minio-admin runs once (the backend waits for it to complete).
fn lumigator_model() -> Value {
    json!({"name": "lumigator", "services": {
        "backend": {"depends_on": {"minio-admin": {"condition": "service_completed_successfully"},
                                   "ray": {"condition": "service_healthy"}}},
        "minio-admin": {}, "ray": {}, "redis": {}}})
}

const RUNNING: (&str, &str, &str, i64) = ("backend", "running", "", 0);
const DONE: (&str, &str, &str, i64) = ("minio-admin", "exited", "", 0);
const REDIS: (&str, &str, &str, i64) = ("redis", "running", "healthy", 0);

fn progress(run: &Run) -> Vec<&str> {
    run.stderr.lines().filter(|l| l.starts_with("xtask: ")).collect()
}

// ------------------------------------------------------------------------------ the wait --

#[test]
fn a_start_waits_until_every_service_is_ready_with_one_line_per_change() {
    let mut setup = Setup::new();
    setup.model(lumigator_model());
    let starting = [RUNNING, DONE, REDIS, ("ray", "running", "starting", 0)];
    let healthy = [RUNNING, DONE, REDIS, ("ray", "running", "healthy", 0)];
    setup.ps(&[&starting, &starting, &starting, &healthy]);
    let run = setup.run(&["start-lumigator"]);
    run.assert_ok();
    let lines: Vec<String> = progress(&run)
        .into_iter()
        .skip_while(|l| !l.contains("waiting up to"))
        .map(|l| match l.rsplit_once(" (") {
            // The time each change was seen depends on the machine; the order does not.
            Some((text, time)) if time.ends_with(" s)") => text.to_string(),
            _ if l.starts_with("xtask: start-lumigator: ready after ") => "xtask: start-lumigator: ready".into(),
            _ => l.to_string(),
        })
        .collect();
    assert_eq!(
        lines,
        [
            "xtask: start-lumigator: waiting up to 300 s until every service is ready",
            "xtask: backend: running",
            "xtask: minio-admin: done (ran once and exited)",
            "xtask: ray: starting: its health check has not passed yet",
            "xtask: redis: healthy",
            "xtask: ray: healthy",
            "xtask: start-lumigator: ready",
        ],
        "one line per change, none while nothing changes:\n{}",
        run.stderr
    );
    assert_eq!(setup.calls_to("ps").len(), 4, "asked until ray turned healthy, then no more");
    assert_eq!(setup.calls_to("up").len(), 1);
    let up = &setup.calls_to("up")[0];
    assert!(up.argv.ends_with(&["up".into(), "-d".into()]), "the Compose command is still `up -d`: {:?}", up.argv);
    // `ps` asks about the same stack: the start's files, profile, env file and environment.
    let ps = &setup.calls_to("ps")[0];
    let up_options = &up.argv[..up.argv.len() - 2];
    assert_eq!(&ps.argv[..up_options.len()], up_options);
    assert_eq!(&ps.argv[up_options.len()..], ["ps", "--all", "--format", "json"]);
    assert!(run.stdout.starts_with("Lumigator is ready"), "{}", run.stdout);
    assert!(run.stdout.contains("Stop: cargo xtask stop-lumigator"), "{}", run.stdout);
}

#[test]
fn a_service_that_never_turns_healthy_ends_the_wait_at_the_timeout_by_name() {
    let mut setup = Setup::new();
    setup.model(lumigator_model());
    setup.ps(&[&[RUNNING, DONE, ("ray", "running", "starting", 0)]]);
    let started = Instant::now();
    let run = setup.run(&["start-lumigator", "--wait-timeout", "2"]);
    let took = started.elapsed();
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert!(took < Duration::from_secs(2 + 4), "ends well within the timeout plus a few seconds: {took:?}");
    assert!(took >= Duration::from_secs(2), "waits the whole timeout: {took:?}");
    let shown = setup.sandbox.redact(&run.stderr);
    assert!(
        shown.contains(
            "error: start-lumigator: 1 service not ready after 2 s (ray: starting: its health check has not passed \
             yet)"
        ),
        "{shown}"
    );
    // Its last 20 log lines, from Compose.
    let logs = setup.calls_to("logs");
    assert_eq!(logs.len(), 1);
    assert!(logs[0].argv.ends_with(&["logs".into(), "--tail".into(), "20".into(), "ray".into()]));
    assert!(shown.contains("note: the last 20 lines of ray's log:\n    ray-1  | log line 11 of 30\n"), "{shown}");
    assert!(shown.contains("    ray-1  | log line 30 of 30\n") && !shown.contains("log line 10 of"), "{shown}");
    // What next; the stack keeps running, and build/.env with it.
    for advice in ["local-logs ray", "doctor --task start-lumigator", "--wait-timeout", "`cargo xtask stop-lumigator`"]
    {
        assert!(shown.contains(advice), "says {advice}:\n{shown}");
    }
    assert!(setup.calls_to("down").is_empty(), "the stack is left running");
    assert!(setup.sandbox.env_file().is_file(), "build/.env stays for the stop");
    insta::assert_snapshot!(
        shown.lines().filter(|l| l.starts_with("error") || l.starts_with("help")).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn a_service_that_exits_or_turns_unhealthy_ends_the_wait_at_once() {
    for (answer, says) in [
        (("ray", "exited", "", 1), "error: start-lumigator: ray is not ready: exited with status 1"),
        (("ray", "running", "unhealthy", 0), "error: start-lumigator: ray is not ready: unhealthy"),
        (("minio-admin", "exited", "", 2), "error: start-lumigator: minio-admin is not ready: exited with status 2"),
    ] {
        let mut setup = Setup::new();
        setup.model(lumigator_model());
        setup.ps(&[&[RUNNING, ("ray", "running", "starting", 0)], &[RUNNING, answer]]);
        let started = Instant::now();
        let run = setup.run(&["start-lumigator"]);
        assert_eq!(run.status, 1, "{}", run.transcript());
        assert!(started.elapsed() < Duration::from_secs(10), "at once, not at the 300 s timeout");
        assert!(run.stderr.contains(says), "{says}:\n{}", run.stderr);
        assert!(run.stderr.contains(&format!("note: the last 20 lines of {}'s log:", answer.0)), "{}", run.stderr);
        assert!(run.stderr.contains(&format!("`cargo xtask local-logs {}`", answer.0)), "{}", run.stderr);
    }
}

#[test]
fn no_wait_returns_once_compose_has_started_the_services() {
    let mut setup = Setup::new();
    setup.ps(&[&[("ray", "running", "starting", 0)]]);
    let run = setup.run(&["start-lumigator", "--no-wait"]);
    run.assert_ok();
    assert!(setup.calls_to("ps").is_empty(), "not asked");
    assert!(run.stdout.starts_with("Lumigator is starting (not checked whether it is ready)"), "{}", run.stdout);
    // local-up runs in the foreground until Ctrl-C: there is nothing to wait for, nor a flag.
    let run = setup.run(&["local-up", "--no-wait"]);
    assert_eq!(run.status, 2, "{}", run.transcript());
}

/// A stand-in backend on 127.0.0.1: its health route fails `failures` times, then answers; every
/// request's path is recorded.
fn backend(failures: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let paths = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&paths);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = String::new();
            let _ = BufReader::new(&stream).read_line(&mut request);
            let path = request.split_whitespace().nth(1).unwrap_or_default().to_string();
            let mut paths = seen.lock().expect("lock");
            paths.push(path);
            let ok = paths.len() > failures;
            let (status, body) = if ok { ("200 OK", r#"{"status":"OK"}"#) } else { ("503 Busy", "starting") };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            if ok {
                break;
            }
        }
    });
    (port, paths)
}

#[test]
fn the_backend_is_ready_when_its_health_endpoint_answers_and_the_addresses_come_from_the_model() {
    let (port, paths) = backend(2);
    let mut setup = Setup::new();
    setup.model(json!({"name": "lumigator", "services": {
        "backend": {"ports": [{"target": 8000, "published": port.to_string(), "protocol": "tcp"}]},
        "frontend": {"ports": [{"target": 80, "published": "80", "protocol": "tcp"}]},
        "mlflow": {"ports": [{"target": 5000, "published": "8001"}]},
        "minio": {"ports": [{"target": 9000, "published": "9000"}, {"target": 9001, "published": "9001"}]},
        "ray": {"ports": [{"target": 6379, "published": "6379"}, {"target": 8265, "published": "8265"}]}}}));
    setup.ps(&[&[RUNNING, ("frontend", "running", "", 0)]]);
    // The test holds the backend's port: the pre-flight would (rightly) refuse it.
    let run = setup.run(&["start-lumigator", "--skip-preflight"]);
    run.assert_ok();
    assert_eq!(*paths.lock().expect("lock"), ["/api/v1/health/"; 3], "asked until it answered");
    let url = format!("http://127.0.0.1:{port}/api/v1/health/");
    let backend_lines: Vec<&str> = progress(&run).into_iter().filter(|l| l.starts_with("xtask: backend:")).collect();
    assert_eq!(backend_lines.len(), 2, "{}", run.stderr);
    assert!(backend_lines[0].contains(&format!("its health endpoint does not answer yet ({url})")));
    assert!(backend_lines[1].contains(&format!("its health endpoint answers ({url})")));
    insta::assert_snapshot!(run.stdout.replace(&port.to_string(), "[PORT]"));
}

// ------------------------------------------------------------------ a failed start: next --

#[test]
fn a_failed_start_says_what_to_do_next_and_that_build_env_was_kept() {
    let mut transcript = String::new();
    for task in ["start-lumigator", "start-lumigator-build-postgres", "local-up"] {
        let mut setup = Setup::new();
        setup.set("FAKE_EXIT", "3");
        let run = setup.run(&[task]);
        assert_eq!(run.status, 3, "Compose's status:\n{}", run.transcript());
        assert!(setup.sandbox.env_file().is_file(), "{task}: build/.env kept for the stop");
        let stop = if task == "local-up" { "local-down" } else { "stop-lumigator" };
        let tail: Vec<&str> = run.stderr.lines().skip_while(|l| !l.starts_with("error:")).collect();
        let tail = setup.sandbox.redact(&tail.join("\n"));
        assert!(tail.contains(&format!("`cargo xtask {stop}` stops it")), "{tail}");
        assert!(tail.contains(&format!("`cargo xtask doctor --task {task}`")), "{tail}");
        transcript.push_str(&format!("## {task}\n{tail}\n"));
    }
    // A setup step that fails before Compose starts anything: nothing to stop, build/ removed.
    let mut setup = Setup::new();
    setup.set("FAKE_UV_EXIT", "3");
    let run = setup.run(&["local-up"]);
    assert_eq!(run.status, 3, "{}", run.transcript());
    assert!(!setup.sandbox.project().join("build").exists(), "no copy of the key left behind");
    assert!(setup.calls_to("up").is_empty());
    let tail: Vec<&str> = run.stderr.lines().skip_while(|l| !l.starts_with("error:")).collect();
    transcript.push_str(&format!("## local-up, `uv sync` fails\n{}\n", tail.join("\n")));
    insta::assert_snapshot!(transcript);
}

// -------------------------------------------------------------------- stops always stop --

/// The ways a configuration can be unusable, each with what the warning names. (The key is not
/// among them: a stop does not read it.)
const BROKEN: [(&str, &str); 3] = [
    ("a value of the wrong type", "user.conf:1:1: RAY_DASHBOARD_PORT"),
    ("a line with no `=`", "user.conf:2:1"),
    ("~/.lumigator is not a folder", ".lumigator"),
];

fn break_configuration(sandbox: &Sandbox, how: &str) {
    match how {
        "a value of the wrong type" => {
            sandbox.user_conf("RAY_DASHBOARD_PORT=abc\n");
        }
        "a line with no `=`" => {
            sandbox.user_conf("S3_BUCKET=mine\nBROKEN\n");
        }
        _ => {
            fs::remove_dir_all(sandbox.user_dir()).expect("remove ~/.lumigator");
            fs::write(sandbox.user_dir(), "a file\n").expect("write");
        }
    }
}

#[test]
fn stops_stop_with_the_build_env_the_start_left_whatever_the_configuration() {
    for task in tasks::stopping() {
        // What a stop runs when all is well.
        let (reference, fake) = source_checkout();
        reference.key(VALID_KEY);
        reference.run(&[&task]).assert_ok();
        let expected = fake.actions().pop().expect("down").line(&reference);

        for (how, names) in BROKEN {
            let setup = Setup::new();
            setup.sandbox.key(VALID_KEY).user_conf("RAY_WORKER_GPUS=1\n");
            let start = if task == "local-down" { "local-up" } else { "start-lumigator" };
            setup.run(&[start]).assert_ok();
            let left = fs::read_to_string(setup.sandbox.env_file()).expect("the start left build/.env");
            break_configuration(&setup.sandbox, how);

            let run = setup.run(&[&task]);
            let context = format!("{task} with {how}");
            run.assert_ok();
            let down = setup.calls_to("down").pop().unwrap_or_else(|| panic!("{context}: Compose ran `down`"));
            // The same command line, with the GPU override the start used (from build/.env).
            let gpu = "-f docker-compose.gpu.override.yaml ";
            assert_eq!(down.line(&setup.sandbox).replacen(gpu, "", 1), expected, "{context}");
            assert!(down.line(&setup.sandbox).contains(gpu), "{context}: GPUs as the start had them");
            assert_eq!(down.env_file.as_deref(), Some(left.as_str()), "{context}: Compose read the start's file");
            assert!(!setup.sandbox.project().join("build").exists(), "{context}: build/ removed");
            let shown = setup.sandbox.redact(&run.stderr);
            assert!(shown.contains(&format!("warning: {task} ignores the configuration")), "{context}:\n{shown}");
            assert!(shown.contains(names), "{context}: names {names}:\n{shown}");
            assert!(shown.contains("as the last start wrote it"), "{context}:\n{shown}");
        }
    }
}

#[test]
fn without_a_build_env_stops_stop_with_the_defaults_alone() {
    let mut transcript = String::new();
    for (how, _) in BROKEN {
        let setup = Setup::new();
        setup.sandbox.key(VALID_KEY).user_conf("S3_BUCKET=mine\n");
        break_configuration(&setup.sandbox, how);
        let user_dir_before = fs::symlink_metadata(setup.sandbox.user_dir()).map(|m| m.is_dir()).ok();
        let run = setup.run(&["stop-lumigator"]);
        run.assert_ok();
        let down = setup.calls_to("down").pop().expect("down");
        let env = down.env_file.expect("Compose read an env file");
        assert!(env.contains("\nS3_BUCKET=lumigator-storage\n"), "{how}: the defaults, not user.conf:\n{env}");
        assert!(env.contains("\nRAY_DASHBOARD_PORT=8265\n"), "{how}");
        assert!(env.contains("\nLUMIGATOR_SECRET_KEY=\n"), "{how}: a stop needs no key and reads none");
        assert!(!setup.sandbox.project().join("build").exists(), "{how}: build/ removed");
        assert_eq!(fs::symlink_metadata(setup.sandbox.user_dir()).map(|m| m.is_dir()).ok(), user_dir_before);
        transcript.push_str(&format!("## {how}\n{}", setup.sandbox.redact(&run.stderr)));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn a_stop_neither_reads_nor_creates_the_key_and_only_missing_docker_stops_it() {
    let setup = Setup::new();
    setup.run(&["stop-lumigator"]).assert_ok();
    assert!(!setup.sandbox.key_file().exists(), "a stop needs no key, so it makes none");

    // An invalid key does not matter to a stop: the configuration is used, without it.
    let setup = Setup::new();
    setup.sandbox.key("not a key\n").user_conf("S3_BUCKET=mine\n");
    let run = setup.run(&["stop-lumigator"]);
    run.assert_ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let env = setup.calls_to("down").pop().expect("down").env_file.expect("env file");
    assert!(env.contains("\nS3_BUCKET=mine\n") && env.contains("\nLUMIGATOR_SECRET_KEY=\n"), "{env}");
    assert_eq!(fs::read_to_string(setup.sandbox.key_file()).expect("key"), "not a key\n", "left as it was");

    let mut setup = Setup::new();
    setup.sandbox.user_conf("BROKEN\n");
    setup.set("FAKE_MODE", "daemon-down");
    let run = setup.run(&["stop-lumigator"]);
    run.assert_failed();
    assert!(run.stderr.contains("the Docker daemon does not answer"), "{}", run.stderr);
}

// --------------------------------------------------------------------------- local-logs --

#[test]
fn local_logs_takes_services_follow_tail_and_compose_options() {
    let setup = Setup::new();
    setup.run(&["config-generate-env"]).assert_ok();
    setup.run(&["local-logs", "backend", "ray", "-f", "--tail", "5", "--", "--timestamps"]).assert_ok();
    let logs = setup.calls_to("logs").pop().expect("logs ran");
    assert_eq!(
        logs.line(&setup.sandbox),
        "docker compose --env-file [PROJECT]/build/.env --profile local -f docker-compose.yaml -f \
         .devcontainer/docker-compose-postgres.override.yaml logs --follow --tail 5 --timestamps backend ray"
    );
    setup.run(&["local-logs", "--follow"]).assert_ok();
    let logs = setup.calls_to("logs").pop().expect("logs ran");
    assert!(logs.argv.ends_with(&["logs".into(), "--follow".into()]), "{:?}", logs.argv);
}

#[test]
fn local_logs_with_nothing_running_and_no_build_env_says_so_in_one_line() {
    let mut setup = Setup::new();
    setup.ps(&[&[]]);
    let run = setup.run(&["local-logs"]);
    run.assert_ok();
    assert_eq!(
        run.stderr,
        "xtask: local-logs: nothing to show: no container of Lumigator's stack exists and no start left a \
         build/.env (`cargo xtask start-lumigator` starts it)\n"
    );
    assert!(setup.calls_to("logs").is_empty(), "Compose was not asked for logs");
    assert!(!setup.sandbox.project().join("build").exists(), "nothing written");
}

#[test]
fn local_logs_without_build_env_gives_compose_the_configuration_in_a_temporary_file() {
    let setup = Setup::new();
    setup.sandbox.key(VALID_KEY).user_conf("S3_BUCKET=mine\n");
    setup.run(&["local-logs", "ray"]).assert_ok();
    let logs = setup.calls_to("logs").pop().expect("logs ran: a container exists");
    let at = logs.argv.iter().position(|a| a == "--env-file").expect("--env-file") + 1;
    let temporary = PathBuf::from(&logs.argv[at]);
    assert!(!temporary.starts_with(setup.sandbox.project()) && !temporary.exists(), "written elsewhere, removed");
    let env = logs.env_file.expect("the fake copied it");
    assert!(env.contains("\nS3_BUCKET=mine\n"), "the configuration:\n{env}");
    assert!(!env.contains(VALID_KEY.trim()), "never the key");
    assert!(!setup.sandbox.project().join("build").exists(), "nothing written in the project");

    // A configuration that cannot be used: the defaults, and a warning.
    setup.sandbox.user_conf("BROKEN\n");
    let run = setup.run(&["local-logs"]);
    run.assert_ok();
    assert!(run.stderr.contains("warning: local-logs ignores the configuration"), "{}", run.stderr);
    assert!(
        setup.calls_to("logs").pop().expect("logs").env_file.expect("env").contains("\nS3_BUCKET=lumigator-storage\n")
    );
}

// ------------------------------------------------------------------------------- GPUs --

#[test]
fn gpus_takes_what_the_configuration_takes() {
    for (count, gpu_override) in [("1", true), ("1.0", true), ("2", true), ("0.5", false), ("0", false)] {
        let setup = Setup::new();
        setup.run(&["start-lumigator", "--gpus", count, "--no-wait"]).assert_ok();
        let up = setup.calls_to("up").pop().expect("up");
        assert_eq!(up.argv.iter().any(|a| a == "docker-compose.gpu.override.yaml"), gpu_override, "--gpus {count}");
        let env = up.env_file.expect("env file");
        assert!(env.contains(&format!("\nRAY_WORKER_GPUS={count}\n")), "as given: {count}");
    }
    for wrong in ["--gpus=abc", "--gpus=-1", "--gpus=inf"] {
        let setup = Setup::new();
        let run = setup.run(&["start-lumigator", wrong]);
        assert_eq!(run.status, 2, "{}", run.transcript());
        assert!(run.stderr.contains("RAY_WORKER_GPUS"), "{}", run.stderr);
        assert!(setup.fake.calls().is_empty(), "refused before anything ran");
    }
}

fn info(runtimes: &[&str]) -> String {
    let runtimes: serde_json::Map<String, Value> =
        runtimes.iter().map(|r| (r.to_string(), json!({"path": r}))).collect();
    json!({"ServerVersion": "28.2.2", "MemTotal": 68719476736u64, "NCPU": 16, "Runtimes": runtimes}).to_string()
}

fn gpu_row(run: &Run) -> Value {
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.transcript()));
    let rows = report["checks"].as_array().expect("checks");
    rows.iter().find(|r| r["check"] == "gpu-runtime").cloned().unwrap_or(Value::Null)
}

#[test]
fn gpus_need_docker_s_nvidia_runtime_in_doctor_and_in_the_start() {
    let mut setup = Setup::new();
    // Lumigator's GPU override: ray asks for the nvidia runtime and every GPU.
    setup.model(json!({"name": "lumigator", "services": {
        "backend": {}, "ray": {"runtime": "nvidia", "gpus": [{"count": -1}]}}}));
    setup.set("FAKE_DOCKER_INFO", info(&["io.containerd.runc.v2", "runc"]));

    let run = setup.run(&["doctor", "--gpus", "1", "--format", "json"]);
    run.assert_failed();
    let row = gpu_row(&run);
    assert_eq!(row["status"], "problem", "{row}");
    assert_eq!(
        row["detail"],
        "ray asks for NVIDIA GPUs, but Docker reports no NVIDIA runtime (runtimes: io.containerd.runc.v2, runc)"
    );
    assert!(row["fix"].as_str().expect("fix").starts_with("install the NVIDIA Container Toolkit"), "{row}");
    let text = setup.run(&["doctor", "--gpus", "1.0"]);
    assert!(text.stderr.contains("start-lumigator would not start: 1 problem"), "{}", text.transcript());

    // The start's pre-flight makes the same check, before Compose starts anything.
    let run = setup.run(&["start-lumigator", "--gpus", "1"]);
    run.assert_failed();
    assert!(
        run.stderr.contains("error: ray asks for NVIDIA GPUs, but Docker reports no NVIDIA runtime"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing started, build/ removed"), "{}", run.stderr);
    assert!(setup.calls_to("up").is_empty());

    // Without GPUs, no row and no check.
    let run = setup.run(&["doctor", "--gpus", "0.5", "--format", "json"]);
    run.assert_ok();
    assert_eq!(gpu_row(&run), Value::Null);

    // With the runtime registered, both go ahead.
    setup.set("FAKE_DOCKER_INFO", info(&["nvidia", "runc"]));
    let run = setup.run(&["doctor", "--gpus", "1", "--format", "json"]);
    run.assert_ok();
    assert_eq!(gpu_row(&run)["status"], "ok");
    setup.run(&["start-lumigator", "--gpus", "1", "--no-wait"]).assert_ok();
    assert_eq!(setup.calls_to("up").len(), 1);
}

#[test]
fn doctor_asks_for_the_runtime_only_when_the_stack_asks_for_gpus() {
    let mut setup = Setup::new();
    setup.set("FAKE_DOCKER_INFO", info(&["runc"]));
    // RAY_WORKER_GPUS in the configuration counts as the flag does; the default model asks for no
    // GPU runtime (as the test stack's override), so there is nothing Docker lacks.
    setup.sandbox.user_conf("RAY_WORKER_GPUS=1.0\n");
    let run = setup.run(&["doctor", "--format", "json"]);
    run.assert_ok();
    assert_eq!(gpu_row(&run)["status"], "ok");
    assert!(gpu_row(&run)["detail"].as_str().expect("detail").contains("no NVIDIA runtime"));
}
