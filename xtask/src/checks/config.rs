//! The configuration, as `config-check` sees it, as rows of `doctor`.

use lumigator_conf::config::{Configuration, KeyAccess};
use lumigator_conf::{Error, Finding};

use crate::context::Context;
use crate::verdict::{Status, Verdict};

/// The configuration without the key: the key has its own row (an invalid key must not hide the
/// configuration's findings), and it must not reach the temporary env file doctor hands to Compose.
pub fn load_without_key(ctx: &Context) -> Result<Configuration, Error> {
    Configuration::load(&ctx.project, &ctx.user, KeyAccess::Skip, &|name| std::env::var(name).ok())
}

/// One verdict per finding, or one for a configuration with none, or one for a configuration that
/// cannot be read.
pub fn verdicts(loaded: &Result<Configuration, Error>) -> Vec<Verdict> {
    match loaded {
        Ok(config) if config.findings.is_empty() => {
            vec![Verdict::ok(format!("{} settings, no findings", config.resolved.entries.len()))]
        }
        Ok(config) => config.findings.iter().map(finding).collect(),
        Err(err) => vec![Verdict::problem(
            err.to_string(),
            err.help().unwrap_or_else(|| "fix the file it names, then run doctor again".to_string()),
        )],
    }
}

fn finding(finding: &Finding) -> Verdict {
    let status = if finding.is_error() { Status::Problem } else { Status::Warning };
    let fix = match &finding.location {
        Some(location) => format!(
            "edit line {} of {} (`cargo xtask config-check` explains each finding)",
            location.line,
            location.path.display()
        ),
        None => "`cargo xtask config-check` explains it".to_string(),
    };
    Verdict { status, detail: finding.to_string(), fix: Some(fix) }
}
