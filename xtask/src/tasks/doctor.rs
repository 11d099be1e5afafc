//! `doctor`: everything a compose task needs from this machine, one row per check, changing
//! nothing on disk (no key, no build/; the Compose model is read with a temporary env file).

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use lumigator_conf::render::render_env;
use lumigator_conf::{ConfFile, Error, Finding, MergedConfig, ResolvedConfig, key};
use serde_json::json;

use crate::cli::{DoctorArgs, Format};
use crate::context::{Context, TaskError};
use crate::docker;
use crate::preflight::{self, Engine, Model, Status, Verdict};
use crate::process::Step;
use crate::tasks::compose::{self, Action, Target};
use crate::tasks::config::redacted;

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Row {
    /// A stable name for scripts: `docker-cli`, `port`, ...
    pub check: &'static str,
    /// What was checked, for people: `Docker CLI`, `port 8000`, ...
    pub label: String,
    /// The outcome.
    pub verdict: Verdict,
    /// For port rows: the port and its holder, for scripts.
    pub port: Option<serde_json::Value>,
}

impl Row {
    fn new(check: &'static str, label: impl Into<String>, verdict: Verdict) -> Self {
        Row { check, label: label.into(), verdict, port: None }
    }
}

/// `doctor`.
pub fn run(ctx: &Context, args: &DoctorArgs) -> Result<(), TaskError> {
    let target = compose::target(&args.task);
    let rows = rows(ctx, target, args.gpu.gpus);
    let count = |status| rows.iter().filter(|r| r.verdict.status == status).count();
    let (problems, warnings) = (count(Status::Problem), count(Status::Warning));
    match args.format {
        Format::Json => {
            let checks: Vec<_> = rows
                .iter()
                .map(|row| {
                    let mut value = json!({
                        "check": row.check,
                        "label": row.label,
                        "status": row.verdict.status.as_str(),
                        "detail": row.verdict.detail,
                        "fix": row.verdict.fix,
                    });
                    if let Some(port) = &row.port {
                        value["port"] = port.clone();
                    }
                    value
                })
                .collect();
            let report = json!({
                "task": target.name,
                "ok": problems == 0,
                "problems": problems,
                "warnings": warnings,
                "checks": checks,
            });
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
        }
        Format::Text => {
            print_table(&rows);
            let warned = if warnings == 0 { String::new() } else { format!(" ({warnings} warning(s))") };
            if problems == 0 {
                ctx.ui.status(format!("{} can start{warned}", target.name));
            } else {
                ctx.ui.error(format!("{} would not start: {problems} problem(s){warned}", target.name));
            }
        }
    }
    if problems == 0 { Ok(()) } else { Err(TaskError::Reported(1)) }
}

/// The rows as an aligned table on stderr: status, what, what was found, and below each warning
/// and problem what to do.
fn print_table(rows: &[Row]) {
    let width = rows.iter().map(|r| r.label.chars().count()).max().unwrap_or(0);
    let mut out = std::io::BufWriter::new(std::io::stderr().lock());
    for row in rows {
        let _ = writeln!(out, "{:<8} {:<width$}  {}", row.verdict.status.as_str(), row.label, row.verdict.detail);
        if let Some(fix) = &row.verdict.fix {
            let _ = writeln!(out, "{:<8} {:<width$}  fix: {fix}", "", "");
        }
    }
}

/// Every check `target` needs, in the order a user would fix them.
fn rows(ctx: &Context, target: &'static Target, gpus: Option<u32>) -> Vec<Row> {
    let starts = target.action != Action::Down;
    let cli = docker::require_docker_cli(&ctx.sh);
    let compose = docker::find_compose(&ctx.sh);
    let config = load_config(ctx);
    let config_ok = config.as_ref().is_ok_and(|(_, findings)| !findings.iter().any(Finding::is_error));
    // The daemon, the engine and the ports: `docker info` and Compose's model of the task.
    let (model, engine) = match (&compose, &config) {
        (Ok(compose), Ok((resolved, _))) if starts && config_ok => {
            let (model, engine) = read_model(ctx, compose, target, resolved.clone(), gpus);
            (Some(model), engine)
        }
        _ if cli.is_ok() => (None, preflight::engine(&ctx.sh)),
        _ => (None, Err(String::new())),
    };

    let mut rows = Vec::new();
    let cli_verdict = match &cli {
        Ok(()) => Verdict::ok("`docker` found"),
        Err(err) => split_fix(&err.to_string()),
    };
    rows.push(Row::new("docker-cli", "Docker CLI", cli_verdict));
    let compose_verdict = match &compose {
        Ok(found) => Verdict::ok(format!("`{}` {}", found.argv.join(" "), found.version)),
        Err(err) => split_fix(&err.to_string()),
    };
    rows.push(Row::new("compose", "Docker Compose", compose_verdict));
    let daemon_verdict = match (&cli, &engine) {
        (Err(_), _) => Verdict::skipped("needs the Docker CLI"),
        (Ok(()), Ok(engine)) => Verdict::ok(format!("Docker Engine {} answers", engine.version)),
        (Ok(()), Err(reason)) => preflight::daemon_down(reason),
    };
    rows.push(Row::new("daemon", "Docker daemon", daemon_verdict));
    if starts {
        rows.push(resources_row(engine.as_ref().ok(), model.as_ref().and_then(|m| m.as_ref().ok())));
    }
    if target.needs_sources {
        rows.push(Row::new("sources", "Lumigator's sources", sources(ctx, target)));
    }
    if target.python_setup && ctx.project.root.join("pyproject.toml").is_file() {
        rows.push(Row::new("uv", "uv", uv(ctx)));
    }
    rows.push(Row::new("user-dir", "user folder", user_dir(ctx)));
    rows.push(Row::new("secret-key", "secret key", secret_key(ctx)));
    match &config {
        Ok((resolved, findings)) if findings.is_empty() => {
            let detail = format!("{} settings, no findings", resolved.entries.len());
            rows.push(Row::new("configuration", "configuration", Verdict::ok(detail)));
        }
        Ok((_, findings)) => {
            rows.extend(findings.iter().map(|f| Row::new("configuration", "configuration", finding_verdict(f))));
        }
        Err(err) => rows.push(Row::new(
            "configuration",
            "configuration",
            Verdict::found(Status::Problem, err.to_string(), "fix the file it names, then run doctor again"),
        )),
    }
    if starts {
        rows.extend(port_rows(ctx, &compose, config_ok, model.as_ref()));
    }
    rows
}

/// A message of [`docker`]'s checks, "what is wrong: what to do", as a verdict with both parts.
fn split_fix(message: &str) -> Verdict {
    let at = [": install ", ": start "].iter().filter_map(|sep| message.find(sep)).min();
    match at {
        Some(at) => Verdict::found(Status::Problem, &message[..at], &message[at + 2..]),
        None => Verdict::found(Status::Problem, message, "see https://docs.docker.com/get-docker/"),
    }
}

fn sources(ctx: &Context, target: &Target) -> Verdict {
    let missing: Vec<&str> = compose::SOURCES.iter().copied().filter(|f| !ctx.project.root.join(f).is_file()).collect();
    if missing.is_empty() {
        return Verdict::ok(compose::SOURCES.join(" and "));
    }
    Verdict::found(
        Status::Problem,
        format!("no {} here; {} builds Lumigator's images from them", missing.join(" or "), target.name),
        "run it in a Lumigator source checkout (or point --project-dir at one), or use start-lumigator to run \
         the published images",
    )
}

fn uv(ctx: &Context) -> Verdict {
    let found = std::process::Command::from(ctx.sh.cmd("uv").arg("--version")).output();
    match found {
        Ok(out) if out.status.success() => {
            Verdict::ok(String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("uv").trim().to_string())
        }
        _ => Verdict::found(
            Status::Problem,
            "not installed; the task prepares the Python environment with it",
            "install it: https://docs.astral.sh/uv/getting-started/installation/",
        ),
    }
}

fn mode_of(path: &Path) -> Option<u32> {
    fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o777)
}

fn user_dir(ctx: &Context) -> Verdict {
    let dir = &ctx.user.dir;
    match fs::metadata(dir) {
        Err(err) if err.kind() == ErrorKind::NotFound => {
            Verdict::ok(format!("{} will be created (mode 700) by the first start", dir.display()))
        }
        Err(err) => {
            Verdict::found(Status::Problem, format!("{}: cannot read: {err}", dir.display()), "make it readable by you")
        }
        Ok(meta) if !meta.is_dir() => Verdict::found(
            Status::Problem,
            format!("{} exists but is not a folder", dir.display()),
            "move that file out of the way: Lumigator keeps your settings and secret key there",
        ),
        Ok(meta) => match meta.permissions().mode() & 0o777 {
            mode if mode & 0o077 != 0 => Verdict::found(
                Status::Warning,
                format!("{} has mode {mode:o}, open to other users", dir.display()),
                format!("run `chmod 700 {}` (the next start does it too)", dir.display()),
            ),
            mode => Verdict::ok(format!("{} (mode {mode:o})", dir.display())),
        },
    }
}

fn secret_key(ctx: &Context) -> Verdict {
    let path = &ctx.user.key_file;
    match key::read(&ctx.user) {
        Ok(None) => Verdict::ok(format!("{} will be created by the first start", path.display())),
        Ok(Some(_)) => match mode_of(path) {
            Some(mode) if mode & 0o077 != 0 => Verdict::found(
                Status::Warning,
                format!("{} is valid but has mode {mode:o}, readable by other users", path.display()),
                format!("run `chmod 600 {}` (the next start does it too)", path.display()),
            ),
            mode => Verdict::ok(format!("{} is valid (mode {:o})", path.display(), mode.unwrap_or(0o600))),
        },
        Err(Error::InvalidKey { path, reason }) => Verdict::found(
            Status::Problem,
            format!("{} is not a valid secret key: {reason}", path.display()),
            "restore the original key from your backup; only if no secrets were ever stored, delete it to have \
             a new one created",
        ),
        Err(Error::UserDirNotADirectory { .. }) => Verdict::skipped("needs the user folder"),
        Err(err) => Verdict::found(Status::Problem, err.to_string(), "make the key file a regular file you can read"),
    }
}

/// The configuration as `config-check` sees it, but without the key: the key has its own row (an
/// invalid key must not hide the configuration's findings), and it must not reach the temporary
/// env file doctor hands to Compose. These are the steps of `Configuration::load` minus the key.
fn load_config(ctx: &Context) -> Result<(ResolvedConfig, Vec<Finding>), Error> {
    let defaults = ConfFile::read(&ctx.project.default_conf)?;
    if ctx.user.dir.exists() && !ctx.user.dir.is_dir() {
        return Err(Error::UserDirNotADirectory { path: ctx.user.dir.clone() });
    }
    let user = ConfFile::read_optional(&ctx.user.user_conf)?;
    let merged = MergedConfig::merge(&defaults, user.as_ref(), None, &ctx.user.key_file);
    let resolved = ResolvedConfig::resolve(&merged, &|name| std::env::var(name).ok())?;
    let findings = lumigator_conf::check::check(&resolved, &defaults, user.as_ref());
    Ok((resolved, findings))
}

fn finding_verdict(finding: &Finding) -> Verdict {
    let status = if finding.is_error() { Status::Problem } else { Status::Warning };
    let fix = match &finding.location {
        Some(location) => {
            format!(
                "edit line {} of {} (`cargo xtask config-check` explains each finding)",
                location.line,
                location.path.display()
            )
        }
        None => "`cargo xtask config-check` explains it".to_string(),
    };
    Verdict::found(status, finding.to_string(), fix)
}

/// A private temporary env file, removed when dropped: doctor must not write build/.
struct TempEnvFile(PathBuf);

impl TempEnvFile {
    fn create(contents: &str) -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("lumigator-doctor-{}-{nanos}.env", std::process::id()));
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
        let guard = TempEnvFile(path);
        file.write_all(contents.as_bytes())?;
        Ok(guard)
    }
}

impl Drop for TempEnvFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Reads the task's Compose model with the configuration rendered, secrets redacted, into a
/// temporary env file (the same values as build/.env would hold, apart from secrets, which no
/// port depends on), and asks the daemon about the engine meanwhile.
fn read_model(
    ctx: &Context,
    compose: &docker::Compose,
    target: &Target,
    mut resolved: ResolvedConfig,
    gpus: Option<u32>,
) -> (Result<Model, String>, Result<Engine, String>) {
    let use_gpus = compose::apply_host_values(&mut resolved, gpus);
    let env_file = match TempEnvFile::create(&render_env(&redacted(&resolved))) {
        Ok(file) => file,
        Err(err) => {
            let engine = preflight::engine(&ctx.sh);
            return (Err(format!("cannot write a temporary env file: {err}")), engine);
        }
    };
    let mut step = Step::new(
        &ctx.project.root,
        preflight::model_argv(&compose::compose_argv(compose, &env_file.0, target, use_gpus)),
    );
    step.env_remove = compose::exported_keys(&resolved);
    preflight::model_and_engine(&ctx.sh, &step)
}

fn resources_row(engine: Option<&Engine>, model: Option<&Model>) -> Row {
    let Some(engine) = engine else {
        return Row::new("resources", "engine resources", Verdict::skipped("needs the daemon"));
    };
    let verdicts = preflight::engine_verdicts(engine, model);
    let worst = verdicts.iter().max_by_key(|v| v.status).cloned();
    let verdict = match worst {
        None => {
            let asked = match model.map(|m| (&m.memory_limit, &m.cpu_limit)) {
                Some((Some(memory), _)) => {
                    format!("; {} may use up to {}", memory.service, preflight::gib(memory.value))
                }
                _ => String::new(),
            };
            Verdict::ok(format!("{} of memory, {} CPUs{asked}", preflight::gib(engine.memory), engine.cpus))
        }
        Some(worst) => {
            // One row for both resources: the worse status, both findings.
            let detail = verdicts.iter().map(|v| v.detail.as_str()).collect::<Vec<_>>().join("; ");
            let fix = verdicts.iter().filter_map(|v| v.fix.as_deref()).collect::<Vec<_>>().join("; ");
            Verdict { detail, fix: Some(fix), ..worst }
        }
    };
    Row::new("resources", "engine resources", verdict)
}

fn port_rows(
    ctx: &Context,
    compose: &Result<docker::Compose, TaskError>,
    config_ok: bool,
    model: Option<&Result<Model, String>>,
) -> Vec<Row> {
    let skipped = |reason: &str| vec![Row::new("ports", "ports", Verdict::skipped(reason))];
    let model = match model {
        _ if compose.is_err() => return skipped("need Docker Compose"),
        _ if !config_ok => return skipped("need a configuration without errors"),
        Some(Ok(model)) => model,
        Some(Err(reason)) => {
            return vec![Row::new(
                "ports",
                "ports",
                Verdict::found(
                    Status::Problem,
                    format!("Compose cannot read the task's files: {reason}"),
                    "fix the compose file or the setting it names, then run doctor again",
                ),
            )];
        }
        None => return skipped("need Docker Compose and the configuration"),
    };
    if model.published.is_empty() {
        return vec![Row::new("ports", "ports", Verdict::ok("the task publishes none"))];
    }
    preflight::check_ports(&ctx.sh, model)
        .into_iter()
        .map(|(published, state)| {
            let holder = match &state {
                preflight::PortState::Taken { holder: Some(h) } => json!({ "pid": h.pid, "command": h.command }),
                _ => serde_json::Value::Null,
            };
            let port = json!({
                "port": published.port,
                "protocol": published.protocol.as_str(),
                "service": published.service,
                "host_ip": published.host_ip.map(|ip| ip.to_string()),
                "holder": holder,
            });
            Row {
                check: "port",
                label: format!("port {}", published.label()),
                verdict: state.verdict(&published),
                port: Some(port),
            }
        })
        .collect()
}
