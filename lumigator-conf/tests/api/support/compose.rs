//! The real Docker Compose as an oracle: what it gives a container for the variables of an env file.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// `docker compose` (plugin) or a standalone `docker-compose` of version 2. Panics when neither
/// works: the tests that call this are opt-in, and where they run (CI) Compose must be there.
pub fn compose() -> Vec<String> {
    let works = |args: &[&str]| {
        Command::new(args[0]).args(&args[1..]).arg("version").output().is_ok_and(|o| o.status.success())
    };
    if works(&["docker", "compose"]) {
        return vec!["docker".into(), "compose".into()];
    }
    assert!(works(&["docker-compose"]), "Docker Compose v2 is required: `docker compose` or `docker-compose`");
    vec!["docker-compose".into()]
}

/// What Compose gives a service whose environment passes `keys` through from `env_file`, read with
/// `docker compose config` (which needs no daemon) and a clean environment.
pub fn compose_view(env_file: &Path, keys: &[String]) -> BTreeMap<String, String> {
    let output = compose_config(env_file, keys);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.trim().is_empty(), "compose config failed or warned: {stderr}");
    let model: serde_json::Value = serde_json::from_slice(&output.stdout).expect("compose prints JSON");
    let environment = model["services"]["probe"]["environment"].as_object().expect("environment").clone();
    // `config` prints every `$` of a value as `$$`; the container gets a single `$`.
    environment.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().replace("$$", "$"))).collect()
}

/// Whether Compose reads `env_file` at all: `Err` with its message when it refuses the file.
pub fn compose_reads(env_file: &Path) -> Result<(), String> {
    let output = compose_config(env_file, &[]);
    if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).trim().to_string()) }
}

/// `docker compose config` with `env_file`, for a service that passes `keys` through, run with a
/// clean environment so that no variable of ours feeds or overrides the file.
fn compose_config(env_file: &Path, keys: &[String]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut yaml = String::from("services:\n  probe:\n    image: scratch\n    network_mode: none\n");
    if !keys.is_empty() {
        yaml.push_str("    environment:\n");
    }
    for key in keys {
        yaml.push_str(&format!("      - {key}\n"));
    }
    fs::write(dir.path().join("compose.yaml"), yaml).expect("write compose file");
    let cmd = compose();
    Command::new(&cmd[0])
        .args(&cmd[1..])
        .arg("--env-file")
        .arg(env_file)
        .args(["-p", "oracle", "-f"])
        .arg(dir.path().join("compose.yaml"))
        .args(["config", "--format", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .output()
        .expect("run compose")
}
