//! Pre-flight checks of the host, shared by `doctor` and the start tasks: the ports a task's
//! services would publish (read from Compose's resolved model) and who holds them, and the
//! engine's memory and CPUs against the stack's limits.
//!
//! Compose starts services one after another, so a port held by another program, or a CPU limit
//! the engine cannot grant, makes it fail halfway with part of the stack running. The start tasks
//! run these checks after writing build/.env (the model needs it) and before Compose starts
//! anything.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};

use lumigator_conf::clean as build_files;
use serde_json::Value;
use xshell::Shell;

use crate::context::{Context, TaskError};
use crate::process::Step;
use crate::tasks::compose::{Action, Target};

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Not checked, because something it depends on is missing (that has its own row).
    Skipped,
    /// The task starts, but something may go wrong later.
    Warning,
    /// The task would not start, or would fail halfway.
    Problem,
}

impl Status {
    /// The word used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Warning => "warning",
            Status::Problem => "problem",
        }
    }
}

/// The outcome of one check, in the user's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Ok, warning, problem...
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it (for warnings and problems).
    pub fix: Option<String>,
}

impl Verdict {
    /// A check that passed.
    pub fn ok(detail: impl Into<String>) -> Self {
        Verdict { status: Status::Ok, detail: detail.into(), fix: None }
    }

    /// A check that found something, with what to do about it.
    pub fn found(status: Status, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Verdict { status, detail: detail.into(), fix: Some(fix.into()) }
    }

    /// A check that could not run.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Verdict { status: Status::Skipped, detail: reason.into(), fix: None }
    }

    /// `detail: fix`, as one message.
    pub fn message(&self) -> String {
        match &self.fix {
            Some(fix) => format!("{}: {fix}", self.detail),
            None => self.detail.clone(),
        }
    }
}

/// The transport protocol of a published port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (Compose's default).
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// Compose's and `/proc/net`'s name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// A host port that one of the task's services publishes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Published {
    /// The host port.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The service that publishes it.
    pub service: String,
    /// The host address it is published on; `None` for every address (Compose's default).
    pub host_ip: Option<IpAddr>,
}

impl Published {
    /// `8000`, or `53/udp`.
    pub fn label(&self) -> String {
        match self.protocol {
            Protocol::Tcp => self.port.to_string(),
            Protocol::Udp => format!("{}/udp", self.port),
        }
    }
}

/// The largest limit any service sets on a resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit<T> {
    /// The service with that limit.
    pub service: String,
    /// Bytes for memory, CPUs for CPUs.
    pub value: T,
}

/// What the pre-flight checks need from Compose's resolved model of a task.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    /// The Compose project's name (`lumigator`).
    pub project: String,
    /// The ports the services publish, sorted by port.
    pub published: Vec<Published>,
    /// The largest memory limit (`deploy.resources.limits.memory`), in bytes.
    pub memory_limit: Option<Limit<u64>>,
    /// The largest CPU limit (`deploy.resources.limits.cpus`).
    pub cpu_limit: Option<Limit<f64>>,
}

impl Model {
    /// Reads the output of `docker compose ... config --format json`.
    pub fn parse(json: &str) -> Result<Model, String> {
        let root: Value = serde_json::from_str(json)
            .map_err(|err| format!("Compose printed something other than its JSON model ({err})"))?;
        let mut model = Model {
            project: root.get("name").and_then(Value::as_str).unwrap_or("lumigator").to_string(),
            ..Model::default()
        };
        let Some(services) = root.get("services").and_then(Value::as_object) else { return Ok(model) };
        for (name, service) in services {
            for port in service.get("ports").and_then(Value::as_array).into_iter().flatten() {
                model.published.extend(published_ports(name, port));
            }
            let limits = &service["deploy"]["resources"]["limits"];
            if let Some(bytes) = number(&limits["memory"]).map(|n| n as u64)
                && model.memory_limit.as_ref().is_none_or(|l| bytes > l.value)
            {
                model.memory_limit = Some(Limit { service: name.clone(), value: bytes });
            }
            if let Some(cpus) = number(&limits["cpus"])
                && model.cpu_limit.as_ref().is_none_or(|l| cpus > l.value)
            {
                model.cpu_limit = Some(Limit { service: name.clone(), value: cpus });
            }
        }
        model.published.sort();
        model.published.dedup();
        Ok(model)
    }
}

/// Compose writes some numbers as JSON numbers and some (memory in bytes) as strings.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The host ports of one `ports` entry of the model: `published` is `"8000"`, a range
/// `"8000-8002"`, or empty when Docker picks a free port (nothing to check then).
fn published_ports(service: &str, port: &Value) -> Vec<Published> {
    let published = match &port["published"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Vec::new(),
    };
    let (first, last) = match published.split_once('-') {
        Some((first, last)) => (first.trim().parse::<u16>(), last.trim().parse::<u16>()),
        None => (published.trim().parse::<u16>(), published.trim().parse::<u16>()),
    };
    let (Ok(first), Ok(last)) = (first, last) else { return Vec::new() };
    let protocol = match port["protocol"].as_str() {
        Some("udp") => Protocol::Udp,
        Some("tcp") | None => Protocol::Tcp,
        // SCTP and anything newer: not something a bind probe can check.
        Some(_) => return Vec::new(),
    };
    let host_ip =
        port["host_ip"].as_str().and_then(|ip| ip.trim_matches(['[', ']']).parse::<IpAddr>().ok()).filter(|ip| {
            // Compose's "every address" is spelled either way.
            !ip.is_unspecified()
        });
    (first..=last.max(first))
        .filter(|&p| p != 0)
        .map(|port| Published { port, protocol, service: service.to_string(), host_ip })
        .collect()
}

/// The command that prints the resolved model of the Compose command `compose_argv` (as
/// [`crate::tasks::compose::compose_argv`] builds it): the same program, env file, profiles and
/// files, with `config --format json` instead of the action. It needs no daemon.
pub fn model_argv(compose_argv: &[String]) -> Vec<String> {
    // The files come last before the action, each after `-f`.
    let files_end = compose_argv.iter().rposition(|a| a == "-f").map_or(compose_argv.len(), |i| i + 2);
    let mut argv = compose_argv[..files_end.min(compose_argv.len())].to_vec();
    argv.extend(["config", "--format", "json"].map(String::from));
    argv
}

/// What the Docker daemon reports about the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engine {
    /// The engine's version.
    pub version: String,
    /// The memory containers can use, in bytes (Docker Desktop: its VM's).
    pub memory: u64,
    /// The CPUs containers can use.
    pub cpus: u64,
}

/// The daemon probe: answers only when the daemon does, and gives its resources.
const ENGINE_INFO: [&str; 4] = ["docker", "info", "--format", "{{json .}}"];

impl Engine {
    /// Reads the output of `docker info --format '{{json .}}'`.
    pub fn parse(json: &str) -> Result<Engine, String> {
        let info: Value = serde_json::from_str(json)
            .map_err(|err| format!("`docker info` printed something other than JSON ({err})"))?;
        Ok(Engine {
            version: info["ServerVersion"].as_str().unwrap_or("unknown version").to_string(),
            memory: info["MemTotal"].as_u64().unwrap_or(0),
            cpus: info["NCPU"].as_u64().unwrap_or(0),
        })
    }
}

/// `bytes` in GiB, as short as it can be said: `10 GiB`, `7.7 GiB`.
pub fn gib(bytes: u64) -> String {
    let gib = bytes as f64 / f64::from(1u32 << 30);
    let text = format!("{gib:.1}");
    format!("{} GiB", text.strip_suffix(".0").unwrap_or(&text))
}

fn cpus_text(cpus: f64) -> String {
    let text = format!("{cpus:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} CPU{}", if cpus == 1.0 { "" } else { "s" })
}

/// The engine against the model's limits. Too little memory is a warning (Docker caps a container
/// at its limit but starts it anyway; Ray jobs then die of out-of-memory). Fewer CPUs than a limit
/// is a problem: the daemon refuses to create that container ("Range of CPUs is from 0.01 to N").
pub fn engine_verdicts(engine: &Engine, model: Option<&Model>) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    let Some(model) = model else { return verdicts };
    if let Some(limit) = &model.memory_limit
        && engine.memory < limit.value
    {
        verdicts.push(Verdict::found(
            Status::Warning,
            format!(
                "the engine has {} of memory; {} may use up to {}",
                gib(engine.memory),
                limit.service,
                gib(limit.value)
            ),
            format!(
                "give the engine {} or more (Docker Desktop: Settings > Resources > Memory), or expect {} jobs \
                 to be killed when they run out",
                gib(limit.value),
                limit.service
            ),
        ));
    }
    if let Some(limit) = &model.cpu_limit
        && (engine.cpus as f64) < limit.value
    {
        verdicts.push(Verdict::found(
            Status::Problem,
            format!(
                "the engine has {}; {} is limited to {}, which Docker refuses to grant",
                cpus_text(engine.cpus as f64),
                limit.service,
                cpus_text(limit.value)
            ),
            format!("give the engine {} or more (Docker Desktop: Settings > Resources > CPUs)", cpus_text(limit.value)),
        ));
    }
    verdicts
}

/// The daemon's answer as a verdict, for a daemon that does not answer.
pub fn daemon_down(reason: &str) -> Verdict {
    Verdict::found(
        Status::Problem,
        format!("the Docker daemon does not answer ({reason})"),
        "start it (`sudo systemctl start docker`, or open Docker Desktop) and check that your user may use it",
    )
}

/// Starts `argv` with its output captured.
fn spawn(sh: &Shell, cwd: &std::path::Path, env_remove: &[String], argv: &[String]) -> Result<Child, String> {
    let mut cmd = sh.cmd(&argv[0]).args(&argv[1..]);
    for name in env_remove {
        cmd = cmd.env_remove(name);
    }
    let mut command = Command::from(cmd);
    command.current_dir(cwd).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.spawn().map_err(|err| match err.kind() {
        ErrorKind::NotFound => format!("`{}` is not installed or not on PATH", argv[0]),
        _ => format!("cannot run `{}`: {err}", argv[0]),
    })
}

/// Waits for `child`; its stdout on success, else the last line it printed on stderr (where
/// Docker puts the error, after any warnings).
fn finish(child: Result<Child, String>) -> Result<String, String> {
    let output = child?.wait_with_output().map_err(|err| format!("cannot read its output: {err}"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = stderr.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("no message").to_string();
    Err(reason)
}

/// Asks the daemon about the engine.
pub fn engine(sh: &Shell) -> Result<Engine, String> {
    let argv = ENGINE_INFO.map(String::from);
    Engine::parse(&finish(spawn(sh, &sh.current_dir(), &[], &argv))?)
}

/// Reads the model of `model_step` (see [`model_argv`]) and asks the daemon about the engine,
/// both at once: together they take as long as the slower of the two.
pub fn model_and_engine(sh: &Shell, model_step: &Step) -> (Result<Model, String>, Result<Engine, String>) {
    let model = spawn(sh, &model_step.cwd, &model_step.env_remove, &model_step.argv);
    let engine = spawn(sh, &model_step.cwd, &[], &ENGINE_INFO.map(String::from));
    let engine = finish(engine).and_then(|json| Engine::parse(&json));
    let model = finish(model).and_then(|json| Model::parse(&json));
    (model, engine)
}

/// Who holds a port, as the system tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its command name.
    pub command: String,
}

/// Whether a published port is free for the stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortState {
    /// Nothing holds it.
    Free,
    /// A running container of this Compose project publishes it: the stack is already up.
    Ours {
        /// The container's name.
        container: String,
    },
    /// Something else holds it.
    Taken {
        /// The process, when the system lets us see it.
        holder: Option<Holder>,
    },
    /// It could not be checked.
    Unknown {
        /// Why.
        reason: String,
    },
}

impl PortState {
    /// The state in the user's terms.
    pub fn verdict(&self, published: &Published) -> Verdict {
        let port = published.port;
        let service = &published.service;
        match self {
            PortState::Free => Verdict::ok(format!("free ({service})")),
            PortState::Ours { container } => {
                Verdict::ok(format!("in use by Lumigator's own {container}, already running ({service})"))
            }
            PortState::Taken { holder: Some(holder) } if holder.command == "docker-proxy" => Verdict::found(
                Status::Problem,
                format!("{service} publishes it, but a container of another project holds it"),
                format!("stop that container (`docker ps --filter publish={port}` names it), then start again"),
            ),
            PortState::Taken { holder: Some(holder) } => Verdict::found(
                Status::Problem,
                format!("{service} publishes it, but {} (pid {}) holds it", holder.command, holder.pid),
                format!("stop {} or move it to another port, then start again", holder.command),
            ),
            PortState::Taken { holder: None } => Verdict::found(
                Status::Problem,
                format!("{service} publishes it, but another program holds it"),
                format!(
                    "find it with `sudo lsof -i :{port}` (or `sudo ss -lpn 'sport = :{port}'`), stop it, then start again"
                ),
            ),
            PortState::Unknown { reason } => Verdict::found(
                Status::Warning,
                format!("{service} publishes it; could not check whether it is free ({reason})"),
                format!("check with `sudo lsof -i :{port}` that no other program listens on it"),
            ),
        }
    }
}

/// What a bind on the port's addresses says.
enum Probe {
    Free,
    InUse,
    CannotTell(String),
}

/// Tries to bind the port where Docker would. A port published on every address (the default)
/// is also tried on 127.0.0.1 and `::`: on macOS a wildcard bind succeeds beside a program bound to
/// 127.0.0.1, and Docker publishes on IPv6 too. Only "address in use" counts as held.
fn probe(published: &Published) -> Probe {
    let (primary, extra): (IpAddr, &[IpAddr]) = match published.host_ip {
        Some(ip) => (ip, &[]),
        None => {
            (IpAddr::V4(Ipv4Addr::UNSPECIFIED), &[IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::UNSPECIFIED)])
        }
    };
    let bind = |ip: IpAddr| match published.protocol {
        Protocol::Tcp => TcpListener::bind((ip, published.port)).map(drop),
        Protocol::Udp => UdpSocket::bind((ip, published.port)).map(drop),
    };
    let mut outcome = Probe::Free;
    match bind(primary) {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::AddrInUse => return Probe::InUse,
        Err(err) if err.kind() == ErrorKind::PermissionDenied => {
            outcome = Probe::CannotTell(format!("binding port {} needs privileges", published.port));
        }
        Err(err) => outcome = Probe::CannotTell(format!("cannot bind {primary}: {err}")),
    }
    for &ip in extra {
        // Any other error means this address does not exist here (no IPv6): nothing holds it there.
        if bind(ip).is_err_and(|err| err.kind() == ErrorKind::AddrInUse) {
            return Probe::InUse;
        }
    }
    outcome
}

/// Checks every published port of `model`. The daemon and `/proc` are asked only about ports that
/// turned out to be in use, so a free host costs one bind per address.
pub fn check_ports(sh: &Shell, model: &Model) -> Vec<(Published, PortState)> {
    let mut states: Vec<(Published, PortState)> = Vec::with_capacity(model.published.len());
    for published in &model.published {
        let state = match probe(published) {
            Probe::Free => PortState::Free,
            Probe::InUse => PortState::Taken { holder: None },
            // Unprivileged binds below 1024 fail on Linux; the kernel's socket table still tells.
            Probe::CannotTell(reason) => match listening(published.port, published.protocol) {
                Some(true) => PortState::Taken { holder: None },
                Some(false) => PortState::Free,
                None => PortState::Unknown { reason },
            },
        };
        states.push((published.clone(), state));
    }
    let taken: Vec<(u16, Protocol)> = states
        .iter()
        .filter(|(_, s)| matches!(s, PortState::Taken { .. }))
        .map(|(p, _)| (p.port, p.protocol))
        .collect();
    if taken.is_empty() {
        return states;
    }
    let ours = project_ports(sh, &model.project);
    let holders = holders(&taken);
    for (published, state) in &mut states {
        if !matches!(state, PortState::Taken { .. }) {
            continue;
        }
        let key = (published.port, published.protocol);
        *state = match ours.get(&key) {
            Some(container) => PortState::Ours { container: container.clone() },
            None => PortState::Taken { holder: holders.get(&key).cloned() },
        };
    }
    states
}

/// The host ports the running containers of Compose project `project` publish, with the
/// container's name. Empty when the daemon cannot tell (then nothing counts as ours).
fn project_ports(sh: &Shell, project: &str) -> HashMap<(u16, Protocol), String> {
    let filter = format!("label=com.docker.compose.project={project}");
    let argv = ["docker", "ps", "--filter", &filter, "--format", "{{json .}}"].map(String::from);
    let Ok(listing) = finish(spawn(sh, &sh.current_dir(), &[], &argv)) else { return HashMap::new() };
    let mut ports = HashMap::new();
    for line in listing.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(container) = serde_json::from_str::<Value>(line) else { continue };
        let name = container["Names"].as_str().unwrap_or("container").to_string();
        for (port, protocol) in container["Ports"].as_str().map(parse_ps_ports).unwrap_or_default() {
            ports.insert((port, protocol), name.clone());
        }
    }
    ports
}

/// The host ports in `docker ps`'s Ports column: `0.0.0.0:8000->8000/tcp, [::]:8000->8000/tcp`,
/// ranges as `0.0.0.0:8000-8001->8000-8001/tcp`; exposed-only ports (`80/tcp`) have no host side.
fn parse_ps_ports(column: &str) -> Vec<(u16, Protocol)> {
    let mut ports = Vec::new();
    for mapping in column.split(',').map(str::trim) {
        let Some((host, container)) = mapping.split_once("->") else { continue };
        let protocol = if container.ends_with("/udp") { Protocol::Udp } else { Protocol::Tcp };
        let Some((_, range)) = host.rsplit_once(':') else { continue };
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        if let (Ok(first), Ok(last)) = (first.parse::<u16>(), last.parse::<u16>()) {
            ports.extend((first..=last).map(|p| (p, protocol)));
        }
    }
    ports
}

/// The sockets of the kernel's tables (`/proc/net/tcp`, `tcp6`, `udp`, `udp6`) bound to `port`:
/// their inodes. TCP sockets count only when listening; UDP sockets have no such state.
#[cfg(target_os = "linux")]
fn socket_inodes(port: u16, protocol: Protocol) -> Option<std::collections::HashSet<u64>> {
    let mut inodes = std::collections::HashSet::new();
    let mut readable = false;
    for table in [protocol.as_str().to_string(), format!("{}6", protocol.as_str())] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/net/{table}")) else { continue };
        readable = true;
        for fields in text.lines().skip(1).map(|l| l.split_whitespace().collect::<Vec<_>>()) {
            let [_, local, _, state, _, _, _, _, _, inode, ..] = fields[..] else { continue };
            let bound_port = local.rsplit_once(':').and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
            // 0A is TCP_LISTEN.
            if bound_port == Some(port) && (protocol == Protocol::Udp || state == "0A") {
                inodes.extend(inode.parse::<u64>().ok().filter(|&i| i != 0));
            }
        }
    }
    readable.then_some(inodes)
}

/// Whether the kernel's tables show something bound to `port`; `None` when they cannot be read.
fn listening(port: u16, protocol: Protocol) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        socket_inodes(port, protocol).map(|inodes| !inodes.is_empty())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (port, protocol);
        None
    }
}

/// The processes holding `ports`, where the system lets us see them: on Linux, each port's socket
/// inodes, then a scan of `/proc/<pid>/fd` for those sockets. Processes of other users cannot be
/// read without privileges; they are skipped silently. Elsewhere, nothing.
fn holders(ports: &[(u16, Protocol)]) -> HashMap<(u16, Protocol), Holder> {
    let mut found = HashMap::new();
    #[cfg(target_os = "linux")]
    {
        let mut wanted: HashMap<u64, (u16, Protocol)> = HashMap::new();
        for &(port, protocol) in ports {
            for inode in socket_inodes(port, protocol).unwrap_or_default() {
                wanted.insert(inode, (port, protocol));
            }
        }
        let distinct: std::collections::HashSet<&(u16, Protocol)> = wanted.values().collect();
        let distinct = distinct.len();
        if distinct == 0 {
            return found;
        }
        let Ok(processes) = std::fs::read_dir("/proc") else { return found };
        for process in processes.flatten() {
            let Some(pid) = process.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else { continue };
            for fd in fds.flatten() {
                let Ok(target) = std::fs::read_link(fd.path()) else { continue };
                let target = target.to_string_lossy();
                let Some(inode) = target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']')) else { continue };
                let Some(key) = inode.parse::<u64>().ok().and_then(|i| wanted.get(&i)) else { continue };
                let command = std::fs::read_to_string(process.path().join("comm")).unwrap_or_default();
                let command = command.trim();
                let command = if command.is_empty() { "a program".to_string() } else { command.to_string() };
                found.entry(*key).or_insert(Holder { pid, command });
            }
            if found.len() == distinct {
                break;
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = ports;
    found
}

/// The pre-flight of a start task: after build/.env is written, before anything runs. Stops the
/// task when a published port is held by another program, the daemon stopped answering, or the
/// engine cannot grant a CPU limit; warns when it has less memory than a limit. On a stop, build/
/// is removed (as the down tasks do), so nothing is left behind. Down tasks, dry runs and
/// `--skip-preflight` skip it.
pub fn before_start(ctx: &Context, target: &Target, compose_step: &Step, skip: bool) -> Result<(), TaskError> {
    if skip || ctx.dry_run || target.action == Action::Down {
        return Ok(());
    }
    let model_step = Step { argv: model_argv(&compose_step.argv), ..compose_step.clone() };
    let (model, engine) = model_and_engine(&ctx.sh, &model_step);
    let mut problems = Vec::new();
    let mut note = |verdict: Verdict| match verdict.status {
        Status::Problem => problems.push(verdict.message()),
        Status::Warning => ctx.ui.warning(verdict.message()),
        Status::Ok | Status::Skipped => {}
    };
    match &engine {
        Ok(engine) => engine_verdicts(engine, model.as_ref().ok()).into_iter().for_each(&mut note),
        Err(reason) => note(daemon_down(reason)),
    }
    match &model {
        Ok(model) => {
            for (published, state) in check_ports(&ctx.sh, model) {
                let verdict = state.verdict(&published);
                note(Verdict { detail: format!("port {}: {}", published.label(), verdict.detail), ..verdict });
            }
        }
        // Compose's own command fails the same way next, with its whole message.
        Err(reason) => ctx.ui.warning(format!("ports not checked: Compose cannot read the task's files ({reason})")),
    }
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        ctx.ui.error(problem);
    }
    if let Err(err) = build_files::clean(&ctx.project) {
        ctx.ui.warning(err);
    }
    ctx.ui.error(format!(
        "{}: nothing started, build/ removed (`cargo xtask doctor --task {0}` checks everything; \
         --skip-preflight starts anyway)",
        target.name
    ));
    Err(TaskError::Reported(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_gives_ports_and_the_largest_limits() {
        let model = Model::parse(
            r#"{"name":"lumigator","services":{
                "backend":{"ports":[{"mode":"ingress","target":8000,"published":"8000","protocol":"tcp"}]},
                "ray":{"ports":[{"target":6379,"published":"6379"},{"target":1,"published":"7000-7001","host_ip":"127.0.0.1"},
                                {"target":53,"published":"5353","protocol":"udp","host_ip":"0.0.0.0"},{"target":9}],
                       "deploy":{"resources":{"limits":{"cpus":2,"memory":"10737418240"}}}},
                "small":{"deploy":{"resources":{"limits":{"cpus":"0.5","memory":1024}}}},
                "redis":{}}}"#,
        )
        .expect("parses");
        let ports: Vec<(String, &str, Option<IpAddr>)> =
            model.published.iter().map(|p| (p.label(), p.service.as_str(), p.host_ip)).collect();
        let localhost = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            ports,
            [
                ("5353/udp".to_string(), "ray", None),
                ("6379".into(), "ray", None),
                ("7000".into(), "ray", localhost),
                ("7001".into(), "ray", localhost),
                ("8000".into(), "backend", None),
            ]
        );
        assert_eq!(model.memory_limit, Some(Limit { service: "ray".into(), value: 10 << 30 }));
        assert_eq!(model.cpu_limit, Some(Limit { service: "ray".into(), value: 2.0 }));
        assert!(Model::parse("not json").is_err());
        assert_eq!(Model::parse(r#"{"name":"x"}"#).expect("no services").published, []);
    }

    #[test]
    fn the_model_command_replaces_the_action() {
        let argv: Vec<String> =
            "docker compose --env-file /p/build/.env --profile local -f a.yaml -f b.yaml up -d --build"
                .split(' ')
                .map(String::from)
                .collect();
        assert_eq!(
            model_argv(&argv).join(" "),
            "docker compose --env-file /p/build/.env --profile local -f a.yaml -f b.yaml config --format json"
        );
    }

    #[test]
    fn docker_ps_ports() {
        assert_eq!(
            parse_ps_ports(
                "0.0.0.0:8000->8000/tcp, [::]:8000->8000/tcp, 80/tcp, 127.0.0.1:53->53/udp, :::7-8->7-8/tcp"
            ),
            [(8000, Protocol::Tcp), (8000, Protocol::Tcp), (53, Protocol::Udp), (7, Protocol::Tcp), (8, Protocol::Tcp)]
        );
    }

    #[test]
    fn sizes_and_counts_read_short() {
        assert_eq!(gib(10 << 30), "10 GiB");
        assert_eq!(gib(8_268_000_000), "7.7 GiB");
        assert_eq!(cpus_text(2.0), "2 CPUs");
        assert_eq!(cpus_text(1.0), "1 CPU");
        assert_eq!(cpus_text(0.5), "0.5 CPUs");
    }

    #[test]
    fn engine_limits() {
        let model = Model {
            memory_limit: Some(Limit { service: "ray".into(), value: 10 << 30 }),
            cpu_limit: Some(Limit { service: "ray".into(), value: 2.0 }),
            ..Model::default()
        };
        let big = Engine { version: "28".into(), memory: 16 << 30, cpus: 8 };
        assert!(engine_verdicts(&big, Some(&model)).is_empty());
        let small = Engine { version: "28".into(), memory: 4 << 30, cpus: 1 };
        let statuses: Vec<Status> = engine_verdicts(&small, Some(&model)).iter().map(|v| v.status).collect();
        assert_eq!(statuses, [Status::Warning, Status::Problem]);
        assert!(engine_verdicts(&small, None).is_empty());
    }

    #[test]
    fn a_listener_on_loopback_holds_a_wildcard_port() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let published = Published { port, protocol: Protocol::Tcp, service: "backend".into(), host_ip: None };
        assert!(matches!(probe(&published), Probe::InUse));
        #[cfg(target_os = "linux")]
        {
            let holders = holders(&[(port, Protocol::Tcp)]);
            assert_eq!(holders.get(&(port, Protocol::Tcp)).map(|h| h.pid), Some(std::process::id()));
        }
        drop(listener);
        assert!(matches!(probe(&published), Probe::Free));
    }
}
