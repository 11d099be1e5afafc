//! Properties of the pipeline on generated input: any value we write reads back exactly, by our
//! parser and (opt-in, run in CI) by Docker Compose itself; no input, however hostile, makes the
//! parser panic or hang; and a 10 MB user.conf parses, in one linear pass, to the right values.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lumigator_conf::render::{encode_value, render_env};
use lumigator_conf::template::MAX_NESTING;
use lumigator_conf::{Error, Origin, ResolvedConfig, ResolvedEntry};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::big_conf;
use crate::support::compose::compose_view;
use crate::support::{load_bytes, values as values_of};

/// Parses `bytes` as the conf file `path` and resolves it alone, with an empty environment.
fn load(path: &str, bytes: &[u8]) -> Result<ResolvedConfig, Error> {
    load_bytes(Path::new(path), bytes)
}

/// Key `V0001`, `V0002`, ... for each value, as render_env would write them to build/.env.
fn config_of(values: &[String]) -> ResolvedConfig {
    let path: Arc<Path> = Arc::from(Path::new(".default.conf"));
    let entries = values
        .iter()
        .enumerate()
        .map(|(i, value)| ResolvedEntry {
            key: format!("V{:04}", i + 1),
            value: value.clone(),
            origin: Origin::File { path: path.clone(), line: i + 1 },
            secret: false,
        })
        .collect();
    ResolvedConfig { entries, warnings: Vec::new() }
}

/// Any text without NUL (which no environment variable can hold), biased towards what means
/// something to the dialect: quotes, backslashes and escape letters, every `$` form, `#` with and
/// without a space, blanks, CR and LF, a byte-order mark, and the Unicode spaces Compose trims.
fn value() -> impl Strategy<Value = String> {
    #[rustfmt::skip] // a table, kept compact
    const PIECES: &[&str] = &[
        "\n", "\r", "\r\n", "\"", "'", "\\", "\\n", "\\\"", "\\\\", "\\0101", "\\$", "$", "$$", "${", "}", "${A}",
        "$A", "${A:-d}", "#", " #", " ", "  ", "\t", "\u{b}", "\u{c}", "=", ":", "export ", "`", "\u{feff}", "\u{85}",
        "\u{a0}", "\u{2028}", "é", "😀", "A",
    ];
    let piece = prop_oneof![
        4 => prop::sample::select(PIECES).prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
        1 => "[a-z0-9]{1,5}",
    ];
    prop_oneof![prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat()), any::<String>()]
        .prop_map(|value| value.replace('\0', ""))
}

proptest! {
    #![proptest_config(Config { cases: 2_000, failure_persistence: None, ..Config::default() })]

    #[test]
    fn rendered_values_read_back_exactly(values in prop::collection::vec(value(), 1..8)) {
        let config = config_of(&values);
        let reread = load("build/.env", render_env(&config).as_bytes())
            .map_err(|err| TestCaseError::fail(format!("our own output is rejected: {err}")))?;
        prop_assert_eq!(values_of(&reread), values_of(&config));
    }

    #[test]
    fn an_encoded_value_reads_back_exactly_between_other_lines(value in value()) {
        let text = format!("# before\nBEFORE=1\nVALUE={}\nAFTER=2 # after\n", encode_value(&value));
        let reread = load("line.env", text.as_bytes())
            .map_err(|err| TestCaseError::fail(format!("rejected: {err}\n{text:?}")))?;
        prop_assert_eq!(reread.get("VALUE").map(|e| e.value.as_str()), Some(value.as_str()));
        prop_assert_eq!(reread.entries.len(), 3);
    }
}

#[test]
#[ignore = "needs Docker Compose v2; .ci/run installs it and runs this"]
fn compose_reads_generated_values_back_exactly() {
    // A few hundred values per Compose call; a failure shrinks to the values Compose reads
    // differently (each shrinking step is one more call, so shrinking is bounded).
    let config = Config { cases: 4, max_shrink_iters: 200, failure_persistence: None, ..Config::default() };
    let result = TestRunner::new(config).run(&prop::collection::vec(value(), 300..=400), |values| {
        let config = config_of(&values);
        let dir = tempfile::tempdir().expect("temp dir");
        let written = dir.path().join(".env");
        fs::write(&written, render_env(&config)).expect("write");
        let ours = values_of(&config);
        prop_assert_eq!(compose_view(&written, &ours.keys().cloned().collect::<Vec<_>>()), ours);
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}

#[test]
#[ignore = "needs Docker Compose v2; .ci/run installs it and runs this"]
fn compose_reads_the_large_file_as_we_do() {
    // The benchmark's blocks, checked once against Compose so the figures are for the real dialect.
    let (text, expected) = big_conf::mixed(16 * 1024);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("user.conf");
    fs::write(&path, &text).expect("write");
    let expected: BTreeMap<String, String> = expected.into_iter().collect();
    assert_eq!(compose_view(&path, &expected.keys().cloned().collect::<Vec<_>>()), expected);
}

/// Runs `work` on a thread of its own and fails if it has not finished after `limit`, showing the
/// input it was on: a hang fails the test with its input instead of stalling CI. The limits are
/// many times the normal run time, so they catch hangs, not a slow machine.
fn without_hanging<T: Send + 'static>(
    limit: Duration,
    current: Arc<Mutex<Vec<u8>>>,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let result = work();
        let _ = done.send(());
        result
    });
    match finished.recv_timeout(limit) {
        // The worker ended (or panicked, which `join` passes on).
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let input = current.lock().map(|input| input.clone()).unwrap_or_default();
            let shown: String = String::from_utf8_lossy(&input).chars().take(2_000).collect();
            panic!("still running after {limit:?}; the input was {} bytes: {shown:?}", input.len());
        }
    }
}

/// What generated codes stand for: pieces of valid entries, mostly...
#[rustfmt::skip] // a table, kept compact
const BENIGN: &[&[u8]] = &[
    b"x", b"=", b" ", b"\nA=", b"\nB_1=", b"\nexport C = ", b"\n# comment\n", b"\r\nD=", b"\t", b"#", b" #",
    b"\"q \\\" $$ \\n #\"", b"'s \\ ${A}'", b"\\", b"$", b"$$", b"${A}", b"${A:-d}", b"${U:+w}", b"$A", b"-", b"?",
    b"A", b"1", b"\xc3\xa9", b"\xef\xbb\xbf", b":", b"\n", b"\r", b"\\$", b"\\0101", b"\\\"", b"\\t",
];

/// ... and the pieces that break them: lone quotes and braces, invalid references, NUL, invalid
/// UTF-8, a byte-order mark starting a line.
#[rustfmt::skip] // a table, kept compact
const HOSTILE: &[&[u8]] = &[b"\"", b"'", b"${", b"${A", b"}", b"${1}", b"${A:?}", b"\0", b"\xff", b"\xc3", b"\n\xef\xbb\xbf"];

/// Raw bytes, or a file built from [`BENIGN`] and [`HOSTILE`] pieces (codes 240 and up stand for
/// themselves) so that most cases get past decoding into the parser, and about as many are
/// accepted as rejected. Generated as plain byte vectors, cheap even in a debug build (100,000
/// cases take seconds), that shrink towards fewer and simpler pieces.
fn conf_bytes() -> impl Strategy<Value = Conf> {
    let codes = prop::collection::vec(any::<u8>(), 0..32);
    prop_oneof![
        1 => codes.clone().prop_map(Conf),
        4 => codes.prop_map(|codes| {
            let mut bytes = b"A=".to_vec();
            for code in codes {
                match code {
                    0..216 => bytes.extend_from_slice(BENIGN[usize::from(code) % BENIGN.len()]),
                    216..240 => bytes.extend_from_slice(HOSTILE[usize::from(code) % HOSTILE.len()]),
                    _ => bytes.push(code),
                }
            }
            Conf(bytes)
        }),
    ]
}

/// A generated file, shown as a byte string when a case fails.
#[derive(Clone)]
struct Conf(Vec<u8>);

impl std::fmt::Debug for Conf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// Checks that an error from reading `bytes` is one the user can act on: a parse or
/// interpolation error whose message starts with the file, whose line and column are in it, and
/// which, when it is about a `${...}`, points at its `$` (or the escape that made it).
fn check_error(err: &Error, bytes: &[u8]) -> Result<(), TestCaseError> {
    let location = match err {
        Error::Parse { location, .. } | Error::Interpolation { location, .. } => location,
        other => return Err(TestCaseError::fail(format!("unexpected kind of error: {other:?}"))),
    };
    // Columns count characters after a leading byte-order mark, which is dropped.
    let text = String::from_utf8_lossy(bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes));
    let lines: Vec<&str> = text.split('\n').collect();
    prop_assert!((1..=lines.len()).contains(&location.line), "line {} of {}: {err}", location.line, lines.len());
    let line = lines[location.line - 1];
    let width = line.chars().count();
    prop_assert!((1..=width + 1).contains(&location.column), "column {} of {width}: {err}", location.column);
    let message = err.to_string();
    prop_assert!(message.starts_with("fuzz.conf:"), "{message}");
    let about_a_reference =
        |text: &str| ["`${", "a default, alternative", "invalid interpolation"].iter().any(|s| text.starts_with(s));
    if let Error::Parse { message: what, .. } = err
        && about_a_reference(what)
    {
        let at = line.chars().nth(location.column - 1);
        prop_assert!(matches!(at, Some('$' | '\\')), "{message}: points at {at:?} in {line:?}");
    }
    Ok(())
}

#[test]
fn any_bytes_give_values_or_an_error_never_a_panic_or_a_hang() {
    let current = Arc::new(Mutex::new(Vec::new()));
    let watched = Arc::clone(&current);
    let (accepted, rejected) = without_hanging(Duration::from_secs(300), current, move || {
        let config = Config { cases: 100_000, failure_persistence: None, ..Config::default() };
        let (accepted, rejected) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let result = TestRunner::new(config).run(&conf_bytes(), |Conf(bytes)| {
            if let Ok(mut input) = watched.lock() {
                input.clone_from(&bytes);
            }
            let resolved = match load("fuzz.conf", &bytes) {
                Ok(resolved) => resolved,
                Err(err) => {
                    rejected.fetch_add(1, Ordering::Relaxed);
                    return check_error(&err, &bytes);
                }
            };
            accepted.fetch_add(1, Ordering::Relaxed);
            // Whatever was accepted also survives being written to build/.env and read back.
            let reread = load("build/.env", render_env(&resolved).as_bytes())
                .map_err(|err| TestCaseError::fail(format!("our own output is rejected: {err}")))?;
            prop_assert_eq!(values_of(&reread), values_of(&resolved));
            Ok(())
        });
        if let Err(err) = result {
            panic!("{err}");
        }
        (accepted.into_inner(), rejected.into_inner())
    });
    // Both outcomes must be common, or the generator is not reaching the parser.
    assert!(accepted > 10_000 && rejected > 10_000, "accepted {accepted}, rejected {rejected}");
}

#[test]
fn a_ten_megabyte_user_conf_parses_to_the_right_values() {
    let (text, expected) = big_conf::mixed(10 << 20);
    assert!(text.len() >= 10 << 20);
    let current = Arc::new(Mutex::new(Vec::new()));
    let resolved = without_hanging(Duration::from_secs(300), current, move || {
        load("user.conf", text.as_bytes()).expect("the large file parses")
    });
    assert_eq!(resolved.entries.len(), expected.len());
    for (entry, (key, value)) in resolved.entries.iter().zip(&expected) {
        assert_eq!((&entry.key, &entry.value), (key, value));
    }
    assert!(resolved.warnings.is_empty(), "{} warnings", resolved.warnings.len());
}

#[test]
fn a_ten_megabyte_line_of_references_parses() {
    let text = big_conf::one_line_of_references(10 << 20);
    let current = Arc::new(Mutex::new(Vec::new()));
    let resolved =
        without_hanging(Duration::from_secs(300), current, move || load("user.conf", text.as_bytes()).expect("parses"));
    let value = &resolved.get("REFERENCES").expect("the entry").value;
    assert_eq!((value.len(), value.bytes().all(|b| b == b'x')), ((10 << 20) / "${UNSET:-x}".len(), true));
}

#[test]
fn deep_nesting_is_an_error_with_its_place_not_a_stack_overflow() {
    let nested = |depth: usize| format!("A={}x{}\n", "${B:-".repeat(depth), "}".repeat(depth));
    let value = load("user.conf", nested(MAX_NESTING).as_bytes()).expect("nesting up to the limit is fine");
    assert_eq!(value.get("A").map(|e| e.value.as_str()), Some("x"));
    for depth in [MAX_NESTING + 1, 100_000] {
        let err = load("user.conf", nested(depth).as_bytes()).expect_err("too deep");
        let column = 3 + MAX_NESTING * "${B:-".len();
        assert_eq!(err.to_string(), format!("user.conf:1:{column}: `${{...}}` nested more than {MAX_NESTING} deep"));
    }
}

#[test]
fn many_references_to_an_unset_variable_are_one_warning() {
    let resolved =
        load("user.conf", format!("A={}\nB=$UNSET$OTHER\n", "$UNSET".repeat(100_000)).as_bytes()).expect("parses");
    let warnings: Vec<String> = resolved.warnings.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(warnings.join("\n"));
}

#[test]
fn errors_inside_double_quotes_point_at_the_reference_in_the_file() {
    // Escapes are longer in the file than in the value, and a value may span lines: the column
    // of the `$` is counted in the file (before, it was counted in the unescaped value).
    let cases = [
        ("A=\"\\n${1}\"\n", "1:6"),
        ("A=\"line\nnext ${1}\"\n", "2:6"),
        ("A=\"\\$\\0101 \\\"${\"\n", "1:14"),
        ("\n\nexport A = \"\\t\\\\${A*}\"\n", "3:17"),
        // The second `$` of `\$` starts the reference: the location is that escape.
        ("A=\"$\\${1}\"\n", "1:5"),
    ];
    for (text, expected) in cases {
        let err = load("user.conf", text.as_bytes()).expect_err(text);
        let shown = err.to_string();
        assert!(shown.starts_with(&format!("user.conf:{expected}: ")), "{text:?}: {shown}");
        let (line, column) = expected.split_once(':').expect("line:column");
        let line = text.split('\n').nth(line.parse::<usize>().expect("line") - 1).expect("line exists");
        let at = line.chars().nth(column.parse::<usize>().expect("column") - 1);
        assert!(matches!(at, Some('$' | '\\')), "{text:?}: points at {at:?}");
    }
}

#[test]
fn a_non_ascii_character_after_a_braced_name_is_an_error_not_a_panic() {
    // `${CAFÉ}` panicked: the text after the name was cut at a byte inside `É`.
    for text in ["A=${CAFÉ}\n", "A=${A:é}\n", "A=${Aé:-x}\n", "A=\"${A+é}${Bé}\"\n"] {
        let err = load("user.conf", text.as_bytes()).expect_err(text);
        assert!(err.to_string().contains("invalid interpolation"), "{text:?}: {err}");
    }
    let fine = load("user.conf", "A=${UNSET:-é}\n".as_bytes()).expect("a non-ASCII default is fine");
    assert_eq!(fine.get("A").map(|e| e.value.as_str()), Some("é"));
}
