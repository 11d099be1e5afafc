//! The project lock through the library: one holder at a time, a clear error for the next one,
//! released when the holder is dropped. The CLI counterparts (several processes, SIGKILL) are in
//! `xtask/tests/hardening.rs`.

use std::fs;

use lumigator_conf::Error;
use lumigator_conf::lock::ProjectLock;

use crate::support::Sandbox;

#[test]
fn a_second_acquire_is_busy_until_the_first_is_dropped() {
    let sandbox = Sandbox::new();
    let project = sandbox.project();
    let first = ProjectLock::try_acquire(&project).expect("a free project");

    // flock locks belong to an open file, so even this process cannot take it twice.
    let err = ProjectLock::try_acquire(&project).expect_err("the project is held");
    let Error::Busy { path, holder } = &err else { panic!("expected Busy, got {err:?}") };
    assert_eq!(path, &project.lock_file());
    assert_eq!(*holder, Some(std::process::id()), "the holder's process id is read back");
    assert_eq!(
        err.to_string(),
        format!("another cargo xtask task (process {}) is working on {}", std::process::id(), project.root.display())
    );
    assert_eq!(err.help().as_deref(), Some("wait for it to finish, then try again"));

    drop(first);
    let again = ProjectLock::try_acquire(&project).expect("released on drop");
    drop(again);
    assert!(project.lock_file().exists(), "the lock file stays: removing it would let two holders in");
}

#[test]
fn the_lock_changes_nothing_but_its_own_file() {
    let sandbox = Sandbox::new();
    let before = sandbox.files();
    let lock = ProjectLock::try_acquire(&sandbox.project()).expect("free");
    let mut after = sandbox.files();
    let lock_file = after.remove(&sandbox.project().lock_file()).expect("the lock file");
    assert!(lock_file.starts_with("file "), "a regular file: {lock_file}");
    assert_eq!(after, before);
    drop(lock);
}

#[test]
fn a_busy_message_without_a_readable_holder_still_names_the_project() {
    let sandbox = Sandbox::new();
    let project = sandbox.project();
    let first = ProjectLock::try_acquire(&project).expect("free");
    // Whatever the file says, the lock is the operating system's: garbage only loses the pid.
    fs::write(project.lock_file(), "not a pid\n").expect("write");
    let err = ProjectLock::try_acquire(&project).expect_err("held");
    assert!(matches!(err, Error::Busy { holder: None, .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("another cargo xtask task is working on {}", project.root.display()));
    drop(first);
}

#[test]
fn a_project_folder_that_does_not_exist_is_an_error() {
    let sandbox = Sandbox::new();
    let missing = lumigator_conf::ProjectPaths::new(&sandbox.home().join("no-such-project"));
    let err = ProjectLock::try_acquire(&missing).expect_err("nowhere to put the lock");
    assert!(matches!(&err, Error::Io { action: "open", .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("{}: cannot open: ", missing.lock_file().display())), "{err}");
}
