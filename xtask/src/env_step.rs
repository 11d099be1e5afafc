//! The env step every start runs before Compose, and `config-generate-env` runs alone: load and
//! check the configuration, create the key if needed, and write build/.env. Not a task itself, so
//! that the tasks that need it share it without importing one another.

use std::path::{Path, PathBuf};

use lumigator_conf::config::{Configuration, KeyAccess};
use lumigator_conf::key::KeyEvents;
use lumigator_conf::render::{render_env, render_env_for_terminal};
use lumigator_conf::{REDACTED, ResolvedConfig, clean as build_files};

use crate::context::Context;
use crate::error::TaskError;
use crate::private_dir::PrivateDir;
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
    let key_note = !config.has_key;
    write_env(ctx, &config.resolved, key_note)?;
    Ok(config)
}

/// Writes `resolved` to build/.env, or with `--dry-run` shows it (secrets redacted), with a note
/// that a key would be created when `key_note`.
fn write_env(ctx: &Context, resolved: &ResolvedConfig, key_note: bool) -> Result<(), TaskError> {
    if ctx.dry_run {
        let mut plan = String::new();
        if key_note {
            plan.push_str(&format!("would create a new secret key at {}\n", ctx.user.key_file.display()));
        }
        plan.push_str(&format!("would write {} (mode 600), secrets redacted:\n", ctx.project.env_file.display()));
        plan.push_str(&render_env_for_terminal(&redacted(resolved)));
        ctx.ui.out(plan);
        return Ok(());
    }
    let written = build_files::write_env(&ctx.project, &render_env(resolved));
    if let Err(err) = written {
        // A refused build/ (replaced by a link since the check) is left alone, not cleaned.
        if !matches!(err, lumigator_conf::Error::Refused { .. }) {
            discard_build(ctx);
        }
        return Err(err.into());
    }
    ctx.ui.status(format!("wrote {} ({})", ctx.project.env_file.display(), plural(resolved.entries.len(), "setting")));
    Ok(())
}

/// The configuration a stop task hands Compose. A stop never fails because of the
/// configuration: Compose only needs it to read the compose files (volume paths, image names,
/// ports), and finds the containers by the project's name. So, in order:
///
/// 1. the configuration, as a start resolves it but without the key (a stop does not need it,
///    and never creates one), written to build/.env;
/// 2. when it cannot be used (a malformed or unreadable user.conf, a value of the wrong type,
///    `~/.lumigator` not a folder), the build/.env the last start wrote, used as it is;
/// 3. when there is none, `.default.conf` alone, written to build/.env.
///
/// What is ignored is said on stderr. `derive` adds the host values (and says whether GPUs are
/// used) to the configuration that is used. Returns that configuration. Fails only when
/// `.default.conf` cannot be read either, or build/ cannot be written.
pub fn stop_env(
    ctx: &Context,
    task: &str,
    derive: impl FnOnce(&mut ResolvedConfig),
) -> Result<ResolvedConfig, TaskError> {
    signals::defer_interruptions();
    let ignored: Vec<String> = match Configuration::load(&ctx.project, &ctx.user, KeyAccess::Skip, &process_env) {
        Ok(mut config) if !config.has_errors() => {
            ctx.ui.findings(&config.findings, MAX_WARNINGS_ON_START);
            derive(&mut config.resolved);
            write_env(ctx, &config.resolved, false)?;
            return Ok(config.resolved);
        }
        Ok(config) => config.findings.iter().filter(|f| f.is_error()).map(ToString::to_string).collect(),
        Err(err) => vec![err.to_string()],
    };
    for what in &ignored {
        ctx.ui.warning(format!("{task} ignores the configuration, which it does not need: {what}"));
    }
    let left = &ctx.project.env_file;
    if left.is_file() {
        match Configuration::load_alone(left, &ctx.user.key_file, &process_env) {
            Ok(config) => {
                let mut resolved = config.resolved;
                // Only to know the GPU choice and the names to keep from Compose: the file itself
                // is used as the start wrote it.
                derive(&mut resolved);
                ctx.ui.warning(format!("{task} stops the stack with {}, as the last start wrote it", left.display()));
                if ctx.dry_run {
                    ctx.ui.out(format!("would use {} as it is\n", left.display()));
                }
                return Ok(resolved);
            }
            Err(err) => ctx.ui.warning(format!("{task} cannot use {} either: {err}", left.display())),
        }
    }
    let defaults = &ctx.project.default_conf;
    let config = match Configuration::load_alone(defaults, &ctx.user.key_file, &process_env) {
        Ok(config) => config,
        Err(err) => {
            discard_build(ctx);
            return Err(err.into());
        }
    };
    ctx.ui.warning(format!(
        "{task} stops the stack with the defaults of {} alone (no build/.env is left from a start)",
        defaults.display()
    ));
    let mut resolved = config.resolved;
    derive(&mut resolved);
    write_env(ctx, &resolved, false)?;
    Ok(resolved)
}

/// The configuration to hand Compose when nothing must be written (`local-logs` without a
/// build/.env): the configuration without the key, else `.default.conf` alone, with what was
/// ignored said on stderr.
pub fn usable_config(ctx: &Context, task: &str) -> Result<ResolvedConfig, TaskError> {
    let why = match Configuration::load(&ctx.project, &ctx.user, KeyAccess::Skip, &process_env) {
        Ok(config) if !config.has_errors() => return Ok(config.resolved),
        Ok(config) => config.findings.iter().filter(|f| f.is_error()).map(ToString::to_string).collect(),
        Err(err) => vec![err.to_string()],
    };
    for what in &why {
        ctx.ui.warning(format!("{task} ignores the configuration: {what}"));
    }
    Ok(Configuration::load_alone(&ctx.project.default_conf, &ctx.user.key_file, &process_env)?.resolved)
}

/// Removes build/ under the project's lock (`config-clean`, and `clean-all` after the Docker
/// steps); a dry run says so on stdout instead.
pub fn remove_build(ctx: &Context) -> Result<(), TaskError> {
    if ctx.dry_run {
        ctx.ui.out(format!("would remove {}\n", ctx.project.build_dir.display()));
        return Ok(());
    }
    let _lock = ctx.lock_project()?;
    build_files::clean(&ctx.project)?;
    ctx.ui.status(format!("removed {}", ctx.project.build_dir.display()));
    Ok(())
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

/// A private temporary env file (mode 600, alone in a private folder that is removed however the
/// task ends, signals included), removed when dropped: for the tasks that hand Compose the
/// configuration without writing build/ (`doctor`, `local-logs` when no start left a build/.env).
pub struct TempEnvFile {
    _dir: PrivateDir,
    path: PathBuf,
}

impl TempEnvFile {
    /// Writes `contents` to a new file in a new private folder named after `purpose`.
    pub fn create(purpose: &str, contents: &str) -> std::io::Result<Self> {
        let dir = PrivateDir::create(&format!("lumigator-{purpose}"))?;
        let path = dir.write_file(&format!("{purpose}.env"), contents)?;
        Ok(TempEnvFile { _dir: dir, path })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
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

/// The configuration's names that a child given [`child_env`] sees with another value than ours:
/// the variables of the caller's environment the configuration replaces (names only, for the
/// message that says so).
pub fn replaced_in_caller(resolved: &ResolvedConfig) -> Vec<String> {
    resolved
        .entries
        .iter()
        .filter(|entry| std::env::var_os(&entry.key).is_some_and(|ours| ours != *entry.value.as_str()))
        .map(|entry| entry.key.clone())
        .collect()
}
