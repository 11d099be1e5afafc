//! Hardening, round two, through the library: links where `build/` and its files belong, values
//! that multiply, names of megabytes, secrets that travel through references, and files another
//! user could have written. The CLI counterparts, with other users' processes and signals, are in
//! `xtask/tests/cli/hardening2.rs`.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, Instant};

use lumigator_conf::clean::{self, BUILD_DIR_MODE};
use lumigator_conf::config::KeyAccess;

use lumigator_conf::error::SizeLimit;
use lumigator_conf::key::{self, KeyEvents};
use lumigator_conf::resolve::{MAX_TOTAL_BYTES, MAX_VALUE_BYTES};
use lumigator_conf::{ConfFile, Error, MAX_FILE_BYTES, REDACTED};

use crate::support::{Sandbox, VALID_KEY, load_bytes, mode, running_as_root, tree};

/// Well under what a person notices; the cases below took minutes, or exhausted memory, before.
const QUICK: Duration = Duration::from_secs(1);

// ------------------------------------------------------------------------------------------------
// build/ and its files: never written, emptied or chmodded through a link.

/// A folder elsewhere with files and a subfolder: what a `build/` link points to.
fn elsewhere(sandbox: &Sandbox) -> std::path::PathBuf {
    let target = sandbox.home().join("elsewhere");
    fs::create_dir_all(target.join("sub")).expect("mkdir");
    fs::write(target.join("precious.txt"), "keep me\n").expect("write");
    fs::write(target.join("sub/deeper.txt"), "keep me too\n").expect("write");
    fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).expect("chmod");
    target
}

#[test]
fn a_build_folder_that_is_a_link_is_refused_by_every_operation_and_its_target_is_untouched() {
    let sandbox = Sandbox::new();
    let project = sandbox.project();
    let target = elsewhere(&sandbox);
    symlink(&target, &project.build_dir).expect("link");
    let before = sandbox.files();
    let results = [
        ("write_env", clean::write_env(&project, "A=1\n")),
        ("clean", clean::clean(&project)),
        ("check", clean::check(&project)),
    ];
    for (name, result) in results {
        let err = result.expect_err(name);
        assert_eq!(
            err.to_string(),
            format!(
                "{}: expected a directory, found a symbolic link to {}",
                project.build_dir.display(),
                target.display()
            ),
            "{name}"
        );
        let help = err.help().expect("help");
        assert!(help.contains(&format!("`rm {}`", project.build_dir.display())), "{name}: {help}");
        assert!(help.contains(&target.join(".env").display().to_string()), "{name}: names where a key may be: {help}");
        assert_eq!(sandbox.files(), before, "{name}: nothing written, deleted or chmodded through the link");
    }
}

#[test]
fn a_build_env_that_is_a_link_or_not_a_file_is_refused_and_left_alone() {
    type Setup = fn(&Sandbox, &Path);
    let cases: [(&str, Setup, &str); 3] = [
        (
            "a link to a file",
            |s, env| symlink(s.home().join("elsewhere/precious.txt"), env).expect("link"),
            "a symbolic link to ",
        ),
        ("a dangling link", |s, env| symlink(s.home().join("nothing-here"), env).expect("link"), "a symbolic link to "),
        ("a directory", |_, env| fs::create_dir(env).expect("mkdir"), "a directory"),
    ];
    for (name, setup, found) in cases {
        let sandbox = Sandbox::new();
        let project = sandbox.project();
        elsewhere(&sandbox);
        fs::create_dir(&project.build_dir).expect("mkdir build");
        fs::set_permissions(&project.build_dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        setup(&sandbox, &project.env_file);
        let before = sandbox.files();
        for result in [clean::write_env(&project, "A=1\n"), clean::check(&project)] {
            let err = result.expect_err(name);
            let Error::Refused { expected, found: what, .. } = &err else { panic!("{name}: {err:?}") };
            assert_eq!(*expected, "a regular file", "{name}");
            assert!(what.starts_with(found), "{name}: {err}");
        }
        assert_eq!(sandbox.files(), before, "{name}: nothing written through it");
        assert!(!sandbox.home().join("nothing-here").exists(), "{name}: a dangling link's target is not created");
        // Cleaning removes the link itself, never what it points to.
        clean::clean(&project).expect("clean");
        assert!(!project.build_dir.exists(), "{name}");
        assert_eq!(fs::read_to_string(sandbox.home().join("elsewhere/precious.txt")).expect("kept"), "keep me\n");
    }
}

#[test]
fn links_inside_build_are_removed_themselves_never_followed() {
    let sandbox = Sandbox::new();
    let project = sandbox.project();
    let target = elsewhere(&sandbox);
    fs::create_dir_all(project.build_dir.join("nested/deeper")).expect("mkdir");
    symlink(&target, project.build_dir.join("to-a-folder")).expect("link");
    symlink(target.join("precious.txt"), project.build_dir.join("nested/deeper/to-a-file")).expect("link");
    let outside = tree(&target);
    clean::write_env(&project, "A=1\n").expect("written");
    let left: Vec<_> =
        fs::read_dir(&project.build_dir).expect("build").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(left, [".env"], "everything else in build/ went");
    assert_eq!(tree(&target), outside, "nothing outside build/ changed");
    clean::clean(&project).expect("clean");
    assert!(!project.build_dir.exists());
    assert_eq!(tree(&target), outside);
}

#[test]
fn the_build_folder_is_set_to_0700_on_every_write() {
    let sandbox = Sandbox::new();
    let project = sandbox.project();
    fs::create_dir(&project.build_dir).expect("mkdir");
    for wide in [0o777, 0o755, 0o1777, 0o711] {
        fs::set_permissions(&project.build_dir, fs::Permissions::from_mode(wide)).expect("chmod");
        clean::write_env(&project, "A=1\n").expect("written");
        let mode = fs::metadata(&project.build_dir).expect("stat").mode() & 0o7777;
        assert_eq!(mode, BUILD_DIR_MODE, "{wide:o}: set to 0700, even when .env was already up to date");
        assert_eq!(crate::support::mode(&project.env_file), 0o600);
    }
}

// ------------------------------------------------------------------------------------------------
// Values that multiply, and names of megabytes: errors in time and memory bounded by the caps.

/// 40 lines, each `${A}${A}` of the one above: 663 bytes that once needed a terabyte.
fn doubling(lines: usize) -> String {
    let mut text = String::from("A0=xxxxxxxxxxxxxxxx\n");
    for i in 1..=lines {
        text.push_str(&format!("A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
    }
    text
}

#[test]
fn values_that_double_line_after_line_stop_at_the_line_that_passes_the_cap() {
    let text = doubling(40);
    assert!(text.len() < 700, "{} bytes", text.len());
    let started = Instant::now();
    let err = load_bytes(Path::new("user.conf"), text.as_bytes()).expect_err("capped");
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    // A<k> holds 16 * 2^k bytes: the first past 4 MiB is A19, on line 20; its value starts at column 5.
    let first_too_long = (0..).find(|k| 16usize << k > MAX_VALUE_BYTES).expect("some line");
    let Error::TooLarge { location, key, limit } = &err else { panic!("{err:?}") };
    assert_eq!(
        (location.line, location.column, key.as_str()),
        (first_too_long + 1, 5, format!("A{first_too_long}").as_str())
    );
    assert_eq!(*limit, SizeLimit::Value(MAX_VALUE_BYTES));
    assert!(
        err.to_string().starts_with(&format!(
            "user.conf:{}:5: A{first_too_long}: the value would be longer than 4 MiB",
            first_too_long + 1
        )),
        "{err}"
    );
    assert!(err.help().is_some_and(|help| help.contains("`B=$A$A`")));

    // Just under the cap is fine: real configurations are nowhere near it.
    let under = load_bytes(Path::new("user.conf"), doubling(first_too_long - 1).as_bytes()).expect("under the cap");
    assert_eq!(under.entries.last().expect("entries").value.len(), 16 << (first_too_long - 1));
}

#[test]
fn many_large_values_stop_at_the_cap_on_the_whole_configuration() {
    // One value of 3 MiB (under the cap for one), then lines that each copy it.
    let big = "x".repeat(3 << 20);
    let mut text = format!("BIG={big}\n");
    let copies = MAX_TOTAL_BYTES / (3 << 20) + 2;
    for i in 0..copies {
        text.push_str(&format!("COPY{i}=$BIG\n"));
    }
    let started = Instant::now();
    let err = load_bytes(Path::new("user.conf"), text.as_bytes()).expect_err("capped");
    assert!(started.elapsed() < QUICK * 5, "took {:?}", started.elapsed());
    let Error::TooLarge { location, limit, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*limit, SizeLimit::Total(MAX_TOTAL_BYTES));
    // BIG, then COPY0..COPY{n-1} fit in 64 MiB; the next one is refused.
    let fitting = MAX_TOTAL_BYTES / (3 << 20) - 1;
    assert_eq!(location.line, 2 + fitting, "{err}");
    assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
}

#[test]
fn a_conf_or_key_file_past_its_cap_is_refused_before_it_is_read() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY).user_conf("");
    // Sparse: 17 MiB that take no disk, and would be NUL bytes if read.
    for path in [sandbox.user().user_conf, sandbox.user().key_file] {
        let file = fs::OpenOptions::new().write(true).open(&path).expect("open");
        file.set_len(MAX_FILE_BYTES + (1 << 20)).expect("grow");
        drop(file);
        let started = Instant::now();
        let err = sandbox.load(KeyAccess::ReadOnly).expect_err("too large");
        assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
        assert!(matches!(&err, Error::FileTooLarge { path: p, .. } if *p == path), "{err:?}");
        assert!(err.to_string().ends_with(": larger than 16 MiB, the most a conf or key file may hold"), "{err}");
        fs::write(&path, if path.ends_with("user.conf") { "" } else { VALID_KEY }).expect("restore");
    }
}

#[test]
fn a_reference_that_adds_nothing_copies_nothing() {
    // A 1 MiB value named 100,000 times by `${BIG:+}`: each reference once copied the value.
    let text = format!("BIG={}\nMANY={}\n", "x".repeat(1 << 20), "${BIG:+}".repeat(100_000));
    let started = Instant::now();
    let resolved = load_bytes(Path::new("user.conf"), text.as_bytes()).expect("resolves");
    assert!(started.elapsed() < QUICK * 5, "took {:?}", started.elapsed());
    assert_eq!(resolved.get("MANY").expect("MANY").value, "");
}

#[test]
fn a_name_of_megabytes_is_checked_in_linear_time_and_quoted_cut() {
    let sandbox = Sandbox::new();
    let long = format!("S3_BUCKE{}", "T".repeat(2 << 20));
    sandbox.user_conf(format!("S3_BUCKETT=near\n{long}=1\nPASSWORD_{}=2\n", "Q".repeat(1 << 20)));
    let started = Instant::now();
    let config = sandbox.load(KeyAccess::ReadOnly).expect("loads");
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    let messages: Vec<String> = config.findings.iter().map(ToString::to_string).collect();
    assert!(messages[0].ends_with("S3_BUCKETT: not a known setting; did you mean S3_BUCKET?"), "{messages:?}");
    assert_eq!(messages.len(), 3, "{messages:?}");
    for message in &messages[1..] {
        assert!(message.len() < 300, "a name of megabytes is quoted cut: {} bytes", message.len());
        assert!(message.contains("...: not a known setting"), "{message}");
    }
}

// ------------------------------------------------------------------------------------------------
// Secrets that travel: through a reference, a URL, a `:?` message, or `Debug`.

#[test]
fn values_built_from_secrets_urls_with_passwords_and_database_urls_are_secret() {
    let text = "MINIO_ROOT_PASSWORD=hunter2-minio\n\
                DB_URL=postgresql://admin:${MINIO_ROOT_PASSWORD}@db/lumigator\n\
                LITERAL_URL=postgres://admin:hunter3@db:5432/x\n\
                SQLALCHEMY_DATABASE_URL=sqlite:////db-data/local.db\n\
                MLFLOW_DATABASE_URL=sqlite:////db-data/mlflow.db\n\
                PUBLIC_URL=http://localhost:8000\n";
    let resolved = load_bytes(Path::new("user.conf"), text.as_bytes()).expect("resolves");
    for (key, secret) in [
        ("MINIO_ROOT_PASSWORD", true),
        ("DB_URL", true),
        ("LITERAL_URL", true),
        ("SQLALCHEMY_DATABASE_URL", true),
        ("MLFLOW_DATABASE_URL", true),
        ("PUBLIC_URL", false),
    ] {
        assert_eq!(resolved.get(key).expect(key).secret, secret, "{key}");
    }
}

#[test]
fn a_required_message_that_uses_a_secret_is_not_shown() {
    let text = "MINIO_ROOT_PASSWORD=hunter2-minio\nX=${UNSET:?the password is ${MINIO_ROOT_PASSWORD}}\n";
    let err = load_bytes(Path::new("user.conf"), text.as_bytes()).expect_err(":? fails");
    let shown = format!("{err} {:?} {}", err, err.help().unwrap_or_default());
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(err.to_string().contains("X: required variable UNSET has no value: (its message is not shown"), "{err}");
    // A message without a secret is still the file's own words.
    let plain = load_bytes(Path::new("user.conf"), b"X=${UNSET:?set UNSET first}\n").expect_err("fails");
    assert!(plain.to_string().ends_with("X: required variable UNSET has no value: set UNSET first"), "{plain}");
}

#[test]
fn debug_of_parsed_and_loaded_configurations_hides_secret_values() {
    let sandbox = Sandbox::new();
    sandbox
        .key(VALID_KEY)
        .user_conf("MINIO_ROOT_PASSWORD=hunter2-minio\nDB=postgres://u:hunter3@db/x\nAWS_SECRET_ACCESS_KEY=hunter4\n");
    let conf = ConfFile::read(&sandbox.user().user_conf).expect("parses");
    let config = sandbox.load(KeyAccess::ReadOnly).expect("loads");
    for debug in [format!("{conf:?}"), format!("{:?}", conf.entries[0]), format!("{config:?}"), format!("{config:#?}")]
    {
        for secret in ["hunter2", "hunter3", "hunter4", VALID_KEY.trim_end()] {
            assert!(!debug.contains(secret), "Debug shows {secret}: {debug}");
        }
        assert!(debug.contains(REDACTED));
    }
}

// ------------------------------------------------------------------------------------------------
// ~/.lumigator: files another user owns or could have written are refused, as ssh does; modes are
// never changed through a link.

#[test]
fn a_user_folder_or_file_others_can_write_is_refused_and_left_as_it_is() {
    type Setup = fn(&Sandbox) -> std::path::PathBuf;
    let cases: [(&str, Setup); 4] = [
        ("~/.lumigator mode 777", |s| {
            fs::set_permissions(s.user().dir, fs::Permissions::from_mode(0o777)).expect("chmod");
            s.user().dir
        }),
        ("~/.lumigator mode 757", |s| {
            fs::set_permissions(s.user().dir, fs::Permissions::from_mode(0o757)).expect("chmod");
            s.user().dir
        }),
        ("user.conf mode 666", |s| {
            fs::set_permissions(s.user().user_conf, fs::Permissions::from_mode(0o666)).expect("chmod");
            s.user().user_conf
        }),
        ("the key mode 622", |s| {
            fs::set_permissions(s.user().key_file, fs::Permissions::from_mode(0o622)).expect("chmod");
            s.user().key_file
        }),
    ];
    for (name, setup) in cases {
        let sandbox = Sandbox::new();
        sandbox.key(VALID_KEY).user_conf("S3_BUCKET=planted-by-someone-else\n");
        let path = setup(&sandbox);
        let before = sandbox.files();
        let user_conf_case = path == sandbox.user().user_conf;
        let mut results =
            vec![sandbox.load(KeyAccess::CreateIfMissing).map(|_| ()), sandbox.load(KeyAccess::ReadOnly).map(|_| ())];
        if !user_conf_case {
            results.push(key::ensure(&sandbox.user()).map(|_| ()));
            results.push(key::read(&sandbox.user()).map(|_| ()));
        }
        for result in results {
            let err = result.expect_err(name);
            let Error::WritableByOthers { path: refused, .. } = &err else { panic!("{name}: {err:?}") };
            assert_eq!(refused, &path, "{name}");
            assert!(err.help().is_some_and(|help| help.contains("chmod go-w")), "{name}");
        }
        assert_eq!(sandbox.files(), before, "{name}: nothing read into use, no mode repaired");
    }
}

#[test]
fn a_group_writable_file_is_trusted_only_when_the_group_is_the_owners_own() {
    if !running_as_root() {
        return; // changing a file's group to one we are not in needs root; CI runs as root
    }
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY).user_conf("S3_BUCKET=mine\n");
    let conf = sandbox.user().user_conf;
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o664)).expect("chmod");
    // Root's files are in group 0, root's own (the id matches the user's): as Debian allows.
    sandbox.load(KeyAccess::ReadOnly).expect("group-writable in the owner's own group");
    std::os::unix::fs::chown(&conf, None, Some(65534)).expect("chgrp");
    let err = sandbox.load(KeyAccess::ReadOnly).expect_err("group-writable for another group");
    assert!(matches!(err, Error::WritableByOthers { .. }), "{err:?}");
}

#[test]
fn files_another_user_owns_are_refused() {
    if !running_as_root() {
        return; // only root can give a file away; CI runs as root, and the CLI tests run as nobody
    }
    for (name, which) in [("user.conf", 0), ("the key", 1), ("~/.lumigator", 2)] {
        let sandbox = Sandbox::new();
        sandbox.key(VALID_KEY).user_conf("S3_BUCKET=planted\n");
        let user = sandbox.user();
        let path = [user.user_conf.clone(), user.key_file.clone(), user.dir.clone()][which].clone();
        std::os::unix::fs::chown(&path, Some(65534), None).expect("chown");
        let before = sandbox.files();
        for access in [KeyAccess::CreateIfMissing, KeyAccess::ReadOnly] {
            let err = sandbox.load(access).expect_err(name);
            assert!(matches!(&err, Error::NotOwned { path: p, owner: 65534 } if *p == path), "{name}: {err:?}");
            assert!(err.help().is_some_and(|help| help.contains("chown")), "{name}");
        }
        assert_eq!(sandbox.files(), before, "{name}");
    }
}

#[test]
fn modes_are_never_changed_through_a_link() {
    let sandbox = Sandbox::new();
    // ~/.lumigator is a link to a folder kept elsewhere, readable by others; the key inside is a
    // link to a key file readable by others.
    let real_dir = sandbox.home().join("dotfiles/lumigator");
    fs::create_dir_all(&real_dir).expect("mkdir");
    fs::set_permissions(&real_dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    let real_key = sandbox.home().join("dotfiles/the.key");
    fs::write(&real_key, VALID_KEY).expect("write");
    fs::set_permissions(&real_key, fs::Permissions::from_mode(0o644)).expect("chmod");
    symlink(&real_dir, sandbox.user().dir).expect("link");
    symlink(&real_key, sandbox.user().key_file).expect("link");
    let before = sandbox.files();
    let (key, events) = key::ensure(&sandbox.user()).expect("usable");
    assert_eq!(key.expose(), VALID_KEY.trim_end());
    assert_eq!(
        events,
        KeyEvents { unrepaired_dir_mode: Some(0o755), unrepaired_key_mode: Some(0o644), ..KeyEvents::default() }
    );
    assert_eq!(sandbox.files(), before, "no mode changed through either link");
    assert_eq!((mode(&real_dir), mode(&real_key)), (0o755, 0o644));
}
