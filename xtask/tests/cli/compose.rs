//! The compose tasks against a fake `docker` that records what it was asked to do.

use std::fs;

use crate::support::fake_docker::{FakeDocker, source_checkout};
use crate::support::{Sandbox, mode, tasks};

#[test]
fn every_task_runs_the_makefile_command_line() {
    let mut transcript = String::new();
    for task in tasks::starting().iter().chain(&tasks::stopping()).chain(&["local-logs".to_string()]) {
        let (sandbox, fake) = source_checkout();
        sandbox.run(&[task]).assert_ok();
        transcript.push_str(&format!("## {task}\n"));
        for call in fake.actions() {
            assert_eq!(call.cwd, sandbox.project(), "runs from the project root");
            transcript.push_str(&format!("{}\n", call.line(&sandbox)));
        }
    }
    for args in [
        &["clean-docker-buildcache"][..],
        &["clean-docker-containers"],
        &["clean-docker-containers", "--yes"],
        &["clean-docker-images", "--yes"],
        &["clean-docker-all", "--yes"],
    ] {
        let (sandbox, fake) = source_checkout();
        sandbox.run(args).assert_ok();
        transcript.push_str(&format!("## {}\n", args.join(" ")));
        for call in fake.actions() {
            transcript.push_str(&format!("{}\n", call.line(&sandbox)));
        }
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn gpus_from_the_configuration_or_the_flag() {
    let mut transcript = String::new();
    for (user_conf, args) in [
        ("RAY_WORKER_GPUS=1\n", vec!["start-lumigator"]),
        ("RAY_WORKER_GPUS=1.0\n", vec!["start-lumigator"]),
        ("RAY_WORKER_GPUS=0\n", vec!["start-lumigator", "--gpus", "2"]),
        ("RAY_WORKER_GPUS=2\n", vec!["start-lumigator", "--gpus", "0"]),
    ] {
        let (sandbox, fake) = source_checkout();
        sandbox.user_conf(user_conf);
        sandbox.run(&args).assert_ok();
        let call = fake.actions().pop().expect("compose ran");
        let env = call.env_file.clone().expect("env file copied");
        // The architecture values depend on the machine running the tests (host.rs tests them).
        let derived: Vec<&str> = env
            .lines()
            .skip_while(|l| !l.starts_with("# --- derived"))
            .map(|l| match l.split_once('=') {
                Some(("ARCH", _)) => "ARCH=[host]",
                Some(("RAY_ARCH_SUFFIX", _)) => "RAY_ARCH_SUFFIX=[host]",
                _ => l,
            })
            .collect();
        transcript.push_str(&format!(
            "## {} {}\n{}\n{}\n",
            user_conf.trim(),
            args.join(" "),
            call.line(&sandbox),
            derived.join("\n")
        ));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn compose_gets_build_env_and_not_the_shell_config() {
    let (mut sandbox, fake) = source_checkout();
    sandbox.env.push(("AWS_ACCESS_KEY_ID".into(), "from-shell".into()));
    sandbox.env.push(("LUMIGATOR_SECRET_KEY".into(), "from-shell".into()));
    sandbox.env.push(("UNRELATED_VARIABLE".into(), "kept".into()));
    let run = sandbox.run(&["start-lumigator"]);
    run.assert_ok();
    assert!(
        run.stderr.contains("not passing AWS_ACCESS_KEY_ID, LUMIGATOR_SECRET_KEY from your shell to Compose"),
        "{}",
        run.stderr
    );
    let call = fake.actions().pop().expect("compose ran");
    assert!(!call.env.contains_key("AWS_ACCESS_KEY_ID") && !call.env.contains_key("LUMIGATOR_SECRET_KEY"));
    assert_eq!(call.env.get("UNRELATED_VARIABLE").map(String::as_str), Some("kept"));
    for derived in ["ARCH", "RAY_ARCH_SUFFIX", "COMPUTE_TYPE"] {
        assert!(!call.env.contains_key(derived), "{derived} comes from build/.env, not the environment");
    }
    let env_file = call.env_file.expect("env file");
    assert!(env_file.contains("\nAWS_ACCESS_KEY_ID=lumigator\n"));
    assert!(env_file.contains("\nCOMPUTE_TYPE=-cpu\n") && env_file.contains("\nRAY_ARCH_SUFFIX=\n"));
    let key = fs::read_to_string(sandbox.key_file()).expect("key");
    assert!(env_file.contains(&format!("LUMIGATOR_SECRET_KEY={key}")));
}

#[test]
fn build_dir_stays_after_up_and_goes_after_down_whatever_compose_says() {
    for exit in ["0", "3"] {
        for task in tasks::starting() {
            let (mut sandbox, _fake) = source_checkout();
            sandbox.env.push(("FAKE_EXIT".into(), exit.into()));
            let run = sandbox.run(&[&task]);
            assert_eq!(run.status.to_string(), exit, "{task}: Compose's status is the task's\n{}", run.transcript());
            assert!(sandbox.env_file().is_file(), "{task} keeps build/.env");
            assert_eq!(mode(&sandbox.env_file()), 0o600);
        }
        for task in tasks::stopping() {
            let (mut sandbox, fake) = source_checkout();
            sandbox.env.push(("FAKE_EXIT".into(), exit.into()));
            let run = sandbox.run(&[&task]);
            assert_eq!(run.status.to_string(), exit, "{task}\n{}", run.transcript());
            assert!(!sandbox.project().join("build").exists(), "{task} removes build/ (exit {exit})");
            assert!(fake.actions().last().expect("compose ran").env_file.is_some(), "compose read the env file");
        }
    }
}

#[test]
fn local_up_prepares_python_first() {
    let (sandbox, fake) = source_checkout();
    sandbox.run(&["local-up"]).assert_ok();
    let lines: Vec<String> = fake.actions().iter().map(|c| c.argv[..2].join(" ")).collect();
    assert_eq!(lines, ["uv sync", "uv run", "docker compose"]);
}

/// Each error path: the message, a non-zero exit, and nothing written or run.
fn refused(sandbox: &Sandbox, fake: &FakeDocker, task: &str) -> String {
    let run = sandbox.run(&[task]);
    run.assert_failed();
    assert!(!sandbox.project().join("build").exists(), "{task}: nothing written");
    assert!(!sandbox.user_dir().exists(), "{task}: no key created");
    assert!(fake.actions().is_empty(), "{task}: nothing run: {:?}", fake.actions());
    sandbox.redact(&run.stderr)
}

#[test]
fn missing_prerequisites_stop_the_task_before_anything_happens() {
    let mut transcript = String::new();

    let mut sandbox = Sandbox::new();
    let fake = FakeDocker::install(&mut sandbox, &[]);
    transcript.push_str(&format!("## no docker\n{}", refused(&sandbox, &fake, "start-lumigator")));

    let mut sandbox = Sandbox::new();
    let fake = FakeDocker::install(&mut sandbox, &["docker"]);
    sandbox.env.push(("FAKE_MODE".into(), "no-plugin".into()));
    transcript.push_str(&format!("## no compose at all\n{}", refused(&sandbox, &fake, "start-lumigator")));

    let mut sandbox = Sandbox::new();
    let fake = FakeDocker::install(&mut sandbox, &["docker", "docker-compose"]);
    sandbox.env.push(("FAKE_MODE".into(), "no-plugin".into()));
    sandbox.env.push(("FAKE_STANDALONE_VERSION".into(), "1.29.2".into()));
    transcript.push_str(&format!("## compose v1 only\n{}", refused(&sandbox, &fake, "stop-lumigator")));

    let mut sandbox = Sandbox::new();
    let fake = FakeDocker::install(&mut sandbox, &["docker"]);
    sandbox.env.push(("FAKE_MODE".into(), "daemon-down".into()));
    transcript.push_str(&format!("## daemon down\n{}", refused(&sandbox, &fake, "start-lumigator")));

    let mut sandbox = Sandbox::new();
    let fake = FakeDocker::install(&mut sandbox, &["docker"]);
    for task in ["local-up", "start-lumigator-build", "start-lumigator-build-postgres"] {
        transcript.push_str(&format!("## {task} without sources\n{}", refused(&sandbox, &fake, task)));
    }

    let (sandbox, _) = source_checkout();
    let mut no_uv = sandbox;
    let fake = FakeDocker::install(&mut no_uv, &["docker"]);
    transcript.push_str(&format!("## local-up without uv\n{}", refused(&no_uv, &fake, "local-up")));
    insta::assert_snapshot!(transcript);
}

#[test]
fn a_standalone_compose_v2_is_used_when_the_plugin_is_missing() {
    let mut sandbox = Sandbox::new();
    let fake = FakeDocker::install(&mut sandbox, &["docker", "docker-compose"]);
    sandbox.env.push(("FAKE_MODE".into(), "no-plugin".into()));
    sandbox.env.push(("FAKE_STANDALONE_VERSION".into(), "2.40.3".into()));
    sandbox.run(&["start-lumigator"]).assert_ok();
    assert_eq!(fake.actions().pop().expect("ran").argv[0], "docker-compose");
}

#[test]
fn dry_run_runs_nothing_and_writes_nothing() {
    let mut transcript = String::new();
    let extra = ["local-logs".to_string(), "clean-docker-all".to_string()];
    for task in tasks::starting().iter().chain(&tasks::stopping()).chain(&extra) {
        let (mut sandbox, fake) = source_checkout();
        sandbox.key("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\n");
        sandbox.env.push(("AWS_ACCESS_KEY_ID".into(), "from-shell".into()));
        let run = sandbox.run(&["--dry-run", task]);
        run.assert_ok();
        assert!(fake.calls().is_empty(), "{task}: a dry run runs nothing, not even probes");
        assert!(!sandbox.project().join("build").exists(), "{task}: writes nothing");
        assert!(!run.stderr.contains("MDEyMzQ1") && !run.stdout.contains("MDEyMzQ1"), "the key is redacted");
        // The plan is the result, on stdout; the env file it would write comes first.
        let shell: String = run.stdout.lines().skip_while(|l| *l != "would run:").collect::<Vec<_>>().join("\n");
        transcript.push_str(&format!("## {task}\n{}\n", sandbox.redact(&shell)));
    }
    insta::assert_snapshot!(transcript);
}

/// Starts `task` in a process group of its own (as a shell runs a foreground job) with a Compose
/// that runs until signalled; returns the child once Compose is up.
fn start_foreground(sandbox: &mut Sandbox, fake: &FakeDocker, task: &str) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    sandbox.env.push(("FAKE_RUN_UNTIL_SIGNAL".into(), "1".into()));
    let mut command = sandbox.command(&[task]);
    command.process_group(0).stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("spawn");
    let running = fake.log_dir().join("running");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !running.exists() {
        assert!(std::time::Instant::now() < deadline, "Compose never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child
}

/// Waits for `child`, killing its whole group and failing if it takes longer than 20 s (a task
/// that never passes the signal on would otherwise hang the test run).
fn wait_bounded(mut child: std::process::Child) -> std::process::Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        if std::time::Instant::now() > deadline {
            signal(&format!("-{}", child.id()), "KILL");
            panic!("the task did not end after the signal");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.wait_with_output().expect("wait")
}

fn signal(target: &str, name: &str) {
    let status = std::process::Command::new("/bin/kill").args([&format!("-{name}"), "--", target]).status();
    assert!(status.expect("kill").success());
}

#[test]
fn ctrl_c_reaches_a_foreground_compose_and_the_task_exits_with_its_status() {
    let (mut sandbox, fake) = source_checkout();
    let child = start_foreground(&mut sandbox, &fake, "local-up");
    // Ctrl-C at a terminal signals the whole foreground process group.
    signal(&format!("-{}", child.id()), "INT");
    let output = wait_bounded(child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fake compose: stopping on SIGINT"), "Compose got Ctrl-C:\n{stderr}");
    assert_eq!(output.status.code(), Some(130), "the task exits with Compose's status:\n{stderr}");
    assert!(sandbox.env_file().is_file(), "an up task keeps build/");
}

#[test]
fn sigterm_to_the_task_alone_is_passed_on_to_compose() {
    let (mut sandbox, fake) = source_checkout();
    let child = start_foreground(&mut sandbox, &fake, "stop-lumigator");
    signal(&child.id().to_string(), "TERM");
    let output = wait_bounded(child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fake compose: stopping on SIGTERM"), "Compose got the SIGTERM:\n{stderr}");
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(!sandbox.project().join("build").exists(), "a down task removes build/ even when stopped");
}
