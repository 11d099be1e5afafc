//! The backend's secrets API (`/api/v1/settings/secrets/`) over HTTP, and its errors in the
//! user's terms.
//!
//! The HTTP client is our own small one ([`crate::http`]): blocking HTTP/1.1 over a TCP socket,
//! no TLS, no proxy, no redirects. The backend runs on this machine (`http://localhost:8000`), so
//! TLS would only add compile time; `https://` URLs are refused with a clear message instead.
//! Proxies from the environment are not used either: a key must go straight to the backend, never
//! through a proxy in plain text.

use std::time::Duration;

use crate::cli::secrets::{BackendArgs, DEFAULT_API_URL};
use crate::error::TaskError;
use crate::http::{self, Client, Url, UrlError};
use crate::tasks::secrets::value::SecretValue;
use crate::ui::printable;

/// The backend's secrets collection, below the API URL.
const SECRETS_PATH: &str = "/api/v1/settings/secrets/";

/// How long to wait for the backend to accept a connection: it is local, so a few seconds mean
/// it is not there (or a firewall drops the packets).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest answer read from the backend; a list of secrets is a few kilobytes.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// The backend's HTTP API.
pub struct Backend {
    /// The API URL without a trailing `/`, as shown in messages.
    pub base: String,
    client: Client,
}

/// A status and body the backend answered with.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, as text; empty when it could not be read whole, is longer than 1 MiB or is not
    /// UTF-8 (a cut or re-decoded answer could hold part of an echoed value that masking would not
    /// recognise).
    pub body: String,
}

/// Why a request did not get the answer it wanted.
pub enum RequestError {
    /// No answer: the connection failed or timed out.
    Transport(http::Error),
    /// An error status, with what the request was for.
    Status {
        /// What the request was for ("store openai_api_key").
        action: String,
        /// The answer.
        answer: Answer,
    },
}

impl Backend {
    /// A client for the backend at `--api-url`, which must be a plain `http://` URL (see
    /// [`check_api_url`]).
    pub fn new(args: &BackendArgs) -> Result<Self, TaskError> {
        let base = check_api_url(&args.api_url)?;
        let timeout = Duration::from_secs(args.timeout);
        // Statuses, redirects included, come back as answers to explain: a redirect would resend
        // the key somewhere else, so it is reported instead of followed.
        let client = Client { max_body: MAX_RESPONSE_BYTES, ..Client::new(CONNECT_TIMEOUT.min(timeout), timeout) };
        Ok(Backend { base, client })
    }

    /// The URL of the secrets collection.
    pub fn secrets_url(&self) -> String {
        format!("{}{SECRETS_PATH}", self.base)
    }

    /// The URL of one secret; `name` has passed the name check or is a provider's.
    pub fn secret_url(&self, name: &str) -> String {
        format!("{}{SECRETS_PATH}{name}", self.base)
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> Result<Answer, RequestError> {
        Self::answer(self.client.get(url))
    }

    /// `PUT url` with a JSON body.
    pub fn put(&self, url: &str, json_body: String) -> Result<Answer, RequestError> {
        Self::answer(self.client.put_json(url, &json_body))
    }

    /// `DELETE url`.
    pub fn delete(&self, url: &str) -> Result<Answer, RequestError> {
        Self::answer(self.client.delete(url))
    }

    fn answer(result: Result<http::Response, http::Error>) -> Result<Answer, RequestError> {
        let response = result.map_err(RequestError::Transport)?;
        // An unreadable body only costs the backend's explanation, never the status.
        let body = response.body.ok().and_then(|body| String::from_utf8(body).ok()).unwrap_or_default();
        Ok(Answer { status: response.status, body })
    }
}

impl Answer {
    /// This answer if its status says success, an error naming `action` otherwise.
    pub fn check(self, action: &str) -> Result<Answer, RequestError> {
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
    pub fn into_task_error(self, backend: &Backend, value: Option<&SecretValue>) -> TaskError {
        let base = &backend.base;
        match self {
            RequestError::Transport(err) => transport_error(&err, base, &backend.client),
            RequestError::Status { action, answer } => {
                let reason = http::reason_phrase(answer.status).map(|r| format!(" {r}")).unwrap_or_default();
                let detail = backend_message(&answer.body, value);
                let fix = (300..400)
                    .contains(&answer.status)
                    .then(|| "redirects are not followed: check --api-url".to_string());
                TaskError::Backend {
                    what: format!(
                        "cannot {action}: the backend at {base} answered HTTP {}{reason}: {detail}",
                        answer.status
                    ),
                    fix,
                }
            }
        }
    }
}

/// `--api-url` as the base of every request: `http://HOST[:PORT][/PATH]`, without the trailing `/`.
/// Refused, as a usage error: another scheme; a user name or password (it would be sent in clear
/// and printed in every message, so the message shows the URL with it masked); a `?query` or
/// `#fragment` (the request paths are appended to the URL: either would swallow them); a port
/// outside 1 to 65535; spaces or control characters.
pub fn check_api_url(raw: &str) -> Result<String, TaskError> {
    let base = raw.trim_end_matches('/');
    let shown = printable(&mask_user_info(base));
    let refuse = |why: &str| {
        TaskError::usage(format!("--api-url {shown}: {why}"), format!("give an http:// URL, such as {DEFAULT_API_URL}"))
    };
    let why = match Url::parse(base) {
        Ok(_) => return Ok(base.to_string()),
        Err(UrlError::Https) => {
            return Err(TaskError::usage(
                format!("--api-url {shown}: https is not supported (the backend runs locally over plain http)"),
                "use http://, or an SSH tunnel to a remote backend",
            ));
        }
        Err(UrlError::NotHttp) => "not an http:// URL",
        Err(UrlError::UserInfo) => {
            "a user name or password in the URL would be sent in clear text; the backend needs none"
        }
        Err(UrlError::QueryOrFragment) => "a `?query` or `#fragment` would swallow the API paths appended to the URL",
        Err(UrlError::SpaceOrControl) => "spaces and control characters are not allowed in it",
        Err(UrlError::UnclosedBracket) => "an IPv6 address needs its closing `]`",
        Err(UrlError::NoHost) => "no host",
        Err(UrlError::BadPort) => "the port must be a number from 1 to 65535",
        Err(UrlError::Unusable) => "not a usable URL",
    };
    Err(refuse(why))
}

/// `url` with anything between `://` and an `@` of its authority replaced by `***`.
fn mask_user_info(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

fn transport_error(err: &http::Error, base: &str, client: &Client) -> TaskError {
    let error = |what: String, fix: &str| TaskError::Backend { what, fix: Some(fix.to_string()) };
    match err {
        http::Error::Refused => error(
            format!("the Lumigator backend is not running at {base}"),
            "start it with `cargo xtask start-lumigator`",
        ),
        http::Error::ConnectTimeout => error(
            format!(
                "the Lumigator backend at {base} did not accept a connection within {} s",
                client.connect_timeout.as_secs()
            ),
            "is it running, and is --api-url right?",
        ),
        http::Error::Timeout => error(
            format!("the Lumigator backend at {base} did not answer within {} s", client.timeout.as_secs()),
            "it may still be starting (`cargo xtask local-logs` shows its logs); --timeout waits longer",
        ),
        http::Error::HostNotFound => error(format!("cannot find the host of {base}"), "check --api-url"),
        other => {
            TaskError::Backend { what: format!("cannot talk to the Lumigator backend at {base}: {other}"), fix: None }
        }
    }
}

/// What the backend said about an error, in its own words: FastAPI's `detail`, either a string
/// or a list of validation errors (`loc` and `msg` of each; never `input`, which may echo the
/// value). Anything else is shown as its first line. `value` is masked in every form it can take
/// (see [`SecretValue::mask_in`]): in the raw answer before it is parsed, in what is taken from it,
/// and after control characters are escaped; only then is the message cut to a readable length, so
/// a cut cannot leave part of a value unmasked.
pub fn backend_message(body: &str, value: Option<&SecretValue>) -> String {
    let mask = |text: &str| match value {
        Some(value) => value.mask_in(text),
        None => text.to_string(),
    };
    let body = mask(body);
    let message = match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(json) => match json.get("detail") {
            Some(serde_json::Value::String(detail)) => detail.clone(),
            Some(serde_json::Value::Array(entries)) => {
                entries.iter().map(validation_message).collect::<Vec<_>>().join("; ")
            }
            Some(other) => other.to_string(),
            None => first_line(&body),
        },
        Err(_) => first_line(&body),
    };
    let message = if message.trim().is_empty() { "no explanation given".to_string() } else { message };
    cut(&mask(&printable(&mask(&message))))
}

/// How many characters of the backend's message are shown.
const MESSAGE_CHARS: usize = 200;

fn cut(message: &str) -> String {
    match message.char_indices().nth(MESSAGE_CHARS) {
        Some((at, _)) => format!("{}...", &message[..at]),
        None => message.to_string(),
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
    body.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_long_echoed_value_is_masked_before_the_message_is_cut() {
        let long = format!("sk-{}", "a".repeat(500));
        let value = SecretValue::new(long.clone()).expect("valid");
        let shown = backend_message(&format!("error: {long}"), Some(&value));
        assert_eq!(shown, "error: ********");
        let padded = backend_message(&format!("{} {long}", "x".repeat(190)), Some(&value));
        assert!(!padded.contains("sk-") && !padded.contains("aaaa"), "{padded}");
    }

    #[test]
    fn a_value_is_masked_in_every_form_the_answer_can_hold() {
        let raw = "sk-\"quoted\"\\back/slash é\u{1b}[31m &=+ x";
        let value = SecretValue::new(raw.to_string()).expect("valid");
        let json_detail = serde_json::json!({ "detail": format!("bad {raw}") }).to_string();
        let nested = serde_json::json!({ "detail": { "value": raw } }).to_string();
        let ascii_json = json_detail.replace('é', "\\u00e9");
        let form_encoded: String = raw
            .bytes()
            .map(|b| match b {
                b' ' => "+".to_string(),
                b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => (b as char).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect();
        for body in [json_detail, nested, ascii_json, format!("bad value={form_encoded}"), format!("plain {raw}")] {
            let shown = backend_message(&body, Some(&value));
            for fragment in ["quoted", "back", "slash"] {
                assert!(!shown.contains(fragment), "{body:?} shows {shown:?}");
            }
        }
    }

    #[test]
    fn transport_failures_in_the_users_terms() {
        let client = Client::new(Duration::from_secs(5), Duration::from_secs(30));
        let shown = |err: http::Error| match transport_error(&err, "http://h:1", &client) {
            TaskError::Backend { what, fix } => format!("{what} / {}", fix.unwrap_or_default()),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            shown(http::Error::Refused),
            "the Lumigator backend is not running at http://h:1 / start it with `cargo xtask start-lumigator`"
        );
        assert_eq!(shown(http::Error::HostNotFound), "cannot find the host of http://h:1 / check --api-url");
        assert!(shown(http::Error::ConnectTimeout).contains("did not accept a connection within 5 s"));
        assert!(shown(http::Error::Timeout).contains("did not answer within 30 s"));
        assert!(shown(http::Error::Malformed("x")).starts_with("cannot talk to the Lumigator backend at http://h:1: "));
    }

    #[test]
    fn api_urls_are_plain_http_without_credentials_queries_or_bad_ports() {
        for good in ["http://localhost:8000", "http://localhost:8000/", "http://127.0.0.1", "http://[::1]:8000/base"] {
            assert!(check_api_url(good).is_ok(), "{good}");
        }
        let refused = |url: &str| match check_api_url(url) {
            Err(TaskError::Usage { what, .. }) => what,
            other => panic!("{url}: {other:?}"),
        };
        let with_password = refused("http://admin:hunter2@localhost:8000");
        assert!(!with_password.contains("hunter2") && with_password.contains("http://***@localhost:8000"));
        assert!(refused("http://localhost:8000/#x").contains("fragment"));
        assert!(refused("http://localhost:8000/?a=b").contains("query"));
        for port in ["99999", "0", "", "80a", "-1"] {
            assert!(refused(&format!("http://localhost:{port}")).contains("port"), "{port}");
        }
        assert!(refused("http://:8000").contains("no host"));
        assert!(refused("ftp://x").contains("not an http"));
        assert!(refused("http://[::1:8000").contains("closing `]`"));
        assert!(refused("http://local host:8000").contains("spaces"));
        assert!(refused("http://a:1:2").contains("not a usable URL"));
        assert!(refused("https://x").contains("https is not supported"));
    }
}
