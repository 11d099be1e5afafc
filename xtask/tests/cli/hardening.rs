//! Hardening: under hostile input, concurrent runs and interruptions the tool keeps working and
//! loses nothing, and the secret key never shows. Like the README's examples, every test runs the
//! real binary on a temporary HOME and project, with real files and real processes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt, symlink};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::fake_docker::FakeDocker;
use crate::support::{Run, Sandbox, VALID_KEY, mode, repo_root, run_within, tasks, which};
use lumigator_conf::lock::ProjectLock;
use lumigator_conf::template::Template;
use lumigator_conf::{ConfFile, ProjectPaths, SECRET_KEY_VAR, SecretKey};

/// Far longer than any task takes here: a run that reaches it is blocked, and fails the test.
const LIMIT: Duration = Duration::from_secs(60);

/// What the message says when another task holds the project's lock.
const BUSY: &str = "another cargo xtask task";

// ------------------------------------------------------------------------------------------------
// Hostile input: every malformed file and unusable path is an error that names the place and
// changes nothing.

/// Everything under `dir`, each path with its kind, mode and content (files) or target (links),
/// so that comparing two of them shows any change. FIFOs are never opened: that would block.
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(path: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(meta) = fs::symlink_metadata(path) else { return };
        let mode = meta.permissions().mode() & 0o7777;
        let kind = meta.file_type();
        let description = if kind.is_symlink() {
            format!("link to {:?}", fs::read_link(path).expect("read link"))
        } else if kind.is_dir() {
            for entry in fs::read_dir(path).expect("read dir") {
                walk(&entry.expect("entry").path(), out);
            }
            format!("dir {mode:o}")
        } else if kind.is_file() {
            format!("file {mode:o} b\"{}\"", fs::read(path).expect("read").escape_ascii())
        } else {
            format!("special {mode:o} fifo={}", kind.is_fifo())
        };
        out.insert(path.to_path_buf(), description);
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// The names in `dir` (none when it is missing).
fn names_in(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// `text` with the sandbox's paths and the known key replaced by placeholders, and the process id
/// in the lock's message by `[PID]`. (Sandbox::redact reads the key file: a FIFO would block it.)
fn shown(sandbox: &Sandbox, text: &str) -> String {
    let text = text
        .replace(&format!("`ps -f -p {}`", std::process::id()), "`ps -f -p [PID]`")
        .replace(VALID_KEY.trim_end(), "[KEY]")
        .replace(&sandbox.project().display().to_string(), "[PROJECT]")
        .replace(&sandbox.home().display().to_string(), "[HOME]");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("(process ") {
        let after = &rest[at + "(process ".len()..];
        out.push_str(&rest[..at]);
        out.push_str("(process [PID]");
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
        // The holder's program, when it is not an xtask (the test binary holding the lock).
        if let Some(program) = rest.strip_prefix(", `")
            && let Some(end) = program.find('`')
        {
            out.push_str(", `[PROGRAM]`");
            rest = &program[end + 1..];
        }
    }
    out + rest
}

/// Whether `text` names `path` followed by `:LINE:COLUMN:`.
fn names_with_location(text: &str, path: &str) -> bool {
    text.match_indices(path).any(|(at, _)| {
        let mut parts = text[at + path.len()..].splitn(4, ':');
        let (empty, line, column) = (parts.next(), parts.next(), parts.next());
        let number = |part: Option<&str>| part.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        empty == Some("") && number(line) && number(column) && parts.next().is_some()
    })
}

/// A previous run's build/.env, which a failed run must remove rather than leave stale.
const STALE_ENV: &[u8] = b"# from an earlier run\nSTALE=1\n";

fn stale_build_env(sandbox: &Sandbox) {
    fs::create_dir_all(sandbox.project().join("build")).expect("mkdir build");
    fs::write(sandbox.env_file(), STALE_ENV).expect("write");
    fs::set_permissions(sandbox.env_file(), fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// The promises every failing case keeps: a non-zero exit, a message on stderr that names `path`
/// (with its line and column when `located`) and nothing on stdout, `~/.lumigator` exactly as it
/// was (so the key is byte-identical), and no build/.env, partial or stale: build/ is removed, or
/// left exactly as it was when the task stopped before it knew the project (`keeps_build`).
/// Returns the message for the snapshot.
#[track_caller]
fn assert_fails_cleanly(
    sandbox: &Sandbox,
    run: &Run,
    user_dir_before: &BTreeMap<PathBuf, String>,
    (path, located): (&Path, bool),
    keeps_build: bool,
) -> String {
    let message = shown(sandbox, &run.stderr);
    let path = shown(sandbox, &path.display().to_string());
    assert_ne!(run.status, 0, "expected a failure:\n{message}");
    assert!(run.stdout.is_empty(), "nothing on stdout:\n{}", run.stdout);
    assert!(message.contains("error:"), "an error message:\n{message}");
    if located {
        assert!(names_with_location(&message, &path), "names {path}:LINE:COLUMN:\n{message}");
    } else {
        assert!(message.contains(&path), "names {path}:\n{message}");
    }
    assert_eq!(&tree(&sandbox.user_dir()), user_dir_before, "~/.lumigator is unchanged:\n{message}");
    let build = sandbox.project().join("build");
    if keeps_build {
        assert_eq!(names_in(&build), BTreeSet::from([".env".to_string()]), "build/ as it was:\n{message}");
        assert_eq!(fs::read(sandbox.env_file()).expect("build/.env"), STALE_ENV, "build/.env as it was");
    } else {
        assert!(!build.exists(), "build/ is removed, with no partial or stale build/.env:\n{message}");
    }
    message
}

/// Each file of tests/malformed as user.conf: `config-generate-env` fails with the file, line and
/// column, and changes nothing. The same file as .default.conf is rejected in the same way.
#[test]
fn malformed_conf_files_are_errors_with_their_place_and_change_nothing() {
    let mut files: Vec<PathBuf> = fs::read_dir(repo_root().join("tests/malformed"))
        .expect("tests/malformed")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "the corpus keeps at least 25 cases, found {}", files.len());
    let mut transcript = String::new();
    for file in &files {
        let name = file.file_name().expect("name").to_string_lossy();
        let content = fs::read(file).expect("read case");

        let sandbox = Sandbox::new();
        sandbox.key(VALID_KEY).user_conf(&content);
        stale_build_env(&sandbox);
        let before = tree(&sandbox.user_dir());
        let run = run_within(sandbox.command(&["config-generate-env"]), LIMIT);
        let message = assert_fails_cleanly(&sandbox, &run, &before, (&user_conf(&sandbox), true), false);
        transcript.push_str(&format!("## {name} (exit {})\n{message}", run.status));

        let as_defaults = Sandbox::with_defaults("");
        fs::write(as_defaults.project().join(".default.conf"), &content).expect("write defaults");
        as_defaults.key(VALID_KEY);
        let before = tree(&as_defaults.user_dir());
        let run = run_within(as_defaults.command(&["config-generate-env"]), LIMIT);
        let defaults = as_defaults.project().join(".default.conf");
        assert_fails_cleanly(&as_defaults, &run, &before, (&defaults, true), false);
    }
    insta::assert_snapshot!(transcript);
}

fn mkfifo(path: &Path) {
    let status = Command::new(which("mkfifo")).arg(path).status().expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn remove(path: &Path) {
    let removed = if path.is_dir() && !path.is_symlink() { fs::remove_dir_all(path) } else { fs::remove_file(path) };
    removed.expect("remove");
}

/// One unusable file or folder, made by the test: the sandbox starts with a valid key and an
/// empty user.conf; `setup` breaks something; the error must name `names`.
struct Unusable {
    name: &'static str,
    setup: fn(&Sandbox),
    names: fn(&Sandbox) -> PathBuf,
    /// Run as a user for whom modes apply (as root, nobody): for modes that root ignores.
    unprivileged: bool,
    /// The task stops before it knows the project is one, so it leaves build/ alone.
    keeps_build: bool,
}

fn user_conf(s: &Sandbox) -> PathBuf {
    s.user_dir().join("user.conf")
}

#[test]
fn unusable_files_and_folders_are_errors_that_change_nothing() {
    let cases = [
        Unusable {
            name: "user.conf is a directory",
            setup: |s| {
                remove(&user_conf(s));
                fs::create_dir(user_conf(s)).expect("mkdir");
            },
            names: user_conf,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "user.conf is a FIFO (opening it would block)",
            setup: |s| {
                remove(&user_conf(s));
                mkfifo(&user_conf(s));
            },
            names: user_conf,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "user.conf is a symbolic link to a missing file",
            setup: |s| {
                remove(&user_conf(s));
                symlink(s.home().join("moved-away.conf"), user_conf(s)).expect("symlink");
            },
            names: user_conf,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "user.conf is a symbolic link to itself",
            setup: |s| {
                remove(&user_conf(s));
                symlink(user_conf(s), user_conf(s)).expect("symlink");
            },
            names: user_conf,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "user.conf is unreadable (mode 000)",
            setup: |s| fs::set_permissions(user_conf(s), fs::Permissions::from_mode(0o000)).expect("chmod"),
            names: user_conf,
            unprivileged: true,
            keeps_build: false,
        },
        Unusable {
            name: "the key file is empty",
            setup: |s| {
                s.key("");
            },
            names: Sandbox::key_file,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "the key is too short",
            setup: |s| {
                s.key("c2hvcnQ=\n");
            },
            names: Sandbox::key_file,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "the key is not base64",
            setup: |s| {
                s.key("not base64 at all!\n");
            },
            names: Sandbox::key_file,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "the key is a valid one with a character changed",
            setup: |s| {
                s.key(&VALID_KEY.replacen('M', "!", 1));
            },
            names: Sandbox::key_file,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "the key file is not text",
            setup: |s| fs::write(s.key_file(), b"\xff\xfe\x00binary\n").expect("write"),
            names: Sandbox::key_file,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "the key file is a FIFO (opening it would block)",
            setup: |s| {
                remove(&s.key_file());
                mkfifo(&s.key_file());
            },
            names: Sandbox::key_file,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "the key file is a directory",
            setup: |s| {
                remove(&s.key_file());
                fs::create_dir(s.key_file()).expect("mkdir");
            },
            names: Sandbox::key_file,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "the key file is a symbolic link to a missing file (not replaced by a new key)",
            setup: |s| {
                remove(&s.key_file());
                symlink(s.home().join("backup/lumigator.key"), s.key_file()).expect("symlink");
            },
            names: Sandbox::key_file,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "~/.lumigator is a file",
            setup: |s| {
                remove(&s.user_dir());
                fs::write(s.user_dir(), "not a directory\n").expect("write");
            },
            names: Sandbox::user_dir,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "~/.lumigator is a symbolic link to a missing folder",
            setup: |s| {
                remove(&s.user_dir());
                symlink(s.home().join("elsewhere"), s.user_dir()).expect("symlink");
            },
            names: Sandbox::user_dir,
            unprivileged: false,
            keeps_build: false,
        },
        Unusable {
            name: "~/.lumigator is read-only (mode 500) and has no key yet",
            setup: |s| {
                remove(&s.key_file());
                fs::set_permissions(s.user_dir(), fs::Permissions::from_mode(0o500)).expect("chmod");
            },
            names: Sandbox::key_file,
            unprivileged: true,
            keeps_build: false,
        },
        Unusable {
            name: ".default.conf is unreadable (mode 000)",
            setup: |s| {
                let defaults = s.project().join(".default.conf");
                fs::set_permissions(defaults, fs::Permissions::from_mode(0o000)).expect("chmod");
            },
            names: |s| s.project().join(".default.conf"),
            unprivileged: true,
            keeps_build: false,
        },
        Unusable {
            name: ".default.conf is a FIFO (opening it would block)",
            setup: |s| {
                let defaults = s.project().join(".default.conf");
                remove(&defaults);
                mkfifo(&defaults);
            },
            names: |s| s.project().join(".default.conf"),
            unprivileged: false,
            keeps_build: false,
        },
    ];
    let mut transcript = String::new();
    for case in &cases {
        let sandbox = Sandbox::new();
        sandbox.key(VALID_KEY).user_conf("");
        stale_build_env(&sandbox);
        (case.setup)(&sandbox);
        let before = tree(&sandbox.user_dir());
        let command = if case.unprivileged {
            sandbox.command_unprivileged(&["config-generate-env"])
        } else {
            sandbox.command(&["config-generate-env"])
        };
        let run = run_within(command, LIMIT);
        let message = assert_fails_cleanly(&sandbox, &run, &before, (&(case.names)(&sandbox), false), case.keeps_build);
        // Writable again, so that the sandbox can be removed by a user who is not root.
        if case.unprivileged && !sandbox.user_dir().is_symlink() {
            let _ = fs::set_permissions(sandbox.user_dir(), fs::Permissions::from_mode(0o700));
        }
        transcript.push_str(&format!("## {} (exit {})\n{message}", case.name, run.status));
    }
    insta::assert_snapshot!(transcript);
}

// ------------------------------------------------------------------------------------------------
// Concurrent runs: one task at a time per project; the others say so and change nothing.

/// A user.conf of about `size` bytes: settings Lumigator does not know, with long values that
/// reference a known one, so that a run takes a while and writes a large build/.env.
fn large_user_conf(size: usize) -> String {
    let mut text = String::from("# generated by the hardening tests\nS3_BUCKET=large-bucket\n");
    let mut n = 0;
    while text.len() < size {
        let chunk = format!("part {n} of a long value with ${{S3_BUCKET}} and a # hash; ");
        text.push_str(&format!("EXTRA_SETTING_{n:05}=\"{}\"\n", chunk.repeat(8)));
        n += 1;
    }
    text
}

/// Whether `run` failed because another process held the project's lock, saying which project:
/// another task (`another cargo xtask task (process N) is working on P`) or, when the holder is
/// not an xtask (this test binary) or could not be identified, `... holds the lock on P`.
fn says_busy(run: &Run, sandbox: &Sandbox) -> bool {
    let project = sandbox.project().display().to_string();
    let by_task = run.stderr.contains(BUSY) && run.stderr.contains(&format!("is working on {project}\nhelp: "));
    let by_program = run.stderr.contains(&format!("holds the lock on {project}\nhelp: "));
    run.status != 0 && (by_task || by_program)
}

/// Checks what a finished batch of tasks left: `~/.lumigator` holds the key (valid, and `key` when
/// given) and user.conf and nothing else; build/ holds at most .env, which parses and carries the
/// key. Returns the key and build/.env.
#[track_caller]
fn check_settled(sandbox: &Sandbox, key: Option<&str>) -> (String, Option<String>) {
    assert_eq!(names_in(&sandbox.user_dir()), BTreeSet::from(["lumigator.key".into(), "user.conf".into()]));
    let found = fs::read_to_string(sandbox.key_file()).expect("one key");
    SecretKey::from_file_text(&found).expect("a valid key");
    if let Some(key) = key {
        assert_eq!(found, key, "the key is never replaced");
    }
    let build = names_in(&sandbox.project().join("build"));
    assert!(build.is_empty() || build == BTreeSet::from([".env".to_string()]), "build/ holds {build:?}");
    let env = fs::read_to_string(sandbox.env_file()).ok();
    if let Some(env) = &env {
        let parsed = ConfFile::parse(&sandbox.env_file(), env.as_bytes()).expect("build/.env parses");
        let secret = parsed.entries.iter().find(|e| e.key == SECRET_KEY_VAR).expect("the key is in build/.env");
        assert!(secret.value == Template::literal(found.trim_end()), "build/.env carries the key file's key");
        assert_eq!(mode(&sandbox.env_file()), 0o600);
    }
    (found, env)
}

#[test]
fn eight_tasks_at_once_either_work_or_say_another_one_is_working() {
    let mut sandbox = Sandbox::new();
    let _docker = FakeDocker::install(&mut sandbox, &["docker"]);
    sandbox.user_conf(large_user_conf(200_000));
    let tasks = [
        "config-generate-env",
        "start-lumigator",
        "stop-lumigator",
        "config-generate-env",
        "start-lumigator",
        "config-generate-env",
        "stop-lumigator",
        "start-lumigator",
    ];
    let (mut key, mut seen, mut busy) = (None, Vec::new(), 0);
    for round in 0..4 {
        // Started together: each spawn returns once the process runs, long before any finishes.
        let children: Vec<(&str, Child)> = tasks
            .iter()
            .map(|task| {
                let mut cmd = sandbox.command(&[task]);
                cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
                (*task, cmd.spawn().expect("start xtask"))
            })
            .collect();
        let mut succeeded = 0;
        for (task, child) in children {
            let run = Run::from(child.wait_with_output().expect("wait"));
            if run.status == 0 {
                succeeded += 1;
            } else {
                assert!(says_busy(&run, &sandbox), "round {round}, {task}: {}", shown(&sandbox, &run.transcript()));
                busy += 1;
            }
        }
        assert!(succeeded >= 1, "round {round}: the task that held the lock succeeded");
        let (found, env) = check_settled(&sandbox, key.as_deref());
        key = Some(found);
        seen.extend(env);
    }
    assert!(busy > 0, "eight tasks at once on one project met at least once");
    // What a lone config-generate-env and start-lumigator write: every build/.env seen is one
    // of these, whole.
    sandbox.run(&["config-generate-env"]).assert_ok();
    let generated = sandbox.read_env();
    sandbox.run(&["start-lumigator"]).assert_ok();
    let started = sandbox.read_env();
    for env in &seen {
        assert!(env == &generated || env == &started, "a build/.env that no single task writes");
    }
}

#[test]
fn a_task_that_finds_the_project_busy_says_so_and_changes_nothing() {
    let mut sandbox = Sandbox::new();
    let _docker = FakeDocker::install(&mut sandbox, &["docker"]);
    sandbox.key(VALID_KEY);
    sandbox.run(&["start-lumigator"]).assert_ok();
    // This test process holds the lock, as a running task would.
    let lock = ProjectLock::try_acquire(&ProjectPaths::new(sandbox.project())).expect("take the lock");
    let project_before = tree(sandbox.project());
    let user_dir_before = tree(&sandbox.user_dir());
    let mut transcript = String::new();
    for task in ["config-generate-env", "config-clean", "start-lumigator", "stop-lumigator", "local-down"] {
        let run = run_within(sandbox.command(&[task]), LIMIT);
        assert!(says_busy(&run, &sandbox), "{task}: {}", run.transcript());
        assert_eq!(tree(sandbox.project()), project_before, "{task} changed the project");
        assert_eq!(tree(&sandbox.user_dir()), user_dir_before, "{task} changed ~/.lumigator");
        transcript.push_str(&format!("## {task} (exit {})\n{}", run.status, shown(&sandbox, &run.stderr)));
    }
    insta::assert_snapshot!(transcript);
    drop(lock);
    sandbox.run(&["stop-lumigator"]).assert_ok();
    assert!(!sandbox.project().join("build").exists());
}

// ------------------------------------------------------------------------------------------------
// Interruptions: SIGINT or SIGTERM at any moment leave the old build/.env or the new one, whole.

/// A shell that sends signals on request: spawning `kill` each time would take a millisecond or
/// more, too coarse to land early in a run. It answers once the signal is sent, so the caller
/// reaps the signalled child only afterwards (until then its pid cannot be reused).
struct Killer {
    shell: Child,
    requests: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl Killer {
    fn start() -> Self {
        let script = "while read -r signal pid; do kill -s \"$signal\" \"$pid\" 2>/dev/null; echo sent; done";
        let mut shell = Command::new(which("sh"))
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the signal shell");
        let requests = shell.stdin.take().expect("piped stdin");
        let answers = BufReader::new(shell.stdout.take().expect("piped stdout"));
        Killer { shell, requests, answers }
    }

    fn send(&mut self, signal: &str, pid: u32) {
        writeln!(self.requests, "{signal} {pid}").and_then(|()| self.requests.flush()).expect("ask for a signal");
        let mut answer = String::new();
        self.answers.read_line(&mut answer).expect("signal sent");
        assert_eq!(answer, "sent\n");
    }
}

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.shell.kill();
        let _ = self.shell.wait();
    }
}

/// A small xorshift generator: the delays only need to be spread out, and the seed is printed
/// with any failure so that a run can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

#[test]
fn a_signal_at_any_moment_leaves_the_old_or_the_new_build_env_whole() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY).user_conf("S3_BUCKET=old-bucket\n");
    sandbox.run(&["config-generate-env"]).assert_ok();
    let old = fs::read_to_string(sandbox.env_file()).expect("the old build/.env");
    // A large user.conf: a run takes a while and writes a large file, so signals land throughout.
    sandbox.user_conf(large_user_conf(250_000));
    let started = Instant::now();
    sandbox.run(&["config-generate-env"]).assert_ok();
    let run_time = started.elapsed();
    let new = sandbox.read_env();
    let new_with_key = |key: &str| new.replace(VALID_KEY.trim_end(), key.trim_end());

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos() as u64;
    let mut random = Random(seed | 1);
    let mut killer = Killer::start();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for round in 0..100 {
        // Every fourth round starts without a key, so the key's creation is interrupted too.
        let had_key = round % 4 != 3;
        fs::write(sandbox.env_file(), &old).expect("restore the old build/.env");
        if had_key {
            sandbox.key(VALID_KEY);
        } else {
            let _ = fs::remove_file(sandbox.key_file());
        }
        // Half the signals come within 5 ms of the start, the others anywhere in a whole run, and
        // every tenth well after a run would have ended.
        let delay = if round % 10 == 9 {
            run_time * 3 + Duration::from_millis(20)
        } else if round % 2 == 0 {
            Duration::from_micros(random.below(5_000))
        } else {
            Duration::from_micros(random.below(run_time.as_micros() as u64 * 6 / 5))
        };
        let signal = if random.below(2) == 0 { "INT" } else { "TERM" };
        let mut cmd = sandbox.command(&["config-generate-env"]);
        let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start");
        std::thread::sleep(delay);
        killer.send(signal, child.id());
        let output = child.wait_with_output().expect("wait");
        let context = format!(
            "round {round} (seed {seed}), SIG{signal} after {delay:?}, {:?}:\n{}",
            output.status,
            shown(&sandbox, &String::from_utf8_lossy(&output.stderr))
        );
        let outcome = match (output.status.code(), output.status.signal()) {
            (None, Some(2 | 15)) => "stopped by the signal before deferring it: nothing written",
            (Some(130 | 143), _) => "deferred the signal, finished writing, then stopped",
            (Some(0), _) => "finished before the signal",
            _ => panic!("an unexpected end: {context}"),
        };
        *outcomes.entry(outcome).or_default() += 1;

        let env = fs::read_to_string(sandbox.env_file()).expect("build/.env is there");
        let key = fs::read_to_string(sandbox.key_file()).ok();
        if output.status.signal().is_some() {
            assert!(env == old, "the old build/.env, whole: {context}");
            assert_eq!(key.is_some(), had_key, "no key created: {context}");
        } else {
            let key = key.unwrap_or_else(|| panic!("a key: {context}"));
            SecretKey::from_file_text(&key).unwrap_or_else(|e| panic!("a valid key ({e}): {context}"));
            if had_key {
                assert_eq!(key, VALID_KEY, "the key is never replaced: {context}");
            }
            assert!(env == new_with_key(&key), "the new build/.env, whole: {context}");
        }
        assert_eq!(names_in(&sandbox.project().join("build")), BTreeSet::from([".env".to_string()]), "{context}");
        let user_dir = names_in(&sandbox.user_dir());
        assert!(user_dir.iter().all(|n| n == "lumigator.key" || n == "user.conf"), "{user_dir:?}: {context}");
    }
    // Both sides of the deferral were reached, or the test did not test it. (Finishing first is
    // the common case of a late signal, but a loaded machine may stretch even the late rounds, so
    // it is not required.)
    for side in [
        "stopped by the signal before deferring it: nothing written",
        "deferred the signal, finished writing, then stopped",
    ] {
        assert!(outcomes.contains_key(side), "{side:?} happened at least once (seed {seed}): {outcomes:#?}");
    }
}

// ------------------------------------------------------------------------------------------------
// Secret hygiene: the key never reaches a terminal or a command line, and the files that hold it
// stay private whatever the umask.

/// One way of running every task: extra flags, what the fake docker does, and user.conf.
struct Variant<'a> {
    name: &'static str,
    flags: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    conf: &'a str,
}

/// Asserts the modes of the files that hold the key: build/ 0700 and build/.env 0600 when they
/// exist, ~/.lumigator 0700 and the key 0600.
#[track_caller]
fn assert_private(sandbox: &Sandbox, context: &str) {
    let build = sandbox.project().join("build");
    for (path, expected) in [(build.as_path(), 0o700), (&sandbox.env_file(), 0o600)] {
        if path.exists() {
            assert_eq!(mode(path), expected, "{} after {context}", path.display());
        }
    }
    assert_eq!(mode(&sandbox.user_dir()), 0o700, "~/.lumigator after {context}");
    assert_eq!(mode(&sandbox.key_file()), 0o600, "the key after {context}");
}

#[test]
fn no_task_shows_the_key_and_its_files_stay_private_under_umask_000() {
    let (sandbox, docker) = crate::support::fake_docker::source_checkout();
    // The tool makes the folder and the key itself, under a umask that would leave them open.
    run_within(sandbox.command_with_umask("000", &["config-generate-key"]), LIMIT).assert_ok();
    assert_private(&sandbox, "config-generate-key");
    let key = fs::read_to_string(sandbox.key_file()).expect("the key").trim_end().to_string();
    // A secret setting is never shown either.
    let password = "a-minio-password-only-this-test-knows";
    let good_conf = format!("MINIO_ROOT_PASSWORD={password}\n");
    sandbox.user_conf(&good_conf);

    // A backend address where nothing listens: the secret tasks take their error path.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let backend = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let extra_args = |task: &str| -> Vec<String> {
        match task {
            "secret-set" => vec!["openai".into(), "--api-url".into(), backend.clone()],
            "secret-delete" => vec!["openai_api_key".into(), "--api-url".into(), backend.clone()],
            "secret-list" => vec!["--api-url".into(), backend.clone()],
            "config-export" => vec!["--format".into(), "k8s".into()],
            _ => Vec::new(),
        }
    };
    // What comes after the options: `run`'s command, which takes every later word as its own.
    let command = |task: &str| -> Vec<String> {
        match task {
            "run" => vec!["--".into(), "true".into()],
            _ => Vec::new(),
        }
    };
    let broken_conf = "MINIO_ROOT_PASSWORD=x\nRAY_DASHBOARD_PORT=abc\nBROKEN\n";
    let variants = [
        Variant { name: "as is", flags: &[], env: &[], conf: &good_conf },
        Variant { name: "--dry-run", flags: &["--dry-run"], env: &[], conf: &good_conf },
        Variant { name: "JSON output where there is one", flags: &["--format", "json"], env: &[], conf: &good_conf },
        Variant { name: "Docker's commands fail", flags: &[], env: &[("FAKE_EXIT", "3")], conf: &good_conf },
        Variant {
            name: "the Docker daemon is down",
            flags: &[],
            env: &[("FAKE_MODE", "daemon-down")],
            conf: &good_conf,
        },
        Variant { name: "user.conf has errors", flags: &[], env: &[], conf: broken_conf },
    ];
    let mut ran = 0;
    for task in tasks::all() {
        for variant in &variants {
            sandbox.user_conf(variant.conf);
            let mut args: Vec<String> = vec![task.clone()];
            args.extend(extra_args(&task));
            args.extend(variant.flags.iter().map(|f| f.to_string()));
            args.extend(command(&task));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut cmd = sandbox.command_with_umask("000", &args);
            for (name, value) in variant.env {
                cmd.env(name, value);
            }
            let run = run_within(cmd, LIMIT);
            let context = format!("`{}` ({})", args.join(" "), variant.name);
            if run.status == 2 && run.stderr.contains("unexpected argument") {
                continue; // the task has no such flag
            }
            ran += 1;
            for secret in [key.as_str(), &key[..16], &key[key.len() - 17..], password] {
                assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{context} shows a secret");
            }
            assert_private(&sandbox, &context);
        }
    }
    assert!(ran >= 100, "every task ran in several ways ({ran} runs)");
    for call in docker.calls() {
        let line = call.argv.join(" ");
        assert!(!line.contains(&key), "the key on a command line, visible to every user: {}", call.line(&sandbox));
        assert!(call.env.values().all(|v| !v.contains(&key)), "the key in Docker's environment");
    }
    // The search finds the key where it is meant to be shown, so its silence above means something.
    sandbox.user_conf(&good_conf);
    let revealed = sandbox.run(&["config-show", "--reveal"]);
    revealed.assert_ok();
    assert!(revealed.stdout.contains(&key) && revealed.stdout.contains(password));
}
