//! Reading conf files: the env-file dialect Docker Compose v2 reads with `--env-file`.
//!
//! The rules follow Compose's own parser (see `docs/env-file-dialect.md`), so that for any line the
//! value computed here is the value Compose gives a container. Where Compose accepts a line that is
//! almost certainly a mistake (no `=`, a NUL byte, a name that no shell could reference), we reject
//! it with its line and column instead.

use std::fmt;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::files::read_regular_file;
use crate::origin::Location;
use crate::secret::{REDACTED, holds_url_password};
use crate::settings;
use crate::template::Template;
use crate::text::shorten;

/// One `KEY=value` entry of a conf file, before interpolation. Its `Debug` hides the value of a
/// secret setting and any value holding a URL with a password, as `ResolvedEntry`'s does.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfEntry {
    /// The variable's name.
    pub key: String,
    /// The value after unquoting, with its `$` references still unresolved.
    pub value: Template,
    /// Where the key starts.
    pub location: Location,
    /// The column where the value starts (for errors found when it is interpolated).
    pub value_column: usize,
}

impl fmt::Debug for ConfEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The template's own Debug holds its literal text, where a password would be.
        let text = format!("{:?}", self.value);
        let value: &dyn fmt::Debug =
            if settings::is_secret(&self.key) || holds_url_password(&text) { &REDACTED } else { &self.value };
        f.debug_struct("ConfEntry")
            .field("key", &self.key)
            .field("value", value)
            .field("location", &self.location)
            .field("value_column", &self.value_column)
            .finish()
    }
}

/// A parsed conf file: its entries in file order (a key may repeat; the last one wins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The entries, in file order.
    pub entries: Vec<ConfEntry>,
}

impl ConfFile {
    /// Reads and parses the conf file at `path`, which must exist.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let bytes = read_regular_file(path)?;
        Self::parse(path, &bytes)
    }

    /// Like [`ConfFile::read`], but a missing file is `None` (`user.conf` is optional). A symlink
    /// whose target is missing is an error: someone meant that file to exist.
    pub fn read_optional(path: &Path) -> Result<Option<Self>, Error> {
        match fs::symlink_metadata(path) {
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(Error::io(path, "read", err)),
            Ok(_) => Self::read(path).map(Some),
        }
    }

    /// Parses `bytes`, the content of the file at `path` (used only in locations).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, Error> {
        let text = decode(path, bytes)?;
        let entries = Scanner::new(path, text).entries()?;
        Ok(ConfFile { path: path.to_path_buf(), entries })
    }
}

/// Checks the encoding: UTF-8, no NUL, a byte-order mark at the very start (dropped) or inside a line.
fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, Error> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let valid = &bytes[..err.valid_up_to()];
            // Safe to unwrap: `valid_up_to` marks the end of the valid prefix.
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let (line, column) = position_after(prefix);
            return Err(Error::Parse {
                location: Location::new(path, line, column),
                message: "invalid UTF-8: conf files must be UTF-8 text".into(),
                help: Some("save the file as UTF-8"),
            });
        }
    };
    // A byte-order mark that starts a line is two files pasted together: Compose rejects it (as
    // part of a name) and we say why. Inside a value Compose keeps it, and so do we: build/.env
    // must read back as written, and a value taken from the environment may hold one.
    let pasted_bom = if text.starts_with('\u{feff}') { Some(0) } else { text.find("\n\u{feff}").map(|at| at + 1) };
    let found = [
        (text.find('\0'), "a NUL byte", "remove it (`cat -A` shows it as `^@`)"),
        (
            pasted_bom,
            "a byte-order mark (U+FEFF) after the start of the file",
            "remove it (`cat -A` shows it as `M-oM-;M-?`); it usually means two files were pasted together",
        ),
    ];
    for (found, what, help) in found {
        if let Some(at) = found {
            let (line, column) = position_after(&text[..at]);
            return Err(Error::Parse {
                location: Location::new(path, line, column),
                message: format!("{what}: conf files must be plain text"),
                help: Some(help),
            });
        }
    }
    // CRLF needs no translation: a CR before the newline is trailing whitespace to Compose, and
    // inside a multi-line quoted value Compose keeps it.
    Ok(text)
}

/// The 1-based line and column of the character that follows `prefix`.
fn position_after(prefix: &str) -> (usize, usize) {
    let line = prefix.matches('\n').count() + 1;
    let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
    (line, prefix[line_start..].chars().count() + 1)
}

/// Whitespace that separates tokens on a line (Compose's set; a newline ends a statement).
fn is_blank(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}')
}

/// A valid variable name: what a shell, and Compose's `${...}`, can reference.
fn invalid_name_char(name: &str) -> Option<(usize, char)> {
    name.chars().enumerate().find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
}

/// Walks the text by byte offset; lines are counted as they pass and columns computed only when a
/// location is needed, so the common path is a few slice searches per line.
struct Scanner<'a> {
    path: Arc<Path>,
    text: &'a str,
    pos: usize,
    line: usize,
    line_start: usize,
}

impl<'a> Scanner<'a> {
    fn new(path: &Path, text: &'a str) -> Self {
        Scanner { path: Arc::from(path), text, pos: 0, line: 1, line_start: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.line_start = self.pos;
        }
        Some(c)
    }

    /// Moves ahead `len` bytes that contain no newline.
    fn advance(&mut self, len: usize) {
        self.pos += len;
    }

    /// The column of byte offset `pos` on the current line.
    fn column_of(&self, pos: usize) -> usize {
        self.text[self.line_start..pos].chars().count() + 1
    }

    fn location_of(&self, pos: usize) -> Location {
        Location::new(self.path.clone(), self.line, self.column_of(pos))
    }

    fn here(&self) -> Location {
        self.location_of(self.pos)
    }

    fn error(&self, location: Location, message: impl Into<String>, help: &'static str) -> Error {
        Error::Parse { location, message: message.into(), help: Some(help) }
    }

    fn skip_while(&mut self, pred: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
    }

    /// Skips to the end of the line (not past the newline).
    fn skip_line(&mut self) {
        let rest = self.rest();
        self.advance(rest.find('\n').unwrap_or(rest.len()));
    }

    fn entries(mut self) -> Result<Vec<ConfEntry>, Error> {
        let mut entries = Vec::new();
        loop {
            self.skip_while(char::is_whitespace);
            match self.peek() {
                None => return Ok(entries),
                Some('#') => self.skip_line(),
                Some(_) => entries.push(self.entry()?),
            }
        }
    }

    fn entry(&mut self) -> Result<ConfEntry, Error> {
        if let Some(after) = self.rest().strip_prefix("export")
            && after.starts_with(is_blank)
        {
            self.advance("export".len());
            self.skip_while(is_blank);
        }
        let location = self.here();
        let key = self.key(&location)?;
        self.skip_while(is_blank);
        let value_column = self.column_of(self.pos);
        let value = match self.peek() {
            Some(quote @ ('\'' | '"')) => self.quoted_value(quote)?,
            _ => self.unquoted_value()?,
        };
        Ok(ConfEntry { key, value, location, value_column })
    }

    /// Reads `KEY` and the `=` (or Compose's YAML-style `:`) after it.
    fn key(&mut self, location: &Location) -> Result<String, Error> {
        let rest = self.rest();
        let end = rest.find(['=', ':', '\n']).unwrap_or(rest.len());
        if !matches!(rest.as_bytes().get(end), Some(b'=' | b':')) {
            return Err(self.error(
                location.clone(),
                "expected KEY=value, found a line with no `=` (Compose would silently copy that variable from the shell)",
                "write it as KEY=value, or make it a comment with `#`",
            ));
        }
        let name = rest[..end].trim_end_matches(is_blank);
        if name.is_empty() {
            return Err(self.error(
                location.clone(),
                "missing variable name before `=`",
                "write the variable's name before the `=`",
            ));
        }
        if let Some((index, c)) = invalid_name_char(name) {
            let at = Location::new(self.path.clone(), location.line, location.column + index);
            let what = if c.is_whitespace() {
                "a space".to_string()
            } else if c.is_ascii_digit() {
                "a leading digit".to_string()
            } else {
                format!("the character {c:?}")
            };
            return Err(self.error(
                at,
                format!(
                    "invalid variable name {:?}: it has {what}; names are letters, digits and `_`, not starting \
                     with a digit",
                    shorten(name)
                ),
                "rename it: only such a name can be referenced as `${NAME}`",
            ));
        }
        self.advance(end + 1); // past the `=` or `:`
        Ok(name.to_string())
    }

    /// An unquoted value runs to the end of the line; ` #` starts a comment.
    fn unquoted_value(&mut self) -> Result<Template, Error> {
        let start = self.pos;
        let rest = self.rest();
        let mut raw = &rest[..rest.find('\n').unwrap_or(rest.len())];
        self.advance(raw.len());
        if let Some(cut) = raw.find(" #") {
            raw = &raw[..cut];
        }
        Template::parse(raw.trim_end()).map_err(|err| {
            let location = Location::new(self.path.clone(), self.line, self.column_of(start) + err.offset);
            self.error(location, err.message, err.help)
        })
    }

    /// Moves past `text`, which starts at the current position, counting its newlines.
    fn consume(&mut self, text: &str) {
        if let Some(last) = text.rfind('\n') {
            self.line += text.bytes().filter(|&b| b == b'\n').count();
            self.line_start = self.pos + last + 1;
        }
        self.pos += text.len();
    }

    /// A quoted value may span lines. A backslash keeps the next character from closing it; the
    /// backslash itself is dropped only before the quote character (Compose's rule).
    fn quoted_value(&mut self, quote: char) -> Result<Template, Error> {
        let open = self.here();
        self.bump();
        let (text, content_start) = (self.text, self.pos);
        let mut chars = String::new();
        let content = loop {
            let rest = self.rest();
            let stop = rest.find([quote, '\\']);
            let escaped = stop.and_then(|i| rest[i + 1..].chars().next().map(|next| (i, next)));
            match (stop, escaped) {
                (Some(i), _) if rest[i..].starts_with(quote) => {
                    chars.push_str(&rest[..i]);
                    self.consume(&rest[..=i]);
                    break &text[content_start..self.pos - 1];
                }
                (Some(i), Some((_, next))) => {
                    chars.push_str(&rest[..i]);
                    if next != quote {
                        chars.push('\\');
                    }
                    chars.push(next);
                    self.consume(&rest[..i + 1 + next.len_utf8()]);
                }
                _ => {
                    let kind = if quote == '"' { "double" } else { "single" };
                    return Err(self.error(
                        open,
                        format!("unterminated {kind}-quoted value: the closing {quote} is missing"),
                        "add the closing quote: a quoted value may span lines, so without it the value runs to the \
                         end of the file",
                    ));
                }
            }
        };
        self.skip_while(is_blank);
        match self.peek() {
            None | Some('\n') | Some('#') => {}
            Some(_) => {
                return Err(self.error(
                    self.here(),
                    format!("unexpected text after the closing {quote}"),
                    "quote the whole value, or start a comment with ` #` (Compose would take the text for another \
                     entry)",
                ));
            }
        }
        if quote == '\'' {
            return Ok(Template::literal(chars));
        }
        Template::parse(&expand_escapes(&chars)).map_err(|err| {
            // The offset counts characters of the unescaped value; the location is in the file,
            // where escapes are longer and the value may span lines.
            let before = &content[..offset_as_written(content, err.offset)];
            let location = match before.rfind('\n') {
                Some(newline) => Location::new(
                    self.path.clone(),
                    open.line + before.matches('\n').count(),
                    before[newline + 1..].chars().count() + 1,
                ),
                None => Location::new(self.path.clone(), open.line, open.column + 1 + before.chars().count()),
            };
            self.error(location, err.message, err.help)
        })
    }
}

/// The byte offset in `content`, a double-quoted value as written (without its quotes), of the
/// text that becomes character `offset` of the value once `\"` is unquoted and [`expand_escapes`]
/// has run: both read backslash pairs left to right, and this follows the same rules.
fn offset_as_written(content: &str, offset: usize) -> usize {
    let chars: Vec<(usize, char)> = content.char_indices().collect();
    let (mut i, mut produced) = (0, 0);
    while i < chars.len() {
        let next = chars.get(i + 1).map(|&(_, c)| c);
        // (characters of the value, characters as written)
        let (becomes, written) = match (chars[i].1, next) {
            ('\\', Some('"' | 'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\')) => (1, 2),
            ('\\', Some('0')) => {
                let digits: String =
                    chars[i + 2..].iter().take(3).map(|&(_, c)| c).take_while(char::is_ascii_digit).collect();
                let octal = digits.len() == 3 && u32::from_str_radix(&digits, 8).is_ok_and(|n| n <= 0o377);
                if octal { (1, 5) } else { (1 + digits.len(), 2 + digits.len()) }
            }
            ('\\', Some(_)) => (2, 2),
            _ => (1, 1),
        };
        if offset < produced + becomes {
            return chars[i].0;
        }
        produced += becomes;
        i += written;
    }
    content.len()
}

/// Backslash escapes inside double quotes, as Compose expands them: `\a \b \f \n \r \t \v \\`
/// become the characters they name, `\$` a literal `$` (kept as `$$` for interpolation),
/// `\0ddd` (three octal digits up to 377) that code point, any other `\0` loses its `0`, and
/// every other backslash stays as written.
fn expand_escapes(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' || i + 1 == chars.len() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let escaped = match chars[i + 1] {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' => Some('\\'),
            _ => None,
        };
        if let Some(c) = escaped {
            out.push(c);
            i += 2;
        } else if chars[i + 1] == '$' {
            out.push_str("$$");
            i += 2;
        } else if chars[i + 1] == '0' {
            let digits: String = chars[i + 2..].iter().take(3).take_while(|c| c.is_ascii_digit()).collect();
            match u32::from_str_radix(&digits, 8).ok().filter(|n| digits.len() == 3 && *n <= 0o377) {
                Some(code) => out.push(char::from_u32(code).unwrap_or('\u{fffd}')),
                None => {
                    out.push('\\');
                    out.push_str(&digits);
                }
            }
            i += 2 + digits.len();
        } else {
            out.push('\\');
            out.push(chars[i + 1]);
            i += 2;
        }
    }
    out
}
