//! What a test task adds on top of running uv directly: `cargo xtask test-backend-unit` against
//! the command it runs, both with a stand-in `uv` that exits at once, so that only the task's own
//! work is measured (parsing the arguments, the uv probe, the test settings, building the
//! environment, starting the child). The budget is 50 ms.
//!
//! Run with `cargo bench -p xtask --bench test_overhead`; the difference of the two medians is
//! the overhead.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

fn main() {
    divan::main();
}

/// A project with the shipped defaults and the backend's folder, a HOME, and a folder holding
/// only the stand-in `uv`.
struct Setup {
    home: TempDir,
    project: TempDir,
    bin: TempDir,
}

fn setup() -> Setup {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let setup = Setup {
        home: tempfile::tempdir().expect("home"),
        project: tempfile::tempdir().expect("project"),
        bin: tempfile::tempdir().expect("bin"),
    };
    fs::copy(root.join(".default.conf"), setup.project.path().join(".default.conf")).expect("defaults");
    fs::create_dir_all(setup.project.path().join("lumigator/backend")).expect("backend");
    let uv = setup.bin.path().join("uv");
    fs::write(&uv, "#!/bin/sh\nexit 0\n").expect("stand-in uv");
    fs::set_permissions(&uv, fs::Permissions::from_mode(0o755)).expect("chmod");
    setup
}

fn run(mut cmd: Command) {
    let output = cmd.output().expect("run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// The command `test-backend-unit` runs, started directly.
#[divan::bench(sample_count = 100)]
fn uv_directly(bencher: divan::Bencher) {
    let setup = setup();
    let uv: PathBuf = setup.bin.path().join("uv");
    bencher.bench_local(|| {
        let mut cmd = Command::new(&uv);
        cmd.args([
            "run",
            "-m",
            "pytest",
            "-s",
            "-o",
            "python_files=backend/tests/unit/*/test_*.py backend/tests/unit/test_*.py",
        ]);
        cmd.current_dir(setup.project.path().join("lumigator/backend")).env("PYTHONPATH", "../jobs");
        run(cmd);
    });
}

/// The same through the task (quiet, as CI logs would not need the echo).
#[divan::bench(sample_count = 100)]
fn through_the_task(bencher: divan::Bencher) {
    let setup = setup();
    bencher.bench_local(|| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        cmd.arg("--project-dir").arg(setup.project.path()).args(["-q", "test-backend-unit"]);
        cmd.env_clear().env("HOME", setup.home.path()).env("PATH", setup.bin.path());
        run(cmd);
    });
}
