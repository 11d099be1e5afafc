//! `run` and `config-export`: the configuration reaches a command's environment, a shell, a CI
//! step, Kubernetes and Helm exactly, and no secret leaves without `--with-secrets`.
//!
//! The exact-value tests take the parser corpus's tricky values (quotes, `#`, `$`, backslashes,
//! newlines, unicode, empty values) as user.conf and read them back through the consumer itself:
//! the child's environment (`env -0`), bash and dash (zsh where installed) sourcing the `sh`
//! export, a reader of the `$GITHUB_ENV` format as GitHub's runner reads it. The Kubernetes and
//! Helm outputs are checked by Kubernetes' schemas (`kubernetes-validate`), a YAML reader (PyYAML)
//! and the chart's own values files, in tests that need those (`--include-ignored`; `.ci/run`
//! installs them).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::support::{Run, Sandbox, VALID_KEY, mode, repo_root, run_within, which};

const KEY_VAR: &str = "LUMIGATOR_SECRET_KEY";

fn key() -> &'static str {
    VALID_KEY.trim_end()
}

fn corpus(name: &str) -> PathBuf {
    repo_root().join("lumigator-conf/tests/corpus").join(name)
}

/// The corpus's values as Docker Compose gives them (TRICKY_01..TRICKY_64).
fn tricky_expected() -> BTreeMap<String, String> {
    serde_json::from_str(&fs::read_to_string(corpus("tricky.expected.json")).expect("expected values")).expect("JSON")
}

/// A sandbox whose user.conf is the tricky corpus, with a key.
fn tricky_sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.user_conf(fs::read(corpus("tricky.conf")).expect("corpus"));
    sandbox.key(VALID_KEY);
    sandbox
}

/// `NAME=value` records separated by NUL, as `env -0` prints them.
fn env0(bytes: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 environment");
    text.split('\0')
        .filter(|record| !record.is_empty())
        .map(|record| {
            let (name, value) = record.split_once('=').expect("NAME=value");
            (name.to_string(), value.to_string())
        })
        .collect()
}

/// Asserts that `seen` holds every tricky value exactly, and the key.
#[track_caller]
fn assert_tricky_values(seen: &BTreeMap<String, String>, context: &str) {
    for (name, expected) in tricky_expected() {
        assert_eq!(seen.get(&name), Some(&expected), "{context}: {name}");
    }
    assert_eq!(seen.get(KEY_VAR).map(String::as_str), Some(key()), "{context}: the key");
}

/// The formats `config-export --help` lists, so that a format added later is covered here.
fn formats() -> Vec<String> {
    let help = Sandbox::new().run(&["config-export", "--help"]);
    help.assert_ok();
    let formats: Vec<String> = help
        .stdout
        .lines()
        .skip_while(|line| !line.contains("Possible values:"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.trim().strip_prefix("- ")?.split(':').next().map(str::to_string))
        .collect();
    assert!(formats.len() >= 6, "formats read from --help:\n{}", help.stdout);
    formats
}

// ------------------------------------------------------------------------------------------ run --

#[test]
fn run_gives_the_command_every_value_byte_for_byte() {
    let sandbox = tricky_sandbox();
    let output = sandbox.command(&["run", "--", "env", "-0"]).output().expect("run xtask");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let seen = env0(&output.stdout);
    assert_tricky_values(&seen, "run -- env -0");
    // The defaults too, interpolated as for Compose, and the caller's own variables kept.
    assert_eq!(seen["HF_HOME"], format!("{}/.cache/huggingface", sandbox.home().display()));
    assert_eq!(seen["NO_COLOR"], "1");
    assert!(!sandbox.env_file().exists() && !sandbox.project().join("build").exists(), "run writes no file");
    assert!(!String::from_utf8_lossy(&output.stderr).contains(key()), "the key is not echoed");
}

#[test]
fn configuration_keys_win_over_the_callers_and_are_named_without_their_values() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    let output = sandbox
        .command(&["run", "--", "env", "-0"])
        .env("S3_BUCKET", "callers-bucket")
        .env(KEY_VAR, "callers-key")
        .env("AWS_DEFAULT_REGION", "us-east-2") // the configuration's own value: nothing replaced
        .output()
        .expect("run xtask");
    let run = Run::from(output.clone());
    run.assert_ok();
    let seen = env0(&output.stdout);
    assert_eq!(seen["S3_BUCKET"], "lumigator-storage");
    assert_eq!(seen[KEY_VAR], key());
    assert!(
        run.stderr
            .contains(&format!("replaces 2 variables of your environment for this command: S3_BUCKET, {KEY_VAR}")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("callers-") && !run.stderr.contains("AWS_DEFAULT_REGION"), "{}", run.stderr);
}

#[test]
fn run_passes_the_exit_status_stdin_and_signals_through() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    let failed = sandbox.run(&["run", "--", "sh", "-c", "exit 7"]);
    assert_eq!(failed.status, 7, "{}", failed.transcript());
    assert!(!failed.stderr.contains("error:"), "the command's failure is its own to report: {}", failed.stderr);
    let killed = sandbox.run(&["run", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(killed.status, 128 + 15, "{}", killed.transcript());
    let echoed = sandbox.run_with_stdin(&["-q", "run", "--", "cat"], "line one\nline two\n");
    echoed.assert_ok();
    assert_eq!(echoed.stdout, "line one\nline two\n");
    // Options after the command are the command's.
    let hyphens = sandbox.run(&["-q", "run", "echo", "--dry-run", "-v"]);
    assert_eq!(hyphens.stdout, "--dry-run -v\n");
}

#[test]
fn sigterm_sent_to_run_reaches_the_command() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    let script = "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done";
    let mut child = sandbox
        .command(&["-q", "run", "--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start xtask");
    let mut ready = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut ready).expect("read");
    assert_eq!(ready, "ready\n");
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(42), "the command got SIGTERM and its status is ours");
}

#[test]
fn run_creates_a_missing_key_as_a_start_does_and_a_dry_run_changes_nothing() {
    let sandbox = Sandbox::new();
    let dry = sandbox.run(&["--dry-run", "run", "--", "env"]);
    dry.assert_ok();
    assert!(!sandbox.key_file().exists(), "a dry run creates no key");
    assert!(dry.stdout.contains("would create a new secret key at"), "{}", dry.stdout);
    assert!(dry.stdout.contains("export LUMIGATOR_SECRET_KEY='********'\nenv\n"), "{}", dry.stdout);
    let output = sandbox.command(&["run", "--", "env", "-0"]).output().expect("run xtask");
    assert!(output.status.success());
    let created = fs::read_to_string(sandbox.key_file()).expect("the key was created");
    assert_eq!(mode(&sandbox.key_file()), 0o600);
    assert_eq!(env0(&output.stdout)[KEY_VAR], created.trim_end());
}

#[test]
fn run_stops_on_configuration_errors_before_running_anything() {
    let sandbox = Sandbox::new();
    sandbox.user_conf("RAY_DASHBOARD_PORT=abc\n");
    let marker = sandbox.home().join("ran");
    let run = sandbox.run(&["run", "--", "touch", &marker.display().to_string()]);
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert!(run.stderr.contains("RAY_DASHBOARD_PORT: expected a whole number"), "{}", run.stderr);
    assert!(!marker.exists());
}

// ---------------------------------------------------------------------------------- the formats --

/// `config-export --format <format> --with-secrets` on stdout.
fn export(sandbox: &Sandbox, format: &str, extra: &[&str]) -> Run {
    let mut args = vec!["config-export", "--format", format, "--with-secrets"];
    args.extend(extra);
    let run = sandbox.run(&args);
    run.assert_ok();
    run
}

#[test]
fn dotenv_is_what_config_generate_env_writes() {
    let sandbox = tricky_sandbox();
    let exported = export(&sandbox, "dotenv", &[]);
    sandbox.run(&["config-generate-env"]).assert_ok();
    assert_eq!(exported.stdout, sandbox.read_env());
}

/// The variables a shell has after running `script` (with `sh -c`-style arguments).
fn shell_env(shell: &Path, script: &str, args: &[&str]) -> BTreeMap<String, String> {
    let output = Command::new(shell)
        .arg("-c")
        .arg(script)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run the shell");
    assert!(output.status.success(), "{}: {}", shell.display(), String::from_utf8_lossy(&output.stderr));
    env0(&output.stdout)
}

#[test]
fn the_sh_export_gives_every_value_in_bash_dash_and_zsh() {
    let sandbox = tricky_sandbox();
    let file = sandbox.home().join("config.sh");
    fs::write(&file, export(&sandbox, "sh", &[]).stdout).expect("write");
    let mut shells = vec![which("bash"), which("dash")];
    let path = std::env::var_os("PATH").unwrap_or_default();
    shells.extend(std::env::split_paths(&path).map(|dir| dir.join("zsh")).find(|zsh| zsh.is_file()));
    for shell in &shells {
        let sourced = shell_env(shell, ". \"$0\" && env -0", &[&file.display().to_string()]);
        assert_tricky_values(&sourced, &format!("{} sourcing the sh export", shell.display()));
    }
    // As the README says to use it: eval of the command's output.
    let xtask = env!("CARGO_BIN_EXE_xtask");
    let project = sandbox.project().display().to_string();
    let script =
        "eval \"$(HOME=\"$2\" \"$0\" --project-dir \"$1\" config-export --format sh --with-secrets)\" && env -0";
    let evaluated = shell_env(&which("bash"), script, &[xtask, &project, &sandbox.home().display().to_string()]);
    assert_tricky_values(&evaluated, "bash eval");
}

#[test]
fn the_json_export_has_the_schema_and_every_value() {
    let sandbox = tricky_sandbox();
    let document: serde_json::Value =
        serde_json::from_str(&export(&sandbox, "json", &[]).stdout).expect("one JSON document");
    assert_eq!(document["schema"], 1);
    let settings: BTreeMap<String, String> = serde_json::from_value(document["settings"].clone()).expect("strings");
    assert_tricky_values(&settings, "json");
}

/// Reads a `$GITHUB_ENV` file as GitHub's runner does (its file-command reader, on Linux): lines
/// split at `\n`; `NAME=value`, or `NAME<<DELIMITER` then the lines up to one that is exactly the
/// delimiter, joined, without the line break before the delimiter line.
fn read_github_env(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let mut lines = text.split_inclusive('\n');
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\n').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let (equals, heredoc) = (line.find('='), line.find("<<"));
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                vars.insert(line[..e].to_string(), line[e + 1..].to_string());
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                assert!(!delimiter.is_empty(), "an empty delimiter");
                let mut value = String::new();
                loop {
                    let next = lines.next().unwrap_or_else(|| panic!("no delimiter line for {name}"));
                    let content = next.strip_suffix('\n').expect("a delimiter line ends with a newline");
                    if content == delimiter {
                        break;
                    }
                    value.push_str(next);
                }
                // The line break before the delimiter line is not part of the value.
                value.pop();
                vars.insert(name.to_string(), value);
            }
            _ => panic!("invalid line in the GITHUB_ENV file: {line:?}"),
        }
    }
    vars
}

#[test]
fn the_github_env_export_reads_back_as_every_value() {
    let sandbox = tricky_sandbox();
    let text = export(&sandbox, "github-env", &[]).stdout;
    assert_tricky_values(&read_github_env(&text), "the GITHUB_ENV reader");
    // Delimiters are random: two exports differ only in them.
    let again = export(&sandbox, "github-env", &[]).stdout;
    assert_ne!(text, again);
    assert_eq!(read_github_env(&text), read_github_env(&again));
}

#[test]
fn the_github_env_export_masks_secrets_on_stdout_and_writes_the_file() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    sandbox.user_conf("MINIO_ROOT_PASSWORD=\"first 100%\nsecond\"\n");
    let file = sandbox.home().join("github_env");
    let file_arg = file.display().to_string();
    let run = export(&sandbox, "github-env", &["--mask", "--output", &file_arg]);
    let masks: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        masks,
        [
            "::add-mask::lumigator".to_string(),
            // Database URLs are secret: one may carry a password.
            "::add-mask::sqlite:////db-data/mlflow.db".to_string(),
            "::add-mask::first 100%25".to_string(),
            "::add-mask::second".to_string(),
            "::add-mask::sqlite:////db-data/local.db".to_string(),
            format!("::add-mask::{}", key())
        ]
    );
    let vars = read_github_env(&fs::read_to_string(&file).expect("the file"));
    assert_eq!(vars["MINIO_ROOT_PASSWORD"], "first 100%\nsecond");
    assert_eq!(mode(&file), 0o600);
    let needs_file = sandbox.run(&["config-export", "--format", "github-env", "--mask"]);
    assert_eq!(needs_file.status, 2, "{}", needs_file.transcript());
    assert!(needs_file.stderr.contains("--output \"$GITHUB_ENV\""), "{}", needs_file.stderr);
}

/// The value of a double-quoted YAML scalar as this tool writes them (escapes of YAML 1.2).
fn yaml_unquote(text: &str) -> String {
    let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).expect("double-quoted");
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let hex = |chars: &mut std::str::Chars, n: usize| {
            let digits: String = chars.take(n).collect();
            char::from_u32(u32::from_str_radix(&digits, 16).expect("hex")).expect("a character")
        };
        match chars.next().expect("an escape") {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'x' => out.push(hex(&mut chars, 2)),
            'u' => out.push(hex(&mut chars, 4)),
            other => panic!("unexpected escape \\{other}"),
        }
    }
    out
}

/// The `data` of each object of our k8s export, by kind: a line reader for the layout we write
/// (the ignored test below reads it with a real YAML parser).
fn k8s_data(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut objects: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut kind = String::new();
    let mut in_data = false;
    for line in text.lines() {
        if let Some(k) = line.strip_prefix("kind: ") {
            kind = k.to_string();
            objects.entry(kind.clone()).or_default();
        }
        if !line.starts_with(' ') {
            in_data = line == "data:";
            continue;
        }
        if in_data && let Some((name, value)) = line.trim_start().split_once(": ") {
            objects.entry(kind.clone()).or_default().insert(name.to_string(), yaml_unquote(value));
        }
    }
    objects
}

#[test]
fn the_k8s_export_puts_settings_in_a_config_map_and_secrets_in_a_secret() {
    let sandbox = tricky_sandbox();
    let text = export(&sandbox, "k8s", &["--name", "lumi-test"]).stdout;
    assert_eq!(text.matches("  name: \"lumi-test\"\n").count(), 2, "{text}");
    let objects = k8s_data(&text);
    let mut all = objects["ConfigMap"].clone();
    for (name, encoded) in &objects["Secret"] {
        let decoded = String::from_utf8(STANDARD.decode(encoded).expect("base64")).expect("UTF-8");
        assert!(all.insert(name.clone(), decoded).is_none(), "{name} is in both objects");
    }
    assert_tricky_values(&all, "k8s");
    assert!(objects["Secret"].contains_key("MINIO_ROOT_PASSWORD") && !objects["ConfigMap"].contains_key(KEY_VAR));
    let bad = sandbox.run(&["config-export", "--format", "k8s", "--name", "Lumigator"]);
    assert_eq!(bad.status, 2, "{}", bad.transcript());
    let misplaced = sandbox.run(&["config-export", "--format", "sh", "--name", "x"]);
    assert_eq!(misplaced.status, 2, "{}", misplaced.transcript());
}

// ------------------------------------------------------------------------------------ secrets --

#[test]
fn no_format_carries_a_secret_without_with_secrets() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    sandbox.user_conf(
        "MINIO_ROOT_PASSWORD=minio-pw-4711\nAWS_SECRET_ACCESS_KEY=aws-secret-4712\nMY_API_TOKEN=token-4713\n\
         DATABASE_URL=postgresql://u:${MINIO_ROOT_PASSWORD}@db/x\nRAY_HEAD_NODE_HOST=ray.example.com\n",
    );
    let secrets = ["minio-pw-4711", "aws-secret-4712", "token-4713", key(), &key()[..16], &key()[key().len() - 17..]];
    let encoded: Vec<String> = secrets.iter().map(|s| STANDARD.encode(s)).collect();
    let names = ["MINIO_ROOT_PASSWORD", "AWS_SECRET_ACCESS_KEY", "MY_API_TOKEN", "DATABASE_URL", KEY_VAR];
    let out = sandbox.home().join("exported");
    let out_arg = out.display().to_string();
    let mut variants: Vec<Vec<String>> = Vec::new();
    for format in formats() {
        variants.push(vec![format.clone()]);
        variants.push(vec![format.clone(), "--output".into(), out_arg.clone()]);
    }
    variants.push(vec!["github-env".into(), "--mask".into(), "--output".into(), out_arg.clone()]);
    variants.push(vec!["helm".into(), "--existing-secret".into(), "lumigator".into()]);
    for variant in &variants {
        let _ = fs::remove_file(&out);
        let mut args = vec!["config-export", "--format"];
        args.extend(variant.iter().map(String::as_str));
        let run = sandbox.run(&args);
        let context = args.join(" ");
        run.assert_ok();
        let file = fs::read_to_string(&out).unwrap_or_default();
        for text in [&run.stdout, &run.stderr, &file] {
            for secret in secrets.iter().map(|s| s.to_string()).chain(encoded.iter().cloned()) {
                assert!(!text.contains(&secret), "`{context}` shows a secret ({secret}):\n{text}");
            }
        }
        if variant[0] != "helm" {
            // Every secret left out is named (helm names those the chart takes, the rest are not
            // in its values at all).
            for name in names {
                assert!(run.stderr.contains(name), "`{context}` does not name {name}:\n{}", run.stderr);
            }
        }
    }
    // The same secrets are there when asked for, so their absence above means something.
    for format in formats() {
        let shown = export(&sandbox, &format, &[]);
        let found = secrets[..4].iter().any(|s| shown.stdout.contains(s) || shown.stdout.contains(&STANDARD.encode(s)));
        assert!(found, "--format {format} --with-secrets carries the secrets:\n{}", shown.stdout);
    }
}

#[test]
fn with_secrets_needs_the_key_and_a_dry_run_redacts_everything() {
    let sandbox = Sandbox::new();
    let missing = sandbox.run(&["config-export", "--format", "sh", "--with-secrets"]);
    assert_eq!(missing.status, 1, "{}", missing.transcript());
    assert!(missing.stderr.contains("config-generate-key"), "{}", missing.stderr);
    assert!(missing.stdout.is_empty(), "{}", missing.stdout);
    sandbox.key(VALID_KEY);
    sandbox.user_conf("MINIO_ROOT_PASSWORD=pw-4714\n");
    let out = sandbox.home().join("out.env");
    let dry = sandbox.run(&[
        "--dry-run",
        "config-export",
        "--format",
        "dotenv",
        "--with-secrets",
        "--output",
        &out.display().to_string(),
    ]);
    dry.assert_ok();
    assert!(!out.exists(), "a dry run writes nothing");
    assert!(dry.stdout.contains("would write ") && dry.stdout.contains("\nMINIO_ROOT_PASSWORD=********\n"));
    assert!(!dry.stdout.contains(key()) && !dry.stdout.contains("pw-4714"), "{}", dry.stdout);
}

#[test]
fn output_files_are_private_whatever_the_umask_and_hold_what_stdout_would() {
    let sandbox = tricky_sandbox();
    let out = sandbox.home().join("values.yaml");
    let out_arg = out.display().to_string();
    let args = ["config-export", "--format", "helm", "--with-secrets", "--output", &out_arg];
    let run = run_within(sandbox.command_with_umask("000", &args), Duration::from_secs(30));
    run.assert_ok();
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(mode(&out), 0o600);
    assert_eq!(fs::read_to_string(&out).expect("written"), export(&sandbox, "helm", &[]).stdout);
}

#[test]
fn a_json_export_that_fails_still_prints_one_json_document() {
    let sandbox = Sandbox::new();
    sandbox.user_conf("RAY_DASHBOARD_PORT=abc\n");
    let run = sandbox.run(&["config-export", "--format", "json"]);
    assert_eq!(run.status, 1);
    let document: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!((document["ok"].as_bool(), document["schema"].as_u64()), (Some(false), Some(1)));
}

// ---------------------------------------------------------------------------------------- helm --

#[test]
fn helm_says_what_it_leaves_out() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    let run = sandbox.run(&["config-export", "--format", "helm"]);
    run.assert_ok();
    insta::assert_snapshot!(sandbox.redact(&run.transcript()));
}

/// Every value path of a YAML file written in the style of Helm's values files (block mappings,
/// `- name: X` list items, comments): `a.b.c`, and `a.list[X]` for an item named X.
fn yaml_paths(text: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    // (indent of the key, path up to and including it)
    let mut stack: Vec<(usize, String)> = Vec::new();
    for line in text.lines() {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let parent = stack.last().map(|(_, p)| p.clone());
        if let Some(item) = content.strip_prefix("- ") {
            // A list item: named when it starts with `name:`; its other keys are deeper.
            if let (Some(parent), Some(name)) = (&parent, item.strip_prefix("name: ")) {
                let path = format!("{parent}[{}]", name.trim().trim_matches('"'));
                paths.insert(path.clone());
                stack.push((indent + 1, path));
            }
            continue;
        }
        let Some((key, _)) = content.split_once(':') else { continue };
        if !key.chars().all(|c| c.is_ascii_alphanumeric() || "_-\"".contains(c)) {
            continue;
        }
        let key = key.trim_matches('"');
        let path = match parent {
            Some(parent) => format!("{parent}.{key}"),
            None => key.to_string(),
        };
        paths.insert(path.clone());
        stack.push((indent, path));
    }
    paths
}

fn lumigator_snapshot() -> PathBuf {
    let dir = std::env::var_os("LUMIGATOR_SNAPSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/lumigator"));
    assert!(dir.join("infra/helm/lumigator/values.yaml").is_file(), "no Lumigator snapshot at {}", dir.display());
    dir
}

/// The value paths Lumigator's chart declares: its values.yaml and its backend subchart's (under
/// `backend.`).
fn chart_paths() -> BTreeSet<String> {
    let chart = lumigator_snapshot().join("infra/helm/lumigator");
    let mut paths = yaml_paths(&fs::read_to_string(chart.join("values.yaml")).expect("values.yaml"));
    let backend = fs::read_to_string(chart.join("charts/backend/values.yaml")).expect("backend values.yaml");
    paths.extend(yaml_paths(&backend).into_iter().map(|p| format!("backend.{p}")));
    paths
}

#[test]
fn yaml_paths_reads_values_files() {
    let text = "# c\na:\n  b: \"1\" # note\n  list:\n    - name: X\n      value: \"\"\n  empty:\n    {}\nc: 2\n";
    let paths: Vec<String> = yaml_paths(text).into_iter().collect();
    assert_eq!(paths, ["a", "a.b", "a.empty", "a.list", "a.list[X]", "a.list[X].value", "c"]);
}

#[test]
#[ignore = "needs Lumigator's snapshot (../shared/lumigator or $LUMIGATOR_SNAPSHOT)"]
fn every_helm_value_path_exists_in_lumigators_chart() {
    let chart = chart_paths();
    assert!(chart.contains("backend.s3Bucket") && chart.contains("backend.rayWorkerGPUs"), "{chart:?}");
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    // Addresses a cluster can reach, so that every mapped setting is written.
    sandbox.user_conf("AWS_ENDPOINT_URL=https://s3.example.com\nRAY_HEAD_NODE_HOST=ray-head.ray.svc\n");
    let declared: BTreeSet<String> =
        lumigator_conf::settings::all().iter().flat_map(|s| s.helm.iter().cloned()).collect();
    for extra in [&[][..], &["--existing-secret", "lumigator"][..]] {
        let values = export(&sandbox, "helm", extra).stdout;
        // The leaves we write: scalar values and env items (whose fields are Kubernetes' own).
        let written: BTreeSet<String> = yaml_paths(&values)
            .into_iter()
            .filter(|p| {
                let inner = |d: &String| d.starts_with(&format!("{p}.")) || d.starts_with(&format!("{p}["));
                !p.contains("].") && !declared.iter().any(inner)
            })
            .collect();
        let missing: Vec<&String> = written.iter().filter(|p| !chart.contains(*p)).collect();
        assert!(missing.is_empty(), "value paths not in Lumigator's chart: {missing:?}\n{values}");
        assert_eq!(written, declared, "every declared path is written, and no other");
    }
}

// ------------------------------------------------------------- Kubernetes' schemas and PyYAML --

/// `kubernetes-validate` (PyPI; its schemas ship with it, so it works offline): `$KUBERNETES_VALIDATE`
/// or on PATH. `.ci/run` installs it in a virtual environment and sets the variable.
fn kubernetes_validate() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBERNETES_VALIDATE") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join("kubernetes-validate")).find(|p| p.is_file()).unwrap_or_else(
        || panic!("kubernetes-validate is needed: `pip install kubernetes-validate` (.ci/run does), or set KUBERNETES_VALIDATE"),
    )
}

/// A Python that has PyYAML: the one kubernetes-validate runs with (it needs PyYAML itself).
fn python_with_yaml() -> PathBuf {
    let beside = kubernetes_validate().with_file_name("python3");
    if beside.is_file() { beside } else { which("python3") }
}

/// Every YAML document of `text`, read by PyYAML (a YAML 1.1 reader, like Helm's), as JSON.
fn pyyaml(text: &str) -> Vec<serde_json::Value> {
    let script = "import json, sys, yaml\nprint(json.dumps(list(yaml.safe_load_all(sys.stdin.read()))))";
    let mut child = Command::new(python_with_yaml())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), text.as_bytes()).expect("write");
    let output = child.wait_with_output().expect("python3");
    assert!(output.status.success(), "PyYAML could not read:\n{text}");
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[test]
#[ignore = "needs kubernetes-validate and PyYAML from PyPI; .ci/run installs them"]
fn the_k8s_export_is_valid_for_kubernetes_and_decodes_to_the_configuration() {
    let sandbox = tricky_sandbox();
    let file = sandbox.home().join("lumigator.yaml");
    let file_arg = file.display().to_string();
    export(&sandbox, "k8s", &["--output", &file_arg]);
    let validated = Command::new(kubernetes_validate()).args(["--strict", &file_arg]).output().expect("run");
    let report =
        format!("{}{}", String::from_utf8_lossy(&validated.stdout), String::from_utf8_lossy(&validated.stderr));
    assert!(validated.status.success(), "kubernetes-validate:\n{report}");
    assert_eq!(report.matches("passed").count(), 2, "both objects validated:\n{report}");
    let documents = pyyaml(&fs::read_to_string(&file).expect("read"));
    let mut values = BTreeMap::new();
    for document in &documents {
        let data = document["data"].as_object().expect("data");
        for (name, value) in data {
            let value = value.as_str().expect("a string").to_string();
            let value = match document["kind"].as_str() {
                Some("Secret") => String::from_utf8(STANDARD.decode(value).expect("base64")).expect("UTF-8"),
                _ => value,
            };
            values.insert(name.clone(), value);
        }
    }
    assert_tricky_values(&values, "the k8s export read by PyYAML");
    // Every setting config-show lists, and nothing else.
    let shown: serde_json::Value =
        serde_json::from_str(&sandbox.run(&["config-show", "--format", "json", "--reveal"]).stdout).expect("JSON");
    let expected: BTreeMap<String, String> = shown["settings"]
        .as_array()
        .expect("settings")
        .iter()
        .map(|s| (s["key"].as_str().expect("key").to_string(), s["value"].as_str().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(values, expected);
}

#[test]
#[ignore = "needs PyYAML (with kubernetes-validate from PyPI); .ci/run installs it"]
fn the_helm_values_read_back_as_the_configuration() {
    let sandbox = tricky_sandbox();
    sandbox.user_conf(
        r#"AWS_ENDPOINT_URL="https://s3.example.com/\"odd\" #path"
S3_BUCKET='bucket: yes # no'
RAY_WORKER_GPUS=1.0
"#,
    );
    let values = pyyaml(&export(&sandbox, "helm", &[]).stdout);
    let backend = &values[0]["backend"];
    assert_eq!(backend["s3Bucket"], "bucket: yes # no");
    assert_eq!(backend["rayWorkerGPUs"], "1.0", "a string, as the chart quotes it");
    assert_eq!(backend["AWSEndpointURL"], "https://s3.example.com/\"odd\" #path");
    assert_eq!(backend["lumigatorSecretKey"], key());
    let env = backend["ray-cluster"]["head"]["containerEnv"].as_array().expect("a list");
    assert!(env.iter().any(|item| item["name"] == "FSSPEC_S3_SECRET" && item["value"] == "lumigator"), "{env:?}");
}
