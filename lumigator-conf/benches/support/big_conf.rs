//! Large `user.conf` files, for the benchmark that shows parsing is linear and for the test that
//! such a file parses correctly. Shared by `benches/large_user_conf.rs` and `tests/api/properties.rs`.
#![allow(dead_code)]

use std::fmt::Write as _;

/// A file of about `size` bytes made of blocks that hold every form of entry the dialect has
/// (comments, `export`, spaces around `=`, trailing comments, double quotes with escapes and
/// `$$`, references to earlier keys and defaults for unset ones, single quotes, a value spanning
/// lines, CRLF endings, non-ASCII text), with the value each entry must have after resolution.
pub fn mixed(size: usize) -> (String, Vec<(String, String)>) {
    let mut text = String::with_capacity(size + 512);
    let mut expected = Vec::new();
    let mut n = 0;
    while text.len() < size {
        block(n, &mut text, &mut expected);
        n += 1;
    }
    (text, expected)
}

fn block(n: usize, text: &mut String, expected: &mut Vec<(String, String)>) {
    let _ = writeln!(text, "# block {n}: every form of entry");
    let entries = [
        (format!("B{n}_PLAIN=plain-{n}\n"), format!("plain-{n}")),
        (format!("export B{n}_EXPORTED = spaced value {n} # a comment\n"), format!("spaced value {n}")),
        (
            format!("B{n}_DOUBLE=\"say \\\"{n}\\\" for $$5,\\nthen ${{B{n}_PLAIN}}\"\n"),
            format!("say \"{n}\" for $5,\nthen plain-{n}"),
        ),
        (
            format!("B{n}_SINGLE='# not a comment, ${{NOT_EXPANDED}} \\n'\n"),
            "# not a comment, ${NOT_EXPANDED} \\n".to_string(),
        ),
        (format!("B{n}_MULTI=\"first line\r\nsecond line {n}\"\r\n"), format!("first line\r\nsecond line {n}")),
        (format!("B{n}_DEFAULT=${{UNSET_{n}:-fallback {n}}}\n"), format!("fallback {n}")),
        (format!("B{n}_UNICODE=héllo wörld {n} ✓   \n\n"), format!("héllo wörld {n} ✓")),
    ];
    for (line, value) in entries {
        let key = line.trim_start_matches("export ").split([' ', '=']).next().unwrap_or_default().to_string();
        text.push_str(&line);
        expected.push((key, value));
    }
}

/// One entry whose value is about `size` bytes of `${UNSET:-x}` references: the shape that was
/// quadratic before error offsets were counted lazily.
pub fn one_line_of_references(size: usize) -> String {
    let reference = "${UNSET:-x}";
    format!("REFERENCES={}\n", reference.repeat(size / reference.len()))
}
