//! The documents stay true to the code: the README's task table lists every task `--help` lists,
//! ARCHITECTURE.md maps every source file, and every document a source file cites exists.

use std::fs;

use crate::support::{repo_root, rust_files, tasks};

fn read(name: &str) -> String {
    fs::read_to_string(repo_root().join(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// The rows of the README's task table: the `cargo xtask <task>` words of its second column.
fn readme_tasks() -> Vec<String> {
    let readme = read("README.md");
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|line| !line.starts_with("## Tasks"))
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .collect();
    assert!(table.len() > 2, "the README has a task table under `## Tasks`");
    table
        .iter()
        .filter_map(|row| row.split('|').nth(2))
        .flat_map(|cell| {
            cell.split("cargo xtask ")
                .skip(1)
                .filter_map(|rest| rest.split(|c: char| c.is_whitespace() || c == '`').next().map(str::to_string))
        })
        .collect()
}

#[test]
fn the_readme_table_lists_every_task() {
    let listed = readme_tasks();
    let missing: Vec<String> = tasks::all().into_iter().filter(|task| !listed.contains(task)).collect();
    assert!(missing.is_empty(), "add these tasks to the README's task table: {missing:?}");
    let unknown: Vec<&String> = listed.iter().filter(|task| !tasks::all().contains(task)).collect();
    assert!(unknown.is_empty(), "the README's task table names tasks that do not exist: {unknown:?}");
}

#[test]
fn architecture_maps_every_source_file() {
    let map = read("ARCHITECTURE.md");
    let mut missing = Vec::new();
    for krate in ["xtask", "lumigator-conf"] {
        for file in rust_files(&repo_root().join(krate).join("src")) {
            let relative = file.strip_prefix(repo_root()).expect("in the workspace").display().to_string();
            if !map.contains(&format!("`{relative}`")) {
                missing.push(relative);
            }
        }
    }
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map has no paragraph for: {missing:?}");
}

/// Paths ending in `.md` in `text`, such as `docs/env-file-dialect.md`.
fn cited_documents(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || "_./-".contains(c)))
        .map(|word| word.trim_end_matches('.'))
        .filter(|word| word.ends_with(".md") && word.len() > 3)
        .map(str::to_string)
        .collect()
}

#[test]
fn every_document_cited_in_the_code_exists() {
    let mut files = Vec::new();
    // The sources and their tests; not this file, whose examples cite documents on purpose.
    for dir in ["xtask/src", "lumigator-conf/src", "xtask/tests", "lumigator-conf/tests", "xtask/benches"] {
        let dir = repo_root().join(dir);
        if dir.is_dir() {
            files.extend(rust_files(&dir));
        }
    }
    files.push(repo_root().join("Cargo.toml"));
    let mut missing = Vec::new();
    for file in files.into_iter().filter(|f| !f.ends_with("tests/cli/docs.rs")) {
        let text = fs::read_to_string(&file).expect("read");
        for cited in cited_documents(&text) {
            // A document is cited from the workspace root, or from the crate it belongs to.
            let krate = file
                .strip_prefix(repo_root())
                .ok()
                .and_then(|p| p.components().next())
                .map(|c| c.as_os_str().to_owned());
            let exists = repo_root().join(&cited).exists()
                || krate.is_some_and(|krate| repo_root().join(krate).join(&cited).exists())
                || cited.starts_with("../shared/");
            if !exists {
                missing.push(format!("{} cites {cited}", file.display()));
            }
        }
    }
    assert!(missing.is_empty(), "documents cited in the code that do not exist:\n{}", missing.join("\n"));
}

#[test]
fn citations_are_found() {
    assert_eq!(
        cited_documents("see `docs/env-file-dialect.md`, and ARCHITECTURE.md."),
        ["docs/env-file-dialect.md", "ARCHITECTURE.md"]
    );
}

/// The workspace paths a document names in backquotes (`xtask/src/runner.rs`), without what
/// follows a `:` (a line number) or a space.
fn cited_paths(text: &str) -> Vec<String> {
    const ROOTS: [&str; 6] = ["xtask/", "lumigator-conf/", "tests/", "docs/", ".ci/", ".devcontainer/"];
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|quoted| quoted.split([':', ' ']).next().unwrap_or_default())
        .filter(|path| ROOTS.iter().any(|root| path.starts_with(root)) && !path.contains(['<', '*', '$']))
        // A path of a Lumigator checkout, which the OpenAPI tasks write, not one of ours.
        .filter(|path| !path.starts_with("docs/source/"))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_path_the_documents_name_exists() {
    let mut missing = Vec::new();
    for document in ["README.md", "ARCHITECTURE.md", "docs/env-file-dialect.md", "tests/malformed/README.md"] {
        for path in cited_paths(&read(document)) {
            if !repo_root().join(path.trim_end_matches('/')).exists() {
                missing.push(format!("{document} names {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "paths named in the documents that do not exist:\n{}", missing.join("\n"));
    assert_eq!(cited_paths("see `xtask/src/ui.rs:12` and `cargo xtask`"), ["xtask/src/ui.rs"]);
}
