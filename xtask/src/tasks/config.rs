//! The configuration tasks: the key, build/.env, and showing and checking the configuration.

use lumigator_conf::config::{Configuration, KeyAccess};
use lumigator_conf::key::{self, KeyEvents};
use lumigator_conf::render::{encode_value, render_env};
use lumigator_conf::{Error, Origin, ResolvedConfig, clean as build_files};
use serde_json::json;

use crate::cli::{CheckArgs, Format, ShowArgs};
use crate::context::{Context, TaskError};

/// Tasks that do more than check print at most this many warnings; `config-check` prints all.
const MAX_WARNINGS_ON_START: usize = 20;

/// Shown instead of a secret value.
pub const REDACTED: &str = "********";

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `config-generate-key`.
pub fn generate_key(ctx: &Context) -> Result<(), TaskError> {
    crate::process::defer_interruptions();
    if ctx.dry_run {
        match key::read(&ctx.user)? {
            Some(_) => ctx.ui.status(format!("would keep the existing key {}", ctx.user.key_file.display())),
            None => ctx.ui.status(format!("would create a new secret key at {}", ctx.user.key_file.display())),
        }
        return Ok(());
    }
    let (_, events) = key::ensure(&ctx.user)?;
    report_key_events(ctx, &events);
    if !events.created_key {
        ctx.ui.status(format!("secret key present: {}", ctx.user.key_file.display()));
    }
    crate::process::stop_if_interrupted()
}

fn report_key_events(ctx: &Context, events: &KeyEvents) {
    if let Some(mode) = events.repaired_dir_mode {
        ctx.ui.warning(format!("{} had mode {mode:o}, readable by others: set it to 700", ctx.user.dir.display()));
    }
    if let Some(mode) = events.repaired_key_mode {
        ctx.ui.warning(format!("{} had mode {mode:o}, readable by others: set it to 600", ctx.user.key_file.display()));
    }
    if events.created_key {
        ctx.ui.status(format!(
            "created a new secret key at {} (back it up: without it, secrets stored by Lumigator cannot be read)",
            ctx.user.key_file.display()
        ));
    }
}

/// `config-generate-env`: clean, key, merge, resolve, check, write. `derive` adds values computed
/// from the host before writing. On any error nothing is written and `build/` is removed, so no
/// stale copy of an older configuration (or of the key) stays behind.
pub fn generate_env_with(ctx: &Context, derive: impl FnOnce(&mut ResolvedConfig)) -> Result<Configuration, TaskError> {
    crate::process::defer_interruptions();
    let access = if ctx.dry_run { KeyAccess::ReadOnly } else { KeyAccess::CreateIfMissing };
    let loaded = Configuration::load(&ctx.project, &ctx.user, access, &process_env);
    let mut config = match loaded {
        Ok(config) => config,
        Err(err) => {
            discard_build(ctx);
            return Err(err.into());
        }
    };
    report_key_events(ctx, &config.key_events);
    ctx.ui.findings(&config.findings, MAX_WARNINGS_ON_START);
    if config.has_errors() {
        discard_build(ctx);
        let count = config.findings.iter().filter(|f| f.is_error()).count();
        ctx.ui.error(format!("the configuration has {count} error(s): {} not written", ctx.project.env_file.display()));
        return Err(TaskError::Reported(1));
    }
    derive(&mut config.resolved);
    if ctx.dry_run {
        if !config.has_key {
            ctx.ui.status(format!("would create a new secret key at {}", ctx.user.key_file.display()));
        }
        ctx.ui.status(format!("would write {} (mode 600), secrets redacted:", ctx.project.env_file.display()));
        eprint!("{}", render_env(&redacted(&config.resolved)));
        return Ok(config);
    }
    let written = build_files::write_env(&ctx.project, &render_env(&config.resolved));
    if let Err(err) = written {
        discard_build(ctx);
        return Err(err.into());
    }
    ctx.ui.status(format!("wrote {} ({} settings)", ctx.project.env_file.display(), config.resolved.entries.len()));
    Ok(config)
}

/// `config-generate-env` as a task.
pub fn generate_env(ctx: &Context) -> Result<Configuration, TaskError> {
    let _lock = ctx.lock_project()?;
    let config = generate_env_with(ctx, |_| {})?;
    // The file is complete either way; a signal that came meanwhile still ends the run as one.
    crate::process::stop_if_interrupted()?;
    Ok(config)
}

fn discard_build(ctx: &Context) {
    if ctx.dry_run {
        return;
    }
    if let Err(err) = build_files::clean(&ctx.project) {
        ctx.ui.warning(err);
    }
}

/// `config-clean`.
pub fn clean(ctx: &Context) -> Result<(), TaskError> {
    if ctx.dry_run {
        ctx.ui.status(format!("would remove {}", ctx.project.build_dir.display()));
        return Ok(());
    }
    let _lock = ctx.lock_project()?;
    build_files::clean(&ctx.project)?;
    ctx.ui.status(format!("removed {}", ctx.project.build_dir.display()));
    Ok(())
}

/// A copy of `config` with every secret value replaced by [`REDACTED`].
pub fn redacted(config: &ResolvedConfig) -> ResolvedConfig {
    let mut copy = config.clone();
    for entry in copy.entries.iter_mut().filter(|e| e.secret) {
        entry.value = REDACTED.to_string();
    }
    copy
}

fn load_read_only(ctx: &Context) -> Result<Configuration, Error> {
    Configuration::load(&ctx.project, &ctx.user, KeyAccess::ReadOnly, &process_env)
}

/// `config-check`.
pub fn check(ctx: &Context, args: &CheckArgs) -> Result<(), TaskError> {
    let config = load_read_only(ctx)?;
    let errors = config.findings.iter().filter(|f| f.is_error()).count();
    let warnings = config.findings.len() - errors;
    match args.format {
        Format::Json => {
            let report =
                json!({ "ok": errors == 0, "errors": errors, "warnings": warnings, "findings": config.findings });
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
        }
        Format::Text => {
            ctx.ui.findings(&config.findings, usize::MAX);
            if errors == 0 {
                ctx.ui.status(format!(
                    "configuration OK ({} settings, {warnings} warning(s))",
                    config.resolved.entries.len()
                ));
            } else {
                ctx.ui.error(format!("the configuration has {errors} error(s) and {warnings} warning(s)"));
            }
        }
    }
    if errors == 0 { Ok(()) } else { Err(TaskError::Reported(1)) }
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
            let report = json!({ "settings": settings, "findings": config.findings });
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
        }
        Format::Text => {
            ctx.ui.findings(&config.findings, MAX_WARNINGS_ON_START);
            let origins: Vec<String> = shown.entries.iter().map(|e| origin_text(&e.origin)).collect();
            let width = origins.iter().map(|o| o.chars().count()).max().unwrap_or(0);
            for (entry, origin) in shown.entries.iter().zip(&origins) {
                let value =
                    if entry.secret && !args.reveal { REDACTED.to_string() } else { encode_value(&entry.value) };
                println!("{origin:<width$}  {}={value}", entry.key);
            }
        }
    }
    Ok(())
}
