//! The task lists, read from the binary's own `--help`, so that a task added later is covered by
//! every test that loops over tasks without editing any list here.

use std::process::Command;
use std::sync::OnceLock;

/// Every task `cargo xtask --help` lists, with the heading it is under, in order.
pub fn listed() -> &'static [(String, String)] {
    static TASKS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    TASKS.get_or_init(|| {
        let help = Command::new(env!("CARGO_BIN_EXE_xtask")).arg("--help").env("NO_COLOR", "1").output().expect("run");
        let text = String::from_utf8_lossy(&help.stdout).into_owned();
        let mut tasks = Vec::new();
        let mut heading = None;
        for line in text.lines() {
            if line.ends_with(':') && !line.starts_with(' ') {
                heading = Some(line.trim_end_matches(':').to_string()).filter(|h| h != "Options" && h != "Usage");
            } else if let Some(heading) = &heading
                && line.starts_with("  ")
                && !line[2..].starts_with(' ')
                && let Some(task) = line.split_whitespace().next()
            {
                tasks.push((heading.clone(), task.to_string()));
            }
        }
        assert!(tasks.len() >= 19, "the task list is read from --help:\n{text}");
        tasks
    })
}

/// Every task's name.
pub fn all() -> Vec<String> {
    listed().iter().map(|(_, task)| task.clone()).collect()
}

/// The tasks under one heading of `--help`.
pub fn under(heading: &str) -> Vec<String> {
    listed().iter().filter(|(h, _)| h == heading).map(|(_, task)| task.clone()).collect()
}

/// The tasks that run Compose after the env step (the Makefile's compose targets).
pub fn compose() -> Vec<String> {
    under("Stack").into_iter().filter(|task| task != "local-logs").collect()
}

/// The compose tasks that stop the stack.
pub fn stopping() -> Vec<String> {
    compose().into_iter().filter(|task| task.ends_with("-down") || task.starts_with("stop-")).collect()
}

/// The compose tasks that start the stack.
pub fn starting() -> Vec<String> {
    let stopping = stopping();
    compose().into_iter().filter(|task| !stopping.contains(task)).collect()
}
