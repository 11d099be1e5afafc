//! The malformed-input corpus at the workspace root (`tests/malformed`, shared with
//! `xtask/tests/hardening.rs`): every file, read as a `user.conf` over the shipped defaults, is
//! refused with an error that names it, with its line and column, and a help line. The snapshot
//! pins every message as the library produces it, before the binary adds its `error:` prefix.

use std::fs;
use std::path::{Path, PathBuf};

use lumigator_conf::check::check;
use lumigator_conf::{ConfFile, Error, MergedConfig, ResolvedConfig};

use crate::support::compose::compose_reads;
use crate::support::workspace_root;

/// The corpus files, sorted, as paths relative to the workspace root.
fn cases() -> Vec<PathBuf> {
    let dir = workspace_root().join("tests/malformed");
    let mut names: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/malformed")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .map(|p| p.strip_prefix(workspace_root()).expect("under the root").to_path_buf())
        .collect();
    names.sort();
    names
}

/// Everything that stops `path` (relative to the workspace root) from being used as user.conf:
/// a parse or interpolation error, or the checks' errors. The files are parsed from their bytes
/// with relative names, so the messages hold no machine-specific path.
fn refusal(path: &Path) -> Option<Error> {
    let defaults_text = fs::read(workspace_root().join(".default.conf")).expect("shipped defaults");
    let defaults = ConfFile::parse(Path::new(".default.conf"), &defaults_text).expect("the defaults parse");
    let bytes = fs::read(workspace_root().join(path)).expect("read case");
    let user = match ConfFile::parse(path, &bytes) {
        Ok(user) => user,
        Err(err) => return Some(err),
    };
    let merged = MergedConfig::merge(&defaults, Some(&user), None, Path::new("lumigator.key"));
    let resolved = match ResolvedConfig::resolve(&merged, &|name| (name == "HOME").then(|| "/home/me".into())) {
        Ok(resolved) => resolved,
        Err(err) => return Some(err),
    };
    let findings = check(&resolved, &defaults, Some(&user));
    findings.iter().any(|f| f.is_error()).then_some(Error::Invalid { findings })
}

#[test]
fn every_malformed_file_is_refused_with_its_place_and_a_help() {
    let cases = cases();
    assert!(cases.len() >= 25, "the corpus keeps at least 25 cases, found {}", cases.len());
    let mut transcript = String::new();
    for path in &cases {
        let err = refusal(path).unwrap_or_else(|| panic!("{} is accepted", path.display()));
        let lines: Vec<String> = match &err {
            Error::Parse { .. } | Error::Interpolation { .. } => vec![err.to_string()],
            // The findings themselves, one a line, as `config-check` lists them.
            Error::Invalid { findings } => findings.iter().filter(|f| f.is_error()).map(ToString::to_string).collect(),
            other => panic!("{}: unexpected kind of error: {other:?}", path.display()),
        };
        let prefix = format!("{}:", path.display());
        for line in &lines {
            let mut parts = line.strip_prefix(&prefix).unwrap_or_else(|| panic!("names the file: {line}")).split(':');
            let mut number = || parts.next().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            assert!(number() && number(), "{line}: line and column");
            transcript.push_str(line);
            transcript.push('\n');
        }
        let help = err.help().unwrap_or_else(|| panic!("{}: no help", path.display()));
        transcript.push_str(&format!("  help: {help}\n"));
    }
    insta::assert_snapshot!(transcript);
}

/// The cases Compose refuses too, from `tests/malformed/compose-rejects.txt`.
fn compose_rejects() -> Vec<String> {
    let list = fs::read_to_string(workspace_root().join("tests/malformed/compose-rejects.txt")).expect("the list");
    list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

#[test]
fn the_list_of_cases_compose_refuses_names_corpus_files() {
    let names: Vec<String> =
        cases().iter().map(|p| p.file_name().expect("name").to_string_lossy().into_owned()).collect();
    let listed = compose_rejects();
    assert!(listed.len() >= 10, "{listed:?}");
    for name in &listed {
        assert!(names.contains(name), "compose-rejects.txt lists {name}, which is not in tests/malformed");
    }
}

#[test]
#[ignore = "needs Docker Compose v2 (`docker compose` or `docker-compose`); .ci/run installs it and runs this"]
fn compose_refuses_exactly_the_listed_cases() {
    let listed = compose_rejects();
    let mut wrong = Vec::new();
    for path in cases() {
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        match (compose_reads(&workspace_root().join(&path)), listed.contains(&name)) {
            (Ok(()), true) => wrong.push(format!("{name}: listed, but Compose reads it")),
            (Err(message), false) => wrong.push(format!("{name}: not listed, but Compose refuses it: {message}")),
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "tests/malformed/compose-rejects.txt is out of date:\n{}", wrong.join("\n"));
}
