//! `update-openapi-docs` and `check-openapi-docs`: the backend's OpenAPI specification, generated
//! by `python -m backend.openapi_spec` in `lumigator/backend` (no running stack needed), written
//! to the docs or compared with them.
//!
//! Differences from Lumigator's scripts: the check writes into a private temporary folder that is
//! removed whatever happens (the script left `fetched_openapi.json` in the sources on a mismatch),
//! shows a short diff instead of the whole one-line file, and `PYTHONPATH` gets the jobs' folder
//! (the script's `$$PYTHONPATH` added the shell's process id instead).

use std::fs;

use serde_json::Value;

use crate::checks;
use crate::context::Context;
use crate::env_step::process_env;
use crate::error::TaskError;
use crate::private_dir::PrivateDir;
use crate::runner::Cmd;
use crate::signals;
use crate::suites::Pytest;
use crate::test_env::{self, Source};

/// The specification in the docs, relative to the checkout's root.
pub const SPEC: &str = "docs/source/specs/openapi.json";

/// Where the generator runs, relative to the root.
const BACKEND: &str = "lumigator/backend";

/// At most this many lines of diff are shown.
const MAX_DIFF_LINES: usize = 60;

/// The generator writing to `target`, with the environment of the backend's suites.
fn generate(ctx: &Context, target: &str) -> Result<Cmd, TaskError> {
    let dir = ctx.project.root.join(BACKEND);
    if !ctx.dry_run && !dir.is_dir() {
        return Err(TaskError::unmet(
            format!(
                "{} has no {BACKEND}: the specification is generated from the backend's sources",
                ctx.project.root.display()
            ),
            "run it in a Lumigator source checkout, or point --project-dir at one",
        ));
    }
    if !ctx.dry_run {
        checks::project::require_uv(ctx, "the backend's specification is generated with it")?;
    }
    let settings = test_env::load(ctx, Source::TestSettings)?;
    // The backend suites' environment: the test settings and the jobs on PYTHONPATH.
    let backend =
        Pytest { dir: BACKEND, uv_options: &[], pytest_args: &[], settings: true, jobs_on_path: true, gpus: false };
    Ok(Cmd::new(&dir, "uv").args(["run", "python", "-m", "backend.openapi_spec", target]).envs(test_env::for_pytest(
        &backend,
        Some(&settings),
        &process_env,
    )))
}

/// `update-openapi-docs`.
pub fn update(ctx: &Context) -> Result<(), TaskError> {
    let cmd = generate(ctx, &format!("../../{SPEC}"))?;
    ctx.run_steps(&[cmd])?;
    if !ctx.dry_run {
        ctx.ui.status(format!("wrote {SPEC}; run `uv run pre-commit run --all-files` before committing it"));
    }
    Ok(())
}

/// `check-openapi-docs`.
pub fn check(ctx: &Context) -> Result<(), TaskError> {
    signals::defer_interruptions();
    if ctx.dry_run {
        let cmd = generate(ctx, "<private temporary folder>/openapi.json")?;
        ctx.print_plan(&[cmd]);
        ctx.ui.out(format!("would compare it with {SPEC}, ignoring line breaks, then remove the temporary folder\n"));
        return Ok(());
    }
    checks::project::require_uv(ctx, "the backend's specification is generated with it")?;
    let documented_path = ctx.project.root.join(SPEC);
    let documented = fs::read_to_string(&documented_path).map_err(|err| TaskError::Io {
        what: format!("cannot read {}", documented_path.display()),
        reason: err.to_string(),
    })?;
    // The generated file goes in a private folder, removed however the task ends (a signal while
    // the generator runs is held until it is).
    let temp = PrivateDir::create("xtask-openapi").map_err(|err| TaskError::Io {
        what: "cannot create a private temporary folder".into(),
        reason: err.to_string(),
    })?;
    let target = temp.path().join("openapi.json");
    let cmd = generate(ctx, &target.display().to_string())?;
    ctx.runner.run_checked(&cmd)?;
    let generated = fs::read_to_string(&target).map_err(|err| TaskError::Io {
        what: format!("cannot read the generated specification {}", target.display()),
        reason: err.to_string(),
    })?;
    drop(temp);
    if without_newlines(&documented) == without_newlines(&generated) {
        ctx.ui.status(format!("{SPEC} is up to date"));
        return Ok(());
    }
    ctx.ui.out(short_diff(&documented, &generated));
    Err(TaskError::unmet(
        format!("{SPEC} is out of date: the backend's API differs from it (the diff above: - documented, + generated)"),
        "run `cargo xtask update-openapi-docs` and commit the file",
    ))
}

/// The text with its line breaks removed, as the script compared it (`tr -d '\n'`).
fn without_newlines(text: &str) -> String {
    text.replace('\n', "")
}

/// A unified diff of the two specifications, each pretty-printed (keys sorted) when it is JSON:
/// the files are single lines, which a line diff would show whole. Cut at [`MAX_DIFF_LINES`].
fn short_diff(documented: &str, generated: &str) -> String {
    let pretty = |text: &str| match serde_json::from_str::<Value>(text) {
        Ok(value) => serde_json::to_string_pretty(&value).map(|s| s + "\n").unwrap_or_else(|_| text.to_string()),
        Err(_) => text.to_string(),
    };
    let (old, new) = (pretty(documented), pretty(generated));
    let mut lines = vec![format!("--- {SPEC} (documented)"), "+++ generated from the backend".to_string()];
    lines.extend(one_hunk(&old, &new, DIFF_CONTEXT));
    let mut shown = lines.iter().take(MAX_DIFF_LINES).map(String::as_str).collect::<Vec<_>>().join("\n");
    shown.push('\n');
    if lines.len() > MAX_DIFF_LINES {
        shown.push_str(&format!("... and {} more lines of diff\n", lines.len() - MAX_DIFF_LINES));
    }
    shown
}

/// Lines of context around the lines that differ.
const DIFF_CONTEXT: usize = 3;

/// A unified diff's hunk of `old` and `new` (`@@ -a,b +c,d @@`, then ` `, `-` and `+` lines):
/// the lines they begin and end with in common are trimmed, and everything between is shown as
/// removed, then added, with `context` common lines either side. One hunk, where a diff tool might
/// make several: enough to see what changed, in time linear in the texts. Empty when the texts
/// have the same lines. Lines end at `\n` only, so a `\r` counts.
fn one_hunk(old: &str, new: &str, context: usize) -> Vec<String> {
    let split = |text: &str| -> Vec<String> {
        text.split_inclusive('\n').map(|line| line.strip_suffix('\n').unwrap_or(line).to_string()).collect()
    };
    let (old, new) = (split(old), split(new));
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..].iter().rev().zip(new[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
    if prefix == old_end && prefix == new_end {
        return Vec::new();
    }
    let start = prefix.saturating_sub(context);
    let after = suffix.min(context);
    // As diff writes a range: `start,length`, 1-based; `start` alone for one line; the line
    // before for none.
    let range = |end: usize| match end - start {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        length => format!("{},{length}", start + 1),
    };
    let mut hunk = vec![format!("@@ -{} +{} @@", range(old_end + after), range(new_end + after))];
    hunk.extend(old[start..prefix].iter().map(|line| format!(" {line}")));
    hunk.extend(old[prefix..old_end].iter().map(|line| format!("-{line}")));
    hunk.extend(new[prefix..new_end].iter().map(|line| format!("+{line}")));
    hunk.extend(old[old_end..old_end + after].iter().map(|line| format!(" {line}")));
    hunk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_do_not_count() {
        assert_eq!(without_newlines("{\"a\": 1,\n\"b\": 2}\n"), without_newlines("{\"a\": 1,\"b\": 2}"));
    }

    #[test]
    fn the_diff_is_of_pretty_json_and_short() {
        let diff = short_diff(r#"{"paths": {"/a": 1, "/b": 2}}"#, r#"{"paths": {"/a": 1, "/b": 3}}"#);
        assert!(diff.contains("-    \"/b\": 2\n") && diff.contains("+    \"/b\": 3\n"), "{diff}");
        let many_old: String = (0..200).map(|i| format!("{i}\n")).collect();
        let many_new: String = (0..200).map(|i| format!("{}\n", i * 2)).collect();
        let long = short_diff(&many_old, &many_new);
        assert!(long.lines().count() <= MAX_DIFF_LINES + 1 && long.contains("more lines of diff"), "{long}");
    }

    #[test]
    fn one_hunk_as_diff_writes_it() {
        let letters = "a\nb\nc\nd\ne\nf\ng\nh\n";
        assert_eq!(
            one_hunk(letters, &letters.replace('d', "D"), 3),
            ["@@ -1,7 +1,7 @@", " a", " b", " c", "-d", "+D", " e", " f", " g"]
        );
        assert_eq!(one_hunk(letters, &letters.replace('g', "G"), 1), ["@@ -6,3 +6,3 @@", " f", "-g", "+G", " h"]);
        assert_eq!(one_hunk("a\nb\n", "a\nx\nb\n", 3), ["@@ -1,2 +1,3 @@", " a", "+x", " b"]);
        assert_eq!(one_hunk("a\n", "", 3), ["@@ -1 +0,0 @@", "-a"]);
        assert_eq!(one_hunk("", "a\nb", 3), ["@@ -0,0 +1,2 @@", "+a", "+b"]);
        // Two changes far apart: one hunk from the first to the last.
        assert_eq!(
            one_hunk("1\n2\n3\n4\n5\n", "x\n2\n3\n4\ny\n", 0),
            ["@@ -1,5 +1,5 @@", "-1", "-2", "-3", "-4", "-5", "+x", "+2", "+3", "+4", "+y"]
        );
        assert!(one_hunk(letters, letters, 3).is_empty());
        assert_eq!(one_hunk("a\r\n", "a\n", 3), ["@@ -1 +1 @@", "-a\r", "+a"]);
    }
}
