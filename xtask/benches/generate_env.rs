//! How long `cargo xtask config-generate-env` takes: the whole process (what a user waits for,
//! minus Cargo's own start-up), and the library pipeline alone.
//!
//! Run with `cargo bench -p xtask --bench generate_env`. The old Makefile scripts took about
//! 440 ms on the shipped defaults and 6 s with a 400-key user.conf.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use lumigator_conf::render::render_env;
use lumigator_conf::{Configuration, KeyAccess, ProjectPaths, UserPaths};
use tempfile::TempDir;

fn main() {
    divan::main();
}

/// A temporary HOME and project: the shipped defaults plus a `user.conf` of `user_keys` entries.
struct Setup {
    home: TempDir,
    project: TempDir,
}

fn setup(user_keys: usize) -> Setup {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let setup = Setup { home: tempfile::tempdir().expect("home"), project: tempfile::tempdir().expect("project") };
    fs::copy(root.join(".default.conf"), setup.project.path().join(".default.conf")).expect("defaults");
    let mut user = String::from("# overrides\nS3_BUCKET=bench-bucket\nMINIO_ROOT_PASSWORD='p#ss w0rd'\n");
    for i in 0..user_keys {
        writeln!(user, "BENCH_SETTING_{i:05}=\"value {i} with ${{S3_BUCKET}} and # hash\"").expect("write");
    }
    fs::create_dir(setup.home.path().join(".lumigator")).expect("user dir");
    fs::write(setup.home.path().join(".lumigator/user.conf"), user).expect("user.conf");
    setup
}

fn xtask(setup: &Setup) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.arg("--project-dir").arg(setup.project.path()).arg("config-generate-env");
    cmd.env_clear().env("HOME", setup.home.path()).env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// The whole `config-generate-env` process, from exec to exit, as a start after a stop runs it:
/// `build/` does not exist yet (the stop removed it), so the file is written and renamed.
#[divan::bench(args = [2, 10_000], sample_count = 50)]
fn process(bencher: divan::Bencher, user_keys: usize) {
    let setup = setup(user_keys);
    let build = setup.project.path().join("build");
    bencher
        .with_inputs(|| {
            let _ = fs::remove_dir_all(&build);
        })
        .bench_local_values(|()| {
            let output = xtask(&setup).output().expect("run xtask");
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        });
}

/// Parse, merge, resolve, check and render, in process (no file writes).
#[divan::bench(args = [2, 10_000], sample_count = 50)]
fn pipeline(bencher: divan::Bencher, user_keys: usize) {
    let setup = setup(user_keys);
    let project = ProjectPaths::new(setup.project.path());
    let user = UserPaths::under(setup.home.path());
    let home: PathBuf = setup.home.path().to_path_buf();
    let env = move |name: &str| (name == "HOME").then(|| home.display().to_string());
    bencher.bench_local(|| {
        let config = Configuration::load(&project, &user, KeyAccess::CreateIfMissing, &env).expect("loads");
        render_env(&config.resolved)
    });
}
