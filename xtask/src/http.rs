//! A small blocking HTTP/1.1 client over `std::net::TcpStream`, for the few requests the tasks
//! send to Lumigator's backend on this machine: the secret tasks' three calls and the start's
//! health check.
//!
//! What it does: `http://` URLs (parsed here, see [`Url::parse`]); one request per connection
//! (`Connection: close`) with a method, the path, `Host`, `User-Agent: lumigator-xtask/<version>`,
//! `Accept: application/json` and an optional JSON body with its `Content-Length`; the answer's
//! status line and headers, and its body by `Transfer-Encoding: chunked`, by `Content-Length`, or
//! up to the end of the connection, never more than [`Client::max_body`] bytes. Each address of the
//! host gets [`Client::connect_timeout`] to accept the connection, and the whole request, from the
//! name lookup to the body's last byte, must end within [`Client::timeout`] (enforced with read
//! and write timeouts on the socket).
//!
//! What it deliberately does not do: TLS (the backend is local; callers refuse `https://`),
//! proxies (a key must go straight to the backend, never through a proxy in plain text),
//! redirects (a 3xx is an answer like any other: following one would resend a key somewhere
//! else), keep-alive, compression, cookies. It replaced ureq, whose stack (ureq-proto, http, bytes,
//! httparse, percent-encoding, utf8-zero, log) cost about 4 s of CPU in the first build of
//! `cargo xtask` for these few local requests.
//!
//! Imports nothing of the crate.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest body read by default: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The longest status line and headers, all together.
const MAX_HEAD_BYTES: usize = 64 << 10;

/// The longest line of a chunked body's framing (a chunk's size and extensions).
const MAX_CHUNK_LINE_BYTES: usize = 4 << 10;

/// How many interim (1xx) answers are skipped before the final one.
const MAX_INTERIM_ANSWERS: usize = 8;

const USER_AGENT: &str = concat!("lumigator-xtask/", env!("CARGO_PKG_VERSION"));

/// An `http://` URL: where to connect and what to ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// The host as written, without an IPv6 address's brackets.
    pub host: String,
    /// The port, 80 when not written.
    pub port: u16,
    /// The path, `/` when empty.
    pub path: String,
    /// The authority as written (`localhost:8000`, `[::1]`), for the `Host` header.
    authority: String,
}

/// Why a text is not a usable `http://` URL; checked in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlError {
    /// No `scheme://`, or a scheme other than http and https.
    NotHttp,
    /// `https://`: there is no TLS here.
    Https,
    /// A user name or password (`user:password@`) before the host.
    UserInfo,
    /// A `?query` or a `#fragment`.
    QueryOrFragment,
    /// A space or a control character anywhere.
    SpaceOrControl,
    /// An IPv6 address without its closing `]`.
    UnclosedBracket,
    /// Nothing where the host should be.
    NoHost,
    /// A port that is not a number from 1 to 65535.
    BadPort,
    /// Anything else: a character a host or a path cannot hold, an IPv6 address that is not one.
    Unusable,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::NotHttp => "not an http:// URL",
            UrlError::Https => "https is not supported",
            UrlError::UserInfo => "a user name or password in the URL",
            UrlError::QueryOrFragment => "a query or fragment in the URL",
            UrlError::SpaceOrControl => "a space or control character in the URL",
            UrlError::UnclosedBracket => "an IPv6 address without its closing `]`",
            UrlError::NoHost => "no host",
            UrlError::BadPort => "a port outside 1 to 65535",
            UrlError::Unusable => "not a usable URL",
        })
    }
}

impl Url {
    /// Parses `http://HOST[:PORT][/PATH]`. The host is a name, an IPv4 address, or an IPv6
    /// address in brackets; the path may hold what an HTTP request line can carry (printable
    /// ASCII but `<`, `>` and `` ` ``, and UTF-8).
    pub fn parse(raw: &str) -> Result<Url, UrlError> {
        let Some((scheme, rest)) = raw.split_once("://") else { return Err(UrlError::NotHttp) };
        match scheme.to_ascii_lowercase().as_str() {
            "http" => {}
            "https" => return Err(UrlError::Https),
            _ => return Err(UrlError::NotHttp),
        }
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        if rest.contains(['?', '#']) {
            return Err(UrlError::QueryOrFragment);
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::SpaceOrControl);
        }
        // The host ends at the port's `:`, except inside an IPv6 address's brackets.
        let (host, after_host, bracketed) = match authority.strip_prefix('[') {
            Some(bracketed) => match bracketed.split_once(']') {
                Some((address, after)) => (address, after, true),
                None => return Err(UrlError::UnclosedBracket),
            },
            None => match authority.rsplit_once(':') {
                Some((host, _)) => (host, &authority[host.len()..], false),
                None => (authority, "", false),
            },
        };
        let port = after_host.strip_prefix(':');
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        let port = match port {
            Some(port) => {
                let digits = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
                match port.parse::<u16>() {
                    Ok(port) if digits && port != 0 => port,
                    _ => return Err(UrlError::BadPort),
                }
            }
            None if after_host.is_empty() => 80,
            // `[::1]x`: something other than a port after the address.
            None => return Err(UrlError::Unusable),
        };
        let host_ok = if bracketed { host.parse::<Ipv6Addr>().is_ok() } else { host.bytes().all(is_host_byte) };
        if !host_ok || !path.bytes().all(is_path_byte) {
            return Err(UrlError::Unusable);
        }
        let path = if path.is_empty() { "/".to_string() } else { path.to_string() };
        Ok(Url { host: host.to_string(), port, path, authority: authority.to_string() })
    }
}

/// A byte of a host name (RFC 3986's unreserved and sub-delims, no `%`-escapes).
fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b)
}

/// A byte a path may hold as is (what HTTP clients send unescaped, UTF-8 included).
fn is_path_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x7e | 0x80..=0xff) && !b"<>`".contains(&b)
}

/// The request methods used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// Why a request got no answer, or its body could not be read.
#[derive(Debug)]
pub enum Error {
    /// The URL is not one this client can use.
    Url(UrlError),
    /// The host's name does not resolve to an address.
    HostNotFound,
    /// Every address of the host refused the connection: nothing listens there.
    Refused,
    /// No address accepted the connection within the connect timeout.
    ConnectTimeout,
    /// Connected, but the answer did not come, or did not end, within the timeout.
    Timeout,
    /// Another failure of the connection.
    Io(io::Error),
    /// The answer is not HTTP/1.x as this client reads it; what is wrong with it.
    Malformed(&'static str),
    /// The body is longer than [`Client::max_body`].
    TooLarge,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(err) => write!(f, "unusable URL ({err})"),
            Error::HostNotFound => f.write_str("host not found"),
            Error::Refused => f.write_str("connection refused"),
            Error::ConnectTimeout => f.write_str("no connection within the connect timeout"),
            Error::Timeout => f.write_str("no complete answer within the timeout"),
            Error::Io(err) => write!(f, "{err}"),
            Error::Malformed(what) => write!(f, "malformed answer ({what})"),
            Error::TooLarge => f.write_str("the answer's body is longer than the limit"),
        }
    }
}

/// A read or write failure: a timeout when the socket's timeout (set to what is left of the
/// deadline) ran out.
fn from_io(err: io::Error) -> Error {
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout,
        _ => Error::Io(err),
    }
}

/// An answer: its status, and its body or why the body could not be read (the status stands
/// either way).
#[derive(Debug)]
pub struct Response {
    /// The HTTP status (interim 1xx answers are skipped).
    pub status: u16,
    /// The body, decoded from its framing.
    pub body: Result<Vec<u8>, Error>,
}

/// What the requests may take.
#[derive(Clone, Debug)]
pub struct Client {
    /// How long each address of the host gets to accept the connection (the name lookup too).
    pub connect_timeout: Duration,
    /// How long a whole request may take, from the name lookup to the body's last byte.
    pub timeout: Duration,
    /// The longest body read; a longer one is [`Error::TooLarge`].
    pub max_body: usize,
}

impl Client {
    /// A client with these timeouts and a body of at most [`MAX_BODY_BYTES`].
    pub fn new(connect_timeout: Duration, timeout: Duration) -> Self {
        Client { connect_timeout, timeout, max_body: MAX_BODY_BYTES }
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> Result<Response, Error> {
        self.request(Method::Get, url, None)
    }

    /// `PUT url` with a JSON body.
    pub fn put_json(&self, url: &str, json_body: &str) -> Result<Response, Error> {
        self.request(Method::Put, url, Some(json_body))
    }

    /// `DELETE url`.
    pub fn delete(&self, url: &str) -> Result<Response, Error> {
        self.request(Method::Delete, url, None)
    }

    /// Sends one request on a new connection and reads the answer.
    pub fn request(&self, method: Method, url: &str, json_body: Option<&str>) -> Result<Response, Error> {
        let url = Url::parse(url).map_err(Error::Url)?;
        let deadline = Instant::now() + self.timeout;
        let stream = connect(&url, self.connect_timeout, deadline)?;
        let mut conn = Deadlined { stream, deadline };
        conn.write_all(&request_bytes(method, &url, json_body)).map_err(from_io)?;
        conn.flush().map_err(from_io)?;
        let mut reader = BufReader::new(conn);
        let (status, framing) = read_head(&mut reader)?;
        let body = read_body(&mut reader, framing, self.max_body);
        Ok(Response { status, body })
    }
}

/// The request's head and body, in one buffer.
fn request_bytes(method: Method, url: &Url, json_body: Option<&str>) -> Vec<u8> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\nAccept: application/json\r\nConnection: close\r\n",
        method.as_str(),
        url.path,
        url.authority
    );
    if let Some(body) = json_body {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(json_body.unwrap_or_default().as_bytes());
    bytes
}

/// What is left before `deadline`, or a timeout.
fn left(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() { Err(io::ErrorKind::TimedOut.into()) } else { Ok(left) }
}

/// The host's addresses; the lookup runs in a thread so that a hanging resolver cannot hold the
/// request past the connect timeout.
fn resolve(url: &Url, limit: Duration) -> Result<Vec<SocketAddr>, Error> {
    if let Ok(ip) = url.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, url.port)]);
    }
    let (sender, receiver) = mpsc::channel();
    let target = (url.host.clone(), url.port);
    std::thread::spawn(move || {
        let found = target.to_socket_addrs().map(Iterator::collect::<Vec<_>>);
        let _ = sender.send(found);
    });
    match receiver.recv_timeout(limit) {
        Ok(Ok(addresses)) if !addresses.is_empty() => Ok(addresses),
        Ok(_) => Err(Error::HostNotFound),
        Err(_) => Err(Error::ConnectTimeout),
    }
}

/// A connection to the first address of the host that accepts one; when none does, the last
/// address's failure.
fn connect(url: &Url, connect_timeout: Duration, deadline: Instant) -> Result<TcpStream, Error> {
    let limit = || left(deadline).map(|left| left.min(connect_timeout)).map_err(|_| Error::ConnectTimeout);
    let mut failure = Error::HostNotFound;
    for address in resolve(url, limit()?)? {
        match TcpStream::connect_timeout(&address, limit()?) {
            Ok(stream) => return Ok(stream),
            Err(err) => {
                failure = match err.kind() {
                    io::ErrorKind::ConnectionRefused => Error::Refused,
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::ConnectTimeout,
                    _ => Error::Io(err),
                }
            }
        }
    }
    Err(failure)
}

/// The connection, each read and write given what is left of the deadline as its timeout.
struct Deadlined {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(left(self.deadline)?))?;
        self.stream.read(buf)
    }
}

impl Write for Deadlined {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(left(self.deadline)?))?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// One line, without its `\n` or `\r\n`, taken from `budget` bytes; `eof` says what an end of
/// the connection before the line ends means.
fn read_line(reader: &mut impl BufRead, budget: &mut usize, eof: &'static str) -> Result<Vec<u8>, Error> {
    let mut line = Vec::new();
    reader.take(*budget as u64 + 1).read_until(b'\n', &mut line).map_err(from_io)?;
    if line.last() != Some(&b'\n') {
        return Err(Error::Malformed(if line.len() > *budget { "a line of the answer is too long" } else { eof }));
    }
    *budget -= line.len();
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

/// How the body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// No body (204, 304).
    Empty,
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length`.
    Length(u64),
    /// Up to the end of the connection.
    ToEnd,
}

/// The final answer's status and how its body is delimited, after any interim (1xx) answers.
fn read_head(reader: &mut impl BufRead) -> Result<(u16, Framing), Error> {
    let mut budget = MAX_HEAD_BYTES;
    for _ in 0..MAX_INTERIM_ANSWERS {
        let status_line = read_line(reader, &mut budget, "the connection closed without an answer")?;
        let status = parse_status_line(&status_line)?;
        let mut transfer_encoding: Option<String> = None;
        let mut lengths = Vec::new();
        loop {
            let line = read_line(reader, &mut budget, "the connection closed in the middle of the headers")?;
            if line.is_empty() {
                break;
            }
            let (name, value) = parse_header(&line)?;
            if name.eq_ignore_ascii_case(b"transfer-encoding") {
                let value = String::from_utf8_lossy(value).to_ascii_lowercase();
                transfer_encoding = Some(match transfer_encoding {
                    Some(earlier) => format!("{earlier},{value}"),
                    None => value,
                });
            } else if name.eq_ignore_ascii_case(b"content-length") {
                lengths.push(value.to_vec());
            }
        }
        if (100..200).contains(&status) {
            continue;
        }
        let framing = if status == 204 || status == 304 {
            Framing::Empty
        } else if let Some(codings) = transfer_encoding {
            // The last coding says how the body ends: chunked, or with the connection.
            match codings.rsplit(',').next().map(str::trim) {
                Some("chunked") => Framing::Chunked,
                _ => Framing::ToEnd,
            }
        } else if lengths.is_empty() {
            Framing::ToEnd
        } else {
            Framing::Length(content_length(&lengths)?)
        };
        return Ok((status, framing));
    }
    Err(Error::Malformed("too many interim (1xx) answers"))
}

/// `HTTP/1.x NNN[ reason]`.
fn parse_status_line(line: &[u8]) -> Result<u16, Error> {
    const NOT_HTTP: Error = Error::Malformed("its status line is not `HTTP/1.x NNN reason`");
    let Some([minor, b' ', a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9', rest @ ..]) =
        line.strip_prefix(b"HTTP/1.")
    else {
        return Err(NOT_HTTP);
    };
    if !minor.is_ascii_digit() || rest.first().is_some_and(|&b| b != b' ') {
        return Err(NOT_HTTP);
    }
    Ok([a, b, c].into_iter().fold(0, |status, &d| status * 10 + u16::from(d - b'0')))
}

/// `name: value`, the value without the spaces around it.
fn parse_header(line: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    const BAD_HEADER: Error = Error::Malformed("a header is not `name: value`");
    let colon = line.iter().position(|&b| b == b':').ok_or(BAD_HEADER)?;
    let name = &line[..colon];
    let token = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    if name.is_empty() || !name.iter().all(token) {
        return Err(BAD_HEADER);
    }
    Ok((name, line[colon + 1..].trim_ascii()))
}

/// The one length every `Content-Length` gives.
fn content_length(values: &[Vec<u8>]) -> Result<u64, Error> {
    const BAD_LENGTH: Error = Error::Malformed("its Content-Length is not one number");
    let mut length = None;
    for value in values.iter().flat_map(|v| v.split(|&b| b == b',')) {
        let value = value.trim_ascii();
        if value.is_empty() || value.len() > 18 || !value.iter().all(u8::is_ascii_digit) {
            return Err(BAD_LENGTH);
        }
        let parsed = value.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        if length.is_some_and(|known| known != parsed) {
            return Err(BAD_LENGTH);
        }
        length = Some(parsed);
    }
    length.ok_or(BAD_LENGTH)
}

/// The body, by its framing, at most `max` bytes.
fn read_body(reader: &mut impl BufRead, framing: Framing, max: usize) -> Result<Vec<u8>, Error> {
    const CUT: Error = Error::Malformed("the connection closed before the end of the body");
    let max = max as u64;
    let mut body = Vec::new();
    match framing {
        Framing::Empty => {}
        Framing::Length(length) => {
            if length > max {
                return Err(Error::TooLarge);
            }
            reader.take(length).read_to_end(&mut body).map_err(from_io)?;
            if (body.len() as u64) < length {
                return Err(CUT);
            }
        }
        Framing::ToEnd => {
            reader.take(max + 1).read_to_end(&mut body).map_err(from_io)?;
            if body.len() as u64 > max {
                return Err(Error::TooLarge);
            }
        }
        Framing::Chunked => loop {
            let mut budget = MAX_CHUNK_LINE_BYTES;
            let line = read_line(reader, &mut budget, "the connection closed before the end of the body")?;
            let size = chunk_size(&line)?;
            if size == 0 {
                // The trailers, if any, are not needed: the connection closes after the answer.
                break;
            }
            if body.len() as u64 + size > max {
                return Err(Error::TooLarge);
            }
            let before = body.len() as u64;
            reader.take(size).read_to_end(&mut body).map_err(from_io)?;
            if body.len() as u64 - before < size {
                return Err(CUT);
            }
            let end = read_line(reader, &mut budget, "the connection closed before the end of the body")?;
            if !end.is_empty() {
                return Err(Error::Malformed("a chunk is longer than its size"));
            }
        },
    }
    Ok(body)
}

/// A chunk's size: hexadecimal digits, then perhaps `;extensions`.
fn chunk_size(line: &[u8]) -> Result<u64, Error> {
    let digits = line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(Error::Malformed("a chunk's size is not a hexadecimal number"));
    }
    let digit = |d: u8| u64::from((d as char).to_digit(16).unwrap_or(0));
    Ok(digits.iter().fold(0, |n, &d| n * 16 + digit(d)))
}

/// The standard reason phrase of a status (`Not Found` for 404), when it has one.
pub fn reason_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Shutdown, TcpListener};
    use std::thread::JoinHandle;

    /// A server on a loopback port for one connection: it reads the request (its head, then a
    /// body by its `Content-Length`), sends `answer` and closes its side, or with `None` sends
    /// nothing; either way it waits for the client to close. The handle gives the request.
    fn serve_once(answer: Option<Vec<u8>>) -> (String, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://127.0.0.1:{}", listener.local_addr().expect("address").port());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
            let request = read_request(&mut stream);
            if let Some(answer) = answer {
                // The client may stop reading early (a body too large): ignore a failed write.
                let _ = stream.write_all(&answer);
                let _ = stream.shutdown(Shutdown::Write);
            }
            while stream.read(&mut [0; 1024]).is_ok_and(|n| n > 0) {}
            request
        });
        (url, server)
    }

    fn read_request(stream: &mut TcpStream) -> String {
        let mut request = Vec::new();
        let mut byte = [0];
        while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
            request.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&request).into_owned();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .map_or(0, |n| n.trim().parse().expect("a length"));
        let mut body = vec![0; length];
        stream.read_exact(&mut body).expect("the body");
        head + &String::from_utf8_lossy(&body)
    }

    fn client() -> Client {
        Client::new(Duration::from_secs(5), Duration::from_secs(10))
    }

    fn body_of(response: Response) -> String {
        String::from_utf8(response.body.expect("a body")).expect("UTF-8")
    }

    #[test]
    fn a_body_by_content_length_and_the_request_it_answers() {
        let (url, server) = serve_once(Some(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\ncontent-length:  5 \r\n\r\nhelloEXTRA".to_vec(),
        ));
        let response = client().put_json(&format!("{url}/api/v1/x"), r#"{"a":1}"#).expect("an answer");
        assert_eq!(response.status, 201);
        assert_eq!(body_of(response), "hello");
        let request = server.join().expect("server");
        let host = url.trim_start_matches("http://");
        let expected = format!(
            "PUT /api/v1/x HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lumigator-xtask/{}\r\nAccept: application/json\r\n\
             Connection: close\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{{\"a\":1}}",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(request, expected);
    }

    #[test]
    fn a_chunked_body() {
        let answer =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\nA\r\n, world!!!\r\n\
                       0\r\nTrailer: ignored\r\n\r\n";
        let (url, server) = serve_once(Some(answer.to_vec()));
        let response = client().delete(&format!("{url}/secrets/x")).expect("an answer");
        assert_eq!((response.status, body_of(response)), (200, "hello, world!!!".to_string()));
        assert!(server.join().expect("server").starts_with("DELETE /secrets/x HTTP/1.1\r\n"));
    }

    #[test]
    fn a_body_to_the_end_of_the_connection() {
        let (url, server) = serve_once(Some(b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nup to\nthe end".to_vec()));
        let response = client().get(&url).expect("an answer");
        assert_eq!((response.status, body_of(response)), (200, "up to\nthe end".to_string()));
        assert!(server.join().expect("server").starts_with("GET / HTTP/1.1\r\n"), "the path is / when empty");
    }

    #[test]
    fn no_body_for_204_and_interim_answers_are_skipped() {
        let (url, _server) =
            serve_once(Some(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nnot a body".to_vec()));
        let response = client().get(&url).expect("an answer");
        assert_eq!((response.status, body_of(response)), (204, String::new()));
    }

    #[test]
    fn a_redirect_is_an_answer_not_followed() {
        let (url, server) = serve_once(Some(
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n"
                .to_vec(),
        ));
        let response = client().put_json(&url, "{}").expect("an answer");
        assert_eq!((response.status, body_of(response)), (307, String::new()));
        assert!(server.join().expect("server").starts_with("PUT / HTTP/1.1\r\n"));
    }

    #[test]
    fn bodies_past_the_limit_are_refused_and_the_status_stands() {
        let mut to_the_end = b"HTTP/1.1 500 Internal Server Error\r\n\r\n".to_vec();
        to_the_end.resize(to_the_end.len() + MAX_BODY_BYTES + 1, b'x');
        let (url, _server) = serve_once(Some(to_the_end));
        let response = client().get(&url).expect("an answer");
        assert_eq!(response.status, 500);
        assert!(matches!(response.body, Err(Error::TooLarge)), "{:?}", response.body);

        let mut exactly = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        exactly.resize(exactly.len() + MAX_BODY_BYTES, b'x');
        let (url, _server) = serve_once(Some(exactly));
        assert_eq!(client().get(&url).expect("an answer").body.expect("a body").len(), MAX_BODY_BYTES);

        let declared = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\nxx", MAX_BODY_BYTES + 1);
        let (url, _server) = serve_once(Some(declared.into_bytes()));
        assert!(matches!(client().get(&url).expect("an answer").body, Err(Error::TooLarge)));

        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n";
        let (url, _server) = serve_once(Some(chunked.to_vec()));
        let small = Client { max_body: 12, ..client() };
        assert!(matches!(small.get(&url).expect("an answer").body, Err(Error::TooLarge)));
    }

    #[test]
    fn a_body_cut_short_is_an_error_and_the_status_stands() {
        let (url, _server) = serve_once(Some(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 10\r\n\r\nabc".to_vec()));
        let response = client().get(&url).expect("an answer");
        assert_eq!(response.status, 400);
        assert!(matches!(response.body, Err(Error::Malformed(_))), "{:?}", response.body);
    }

    #[test]
    fn a_silent_server_times_out_within_the_deadline() {
        let (url, _server) = serve_once(None);
        let started = Instant::now();
        let quick = Client::new(Duration::from_secs(5), Duration::from_millis(300));
        let err = quick.get(&url).expect_err("no answer");
        assert!(matches!(err, Error::Timeout), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    }

    #[test]
    fn a_body_that_stalls_times_out_and_the_status_stands() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://127.0.0.1:{}", listener.local_addr().expect("address").port());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            read_request(&mut stream);
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").expect("write");
            stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
            while stream.read(&mut [0; 64]).is_ok_and(|n| n > 0) {}
        });
        let quick = Client::new(Duration::from_secs(5), Duration::from_millis(300));
        let response = quick.get(&url).expect("an answer");
        assert_eq!(response.status, 200);
        assert!(matches!(response.body, Err(Error::Timeout)), "{:?}", response.body);
        server.join().expect("server");
    }

    #[test]
    fn nothing_listening_is_refused() {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
        let err = client().get(&format!("http://127.0.0.1:{port}/")).expect_err("refused");
        assert!(matches!(err, Error::Refused), "{err:?}");
    }

    #[test]
    fn answers_that_are_not_http_1_are_malformed() {
        for answer in [
            &b"HTTP/2 200 OK\r\n\r\n"[..],
            b"ICY 200 OK\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 200OK\r\n\r\n",
            b"HTTP/1.1 099 Low\r\n\r\n",
            b"<html>hello</html>\n",
            b"",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n folded: header\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n",
        ] {
            let (url, _server) = serve_once(Some(answer.to_vec()));
            let result = client().get(&url);
            assert!(matches!(result, Err(Error::Malformed(_))), "{:?}: {result:?}", String::from_utf8_lossy(answer));
        }
        let chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
        let (url, _server) = serve_once(Some(chunk.to_vec()));
        assert!(matches!(client().get(&url).expect("an answer").body, Err(Error::Malformed(_))));
    }

    #[test]
    fn headers_past_their_limit_are_malformed() {
        let mut answer = b"HTTP/1.1 200 OK\r\n".to_vec();
        while answer.len() <= MAX_HEAD_BYTES {
            answer.extend_from_slice(b"X-Padding: 0123456789012345678901234567890123456789\r\n");
        }
        answer.extend_from_slice(b"\r\n");
        let (url, _server) = serve_once(Some(answer));
        assert!(matches!(client().get(&url), Err(Error::Malformed(_))));
    }

    #[test]
    fn the_host_header_keeps_an_ipv6_address_in_brackets() {
        let Ok(listener) = TcpListener::bind("[::1]:0") else { return }; // no IPv6 loopback here
        let port = listener.local_addr().expect("address").port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let request = read_request(&mut stream);
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").expect("write");
            request
        });
        let response = client().get(&format!("http://[::1]:{port}/health")).expect("an answer");
        assert_eq!(body_of(response), "ok");
        assert!(server.join().expect("server").contains(&format!("\r\nHost: [::1]:{port}\r\n")));
    }

    #[test]
    fn urls() {
        let url = Url::parse("http://[::1]:8000/base").expect("valid");
        assert_eq!((url.host.as_str(), url.port, url.path.as_str()), ("::1", 8000, "/base"));
        let url = Url::parse("HTTP://Localhost").expect("valid");
        assert_eq!((url.host.as_str(), url.port, url.path.as_str()), ("Localhost", 80, "/"));
        assert_eq!(Url::parse("http://127.0.0.1:65535/a/é/{x}").expect("valid").path, "/a/é/{x}");
        for (raw, why) in [
            ("localhost:8000", UrlError::NotHttp),
            ("ftp://x", UrlError::NotHttp),
            ("https://x", UrlError::Https),
            ("http://user:pw@x", UrlError::UserInfo),
            ("http://x/?q=1", UrlError::QueryOrFragment),
            ("http://x#top", UrlError::QueryOrFragment),
            ("http://x/a b", UrlError::SpaceOrControl),
            ("http://x/\u{1b}[31m", UrlError::SpaceOrControl),
            ("http://[::1:8000", UrlError::UnclosedBracket),
            ("http://:8000", UrlError::NoHost),
            ("http://[]:8000", UrlError::NoHost),
            ("http://x:0", UrlError::BadPort),
            ("http://x:65536", UrlError::BadPort),
            ("http://x:+80", UrlError::BadPort),
            ("http://x:", UrlError::BadPort),
            ("http://a:1:2", UrlError::Unusable),
            ("http://[::1]x", UrlError::Unusable),
            ("http://[nope]", UrlError::Unusable),
            ("http://x/<script>", UrlError::Unusable),
            ("http://exa%41mple", UrlError::Unusable),
            ("http://bücher.example", UrlError::Unusable),
        ] {
            assert_eq!(Url::parse(raw), Err(why), "{raw}");
        }
        assert!(matches!(client().get("https://x"), Err(Error::Url(UrlError::Https))));
    }

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase(404), Some("Not Found"));
        assert_eq!(reason_phrase(422), Some("Unprocessable Entity"));
        assert_eq!(reason_phrase(299), None);
    }
}
