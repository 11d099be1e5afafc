//! The env step every start runs before Compose, and `config-generate-env` runs alone: load and
//! check the configuration, create the key if needed, and write build/.env. Not a task itself, so
//! that the tasks that need it share it without importing one another.

use lumigator_conf::config::{Configuration, KeyAccess};
use lumigator_conf::key::KeyEvents;
use lumigator_conf::render::{render_env, render_env_for_terminal};
use lumigator_conf::{REDACTED, ResolvedConfig, clean as build_files};

use crate::context::Context;
use crate::error::TaskError;
use crate::runner::EnvVar;
use crate::signals;
use crate::ui::plural;

/// Tasks that do more than check print at most this many warnings; `config-check` prints all.
pub const MAX_WARNINGS_ON_START: usize = 20;

/// Reads a variable of our environment (what `${VAR}` falls back to).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Says what the key step changed.
pub fn report_key_events(ctx: &Context, events: &KeyEvents) {
    if let Some(mode) = events.repaired_dir_mode {
        ctx.ui.warning(format!("{} had mode {mode:o}, readable by others: set it to 700", ctx.user.dir.display()));
    }
    if let Some(mode) = events.repaired_key_mode {
        ctx.ui.warning(format!("{} had mode {mode:o}, readable by others: set it to 600", ctx.user.key_file.display()));
    }
    if let Some(mode) = events.unrepaired_dir_mode {
        ctx.ui.warning(format!(
            "{} is a link to a folder with mode {mode:o}, readable by others; modes are not changed through a link: \
             run `chmod 700` on the folder it points to",
            ctx.user.dir.display()
        ));
    }
    if let Some(mode) = events.unrepaired_key_mode {
        ctx.ui.warning(format!(
            "{} is a link to a file with mode {mode:o}, readable by others; modes are not changed through a link: \
             run `chmod 600` on the file it points to",
            ctx.user.key_file.display()
        ));
    }
    if events.created_key {
        ctx.ui.status(format!(
            "created a new secret key at {} (back it up: without it, secrets stored by Lumigator cannot be read)",
            ctx.user.key_file.display()
        ));
    }
}

/// A copy of `config` with every secret value replaced by [`REDACTED`].
pub fn redacted(config: &ResolvedConfig) -> ResolvedConfig {
    let mut copy = config.clone();
    for entry in copy.entries.iter_mut().filter(|e| e.secret) {
        entry.value = REDACTED.to_string();
    }
    copy
}

/// Clean, key, merge, resolve, check, write. `derive` adds values computed from the host before
/// writing. On any error nothing is written and `build/` is removed, so no stale copy of an older
/// configuration (or of the key) stays behind. With `--dry-run`, the file it would write is the
/// plan, on stdout, with secrets redacted.
pub fn generate_env(ctx: &Context, derive: impl FnOnce(&mut ResolvedConfig)) -> Result<Configuration, TaskError> {
    signals::defer_interruptions();
    if !ctx.dry_run {
        // A build/ that is a link (or build/.env one) is refused before anything is read or made,
        // and reported once, not again by the clean-up of a failed step.
        build_files::check(&ctx.project)?;
    }
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
        return Err(TaskError::unmet(
            format!("the configuration has {}: {} not written", plural(count, "error"), ctx.project.env_file.display()),
            "fix the lines named above (`cargo xtask config-check` checks without starting anything)",
        ));
    }
    derive(&mut config.resolved);
    if ctx.dry_run {
        let mut plan = String::new();
        if !config.has_key {
            plan.push_str(&format!("would create a new secret key at {}\n", ctx.user.key_file.display()));
        }
        plan.push_str(&format!("would write {} (mode 600), secrets redacted:\n", ctx.project.env_file.display()));
        plan.push_str(&render_env_for_terminal(&redacted(&config.resolved)));
        ctx.ui.out(plan);
        return Ok(config);
    }
    let written = build_files::write_env(&ctx.project, &render_env(&config.resolved));
    if let Err(err) = written {
        // A refused build/ (replaced by a link since the check) is left alone, not cleaned.
        if !matches!(err, lumigator_conf::Error::Refused { .. }) {
            discard_build(ctx);
        }
        return Err(err.into());
    }
    ctx.ui.status(format!(
        "wrote {} ({})",
        ctx.project.env_file.display(),
        plural(config.resolved.entries.len(), "setting")
    ));
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

/// Loads and checks the configuration for a process that gets it in its environment (`run`, the
/// test tasks with `--use-config`): the findings are printed as a start prints them, and errors
/// stop the task before anything runs. Nothing is written but, with
/// [`KeyAccess::CreateIfMissing`], the key.
pub fn load_checked(ctx: &Context, access: KeyAccess) -> Result<Configuration, TaskError> {
    let config = Configuration::load(&ctx.project, &ctx.user, access, &process_env)?;
    report_key_events(ctx, &config.key_events);
    ctx.ui.findings(&config.findings, MAX_WARNINGS_ON_START);
    if config.has_errors() {
        let count = config.findings.iter().filter(|f| f.is_error()).count();
        return Err(TaskError::unmet(
            format!("the configuration has {}", plural(count, "error")),
            "fix the lines named above (`cargo xtask config-check` checks without starting anything)",
        ));
    }
    Ok(config)
}

/// The resolved configuration as the environment of a child process, value for value, byte for
/// byte: no file, no second parse. Secret values (the key, passwords) are marked so that no echo
/// shows them.
pub fn child_env(resolved: &ResolvedConfig) -> Vec<EnvVar> {
    resolved
        .entries
        .iter()
        .map(|entry| EnvVar { name: entry.key.clone(), value: entry.value.clone(), secret: entry.secret })
        .collect()
}
