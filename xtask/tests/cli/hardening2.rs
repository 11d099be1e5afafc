//! Hardening, round two: what a careful attacker tried beyond `hardening.rs`, one test per class.
//! Links where build/, build/.env and the lock file belong; values that multiply and names of
//! megabytes (under a memory and a time limit); the backend's echoes and `--api-url`; secrets that
//! travel through references; files and processes of another user (run as `nobody` with
//! `setpriv`, as `hardening.rs` does); doctor interrupted. The library-level counterparts are in
//! `lumigator-conf/tests/api/hardening.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::secrets::{Behaviour, FakeBackend};
use crate::support::fake_docker::{FakeDocker, source_checkout};
use crate::support::{NOBODY, Run, Sandbox, VALID_KEY, mode, run_within, running_as_root, tasks, which, wrapped};

/// Far longer than any task takes here: a run that reaches it is blocked, and fails the test.
const LIMIT: Duration = Duration::from_secs(60);

/// What "at once" means for the runs that used to take minutes or exhaust memory.
const QUICK: Duration = Duration::from_secs(1);

/// The address space a run that must stay small gets (`prlimit --as`): 100 MiB. The doubling
/// values below once needed terabytes.
const MEMORY_LIMIT: u64 = 100 << 20;

/// Everything under `dir`: each path with its kind, mode and content (files) or target (links).
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(path: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(meta) = fs::symlink_metadata(path) else { return };
        let mode = meta.permissions().mode() & 0o7777;
        let description = if meta.file_type().is_symlink() {
            format!("link to {:?}", fs::read_link(path).expect("read link"))
        } else if meta.is_dir() {
            for entry in fs::read_dir(path).expect("read dir") {
                walk(&entry.expect("entry").path(), out);
            }
            format!("dir {mode:o}")
        } else {
            format!("file {mode:o} {:?}", fs::read(path).expect("read"))
        };
        out.insert(path.to_path_buf(), description);
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// `cmd` run with at most [`MEMORY_LIMIT`] of address space and [`LIMIT`] of time; returns the run
/// and how long it took.
fn run_small(cmd: &Command) -> (Run, Duration) {
    let prlimit = which("prlimit");
    let limit = format!("--as={MEMORY_LIMIT}");
    let limited = wrapped(&[prlimit.as_os_str(), limit.as_ref()], cmd, None);
    let started = Instant::now();
    let run = run_within(limited, LIMIT);
    (run, started.elapsed())
}

/// The tasks that write or delete in build/ (and take the lock): the env step's and every compose task.
fn writing_tasks() -> Vec<String> {
    let mut all = vec!["config-generate-env".to_string(), "config-clean".to_string()];
    all.extend(tasks::compose());
    all
}

/// A folder outside the project with files and a subfolder: what a link in the project points to.
fn elsewhere(sandbox: &Sandbox) -> PathBuf {
    let target = sandbox.home().join("elsewhere");
    fs::create_dir_all(target.join("sub")).expect("mkdir");
    fs::write(target.join("precious.txt"), "keep me\n").expect("write");
    fs::write(target.join("sub/deeper.txt"), "keep me too\n").expect("write");
    target
}

// ------------------------------------------------------------------------------------------------
// 1. A build/ that is a link: no task deletes, writes or chmods through it.

#[test]
fn a_build_folder_that_is_a_link_is_refused_by_every_task_and_what_it_points_to_is_untouched() {
    let (sandbox, docker) = source_checkout();
    sandbox.key(VALID_KEY);
    let target = elsewhere(&sandbox);
    let build = sandbox.project().join("build");
    symlink(&target, &build).expect("link");
    let before = tree(&target);
    for task in writing_tasks() {
        let run = run_within(sandbox.command(&[&task]), LIMIT);
        run.assert_failed();
        let expected =
            format!("error: {}: expected a directory, found a symbolic link to {}", build.display(), target.display());
        assert!(run.stderr.contains(&expected), "{task}: {}", run.transcript());
        assert!(run.stderr.contains(&format!("help: remove it (`rm {}`)", build.display())), "{task}");
        assert_eq!(tree(&target), before, "{task}: nothing deleted, written or chmodded behind the link");
        assert!(build.is_symlink(), "{task}: the link itself is left for the user to look at");
    }
    assert!(docker.actions().is_empty(), "no Compose action ran: {:?}", docker.actions());

    // build/.env as a link: refused the same way; config-clean removes the link, not its target.
    fs::remove_file(&build).expect("unlink");
    fs::create_dir(&build).expect("mkdir");
    symlink(target.join("precious.txt"), build.join(".env")).expect("link");
    for task in ["config-generate-env", "start-lumigator", "stop-lumigator"] {
        let run = run_within(sandbox.command(&[task]), LIMIT);
        run.assert_failed();
        assert!(
            run.stderr.contains("/build/.env: expected a regular file, found a symbolic link to "),
            "{task}: {}",
            run.transcript()
        );
        assert_eq!(tree(&target), before, "{task}");
    }
    run_within(sandbox.command(&["config-clean"]), LIMIT).assert_ok();
    assert!(!build.exists());
    assert_eq!(tree(&target), before, "config-clean removed the link, not what it points to");
}

// ------------------------------------------------------------------------------------------------
// 2. The lock file as a link: never followed, never created through.

#[test]
fn a_lock_file_that_is_a_link_is_refused_and_nothing_is_written_or_created_through_it() {
    let (sandbox, _docker) = source_checkout();
    sandbox.key(VALID_KEY);
    let target = elsewhere(&sandbox);
    let lock = sandbox.project().join(".xtask.lock");
    for (name, points_to) in [("a file", target.join("precious.txt")), ("nothing", target.join("created-by-the-link"))]
    {
        let _ = fs::remove_file(&lock);
        symlink(&points_to, &lock).expect("link");
        let before = tree(&target);
        for task in ["config-generate-env", "config-clean", "start-lumigator", "stop-lumigator"] {
            let run = run_within(sandbox.command(&[task]), LIMIT);
            run.assert_failed();
            let expected = format!(
                "error: {}: expected a regular file of yours, found a symbolic link to {}",
                lock.display(),
                points_to.display()
            );
            assert!(run.stderr.contains(&expected), "{name}, {task}: {}", run.transcript());
            assert_eq!(tree(&target), before, "{name}, {task}: the target is neither written nor created");
        }
    }
}

// ------------------------------------------------------------------------------------------------
// 3. Values that double from line to line: every task ends at once, with the line.

/// 40 lines, each `${A}${A}` of the one above: 663 bytes.
fn doubling() -> String {
    let mut text = String::from("A0=xxxxxxxxxxxxxxxx\n");
    for i in 1..=40 {
        text.push_str(&format!("A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
    }
    text
}

#[test]
fn values_that_double_from_line_to_line_end_every_task_at_once_with_the_line_that_passes_the_cap() {
    let (sandbox, docker) = source_checkout();
    sandbox.key(VALID_KEY).user_conf(doubling());
    assert!(doubling().len() < 700);
    // A<k> holds 16 * 2^k bytes: A19, on line 20, would be the first past 4 MiB.
    let place =
        format!("{}:20:5: A19: the value would be longer than 4 MiB", sandbox.user_dir().join("user.conf").display());
    let runs: [&[&str]; 8] = [
        &["config-check"],
        &["config-check", "--format", "json"],
        &["config-show"],
        &["config-show", "--format", "json"],
        &["config-generate-env"],
        &["start-lumigator"],
        &["--dry-run", "start-lumigator"],
        &["doctor"],
    ];
    for args in runs {
        let (run, took) = run_small(&sandbox.command(args));
        assert_eq!(run.status, 1, "{args:?}: a clear error, not a crash:\n{}", run.transcript());
        assert!(took < QUICK, "{args:?} took {took:?}");
        assert!(run.transcript().contains(&place), "{args:?} names the line:\n{}", run.transcript());
        assert!(!sandbox.env_file().exists(), "{args:?}");
    }
    assert!(docker.actions().is_empty());
}

// ------------------------------------------------------------------------------------------------
// 4. A name of megabytes: checked at once, echoed cut.

#[test]
fn a_name_of_megabytes_is_checked_at_once_and_echoed_cut() {
    let sandbox = Sandbox::new();
    let name = format!("S3_BUCKE{}", "T".repeat(2 << 20));
    sandbox.key(VALID_KEY).user_conf(format!("{name}=1\n"));
    for args in [&["config-check"][..], &["config-generate-env"]] {
        let (run, took) = run_small(&sandbox.command(args));
        run.assert_ok();
        assert!(took < QUICK, "{args:?} took {took:?}");
        let cut = format!("S3_BUCKE{}...: not a known setting", "T".repeat(52));
        assert!(run.stderr.contains(&cut), "{args:?}: {}", &run.stderr[..run.stderr.len().min(2000)]);
        assert!(run.stderr.len() < 2000, "{args:?}: the name is not echoed whole ({} bytes)", run.stderr.len());
    }
}

// ------------------------------------------------------------------------------------------------
// 5. The backend's answers: the value masked in every form, before anything is cut.

/// Whether any 12 characters in a row of `value` appear in `text`.
fn shows_part_of(text: &str, value: &str) -> bool {
    let chars: Vec<char> = value.chars().collect();
    chars.windows(12).any(|window| text.contains(&window.iter().collect::<String>()))
}

#[test]
fn the_backends_echoes_of_a_value_are_masked_in_every_form_and_never_cut_in_half() {
    let sandbox = Sandbox::new();
    // Long, and with the characters that change when the value is escaped or encoded.
    let value: String =
        format!("sk-\"quoted\"\\back/slash é & + {}", (0..300).map(|i| format!("{:x}", i % 16)).collect::<String>());
    let json_escaped = serde_json::to_string(&value).expect("json");
    let url_encoded: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let bodies = [
        ("plain text, long", format!("invalid API key: {value}")),
        (
            "JSON detail with quotes and backslashes",
            serde_json::json!({ "detail": format!("bad key {value}") }).to_string(),
        ),
        (
            "JSON detail object, re-serialised",
            serde_json::json!({ "detail": { "input": value, "why": "bad" } }).to_string(),
        ),
        (
            "ASCII-only JSON",
            format!("{{\"detail\": \"bad key {}\"}}", json_escaped.trim_matches('"').replace('é', "\\u00e9")),
        ),
        ("URL-encoded", format!("rejected value={url_encoded}")),
    ];
    for (name, body) in bodies {
        let backend = FakeBackend::start(Behaviour::Canned { status: 400, body });
        let run = sandbox.run_with_stdin(&["secret-set", "openai", "--api-url", &backend.url()], format!("{value}\n"));
        run.assert_failed();
        assert!(run.stderr.contains("HTTP 400"), "{name}: {}", run.transcript());
        assert!(!shows_part_of(&run.transcript(), &value), "{name}: part of the value shows:\n{}", run.transcript());
        assert!(run.stderr.contains("********"), "{name}: masked:\n{}", run.transcript());
    }
}

// ------------------------------------------------------------------------------------------------
// 6. --api-url: no credentials shown, no fragment or query, a real port.

#[test]
fn api_urls_with_credentials_fragments_queries_or_impossible_ports_are_usage_errors() {
    let sandbox = Sandbox::new();
    let backend = FakeBackend::start(Behaviour::Canned { status: 200, body: "[]".into() });
    let port = backend.url().rsplit(':').next().expect("port").to_string();
    let cases = [
        (format!("http://admin:hunter2@127.0.0.1:{port}"), "a user name or password"),
        (format!("http://127.0.0.1:{port}/#fragment"), "`#fragment`"),
        (format!("http://127.0.0.1:{port}/?debug=1"), "`?query`"),
        ("http://127.0.0.1:99999".to_string(), "the port must be a number from 1 to 65535"),
    ];
    for (url, why) in &cases {
        for args in [
            &["secret-list", "--api-url", url][..],
            &["secret-delete", "x", "--api-url", url],
            &["secret-set", "openai", "--api-url", url],
        ] {
            let run = sandbox.run_with_stdin(args, "sk-value\n");
            assert_eq!(run.status, 2, "{args:?}: {}", run.transcript());
            assert!(run.stderr.contains(why), "{args:?}: {}", run.transcript());
            assert!(!run.transcript().contains("hunter2"), "{args:?} shows the password: {}", run.transcript());
        }
    }
    assert!(sandbox.run(&["secret-list", "--api-url", &cases[0].0]).stderr.contains("http://***@127.0.0.1:"));
    assert!(backend.received().is_empty(), "nothing was sent: {:?}", backend.received());
}

// ------------------------------------------------------------------------------------------------
// 7. Secrets that travel through references, URLs and `:?` messages; control characters.

#[test]
fn values_derived_from_secrets_are_never_shown_and_control_characters_are_escaped() {
    let (sandbox, _docker) = source_checkout();
    let password = "minio-pw-only-this-test-knows";
    let literal = "db-pw-only-this-test-knows";
    sandbox.key(VALID_KEY).user_conf(format!(
        "MINIO_ROOT_PASSWORD={password}\n\
         DB_URL=postgresql://admin:${{MINIO_ROOT_PASSWORD}}@db/lumigator\n\
         SQLALCHEMY_DATABASE_URL=postgresql://admin:{literal}@db/lumigator\n\
         COLOURED=\"\\0033[2J\\0033[31mred\\0007\"\n"
    ));
    let runs: [&[&str]; 7] = [
        &["config-show"],
        &["config-show", "--format", "json"],
        &["config-check", "--format", "json"],
        &["--dry-run", "config-generate-env"],
        &["--dry-run", "start-lumigator"],
        &["-v", "start-lumigator"],
        &["doctor", "--format", "json"],
    ];
    for args in runs {
        let run = run_within(sandbox.command(args), LIMIT);
        run.assert_ok();
        for secret in [password, literal, VALID_KEY.trim_end()] {
            assert!(!run.transcript().contains(secret), "{args:?} shows a secret:\n{}", run.transcript());
        }
        assert!(
            !run.transcript().contains('\u{1b}') && !run.transcript().contains('\u{7}'),
            "{args:?}: a raw control character"
        );
    }
    let show = sandbox.run(&["config-show"]);
    assert!(
        show.stdout.contains("COLOURED=\"\\0033[2J\\0033[31mred\\0007\""),
        "escaped as it reads back:\n{}",
        show.stdout
    );
    assert!(show.stdout.contains("DB_URL=********") && show.stdout.contains("SQLALCHEMY_DATABASE_URL=********"));
    // What Compose gets is still the value itself.
    assert!(sandbox.read_env().contains(literal) && sandbox.read_env().contains('\u{1b}'));

    // A `:?` whose message expands a secret fails without printing it.
    sandbox.user_conf(format!(
        "MINIO_ROOT_PASSWORD={password}\nX=${{NOT_SET:?the password is ${{MINIO_ROOT_PASSWORD}}}}\n"
    ));
    for args in [&["config-check"][..], &["config-generate-env"], &["config-show", "--format", "json"]] {
        let run = sandbox.run(args);
        run.assert_failed();
        assert!(
            run.transcript().contains("X: required variable NOT_SET has no value"),
            "{args:?}: {}",
            run.transcript()
        );
        assert!(!run.transcript().contains(password), "{args:?} shows the secret:\n{}", run.transcript());
    }
}

// ------------------------------------------------------------------------------------------------
// 8. Files of another user, and a folder others can write: refused before anything is read.

#[test]
fn user_files_another_user_owns_or_can_write_are_refused_before_they_are_used() {
    let planted = "S3_BUCKET=bucket-of-someone-else\n";
    let refuses = |sandbox: &Sandbox, run: &Run, expected: &str| {
        run.assert_failed();
        assert!(run.stderr.contains(expected), "{}", run.transcript());
        assert!(!run.stdout.contains("bucket-of-someone-else"), "the planted setting was used: {}", run.stdout);
        assert!(!sandbox.env_file().exists());
    };
    // Writable by others: the folder (its files may be planted) and user.conf itself.
    let cases = [
        ("~/.lumigator mode 777", PathBuf::new(), 0o777, ".lumigator: other users can write to it (mode 777)"),
        ("user.conf mode 646", PathBuf::from("user.conf"), 0o646, "user.conf: other users can write to it (mode 646)"),
    ];
    for (what, inside, wide, expected) in cases {
        let sandbox = Sandbox::new();
        sandbox.key(VALID_KEY).user_conf(planted);
        let path = sandbox.user_dir().join(inside);
        fs::set_permissions(&path, fs::Permissions::from_mode(wide)).expect("chmod");
        let before = tree(&sandbox.user_dir());
        for task in ["config-generate-env", "config-show", "config-check"] {
            let run = run_within(sandbox.command(&[task]), LIMIT);
            refuses(&sandbox, &run, expected);
            assert!(run.stderr.contains("help: check that"), "{what}: {}", run.transcript());
        }
        assert_eq!(tree(&sandbox.user_dir()), before, "{what}: nothing repaired or created before the refusal");
        let doctor = run_within(sandbox.command(&["doctor"]), LIMIT);
        assert!(doctor.stdout.contains(expected), "{what}: doctor says so too:\n{}", doctor.stdout);
    }
    if !running_as_root() {
        return; // giving a file to another user needs root; CI runs as root
    }
    // As root: a user.conf that nobody owns.
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY).user_conf(planted);
    std::os::unix::fs::chown(sandbox.user_dir().join("user.conf"), Some(NOBODY), Some(NOBODY)).expect("chown");
    let run = run_within(sandbox.command(&["config-generate-env"]), LIMIT);
    refuses(&sandbox, &run, &format!("user.conf: owned by another user (user id {NOBODY}), so it is not used"));
    assert!(run.stderr.contains("help: if what it holds is yours, make it yours with `sudo chown $(id -u) "));
    // As nobody: a user.conf and a key that another user (daemon, id 1) owns.
    for file in ["user.conf", "lumigator.key"] {
        let sandbox = Sandbox::new();
        sandbox.key(VALID_KEY).user_conf(planted);
        let command = sandbox.command_unprivileged(&["config-generate-env"]);
        std::os::unix::fs::chown(sandbox.user_dir().join(file), Some(1), Some(1)).expect("chown");
        let run = run_within(command, LIMIT);
        refuses(&sandbox, &run, &format!("{file}: owned by another user (user id 1), so it is not used"));
    }
}

#[test]
fn modes_are_never_changed_through_a_linked_user_folder() {
    let sandbox = Sandbox::new();
    let real = sandbox.home().join("dotfiles/lumigator");
    fs::create_dir_all(&real).expect("mkdir");
    fs::write(real.join("lumigator.key"), VALID_KEY).expect("write key");
    fs::set_permissions(real.join("lumigator.key"), fs::Permissions::from_mode(0o600)).expect("chmod");
    fs::set_permissions(&real, fs::Permissions::from_mode(0o755)).expect("chmod");
    symlink(&real, sandbox.user_dir()).expect("link");
    let run = run_within(sandbox.command(&["config-generate-env"]), LIMIT);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("is a link to a folder with mode 755, readable by others; modes are not changed through a link"),
        "{}",
        run.transcript()
    );
    assert_eq!(mode(&real), 0o755, "the link's target keeps its mode");
}

// ------------------------------------------------------------------------------------------------
// 9. build/ is 0700 after every run, whatever it was.

#[test]
fn an_existing_build_folder_is_made_private_on_every_run() {
    let (sandbox, _docker) = source_checkout();
    sandbox.key(VALID_KEY);
    let build = sandbox.project().join("build");
    for task in ["config-generate-env", "config-generate-env", "start-lumigator"] {
        fs::create_dir_all(&build).expect("mkdir");
        fs::set_permissions(&build, fs::Permissions::from_mode(0o777)).expect("chmod");
        run_within(sandbox.command_with_umask("000", &[task]), LIMIT).assert_ok();
        assert_eq!(fs::metadata(&build).expect("stat").mode() & 0o7777, 0o700, "{task}");
        assert_eq!(mode(&sandbox.env_file()), 0o600, "{task}");
    }
}

// ------------------------------------------------------------------------------------------------
// 10. The lock held by another user's process: named correctly, never a process that has ended.

/// A process of `nobody` holding a shared lock on `lock` until its standard input closes.
struct ForeignHolder {
    child: Child,
}

impl ForeignHolder {
    fn start(lock: &Path) -> Self {
        let ids = [format!("--reuid={NOBODY}"), format!("--regid={NOBODY}")];
        // -o: the lock is flock's own (not inherited by cat), so it ends when flock does.
        let child = Command::new(which("setpriv"))
            .args([ids[0].as_str(), ids[1].as_str(), "--clear-groups"])
            .arg(which("flock"))
            .args(["-o", "-s"])
            .arg(lock)
            .arg(which("cat"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start flock as nobody");
        let inode = fs::metadata(lock).expect("stat").ino();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !fs::read_to_string("/proc/locks").expect("/proc/locks").contains(&format!(":{inode} ")) {
            assert!(Instant::now() < deadline, "nobody's flock never took the lock");
            std::thread::sleep(Duration::from_millis(10));
        }
        ForeignHolder { child }
    }
}

impl Drop for ForeignHolder {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_lock_held_by_another_users_process_names_that_process_and_never_one_that_has_ended() {
    if !running_as_root() {
        return; // a process of another user needs root to start; CI runs as root
    }
    let (sandbox, _docker) = source_checkout();
    sandbox.key(VALID_KEY);
    fs::set_permissions(sandbox.project(), fs::Permissions::from_mode(0o755)).expect("chmod");
    // A lock file as older versions left it: readable by all, naming a process that has ended.
    let lock = sandbox.project().join(".xtask.lock");
    let ended = (4_000_000u32..).find(|pid| !Path::new(&format!("/proc/{pid}")).exists()).expect("a free pid");
    fs::write(&lock, format!("{ended:<10}\n")).expect("write");
    fs::set_permissions(&lock, fs::Permissions::from_mode(0o644)).expect("chmod");
    let holder = ForeignHolder::start(&lock);
    let project = sandbox.project().display().to_string();
    for task in ["config-generate-env", "stop-lumigator", "config-clean"] {
        let run = run_within(sandbox.command(&[task]), LIMIT);
        run.assert_failed();
        let expected = format!(
            "another program (process {}, `flock`, of user {NOBODY}) holds the lock on {project}",
            holder.child.id()
        );
        assert!(run.stderr.contains(&expected), "{task}: {}", run.transcript());
        assert!(!run.stderr.contains(&ended.to_string()), "{task} names a process that has ended");
        assert!(run.stderr.contains(&format!("`ps -f -p {}`", holder.child.id())), "{task}");
    }
    // The file is private now: once the holder lets go, no other user can open it to hold it.
    assert_eq!(mode(&lock), 0o600);
    drop(holder);
    run_within(sandbox.command(&["stop-lumigator"]), LIMIT).assert_ok();
    let again = Command::new(which("setpriv"))
        .args([format!("--reuid={NOBODY}"), format!("--regid={NOBODY}"), "--clear-groups".into()])
        .arg(which("flock"))
        .args(["-n", "-s"])
        .arg(&lock)
        .arg(which("true"))
        .stderr(Stdio::null())
        .status()
        .expect("flock");
    assert!(!again.success(), "another user can no longer open the lock file");
}

// ------------------------------------------------------------------------------------------------
// 11. doctor interrupted: its temporary env file (which held a database password) goes.

#[test]
fn doctor_removes_its_private_temporary_folder_however_it_ends_signals_included() {
    let mut sandbox = Sandbox::new();
    let docker = FakeDocker::install(&mut sandbox, &["docker"]);
    let tmp = tempfile::Builder::new().prefix("tmp").tempdir().expect("TMPDIR");
    sandbox.env.push(("TMPDIR".into(), tmp.path().display().to_string()));
    sandbox.env.push(("FAKE_CONFIG_DELAY".into(), "1".into()));
    sandbox.key(VALID_KEY).user_conf("SQLALCHEMY_DATABASE_URL=postgresql://admin:db-pw-for-doctor@db/lumigator\n");
    let started_marker = docker.log_dir().join("config-started");

    // A whole run: the folder is gone, and the file Compose read held no password.
    run_within(sandbox.command(&["doctor"]), LIMIT).assert_ok();
    assert_eq!(fs::read_dir(tmp.path()).expect("tmp").count(), 0, "nothing left in TMPDIR");
    let env_files: Vec<String> = docker.calls().into_iter().filter_map(|call| call.env_file).collect();
    assert!(!env_files.is_empty() && env_files.iter().all(|f| !f.contains("db-pw-for-doctor")), "{env_files:?}");

    for (signal, status) in [("INT", 130), ("TERM", 143)] {
        let _ = fs::remove_file(&started_marker);
        let child = sandbox.command(&["doctor"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("doctor");
        let deadline = Instant::now() + LIMIT;
        while !started_marker.exists() {
            assert!(Instant::now() < deadline, "doctor never read the Compose model");
            std::thread::sleep(Duration::from_millis(5));
        }
        // While Compose reads it: one private folder, one private file.
        let folders: Vec<PathBuf> = fs::read_dir(tmp.path()).expect("tmp").map(|e| e.expect("entry").path()).collect();
        assert_eq!(folders.len(), 1, "{folders:?}");
        assert!(folders[0].file_name().is_some_and(|n| n.to_string_lossy().starts_with("lumigator-doctor-")));
        assert_eq!(mode(&folders[0]), 0o700);
        assert_eq!(mode(&folders[0].join("doctor.env")), 0o600);
        let sent = Command::new("/bin/kill").args(["-s", signal, &child.id().to_string()]).status().expect("kill");
        assert!(sent.success());
        let output = child.wait_with_output().expect("wait");
        assert_eq!(output.status.code(), Some(status), "SIG{signal}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(fs::read_dir(tmp.path()).expect("tmp").count(), 0, "SIG{signal}: the folder is gone");
    }
}
