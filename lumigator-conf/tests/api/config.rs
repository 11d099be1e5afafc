//! `Configuration::load`, the whole pipeline in one call: what it reads, what it may create, and
//! that a malformed file changes nothing on disk. The CLI counterparts are in
//! `xtask/tests/config.rs` and `xtask/tests/hardening.rs`.

use std::fs;
use std::os::unix::fs::symlink;

use lumigator_conf::config::KeyAccess;
use lumigator_conf::key::KeyEvents;
use lumigator_conf::{Error, Origin, REDACTED, SECRET_KEY_VAR};

use crate::support::{Sandbox, VALID_KEY, mkfifo, workspace_root};

#[test]
fn a_first_load_creates_the_key_and_puts_it_last() {
    let sandbox = Sandbox::new();
    let config = sandbox.load(KeyAccess::CreateIfMissing).expect("loads");
    assert_eq!(config.key_events, KeyEvents { created_dir: true, created_key: true, ..KeyEvents::default() });
    assert!(config.has_key && !config.has_errors() && config.findings.is_empty(), "{:#?}", config.findings);
    config.require_valid().expect("valid");
    let last = config.resolved.entries.last().expect("entries");
    assert_eq!(last.key, SECRET_KEY_VAR);
    assert_eq!(last.origin, Origin::SecretKeyFile { path: sandbox.user().key_file });
    assert_eq!(format!("{}\n", last.value), fs::read_to_string(sandbox.user().key_file).expect("key"));
    assert!(format!("{last:?}").contains(REDACTED) && !format!("{last:?}").contains(&last.value));
    let first = &config.resolved.entries[0];
    assert_eq!(
        (first.key.as_str(), first.origin.to_string()),
        ("AWS_ACCESS_KEY_ID", format!("{}:6", sandbox.project().default_conf.display()))
    );
    let hf_home = config.resolved.get("HF_HOME").expect("HF_HOME");
    assert_eq!(
        hf_home.value,
        format!("{}/.cache/huggingface", sandbox.home().display()),
        "${{HOME}} from the environment"
    );
    assert!(!sandbox.project().build_dir.exists(), "loading writes nothing in the project");
}

#[test]
fn user_values_win_keep_their_place_and_feed_later_references() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY).user_conf("S3_BUCKET=my-bucket\nZETA=1\nLUMIGATOR_SECRET_KEY=mine\n");
    let config = sandbox.load(KeyAccess::CreateIfMissing).expect("loads");
    let keys: Vec<&str> = config.resolved.entries.iter().map(|e| e.key.as_str()).collect();
    let bucket = keys.iter().position(|k| *k == "S3_BUCKET").expect("S3_BUCKET");
    assert_eq!(keys[bucket - 1], "AWS_ENDPOINT_URL", "the default's position");
    assert_eq!(keys[keys.len() - 2..], ["ZETA", SECRET_KEY_VAR], "new keys appended, the key last");
    assert_eq!(config.resolved.get("MLFLOW_S3_ROOT_PATH").map(|e| e.value.as_str()), Some("s3://my-bucket/mlflow"));
    assert_eq!(config.resolved.get(SECRET_KEY_VAR).map(|e| e.value.as_str()), Some(VALID_KEY.trim_end()));
    let ignored = config.findings.iter().find(|f| f.key.as_deref() == Some(SECRET_KEY_VAR)).expect("a warning");
    assert!(!ignored.is_error() && ignored.message.starts_with("ignored: the secret key always comes from"));
}

/// Every malformed file of the corpus as user.conf, with no key yet. A file that does not parse
/// fails `load` before the key step, leaving HOME and the project as they were; the few cases that
/// parse but fail the checks load, and `require_valid` turns them into `Error::Invalid`.
#[test]
fn a_malformed_user_conf_changes_nothing_on_disk() {
    let mut files: Vec<_> = fs::read_dir(workspace_root().join("tests/malformed"))
        .expect("tests/malformed")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "the corpus is there: {}", files.len());
    let mut failed_early = 0;
    for file in &files {
        let sandbox = Sandbox::new();
        sandbox.user_conf(fs::read(file).expect("case"));
        let before = sandbox.files();
        for access in [KeyAccess::CreateIfMissing, KeyAccess::ReadOnly] {
            match sandbox.load(access) {
                Err(err) => {
                    assert!(
                        matches!(err, Error::Parse { .. } | Error::Interpolation { .. }),
                        "{}: {err:?}",
                        file.display()
                    );
                    assert_eq!(sandbox.files(), before, "{}: nothing changed", file.display());
                    failed_early += 1;
                }
                Ok(config) => {
                    let err = config.require_valid().expect_err(&format!("{} is accepted", file.display()));
                    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
                }
            }
        }
    }
    assert!(failed_early > 2 * 25, "most cases are parse errors: {failed_early}");
}

#[test]
fn a_configuration_with_errors_says_how_many_and_where() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY).user_conf("RAY_DASHBOARD_PORT=abc\nDEPLOYMENT_TYPE=prod\nS3_BUCKT=typo\n");
    let config = sandbox.load(KeyAccess::ReadOnly).expect("loads: the checks do not stop loading");
    assert!(config.has_errors());
    let err = config.require_valid().expect_err("two errors");
    let Error::Invalid { findings } = &err else { panic!("{err:?}") };
    assert_eq!(findings.len(), 3, "errors and warnings, for the caller to show");
    let user_conf = sandbox.user().user_conf.display().to_string();
    assert_eq!(
        err.to_string(),
        format!(
            "the configuration has 2 errors\n  {user_conf}:1:1: RAY_DASHBOARD_PORT: expected a whole number, got \"abc\"\n  \
             {user_conf}:2:1: DEPLOYMENT_TYPE: expected one of local, development, staging, production, got \"prod\""
        )
    );
    assert!(err.help().is_some_and(|help| help.contains("cargo xtask config-check")));
}

#[test]
fn unusable_conf_files_are_errors_that_name_them() {
    type Setup = fn(&Sandbox);
    let cases: [(&str, Setup, &str); 4] = [
        ("user.conf is a directory", |s| fs::create_dir(s.user().user_conf).expect("mkdir"), "found a directory"),
        ("user.conf is a FIFO", |s| mkfifo(&s.user().user_conf), "found a FIFO"),
        (
            "user.conf is a symbolic link to a missing file",
            |s| symlink(s.home().join("moved-away.conf"), s.user().user_conf).expect("symlink"),
            "found a symbolic link to a missing file",
        ),
        (
            ".default.conf is missing",
            |s| fs::remove_file(s.project().default_conf).expect("rm"),
            "cannot read: No such file or directory",
        ),
    ];
    for (name, setup, what) in cases {
        let sandbox = Sandbox::new();
        sandbox.user_dir();
        setup(&sandbox);
        let before = sandbox.files();
        let err = sandbox.load(KeyAccess::CreateIfMissing).map(|_| ()).expect_err(name);
        assert!(err.to_string().ends_with(what), "{name}: {err}");
        assert_eq!(sandbox.files(), before, "{name}: nothing changed, no key created");
    }
}

fn holder(pid: u32, program: Option<&str>, other_user: Option<u32>) -> lumigator_conf::lock::LockHolder {
    lumigator_conf::lock::LockHolder { pid, program: program.map(str::to_string), other_user }
}

#[test]
fn every_error_says_what_is_wrong_and_what_to_do_separately() {
    let path = std::path::PathBuf::from("/home/me/.lumigator");
    let cases = [
        (Error::NoHome, "cannot find the home directory", Some("set HOME to your home directory")),
        (
            Error::UserDirNotADirectory { path: path.clone() },
            "/home/me/.lumigator: exists but is not a directory",
            Some(
                "Lumigator keeps its user settings and secret key in that folder: move whatever is there out of the \
                 way",
            ),
        ),
        (
            Error::Busy { path: "/src/lumigator/.xtask.lock".into(), holder: Some(holder(42, Some("xtask"), None)) },
            "another cargo xtask task (process 42) is working on /src/lumigator",
            Some("wait for it to finish, then try again"),
        ),
        (
            Error::Busy { path: "/src/lumigator/.xtask.lock".into(), holder: Some(holder(42, Some("xtask"), Some(7))) },
            "another cargo xtask task (process 42, of user 7) is working on /src/lumigator",
            Some("wait for it to finish, then try again; `ps -f -p 42` shows what it is"),
        ),
        (
            Error::Busy { path: "/src/lumigator/.xtask.lock".into(), holder: Some(holder(42, Some("flock"), None)) },
            "another program (process 42, `flock`) holds the lock on /src/lumigator",
            Some("wait for it to finish, then try again; `ps -f -p 42` shows what it is"),
        ),
        (
            Error::Busy { path: "/src/lumigator/.xtask.lock".into(), holder: Some(holder(42, None, None)) },
            "another cargo xtask task (process 42, as the lock file says) is working on /src/lumigator",
            Some("wait for it to finish, then try again"),
        ),
        (
            Error::Busy { path: "/src/lumigator/.xtask.lock".into(), holder: None },
            "another process, which could not be identified, holds the lock on /src/lumigator",
            Some(
                "wait for it to finish, then try again; `fuser -v /src/lumigator/.xtask.lock` shows which process \
                 holds it",
            ),
        ),
        (
            Error::Refused {
                path: "/src/lumigator/build".into(),
                expected: "a directory",
                found: "a symbolic link to /elsewhere".into(),
                help: "remove it".into(),
            },
            "/src/lumigator/build: expected a directory, found a symbolic link to /elsewhere",
            Some("remove it"),
        ),
        (
            Error::NotOwned { path: path.join("user.conf"), owner: 1000 },
            "/home/me/.lumigator/user.conf: owned by another user (user id 1000), so it is not used",
            Some(
                "if what it holds is yours, make it yours with `sudo chown $(id -u) /home/me/.lumigator/user.conf`; \
                 settings and keys that another user controls are never used",
            ),
        ),
        (
            Error::WritableByOthers { path: path.clone(), mode: 0o777, dir: true },
            "/home/me/.lumigator: other users can write to it (mode 777), so its files may not be yours: not used",
            Some("check that the files in it are yours, then run `chmod go-w /home/me/.lumigator`"),
        ),
        (
            Error::FileTooLarge { path: path.join("user.conf"), limit: 16 << 20 },
            "/home/me/.lumigator/user.conf: larger than 16 MiB, the most a conf or key file may hold",
            Some("check that the path names the right file"),
        ),
        (
            Error::TooLarge {
                location: lumigator_conf::Location::new(path.join("user.conf"), 3, 3),
                key: "C".into(),
                limit: lumigator_conf::error::SizeLimit::Value(4 << 20),
            },
            "/home/me/.lumigator/user.conf:3:3: C: the value would be longer than 4 MiB, the most one value may hold",
            Some(
                "values are capped so that references that grow from line to line (`B=$A$A`, `C=$B$B`, ...) cannot \
                 exhaust memory: check the references on this line and the lines they name",
            ),
        ),
        (
            Error::NotAFile { path: path.join("user.conf"), kind: "a directory" },
            "/home/me/.lumigator/user.conf: expected a regular file, found a directory",
            Some("move it out of the way and put the file that belongs there in its place"),
        ),
        (
            Error::InvalidKey { path: path.join("lumigator.key"), reason: "the file is empty".into() },
            "/home/me/.lumigator/lumigator.key: not a valid secret key: the file is empty",
            Some(
                "restore the original key from a backup. The file was left as it is: replacing it makes every secret \
                 Lumigator stored with it unreadable. Only if no secrets were ever stored, delete the file to have a \
                 new key created",
            ),
        ),
    ];
    for (err, display, help) in cases {
        assert_eq!(err.to_string(), display);
        assert_eq!(err.help().as_deref(), help, "{display}");
    }
}
