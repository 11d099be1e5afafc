//! Provider API keys (OpenAI, DeepSeek, Mistral, Hugging Face), uploaded to the running backend,
//! which encrypts them with the secret key. They never belong in conf files.
//!
//! `secret-set`, `secret-list` and `secret-delete` talk to the backend's settings API
//! (`/api/v1/settings/secrets/`). The HTTP client is [`ureq`] with its default features off:
//! a small, widely used, blocking HTTP/1.1 client that needs no async runtime and, without TLS,
//! compiles in seconds. The backend runs on this machine (`http://localhost:8000`), so TLS would
//! only add compile time; `https://` URLs are refused with a clear message instead. Proxies from
//! the environment are not used either: a key must go straight to the backend, never through a
//! proxy in plain text. Values typed at a terminal are read without echo by [`rpassword`], since
//! turning echo off needs `termios`, which std does not offer and this workspace's
//! `unsafe_code = "forbid"` rules out calling directly.
//!
//! A value never appears in output, errors or logs: it lives in a [`SecretValue`], whose `Debug`
//! prints `********`, and any text of the backend's that is shown has it masked too.

use std::fmt;
use std::io::{IsTerminal, Read};
use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::cli::Format;
use crate::context::{Context, TaskError};
use crate::tasks::config::REDACTED;

/// Where the backend listens when Lumigator runs locally.
pub const DEFAULT_API_URL: &str = "http://localhost:8000";

/// The backend's secrets collection, below the API URL.
const SECRETS_PATH: &str = "/api/v1/settings/secrets/";

/// The backend accepts values of 1 to this many characters.
pub const MAX_VALUE_CHARS: usize = 1024;

/// How long to wait for the backend to accept a connection: it is local, so a few seconds mean
/// it is not there (or a firewall drops the packets).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest answer read from the backend; a list of secrets is a few kilobytes.
const MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// The secret tasks.
#[derive(Debug, Subcommand)]
pub enum SecretTask {
    /// Upload a provider API key to the running backend (value read from standard input)
    ///
    /// The value is read from standard input: typed without echo at a terminal, or piped
    /// (`printf %s "$KEY" | cargo xtask secret-set openai`; one line, its newline dropped). It must
    /// have 1 to 1024 characters. The backend stores it encrypted under `{provider}_api_key`,
    /// creating or replacing it. Values are never printed.
    #[command(name = "secret-set")]
    Set(SetArgs),
    /// List the secrets the backend holds (names and descriptions, never values)
    #[command(name = "secret-list")]
    List(ListArgs),
    /// Delete a secret from the backend
    #[command(name = "secret-delete")]
    Delete(DeleteArgs),
}

/// Where the backend is, for every secret task.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// The Lumigator backend's URL (http only)
    #[arg(long, value_name = "URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// Seconds to wait for the backend's answer
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// Arguments of `secret-set`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("secret").required(true).args(["provider", "name"])))]
pub struct SetArgs {
    /// Whose API key: stored as `{provider}_api_key`
    #[arg(value_enum)]
    pub provider: Option<Provider>,
    /// Store under this name instead (letters, digits, `_` and `-`)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Description stored with the secret [default: "<Provider> API key, set with cargo xtask secret-set"]
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// Arguments of `secret-list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format: a table, or JSON on stdout for scripts
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// Arguments of `secret-delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The secret's name, as `secret-list` shows it (e.g. openai_api_key)
    pub name: String,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// The providers whose API keys Lumigator's experiments use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Provider {
    /// DeepSeek
    #[value(name = "deepseek")]
    DeepSeek,
    /// Hugging Face
    #[value(name = "hf", alias = "huggingface")]
    HuggingFace,
    /// Mistral
    #[value(name = "mistral")]
    Mistral,
    /// OpenAI
    #[value(name = "openai")]
    OpenAi,
}

impl Provider {
    const ALL: [Provider; 4] = [Provider::DeepSeek, Provider::HuggingFace, Provider::Mistral, Provider::OpenAi];

    /// The name Lumigator looks the key up by: `{provider}_api_key`.
    pub fn secret_name(self) -> &'static str {
        match self {
            Provider::DeepSeek => "deepseek_api_key",
            Provider::HuggingFace => "hf_api_key",
            Provider::Mistral => "mistral_api_key",
            Provider::OpenAi => "openai_api_key",
        }
    }

    /// The provider's name as people write it.
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::DeepSeek => "DeepSeek",
            Provider::HuggingFace => "Hugging Face",
            Provider::Mistral => "Mistral",
            Provider::OpenAi => "OpenAI",
        }
    }

    /// The provider whose conventional secret name is `name`, if any.
    fn of_secret_name(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.secret_name() == name)
    }
}

/// A secret's value. It is only ever put into the request body; `Debug` hides it so that no
/// error or log can print it by accident, and there is deliberately no `Display`.
pub struct SecretValue(String);

impl SecretValue {
    /// Checks the backend's length rule (1 to 1024 characters) before anything is sent.
    pub fn new(value: String) -> Result<Self, String> {
        let chars = value.chars().count();
        if chars == 0 {
            return Err("the value is empty: give the API key on standard input".to_string());
        }
        if chars > MAX_VALUE_CHARS {
            return Err(format!(
                "the value has {chars} characters; the backend accepts 1 to {MAX_VALUE_CHARS}: nothing was sent"
            ));
        }
        Ok(SecretValue(value))
    }

    fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the value replaced by `********`, for text that came from
    /// elsewhere (the backend's messages) and is about to be shown.
    fn mask_in(&self, text: &str) -> String {
        text.replace(self.expose(), REDACTED)
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue({REDACTED})")
    }
}

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
            return Err(TaskError::Failed("give a provider (openai, deepseek, mistral, hf) or --name".into()));
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
    let value = read_value(&what)?;
    let url = backend.secret_url(&name);
    if ctx.dry_run {
        let body = json!({ "value": REDACTED, "description": description });
        ctx.ui.status(format!("dry run: would send PUT {url} with the JSON body {body}"));
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
        ctx.ui.status(format!("dry run: would send GET {url}"));
        return Ok(());
    }
    let response = backend
        .get(&url)
        .and_then(|answer| answer.check("list secrets"))
        .map_err(|err| err.into_task_error(&backend, None))?;
    let secrets: Vec<SecretSummary> = serde_json::from_str(&response.body).map_err(|err| {
        TaskError::Failed(format!(
            "the backend at {} answered the list of secrets with something else ({err}): is it Lumigator?",
            backend.base
        ))
    })?;
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&secrets)
                .map_err(|err| TaskError::Failed(format!("cannot write JSON: {err}")))?;
            println!("{text}");
        }
        Format::Text if secrets.is_empty() => {
            ctx.ui.status(format!("the backend at {} holds no secrets", backend.base));
        }
        Format::Text => print!("{}", render_table(&secrets)),
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

fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// `secret-delete`.
fn delete(ctx: &Context, args: &DeleteArgs) -> Result<(), TaskError> {
    check_name(&args.name)?;
    let backend = Backend::new(&args.backend)?;
    let url = backend.secret_url(&args.name);
    if ctx.dry_run {
        ctx.ui.status(format!("dry run: would send DELETE {url}"));
        return Ok(());
    }
    let name = &args.name;
    let answer = backend.delete(&url).map_err(|err| err.into_task_error(&backend, None))?;
    if answer.status == 404 {
        let detail = backend_message(&answer.body, None);
        return Err(TaskError::Failed(format!(
            "cannot delete {name}: the backend at {} has no secret by that name (HTTP 404: {detail}); \
             `cargo xtask secret-list` shows the names",
            backend.base
        )));
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
        Err(TaskError::Failed(format!(
            "{:?} is not a secret name: use 1 to 255 letters, digits, `_` and `-` (e.g. openai_api_key)",
            printable(name)
        )))
    }
}

/// Reads the value: without echo from a terminal, or one line from a pipe.
fn read_value(what: &str) -> Result<SecretValue, TaskError> {
    let stdin = std::io::stdin();
    let text = if stdin.is_terminal() {
        rpassword::prompt_password(format!("{what} (input hidden, Enter to finish): "))
            .map_err(|err| TaskError::Failed(format!("cannot read the value from the terminal: {err}")))?
    } else {
        read_piped_value(stdin.lock()).map_err(TaskError::Failed)?
    };
    SecretValue::new(text).map_err(TaskError::Failed)
}

/// The value piped on standard input: one line, its `\n` (or `\r\n`) dropped. More than one line
/// is refused rather than guessed at: it usually means a whole file was piped by mistake.
fn read_piped_value(input: impl Read) -> Result<String, String> {
    // Enough for 1024 four-byte characters and a CRLF, plus one byte to tell that there is more.
    let limit = MAX_VALUE_CHARS * 4 + 2;
    let mut bytes = Vec::with_capacity(256);
    input
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| format!("cannot read the value from standard input: {err}"))?;
    if bytes.len() > limit {
        return Err(format!(
            "standard input holds more than {MAX_VALUE_CHARS} characters; the backend accepts 1 to \
             {MAX_VALUE_CHARS}: nothing was sent"
        ));
    }
    let mut text = String::from_utf8(bytes).map_err(|_| "the value on standard input is not UTF-8 text".to_string())?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.contains('\n') {
        return Err("standard input holds more than one line: pipe only the API key, \
                    e.g. `printf %s \"$KEY\" | cargo xtask secret-set openai`"
            .to_string());
    }
    Ok(text)
}

/// The backend's HTTP API.
struct Backend {
    /// The API URL without a trailing `/`, as shown in messages.
    base: String,
    agent: ureq::Agent,
    timeout: Duration,
}

/// A status and body the backend answered with.
struct Answer {
    status: u16,
    body: String,
}

/// Why a request did not get the answer it wanted.
enum RequestError {
    /// No answer: the connection failed or timed out.
    Transport(ureq::Error),
    /// An error status, with what the request was for.
    Status { action: String, answer: Answer },
}

impl Backend {
    fn new(args: &BackendArgs) -> Result<Self, TaskError> {
        let base = args.api_url.trim_end_matches('/').to_string();
        let scheme_end = base.find("://").map(|i| base[..i].to_ascii_lowercase());
        match scheme_end.as_deref() {
            Some("http") => {}
            Some("https") => {
                return Err(TaskError::Failed(format!(
                    "--api-url {base}: https is not supported (the backend runs locally over plain http; \
                     use http://, or an SSH tunnel to a remote backend)"
                )));
            }
            _ => {
                return Err(TaskError::Failed(format!(
                    "--api-url {base}: give an http:// URL, such as {DEFAULT_API_URL}"
                )));
            }
        }
        let valid = ureq::http::Uri::try_from(base.as_str())
            .is_ok_and(|uri| uri.host().is_some_and(|h| !h.is_empty()) && uri.query().is_none());
        if !valid {
            return Err(TaskError::Failed(format!(
                "--api-url {base}: not a usable URL; give one such as {DEFAULT_API_URL}"
            )));
        }
        let timeout = Duration::from_secs(args.timeout);
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT.min(timeout)))
            .timeout_global(Some(timeout))
            // Statuses are answers to explain, not transport errors.
            .http_status_as_error(false)
            // A redirect would resend the key somewhere else: report it instead of following it.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .user_agent(concat!("lumigator-xtask/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Backend { base, agent, timeout })
    }

    fn secrets_url(&self) -> String {
        format!("{}{SECRETS_PATH}", self.base)
    }

    /// The URL of one secret; `name` has passed [`check_name`] or is a provider's.
    fn secret_url(&self, name: &str) -> String {
        format!("{}{SECRETS_PATH}{name}", self.base)
    }

    fn get(&self, url: &str) -> Result<Answer, RequestError> {
        Self::answer(self.agent.get(url).header("accept", "application/json").call())
    }

    fn put(&self, url: &str, json_body: String) -> Result<Answer, RequestError> {
        Self::answer(
            self.agent.put(url).header("accept", "application/json").content_type("application/json").send(json_body),
        )
    }

    fn delete(&self, url: &str) -> Result<Answer, RequestError> {
        Self::answer(self.agent.delete(url).header("accept", "application/json").call())
    }

    fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Answer, RequestError> {
        let mut response = result.map_err(RequestError::Transport)?;
        let status = response.status().as_u16();
        // An unreadable body only costs the backend's explanation, never the status.
        let body = response.body_mut().with_config().limit(MAX_RESPONSE_BYTES).read_to_string().unwrap_or_default();
        Ok(Answer { status, body })
    }
}

impl Answer {
    /// This answer if its status says success, an error naming `action` otherwise.
    fn check(self, action: &str) -> Result<Answer, RequestError> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(RequestError::Status { action: action.to_string(), answer: self })
        }
    }
}

impl RequestError {
    /// The error in the user's terms; `value`, when the request carried one, is masked in
    /// anything the backend said.
    fn into_task_error(self, backend: &Backend, value: Option<&SecretValue>) -> TaskError {
        let base = &backend.base;
        let message = match self {
            RequestError::Transport(err) => transport_message(&err, base, backend.timeout),
            RequestError::Status { action, answer } => {
                let reason = ureq::http::StatusCode::from_u16(answer.status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default();
                let detail = backend_message(&answer.body, value);
                let hint = if (300..400).contains(&answer.status) {
                    " (redirects are not followed: check --api-url)"
                } else {
                    ""
                };
                format!(
                    "cannot {action}: the backend at {base} answered HTTP {}{reason}: {detail}{hint}",
                    answer.status
                )
            }
        };
        TaskError::Failed(message)
    }
}

fn transport_message(err: &ureq::Error, base: &str, timeout: Duration) -> String {
    let not_running =
        || format!("the Lumigator backend is not running at {base}: start it with `cargo xtask start-lumigator`");
    match err {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => not_running(),
        ureq::Error::ConnectionFailed => not_running(),
        ureq::Error::Timeout(ureq::Timeout::Connect) => format!(
            "the Lumigator backend at {base} did not accept a connection within {} s: is it running, and is --api-url right?",
            CONNECT_TIMEOUT.min(timeout).as_secs()
        ),
        ureq::Error::Timeout(_) => format!(
            "the Lumigator backend at {base} did not answer within {} s: it may still be starting \
             (`cargo xtask local-logs` shows its logs); --timeout waits longer",
            timeout.as_secs()
        ),
        ureq::Error::HostNotFound => format!("cannot find the host of {base}: check --api-url"),
        other => format!("cannot talk to the Lumigator backend at {base}: {other}"),
    }
}

/// What the backend said about an error, in its own words: FastAPI's `detail`, either a string
/// or a list of validation errors (`loc` and `msg` of each; never `input`, which may echo the
/// value). Anything else is shown as its first line. `value` is masked throughout.
fn backend_message(body: &str, value: Option<&SecretValue>) -> String {
    let message = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(json) => match json.get("detail") {
            Some(serde_json::Value::String(detail)) => detail.clone(),
            Some(serde_json::Value::Array(entries)) => {
                entries.iter().map(validation_message).collect::<Vec<_>>().join("; ")
            }
            Some(other) => other.to_string(),
            None => first_line(body),
        },
        Err(_) => first_line(body),
    };
    let message = if message.trim().is_empty() { "no explanation given".to_string() } else { message };
    let message = printable(&message);
    match value {
        Some(value) => value.mask_in(&message),
        None => message,
    }
}

fn validation_message(entry: &serde_json::Value) -> String {
    let msg = entry.get("msg").and_then(|m| m.as_str()).unwrap_or("invalid");
    let loc: Vec<String> = entry
        .get("loc")
        .and_then(|l| l.as_array())
        .map(|parts| parts.iter().map(|p| p.as_str().map(str::to_string).unwrap_or_else(|| p.to_string())).collect())
        .unwrap_or_default();
    if loc.is_empty() { msg.to_string() } else { format!("{}: {msg}", loc.join(".")) }
}

fn first_line(body: &str) -> String {
    let line = body.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piped_value_drops_one_newline_and_its_carriage_return() {
        assert_eq!(read_piped_value(&b"abc\n"[..]).as_deref(), Ok("abc"));
        assert_eq!(read_piped_value(&b"abc\r\n"[..]).as_deref(), Ok("abc"));
        assert_eq!(read_piped_value(&b"abc"[..]).as_deref(), Ok("abc"));
        assert_eq!(read_piped_value(&b" a b \n"[..]).as_deref(), Ok(" a b "));
        assert!(read_piped_value(&b"abc\n\n"[..]).is_err());
        assert!(read_piped_value(&b"abc\ndef\n"[..]).is_err());
        assert!(read_piped_value(&[0xff, 0xfe][..]).is_err());
    }

    #[test]
    fn value_length_is_counted_in_characters() {
        assert!(SecretValue::new(String::new()).is_err());
        assert!(SecretValue::new("é".repeat(MAX_VALUE_CHARS)).is_ok());
        assert!(SecretValue::new("é".repeat(MAX_VALUE_CHARS + 1)).is_err());
    }

    #[test]
    fn debug_hides_the_value() {
        let value = SecretValue::new("sk-do-not-print".to_string()).expect("valid");
        assert_eq!(format!("{value:?}"), "SecretValue(********)");
    }

    #[test]
    fn backend_messages_use_detail_and_mask_the_value() {
        let value = SecretValue::new("sk-hidden".to_string()).expect("valid");
        assert_eq!(backend_message(r#"{"detail":"boom sk-hidden"}"#, Some(&value)), "boom ********");
        let validation = r#"{"detail":[{"loc":["body","value"],"msg":"too long","input":"sk-hidden"}]}"#;
        assert_eq!(backend_message(validation, Some(&value)), "body.value: too long");
        assert_eq!(backend_message("Internal Server Error\n", None), "Internal Server Error");
        assert_eq!(backend_message("", None), "no explanation given");
    }

    #[test]
    fn names_are_one_plain_path_segment() {
        assert!(check_name("openai_api_key").is_ok());
        assert!(check_name("my-key_2").is_ok());
        for bad in ["", "a/b", "..", "a b", "k?x=1", "é"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
