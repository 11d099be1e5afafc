//! Whether the ports a task's services would publish are free: bind probes, the kernel's socket
//! tables and `/proc` for who holds one, and `docker ps` for ports our own stack already holds.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, UdpSocket};

use serde_json::Value;

use crate::context::Context;
use crate::preflight::model::{Model, Protocol, Published};
use crate::verdict::Verdict;

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
            PortState::Taken { holder: Some(holder) } if holder.command == "docker-proxy" => Verdict::problem(
                format!("{service} publishes it, but a container of another project holds it"),
                format!("stop that container (`docker ps --filter publish={port}` names it), then start again"),
            ),
            PortState::Taken { holder: Some(holder) } => Verdict::problem(
                format!("{service} publishes it, but {} (pid {}) holds it", holder.command, holder.pid),
                format!("stop {} or move it to another port, then start again", holder.command),
            ),
            PortState::Taken { holder: None } => Verdict::problem(
                format!("{service} publishes it, but another program holds it"),
                format!(
                    "find it with `sudo lsof -i :{port}` (or `sudo ss -lpn 'sport = :{port}'`), stop it, then start again"
                ),
            ),
            PortState::Unknown { reason } => Verdict::warning(
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
pub fn check_ports(ctx: &Context, model: &Model) -> Vec<(Published, PortState)> {
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
    let ours = project_ports(ctx, &model.project);
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
fn project_ports(ctx: &Context, project: &str) -> HashMap<(u16, Protocol), String> {
    let filter = format!("label=com.docker.compose.project={project}");
    let ps = ctx.cmd("docker").args(["ps", "--filter", &filter, "--format", "{{json .}}"]);
    let listing = match ctx.runner.output(&ps) {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => return HashMap::new(),
    };
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_listener_on_loopback_holds_a_wildcard_port() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let published =
            Published { port, protocol: Protocol::Tcp, service: "backend".into(), host_ip: None, target: 8000 };
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
