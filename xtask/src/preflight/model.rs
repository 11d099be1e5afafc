//! Compose's resolved model of a task (`docker compose ... config --format json`): the ports its
//! services publish and the largest resource limits, which the pre-flight checks need.

use std::net::IpAddr;

use serde_json::Value;

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
/// [`crate::compose::compose_argv`] builds it): the same program, env file, profiles and
/// files, with `config --format json` instead of the action. It needs no daemon.
pub fn model_argv(compose_argv: &[String]) -> Vec<String> {
    // The files come last before the action, each after `-f`.
    let files_end = compose_argv.iter().rposition(|a| a == "-f").map_or(compose_argv.len(), |i| i + 2);
    let mut argv = compose_argv[..files_end.min(compose_argv.len())].to_vec();
    argv.extend(["config", "--format", "json"].map(String::from));
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

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
}
