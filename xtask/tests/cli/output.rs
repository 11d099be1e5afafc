//! The output contract of the README: results on stdout, diagnostics on stderr, one JSON document
//! with `--format json` whatever happens, colour by clap's rules, commands echoed as make did, and
//! the exit statuses of the table.

use std::net::TcpListener;
use std::process::Command;

use serde_json::Value;

use crate::support::fake_docker::FakeDocker;
use crate::support::{Run, Sandbox};

fn coloured(text: &str) -> bool {
    text.contains('\u{1b}')
}

/// `cargo xtask <args>` with exactly `env` for colour (the sandbox otherwise sets NO_COLOR).
fn run_with(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd: Command = sandbox.command(args);
    cmd.env_remove("NO_COLOR");
    for (name, value) in env {
        cmd.env(name, value);
    }
    Run::from(cmd.output().expect("run xtask"))
}

#[test]
fn colour_follows_the_same_rules_as_clap() {
    let sandbox = Sandbox::new();
    sandbox.user_conf("RAY_DASHBOARD_PORT=abc\n");
    let cases: [&[(&str, &str)]; 8] = [
        &[],
        &[("NO_COLOR", "1")],
        &[("CLICOLOR", "0")],
        &[("CLICOLOR_FORCE", "1")],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
        &[("CLICOLOR_FORCE", "1"), ("TERM", "dumb")],
        &[("TERM", "dumb")],
        &[("CLICOLOR_FORCE", "1"), ("CLICOLOR", "0")],
    ];
    let mut forced = 0;
    for env in cases {
        // Ours: findings and the error of a failing check. Clap's: an unknown option.
        let ours = run_with(&sandbox, &["config-check"], env);
        ours.assert_failed();
        let clap = run_with(&sandbox, &["--no-such-option"], env);
        assert_eq!(clap.status, 2, "clap's usage error");
        assert_eq!(coloured(&ours.stderr), coloured(&clap.stderr), "{env:?}:\n{}\n{}", ours.stderr, clap.stderr);
        forced += usize::from(coloured(&ours.stderr));
    }
    assert!(forced > 0, "CLICOLOR_FORCE gives colour, so the comparison means something");
}

fn closed_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    listener.local_addr().expect("addr").port()
}

/// stdout as exactly one JSON document with the schema field.
#[track_caller]
fn one_document(run: &Run) -> Value {
    let document: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|err| panic!("stdout is not one JSON document ({err}):\n{}", run.transcript()));
    assert_eq!(document["schema"], 1, "{}", run.stdout);
    document
}

#[test]
fn json_is_one_document_on_stdout_whatever_happens() {
    let sandbox = Sandbox::new();
    sandbox.user_conf("S3_BUCKET=fine\nNO_EQUALS_SIGN\n");
    // A line with no `=`: the configuration cannot even be read.
    let check = sandbox.run(&["config-check", "--format", "json"]);
    assert_eq!(check.status, 1);
    let document = one_document(&check);
    assert_eq!(document["ok"], false);
    assert_eq!(document["findings"][0]["location"]["line"], 2, "{document}");
    assert!(check.stderr.contains("error:"), "the diagnostic is on stderr too:\n{}", check.stderr);

    let show = sandbox.run(&["config-show", "--format", "json"]);
    assert_eq!(show.status, 1);
    assert_eq!(one_document(&show)["ok"], false);

    let list =
        sandbox.run(&["secret-list", "--format", "json", "--api-url", &format!("http://127.0.0.1:{}", closed_port())]);
    assert_eq!(list.status, 1);
    assert!(one_document(&list)["error"]["message"].as_str().is_some_and(|m| m.contains("not running")));

    let usage = sandbox.run(&["secret-list", "--format", "json", "--api-url", "ftp://example"]);
    assert_eq!(usage.status, 2, "a value the task rejects is a usage error");
    assert_eq!(one_document(&usage)["error"]["exit_code"], 2);

    let fine = Sandbox::new();
    let show = fine.run(&["config-show", "--format", "json"]);
    show.assert_ok();
    assert!(one_document(&show)["settings"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(show.stderr, "", "nothing but the document");
}

#[test]
fn commands_are_echoed_unless_quiet_and_verbose_shows_their_environment() {
    let mut sandbox = Sandbox::new();
    let _fake = FakeDocker::install(&mut sandbox, &["docker"]);
    sandbox.env.push(("AWS_ACCESS_KEY_ID".into(), "from-the-shell".into()));

    let normal = sandbox.run(&["start-lumigator"]);
    normal.assert_ok();
    let echoed: Vec<&str> = normal.stderr.lines().filter(|l| l.starts_with("$ ")).collect();
    assert_eq!(echoed.len(), 1, "the Compose command, not the probes:\n{}", normal.stderr);
    assert!(echoed[0].starts_with("$ docker compose --env-file ") && echoed[0].ends_with(" up -d"), "{}", echoed[0]);
    assert_eq!(normal.stdout, "", "nothing but results on stdout");

    let quiet = sandbox.run(&["-q", "start-lumigator"]);
    quiet.assert_ok();
    assert!(!quiet.stderr.lines().any(|l| l.starts_with("$ ") || l.starts_with("xtask:")), "{}", quiet.stderr);
    assert!(quiet.stderr.contains("warning: not passing AWS_ACCESS_KEY_ID"), "warnings stay:\n{}", quiet.stderr);

    let verbose = sandbox.run(&["--verbose", "start-lumigator"]);
    verbose.assert_ok();
    let project = sandbox.project().display().to_string();
    assert!(verbose.stderr.contains("$ docker --version"), "probes too:\n{}", verbose.stderr);
    assert!(
        verbose.stderr.contains(&format!("(in {project}, unset AWS_ACCESS_KEY_ID)")),
        "the folder and the environment changes:\n{}",
        verbose.stderr
    );
}

#[test]
fn usage_errors_exit_2_and_a_failing_program_passes_its_status_on() {
    let mut sandbox = Sandbox::new();
    assert_eq!(sandbox.run(&["no-such-task"]).status, 2);
    assert_eq!(sandbox.run(&["secret-delete", "a/b"]).status, 2, "a name the task rejects");
    let _fake = FakeDocker::install(&mut sandbox, &["docker"]);
    sandbox.env.push(("FAKE_EXIT".into(), "7".into()));
    let failed = sandbox.run(&["start-lumigator"]);
    assert_eq!(failed.status, 7, "{}", failed.transcript());
    assert!(failed.stderr.contains("failed with exit status 7"), "{}", failed.stderr);
}
