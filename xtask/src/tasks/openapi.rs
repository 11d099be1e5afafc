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
use similar::TextDiff;

use crate::checks;
use crate::context::Context;
use crate::env_step::process_env;
use crate::private_dir::PrivateDir;
use crate::error::TaskError;
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
    let diff = TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{SPEC} (documented)"), "generated from the backend")
        .to_string();
    let lines: Vec<&str> = diff.lines().collect();
    let mut shown = lines.iter().take(MAX_DIFF_LINES).copied().collect::<Vec<_>>().join("\n");
    shown.push('\n');
    if lines.len() > MAX_DIFF_LINES {
        shown.push_str(&format!("... and {} more lines of diff\n", lines.len() - MAX_DIFF_LINES));
    }
    shown
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
}
