//! A values file for Lumigator's Helm chart (`infra/helm/lumigator` in its repository): each
//! setting written at the value paths its `helm` field in `settings.toml` names, so the mapping is
//! declared once, beside the setting.
//!
//! What the chart cannot use is left out, and said: settings it has no value for, and addresses of
//! the local stack (`localhost`, Compose's service names), which pods cannot reach and which would
//! replace the chart's own defaults (its Ray cluster, for one) with a wrong address. Secrets follow
//! the export's rule (values only with `--with-secrets`), except where the chart takes a Kubernetes
//! env item: there, with `--existing-secret NAME`, the item refers to key SETTING of Secret NAME
//! (`valueFrom.secretKeyRef`) and no value is written at all.

use lumigator_conf::{ResolvedConfig, settings};

use super::yaml;

/// The first lines of the file.
pub const HEADER: &str = "\
# Values for Lumigator's Helm chart (infra/helm/lumigator), from the resolved configuration
# (cargo xtask config-export --format helm). Use: helm install lumigator <chart> -f <this file>
";

/// The host names of the local stack's services (docker-compose.yaml and its overrides): inside a
/// cluster they name nothing.
const COMPOSE_SERVICES: [&str; 8] =
    ["minio", "minio-admin", "redis", "ray", "mlflow", "backend", "frontend", "postgres"];

/// What the export is allowed to write.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// Write secret values where the chart takes them.
    pub with_secrets: bool,
    /// Refer to secrets in this Secret wherever the chart can take a reference.
    pub existing_secret: Option<&'a str>,
}

/// The values file and what was left out of it, for the task to say.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Values {
    /// The YAML text.
    pub text: String,
    /// Settings the chart has no value for.
    pub unplaced: Vec<String>,
    /// Settings left out because they point at the local stack, with the host they name.
    pub local: Vec<(String, String)>,
    /// Secret settings left out, with the value path each would have gone to and whether the chart
    /// could have taken a reference to a Secret there (with `--existing-secret`).
    pub secrets_left_out: Vec<LeftOut>,
    /// Secret settings written as references to the existing Secret, with the value path.
    pub referenced: Vec<(String, String)>,
}

/// A secret setting not written at a value path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    /// The setting.
    pub setting: String,
    /// The value path.
    pub path: String,
    /// Whether the chart takes a reference to a Secret there.
    pub referable: bool,
}

/// A value path of the chart, parsed: the keys from the top, and for an env-list item its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValuePath {
    /// The mapping keys, from the top of the values.
    pub keys: Vec<String>,
    /// The env item `name` in the list at `keys`, for a `list[NAME]` path.
    pub item: Option<String>,
}

/// Parses a `helm` path of `settings.toml`: `a.b.c`, or `a.b.list[NAME]`.
pub fn parse_path(path: &str) -> Result<ValuePath, String> {
    let (keys, item) = match path.strip_suffix(']').and_then(|p| p.rsplit_once('[')) {
        Some((keys, name)) => (keys, Some(name)),
        None => (path, None),
    };
    let keys: Vec<String> = keys.split('.').map(str::to_string).collect();
    let key_ok = |k: &String| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
    if !keys.iter().all(key_ok) {
        return Err(format!("{path}: keys are letters, digits, '_' and '-', separated by '.'"));
    }
    if let Some(name) = item {
        let shell_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !shell_name {
            return Err(format!("{path}: an env item is named like a variable"));
        }
    }
    Ok(ValuePath { keys, item: item.map(str::to_string) })
}

/// The host a value names when it is an address of the local stack (a URL or a host name naming
/// `localhost`, a loopback address or a Compose service).
pub fn local_host(setting: &str, value: &str) -> Option<String> {
    let is_address = value.contains("://")
        || ["_HOST", "_URL", "_URI", "_ADDRESS", "_ENDPOINT"].iter().any(|suffix| setting.ends_with(suffix));
    if !is_address {
        return None;
    }
    let rest = value.split_once("://").map_or(value, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    }
    .to_ascii_lowercase();
    let local = matches!(host.as_str(), "localhost" | "::1" | "0.0.0.0" | "host.docker.internal")
        || host.starts_with("127.")
        || host.ends_with(".localhost")
        || COMPOSE_SERVICES.contains(&host.as_str());
    local.then_some(host)
}

enum Node {
    Map(Vec<(String, Node)>),
    Scalar(String),
    Env(Vec<(String, EnvValue)>),
}

enum EnvValue {
    Value(String),
    SecretRef { secret: String, key: String },
}

impl Node {
    /// The map at `keys` below this one, made as needed. `None` when a path crosses a value.
    fn map_at(&mut self, keys: &[String]) -> Option<&mut Vec<(String, Node)>> {
        let Node::Map(entries) = self else { return None };
        let Some((first, rest)) = keys.split_first() else { return Some(entries) };
        let index = match entries.iter().position(|(k, _)| k == first) {
            Some(index) => index,
            None => {
                entries.push((first.clone(), Node::Map(Vec::new())));
                entries.len() - 1
            }
        };
        entries[index].1.map_at(rest)
    }

    fn insert(&mut self, path: &ValuePath, value: EnvValue) {
        let Some((last, parents)) = path.keys.split_last() else { return };
        let Some(parent) = self.map_at(parents) else { return };
        let slot = match parent.iter().position(|(k, _)| k == last) {
            Some(index) => &mut parent[index].1,
            None => {
                let empty = if path.item.is_some() { Node::Env(Vec::new()) } else { Node::Scalar(String::new()) };
                parent.push((last.clone(), empty));
                &mut parent.last_mut().expect("just pushed").1
            }
        };
        match (slot, &path.item, value) {
            (Node::Env(items), Some(name), value) => items.push((name.clone(), value)),
            (slot @ Node::Scalar(_), None, EnvValue::Value(text)) => *slot = Node::Scalar(text),
            // settings.toml is checked by a test to give no path twice, nor a path inside another.
            _ => {}
        }
    }

    fn write(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        let Node::Map(entries) = self else { return };
        for (key, node) in entries {
            out.push_str(&format!("{pad}{}:", yaml::key(key)));
            match node {
                Node::Scalar(text) => out.push_str(&format!(" {}\n", yaml::quoted(text))),
                Node::Map(_) => {
                    out.push('\n');
                    node.write(indent + 2, out);
                }
                Node::Env(items) => {
                    out.push('\n');
                    for (name, value) in items {
                        out.push_str(&format!("{pad}  - name: {}\n", yaml::quoted(name)));
                        match value {
                            EnvValue::Value(text) => out.push_str(&format!("{pad}    value: {}\n", yaml::quoted(text))),
                            EnvValue::SecretRef { secret, key } => out.push_str(&format!(
                                "{pad}    valueFrom:\n{pad}      secretKeyRef:\n{pad}        name: {}\n{pad}        key: {}\n",
                                yaml::quoted(secret),
                                yaml::quoted(key)
                            )),
                        }
                    }
                }
            }
        }
    }
}

/// The values file for `config` (every entry, secret or not: [`Options`] decides).
pub fn render(config: &ResolvedConfig, options: Options) -> Values {
    let mut values = Values::default();
    let mut root = Node::Map(Vec::new());
    for entry in &config.entries {
        let paths = settings::find(&entry.key).map(|s| s.helm.as_slice()).unwrap_or_default();
        if paths.is_empty() {
            values.unplaced.push(entry.key.clone());
            continue;
        }
        if !entry.secret
            && let Some(host) = local_host(&entry.key, &entry.value)
        {
            values.local.push((entry.key.clone(), host));
            continue;
        }
        for text in paths {
            // settings.toml is ours and its paths are checked by a test.
            let Ok(path) = parse_path(text) else { continue };
            let value = match (entry.secret, &path.item, options.existing_secret) {
                (false, _, _) => EnvValue::Value(entry.value.clone()),
                (true, Some(_), Some(secret)) => {
                    values.referenced.push((entry.key.clone(), text.clone()));
                    EnvValue::SecretRef { secret: secret.to_string(), key: entry.key.clone() }
                }
                (true, _, _) if options.with_secrets => EnvValue::Value(entry.value.clone()),
                (true, item, _) => {
                    values.secrets_left_out.push(LeftOut {
                        setting: entry.key.clone(),
                        path: text.clone(),
                        referable: item.is_some(),
                    });
                    continue;
                }
            };
            root.insert(&path, value);
        }
    }
    values.text = String::from(HEADER);
    match &root {
        Node::Map(entries) if entries.is_empty() => values.text.push_str("{}\n"),
        _ => root.write(0, &mut values.text),
    }
    values
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::export::tests::secret_config;

    #[test]
    fn every_path_in_settings_toml_parses_and_none_is_given_twice() {
        let mut seen = HashSet::new();
        for setting in settings::all() {
            for path in &setting.helm {
                let parsed = parse_path(path).unwrap_or_else(|err| panic!("{}: {err}", setting.name));
                assert!(seen.insert(path.clone()), "{path} is given twice");
                let prefix = parsed.keys.join(".");
                assert!(
                    !seen.iter().any(|other| other != path && other.starts_with(&format!("{prefix}."))),
                    "{path} is inside another path"
                );
            }
        }
        assert!(seen.len() >= 10, "the chart takes most backend settings");
    }

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("a.b-c.env[FOO_1]"),
            Ok(ValuePath { keys: vec!["a".into(), "b-c".into(), "env".into()], item: Some("FOO_1".into()) })
        );
        assert!(parse_path("a..b").is_err() && parse_path("a.b[1x]").is_err() && parse_path("a b").is_err());
    }

    #[test]
    fn local_addresses() {
        assert_eq!(local_host("AWS_ENDPOINT_URL", "http://localhost:9000").as_deref(), Some("localhost"));
        assert_eq!(local_host("X", "http://user:pw@minio:9000/b").as_deref(), Some("minio"));
        assert_eq!(local_host("RAY_HEAD_NODE_HOST", "ray").as_deref(), Some("ray"));
        assert_eq!(local_host("X", "http://[::1]:9000").as_deref(), Some("::1"));
        assert_eq!(local_host("X", "https://s3.eu-west-1.amazonaws.com"), None);
        assert_eq!(local_host("RAY_HEAD_NODE_HOST", "ray-head.ray.svc"), None);
        // A bucket named like a service is not an address.
        assert_eq!(local_host("S3_BUCKET", "minio"), None);
    }

    fn cluster_config() -> ResolvedConfig {
        secret_config(&[
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "s3cret"),
            ("AWS_ENDPOINT_URL", "https://s3.example.com"),
            ("S3_BUCKET", "bucket"),
            ("RAY_HEAD_NODE_HOST", "ray"),
            ("AWS_DEFAULT_REGION", "us-east-2"),
        ])
    }

    #[test]
    fn values_go_to_their_paths_and_the_rest_is_reported() {
        let values = render(&cluster_config(), Options::default());
        let expected = format!(
            "{HEADER}backend:
  AWSAccessKey: \"id\"
  ray-cluster:
    head:
      containerEnv:
        - name: \"FSSPEC_S3_KEY\"
          value: \"id\"
        - name: \"FSSPEC_S3_ENDPOINT_URL\"
          value: \"https://s3.example.com\"
  AWSEndpointURL: \"https://s3.example.com\"
  s3EndpointURL: \"https://s3.example.com\"
  s3Bucket: \"bucket\"
"
        );
        assert_eq!(values.text, expected);
        assert_eq!(values.unplaced, ["AWS_DEFAULT_REGION"]);
        assert_eq!(values.local, [("RAY_HEAD_NODE_HOST".to_string(), "ray".to_string())]);
        let left: Vec<(&str, bool)> = values.secrets_left_out.iter().map(|l| (l.path.as_str(), l.referable)).collect();
        assert_eq!(
            left,
            [("backend.AWSSecretKey", false), ("backend.ray-cluster.head.containerEnv[FSSPEC_S3_SECRET]", true)]
        );
        assert!(!values.text.contains("s3cret"));
    }

    #[test]
    fn an_existing_secret_is_referenced_where_the_chart_allows_it() {
        let options = Options { with_secrets: false, existing_secret: Some("lumigator") };
        let values = render(&cluster_config(), options);
        assert!(
            values.text.contains(
                "        - name: \"FSSPEC_S3_SECRET\"\n          valueFrom:\n            secretKeyRef:\n              \
                 name: \"lumigator\"\n              key: \"AWS_SECRET_ACCESS_KEY\"\n"
            ),
            "{}",
            values.text
        );
        assert!(!values.text.contains("s3cret"));
        assert_eq!(values.secrets_left_out.len(), 1, "backend.AWSSecretKey takes no reference");
        let with = render(&cluster_config(), Options { with_secrets: true, existing_secret: Some("lumigator") });
        assert!(with.text.contains("  AWSSecretKey: \"s3cret\"\n") && with.secrets_left_out.is_empty());
    }
}
