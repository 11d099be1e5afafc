//! Provider API keys (OpenAI, DeepSeek, Mistral, Hugging Face), uploaded to the running backend,
//! which encrypts them with the secret key. They never belong in conf files.
//!
//! `secret-set`, `secret-list` and `secret-delete` talk to the backend's settings API through
//! [`backend`]. Values typed at a terminal are read without echo by rpassword ([`input`]), since
//! turning echo off needs `termios`, which std does not offer and this workspace's
//! `unsafe_code = "forbid"` rules out calling directly.
//!
//! A value never appears in output, errors or logs: it lives in a [`value::SecretValue`], whose
//! `Debug` prints `********`, and any text of the backend's that is shown has it masked too.

pub mod backend;
pub mod input;
pub mod value;

use lumigator_conf::REDACTED;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::cli::Format;
use crate::cli::secrets::{DeleteArgs, ListArgs, Provider, SecretTask, SetArgs};
use crate::context::Context;
use crate::error::TaskError;
use crate::output;
use crate::ui::printable;
use backend::{Backend, backend_message};

/// Runs a secret task.
pub fn run(ctx: &Context, task: &SecretTask) -> Result<(), TaskError> {
    match task {
        SecretTask::Set(args) => set(ctx, args),
        SecretTask::List(args) => list(ctx, args),
        SecretTask::Delete(args) => delete(ctx, args),
    }
}

/// `secret-set`.
fn set(ctx: &Context, args: &SetArgs) -> Result<(), TaskError> {
    let (name, provider) = match (&args.name, args.provider) {
        (Some(name), _) => {
            check_name(name)?;
            let provider = Provider::of_secret_name(name);
            if provider.is_none() {
                ctx.ui.warning(format!(
                    "{name} is not one of the names Lumigator looks API keys up by ({}): experiments will not find it",
                    Provider::ALL.map(Provider::secret_name).join(", ")
                ));
            }
            (name.clone(), provider)
        }
        (None, Some(provider)) => (provider.secret_name().to_string(), Some(provider)),
        // clap requires one of the two.
        (None, None) => {
            return Err(TaskError::usage(
                "no secret named",
                "give a provider (openai, deepseek, mistral, hf) or --name",
            ));
        }
    };
    let description = match (&args.description, provider) {
        (Some(description), _) => description.clone(),
        (None, Some(provider)) => format!("{} API key, set with cargo xtask secret-set", provider.display_name()),
        (None, None) => "API key, set with cargo xtask secret-set".to_string(),
    };
    let backend = Backend::new(&args.backend)?;
    let what = match provider {
        Some(provider) => format!("{} API key", provider.display_name()),
        None => format!("value of {name}"),
    };
    let value = input::read_value(&what)?;
    let url = backend.secret_url(&name);
    if ctx.dry_run {
        let body = json!({ "value": REDACTED, "description": description });
        ctx.ui.out(format!("would send PUT {url} with the JSON body {body}\n"));
        return Ok(());
    }
    let body = json!({ "value": value.expose(), "description": description });
    let response = backend
        .put(&url, body.to_string())
        .and_then(|answer| answer.check(&format!("store {name}")))
        .map_err(|err| err.into_task_error(&backend, Some(&value)))?;
    let verb = match response.status {
        201 => "created",
        204 => "replaced",
        _ => "stored",
    };
    ctx.ui.status(format!("{verb} secret {name} on the backend at {}", backend.base));
    Ok(())
}

/// One entry of the backend's list: never a value.
#[derive(Debug, Deserialize, Serialize)]
struct SecretSummary {
    name: String,
    #[serde(default)]
    description: String,
}

/// `secret-list`.
fn list(ctx: &Context, args: &ListArgs) -> Result<(), TaskError> {
    let backend = Backend::new(&args.backend)?;
    let url = backend.secrets_url();
    if ctx.dry_run {
        ctx.ui.out(format!("would send GET {url}\n"));
        return Ok(());
    }
    let response = backend
        .get(&url)
        .and_then(|answer| answer.check("list secrets"))
        .map_err(|err| err.into_task_error(&backend, None))?;
    let secrets: Vec<SecretSummary> = serde_json::from_str(&response.body).map_err(|err| TaskError::Backend {
        what: format!("the backend at {} answered the list of secrets with something else ({err})", backend.base),
        fix: Some("check that --api-url points at Lumigator's backend".into()),
    })?;
    match args.format {
        Format::Json => output::json(&ctx.ui, json!({ "secrets": secrets })),
        Format::Text if secrets.is_empty() => {
            ctx.ui.status(format!("the backend at {} holds no secrets", backend.base));
        }
        Format::Text => ctx.ui.out(render_table(&secrets)),
    }
    Ok(())
}

/// Names and descriptions in two aligned columns, control characters escaped so that a
/// description cannot move the cursor or change the terminal's colours.
fn render_table(secrets: &[SecretSummary]) -> String {
    let rows: Vec<(String, String)> = secrets.iter().map(|s| (printable(&s.name), printable(&s.description))).collect();
    let width = rows.iter().map(|(name, _)| name.chars().count()).chain([4]).max().unwrap_or(4);
    let mut table = format!("{:<width$}  DESCRIPTION\n", "NAME");
    for (name, description) in rows {
        let line = format!("{name:<width$}  {description}");
        table.push_str(line.trim_end());
        table.push('\n');
    }
    table
}

/// `secret-delete`.
fn delete(ctx: &Context, args: &DeleteArgs) -> Result<(), TaskError> {
    check_name(&args.name)?;
    let backend = Backend::new(&args.backend)?;
    let url = backend.secret_url(&args.name);
    if ctx.dry_run {
        ctx.ui.out(format!("would send DELETE {url}\n"));
        return Ok(());
    }
    let name = &args.name;
    let answer = backend.delete(&url).map_err(|err| err.into_task_error(&backend, None))?;
    if answer.status == 404 {
        let detail = backend_message(&answer.body, None);
        return Err(TaskError::Backend {
            what: format!(
                "cannot delete {name}: the backend at {} has no secret by that name (HTTP 404: {detail})",
                backend.base
            ),
            fix: Some("`cargo xtask secret-list` shows the names".into()),
        });
    }
    answer.check(&format!("delete {name}")).map_err(|err| err.into_task_error(&backend, None))?;
    ctx.ui.status(format!("deleted secret {name} from the backend at {}", backend.base));
    Ok(())
}

/// Secret names go into the URL's path: letters, digits, `_` and `-` keep it one plain segment.
fn check_name(name: &str) -> Result<(), TaskError> {
    let valid = !name.is_empty()
        && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(TaskError::usage(
            format!("{:?} is not a secret name", printable(name)),
            "use 1 to 255 letters, digits, `_` and `-` (e.g. openai_api_key)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_plain_path_segment() {
        assert!(check_name("openai_api_key").is_ok());
        assert!(check_name("my-key_2").is_ok());
        for bad in ["", "a/b", "..", "a b", "k?x=1", "é"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
