//! The configuration tasks: the key, build/.env, and showing and checking the configuration.

use lumigator_conf::config::{Configuration, KeyAccess};
use lumigator_conf::key;
use lumigator_conf::render::encode_value_for_terminal;
use lumigator_conf::{Origin, REDACTED};
use serde_json::json;

use crate::cli::{CheckArgs, Format, ShowArgs};
use crate::context::Context;
use crate::env_step::{self, MAX_WARNINGS_ON_START, process_env, redacted};
use crate::error::TaskError;
use crate::output;
use crate::signals;
use crate::ui::{plural, printable};

/// `config-generate-key`.
pub fn generate_key(ctx: &Context) -> Result<(), TaskError> {
    signals::defer_interruptions();
    if ctx.dry_run {
        let plan = match key::read(&ctx.user)? {
            Some(_) => format!("would keep the existing key {}\n", ctx.user.key_file.display()),
            None => format!("would create a new secret key at {}\n", ctx.user.key_file.display()),
        };
        ctx.ui.out(plan);
        return Ok(());
    }
    let (_, events) = key::ensure(&ctx.user)?;
    env_step::report_key_events(ctx, &events);
    if !events.created_key {
        ctx.ui.status(format!("secret key present: {}", ctx.user.key_file.display()));
    }
    signals::stop_if_interrupted()
}

/// `config-generate-env`.
pub fn generate_env(ctx: &Context) -> Result<(), TaskError> {
    let _lock = ctx.lock_project()?;
    env_step::generate_env(ctx, |_| {})?;
    // The file is complete either way; a signal that came meanwhile still ends the run as one.
    signals::stop_if_interrupted()
}

/// `config-clean`.
pub fn clean(ctx: &Context) -> Result<(), TaskError> {
    env_step::remove_build(ctx)
}

fn load_read_only(ctx: &Context) -> Result<Configuration, TaskError> {
    Ok(Configuration::load(&ctx.project, &ctx.user, KeyAccess::ReadOnly, &process_env)?)
}

/// A configuration that cannot be read at all (a malformed line, an unreadable file), as the one
/// error finding of `config-check --format json`, so that scripts read one shape.
fn unreadable_json(err: &lumigator_conf::Error) -> serde_json::Value {
    let location = match err {
        lumigator_conf::Error::Parse { location, .. } | lumigator_conf::Error::Interpolation { location, .. } => {
            Some(location)
        }
        _ => None,
    };
    json!({ "severity": "error", "location": location, "key": null, "message": err.to_string(), "help": err.help() })
}

/// `config-check`.
pub fn check(ctx: &Context, args: &CheckArgs) -> Result<(), TaskError> {
    let config = match load_read_only(ctx) {
        Ok(config) => config,
        Err(TaskError::Conf(err)) if args.format == Format::Json => {
            output::json(
                &ctx.ui,
                json!({ "ok": false, "errors": 1, "warnings": 0, "findings": [unreadable_json(&err)] }),
            );
            let err = TaskError::Conf(err);
            ctx.ui.error(&err);
            return Err(TaskError::Reported(err.exit_code()));
        }
        Err(err) => return Err(err),
    };
    let errors = config.findings.iter().filter(|f| f.is_error()).count();
    let warnings = config.findings.len() - errors;
    match args.format {
        Format::Json => {
            output::json(
                &ctx.ui,
                json!({ "ok": errors == 0, "errors": errors, "warnings": warnings, "findings": config.findings }),
            );
            return if errors == 0 { Ok(()) } else { Err(TaskError::Reported(1)) };
        }
        Format::Text => ctx.ui.findings(&config.findings, usize::MAX),
    }
    if errors > 0 {
        return Err(TaskError::unmet(
            format!("the configuration has {} and {}", plural(errors, "error"), plural(warnings, "warning")),
            "fix the lines named above",
        ));
    }
    ctx.ui.status(format!(
        "configuration OK ({}, {})",
        plural(config.resolved.entries.len(), "setting"),
        plural(warnings, "warning")
    ));
    Ok(())
}

/// `config-show`.
pub fn show(ctx: &Context, args: &ShowArgs) -> Result<(), TaskError> {
    let config = load_read_only(ctx)?;
    let shown = if args.reveal { config.resolved.clone() } else { redacted(&config.resolved) };
    let origin_text = |origin: &Origin| match origin {
        Origin::SecretKeyFile { path } if !config.has_key => {
            format!("secret key file {} (not created yet)", path.display())
        }
        other => other.to_string(),
    };
    match args.format {
        Format::Json => {
            let settings: Vec<_> = shown
                .entries
                .iter()
                .map(|e| {
                    let hidden = e.secret && !args.reveal;
                    json!({
                        "key": e.key,
                        "value": if hidden { None } else { Some(&e.value) },
                        "secret": e.secret,
                        "origin": e.origin,
                        "origin_text": origin_text(&e.origin),
                    })
                })
                .collect();
            output::json(&ctx.ui, json!({ "settings": settings, "findings": config.findings }));
        }
        Format::Text => {
            ctx.ui.findings(&config.findings, MAX_WARNINGS_ON_START);
            // Values and paths are printed with their control characters escaped: a value must not
            // be able to move the cursor or recolour the terminal (`\0ddd` reads back the same).
            let origins: Vec<String> = shown.entries.iter().map(|e| printable(&origin_text(&e.origin))).collect();
            let width = origins.iter().map(|o| o.chars().count()).max().unwrap_or(0);
            let mut table = String::new();
            for (entry, origin) in shown.entries.iter().zip(&origins) {
                let value = if entry.secret && !args.reveal {
                    REDACTED.to_string()
                } else {
                    encode_value_for_terminal(&entry.value)
                };
                table.push_str(&format!("{origin:<width$}  {}={value}\n", entry.key));
            }
            ctx.ui.out(table);
        }
    }
    Ok(())
}
