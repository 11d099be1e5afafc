//! Compose's resolved model of a task (`docker compose ... config --format json`): its services,
//! the ports they publish and the largest resource limits (for the pre-flight checks), which of
//! them ask for NVIDIA GPUs, and which run once and exit (for the readiness wait).

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
    /// The container's port behind it (0 when Compose does not say).
    pub target: u16,
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
    /// Every service, sorted.
    pub services: Vec<String>,
    /// The services that run once and exit: another service waits for them to complete
    /// (`condition: service_completed_successfully`), such as `minio-admin`.
    pub one_shots: Vec<String>,
    /// The services that ask for NVIDIA GPUs (`runtime: nvidia`, `gpus`, or a device reservation
    /// with the `gpu` capability), sorted.
    pub gpu_services: Vec<String>,
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
            model.services.push(name.clone());
            for port in service.get("ports").and_then(Value::as_array).into_iter().flatten() {
                model.published.extend(published_ports(name, port));
            }
            for (dependency, how) in service.get("depends_on").and_then(Value::as_object).into_iter().flatten() {
                if how["condition"] == "service_completed_successfully" && !model.one_shots.contains(dependency) {
                    model.one_shots.push(dependency.clone());
                }
            }
            if asks_for_gpus(service) {
                model.gpu_services.push(name.clone());
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
        model.services.sort();
        model.one_shots.sort();
        model.gpu_services.sort();
        Ok(model)
    }

    /// The port `service` publishes for its container port `target`, if any.
    pub fn published_for(&self, service: &str, target: u16) -> Option<&Published> {
        self.published.iter().find(|p| p.service == service && p.target == target && p.protocol == Protocol::Tcp)
    }
}

/// Whether a service of the model asks for NVIDIA GPUs, which Docker grants only with the NVIDIA
/// Container Toolkit installed.
fn asks_for_gpus(service: &Value) -> bool {
    let nvidia_runtime = service["runtime"].as_str() == Some("nvidia");
    let gpus = service["gpus"].as_array().is_some_and(|g| !g.is_empty()) || service["gpus"].is_string();
    let devices = service["deploy"]["resources"]["reservations"]["devices"].as_array().into_iter().flatten();
    let reserved = devices.into_iter().any(|device| {
        device["driver"] == "nvidia"
            || device["capabilities"].as_array().is_some_and(|caps| caps.iter().any(|c| c == "gpu"))
    });
    nvidia_runtime || gpus || reserved
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
    // A range maps onto a range of container ports, in order.
    let target = match &port["target"] {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(0),
        Value::String(s) => s.split('-').next().and_then(|t| t.trim().parse().ok()).unwrap_or(0),
        _ => 0,
    };
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
        .map(|port| Published {
            port,
            protocol,
            service: service.to_string(),
            host_ip,
            target: if target == 0 { 0 } else { target.saturating_add(port - first) },
        })
        .collect()
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
        assert_eq!(model.published_for("ray", 2).map(|p| p.port), Some(7001), "a range maps port to port");
        assert_eq!(model.published_for("backend", 8000).map(|p| p.port), Some(8000));
        assert_eq!(model.services, ["backend", "ray", "redis", "small"]);
        assert_eq!(model.memory_limit, Some(Limit { service: "ray".into(), value: 10 << 30 }));
        assert_eq!(model.cpu_limit, Some(Limit { service: "ray".into(), value: 2.0 }));
        assert!(Model::parse("not json").is_err());
        assert_eq!(Model::parse(r#"{"name":"x"}"#).expect("no services").published, []);
    }

    #[test]
    fn one_shots_and_gpu_services() {
        let model = Model::parse(
            r#"{"services":{
                "backend":{"depends_on":{"minio-admin":{"condition":"service_completed_successfully"},
                                         "ray":{"condition":"service_healthy"}}},
                "minio-admin":{}, "ray":{"runtime":"nvidia","gpus":[{"count":-1}]},
                "worker":{"deploy":{"resources":{"reservations":{"devices":[{"capabilities":["gpu"]}]}}}},
                "cpu":{"runtime":"runc"}}}"#,
        )
        .expect("parses");
        assert_eq!(model.one_shots, ["minio-admin"]);
        assert_eq!(model.gpu_services, ["ray", "worker"]);
    }
}
