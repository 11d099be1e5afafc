//! The configuration tasks, run as a user runs them: the real binary, a temporary HOME and project.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::{Sandbox, VALID_KEY, mode, repo_root, tasks};

fn corpus(name: &str) -> std::path::PathBuf {
    repo_root().join("lumigator-conf/tests/corpus").join(name)
}

/// Generates build/.env and returns a snapshot of it and of `config-show`, paths and key redacted.
fn generate_and_show(sandbox: &Sandbox) -> String {
    let generated = sandbox.run(&["config-generate-env"]);
    generated.assert_ok();
    let show = sandbox.run(&["config-show"]);
    show.assert_ok();
    sandbox.redact(&format!(
        "--- build/.env\n{}--- config-show\n{}--- stderr of config-generate-env\n{}",
        sandbox.read_env(),
        show.stdout,
        generated.stderr
    ))
}

#[test]
fn defaults_only() {
    let sandbox = Sandbox::new();
    insta::assert_snapshot!(generate_and_show(&sandbox));
    assert_eq!(mode(&sandbox.env_file()), 0o600);
    assert_eq!(mode(&sandbox.key_file()), 0o600);
    assert_eq!(mode(&sandbox.user_dir()), 0o700);
}

#[test]
fn user_overrides_keep_their_position_and_win() {
    let sandbox = Sandbox::new();
    sandbox.user_conf("# mine\nAWS_DEFAULT_REGION=eu-west-1\nMINIO_ROOT_PASSWORD='p#ss w0rd'\n");
    let snapshot = generate_and_show(&sandbox);
    let env = sandbox.read_env();
    assert!(env.contains("\nAWS_DEFAULT_REGION=eu-west-1\nAWS_ENDPOINT_URL="), "kept in place:\n{env}");
    assert!(env.contains("\nMINIO_ROOT_PASSWORD=\"p#ss w0rd\"\n"), "not truncated at #:\n{env}");
    insta::assert_snapshot!(snapshot);
}

#[test]
fn new_user_keys_are_appended_in_order_with_a_warning() {
    let sandbox = Sandbox::new();
    sandbox.user_conf("ZETA_SETTING=1\nALPHA_SETTING=2\nS3_BUCKT=typo\n");
    let snapshot = generate_and_show(&sandbox);
    let env = sandbox.read_env();
    let tail: Vec<&str> = env.lines().rev().take(4).collect();
    assert_eq!(tail[1..], ["S3_BUCKT=typo", "ALPHA_SETTING=2", "ZETA_SETTING=1"]);
    assert!(snapshot.contains("S3_BUCKT: not a known setting; did you mean S3_BUCKET?"), "{snapshot}");
    insta::assert_snapshot!(snapshot);
}

#[test]
fn interpolation_sees_the_user_override() {
    let sandbox = Sandbox::new();
    sandbox.user_conf("S3_BUCKET=my-bucket\nMINIO_ROOT_USER=ad$$min\n");
    let snapshot = generate_and_show(&sandbox);
    let env = sandbox.read_env();
    assert!(env.contains("\nMLFLOW_S3_ROOT_PATH=s3://my-bucket/mlflow\n"), "{env}");
    assert!(env.contains(&format!("\nHF_HOME={}/.cache/huggingface\n", sandbox.home().display())), "{env}");
    // A literal `$` reaches Compose escaped, so it is not expanded a second time.
    assert!(env.contains("\nMINIO_ROOT_USER=\"ad$$min\"\n"), "{env}");
    insta::assert_snapshot!(snapshot);
}

#[test]
fn tricky_values_in_user_conf() {
    let sandbox = Sandbox::new();
    sandbox.user_conf(fs::read(corpus("tricky.conf")).expect("corpus"));
    insta::assert_snapshot!(generate_and_show(&sandbox));
}

#[test]
fn output_is_byte_identical_for_identical_inputs() {
    let sandbox = Sandbox::new();
    sandbox.user_conf(fs::read(corpus("tricky.conf")).expect("corpus"));
    sandbox.run(&["config-generate-env"]).assert_ok();
    let first = fs::read(sandbox.env_file()).expect("env");
    sandbox.run(&["config-generate-env"]).assert_ok();
    assert_eq!(fs::read(sandbox.env_file()).expect("env"), first);
}

#[test]
fn secret_key_in_user_conf_is_ignored_with_a_warning() {
    let sandbox = Sandbox::new();
    sandbox.user_conf("LUMIGATOR_SECRET_KEY=mine\n");
    let run = sandbox.run(&["config-generate-env"]);
    run.assert_ok();
    assert!(run.stderr.contains("user.conf:1:1: warning: LUMIGATOR_SECRET_KEY: ignored"), "{}", run.stderr);
    let key = fs::read_to_string(sandbox.key_file()).expect("key");
    let env = sandbox.read_env();
    assert!(env.ends_with(&format!("LUMIGATOR_SECRET_KEY={key}")), "the key file wins");
    assert!(!env.contains("=mine"));
}

#[test]
fn config_show_json_and_reveal() {
    let sandbox = Sandbox::new();
    sandbox.run(&["config-generate-key"]).assert_ok();
    let key = fs::read_to_string(sandbox.key_file()).expect("key").trim_end().to_string();
    let hidden = sandbox.run(&["config-show", "--format", "json"]);
    hidden.assert_ok();
    assert!(!hidden.stdout.contains(&key) && !hidden.stderr.contains(&key));
    let shown: serde_json::Value = serde_json::from_str(&hidden.stdout).expect("JSON on stdout");
    let settings = shown["settings"].as_array().expect("settings");
    let secret = settings.iter().find(|s| s["key"] == "LUMIGATOR_SECRET_KEY").expect("key entry");
    assert_eq!(secret["value"], serde_json::Value::Null);
    assert_eq!(secret["origin"]["kind"], "secret-key-file");
    let revealed: serde_json::Value =
        serde_json::from_str(&sandbox.run(&["config-show", "--format", "json", "--reveal"]).stdout).expect("JSON");
    let secret = revealed["settings"].as_array().expect("settings").iter().find(|s| s["key"] == "LUMIGATOR_SECRET_KEY");
    assert_eq!(secret.expect("key entry")["value"], key.as_str());
    let first = &revealed["settings"][0];
    assert_eq!((first["key"].as_str(), first["origin"]["line"].as_u64()), (Some("AWS_ACCESS_KEY_ID"), Some(6)));
}

#[test]
fn config_show_and_check_change_nothing() {
    let sandbox = Sandbox::new();
    sandbox.run(&["config-show"]).assert_ok();
    sandbox.run(&["config-check"]).assert_ok();
    assert!(!sandbox.user_dir().exists(), "read-only tasks create no key");
    assert!(!sandbox.project().join("build").exists());
}

#[test]
fn config_check_reports_type_errors_with_file_line_and_key() {
    let sandbox = Sandbox::new();
    sandbox.user_conf(
        "RAY_DASHBOARD_PORT=abc\nRAY_WORKER_GPUS_FRACTION=x\nDEPLOYMENT_TYPE=prod\nRAY_HEAD_NODE_HOST=ray.example.com\n",
    );
    let check = sandbox.run(&["config-check"]);
    check.assert_failed();
    insta::assert_snapshot!(sandbox.redact(&check.transcript()));
    let json = sandbox.run(&["config-check", "--format", "json"]);
    json.assert_failed();
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(
        (report["ok"].as_bool(), report["errors"].as_u64(), report["warnings"].as_u64()),
        (Some(false), Some(3), Some(1))
    );
    // config-generate-env runs the same checks and writes nothing.
    sandbox.run(&["config-generate-env"]).assert_failed();
    assert!(!sandbox.env_file().exists());
}

#[test]
fn an_error_removes_the_previous_build_env() {
    let sandbox = Sandbox::new();
    sandbox.run(&["config-generate-env"]).assert_ok();
    sandbox.user_conf("BROKEN\n");
    sandbox.run(&["config-generate-env"]).assert_failed();
    assert!(!sandbox.project().join("build").exists(), "no stale copy of the configuration or key");
}

/// One malformed-input case: the transcript (for a snapshot), after checking the promises every
/// error keeps: non-zero exit, key untouched, no build/.env.
fn failing_generate(sandbox: &Sandbox) -> String {
    let key_before = fs::read(sandbox.key_file()).ok();
    let run = sandbox.run(&["config-generate-env"]);
    run.assert_failed();
    assert_eq!(fs::read(sandbox.key_file()).ok(), key_before, "the key file is byte-identical");
    assert!(!sandbox.env_file().exists(), "no build/.env");
    assert!(fs::read_dir(sandbox.project().join("build")).is_err(), "no build/ at all");
    sandbox.redact(&run.stderr)
}

#[test]
fn unusable_paths_are_errors() {
    let mut transcript = String::new();

    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    fs::create_dir(sandbox.user_dir().join("user.conf")).expect("mkdir");
    transcript.push_str(&format!("## user.conf is a directory\n{}", failing_generate(&sandbox)));

    let sandbox = Sandbox::new();
    fs::write(sandbox.user_dir(), "not a directory").expect("write");
    transcript.push_str(&format!("## ~/.lumigator is a file\n{}", failing_generate(&sandbox)));
    assert_eq!(fs::read_to_string(sandbox.user_dir()).expect("still there"), "not a directory");

    for (name, key) in [("empty key", ""), ("short key", "c2hvcnQ=\n"), ("not base64", "not base64 at all!\n")] {
        let sandbox = Sandbox::new();
        sandbox.key(key);
        transcript.push_str(&format!("## {name}\n{}", failing_generate(&sandbox)));
    }

    let sandbox = Sandbox::with_defaults("A=1\n");
    fs::remove_file(sandbox.project().join(".default.conf")).expect("rm");
    let run = sandbox.run(&["config-generate-env"]);
    run.assert_failed();
    transcript.push_str(&format!("## no .default.conf\n{}", sandbox.redact(&run.stderr)));
    insta::assert_snapshot!(transcript);
}

#[test]
fn the_key_is_created_once_and_never_replaced() {
    let sandbox = Sandbox::new();
    let first = sandbox.run(&["config-generate-key"]);
    first.assert_ok();
    assert!(first.stderr.contains("created a new secret key"), "{}", first.stderr);
    let key = fs::read_to_string(sandbox.key_file()).expect("key");
    assert_eq!(key.len(), 45, "44 base64 characters and a newline");
    for task in ["config-generate-key", "config-generate-env", "config-generate-key"] {
        sandbox.run(&[task]).assert_ok();
        assert_eq!(fs::read_to_string(sandbox.key_file()).expect("key"), key);
    }
    // An existing valid key of someone else's making is kept as it is.
    let other = Sandbox::new();
    other.key(VALID_KEY);
    other.run(&["config-generate-env"]).assert_ok();
    assert_eq!(fs::read_to_string(other.key_file()).expect("key"), VALID_KEY);
    assert!(other.read_env().ends_with(&format!("LUMIGATOR_SECRET_KEY={VALID_KEY}")));
}

#[test]
fn wider_modes_are_repaired() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    fs::set_permissions(sandbox.user_dir(), fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::set_permissions(sandbox.key_file(), fs::Permissions::from_mode(0o644)).expect("chmod");
    let run = sandbox.run(&["config-generate-key"]);
    run.assert_ok();
    assert_eq!((mode(&sandbox.user_dir()), mode(&sandbox.key_file())), (0o700, 0o600));
    insta::assert_snapshot!(sandbox.redact(&run.stderr));
    assert_eq!(fs::read_to_string(sandbox.key_file()).expect("key"), VALID_KEY);
}

#[test]
fn concurrent_first_runs_agree_on_one_key() {
    let sandbox = Sandbox::new();
    let projects: Vec<_> = (0..8).map(|_| tempfile::tempdir().expect("project")).collect();
    let defaults = repo_root().join(".default.conf");
    let children: Vec<_> = projects
        .iter()
        .map(|p| {
            fs::copy(&defaults, p.path().join(".default.conf")).expect("copy defaults");
            let mut cmd = sandbox.command(&["config-generate-env"]);
            cmd.arg("--project-dir").arg(p.path());
            cmd.stderr(std::process::Stdio::piped()).spawn().expect("spawn")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("wait");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let key = fs::read_to_string(sandbox.key_file()).expect("one key");
    for p in &projects {
        let env = fs::read_to_string(p.path().join("build/.env")).expect("env");
        assert!(env.ends_with(&format!("LUMIGATOR_SECRET_KEY={key}")), "every run used the same key");
    }
    let leftovers: Vec<_> =
        fs::read_dir(sandbox.user_dir()).expect("dir").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(leftovers, ["lumigator.key"], "no temporary files left behind");
}

#[test]
fn dry_run_writes_nothing_and_redacts() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    let run = sandbox.run(&["--dry-run", "config-generate-env"]);
    run.assert_ok();
    assert!(!sandbox.project().join("build").exists());
    assert!(!run.stderr.contains(VALID_KEY.trim_end()) && !run.stdout.contains(VALID_KEY.trim_end()));
    assert!(run.stdout.contains("LUMIGATOR_SECRET_KEY=********"), "the plan is on stdout: {}", run.stdout);
    let fresh = Sandbox::new();
    fresh.run(&["--dry-run", "config-generate-env"]).assert_ok();
    assert!(!fresh.user_dir().exists(), "a dry run creates no key");
}

#[test]
fn config_clean_removes_build() {
    let sandbox = Sandbox::new();
    sandbox.run(&["config-generate-env"]).assert_ok();
    fs::write(sandbox.project().join("build/other"), "x").expect("write");
    sandbox.run(&["config-clean"]).assert_ok();
    assert!(!sandbox.project().join("build").exists());
    sandbox.run(&["config-clean"]).assert_ok();
}

#[test]
fn an_unchanged_build_env_is_left_in_place_and_a_changed_one_replaced() {
    use std::os::unix::fs::MetadataExt;
    let sandbox = Sandbox::new();
    let inode = || fs::metadata(sandbox.env_file()).expect("build/.env").ino();
    sandbox.run(&["config-generate-env"]).assert_ok();
    let first = inode();
    fs::write(sandbox.project().join("build/stale"), "x").expect("write");
    sandbox.run(&["config-generate-env"]).assert_ok();
    assert_eq!(inode(), first, "same content: the file is not rewritten");
    assert!(!sandbox.project().join("build/stale").exists(), "but build/ is still cleaned");
    fs::set_permissions(sandbox.env_file(), fs::Permissions::from_mode(0o644)).expect("chmod");
    sandbox.run(&["config-generate-env"]).assert_ok();
    assert_eq!(mode(&sandbox.env_file()), 0o600, "a wider mode is not kept");
    sandbox.user_conf("S3_BUCKET=changed\n");
    sandbox.run(&["config-generate-env"]).assert_ok();
    assert!(sandbox.read_env().contains("\nS3_BUCKET=changed\n"));
}

#[test]
fn help_lists_every_task_under_its_heading_with_a_line_and_explains_each() {
    let sandbox = Sandbox::new();
    let help = sandbox.run(&["--help"]);
    help.assert_ok();
    let mut headings: Vec<&str> = tasks::listed().iter().map(|(heading, _)| heading.as_str()).collect();
    headings.dedup();
    assert_eq!(headings, ["Stack", "Configuration", "Tests", "Docs", "Cleaning", "Secrets", "Diagnostics"]);
    for task in tasks::all() {
        let line = help.stdout.lines().find(|l| l.trim_start().starts_with(&format!("{task} ")));
        let described = line.is_some_and(|l| l.trim_start()[task.len()..].trim().len() > 10);
        assert!(described, "`--help` lists {task} with a description:\n{}", help.stdout);
        let own = sandbox.run(&[&task, "--help"]);
        own.assert_ok();
        assert!(own.stdout.contains(&format!("Usage: cargo xtask {task}")), "{task} --help:\n{}", own.stdout);
    }
    // The Makefile's names, which CI files use, are all there.
    for task in
        ["local-up", "stop-lumigator", "config-generate-env", "test-backend-unit", "check-openapi-docs", "clean-all"]
    {
        assert!(tasks::all().iter().any(|t| t == task), "{task}");
    }
}
