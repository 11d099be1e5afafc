//! `doctor`: everything a compose task needs from this machine, one row per check, changing
//! nothing on disk (no key, no build/; the Compose model is read with an env file in a private
//! temporary folder, removed however doctor ends). Every row is a verdict of a check in
//! [`crate::checks`] or [`crate::preflight`], the same checks the tasks run.

use lumigator_conf::ResolvedConfig;
use lumigator_conf::render::render_env;
use serde_json::json;

use crate::checks;
use crate::checks::docker::Engine;
use crate::cli::{DoctorArgs, Format};
use crate::compose::{self, Compose, ComposeTarget};
use crate::context::Context;
use crate::env_step::{TempEnvFile, redacted};
use crate::error::TaskError;
use crate::host::GpuCount;
use crate::output;
use crate::preflight::engine::{cpus_text, engine_verdicts, gib};
use crate::preflight::model::Model;
use crate::preflight::{self, ports};
use crate::runner::Cmd;
use crate::signals;
use crate::ui::plural;
use crate::verdict::{Checked, Status, Verdict};

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
    let target = args.task;
    let name = target.name();
    let rows = rows(ctx, target, args.gpu.gpus.as_ref());
    // Ctrl-C or SIGTERM while the temporary env file existed was held until it was removed.
    signals::stop_if_interrupted()?;
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
            output::json(
                &ctx.ui,
                json!({ "task": name, "ok": problems == 0, "problems": problems, "warnings": warnings, "checks": checks }),
            );
            return if problems == 0 { Ok(()) } else { Err(TaskError::Reported(1)) };
        }
        Format::Text => ctx.ui.out(table(&rows)),
    }
    let warned = if warnings == 0 { String::new() } else { format!(" ({})", plural(warnings, "warning")) };
    if problems == 0 {
        ctx.ui.status(format!("{name} can start{warned}"));
        Ok(())
    } else {
        Err(TaskError::unmet(
            format!("{name} would not start: {}{warned}", plural(problems, "problem")),
            "fix each problem as its row says, then run doctor again",
        ))
    }
}

/// The rows as an aligned table: status, what, what was found, and below each warning and problem
/// what to do.
fn table(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.label.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for row in rows {
        out.push_str(&format!("{:<8} {:<width$}  {}\n", row.verdict.status.as_str(), row.label, row.verdict.detail));
        if let Some(fix) = &row.verdict.fix {
            out.push_str(&format!("{:<8} {:<width$}  fix: {fix}\n", "", ""));
        }
    }
    out
}

/// Every check `target` needs, in the order a user would fix them.
fn rows(ctx: &Context, target: ComposeTarget, gpus: Option<&GpuCount>) -> Vec<Row> {
    let spec = target.spec();
    let starts = !target.stops();
    let cli = checks::docker::docker_cli(ctx);
    let compose = checks::docker::compose(ctx);
    let config = checks::config::load_without_key(ctx);
    let config_ok = config.as_ref().is_ok_and(|c| !c.has_errors());
    // GPUs asked for by the flag, else by the configuration (even one with errors elsewhere).
    let mut use_gpus = match &config {
        Ok(config) => compose::uses_gpus(&config.resolved, gpus),
        Err(_) => gpus.is_some_and(GpuCount::wants_gpus),
    };
    // The daemon, the engine and the ports: `docker info` and Compose's model of the task.
    let (model, engine) = match (&compose.value, &config) {
        (Some(compose), Ok(config)) if starts && config_ok => {
            let (model, engine, gpus) = read_model(ctx, compose, target, config.resolved.clone(), gpus);
            use_gpus = gpus;
            (Some(model), engine)
        }
        _ if cli.passed() => (None, checks::docker::engine(ctx)),
        _ => (None, Checked::failed(Verdict::skipped("needs the Docker CLI"))),
    };
    let model_read = model.as_ref().and_then(|m| m.as_ref().ok());

    let mut rows = vec![
        Row::new("docker-cli", "Docker CLI", cli.verdict.clone()),
        Row::new("compose", "Docker Compose", compose.verdict.clone()),
        Row::new("daemon", "Docker daemon", engine.verdict.clone()),
    ];
    if starts {
        rows.push(resources_row(engine.value.as_ref(), model_read));
    }
    if starts && use_gpus {
        rows.push(Row::new("gpu-runtime", "NVIDIA runtime", gpu_row(engine.value.as_ref(), model_read)));
    }
    if spec.needs_sources {
        rows.push(Row::new("sources", "Lumigator's sources", checks::project::sources(ctx, &target.name())));
    }
    if spec.python_setup && ctx.project.root.join("pyproject.toml").is_file() {
        rows.push(Row::new("uv", "uv", checks::project::uv(ctx).verdict));
    }
    rows.push(Row::new("user-dir", "user folder", checks::user::user_dir(ctx)));
    rows.push(Row::new("secret-key", "secret key", checks::user::secret_key(ctx)));
    rows.extend(
        checks::config::verdicts(&config)
            .into_iter()
            .map(|verdict| Row::new("configuration", "configuration", verdict)),
    );
    if starts {
        rows.extend(port_rows(ctx, compose.passed(), config_ok, model.as_ref()));
    }
    rows
}

/// Reads the task's Compose model with the configuration rendered, secrets redacted, into a
/// temporary env file (the same values as build/.env would hold, apart from secrets, which no
/// port depends on), and asks the daemon about the engine meanwhile. Also says whether the task
/// would use the GPU override.
fn read_model(
    ctx: &Context,
    compose: &Compose,
    target: ComposeTarget,
    mut resolved: ResolvedConfig,
    gpus: Option<&GpuCount>,
) -> (Result<Model, String>, Checked<Engine>, bool) {
    let use_gpus = compose::apply_host_values(&mut resolved, gpus);
    let env_file = match TempEnvFile::create("doctor", &render_env(&redacted(&resolved))) {
        Ok(file) => file,
        Err(err) => {
            return (Err(format!("cannot write a temporary env file: {err}")), checks::docker::engine(ctx), use_gpus);
        }
    };
    let compose_cmd =
        Cmd::from_argv(&ctx.project.root, &compose::compose_argv(compose, env_file.path(), target, use_gpus))
            .env_remove(compose::exported_keys(&resolved));
    let (model, engine) = preflight::model_and_engine(ctx, &compose_cmd);
    (model, engine, use_gpus)
}

/// Whether Docker can give the stack the NVIDIA GPUs it asks for: the check the start's
/// pre-flight makes. A stack that asks for none (a model without `runtime: nvidia` or `gpus`)
/// needs no runtime; without a model, GPUs asked for need it.
fn gpu_row(engine: Option<&Engine>, model: Option<&Model>) -> Verdict {
    let Some(engine) = engine else { return Verdict::skipped("needs the daemon") };
    match model {
        Some(model) if model.gpu_services.is_empty() => {
            Verdict::ok("the stack's services ask for no NVIDIA runtime (none needed)")
        }
        Some(model) => checks::docker::gpu_runtime(engine, &model.gpu_services),
        None => checks::docker::gpu_runtime(engine, &[]),
    }
}

fn resources_row(engine: Option<&Engine>, model: Option<&Model>) -> Row {
    let Some(engine) = engine else {
        return Row::new("resources", "engine resources", Verdict::skipped("needs the daemon"));
    };
    let verdicts = engine_verdicts(engine, model);
    let worst = verdicts.iter().max_by_key(|v| v.status).cloned();
    let verdict = match worst {
        None => {
            let asked = match model.map(|m| (&m.memory_limit, &m.cpu_limit)) {
                Some((Some(memory), _)) => format!("; {} may use up to {}", memory.service, gib(memory.value)),
                _ => String::new(),
            };
            Verdict::ok(format!("{} of memory, {}{asked}", gib(engine.memory), cpus_text(engine.cpus as f64)))
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

fn port_rows(ctx: &Context, compose_found: bool, config_ok: bool, model: Option<&Result<Model, String>>) -> Vec<Row> {
    let skipped = |reason: &str| vec![Row::new("ports", "ports", Verdict::skipped(reason))];
    let model = match model {
        _ if !compose_found => return skipped("need Docker Compose"),
        _ if !config_ok => return skipped("need a configuration without errors"),
        Some(Ok(model)) => model,
        Some(Err(reason)) => {
            return vec![Row::new(
                "ports",
                "ports",
                Verdict::problem(
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
    ports::check_ports(ctx, model)
        .into_iter()
        .map(|(published, state)| {
            let holder = match &state {
                ports::PortState::Taken { holder: Some(h) } => json!({ "pid": h.pid, "command": h.command }),
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
