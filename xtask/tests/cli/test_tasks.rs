//! The test, docs, setup and clean-all tasks against the fake `uv` and `docker`, which record
//! each call's arguments, folder and environment: the Makefile's command lines, the environment
//! built in memory, the stack's lifecycle around the `*-containers` suites, the composites.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use crate::support::fake_docker::{Call, FakeDocker, source_checkout};
use crate::support::{Run, Sandbox, VALID_KEY, copy_tree, lumigator_snapshot, run_within, tasks};

/// The folders the suites and the OpenAPI tasks run in.
const SUITE_DIRS: [&str; 6] = [
    "lumigator/schemas",
    "lumigator/sdk/tests",
    "lumigator/backend",
    "lumigator/jobs/evaluator",
    "lumigator/jobs/inference",
    "docs/source/specs",
];

/// The fixed test-only key of the test settings (a prefix: enough to spot it anywhere).
const TEST_KEY_PREFIX: &str = "7yz2E+qwV3";

/// Variables the sandbox or bash itself gives every call: not the task's doing.
const BASELINE: [&str; 7] = ["HOME", "PATH", "NO_COLOR", "FAKE_LOG", "PWD", "SHLVL", "_"];

/// A Lumigator-like source checkout with the fake docker and uv.
fn checkout() -> (Sandbox, FakeDocker) {
    let (sandbox, fake) = source_checkout();
    for dir in SUITE_DIRS {
        fs::create_dir_all(sandbox.project().join(dir)).expect("mkdir");
    }
    (sandbox, fake)
}

/// The `uv` calls that ran something (not `uv --version`).
fn uv_runs(fake: &FakeDocker) -> Vec<Call> {
    fake.actions().into_iter().filter(|c| c.argv[0] == "uv").collect()
}

/// `word`, quoted for a shell when it needs it, so argument boundaries show in snapshots.
fn quoted(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c)) {
        word.to_string()
    } else {
        format!("'{word}'")
    }
}

/// The variables the task gave the call, sorted, secret values hidden.
fn added_env(sandbox: &Sandbox, call: &Call) -> BTreeMap<String, String> {
    call.env
        .iter()
        .filter(|(name, _)| !BASELINE.contains(&name.as_str()) && !sandbox.env.iter().any(|(k, _)| k == *name))
        .map(|(name, value)| {
            let shown = if name.contains("SECRET") { "[secret]".to_string() } else { sandbox.redact(value) };
            (name.clone(), shown)
        })
        .collect()
}

/// A call as folder, command line and added environment.
fn describe(sandbox: &Sandbox, call: &Call) -> String {
    let dir = call.cwd.strip_prefix(sandbox.project()).unwrap_or(&call.cwd).display().to_string();
    let line: Vec<String> = call.argv.iter().map(|a| quoted(&sandbox.redact(a))).collect();
    let mut text = format!("in ./{dir}\n{}\n", line.join(" "));
    for (name, value) in added_env(sandbox, call) {
        text.push_str(&format!("  {name}={value}\n"));
    }
    text
}

/// The single suites (no composite, no stack lifecycle), from `--help`.
fn single_suites() -> Vec<String> {
    let composite = ["test-schemas", "test-sdk", "test-backend", "test-jobs-unit"];
    tasks::under("Tests")
        .into_iter()
        .filter(|t| {
            t != "setup"
                && !t.ends_with("-containers")
                && !t.starts_with("test-all")
                && !composite.contains(&t.as_str())
        })
        .collect()
}

#[test]
fn every_suite_runs_the_makefiles_command_in_its_folder_with_its_environment() {
    let suites = single_suites();
    assert_eq!(suites.len(), 11, "{suites:?}");
    let mut transcript = String::new();
    for suite in &suites {
        let (sandbox, fake) = checkout();
        let run = sandbox.run(&[suite]);
        run.assert_ok();
        let calls = uv_runs(&fake);
        assert_eq!(calls.len(), 1, "{suite}: one pytest run");
        assert!(!sandbox.project().join("build").exists(), "{suite}: no env file, no build/");
        transcript.push_str(&format!("## {suite}\n{}", describe(&sandbox, &calls[0])));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn pytest_arguments_debugpy_and_the_callers_uv_settings() {
    let mut transcript = String::new();
    for (env, args) in [
        (vec![], vec!["test-backend-unit", "--", "-k", "secrets", "-x"]),
        (vec![("DEBUGPY", "TRUE")], vec!["test-sdk-unit"]),
        (vec![], vec!["test-jobs-inference-unit", "--debugpy", "--", "-q"]),
    ] {
        let (mut sandbox, fake) = checkout();
        for (k, v) in &env {
            sandbox.env.push((k.to_string(), v.to_string()));
        }
        sandbox.run(&args).assert_ok();
        let call = uv_runs(&fake).pop().expect("ran");
        let line: Vec<String> = call.argv.iter().map(|a| quoted(a)).collect();
        transcript.push_str(&format!("## {env:?} {}\n{}\n", args.join(" "), line.join(" ")));
    }
    insta::assert_snapshot!(transcript);

    let (mut sandbox, fake) = checkout();
    for (name, value) in [("UV_PYTHON", "/opt/python3.11/bin/python3"), ("UV_CACHE_DIR", "/c"), ("PYTHONPATH", "/mine")]
    {
        sandbox.env.push((name.into(), value.into()));
    }
    sandbox.run(&["test-backend-unit"]).assert_ok();
    let call = uv_runs(&fake).pop().expect("ran");
    assert_eq!(call.env["UV_PYTHON"], "/opt/python3.11/bin/python3", "uv's settings pass through");
    assert_eq!(call.env["UV_CACHE_DIR"], "/c");
    assert_eq!(call.env["PYTHONPATH"], "../jobs:/mine", "the jobs first, then the caller's");
}

#[test]
fn the_callers_database_url_wins_else_sqlite_and_it_is_never_echoed() {
    let url = "postgresql://admin:pa55word@localhost/lumigator";
    for args in [&["test-backend-integration"][..], &["test-backend-integration", "--use-config"]] {
        let (mut sandbox, fake) = checkout();
        sandbox.env.push(("SQLALCHEMY_DATABASE_URL".into(), url.into()));
        let run = sandbox.run(&[&["-v"], args].concat());
        run.assert_ok();
        assert_eq!(uv_runs(&fake)[0].env["SQLALCHEMY_DATABASE_URL"], url, "{args:?}");
        assert!(!run.stderr.contains("pa55word") && !run.stdout.contains("pa55word"), "{}", run.transcript());
    }
    let (sandbox, fake) = checkout();
    sandbox.run(&["test-backend-integration"]).assert_ok();
    assert_eq!(uv_runs(&fake)[0].env["SQLALCHEMY_DATABASE_URL"], "sqlite:////tmp/local.db");
}

/// A user.conf whose values a shell-based parser would mangle: `#`, quotes, `$`, `${...}`.
const TRICKY_USER_CONF: &str = r#"S3_BUCKET=my-bucket
MINIO_ROOT_PASSWORD='p#ss "w0rd" $NOT_EXPANDED ${EITHER}'
AWS_SECRET_ACCESS_KEY="tab\there # not a comment"
LUMIGATOR_API_CORS_ALLOWED_ORIGINS='*'
AWS_DEFAULT_REGION=eu#west
"#;

#[test]
fn with_the_configuration_values_arrive_resolved_byte_for_byte() {
    for how in ["--use-config", "USE_ENV_FILE=true"] {
        let (mut sandbox, fake) = checkout();
        sandbox.user_conf(TRICKY_USER_CONF).key(VALID_KEY);
        let mut args = vec!["test-backend-integration"];
        match how.split_once('=') {
            Some((name, value)) => sandbox.env.push((name.into(), value.into())),
            None => args.push(how),
        }
        let run = sandbox.run(&args);
        run.assert_ok();
        let env = &uv_runs(&fake)[0].env;
        let home = sandbox.home().display().to_string();
        assert_eq!(env["HF_HOME"], format!("{home}/.cache/huggingface"), "{how}");
        assert_eq!(env["MLFLOW_S3_ROOT_PATH"], "s3://my-bucket/mlflow");
        assert_eq!(env["MINIO_ROOT_PASSWORD"], r#"p#ss "w0rd" $NOT_EXPANDED ${EITHER}"#);
        assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "tab\there # not a comment");
        assert_eq!(env["LUMIGATOR_API_CORS_ALLOWED_ORIGINS"], "*");
        assert_eq!(env["AWS_DEFAULT_REGION"], "eu#west");
        assert_eq!(env["LUMIGATOR_SECRET_KEY"], VALID_KEY.trim_end(), "the user's key, not the test key");
        assert_eq!(env["RAY_HEAD_NODE_HOST"], "ray", "the configuration's, not the test settings'");
        assert_eq!(env["PYTHONPATH"], "../jobs");
        assert!(!sandbox.project().join("build").exists(), "{how}: nothing written");
        for secret in ["w0rd", "tab\there", VALID_KEY.trim_end()] {
            assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{how}: {secret} shown");
        }
    }
    // The GPU variants set their variables after the configuration's.
    let (mut sandbox, fake) = checkout();
    sandbox.env.push(("USE_ENV_FILE".into(), "true".into()));
    sandbox.run(&["test-backend-integration-gpu"]).assert_ok();
    let env = &uv_runs(&fake)[0].env;
    assert_eq!((env["RAY_WORKER_GPUS"].as_str(), env["RAY_WORKER_GPUS_FRACTION"].as_str()), ("1.0", "1.0"));
    assert_eq!(env["RAY_HEAD_NODE_HOST"], "ray");
}

#[test]
fn no_value_is_echoed_in_any_mode() {
    for (globals, options) in [
        (&[][..], &[][..]),
        (&["-v"], &[]),
        (&["--dry-run"], &[]),
        (&["-v"], &["--use-config"]),
        (&["--dry-run"], &["--use-config"]),
    ] {
        let (sandbox, _fake) = checkout();
        sandbox.key(VALID_KEY);
        let args = [globals, &["test-backend-unit"], options].concat();
        let run = sandbox.run(&args);
        run.assert_ok();
        for secret in [TEST_KEY_PREFIX, VALID_KEY.trim_end()] {
            assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{args:?}:\n{}", run.transcript());
        }
        if args.len() == 1 {
            assert!(!run.stderr.contains("localhost:9000"), "a normal run shows no setting at all:\n{}", run.stderr);
        }
    }
}

#[test]
fn without_uv_one_message_and_nothing_runs() {
    let mut transcript = String::new();
    for task in ["test-backend-unit", "test-backend-integration-containers", "test-all", "setup", "check-openapi-docs"]
    {
        let (mut sandbox, _) = checkout();
        let fake = FakeDocker::install(&mut sandbox, &["docker"]);
        let run = sandbox.run(&[task]);
        assert_eq!(run.status, 1, "{}", run.transcript());
        assert!(fake.actions().is_empty(), "{task}: nothing ran: {:?}", fake.actions());
        transcript.push_str(&format!("## {task}\n{}", sandbox.redact(&run.stderr)));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn the_exit_status_is_pytests() {
    for status in ["1", "5"] {
        let (mut sandbox, _fake) = checkout();
        sandbox.env.push(("FAKE_UV_EXIT".into(), status.into()));
        let run = sandbox.run(&["test-schemas-unit"]);
        assert_eq!(run.status.to_string(), status, "{}", run.transcript());
    }
}

#[test]
fn a_checkout_without_the_suites_folder_is_told_so() {
    let (sandbox, fake) = source_checkout();
    let run = sandbox.run(&["test-sdk-unit"]);
    run.assert_failed();
    assert!(run.stderr.contains("has no lumigator/sdk/tests"), "{}", run.stderr);
    assert!(uv_runs(&fake).is_empty());
}

// -------------------------------------------------------------------- the stack lifecycle --

/// The actions of a run, one line each: compose's verb and uv's folder.
fn lifecycle(sandbox: &Sandbox, fake: &FakeDocker) -> Vec<String> {
    fake.actions()
        .iter()
        .map(|call| match call.argv[0].as_str() {
            "uv" => format!("uv run in ./{}", call.cwd.strip_prefix(sandbox.project()).unwrap_or(&call.cwd).display()),
            _ => call.line(sandbox),
        })
        .collect()
}

/// `docker ps` output for a stack of this checkout that runs.
fn running_stack(sandbox: &mut Sandbox) {
    let listing = format!(
        "lumigator-backend-1\t{}\nlumigator-ray-1\t{}",
        sandbox.project().display(),
        sandbox.project().display()
    );
    sandbox.env.push(("FAKE_DOCKER_PS".into(), listing));
}

#[test]
fn containers_start_the_stack_when_none_runs_and_stop_it_after() {
    let mut transcript = String::new();
    for (env, args) in [
        (vec![], vec!["test-backend-integration-containers"]),
        (vec![("FAKE_UV_EXIT", "3")], vec!["test-sdk-integration-containers"]),
        (vec![], vec!["test-sdk-integration-containers", "--keep-up"]),
        (vec![("KEEP_CONTAINERS_UP", "TRUE")], vec!["test-backend-integration-containers"]),
    ] {
        let (mut sandbox, fake) = checkout();
        // Another checkout's stack does not count.
        sandbox.env.push(("FAKE_DOCKER_PS".into(), "lumigator-backend-1\t/somewhere/else".into()));
        for (k, v) in &env {
            sandbox.env.push((k.to_string(), v.to_string()));
        }
        let run = sandbox.run(&args);
        let expected = if env.contains(&("FAKE_UV_EXIT", "3")) { 3 } else { 0 };
        assert_eq!(run.status, expected, "{}", run.transcript());
        transcript.push_str(&format!(
            "## {env:?} {} -> {}\n{}\n",
            args.join(" "),
            run.status,
            lifecycle(&sandbox, &fake).join("\n")
        ));
    }
    insta::assert_snapshot!(transcript);
}

#[test]
fn a_running_stack_is_used_and_never_stopped_when_the_answer_is_yes() {
    for (env, args) in [
        (vec![("AUTO_TEST_RUN", "y")], vec!["test-backend-integration-containers"]),
        (vec![("AUTO_TEST_RUN", "Yes")], vec!["test-sdk-integration-containers"]),
        (vec![], vec!["test-sdk-integration-containers", "--yes"]),
    ] {
        let (mut sandbox, fake) = checkout();
        running_stack(&mut sandbox);
        for (k, v) in &env {
            sandbox.env.push((k.to_string(), v.to_string()));
        }
        let run = run_within(sandbox.command(&args), Duration::from_secs(20));
        run.assert_ok();
        let actions = lifecycle(&sandbox, &fake);
        assert_eq!(actions.len(), 1, "only the tests ran: {actions:?}");
        assert!(actions[0].starts_with("uv run"), "{actions:?}");
    }
}

#[test]
fn a_running_stack_without_a_terminal_or_an_answer_is_refused_at_once() {
    let mut transcript = String::new();
    for env in [vec![], vec![("AUTO_TEST_RUN", "n")], vec![("AUTO_TEST_RUN", "maybe")]] {
        let (mut sandbox, fake) = checkout();
        running_stack(&mut sandbox);
        for (k, v) in &env {
            sandbox.env.push((k.to_string(), v.to_string()));
        }
        // stdin is not a terminal (closed): waiting for an answer would hang the test.
        let run = run_within(sandbox.command(&["test-backend-integration-containers"]), Duration::from_secs(20));
        run.assert_failed();
        assert!(lifecycle(&sandbox, &fake).is_empty(), "nothing ran: {:?}", lifecycle(&sandbox, &fake));
        transcript.push_str(&format!("## {env:?}\nstatus: {}\n{}", run.status, run.stderr));
    }
    insta::assert_snapshot!(transcript);
}

/// `cargo xtask <args>` at a terminal (util-linux's `script` gives it one), `input` typed in.
fn at_a_terminal(sandbox: &Sandbox, args: &[&str], input: &str) -> Run {
    use std::io::Write;
    let inner = sandbox.command(args);
    let line: Vec<String> = std::iter::once(inner.get_program())
        .chain(inner.get_args())
        .map(|word| format!("'{}'", word.to_string_lossy().replace('\'', r"'\''")))
        .collect();
    // `script` runs one command string in a new terminal; the typescript goes nowhere.
    let mut cmd = std::process::Command::new(crate::support::which("script"));
    cmd.args(["-qe", "-c", &line.join(" "), "/dev/null"]).env_clear().current_dir(sandbox.project());
    for (name, value) in inner.get_envs() {
        if let Some(value) = value {
            cmd.env(name, value);
        }
    }
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("script");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("type");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still waiting for an answer after 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Run::from(child.wait_with_output().expect("output"))
}

#[test]
fn at_a_terminal_the_question_is_asked_and_enter_means_yes() {
    for (input, ran) in [("\n", true), ("y\n", true), ("n\n", false), ("later\n", false)] {
        let (mut sandbox, fake) = checkout();
        running_stack(&mut sandbox);
        let run = at_a_terminal(&sandbox, &["test-backend-integration-containers"], input);
        assert!(
            run.stdout.contains("run the tests against the running stack? [Y/n]"),
            "{input:?}: {}",
            run.transcript()
        );
        assert_eq!(run.status == 0, ran, "{input:?}: {}", run.transcript());
        let actions = lifecycle(&sandbox, &fake);
        let expected: Vec<String> = if ran { vec!["uv run in ./lumigator/backend".into()] } else { vec![] };
        assert_eq!(actions, expected, "{input:?}: only the tests, and the stack never stopped");
    }
}

#[test]
fn a_start_that_fails_halfway_is_stopped_and_one_that_never_began_is_not() {
    // Compose fails on `up` and leaves a stopped container behind: the task stops the stack.
    let (mut sandbox, fake) = checkout();
    sandbox.env.push(("FAKE_EXIT".into(), "1".into()));
    sandbox.env.push(("FAKE_DOCKER_PS_ALL".into(), format!("lumigator-redis-1\t{}", sandbox.project().display())));
    let run = sandbox.run(&["test-sdk-integration-containers"]);
    assert_eq!(run.status, 1, "{}", run.transcript());
    let actions = lifecycle(&sandbox, &fake);
    assert!(actions.first().is_some_and(|a| a.ends_with("up -d --build")), "{actions:?}");
    assert!(actions.last().is_some_and(|a| a.ends_with("down")), "stopped: {actions:?}");
    assert!(!actions.iter().any(|a| a.starts_with("uv run")), "no tests without a stack: {actions:?}");

    // The sources are missing: nothing starts, so nothing is stopped.
    let mut sandbox = Sandbox::new();
    let fake = FakeDocker::install(&mut sandbox, &["docker", "uv"]);
    let run = sandbox.run(&["test-sdk-integration-containers"]);
    run.assert_failed();
    assert!(fake.actions().is_empty(), "{:?}", lifecycle(&sandbox, &fake));
}

#[test]
fn ctrl_c_during_the_tests_still_stops_the_stack() {
    use std::os::unix::process::CommandExt;
    let (mut sandbox, fake) = checkout();
    sandbox.env.push(("FAKE_UV_RUN_UNTIL_SIGNAL".into(), "1".into()));
    let mut command = sandbox.command(&["test-backend-integration-containers"]);
    command.process_group(0).stdin(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("spawn");
    let running = fake.log_dir().join("running");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !running.exists() {
        assert!(std::time::Instant::now() < deadline, "the tests never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Ctrl-C at a terminal signals the whole foreground process group.
    let status = std::process::Command::new("/bin/kill").args(["-INT", "--", &format!("-{}", child.id())]).status();
    assert!(status.expect("kill").success());
    while child.try_wait().expect("try_wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = std::process::Command::new("/bin/kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            panic!("the task did not end after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fake pytest: stopping on SIGINT"), "{stderr}");
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let actions = lifecycle(&sandbox, &fake);
    assert!(actions.last().is_some_and(|a| a.ends_with("down")), "the stack was stopped: {actions:?}\n{stderr}");
    assert!(!sandbox.project().join("build").exists(), "and build/ removed");
}

// ------------------------------------------------------------------------------ composites --

/// A run's transcript with the seconds column made stable.
fn stable(run: &Run) -> String {
    let seconds = |line: &str| {
        let mut words: Vec<&str> = line.split_whitespace().collect();
        if words.last().is_some_and(|w| w.parse::<f64>().is_ok()) {
            words.pop();
            words.push("[s]");
        }
        words.join(" ")
    };
    format!("status: {}\n{}", run.status, run.stdout.lines().map(seconds).collect::<Vec<_>>().join("\n"))
}

#[test]
fn composites_run_in_order_stop_at_the_first_failure_and_sum_up() {
    let mut transcript = String::new();
    for (env, args) in [
        (vec![], vec!["test-all-unit"]),
        (vec![("FAKE_UV_EXIT", "1"), ("FAKE_UV_FAIL_IN", "lumigator/sdk/tests")], vec!["test-all-unit"]),
        (
            vec![("FAKE_UV_EXIT", "1"), ("FAKE_UV_FAIL_IN", "lumigator/sdk/tests")],
            vec!["test-all-unit", "--keep-going"],
        ),
        (vec![("FAKE_UV_EXIT", "4"), ("FAKE_UV_FAIL_IN", "lumigator/backend")], vec!["test-all", "--", "-x"]),
        (vec![], vec!["test-schemas"]),
    ] {
        let (mut sandbox, fake) = checkout();
        for (k, v) in &env {
            sandbox.env.push((k.to_string(), v.to_string()));
        }
        let run = sandbox.run(&args);
        transcript.push_str(&format!(
            "## {env:?} {}\n{}\n{}\n",
            args.join(" "),
            lifecycle(&sandbox, &fake).join("\n"),
            stable(&run)
        ));
        if run.status != 0 {
            assert!(run.stderr.contains("failed: test-"), "{}", run.stderr);
        }
    }
    insta::assert_snapshot!(transcript);
}

// ---------------------------------------------------------------------- openapi, setup, clean --

/// The file `update-openapi-docs` writes and `check-openapi-docs` compares with.
fn spec(sandbox: &Sandbox) -> PathBuf {
    sandbox.project().join("docs/source/specs/openapi.json")
}

/// The path the generator was asked to write (its last argument), made absolute.
fn generated_path(sandbox: &Sandbox, fake: &FakeDocker) -> PathBuf {
    let call = uv_runs(fake).pop().expect("the generator ran");
    assert_eq!(call.cwd, sandbox.project().join("lumigator/backend"));
    assert_eq!(call.argv[1..5], ["run", "python", "-m", "backend.openapi_spec"]);
    call.cwd.join(call.argv.last().expect("a path"))
}

#[test]
fn update_openapi_docs_writes_the_spec_in_the_docs() {
    let (mut sandbox, fake) = checkout();
    sandbox.env.push(("FAKE_OPENAPI".into(), r#"{"openapi": "3.1.0"}"#.into()));
    sandbox.run(&["update-openapi-docs"]).assert_ok();
    assert_eq!(fs::read_to_string(spec(&sandbox)).expect("written"), r#"{"openapi": "3.1.0"}"#);
    let call = uv_runs(&fake).pop().expect("ran");
    assert_eq!(call.argv.last().map(String::as_str), Some("../../docs/source/specs/openapi.json"));
    assert_eq!(call.env["PYTHONPATH"], "../jobs");
    assert_eq!(call.env["SQLALCHEMY_DATABASE_URL"], "sqlite:////tmp/local.db");
}

#[test]
fn check_openapi_docs_ignores_line_breaks_shows_a_short_diff_and_always_removes_its_file() {
    let (mut sandbox, fake) = checkout();
    fs::write(spec(&sandbox), "{\"openapi\": \"3.1.0\",\n \"paths\": {}}\n").expect("write");
    sandbox.env.push(("FAKE_OPENAPI".into(), r#"{"openapi": "3.1.0", "paths": {}}"#.into()));
    let run = sandbox.run(&["check-openapi-docs"]);
    run.assert_ok();
    assert!(run.stderr.contains("is up to date"), "{}", run.stderr);
    let generated = generated_path(&sandbox, &fake);
    assert!(!generated.exists() && !generated.parent().expect("folder").exists(), "the temporary folder is gone");

    let (mut sandbox, fake) = checkout();
    fs::write(spec(&sandbox), r#"{"openapi": "3.1.0", "paths": {"/health": {"summary": "Get Health"}}}"#)
        .expect("write");
    sandbox
        .env
        .push(("FAKE_OPENAPI".into(), r#"{"openapi": "3.1.0", "paths": {"/health": {"summary": "Health"}}}"#.into()));
    let run = sandbox.run(&["check-openapi-docs"]);
    assert_eq!(run.status, 1, "{}", run.transcript());
    let generated = generated_path(&sandbox, &fake);
    assert!(!generated.parent().expect("folder").exists(), "removed on a mismatch too");
    insta::assert_snapshot!(format!(
        "--- stdout\n{}--- stderr (last lines)\n{}",
        run.stdout,
        last_lines(&run.stderr, 2)
    ));

    // The generator fails: its status, and still no file left.
    let (mut sandbox, fake) = checkout();
    fs::write(spec(&sandbox), "{}").expect("write");
    sandbox.env.push(("FAKE_UV_EXIT".into(), "7".into()));
    let run = sandbox.run(&["check-openapi-docs"]);
    assert_eq!(run.status, 7, "{}", run.transcript());
    assert!(!generated_path(&sandbox, &fake).parent().expect("folder").exists());
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn setup_creates_and_syncs_each_project_then_the_root_keeping_an_existing_venv() {
    let (sandbox, fake) = checkout();
    // The SDK has a .venv already (kept, and its packages are no project); the others get one.
    for dir in ["lumigator/schemas", "lumigator/sdk", "lumigator/backend", "lumigator/sdk/.venv/lib/site"] {
        fs::create_dir_all(sandbox.project().join(dir)).expect("mkdir");
        fs::write(sandbox.project().join(dir).join("pyproject.toml"), "").expect("write");
    }
    let run = sandbox.run(&["setup"]);
    run.assert_ok();
    let calls: Vec<String> = uv_runs(&fake)
        .iter()
        .map(|c| {
            format!("./{}: {}", c.cwd.strip_prefix(sandbox.project()).unwrap_or(&c.cwd).display(), c.argv.join(" "))
        })
        .collect();
    let progress: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("xtask: setup")).collect();
    insta::assert_snapshot!(format!("{}\n--- progress\n{}", calls.join("\n"), progress.join("\n")));
}

#[test]
fn clean_all_runs_the_makefiles_three_steps() {
    let (sandbox, fake) = checkout();
    sandbox.run(&["config-generate-env"]).assert_ok();
    assert!(sandbox.env_file().exists());
    sandbox.run(&["clean-all", "--yes"]).assert_ok();
    let lines: Vec<String> = fake.actions().iter().map(|c| c.line(&sandbox)).collect();
    assert_eq!(
        lines,
        ["docker builder prune --all -f", "docker container prune --filter label=ai.mozilla.product_name=lumigator -f"]
    );
    assert!(!sandbox.project().join("build").exists(), "config-clean ran");
}

#[test]
fn every_new_task_has_a_dry_run_that_runs_and_writes_nothing() {
    let mut new_tasks: Vec<String> = tasks::under("Tests").into_iter().chain(tasks::under("Docs")).collect();
    new_tasks.push("clean-all".into());
    let mut transcript = String::new();
    let shown = [
        "test-backend-unit",
        "test-sdk-integration-gpu",
        "test-backend-integration-containers",
        "test-jobs-unit",
        "setup",
        "check-openapi-docs",
        "clean-all",
    ];
    for task in &new_tasks {
        let (sandbox, fake) = checkout();
        sandbox.key(VALID_KEY);
        fs::write(spec(&sandbox), "{}").expect("write");
        let run = sandbox.run(&["--dry-run", task]);
        run.assert_ok();
        assert!(
            fake.calls().is_empty(),
            "{task}: a dry run runs nothing, not even probes: {:?}",
            fake.calls().iter().map(|c| c.argv.join(" ")).collect::<Vec<_>>()
        );
        assert!(!sandbox.project().join("build").exists(), "{task}: writes nothing");
        assert!(
            !run.stdout.contains(TEST_KEY_PREFIX) && !run.stdout.contains(VALID_KEY.trim_end()),
            "{task}: secrets redacted"
        );
        if shown.contains(&task.as_str()) {
            transcript.push_str(&format!("## {task}\n{}", plans_only(&sandbox.redact(&run.stdout))));
        }
    }
    insta::assert_snapshot!(transcript);
}

/// A dry run's output without the env files it would write (their host-derived values differ
/// from machine to machine; the compose tests pin them).
fn plans_only(stdout: &str) -> String {
    let mut kept = String::new();
    let mut in_env_file = false;
    for line in stdout.lines() {
        if line.starts_with("would ") {
            in_env_file = line.starts_with("would write");
        } else if in_env_file {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

// ------------------------------------------------------------------------- for real (opt-in) --

/// In a copy of the Lumigator snapshot, with the real uv and pytest: the suites that can pass on
/// a machine without the stack's images or the Hugging Face hub, and the OpenAPI check. The
/// counts are what the snapshot's own Makefile gets here.
#[test]
#[ignore = "needs the real uv on PATH, Python 3.11 (UV_PYTHON) and PyPI or a warm uv cache; .ci/run provides them"]
fn real_uv_runs_lumigators_unit_suites_and_checks_the_openapi_docs() {
    let mut sandbox = Sandbox::new();
    copy_tree(&lumigator_snapshot(), sandbox.project());
    // uv's settings and the network's (certificates, proxies) pass through as a user's would; the
    // cache is the real one, so the temporary HOME does not mean downloading every package again.
    let network = ["SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"];
    sandbox.env.extend(
        std::env::vars().filter(|(name, _)| name.starts_with("UV_") || network.contains(&name.to_uppercase().as_str())),
    );
    if std::env::var_os("UV_CACHE_DIR").is_none()
        && let Some(home) = std::env::var_os("HOME")
    {
        sandbox.env.push(("UV_CACHE_DIR".into(), PathBuf::from(home).join(".cache/uv").display().to_string()));
    }
    for (task, expected) in [
        ("test-schemas-unit", "51 passed"),
        ("test-sdk-unit", "47 passed"),
        ("test-backend-unit", "138 passed"),
        ("check-openapi-docs", "openapi.json is up to date"),
    ] {
        let run = sandbox.run(&[task]);
        let tail = |text: &str| last_lines(text, 30);
        assert_eq!(run.status, 0, "{task}:\n--- stdout\n{}--- stderr\n{}", tail(&run.stdout), tail(&run.stderr));
        assert!(
            run.stdout.contains(expected) || run.stderr.contains(expected),
            "{task}: no {expected:?}:\n{}",
            tail(&run.stdout)
        );
    }
    assert!(
        fs::read_dir(std::env::temp_dir())
            .expect("temp dir")
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with(&format!("xtask-openapi-{}-", std::process::id()))),
        "no temporary specification left behind"
    );
}
