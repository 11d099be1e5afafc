//! What every test of the binary shares: a sandbox per test (a temporary HOME and project
//! directory, real files, the real xtask binary), the fake docker, and the test key.

pub mod fake_docker;
pub mod tasks;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// A valid secret key (base64 of 32 bytes), as a key file holds it.
pub const VALID_KEY: &str = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\n";

/// The repository root (where the shipped `.default.conf` lives).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// A temporary HOME and project; both are removed when it is dropped.
pub struct Sandbox {
    pub home: TempDir,
    pub project: TempDir,
    /// Extra environment for every run.
    pub env: Vec<(String, String)>,
}

/// What a run of the binary did.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Sandbox {
    /// A project with the shipped `.default.conf`.
    pub fn new() -> Self {
        Self::with_defaults(&fs::read_to_string(repo_root().join(".default.conf")).expect("shipped defaults"))
    }

    /// A project whose `.default.conf` is `defaults`.
    pub fn with_defaults(defaults: &str) -> Self {
        let sandbox = Sandbox {
            home: tempfile::Builder::new().prefix("home").tempdir().expect("temp HOME"),
            project: tempfile::Builder::new().prefix("project").tempdir().expect("temp project"),
            env: Vec::new(),
        };
        fs::write(sandbox.project.path().join(".default.conf"), defaults).expect("write defaults");
        sandbox
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn project(&self) -> &Path {
        self.project.path()
    }

    pub fn user_dir(&self) -> PathBuf {
        self.home().join(".lumigator")
    }

    pub fn key_file(&self) -> PathBuf {
        self.user_dir().join("lumigator.key")
    }

    pub fn env_file(&self) -> PathBuf {
        self.project().join("build/.env")
    }

    /// Writes `~/.lumigator/user.conf`, creating the folder (mode 0700) if needed.
    pub fn user_conf(&self, text: impl AsRef<[u8]>) -> &Self {
        fs::create_dir_all(self.user_dir()).expect("user dir");
        fs::set_permissions(self.user_dir(), fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::write(self.user_dir().join("user.conf"), text).expect("write user.conf");
        self
    }

    /// Writes a key file with `text` (mode 0600).
    pub fn key(&self, text: &str) -> &Self {
        fs::create_dir_all(self.user_dir()).expect("user dir");
        fs::set_permissions(self.user_dir(), fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::write(self.key_file(), text).expect("write key");
        fs::set_permissions(self.key_file(), fs::Permissions::from_mode(0o600)).expect("chmod");
        self
    }

    /// The command for `cargo xtask --project-dir <project> <args>`, with a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        cmd.arg("--project-dir").arg(self.project()).args(args);
        cmd.env_clear()
            .env("HOME", self.home())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .current_dir(self.project());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `cargo xtask <args>` and waits.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("run xtask");
        Run::from(output)
    }

    /// Replaces the sandbox's paths (and the key, if any) with placeholders, for snapshots.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        if let Ok(key) = fs::read_to_string(self.key_file()) {
            let key = key.trim_end();
            if !key.is_empty() {
                text = text.replace(key, "[KEY]");
            }
        }
        text.replace(&self.project().display().to_string(), "[PROJECT]")
            .replace(&self.home().display().to_string(), "[HOME]")
    }

    pub fn read_env(&self) -> String {
        fs::read_to_string(self.env_file()).expect("build/.env exists")
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// stdout and stderr together, for snapshots.
    pub fn transcript(&self) -> String {
        format!("status: {}\n--- stdout\n{}--- stderr\n{}", self.status, self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.status, 0, "expected success:\n{}", self.transcript());
        self
    }

    #[track_caller]
    pub fn assert_failed(&self) -> &Self {
        assert_ne!(self.status, 0, "expected failure:\n{}", self.transcript());
        self
    }
}

/// The mode bits of `path`.
pub fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

impl Sandbox {
    /// Runs `cargo xtask <args>` with `input` piped on standard input (then closed), and waits.
    pub fn run_with_stdin(&self, args: &[&str], input: impl AsRef<[u8]>) -> Run {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start xtask");
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = input.as_ref().to_vec();
        // A separate writer, so a child that exits (or fills its pipes) before reading it all
        // cannot deadlock the test; a broken pipe then is the child's choice, not a failure.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let output = child.wait_with_output().expect("wait for xtask");
        writer.join().expect("stdin writer");
        Run::from(output)
    }
}

// Helpers of the hardening tests: a permissive umask, an unprivileged user, and a time limit.

/// `inner` (its program, arguments, environment and directory) run through `wrapper`: a command
/// that ends by exec'ing the program and arguments that follow it (`sh -c '...; exec "$0" "$@"'`,
/// `setpriv ...`). `program` replaces `inner`'s program when given.
pub fn wrapped(wrapper: &[&std::ffi::OsStr], inner: &Command, program: Option<&Path>) -> Command {
    let mut cmd = Command::new(wrapper[0]);
    cmd.args(&wrapper[1..]).arg(program.map_or(inner.get_program(), Path::as_os_str)).args(inner.get_args());
    cmd.env_clear();
    for (name, value) in inner.get_envs() {
        if let Some(value) = value {
            cmd.env(name, value);
        }
    }
    if let Some(dir) = inner.get_current_dir() {
        cmd.current_dir(dir);
    }
    cmd
}

/// The first `name` on the test's own PATH (the sandbox's PATH may hold only the fake docker).
pub fn which(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{name}` is needed on PATH for this test"))
}

/// Whether the tests run as root, for whom file modes do not apply (CI and containers do).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::tempfile().expect("temp file");
    probe.metadata().expect("stat").uid() == 0
}

/// The user and group the tests drop to when they run as root.
pub const NOBODY: u32 = 65534;

fn give_to_nobody(path: &Path) {
    std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY)).expect("chown");
    if fs::symlink_metadata(path).expect("stat").is_dir() {
        for entry in fs::read_dir(path).expect("read dir") {
            give_to_nobody(&entry.expect("entry").path());
        }
    }
}

impl Sandbox {
    /// `cargo xtask <args>` started with this umask (`000` creates everything world-writable
    /// unless the tool sets the modes itself).
    pub fn command_with_umask(&self, umask: &str, args: &[&str]) -> Command {
        let script = format!("umask {umask}; exec \"$0\" \"$@\"");
        let sh = which("sh");
        wrapped(&[sh.as_os_str(), "-c".as_ref(), script.as_ref()], &self.command(args), None)
    }

    /// `cargo xtask <args>` run by a user for whom modes apply, so that a file mode 000 is
    /// unreadable and a folder mode 500 unwritable. As root, for whom they do not, it runs as
    /// nobody (through util-linux's `setpriv`): the sandbox is handed to nobody, and the binary
    /// is linked (or copied) into its HOME so nobody can run it whatever the checkout's modes.
    /// Call it after the sandbox is set up: files made later still belong to root.
    pub fn command_unprivileged(&self, args: &[&str]) -> Command {
        if !running_as_root() {
            return self.command(args);
        }
        let binary = self.home().join("xtask-for-nobody");
        if !binary.exists() && fs::hard_link(env!("CARGO_BIN_EXE_xtask"), &binary).is_err() {
            fs::copy(env!("CARGO_BIN_EXE_xtask"), &binary).expect("copy the binary");
        }
        give_to_nobody(self.home());
        give_to_nobody(self.project());
        let setpriv = which("setpriv");
        let ids = [format!("--reuid={NOBODY}"), format!("--regid={NOBODY}")];
        let wrapper = [setpriv.as_os_str(), ids[0].as_ref(), ids[1].as_ref(), "--clear-groups".as_ref()];
        wrapped(&wrapper, &self.command(args), Some(&binary))
    }
}

/// Runs `cmd` and waits at most `limit`: a run still going then is killed and fails the test
/// (a task that blocks, on a FIFO say, must fail the test, not hang it).
#[track_caller]
pub fn run_within(mut cmd: Command, limit: std::time::Duration) -> Run {
    use std::io::Read;
    use std::process::Stdio;
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start xtask");
    // Readers drain the pipes meanwhile, so a talkative child cannot block on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let run = Run {
        status: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    };
    assert!(status.is_some(), "still running after {limit:?}, killed:\n{}", run.transcript());
    run
}

/// The pinned Lumigator snapshot (`../shared/lumigator`, or `$LUMIGATOR_SNAPSHOT`): data for the
/// tests that compare with Lumigator or run its suites. Never written: tests work on a copy.
pub fn lumigator_snapshot() -> PathBuf {
    let dir = std::env::var_os("LUMIGATOR_SNAPSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/lumigator"));
    assert!(
        dir.join("docker-compose.yaml").is_file() && dir.join(".default.conf").is_file(),
        "no Lumigator snapshot at {} (set LUMIGATOR_SNAPSHOT to its directory)",
        dir.display()
    );
    dir
}

/// A copy of `from` at `to`, writable so the temporary directory can be removed (symbolic links
/// are left out).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("entry");
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            copy_tree(&source, &target);
        } else if kind.is_file() {
            fs::copy(&source, &target).unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
            fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).expect("chmod");
        }
    }
}

/// Every Rust source file below `dir`, for the tests that read the code itself.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).unwrap_or_else(|err| panic!("{}: {err}", folder.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
