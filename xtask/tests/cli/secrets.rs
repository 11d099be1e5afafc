//! The secret tasks against a fake backend: a real HTTP/1.1 server on a loopback socket that
//! implements the three endpoints of Lumigator's settings API and records every request it gets.
//! Every test also checks that no value it used ever shows up in stdout or stderr.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::{Run, Sandbox};
use serde_json::{Value, json};

const SECRETS: &str = "/api/v1/settings/secrets/";

/// A made-up API key; it must never be printed.
const KEY: &str = "sk-test-4f9c0e7b1d2a8e6f";

/// One request the fake backend received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Received {
    method: String,
    path: String,
    body: String,
}

/// How the fake backend answers.
#[derive(Clone)]
pub(crate) enum Behaviour {
    /// Like Lumigator's backend.
    Lumigator,
    /// This status and JSON body to every request.
    Canned { status: u16, body: String },
    /// Accepts the connection and reads the request, but never answers.
    Silent,
}

/// A stored secret: the fake backend keeps the value so tests can check it arrived intact.
struct Stored {
    value: String,
    description: String,
}

struct State {
    behaviour: Behaviour,
    secrets: BTreeMap<String, Stored>,
    received: Vec<Received>,
}

/// The fake backend. It serves one connection at a time, stops when dropped, and in any case
/// after a minute or 64 connections, so a failing test cannot leave it running.
pub(crate) struct FakeBackend {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const SERVER_LIFETIME: Duration = Duration::from_secs(60);
const MAX_CONNECTIONS: usize = 64;

impl FakeBackend {
    pub(crate) fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let port = listener.local_addr().expect("local address").port();
        let state = Arc::new(Mutex::new(State { behaviour, secrets: BTreeMap::new(), received: Vec::new() }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::spawn(move || serve(listener, &state, &stop))
        };
        FakeBackend { port, state, stop, thread: Some(thread) }
    }

    fn lumigator() -> Self {
        Self::start(Behaviour::Lumigator)
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake backend state")
    }

    /// Stores a secret as if it had been uploaded earlier; its value is never sent back.
    fn holds(&self, name: &str, description: &str) -> &Self {
        let stored = Stored { value: format!("{KEY}-{name}"), description: description.to_string() };
        self.state().secrets.insert(name.to_string(), stored);
        self
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    fn stored(&self, name: &str) -> Option<(String, String)> {
        self.state().secrets.get(name).map(|s| (s.value.clone(), s.description.clone()))
    }

    /// Replaces `127.0.0.1:<port>` with a placeholder, for snapshots.
    fn redact(&self, text: &str) -> String {
        text.replace(&format!("127.0.0.1:{}", self.port), "127.0.0.1:[PORT]")
    }
}

impl Drop for FakeBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(listener: TcpListener, state: &Mutex<State>, stop: &AtomicBool) {
    let deadline = Instant::now() + SERVER_LIFETIME;
    let mut connections = 0;
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline && connections < MAX_CONNECTIONS {
        match listener.accept() {
            Ok((stream, _)) => {
                connections += 1;
                let _ = handle_connection(stream, state);
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => break,
        }
    }
}

/// Reads one request, records it and answers it; the connection is then closed.
fn handle_connection(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut content_length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; content_length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let received = Received { method, path, body: String::from_utf8_lossy(&body).into_owned() };

    let mut state = state.lock().expect("fake backend state");
    state.received.push(received.clone());
    let answer = match state.behaviour.clone() {
        Behaviour::Lumigator => Some(lumigator_answer(&mut state.secrets, &received)),
        Behaviour::Canned { status, body } => Some((status, body)),
        Behaviour::Silent => None,
    };
    drop(state);

    let mut stream = stream;
    match answer {
        Some((status, body)) => {
            let head = if status == 204 {
                format!("HTTP/1.1 {status} {}\r\nConnection: close\r\n\r\n", reason(status))
            } else {
                format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    reason(status),
                    body.len()
                )
            };
            stream.write_all(head.as_bytes())?;
            if status != 204 {
                stream.write_all(body.as_bytes())?;
            }
            stream.flush()?;
        }
        // Wait until the client gives up (or the read timeout ends it), answering nothing.
        None => while reader.read(&mut [0; 256]).unwrap_or(0) > 0 {},
    }
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        404 => "Not Found",
        405 => "Method Not Allowed",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        _ => "Whatever",
    }
}

/// FastAPI's answer to a body that fails validation; like FastAPI it echoes the `input`.
fn validation_error(field: &str, msg: &str, input: &Value) -> (u16, String) {
    let detail = json!([{ "type": "value_error", "loc": ["body", field], "msg": msg, "input": input }]);
    (422, json!({ "detail": detail }).to_string())
}

/// The three endpoints of the spec: list, upload (201 created / 204 replaced), delete (204 / 404).
fn lumigator_answer(secrets: &mut BTreeMap<String, Stored>, request: &Received) -> (u16, String) {
    let not_found = || (404, json!({ "detail": "Not Found" }).to_string());
    let Some(rest) = request.path.strip_prefix(SECRETS) else { return not_found() };
    match (request.method.as_str(), rest) {
        ("GET", "") => {
            let list: Vec<Value> = secrets
                .iter()
                .map(|(name, stored)| json!({ "name": name, "description": stored.description }))
                .collect();
            (200, Value::Array(list).to_string())
        }
        ("PUT", name) if !name.is_empty() && !name.contains('/') => {
            let Ok(upload) = serde_json::from_str::<Value>(&request.body) else {
                return validation_error("body", "JSON decode error", &Value::Null);
            };
            let Some(value) = upload.get("value").and_then(Value::as_str) else {
                return validation_error("value", "Field required", &upload);
            };
            let Some(description) = upload.get("description").and_then(Value::as_str) else {
                return validation_error("description", "Field required", &upload);
            };
            let chars = value.chars().count();
            if chars == 0 {
                return validation_error("value", "String should have at least 1 character", &json!(value));
            }
            if chars > 1024 {
                return validation_error("value", "String should have at most 1024 characters", &json!(value));
            }
            let stored = Stored { value: value.to_string(), description: description.to_string() };
            match secrets.insert(name.to_string(), stored) {
                None => (201, "null".to_string()),
                Some(_) => (204, String::new()),
            }
        }
        ("DELETE", name) if !name.is_empty() => match secrets.remove(name) {
            Some(_) => (204, String::new()),
            None => (404, json!({ "detail": format!("Secret {name} not found") }).to_string()),
        },
        ("GET" | "PUT" | "DELETE", _) => not_found(),
        _ => (405, json!({ "detail": "Method Not Allowed" }).to_string()),
    }
}

/// A port on which nothing listens: bound, then closed again.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local address").port()
}

/// Runs `cargo xtask <args>` with `input` on standard input, and checks that none of `hidden`
/// (the values the test used) appears in what it printed.
#[track_caller]
fn run(sandbox: &Sandbox, args: &[&str], input: impl AsRef<[u8]>, hidden: &[&str]) -> Run {
    let run = sandbox.run_with_stdin(args, input);
    for value in hidden.iter().filter(|v| !v.is_empty()) {
        assert!(!run.stdout.contains(value), "a value leaked to stdout:\n{}", run.transcript());
        assert!(!run.stderr.contains(value), "a value leaked to stderr:\n{}", run.transcript());
    }
    run
}

fn secret_url(name: &str) -> String {
    format!("{SECRETS}{name}")
}

fn body_of(request: &Received) -> Value {
    serde_json::from_str(&request.body).expect("a JSON body")
}

#[test]
fn set_uploads_the_piped_value_and_reports_created_then_replaced() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::lumigator();
    let url = backend.url();

    let created = run(&sandbox, &["secret-set", "openai", "--api-url", &url], format!("{KEY}\n"), &[KEY]);
    created.assert_ok();
    assert!(created.stderr.contains("created secret openai_api_key"), "{}", created.transcript());
    assert_eq!(created.stdout, "");

    let replaced = run(&sandbox, &["secret-set", "openai", "--api-url", &url], format!("{KEY}-2\r\n"), &[KEY]);
    replaced.assert_ok();
    assert!(replaced.stderr.contains("replaced secret openai_api_key"), "{}", replaced.transcript());

    let received = backend.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        (received[0].method.as_str(), received[0].path.as_str()),
        ("PUT", secret_url("openai_api_key").as_str())
    );
    assert_eq!(
        body_of(&received[0]),
        json!({ "value": KEY, "description": "OpenAI API key, set with cargo xtask secret-set" })
    );
    assert_eq!(body_of(&received[1])["value"], format!("{KEY}-2"));
    assert_eq!(backend.stored("openai_api_key").map(|(value, _)| value), Some(format!("{KEY}-2")));
}

#[test]
fn set_names_each_provider_by_the_convention() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::lumigator();
    let url = backend.url();
    for (provider, name, display) in [
        ("deepseek", "deepseek_api_key", "DeepSeek"),
        ("hf", "hf_api_key", "Hugging Face"),
        ("mistral", "mistral_api_key", "Mistral"),
        ("openai", "openai_api_key", "OpenAI"),
    ] {
        run(&sandbox, &["secret-set", provider, "--api-url", &url], KEY, &[KEY]).assert_ok();
        let (value, description) = backend.stored(name).expect("stored under {provider}_api_key");
        assert_eq!(value, KEY);
        assert_eq!(description, format!("{display} API key, set with cargo xtask secret-set"));
    }
}

#[test]
fn set_keeps_unicode_and_1024_character_values_intact() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::lumigator();
    let url = backend.url();
    let unicode = "clé-🔑-ключ-鍵-\u{301}\t \"quoted\" \\back";
    let longest = format!("{KEY}{}", "é".repeat(1024 - KEY.len()));
    assert_eq!(longest.chars().count(), 1024);

    for (name, value) in [("unicode", unicode), ("longest", longest.as_str())] {
        let args = ["secret-set", "--name", name, "--api-url", &url];
        run(&sandbox, &args, format!("{value}\r\n"), &[value]).assert_ok();
        assert_eq!(backend.stored(name).map(|(v, _)| v).as_deref(), Some(value), "{name} arrived changed");
    }
}

#[test]
fn set_refuses_empty_too_long_and_multi_line_values_before_any_request() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::lumigator();
    let url = backend.url();
    let too_long = format!("{KEY}{}", "é".repeat(1025 - KEY.len()));
    let far_too_long = format!("{KEY}{}", "x".repeat(10_000));
    let two_lines = format!("{KEY}\n{KEY}\n");
    let cases: [(&str, &[u8], &str); 6] = [
        ("empty", b"", "the value is empty"),
        ("just a newline", b"\n", "the value is empty"),
        ("1025 characters", too_long.as_bytes(), "the value has 1025 characters; the backend accepts 1 to 1024"),
        ("10,000 bytes", far_too_long.as_bytes(), "more than 1024 characters"),
        ("two lines", two_lines.as_bytes(), "more than one line"),
        ("not UTF-8", &[b's', b'k', 0xff, 0xfe, b'\n'], "not UTF-8"),
    ];
    for (case, input, expected) in cases {
        let hidden = [KEY, too_long.as_str(), &too_long[..too_long.len() - 2], far_too_long.as_str()];
        let run = run(&sandbox, &["secret-set", "openai", "--api-url", &url], input, &hidden);
        run.assert_failed();
        assert!(run.stderr.contains(expected), "{case}: {}", run.transcript());
    }
    assert_eq!(backend.received(), [], "the backend must see no request");
}

#[test]
fn set_with_name_and_description() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::lumigator();
    let url = backend.url();

    let args =
        ["secret-set", "--name", "mistral_api_key", "--description", "team key (rotates monthly)", "--api-url", &url];
    let run_named = run(&sandbox, &args, KEY, &[KEY]);
    run_named.assert_ok();
    assert!(!run_named.stderr.contains("warning"), "a conventional name: {}", run_named.transcript());
    assert_eq!(backend.stored("mistral_api_key"), Some((KEY.to_string(), "team key (rotates monthly)".to_string())));

    // A name outside the convention is stored, with a warning that experiments will not find it.
    let custom = run(&sandbox, &["secret-set", "--name", "my-llm_token", "--api-url", &url], KEY, &[KEY]);
    custom.assert_ok();
    assert!(custom.stderr.contains("warning: my-llm_token is not one of the names"), "{}", custom.transcript());
    assert_eq!(
        backend.stored("my-llm_token"),
        Some((KEY.to_string(), "API key, set with cargo xtask secret-set".to_string()))
    );

    // Names go into the URL: anything but one plain path segment is refused before a request.
    let before = backend.received().len();
    for bad in ["../settings", "a b", "name?x=1"] {
        let refused = run(&sandbox, &["secret-set", "--name", bad, "--api-url", &url], KEY, &[KEY]);
        refused.assert_failed();
        assert!(refused.stderr.contains("is not a secret name"), "{}", refused.transcript());
    }
    // A provider and --name together are ambiguous.
    run(&sandbox, &["secret-set", "openai", "--name", "x", "--api-url", &url], KEY, &[KEY]).assert_failed();
    assert_eq!(backend.received().len(), before);
}

#[test]
fn list_as_a_table_and_as_json() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::lumigator();
    backend
        .holds("openai_api_key", "OpenAI API key, set with cargo xtask secret-set")
        .holds("hf_api_key", "Hugging Face API key")
        .holds("my_custom_secret_name", "")
        .holds("mistral_api_key", "shown safely: \u{1b}[31mred\u{1b}[0m\nsecond line");
    let url = backend.url();
    let values: Vec<String> = ["openai_api_key", "hf_api_key", "my_custom_secret_name", "mistral_api_key"]
        .iter()
        .map(|name| format!("{KEY}-{name}"))
        .collect();
    let hidden: Vec<&str> = values.iter().map(String::as_str).chain([KEY]).collect();

    let table = run(&sandbox, &["secret-list", "--api-url", &url], "", &hidden);
    table.assert_ok();
    assert!(!table.stdout.contains('\u{1b}'), "control characters escaped:\n{}", table.stdout);
    insta::assert_snapshot!("list_table", backend.redact(&table.transcript()));

    let json_run = run(&sandbox, &["secret-list", "--format", "json", "--api-url", &url], "", &hidden);
    json_run.assert_ok();
    let parsed: Value = serde_json::from_str(&json_run.stdout).expect("stdout is JSON");
    assert_eq!(parsed["schema"], 1);
    assert_eq!(parsed["secrets"].as_array().map(Vec::len), Some(4));
    assert_eq!(json_run.stderr, "", "nothing but JSON, on stdout");
    insta::assert_snapshot!("list_json", backend.redact(&json_run.stdout));

    let received = backend.received();
    assert!(received.iter().all(|r| r.method == "GET" && r.path == SECRETS && r.body.is_empty()), "{received:?}");
}

#[test]
fn list_of_nothing() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::lumigator();
    let url = backend.url();
    let table = run(&sandbox, &["secret-list", "--api-url", &url], "", &[KEY]);
    table.assert_ok();
    assert_eq!(table.stdout, "");
    assert!(table.stderr.contains("holds no secrets"), "{}", table.transcript());
    let json_run = run(&sandbox, &["secret-list", "--format", "json", "--api-url", &url], "", &[KEY]);
    json_run.assert_ok();
    assert_eq!(json_run.stdout, "{\n  \"schema\": 1,\n  \"secrets\": []\n}\n");
}

#[test]
fn delete_known_and_unknown() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::lumigator();
    backend.holds("openai_api_key", "OpenAI API key");
    let url = backend.url();
    let stored = format!("{KEY}-openai_api_key");

    let deleted = run(&sandbox, &["secret-delete", "openai_api_key", "--api-url", &url], "", &[&stored]);
    deleted.assert_ok();
    assert!(deleted.stderr.contains("deleted secret openai_api_key"), "{}", deleted.transcript());
    assert_eq!(backend.stored("openai_api_key"), None);

    let unknown = run(&sandbox, &["secret-delete", "openai_api_key", "--api-url", &url], "", &[&stored]);
    unknown.assert_failed();
    assert!(unknown.stderr.contains("has no secret by that name (HTTP 404"), "{}", unknown.transcript());
    assert!(
        unknown.stderr.contains("Secret openai_api_key not found"),
        "the backend's words: {}",
        unknown.transcript()
    );
    insta::assert_snapshot!("delete_unknown", backend.redact(&unknown.transcript()));

    let received = backend.received();
    let requests: Vec<(&str, &str)> = received.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    let path = secret_url("openai_api_key");
    assert_eq!(requests, [("DELETE", path.as_str()), ("DELETE", path.as_str())]);
}

#[test]
fn backend_not_running() {
    let sandbox = Sandbox::new();
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut transcripts = String::new();
    for (args, input) in
        [(vec!["secret-set", "openai"], KEY), (vec!["secret-list"], ""), (vec!["secret-delete", "openai_api_key"], "")]
    {
        let args: Vec<&str> = args.into_iter().chain(["--api-url", &url]).collect();
        let run = run(&sandbox, &args, input, &[KEY]);
        run.assert_failed();
        let expected = format!(
            "error: the Lumigator backend is not running at {url}\nhelp: start it with `cargo xtask start-lumigator`"
        );
        assert!(run.stderr.contains(&expected), "{}", run.transcript());
        transcripts.push_str(&run.transcript());
    }
    insta::assert_snapshot!(transcripts.replace(&port.to_string(), "[PORT]"));
}

#[test]
fn backend_that_does_not_answer_times_out() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::start(Behaviour::Silent);
    let url = backend.url();
    let started = Instant::now();
    let run = run(&sandbox, &["secret-set", "openai", "--timeout", "1", "--api-url", &url], KEY, &[KEY]);
    run.assert_failed();
    assert!(started.elapsed() < Duration::from_secs(10), "gave up in time");
    assert!(run.stderr.contains("did not answer within 1 s"), "{}", run.transcript());
    assert_eq!(backend.received().len(), 1);
}

#[test]
fn backend_errors_show_the_backends_message() {
    let sandbox = Sandbox::new();
    let mut transcripts = String::new();

    // A 500 with FastAPI's `detail` string.
    let failing = FakeBackend::start(Behaviour::Canned {
        status: 500,
        body: json!({ "detail": "Secret encryption failed: check LUMIGATOR_SECRET_KEY" }).to_string(),
    });
    let run_500 = run(&sandbox, &["secret-set", "openai", "--api-url", &failing.url()], KEY, &[KEY]);
    run_500.assert_failed();
    assert!(
        run_500.stderr.contains("HTTP 500 Internal Server Error: Secret encryption failed"),
        "{}",
        run_500.transcript()
    );
    transcripts.push_str(&failing.redact(&run_500.transcript()));

    // A 422 whose detail entries echo the value back as `input`, as FastAPI does: only `loc`
    // and `msg` are shown, and the value never.
    let (status, body) = validation_error("value", "String should match pattern '^sk-'", &json!(KEY));
    assert!(body.contains(KEY), "the canned answer does echo the value");
    let refusing = FakeBackend::start(Behaviour::Canned { status, body });
    let run_422 = run(&sandbox, &["secret-set", "openai", "--api-url", &refusing.url()], KEY, &[KEY]);
    run_422.assert_failed();
    assert!(
        run_422.stderr.contains("HTTP 422 Unprocessable Entity: body.value: String should match pattern"),
        "{}",
        run_422.transcript()
    );
    transcripts.push_str(&refusing.redact(&run_422.transcript()));

    // A detail string that quotes the value is masked.
    let quoting = FakeBackend::start(Behaviour::Canned {
        status: 500,
        body: json!({ "detail": format!("could not store {KEY}") }).to_string(),
    });
    let run_quoting = run(&sandbox, &["secret-set", "openai", "--api-url", &quoting.url()], KEY, &[KEY]);
    run_quoting.assert_failed();
    assert!(run_quoting.stderr.contains("could not store ********"), "{}", run_quoting.transcript());
    transcripts.push_str(&quoting.redact(&run_quoting.transcript()));

    // A list answered with a plain-text 500.
    let plain = FakeBackend::start(Behaviour::Canned { status: 500, body: "Internal Server Error".into() });
    let run_list = run(&sandbox, &["secret-list", "--api-url", &plain.url()], "", &[KEY]);
    run_list.assert_failed();
    transcripts.push_str(&plain.redact(&run_list.transcript()));

    insta::assert_snapshot!(transcripts);
}

#[test]
fn dry_run_sends_nothing_and_redacts_the_value() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::lumigator();
    backend.holds("hf_api_key", "Hugging Face API key");
    let url = backend.url();
    let mut transcripts = String::new();
    for (args, input) in [
        (vec!["--dry-run", "secret-set", "openai", "--description", "mine"], KEY),
        (vec!["secret-list", "--dry-run"], ""),
        (vec!["secret-delete", "hf_api_key", "--dry-run"], ""),
    ] {
        let args: Vec<&str> = args.into_iter().chain(["--api-url", &url]).collect();
        let run = run(&sandbox, &args, input, &[KEY]);
        run.assert_ok();
        transcripts.push_str(&run.transcript());
    }
    assert!(transcripts.contains(r#""value":"********""#), "{transcripts}");
    assert_eq!(backend.received(), [], "a dry run sends nothing");
    assert!(backend.stored("hf_api_key").is_some());
    insta::assert_snapshot!(backend.redact(&transcripts));

    // The value is still checked, so a dry run tells whether the real run would be refused.
    let empty = run(&sandbox, &["--dry-run", "secret-set", "openai", "--api-url", &url], "", &[KEY]);
    empty.assert_failed();
}

#[test]
fn api_url_must_be_plain_http() {
    let sandbox = Sandbox::new();
    let https = run(&sandbox, &["secret-list", "--api-url", "https://lumigator.example"], "", &[KEY]);
    https.assert_failed();
    assert!(https.stderr.contains("https is not supported"), "{}", https.transcript());
    let bare = run(&sandbox, &["secret-set", "openai", "--api-url", "localhost:8000"], KEY, &[KEY]);
    bare.assert_failed();
    assert!(bare.stderr.contains("give an http:// URL"), "{}", bare.transcript());
}

/// Each way of writing a provider key in a conf file, and the provider `secret-set` takes.
const CONF_FILE_KEYS: [(&str, &str); 5] = [
    ("OPENAI_API_KEY", "openai"),
    ("openai_api_key", "openai"),
    ("HF_TOKEN", "hf"),
    ("MISTRAL_API_KEY", "mistral"),
    ("DEEPSEEK_API_KEY", "deepseek"),
];

#[test]
fn provider_keys_in_user_conf_are_errors_with_file_and_line() {
    for (key, provider) in CONF_FILE_KEYS {
        let sandbox = Sandbox::new();
        sandbox.user_conf(format!("# my settings\nS3_BUCKET=my-bucket\n{key}={KEY}\n"));
        let location = format!("{}:3:", sandbox.user_dir().join("user.conf").display());
        let advice = format!("`cargo xtask secret-set {provider}`");

        let check = run(&sandbox, &["config-check"], "", &[KEY]);
        check.assert_failed();
        assert!(check.stderr.contains(&location), "{key}: file and line: {}", check.transcript());
        assert!(check.stderr.contains(&format!("{key}: API keys must not be stored in conf files")), "{key}");
        assert!(check.stderr.contains(&advice), "{key}: {}", check.transcript());

        let check_json = run(&sandbox, &["config-check", "--format", "json"], "", &[KEY]);
        check_json.assert_failed();

        let generate = run(&sandbox, &["config-generate-env"], "", &[KEY]);
        generate.assert_failed();
        assert!(generate.stderr.contains(&location), "{key}: {}", generate.transcript());
        assert!(!sandbox.env_file().exists(), "{key}: build/.env must not be written");

        let dry = run(&sandbox, &["--dry-run", "config-generate-env"], "", &[KEY]);
        dry.assert_failed();

        if key == "OPENAI_API_KEY" {
            insta::assert_snapshot!("provider_key_in_user_conf", sandbox.redact(&check.transcript()));
        }
    }
}
