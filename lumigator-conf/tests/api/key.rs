//! The secret key through the library: created once with private modes, never overwritten or
//! replaced, agreed on by concurrent first runs, and never shown. The CLI counterparts are in
//! `xtask/tests/config.rs` and `xtask/tests/hardening.rs`; these pin the same promises at the API.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::sync::{Arc, Barrier};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lumigator_conf::config::KeyAccess;
use lumigator_conf::key::{self, KEY_BYTES, KeyEvents, SecretKey};
use lumigator_conf::{Error, REDACTED, SECRET_KEY_VAR};

use crate::support::{Sandbox, VALID_KEY, mkfifo, mode, tree};

#[test]
fn a_missing_key_is_created_once_with_mode_0600_in_a_0700_folder() {
    let sandbox = Sandbox::new();
    let user = sandbox.user();
    let (key, events) = key::ensure(&user).expect("creates the key");
    assert_eq!(events, KeyEvents { created_dir: true, created_key: true, ..KeyEvents::default() });
    assert_eq!((mode(&user.dir), mode(&user.key_file)), (0o700, 0o600));
    let written = fs::read_to_string(&user.key_file).expect("key file");
    assert_eq!(written, format!("{}\n", key.expose()), "the key and a newline");
    assert_eq!(STANDARD.decode(key.expose()).expect("standard base64").len(), KEY_BYTES);
    let names: Vec<_> = fs::read_dir(&user.dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(names, ["lumigator.key"], "no temporary file left behind");

    // Every later call finds it and changes nothing.
    let before = tree(sandbox.home());
    for _ in 0..3 {
        let (again, events) = key::ensure(&user).expect("finds the key");
        assert_eq!((again.expose(), events), (key.expose(), KeyEvents::default()));
    }
    assert_eq!(tree(sandbox.home()), before);
    assert_eq!(key::read(&user).expect("reads").map(|k| k.expose().to_string()), Some(key.expose().to_string()));
}

#[test]
fn an_existing_valid_key_is_used_as_it_is() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    let before = tree(sandbox.home());
    let (key, events) = key::ensure(&sandbox.user()).expect("valid");
    assert_eq!((key.expose(), events), (VALID_KEY.trim_end(), KeyEvents::default()));
    assert_eq!(tree(sandbox.home()), before, "byte-identical, same mode");
}

#[test]
fn concurrent_first_runs_agree_on_one_key() {
    for round in 0..20 {
        let sandbox = Sandbox::new();
        let threads = 8;
        let start = Arc::new(Barrier::new(threads));
        let results: Vec<(String, KeyEvents)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (start, user) = (Arc::clone(&start), sandbox.user());
                    scope.spawn(move || {
                        start.wait();
                        let (key, events) = key::ensure(&user).expect("every run gets the key");
                        (key.expose().to_string(), events)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        let on_disk = fs::read_to_string(sandbox.user().key_file).expect("one key");
        for (key, _) in &results {
            assert_eq!(format!("{key}\n"), on_disk, "round {round}: every run uses the key on disk");
        }
        let created = results.iter().filter(|(_, events)| events.created_key).count();
        assert_eq!(created, 1, "round {round}: exactly one run created it");
        let names: Vec<_> =
            fs::read_dir(sandbox.user().dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, ["lumigator.key"], "round {round}: no temporary file left behind");
    }
}

/// Asserts that `result` is an error that says the key is unusable, never shows `content`, and
/// never suggests that a new key would do.
#[track_caller]
fn assert_refused<T>(result: Result<T, Error>, content: &[u8], context: &str) -> Error {
    let Err(err) = result else { panic!("{context}: expected an error") };
    let shown = format!("{err}\n{}\n{err:?}", err.help().unwrap_or_default());
    let text = String::from_utf8_lossy(content);
    let text = text.trim_end();
    if text.len() >= 4 {
        assert!(!shown.contains(text), "{context}: the key's content is shown: {shown}");
    }
    let help = err.help().unwrap_or_default();
    assert!(help.contains("original key"), "{context}: says to restore the original key: {help}");
    err
}

#[test]
fn an_invalid_key_is_an_error_and_left_byte_identical() {
    let changed = VALID_KEY.replacen('M', "!", 1);
    let cases: [(&str, &[u8], &str); 7] = [
        ("empty", b"", "the file is empty"),
        ("only a newline", b"\n", "the file is empty"),
        ("too short", b"c2hvcnQ=\n", "it decodes to 5 bytes, expected 32"),
        ("not base64", b"not base64 at all!\n", "it is not standard base64 (invalid character at position 4)"),
        ("a character changed", changed.as_bytes(), "it is not standard base64 (invalid character at position 1)"),
        ("not text", b"\xff\xfe\x00binary\n", "it is not text"),
        ("two keys", b"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=\nMDEy\n", "it is not standard base64"),
    ];
    for (name, content, reason) in cases {
        let sandbox = Sandbox::new();
        sandbox.key(content);
        let before = tree(sandbox.home());
        for access in [KeyAccess::CreateIfMissing, KeyAccess::ReadOnly] {
            let result = if access == KeyAccess::CreateIfMissing {
                key::ensure(&sandbox.user()).map(|(key, _)| key)
            } else {
                key::read(&sandbox.user()).map(|key| key.expect("a key file"))
            };
            let err = assert_refused(result, content, name);
            let Error::InvalidKey { path, reason: why } = &err else { panic!("{name}: {err:?}") };
            assert_eq!(path, &sandbox.user().key_file, "{name}");
            assert!(why.starts_with(reason), "{name}: {why}");
            assert_eq!(err.to_string(), format!("{}: not a valid secret key: {why}", path.display()));
            let loaded = sandbox.load(access).map(|_| ());
            assert!(matches!(loaded, Err(Error::InvalidKey { .. })), "{name}: Configuration::load: {loaded:?}");
            assert_eq!(tree(sandbox.home()), before, "{name}: the key file is byte-identical");
        }
        // doctor reads the configuration without the key, which has its own row: an invalid key
        // must not hide the configuration's findings.
        let skipped = sandbox.load(KeyAccess::Skip).expect("the key is not read");
        assert_eq!(skipped.resolved.get(SECRET_KEY_VAR).map(|e| e.value.as_str()), Some(""), "{name}");
        assert!(!skipped.has_key, "{name}");
        assert_eq!(tree(sandbox.home()), before, "{name}: nothing changed");
    }
}

#[test]
fn a_key_that_is_not_a_regular_file_is_an_error_and_not_replaced() {
    type Setup = fn(&Sandbox);
    let cases: [(&str, Setup, &str); 3] = [
        ("a directory", |s| fs::create_dir(s.user().key_file).expect("mkdir"), "a directory"),
        ("a FIFO (opening it would block)", |s| mkfifo(&s.user().key_file), "a FIFO"),
        (
            "a symbolic link to a missing file",
            |s| symlink(s.home().join("backup/lumigator.key"), s.user().key_file).expect("symlink"),
            "a symbolic link to a missing file",
        ),
    ];
    for (name, setup, kind) in cases {
        let sandbox = Sandbox::new();
        sandbox.user_dir();
        setup(&sandbox);
        let before = tree(sandbox.home());
        for result in [key::ensure(&sandbox.user()).map(|(key, _)| key), key::read(&sandbox.user()).map(Option::unwrap)]
        {
            let err = assert_refused(result, b"", name);
            assert!(matches!(&err, Error::NotAFile { kind: k, .. } if *k == kind), "{name}: {err:?}");
            assert!(err.to_string().ends_with(&format!("lumigator.key: expected a regular file, found {kind}")));
            assert_eq!(tree(sandbox.home()), before, "{name}: nothing replaced, nothing created");
        }
    }
}

#[test]
fn wider_modes_are_repaired_and_reported() {
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    let user = sandbox.user();
    fs::set_permissions(&user.dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::set_permissions(&user.key_file, fs::Permissions::from_mode(0o644)).expect("chmod");

    // Reading changes nothing, not even modes.
    key::read(&user).expect("readable").expect("a key");
    assert_eq!((mode(&user.dir), mode(&user.key_file)), (0o755, 0o644));

    let (key, events) = key::ensure(&user).expect("valid");
    assert_eq!(
        events,
        KeyEvents { repaired_dir_mode: Some(0o755), repaired_key_mode: Some(0o644), ..KeyEvents::default() }
    );
    assert_eq!((mode(&user.dir), mode(&user.key_file)), (0o700, 0o600));
    assert_eq!(key.expose(), VALID_KEY.trim_end());
    assert_eq!(fs::read_to_string(&user.key_file).expect("key"), VALID_KEY, "the content is untouched");
    assert_eq!(key::ensure(&user).expect("valid").1, KeyEvents::default(), "nothing left to repair");
}

#[test]
fn read_only_access_creates_nothing() {
    let sandbox = Sandbox::new();
    let before = sandbox.files();
    assert!(key::read(&sandbox.user()).expect("no key is fine").is_none());
    let config = sandbox.load(KeyAccess::ReadOnly).expect("loads");
    assert!(!config.has_key);
    assert_eq!(config.key_events, KeyEvents::default());
    let secret = config.resolved.get(lumigator_conf::SECRET_KEY_VAR).expect("the key's entry");
    assert_eq!(secret.value, "", "no key yet");
    assert_eq!(sandbox.files(), before, "no ~/.lumigator, no key, no build/");
}

#[test]
fn user_folder_that_is_not_a_folder_is_an_error_and_left_alone() {
    type Setup = fn(&Sandbox);
    let cases: [(&str, Setup); 2] = [
        ("a file", |s| fs::write(s.user().dir, "not a directory\n").expect("write")),
        ("a symbolic link to a missing folder", |s| symlink(s.home().join("elsewhere"), s.user().dir).expect("link")),
    ];
    for (name, setup) in cases {
        let sandbox = Sandbox::new();
        setup(&sandbox);
        let before = sandbox.files();
        let results = [key::ensure(&sandbox.user()).map(|_| ()), key::read(&sandbox.user()).map(|_| ())];
        for result in results.into_iter().chain([sandbox.load(KeyAccess::CreateIfMissing).map(|_| ())]) {
            let err = result.expect_err(name);
            assert!(matches!(err, Error::UserDirNotADirectory { .. }), "{name}: {err:?}");
            assert!(err.to_string().ends_with(".lumigator: exists but is not a directory"), "{name}: {err}");
            assert!(err.help().is_some_and(|help| help.contains("move whatever is there out of the way")));
        }
        assert_eq!(sandbox.files(), before, "{name}: nothing created, not even through the link");
    }
}

#[test]
fn the_key_is_never_shown_by_debug_or_display() {
    let key = SecretKey::from_file_text(VALID_KEY).expect("valid");
    assert_eq!(key.expose(), VALID_KEY.trim_end());
    assert_eq!(format!("{key}"), REDACTED);
    assert_eq!(format!("{key:?}"), format!("SecretKey({REDACTED})"));
    let sandbox = Sandbox::new();
    sandbox.key(VALID_KEY);
    let config = sandbox.load(KeyAccess::ReadOnly).expect("loads");
    let entry = config.resolved.get(lumigator_conf::SECRET_KEY_VAR).expect("the key's entry");
    assert_eq!(entry.value, VALID_KEY.trim_end());
    let debug = format!("{config:?}");
    assert!(!debug.contains(VALID_KEY.trim_end()), "Configuration's Debug shows the key");
    assert!(format!("{entry:?}").contains(REDACTED));
}
