//! The invariants of ARCHITECTURE.md that the compiler does not check, checked by reading the
//! sources: no module imports another that (directly or not) imports it back, tasks do not import
//! tasks, and the library neither prints nor spawns processes.
//!
//! Imports are read from the text: every `crate::` path outside comments and test modules (in `use`
//! lines and inline), `super::` paths, and a `mod.rs`'s own submodules. That is enough for code
//! written the way this workspace is: it is a lint, not a compiler.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{repo_root, rust_files};

/// One source file: its module path (`tasks::secrets::backend`, `""` for the crate root) and text.
struct Module {
    path: String,
    file: PathBuf,
    /// The code, without comments and without the `#[cfg(test)]` part at the end.
    code: String,
}

fn modules(src: &Path) -> Vec<Module> {
    rust_files(src)
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(src).expect("under src").with_extension("");
            let mut parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "main" | "lib")) {
                parts.pop();
            }
            let text = fs::read_to_string(&file).expect("read source");
            Module { path: parts.join("::"), code: code_of(&text), file }
        })
        .collect()
}

/// The text without line comments (doc comments cite paths in prose) and without the test module,
/// which by this workspace's convention is last and may use anything.
fn code_of(text: &str) -> String {
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string (a URL) is kept: only lines or tails that are comments go.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths that follow `prefix` in `code` (`crate::a::b`, groups `crate::{a::b, c}` expanded).
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // part of a longer word, such as `foo_crate::`
        }
        expand("", rest, &mut found);
    }
    found
}

/// Reads one path (or `{...}` group of paths) at the start of `text`, below `base`.
fn expand(base: &str, text: &str, found: &mut Vec<String>) {
    let head: String = text.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
    let path = format!("{base}{head}");
    let after = &text[head.len()..];
    if let Some(group) = after.strip_prefix('{') {
        let mut depth = 0;
        let mut item_start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(&path, group[item_start..i].trim_start(), found);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&path, group[item_start..i].trim_start(), found);
                    item_start = i + 1;
                }
                _ => {}
            }
        }
    } else if !path.is_empty() {
        found.push(path.trim_end_matches(':').to_string());
    }
}

/// The modules `module` imports, as indexes into `all`: each path is mapped to the longest module
/// that is a prefix of it (the rest names an item).
fn imports(module: &Module, all: &[Module]) -> BTreeSet<usize> {
    let known: BTreeMap<&str, usize> = all.iter().enumerate().map(|(i, m)| (m.path.as_str(), i)).collect();
    let parent = module.path.rsplit_once("::").map_or("", |(parent, _)| parent);
    let mut paths = paths_after(&module.code, "crate::");
    paths.extend(paths_after(&module.code, "super::").into_iter().map(|p| join(parent, &p)));
    // A mod.rs may use its own submodules by their bare names (`use engine::...`).
    for line in module.code.lines() {
        let line = line.trim();
        if let Some(child) = line.strip_prefix("mod ").or_else(|| line.strip_prefix("pub mod ")) {
            let child = child.trim_end_matches(';');
            for path in paths_after(&module.code, &format!("{child}::")) {
                paths.push(join(&module.path, &format!("{child}::{path}")));
            }
        }
    }
    paths
        .iter()
        .filter_map(|path| {
            let mut candidate = path.as_str();
            loop {
                if let Some(&index) = known.get(candidate) {
                    return Some(index);
                }
                candidate = candidate.rsplit_once("::")?.0;
            }
        })
        .filter(|&index| all[index].path != module.path)
        .collect()
}

fn join(base: &str, path: &str) -> String {
    if base.is_empty() { path.to_string() } else { format!("{base}::{path}") }
}

/// A cycle in `edges`, as the names of its nodes, if there is one.
fn find_cycle(names: &[String], edges: &[BTreeSet<usize>]) -> Option<Vec<String>> {
    // 0: not visited, 1: on the current path, 2: done.
    fn visit(node: usize, edges: &[BTreeSet<usize>], state: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        state[node] = 1;
        path.push(node);
        for &next in &edges[node] {
            match state[next] {
                1 => {
                    let start = path.iter().position(|&n| n == next).expect("on the path");
                    return Some(path[start..].iter().copied().chain([next]).collect());
                }
                0 => {
                    if let Some(cycle) = visit(next, edges, state, path) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state[node] = 2;
        None
    }
    let mut state = vec![0u8; names.len()];
    for node in 0..names.len() {
        if state[node] == 0
            && let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new())
        {
            return Some(cycle.into_iter().map(|n| names[n].clone()).collect());
        }
    }
    None
}

fn crate_src(name: &str) -> PathBuf {
    repo_root().join(name).join("src")
}

/// The file-level graph, and the graph of top-level modules (a folder counts as one): both acyclic.
fn assert_acyclic(crate_name: &str) {
    let all = modules(&crate_src(crate_name));
    let edges: Vec<BTreeSet<usize>> = all.iter().map(|m| imports(m, &all)).collect();
    let names: Vec<String> =
        all.iter().map(|m| if m.path.is_empty() { "(root)".into() } else { m.path.clone() }).collect();
    if let Some(cycle) = find_cycle(&names, &edges) {
        panic!("{crate_name}: modules import each other: {}", cycle.join(" -> "));
    }
    let top = |m: &Module| m.path.split("::").next().unwrap_or_default().to_string();
    let tops: Vec<String> = all.iter().map(top).collect::<BTreeSet<_>>().into_iter().collect();
    let mut top_edges = vec![BTreeSet::new(); tops.len()];
    for (from, targets) in edges.iter().enumerate() {
        let a = tops.iter().position(|t| *t == top(&all[from])).expect("known");
        for &to in targets {
            let b = tops.iter().position(|t| *t == top(&all[to])).expect("known");
            // The crate root declares every module; it is not a dependency of theirs.
            if a != b && !all[to].path.is_empty() {
                top_edges[a].insert(b);
            }
        }
    }
    if let Some(cycle) = find_cycle(&tops, &top_edges) {
        panic!("{crate_name}: top-level modules import each other: {}", cycle.join(" -> "));
    }
}

#[test]
fn no_module_of_either_crate_imports_itself_back() {
    assert_acyclic("xtask");
    assert_acyclic("lumigator-conf");
}

#[test]
fn tasks_do_not_import_tasks() {
    let all = modules(&crate_src("xtask"));
    let mut offences = Vec::new();
    for module in all.iter().filter(|m| m.path.starts_with("tasks::")) {
        // `tasks::secrets::backend` belongs to the task family `tasks::secrets`.
        let family: String = module.path.split("::").take(2).collect::<Vec<_>>().join("::");
        for index in imports(module, &all) {
            let target = &all[index].path;
            if target.starts_with("tasks") && !target.starts_with(&family) {
                offences.push(format!("{} imports {target}", module.file.display()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "a task imports another task; move what they share out of tasks/:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_library_neither_prints_nor_spawns() {
    let forbidden = ["println!", "eprintln!", "print!(", "eprint!(", "dbg!(", "std::process::Command", "Command::new"];
    let mut offences = Vec::new();
    for module in modules(&crate_src("lumigator-conf")) {
        for word in forbidden {
            if module.code.contains(word) {
                offences.push(format!("{}: {word}", module.file.display()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "lumigator-conf must leave printing and processes to its callers:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_reader_sees_imports_as_written() {
    let code = "use crate::{cli::Format, context::{Context, Other}};\nlet x = crate::runner::quote(y);\n";
    let mut paths = paths_after(code, "crate::");
    paths.sort();
    assert_eq!(paths, ["cli::Format", "context::Context", "context::Other", "runner::quote"]);
    assert_eq!(code_of("use a; // crate::b\n/// [`crate::c`]\n#[cfg(test)]\nuse crate::d;"), "use a; \n");
    let cycle = find_cycle(&["a".into(), "b".into()], &[BTreeSet::from([1]), BTreeSet::from([0])]);
    assert_eq!(cycle, Some(vec!["a".to_string(), "b".into(), "a".into()]));
}
