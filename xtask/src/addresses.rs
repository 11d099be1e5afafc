//! Where each part of a running Lumigator answers, read from Compose's resolved model of the stack
//! (the ports its services publish), never assumed: a port changed in a compose file or an
//! override changes the address shown. Also the backend's health endpoint, which the readiness
//! wait asks.

use std::net::IpAddr;

use crate::preflight::model::{Model, Published};

/// The backend's health route (Lumigator's `GET /api/v1/health/`: `{"status": "OK", ...}`).
pub const HEALTH_PATH: &str = "/api/v1/health/";

/// The container port the backend serves its API on.
pub const BACKEND_PORT: u16 = 8000;

/// One address to show after a start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// What answers there, for people: `UI`, `API docs`, ...
    pub what: &'static str,
    /// The URL to open.
    pub url: String,
}

/// What answers behind a service's container port: (service, container port, what, path). The Ray
/// dashboard's port is a setting (`RAY_DASHBOARD_PORT`), so it is not in this table.
const KNOWN: [(&str, u16, &str, &str); 5] = [
    ("frontend", 80, "UI", "/"),
    ("backend", BACKEND_PORT, "API", "/api/v1/"),
    ("backend", BACKEND_PORT, "API docs", "/docs"),
    ("mlflow", 5000, "MLflow", "/"),
    ("minio", 9001, "MinIO console", "/"),
];

/// The addresses of the stack's user-facing parts that `model` publishes, in the order of
/// [`KNOWN`], the Ray dashboard (on container port `dashboard_port`) before MinIO's console.
pub fn addresses(model: &Model, dashboard_port: Option<u16>) -> Vec<Address> {
    let mut found = Vec::new();
    for (service, target, what, path) in KNOWN {
        if what == "MinIO console"
            && let Some(published) = dashboard_port.and_then(|port| model.published_for("ray", port))
        {
            found.push(Address { what: "Ray dashboard", url: url(published, "/") });
        }
        if let Some(published) = model.published_for(service, target) {
            found.push(Address { what, url: url(published, path) });
        }
    }
    found
}

/// The URL of `path` behind a published port, as a browser on this machine reaches it:
/// `localhost` for a port published on every address, the port left out when it is 80, and the
/// root path left out.
pub fn url(published: &Published, path: &str) -> String {
    let host = match published.host_ip {
        None => "localhost".to_string(),
        Some(ip) => host_text(ip),
    };
    let port = if published.port == 80 { String::new() } else { format!(":{}", published.port) };
    let path = if path == "/" { "" } else { path };
    format!("http://{host}{port}{path}")
}

/// The URL the readiness wait asks for the backend's health, when the model publishes its API:
/// on 127.0.0.1 for a port published on every address (`localhost` may resolve to `::1` first,
/// where Docker on some hosts publishes nothing).
pub fn backend_health(model: &Model) -> Option<String> {
    let published = model.published_for("backend", BACKEND_PORT)?;
    let host = match published.host_ip {
        None => "127.0.0.1".to_string(),
        Some(ip) => host_text(ip),
    };
    Some(format!("http://{host}:{}{HEALTH_PATH}", published.port))
}

fn host_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lumigator() -> Model {
        Model::parse(
            r#"{"name":"lumigator","services":{
                "backend":{"ports":[{"target":8000,"published":"8000"}]},
                "frontend":{"ports":[{"target":80,"published":"80"}]},
                "minio":{"ports":[{"target":9000,"published":"9000"},{"target":9001,"published":"9001"}]},
                "mlflow":{"ports":[{"target":5000,"published":"8001"}]},
                "ray":{"ports":[{"target":6379,"published":"6379"},{"target":8265,"published":"8265"},
                                {"target":10001,"published":"10001"}]},
                "redis":{}}}"#,
        )
        .expect("model")
    }

    #[test]
    fn the_addresses_come_from_the_published_ports() {
        let shown: Vec<(&str, String)> =
            addresses(&lumigator(), Some(8265)).into_iter().map(|a| (a.what, a.url)).collect();
        assert_eq!(
            shown,
            [
                ("UI", "http://localhost".to_string()),
                ("API", "http://localhost:8000/api/v1/".into()),
                ("API docs", "http://localhost:8000/docs".into()),
                ("MLflow", "http://localhost:8001".into()),
                ("Ray dashboard", "http://localhost:8265".into()),
                ("MinIO console", "http://localhost:9001".into()),
            ]
        );
        assert_eq!(backend_health(&lumigator()).as_deref(), Some("http://127.0.0.1:8000/api/v1/health/"));
    }

    #[test]
    fn a_stack_without_the_local_services_or_ports_has_fewer_addresses() {
        let external = Model::parse(
            r#"{"services":{"backend":{"ports":[{"target":8000,"published":"8080","host_ip":"127.0.0.1"}]},
                            "frontend":{}}}"#,
        )
        .expect("model");
        let shown: Vec<String> = addresses(&external, Some(8265)).into_iter().map(|a| a.url).collect();
        assert_eq!(shown, ["http://127.0.0.1:8080/api/v1/", "http://127.0.0.1:8080/docs"]);
        assert_eq!(backend_health(&external).as_deref(), Some("http://127.0.0.1:8080/api/v1/health/"));
        assert_eq!(addresses(&Model::default(), None), []);
        assert_eq!(backend_health(&Model::default()), None);
    }
}
