//! A Kubernetes `ConfigMap` with the settings that are not secret and a `Secret` (type Opaque) with
//! those that are, the key included, both under one name, for a container's `envFrom`
//! (`configMapRef` and `secretRef`). Keys are the variable names, so the container gets the same
//! environment as `run` gives. Secret values are base64 in `data` (bytes, exact); every other
//! scalar is double-quoted (see [`super::yaml`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lumigator_conf::ResolvedConfig;

use super::yaml;

/// The labels on both objects.
const LABELS: &str =
    "    app.kubernetes.io/part-of: \"lumigator\"\n    app.kubernetes.io/managed-by: \"cargo-xtask\"\n";

/// The two objects as one YAML stream. The Secret is left out when there is no secret entry (an
/// export without `--with-secrets`): applying an empty one would wipe the values of an existing
/// Secret of that name.
pub fn render(config: &ResolvedConfig, name: &str) -> String {
    let mut out = format!(
        "# Lumigator's resolved configuration (cargo xtask config-export --format k8s), for a container's\n\
         # envFrom: configMapRef and secretRef named {name}.\n"
    );
    let (secrets, settings): (Vec<_>, Vec<_>) = config.entries.iter().partition(|e| e.secret);
    out.push_str(&object("ConfigMap", name));
    out.push_str(if settings.is_empty() { "data: {}\n" } else { "data:\n" });
    for entry in &settings {
        out.push_str(&format!("  {}: {}\n", yaml::key(&entry.key), yaml::quoted(&entry.value)));
    }
    if !secrets.is_empty() {
        out.push_str("---\n");
        out.push_str(&object("Secret", name));
        out.push_str("type: Opaque\ndata:\n");
        for entry in &secrets {
            let encoded = STANDARD.encode(entry.value.as_bytes());
            out.push_str(&format!("  {}: {}\n", yaml::key(&entry.key), yaml::quoted(&encoded)));
        }
    }
    out
}

fn object(kind: &str, name: &str) -> String {
    format!("apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {}\n  labels:\n{LABELS}", yaml::quoted(name))
}

/// Why `name` cannot name a ConfigMap or a Secret (a DNS subdomain name: at most 253 characters,
/// lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit).
pub fn invalid_name(name: &str) -> Option<&'static str> {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if name.is_empty() || name.len() > 253 {
        Some("it must have 1 to 253 characters")
    } else if !name.chars().all(|c| alphanumeric(c) || c == '-' || c == '.') {
        Some("it may hold only lower-case letters, digits, '-' and '.'")
    } else if !name.starts_with(alphanumeric) || !name.ends_with(alphanumeric) {
        Some("it must start and end with a letter or a digit")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::secret_config;

    #[test]
    fn settings_in_the_config_map_secrets_base64_in_the_secret() {
        let text = render(&secret_config(&[("S3_BUCKET", "b"), ("MY_PASSWORD", "p\n")]), "lumi");
        assert!(text.contains("kind: ConfigMap\nmetadata:\n  name: \"lumi\"\n"), "{text}");
        assert!(text.contains("data:\n  S3_BUCKET: \"b\"\n---\n"), "{text}");
        assert!(text.contains("type: Opaque\ndata:\n  MY_PASSWORD: \"cAo=\"\n"), "{text}");
    }

    #[test]
    fn no_secret_object_without_secrets() {
        let text = render(&secret_config(&[("S3_BUCKET", "b")]), "lumigator");
        assert!(!text.contains("Secret") && !text.contains("---"), "{text}");
        assert!(render(&secret_config(&[]), "x").contains("data: {}\n"));
    }

    #[test]
    fn names_are_dns_subdomains() {
        assert_eq!(invalid_name("lumigator"), None);
        assert_eq!(invalid_name("lumi.gator-2"), None);
        assert!(invalid_name("Lumigator").is_some() && invalid_name("-x").is_some() && invalid_name("").is_some());
        assert!(invalid_name("a_b").is_some() && invalid_name(&"a".repeat(254)).is_some());
    }
}
