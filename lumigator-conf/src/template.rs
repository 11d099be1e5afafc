//! Values with `$VAR` / `${VAR...}` references, as Docker Compose interpolates them.
//!
//! A [`Template`] is parsed when its conf file is read (so syntax errors point at the file) and
//! evaluated after the merge, when every earlier entry's value is known.

use std::borrow::Cow;

/// A value that may reference other variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(VarRef),
}

/// One `$NAME` or `${NAME...}` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
struct VarRef {
    name: String,
    modifier: Modifier,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Modifier {
    /// `$NAME`, `${NAME}`
    None,
    /// `${NAME:-word}` (`when_empty`) or `${NAME-word}`
    Default { when_empty: bool, word: Template },
    /// `${NAME:+word}` (`when_empty`) or `${NAME+word}`
    Alternate { when_empty: bool, word: Template },
    /// `${NAME:?message}` (`when_empty`) or `${NAME?message}`
    Required { when_empty: bool, message: Template },
}

/// A syntax error in a template: `offset` is the character offset of the offending `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Character offset in the template text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do about it (becomes [`crate::Error::help`]).
    pub help: &'static str,
}

/// What evaluating a template can fail with: a required variable is unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingRequired {
    /// The variable.
    pub name: String,
    /// The message written after `:?` or `?` (may be empty).
    pub message: String,
}

impl Template {
    /// A template that is plain text, with no references (single-quoted values).
    pub fn literal(text: impl Into<String>) -> Self {
        let text = text.into();
        if text.is_empty() {
            return Template::default();
        }
        Template { parts: vec![Part::Text(text)] }
    }

    /// Parses `$` references in `text` with Compose's rules: `$$` is a literal `$`, a `$` not
    /// followed by a name or `{` stays as it is, and `${` must form a valid reference.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        parse_str(text, Base { whole: text, at: 0, depth: 0 })
    }

    /// Whether the template references no variable.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// The names of the variables referenced, outermost first.
    pub fn references(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.collect_references(&mut names);
        names
    }

    /// Moves pending literal text into the template.
    fn flush(&mut self, run: &mut String) {
        if !run.is_empty() {
            self.parts.push(Part::Text(std::mem::take(run)));
        }
    }

    fn collect_references<'a>(&'a self, names: &mut Vec<&'a str>) {
        for part in &self.parts {
            if let Part::Var(var) = part {
                names.push(&var.name);
                match &var.modifier {
                    Modifier::None => {}
                    Modifier::Default { word, .. } | Modifier::Alternate { word, .. } => word.collect_references(names),
                    Modifier::Required { message, .. } => message.collect_references(names),
                }
            }
        }
    }

    /// Computes the value. `lookup` gives a variable's value or `None` when it is unset;
    /// `unset` is told about every plain reference to an unset variable (which yields "").
    /// Unbounded: for values from files, [`Template::evaluate_within`] caps the size.
    pub fn evaluate(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
        unset: &mut dyn FnMut(&str),
    ) -> Result<String, MissingRequired> {
        let lookup = |name: &str| lookup(name).map(Cow::Owned);
        let mut out = String::new();
        match self.eval_into(&mut out, &lookup, unset, usize::MAX) {
            Ok(()) => Ok(out),
            Err(EvalError::Missing(missing)) => Err(missing),
            // Nothing can exceed usize::MAX bytes: a String that large could not exist.
            Err(EvalError::TooLong) => Ok(out),
        }
    }

    /// Like [`Template::evaluate`], but stops as soon as the value would be longer than `limit`
    /// bytes, before it grows past it: time and memory stay proportional to `limit` however the
    /// references multiply. `lookup` lends the values, so that a reference that adds nothing to the
    /// value (`${BIG:+x}`) copies nothing either.
    pub fn evaluate_within<'v>(
        &self,
        lookup: &dyn Fn(&str) -> Option<&'v str>,
        unset: &mut dyn FnMut(&str),
        limit: usize,
    ) -> Result<String, EvalError> {
        let lookup = |name: &str| lookup(name).map(Cow::Borrowed);
        let mut out = String::new();
        self.eval_into(&mut out, &lookup, unset, limit)?;
        Ok(out)
    }

    /// Appends the value to `out`, which may hold at most `limit` bytes.
    fn eval_into<'v>(
        &self,
        out: &mut String,
        lookup: &dyn Fn(&str) -> Option<Cow<'v, str>>,
        unset: &mut dyn FnMut(&str),
        limit: usize,
    ) -> Result<(), EvalError> {
        let push = |out: &mut String, text: &str| {
            if text.len() > limit - out.len() {
                return Err(EvalError::TooLong);
            }
            out.push_str(text);
            Ok(())
        };
        for part in &self.parts {
            match part {
                Part::Text(text) => push(out, text)?,
                Part::Var(var) => {
                    let value = lookup(&var.name);
                    let missing = |when_empty: bool| match &value {
                        None => true,
                        Some(v) => when_empty && v.is_empty(),
                    };
                    match &var.modifier {
                        Modifier::None => match &value {
                            Some(v) => push(out, v)?,
                            None => unset(&var.name),
                        },
                        Modifier::Default { when_empty, word } => {
                            if missing(*when_empty) {
                                word.eval_into(out, lookup, unset, limit)?;
                            } else if let Some(v) = &value {
                                push(out, v)?;
                            }
                        }
                        Modifier::Alternate { when_empty, word } => {
                            if !missing(*when_empty) {
                                word.eval_into(out, lookup, unset, limit)?;
                            }
                        }
                        Modifier::Required { when_empty, message } => {
                            if missing(*when_empty) {
                                let mut text = String::new();
                                message.eval_into(&mut text, lookup, unset, limit)?;
                                return Err(EvalError::Missing(MissingRequired {
                                    name: var.name.clone(),
                                    message: text,
                                }));
                            }
                            if let Some(v) = &value {
                                push(out, v)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Why [`Template::evaluate_within`] stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// A required variable is unset.
    Missing(MissingRequired),
    /// The value (or the message of a `:?`) would be longer than the limit.
    TooLong,
}

impl From<MissingRequired> for EvalError {
    fn from(missing: MissingRequired) -> Self {
        EvalError::Missing(missing)
    }
}

fn is_name_start(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

/// How deep `${A:-${B:-...}}` may nest. Real values nest once or twice; without a bound, a hostile
/// line overflowed the stack (an abort, not an error) and rescanned itself once per level.
pub const MAX_NESTING: usize = 32;

/// Where a piece of a value sits in the whole value, for error offsets. The character offset is
/// counted only when an error is reported: counting it for every `${A:-...}` made a long line of
/// references quadratic.
#[derive(Clone, Copy)]
struct Base<'a> {
    /// The whole value given to [`Template::parse`].
    whole: &'a str,
    /// The byte offset of the piece in `whole`.
    at: usize,
    /// How many `${...}` enclose the piece.
    depth: usize,
}

impl Base<'_> {
    /// The character offset in the whole value of byte `index` of the piece.
    fn offset(&self, index: usize) -> usize {
        self.whole[..self.at + index].chars().count()
    }
}

/// Parses `text`, a piece of the whole value (see [`Base`]).
/// Works on bytes: every character with a meaning here (`$ { } : - + ?` and names) is ASCII.
fn parse_str(text: &str, base: Base<'_>) -> Result<Template, TemplateError> {
    if !text.contains('$') {
        return Ok(Template::literal(text));
    }
    let bytes = text.as_bytes();
    let mut template = Template::default();
    let mut run = String::new();
    let mut i = 0;
    while let Some(found) = text[i..].find('$') {
        let dollar = i + found;
        run.push_str(&text[i..dollar]);
        match bytes.get(dollar + 1) {
            Some(b'$') => {
                run.push('$');
                i = dollar + 2;
            }
            Some(&n) if is_name_start(n) => {
                let end = (dollar + 1..bytes.len()).find(|&j| !is_name_char(bytes[j])).unwrap_or(bytes.len());
                template.flush(&mut run);
                template
                    .parts
                    .push(Part::Var(VarRef { name: text[dollar + 1..end].to_string(), modifier: Modifier::None }));
                i = end;
            }
            Some(b'{') => {
                template.flush(&mut run);
                let (var, next) = parse_braced(text, dollar, base)?;
                template.parts.push(Part::Var(var));
                i = next;
            }
            // Compose leaves a `$` that starts no reference as it is.
            _ => {
                run.push('$');
                i = dollar + 1;
            }
        }
    }
    run.push_str(&text[i..]);
    template.flush(&mut run);
    Ok(template)
}

/// Parses `${...}` starting at byte `start` (a `$`); returns the reference and the byte after `}`.
fn parse_braced(text: &str, start: usize, base: Base<'_>) -> Result<(VarRef, usize), TemplateError> {
    let invalid = |message: &str, help: &'static str| TemplateError {
        offset: base.offset(start),
        message: message.to_string(),
        help,
    };
    // Most of these mistakes are a `$` that was meant literally, so the help says how to write one.
    if base.depth >= MAX_NESTING {
        return Err(invalid(
            &format!("`${{...}}` nested more than {MAX_NESTING} deep"),
            "simplify the value: nest the references less deeply",
        ));
    }
    let bytes = text.as_bytes();
    let close = closing_brace(bytes, start).ok_or_else(|| {
        invalid(
            "`${` has no closing `}`",
            "close it with `}`, or write `$$` for a literal `$`; in an unquoted value ` #` starts a comment, so \
             quote a value that holds one",
        )
    })?;
    let inner = &bytes[start + 2..close];
    let name_len = inner.iter().take_while(|&&c| is_name_char(c)).count();
    if name_len == 0 || !is_name_start(inner[0]) {
        return Err(invalid(
            "`${` must be followed by a variable name",
            "write `${NAME}` with a name of letters, digits and `_` that does not start with a digit, or `$$` for a \
             literal `$`",
        ));
    }
    let name = text[start + 2..start + 2 + name_len].to_string();
    let rest = &inner[name_len..];
    let (when_empty, op_len) = match rest.first() {
        Some(b':') => (true, 2),
        _ => (false, 1),
    };
    let modifier = if rest.is_empty() {
        Modifier::None
    } else {
        // The operator is checked before the word is cut out after it: after any other byte (the
        // first of `${CAFÉ}`'s `É`, say) the cut would fall inside a character, and panic.
        let op = rest.get(op_len - 1).copied().filter(|op| matches!(op, b'-' | b'+' | b'?')).ok_or_else(|| {
            invalid(
                "invalid interpolation: expected `}`, `:-`, `-`, `:+`, `+`, `:?` or `?` after the name",
                "end the name with `}` or one of those operators (names are ASCII letters, digits and `_`), or \
                 write `$$` for a literal `$`",
            )
        })?;
        let word_start = start + 2 + name_len + op_len;
        let word = &text[word_start..close];
        if word.contains('\n') {
            return Err(invalid(
                "a default, alternative or message inside `${...}` cannot span lines",
                "keep the whole `${...}` on one line",
            ));
        }
        let word = parse_str(word, Base { at: base.at + word_start, depth: base.depth + 1, ..base })?;
        match op {
            b'-' => Modifier::Default { when_empty, word },
            b'+' => Modifier::Alternate { when_empty, word },
            _ => Modifier::Required { when_empty, message: word },
        }
    };
    Ok((VarRef { name, modifier }, close + 1))
}

/// The byte index of the `}` closing the `${` at `start`, counting nested `${`.
fn closing_brace(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = start;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            depth += 1;
            i += 2;
            continue;
        }
        if bytes[i] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, vars: &[(&str, &str)]) -> Result<String, MissingRequired> {
        let lookup = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        Template::parse(text).expect("valid template").evaluate(&lookup, &mut |_| {})
    }

    #[test]
    fn forms_of_reference() {
        let vars = [("A", "a"), ("E", "")];
        assert_eq!(eval("x$A-${A}", &vars).unwrap(), "xa-a");
        assert_eq!(eval("${E:-d}|${E-d}|${U-d}|${U:-d}", &vars).unwrap(), "d||d|d");
        assert_eq!(eval("${A:+r}|${E:+r}|${E+r}|${U+r}", &vars).unwrap(), "r||r|");
        assert_eq!(eval("${U:-${A}b}", &vars).unwrap(), "ab");
        assert_eq!(eval("$$A $ $1 a$", &vars).unwrap(), "$A $ $1 a$");
        assert_eq!(eval("${E?m}", &vars).unwrap(), "");
        let err = eval("${E:?must be set}", &vars).unwrap_err();
        assert_eq!((err.name.as_str(), err.message.as_str()), ("E", "must be set"));
    }

    #[test]
    fn syntax_errors_point_at_the_dollar() {
        assert_eq!(Template::parse("ab${x").unwrap_err().offset, 2);
        assert_eq!(Template::parse("${1}").unwrap_err().offset, 0);
        assert!(Template::parse("${A*b}").is_err());
    }

    #[test]
    fn evaluation_stops_before_the_value_passes_its_limit() {
        let big = "x".repeat(1000);
        let lookup = |name: &str| (name == "BIG").then_some(big.as_str());
        let template = Template::parse("${BIG}${BIG}").unwrap();
        assert_eq!(template.evaluate_within(&lookup, &mut |_| {}, 2000).map(|v| v.len()), Ok(2000));
        assert_eq!(template.evaluate_within(&lookup, &mut |_| {}, 1999), Err(EvalError::TooLong));
        // A reference that adds nothing costs nothing, however long the value it names.
        let alternates = Template::parse(&"${BIG:+}".repeat(10_000)).unwrap();
        assert_eq!(alternates.evaluate_within(&lookup, &mut |_| {}, 10), Ok(String::new()));
        let message = Template::parse("${U:?${BIG}${BIG}}").unwrap();
        assert_eq!(message.evaluate_within(&lookup, &mut |_| {}, 1500), Err(EvalError::TooLong));
    }

    #[test]
    fn unset_plain_references_are_reported() {
        let mut seen = Vec::new();
        let out =
            Template::parse("${NOPE}${U:-d}").unwrap().evaluate(&|_| None, &mut |n| seen.push(n.to_string())).unwrap();
        assert_eq!((out.as_str(), seen), ("d", vec!["NOPE".to_string()]));
    }
}
