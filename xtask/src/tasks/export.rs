//! `config-export`: the resolved configuration written for another consumer (see
//! [`crate::export`] for the formats). Secrets are written only when asked for; everything left
//! out is named on stderr, and stdout carries only the export, so it can be piped or `eval`ed.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use lumigator_conf::config::KeyAccess;
use lumigator_conf::render::render_env;
use lumigator_conf::{ResolvedConfig, SECRET_KEY_VAR};
use rand::TryRng;

use crate::cli::{ExportArgs, ExportFormat};
use crate::context::Context;
use crate::env_step::{self, redacted};
use crate::error::TaskError;
use crate::export::{self, github_env, helm, json, k8s, sh};
use crate::signals;
use crate::ui::plural;

/// The ConfigMap's and Secret's name when `--name` is not given.
const DEFAULT_NAME: &str = "lumigator";

/// `config-export`.
pub fn run(ctx: &Context, args: &ExportArgs) -> Result<(), TaskError> {
    check_args(args)?;
    let config = env_step::load_checked(ctx, KeyAccess::ReadOnly)?;
    if args.with_secrets && !config.has_key {
        return Err(TaskError::unmet(
            format!(
                "there is no secret key yet ({}), so the export would give {SECRET_KEY_VAR} an empty value",
                ctx.user.key_file.display()
            ),
            "create it with `cargo xtask config-generate-key` (every start creates it too), then export again",
        ));
    }
    // A dry run shows the export with every secret masked, whatever was asked.
    let resolved = if ctx.dry_run { redacted(&config.resolved) } else { config.resolved.clone() };
    let (public, left_out) = export::without_secrets(&resolved);
    let chosen = if args.with_secrets { &resolved } else { &public };
    if !args.with_secrets && !left_out.is_empty() && args.format != ExportFormat::Helm {
        ctx.ui.warning(format!(
            "left out {}: {} (--with-secrets includes them)",
            plural(left_out.len(), "secret setting"),
            left_out.join(", ")
        ));
    }
    let text = match args.format {
        ExportFormat::Dotenv => render_env(chosen),
        ExportFormat::Sh => sh::render(chosen),
        ExportFormat::Json => json::render(chosen),
        ExportFormat::GithubEnv => github_env::render(chosen, &mut random_delimiter),
        ExportFormat::K8s => k8s::render(chosen, args.name.as_deref().unwrap_or(DEFAULT_NAME)),
        ExportFormat::Helm => {
            let options =
                helm::Options { with_secrets: args.with_secrets, existing_secret: args.existing_secret.as_deref() };
            let values = helm::render(&resolved, options);
            report_helm(ctx, &values, args.existing_secret.as_deref());
            values.text
        }
    };
    if args.mask {
        if ctx.dry_run {
            let secrets = chosen.entries.iter().filter(|e| e.secret).count();
            ctx.ui.out(format!("would print ::add-mask:: lines for {}\n", plural(secrets, "secret value")));
        } else {
            // Before the file exists: the runner hides the values from here on.
            ctx.ui.out(github_env::masks(chosen));
        }
    }
    match &args.output {
        None => ctx.ui.out(text),
        Some(path) if ctx.dry_run => {
            ctx.ui.out(format!("would write {} (mode 600), secrets redacted:\n{text}", path.display()))
        }
        Some(path) => write(ctx, path, &text, chosen)?,
    }
    Ok(())
}

/// Options that belong to one format, and `--mask`'s need of a file.
fn check_args(args: &ExportArgs) -> Result<(), TaskError> {
    let format = args.format;
    let only_for = |option: &str, wanted: &str| {
        TaskError::usage(
            format!("{option} applies only to --format {wanted}"),
            format!("drop {option}, or use --format {wanted}"),
        )
    };
    if args.name.is_some() && format != ExportFormat::K8s {
        return Err(only_for("--name", "k8s"));
    }
    if args.existing_secret.is_some() && format != ExportFormat::Helm {
        return Err(only_for("--existing-secret", "helm"));
    }
    if args.mask && format != ExportFormat::GithubEnv {
        return Err(only_for("--mask", "github-env"));
    }
    if args.mask && args.output.is_none() {
        return Err(TaskError::usage(
            "--mask prints ::add-mask:: commands on stdout, so the variables need a file of their own",
            "add --output \"$GITHUB_ENV\"",
        ));
    }
    for (option, name) in [("--name", &args.name), ("--existing-secret", &args.existing_secret)] {
        if let Some(name) = name
            && let Some(why) = k8s::invalid_name(name)
        {
            return Err(TaskError::usage(
                format!("{option} {name:?} cannot name a Kubernetes object: {why}"),
                "give a name such as lumigator or lumigator-config",
            ));
        }
    }
    Ok(())
}

/// What the Helm values leave out or refer to, on stderr.
fn report_helm(ctx: &Context, values: &helm::Values, existing_secret: Option<&str>) {
    if !values.unplaced.is_empty() {
        ctx.ui.status(format!(
            "not in the values: {} (Lumigator's chart takes no value for them)",
            values.unplaced.join(", ")
        ));
    }
    for (setting, host) in &values.local {
        ctx.ui.warning(format!(
            "left out {setting}: it points at the local stack ({host}), which a cluster cannot reach, so the \
             chart's default applies; set an address the cluster reaches in ~/.lumigator/user.conf, or in a \
             values file given after this one"
        ));
    }
    for (setting, path) in &values.referenced {
        if let Some(secret) = existing_secret {
            ctx.ui.status(format!("{path}: refers to key {setting} of Secret {secret}"));
        }
    }
    for left in &values.secrets_left_out {
        let why = match existing_secret {
            Some(_) => "the chart takes it only as a value, not from a Secret; --with-secrets writes it",
            None if left.referable => "--with-secrets writes it, --existing-secret NAME refers to a Secret instead",
            None => "--with-secrets writes it",
        };
        ctx.ui.warning(format!("left out secret {} ({}): {why}", left.setting, left.path));
    }
}

/// Writes the export to `path`, holding signals so the file is complete or absent.
fn write(ctx: &Context, path: &Path, text: &str, chosen: &ResolvedConfig) -> Result<(), TaskError> {
    signals::defer_interruptions();
    export::write_private(path, text)
        .map_err(|err| TaskError::Io { what: format!("cannot write {}", path.display()), reason: err.to_string() })?;
    ctx.ui.status(format!("wrote {} (mode 600, {})", path.display(), plural(chosen.entries.len(), "setting")));
    signals::stop_if_interrupted()
}

/// A heredoc delimiter for `$GITHUB_ENV`: 128 random bits from the operating system, and a
/// counter, so that drawing again always gives a new one even if the random source failed.
fn random_delimiter() -> String {
    static DRAWN: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    let _ = rand::rngs::SysRng.try_fill_bytes(&mut bytes);
    let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ghadelimiter_{random}_{}", DRAWN.fetch_add(1, Ordering::Relaxed))
}
