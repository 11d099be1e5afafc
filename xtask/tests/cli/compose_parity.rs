//! Our compose files give the same stack as Lumigator's own (the pinned snapshot in
//! `../shared/lumigator`, or `$LUMIGATOR_SNAPSHOT`): for every combination of files and profile
//! the tasks run, with and without the GPU override, both projects are resolved by the real
//! `docker compose config --format json` with one env file, and any difference must be listed in
//! `tests/compose-parity/allowed-differences.toml`, which must hold nothing that no longer occurs.
//! The README section "Compose files: same stack as Lumigator's" lists the same entries.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_json::{Map, Value};
use tempfile::TempDir;

use crate::support::{copy_tree, lumigator_snapshot as snapshot, repo_root, tasks};

const MAIN: &str = "docker-compose.yaml";
const GPU: &str = "docker-compose.gpu.override.yaml";
const DEV: &str = ".devcontainer/docker-compose.override.yaml";
const POSTGRES: &str = ".devcontainer/docker-compose-postgres.override.yaml";
/// Our compose files: all that is copied from this repository for the comparison.
const OUR_FILES: [&str; 4] = [MAIN, GPU, DEV, POSTGRES];

/// The combinations without GPUs: name, `--profile local` or not, files after the GPU override.
const BASES: [(&str, bool, &[&str]); 4] = [
    ("start", true, &[MAIN]),
    ("dev", true, &[MAIN, DEV]),
    ("postgres", true, &[MAIN, POSTGRES]),
    ("external-services", false, &[MAIN]),
];

/// Settings that would otherwise share a value with another one (`lumigator`, `minioadmin`, `0`):
/// with every value distinct, a variable wired to the wrong setting shows as a difference.
const USER_CONF: &str = "\
AWS_SECRET_ACCESS_KEY=aws-secret-access-key
MINIO_ROOT_USER=minio-root-user
MINIO_ROOT_PASSWORD=minio-root-password
RAY_WORKER_GPUS_FRACTION=0.5
GPU_COUNT=3
";

const ALLOWED: &str = "tests/compose-parity/allowed-differences.toml";
const README_SECTION: &str = "## Compose files: same stack as Lumigator's";
const SETUP: &str = "run `bash .ci/docker-setup.sh` (it installs Compose v2); `.ci/run` does it before the tests";

// ------------------------------------------------------------------------------- combinations --

struct Combination {
    name: String,
    local_profile: bool,
    files: Vec<&'static str>,
}

impl Combination {
    fn gpus(&self) -> bool {
        self.files.first() == Some(&GPU)
    }

    /// The Compose options that choose the stack, as the tasks give them.
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.local_profile {
            args.extend(["--profile".to_string(), "local".to_string()]);
        }
        for file in &self.files {
            args.extend(["-f".to_string(), file.to_string()]);
        }
        args
    }
}

fn combinations() -> Vec<Combination> {
    let mut all = Vec::new();
    for gpus in [false, true] {
        for (name, local_profile, files) in BASES {
            let mut with = if gpus { vec![GPU] } else { Vec::new() };
            with.extend_from_slice(files);
            let name = if gpus { format!("{name}+gpu") } else { name.to_string() };
            all.push(Combination { name, local_profile, files: with });
        }
    }
    all
}

// ------------------------------------------------------------------------- the allowed list --

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Allowed {
    #[serde(default)]
    unresolvable: Unresolvable,
    difference: Vec<Entry>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Unresolvable {
    combinations: Vec<String>,
    error: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    combinations: Vec<String>,
    path: String,
    lumigator: Option<Value>,
    ours: Option<Value>,
    what: String,
    why: String,
}

impl Entry {
    fn covers(&self, combination: &str, diff: &Difference) -> bool {
        self.combinations.iter().any(|c| c == combination)
            && self.path == diff.path
            && self.lumigator.as_ref().is_none_or(|v| Some(v) == diff.lumigator.as_ref())
            && self.ours.as_ref().is_none_or(|v| Some(v) == diff.ours.as_ref())
    }
}

/// The allowed list, checked for what a typo would silently make useless.
fn allowed() -> Allowed {
    let path = repo_root().join(ALLOWED);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let allowed: Allowed = toml_edit::de::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let names: BTreeSet<String> = combinations().into_iter().map(|c| c.name).collect();
    let unknown = |list: &[String]| list.iter().filter(|c| !names.contains(*c)).cloned().collect::<Vec<_>>();
    assert!(unknown(&allowed.unresolvable.combinations).is_empty(), "{ALLOWED}: unknown combinations, not {names:?}");
    for entry in &allowed.difference {
        let bad = unknown(&entry.combinations);
        assert!(bad.is_empty(), "{ALLOWED}: {}: unknown combinations {bad:?}; known: {names:?}", entry.path);
        assert!(!entry.combinations.is_empty(), "{ALLOWED}: {}: no combinations", entry.path);
        assert!(
            !entry.what.trim().is_empty() && !entry.why.trim().is_empty(),
            "{ALLOWED}: {}: say what and why",
            entry.path
        );
    }
    allowed
}

// ------------------------------------------------------------------------------ processes --

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The variables that choose which Docker `docker` talks to and where its plugins are.
const DOCKER_VARS: [&str; 6] =
    ["HOME", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"];

/// `docker compose ...` in a clean environment: nothing exported in the shell (COMPOSE_FILE,
/// COMPOSE_PROFILES, a configuration key) changes what it resolves.
fn compose(dir: &Path, args: &[String]) -> Output {
    let mut cmd = Command::new("docker");
    cmd.arg("compose").args(args).current_dir(dir).env_clear();
    for var in std::iter::once("PATH").chain(DOCKER_VARS) {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    cmd.output().unwrap_or_else(|e| panic!("cannot run `docker compose` ({e}): {SETUP}"))
}

fn require_compose_v2() {
    let out = compose(&std::env::temp_dir(), &["version".into(), "--short".into()]);
    let version = text(&out.stdout).trim().trim_start_matches('v').to_string();
    assert!(
        out.status.success() && version.starts_with("2."),
        "this test needs Docker Compose v2 as `docker compose` (got {version:?}: {}): {SETUP}",
        text(&out.stderr).trim()
    );
}

/// The real xtask binary, with HOME `home` and nothing else from our environment but PATH.
fn xtask(home: &Path, project: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--project-dir")
        .arg(project)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run xtask");
    assert!(out.status.success(), "xtask {}: {}{}", args.join(" "), text(&out.stdout), text(&out.stderr));
    out
}

/// What `--dry-run` prints: the commands it would run and the env file it would write.
fn dry_run(home: &Path, project: &Path, task: &str, gpus: bool) -> String {
    let out = xtask(home, project, &[task, "--dry-run", "--gpus", if gpus { "1" } else { "0" }]);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// The `--profile` and `-f` options of the Compose command line a dry run shows.
fn compose_options(dry_run: &str) -> Vec<String> {
    let line = dry_run
        .lines()
        .find(|l| l.starts_with("docker compose "))
        .unwrap_or_else(|| panic!("no Compose command in the dry run:\n{dry_run}"));
    let mut words = line.split_whitespace();
    let mut options = Vec::new();
    while let Some(word) = words.next() {
        if matches!(word, "--profile" | "-f") {
            options.push(word.to_string());
            options.push(words.next().expect("option value").to_string());
        }
    }
    options
}

/// A temporary HOME with a user.conf giving every setting a value of its own.
fn home() -> TempDir {
    let home = tempfile::Builder::new().prefix("parity-home").tempdir().expect("temp HOME");
    fs::create_dir(home.path().join(".lumigator")).expect("mkdir");
    fs::write(home.path().join(".lumigator/user.conf"), USER_CONF).expect("user.conf");
    home
}

// ------------------------------------------------------------------------- the two models --

/// One env file per GPU choice, made by our tool as a start would make it: `config-generate-env`
/// writes the configuration, and the dry run of a start shows the host-derived values it adds.
fn env_file(home: &Path, project: &Path, gpus: bool, to: &Path) -> PathBuf {
    let shown = dry_run(home, project, "start-lumigator", gpus);
    let marker = shown.find("# --- derived from the host").expect("the dry run shows the derived values");
    let derived: Vec<&str> = shown[marker..].lines().skip(1).take_while(|l| l.contains('=')).collect();
    let key = |line: &str| line.split('=').next().unwrap_or_default().to_string();
    let derived_keys: BTreeSet<String> = derived.iter().map(|l| key(l)).collect();
    assert!(derived_keys.contains("COMPUTE_TYPE"), "derived values: {derived:?}");

    xtask(home, project, &["config-generate-env"]);
    let generated = fs::read_to_string(project.join("build/.env")).expect("build/.env");
    let mut lines: Vec<&str> = generated.lines().filter(|l| !derived_keys.contains(&key(l))).collect();
    lines.extend(&derived);
    let path = to.join(if gpus { "gpu.env" } else { "cpu.env" });
    fs::write(&path, lines.join("\n") + "\n").expect("write env file");

    // Every value distinct (but the empty architecture suffix of x86_64).
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for line in lines.iter().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (name, value) = line.split_once('=').expect("KEY=value");
        if let Some(other) = seen.insert(value, name).filter(|_| !value.is_empty()) {
            panic!("{name} and {other} share the value {value:?}: give one of them its own in USER_CONF");
        }
    }
    path
}

/// `docker compose config --format json` of `combination` in `dir`, or Compose's complaint.
fn resolve(dir: &Path, env_file: &Path, combination: &Combination, extra: Option<&Path>) -> Result<Value, String> {
    let mut args = vec!["--env-file".to_string(), env_file.display().to_string()];
    args.extend(combination.args());
    if let Some(extra) = extra {
        args.extend(["-f".to_string(), extra.display().to_string()]);
    }
    args.extend(["config", "--format", "json"].map(String::from));
    let out = compose(dir, &args);
    let stderr = text(&out.stderr);
    if !out.status.success() || !stderr.trim().is_empty() {
        return Err(stderr.trim().to_string());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("Compose printed JSON"))
}

/// What must differ between two projects, made equal: the project directory, and whatever in a
/// script has no effect (indentation, blank lines, comment lines). A script becomes its lines.
fn normalise(value: Value, project: &Path) -> Value {
    match value {
        Value::String(s) => {
            let s = s.replace(&project.display().to_string(), "<PROJECT>");
            if !s.contains('\n') {
                return Value::String(s);
            }
            let lines = s.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
            Value::Array(lines.map(|l| Value::String(l.to_string())).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| normalise(v, project)).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, normalise(v, project))).collect()),
        other => other,
    }
}

#[derive(Clone, PartialEq)]
struct Difference {
    path: String,
    lumigator: Option<Value>,
    ours: Option<Value>,
}

fn child(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_string())),
    }
}

/// Every place where the models differ: maps key by key, lists of one length item by item, and
/// anything else (lists of different lengths too) as a whole.
fn differences(path: &str, lumigator: Option<&Value>, ours: Option<&Value>, out: &mut Vec<Difference>) {
    match (lumigator, ours) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                differences(&child(path, key), a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Difference { path: path.to_string(), lumigator: a.cloned(), ours: b.cloned() }),
    }
}

/// An override file setting each entry's path to our value, for Lumigator's files where they do
/// not resolve on their own.
fn override_file(entries: &[&Entry], dir: &Path, name: &str) -> PathBuf {
    let mut root = Map::new();
    for entry in entries {
        assert!(!entry.path.contains(['[', '"']), "{ALLOWED}: {} cannot be written as an override", entry.path);
        let value = entry.ours.clone().unwrap_or_else(|| panic!("{ALLOWED}: {} needs `ours`", entry.path));
        let keys: Vec<&str> = entry.path.split('.').collect();
        let (last, parents) = keys.split_last().expect("a path");
        let mut map = &mut root;
        for key in parents {
            map = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new())).as_object_mut().expect("map");
        }
        map.insert(last.to_string(), value);
    }
    let path = dir.join(format!("override-{name}.json"));
    fs::write(&path, Value::Object(root).to_string()).expect("write override");
    path
}

fn show(value: &Option<Value>) -> String {
    value.as_ref().map_or_else(|| "(absent)".to_string(), Value::to_string)
}

// ------------------------------------------------------------------------------------ tests --

/// The combinations compared below are the ones the tasks run (checked with `--dry-run`, so it
/// needs no Docker): a new task or a changed command line must be compared too.
#[test]
fn every_compose_task_runs_a_compared_combination() {
    let home = home();
    let project = tempfile::Builder::new().prefix("parity-project").tempdir().expect("temp project");
    fs::copy(repo_root().join(".default.conf"), project.path().join(".default.conf")).expect("defaults");
    // The build tasks want Lumigator's Dockerfiles (a dry run reads nothing else of them).
    for file in ["Dockerfile", "lumigator/frontend/Dockerfile"] {
        let target = project.path().join(file);
        fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        fs::write(target, "# stand-in\n").expect("write");
    }
    let all = combinations();
    let mut used = BTreeSet::new();
    // Every compose task `--help` lists, so that a new one is compared without editing a list.
    for task in tasks::compose() {
        for gpus in [false, true] {
            let options = compose_options(&dry_run(home.path(), project.path(), &task, gpus));
            let combination = all.iter().find(|c| c.args() == options).unwrap_or_else(|| {
                panic!("{task} (GPUs: {gpus}) runs a stack no compared combination has: {options:?}")
            });
            assert_eq!(combination.gpus(), gpus);
            used.insert(combination.name.clone());
        }
    }
    assert_eq!(used.len(), all.len(), "a compared combination no task runs");
}

/// Each allowed difference is in the README section, and the section names no other path.
#[test]
fn the_readme_lists_every_allowed_difference() {
    let allowed = allowed();
    let readme = fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let start = readme.find(README_SECTION).unwrap_or_else(|| panic!("README.md has no section {README_SECTION:?}"));
    let section = &readme[start + README_SECTION.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let paths: BTreeSet<&str> = allowed.difference.iter().map(|e| e.path.as_str()).collect();
    for path in &paths {
        assert!(section.contains(&format!("`{path}`")), "the README section does not list `{path}` (from {ALLOWED})");
    }
    let named: BTreeSet<&str> = section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("services.") || s.starts_with("volumes."))
        .collect();
    let extra: Vec<&&str> = named.difference(&paths).collect();
    assert!(extra.is_empty(), "the README section lists {extra:?}, which {ALLOWED} does not");
}

#[test]
#[ignore = "needs Docker Compose v2; .ci/run installs it"]
fn our_compose_files_give_lumigators_stack() {
    require_compose_v2();
    let allowed = allowed();
    let scratch = tempfile::Builder::new().prefix("parity").tempdir().expect("scratch");
    let scratch = scratch.path().canonicalize().expect("canonical scratch");
    let (lumigator, ours) = (scratch.join("lumigator"), scratch.join("ours"));
    copy_tree(&snapshot(), &lumigator);
    for file in OUR_FILES {
        let target = ours.join(file);
        fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        fs::copy(repo_root().join(file), &target).unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
    let home = home();
    let env_files = [false, true].map(|gpus| env_file(home.path(), &lumigator, gpus, &scratch));

    let mut unexpected: Vec<(Difference, Vec<String>)> = Vec::new();
    let mut stale: Vec<String> = Vec::new();
    for combination in combinations() {
        let name = combination.name.as_str();
        let env_file = &env_files[usize::from(combination.gpus())];
        let listed: Vec<&Entry> =
            allowed.difference.iter().filter(|e| e.combinations.iter().any(|c| c == name)).collect();
        let our_model = resolve(&ours, env_file, &combination, None)
            .unwrap_or_else(|e| panic!("{name}: our files do not resolve:\n{e}"));
        let unresolvable = allowed.unresolvable.combinations.iter().any(|c| c == name);
        let mut occurred: BTreeSet<&str> = BTreeSet::new();
        let their_model = match (resolve(&lumigator, env_file, &combination, None), unresolvable) {
            (Ok(model), false) => model,
            (Ok(_), true) => {
                stale.push(format!("{name}: Lumigator's files resolve now; take it out of [unresolvable]"));
                continue;
            }
            (Err(e), false) => panic!("{name}: Lumigator's files do not resolve:\n{e}"),
            (Err(e), true) => {
                assert!(e.contains(&allowed.unresolvable.error), "{name}: Lumigator's files fail otherwise now:\n{e}");
                // Resolved with our values at the listed paths, each of which was thus needed.
                occurred.extend(listed.iter().map(|e| e.path.as_str()));
                let extra = override_file(&listed, &scratch, name);
                resolve(&lumigator, env_file, &combination, Some(&extra)).unwrap_or_else(|e| {
                    panic!("{name}: Lumigator's files do not resolve with {}:\n{e}", extra.display())
                })
            }
        };

        let mut found = Vec::new();
        let (their_model, our_model) = (normalise(their_model, &lumigator), normalise(our_model, &ours));
        differences("", Some(&their_model), Some(&our_model), &mut found);
        for diff in found {
            match listed.iter().find(|e| e.covers(name, &diff)) {
                Some(entry) => {
                    occurred.insert(entry.path.as_str());
                }
                None => match unexpected.iter_mut().find(|(d, _)| *d == diff) {
                    Some((_, names)) => names.push(name.to_string()),
                    None => unexpected.push((diff, vec![name.to_string()])),
                },
            }
        }
        for entry in listed.iter().filter(|e| !occurred.contains(e.path.as_str())) {
            stale.push(format!("{}: listed for {name}, where it does not occur (any more)", entry.path));
        }
    }

    let mut report = String::new();
    for (diff, names) in &unexpected {
        report.push_str(&format!(
            "  {}\n    Lumigator: {}\n    ours:      {}\n    in: {}\n",
            diff.path,
            show(&diff.lumigator),
            show(&diff.ours),
            names.join(", ")
        ));
    }
    if !unexpected.is_empty() {
        report = format!(
            "differences from Lumigator's stack that {ALLOWED} does not list (make our compose files match, or \
             list a deliberate one there and in the README section {README_SECTION:?}):\n{report}"
        );
    }
    if !stale.is_empty() {
        report.push_str(&format!("entries of {ALLOWED} that are not true any more:\n  {}\n", stale.join("\n  ")));
    }
    assert!(report.is_empty(), "{report}");
}
