//! `check::check` through the library: what `config-check` reports, with the file, line and key of
//! each finding, and never a secret value. The CLI counterparts are in `xtask/tests/config.rs`
//! (`config_check_reports_type_errors_with_file_line_and_key`, the "did you mean" warning) and
//! `xtask/tests/secrets.rs` (a provider key in user.conf).

use std::path::Path;

use lumigator_conf::check::{check, provider_of_api_key};
use lumigator_conf::config::KeyAccess;
use lumigator_conf::{ConfFile, Finding, Location, MergedConfig, ResolvedConfig, Severity};

use crate::support::{Sandbox, VALID_KEY, workspace_root};

/// The shipped defaults, with `user` as user.conf: every finding `check` makes.
fn findings(user: &str) -> Vec<Finding> {
    let defaults = ConfFile::read(&workspace_root().join(".default.conf")).expect("shipped defaults");
    let user = ConfFile::parse(Path::new("user.conf"), user.as_bytes()).expect("user.conf parses");
    let merged = MergedConfig::merge(&defaults, Some(&user), None, Path::new("lumigator.key"));
    let resolved =
        ResolvedConfig::resolve(&merged, &|name| (name == "HOME").then(|| "/home/me".to_string())).expect("resolves");
    check(&resolved, &defaults, Some(&user))
}

/// `path:line:col: [KEY: ]message` for user.conf findings, as an editor would jump to them.
fn shown(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(ToString::to_string).collect()
}

fn at(line: usize) -> Option<Location> {
    Some(Location::new(Path::new("user.conf"), line, 1))
}

#[test]
fn the_shipped_defaults_have_no_findings() {
    assert_eq!(findings(""), []);
}

#[test]
fn type_errors_name_the_file_line_and_key() {
    let found = findings(
        "# my settings\nRAY_DASHBOARD_PORT=abc\nRAY_WORKER_GPUS_FRACTION=x\nDEPLOYMENT_TYPE=prod\nGPU_COUNT=1.5\n",
    );
    assert!(found.iter().all(|f| f.severity == Severity::Error), "{found:#?}");
    let places: Vec<_> = found.iter().map(|f| (f.location.clone(), f.key.as_deref())).collect();
    assert_eq!(
        places,
        [
            (at(2), Some("RAY_DASHBOARD_PORT")),
            (at(3), Some("RAY_WORKER_GPUS_FRACTION")),
            (at(4), Some("DEPLOYMENT_TYPE")),
            (at(5), Some("GPU_COUNT")),
        ]
    );
    assert_eq!(
        shown(&found),
        [
            "user.conf:2:1: RAY_DASHBOARD_PORT: expected a whole number, got \"abc\"",
            "user.conf:3:1: RAY_WORKER_GPUS_FRACTION: expected a number, got \"x\"",
            "user.conf:4:1: DEPLOYMENT_TYPE: expected one of local, development, staging, production, got \"prod\"",
            "user.conf:5:1: GPU_COUNT: expected a whole number, got \"1.5\"",
        ]
    );
}

#[test]
fn no_finding_shows_a_secret_value() {
    let secrets = ["s3cr3t-minio-pass", "s3cr3t-aws-key", "s3cr3t-db-pass", "sk-s3cr3t-openai"];
    let user = format!(
        "MINIO_ROOT_PASSWORD={}\nAWS_SECRET_ACCESS_KEY={}\nMY_DB_PASSWORD={}\nOPENAI_API_KEY={}\n\
         MINIO_ROOT_PASSWORD={}\nRAY_HEAD_NODE_HOST=ray.example.com\n",
        secrets[0], secrets[1], secrets[2], secrets[3], secrets[0]
    );
    let found = findings(&user);
    // A repeated secret, an unknown secret-looking name, a provider key and an external Ray: all
    // reported, none with its value.
    assert_eq!(found.len(), 4, "{found:#?}");
    let shown = format!("{}\n{found:?}", shown(&found).join("\n"));
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret} is shown:\n{shown}");
    }
}

#[test]
fn a_value_taken_from_a_secret_is_not_shown_either() {
    // AWS_SECRET_ACCESS_KEY comes before RAY_DASHBOARD_PORT in the defaults, so it can be used.
    let found = findings("AWS_SECRET_ACCESS_KEY=s3cr3t-aws-key\nRAY_DASHBOARD_PORT=${AWS_SECRET_ACCESS_KEY}x\n");
    assert_eq!(shown(&found), ["user.conf:2:1: RAY_DASHBOARD_PORT: expected a whole number"]);
}

#[test]
fn unknown_user_keys_are_warnings_that_suggest_the_closest_name() {
    let found = findings("S3_BUCKT=typo\nray_dashboard_port=8265\nZETA_SETTING=1\n");
    assert!(found.iter().all(|f| f.severity == Severity::Warning), "{found:#?}");
    assert_eq!(
        shown(&found),
        [
            "user.conf:1:1: S3_BUCKT: not a known setting; did you mean S3_BUCKET?",
            "user.conf:2:1: ray_dashboard_port: not a known setting; did you mean RAY_DASHBOARD_PORT?",
            "user.conf:3:1: ZETA_SETTING: not a known setting: no default has it and Lumigator does not read it",
        ]
    );
}

#[test]
fn provider_api_keys_in_conf_files_are_errors() {
    let found = findings("OPENAI_API_KEY=sk-x\nhf_token=hf_x\nMistral_Api_Key=m\nDEEPSEEK_API_KEY=d\n");
    let summary: Vec<_> = found.iter().map(|f| (f.severity, f.location.clone(), f.key.as_deref())).collect();
    assert_eq!(
        summary,
        [
            (Severity::Error, at(1), Some("OPENAI_API_KEY")),
            (Severity::Error, at(2), Some("hf_token")),
            (Severity::Error, at(3), Some("Mistral_Api_Key")),
            (Severity::Error, at(4), Some("DEEPSEEK_API_KEY")),
        ],
        "one error each, and no 'unknown setting' warning on top"
    );
    for (finding, provider) in found.iter().zip(["openai", "hf", "mistral", "deepseek"]) {
        assert!(finding.message.contains(&format!("`cargo xtask secret-set {provider}`")), "{finding}");
    }
    assert_eq!(provider_of_api_key("HUGGING_FACE_HUB_TOKEN"), Some("hf"));
    assert_eq!(provider_of_api_key("ANTHROPIC_API_KEY"), None, "only the providers the backend stores");
    assert_eq!(provider_of_api_key("_API_KEY"), None);
}

#[test]
fn a_provider_key_in_the_defaults_is_an_error_too() {
    let sandbox = Sandbox::with_defaults(b"A=1\nOPENAI_API_KEY=sk-shipped-by-mistake\n");
    sandbox.key(VALID_KEY);
    let config = sandbox.load(KeyAccess::ReadOnly).expect("loads");
    let errors: Vec<_> = config.findings.iter().filter(|f| f.is_error()).map(ToString::to_string).collect();
    let defaults = sandbox.project().default_conf;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with(&format!("{}:2:1: OPENAI_API_KEY: ", defaults.display())), "{errors:?}");
    assert!(!errors[0].contains("sk-shipped-by-mistake"));
}

#[test]
fn an_external_ray_with_the_local_minio_is_a_warning() {
    let warning = |user: &str| {
        findings(user).into_iter().find(|f| f.key.as_deref() == Some("RAY_HEAD_NODE_HOST")).map(|f| f.to_string())
    };
    assert_eq!(
        warning("\nRAY_HEAD_NODE_HOST=ray.example.com\n").as_deref(),
        Some(
            "user.conf:2:1: RAY_HEAD_NODE_HOST: points at an external Ray cluster, but AWS_ENDPOINT_URL \
             (http://localhost:9000) is the local MinIO, which external Ray workers cannot reach: set \
             AWS_ENDPOINT_URL to S3 storage they can reach"
        )
    );
    for local in ["http://minio:9000", "http://127.0.0.1:9000/", "host.docker.internal:9000", "http://[::1]:9000"] {
        let user = format!("RAY_HEAD_NODE_HOST=ray.example.com\nAWS_ENDPOINT_URL={local}\n");
        assert!(warning(&user).is_some(), "{local} is the local MinIO");
    }
    assert_eq!(warning("RAY_HEAD_NODE_HOST=ray.example.com\nAWS_ENDPOINT_URL=https://s3.amazonaws.com\n"), None);
    assert_eq!(warning("RAY_HEAD_NODE_HOST=ray\n"), None, "the local Ray is fine");
}

#[test]
fn findings_come_in_file_order_with_the_merge_and_resolution_warnings() {
    let found =
        findings("S3_BUCKET=a\nRAY_DASHBOARD_PORT=abc\nS3_BUCKET=b\nX=$UNSET_SOMEWHERE\nLUMIGATOR_SECRET_KEY=mine\n");
    assert_eq!(
        shown(&found),
        [
            "user.conf:2:1: RAY_DASHBOARD_PORT: expected a whole number, got \"abc\"",
            "user.conf:3:1: S3_BUCKET: also set on line 1 of this file; this later line wins",
            // One line's findings: the resolution's first, then the checks'.
            "user.conf:4:3: X: UNSET_SOMEWHERE is not set, so it is empty here",
            "user.conf:4:1: X: not a known setting: no default has it and Lumigator does not read it",
            "user.conf:5:1: LUMIGATOR_SECRET_KEY: ignored: the secret key always comes from lumigator.key",
        ]
    );
}
