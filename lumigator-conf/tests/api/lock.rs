//! The project lock through the library: one holder at a time, a clear error for the next one,
//! released when the holder is dropped. The CLI counterparts (several processes, SIGKILL) are in
//! `xtask/tests/hardening.rs`.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

use lumigator_conf::Error;
use lumigator_conf::lock::ProjectLock;

use crate::support::{Sandbox, mkfifo, mode, running_as_root};

#[test]
fn a_second_acquire_is_busy_until_the_first_is_dropped() {
    let sandbox = Sandbox::new();
    let project = sandbox.project();
    let first = ProjectLock::try_acquire(&project).expect("a free project");

    // flock locks belong to an open file, so even this process cannot take it twice.
    let err = ProjectLock::try_acquire(&project).expect_err("the project is held");
    let Error::Busy { path, holder } = &err else { panic!("expected Busy, got {err:?}") };
    assert_eq!(path, &project.lock_file());
    let holder = holder.as_ref().expect("the holder is found");
    assert_eq!(holder.pid, std::process::id(), "the holder's process id is found");
    assert_eq!(holder.other_user, None, "the holder is this user's process");
    // The holder here is this test binary, not an xtask: the message says which program it is.
    let program = holder.program.clone().expect("its program, from /proc");
    assert_eq!(
        err.to_string(),
        format!(
            "another program (process {}, `{program}`) holds the lock on {}",
            std::process::id(),
            project.root.display()
        )
    );

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
fn the_holder_is_named_from_the_system_not_from_what_the_file_says() {
    let sandbox = Sandbox::new();
    let project = sandbox.project();
    let first = ProjectLock::try_acquire(&project).expect("free");
    // The file says another process holds it, one that has ended long ago (or garbage): the
    // message still names the process that really holds the lock, and never one that has ended.
    for claim in ["4000000000\n", "not a pid\n"] {
        fs::write(project.lock_file(), claim).expect("write");
        let err = ProjectLock::try_acquire(&project).expect_err("held");
        let Error::Busy { holder: Some(holder), .. } = &err else { panic!("expected a named holder: {err:?}") };
        assert_eq!(holder.pid, std::process::id(), "{claim:?}: {err}");
        assert!(!err.to_string().contains("4000000000"), "{err}");
    }
    drop(first);
}

/// What `try_acquire` must refuse, and leave as it was: each case makes `.xtask.lock` something
/// other than a regular file of the user's own.
#[test]
fn a_lock_file_that_is_not_a_plain_file_of_ours_is_refused_and_nothing_is_written_through_it() {
    type Setup = fn(&Sandbox) -> &'static str;
    let cases: [(&str, Setup); 4] = [
        ("a symbolic link to a file", |s| {
            fs::write(s.home().join("precious"), "precious content\n").expect("write");
            symlink(s.home().join("precious"), s.project().lock_file()).expect("link");
            "a symbolic link to "
        }),
        ("a symbolic link to a missing file", |s| {
            symlink(s.home().join("created-through-the-link"), s.project().lock_file()).expect("link");
            "a symbolic link to "
        }),
        ("a FIFO (opening it must not block)", |s| {
            mkfifo(&s.project().lock_file());
            "a FIFO"
        }),
        ("a hard link to another file", |s| {
            fs::write(s.home().join("precious"), "precious content\n").expect("write");
            fs::hard_link(s.home().join("precious"), s.project().lock_file()).expect("link");
            "a file with 2 names (hard links)"
        }),
    ];
    for (name, setup) in cases {
        let sandbox = Sandbox::new();
        let found = setup(&sandbox);
        let before = sandbox.files();
        let err = ProjectLock::try_acquire(&sandbox.project()).expect_err(name);
        let Error::Refused { path, expected, found: what, .. } = &err else { panic!("{name}: {err:?}") };
        assert_eq!(path, &sandbox.project().lock_file(), "{name}");
        assert_eq!(*expected, "a regular file of yours", "{name}");
        assert!(what.starts_with(found), "{name}: {err}");
        assert!(err.help().is_some_and(|help| help.starts_with("remove it (`rm ")), "{name}");
        assert_eq!(sandbox.files(), before, "{name}: nothing written, created or changed");
    }
}

#[test]
fn a_lock_file_of_another_user_is_refused() {
    if !running_as_root() {
        return; // only root can give a file away; CI runs as root
    }
    let sandbox = Sandbox::new();
    let lock = sandbox.project().lock_file();
    fs::write(&lock, "").expect("write");
    std::os::unix::fs::chown(&lock, Some(65534), Some(65534)).expect("chown");
    let err = ProjectLock::try_acquire(&sandbox.project()).expect_err("another user's");
    assert_eq!(
        err.to_string(),
        format!("{}: expected a regular file of yours, found a file of another user (user id 65534)", lock.display())
    );
}

#[test]
fn the_lock_file_is_private_so_other_users_cannot_hold_it() {
    let sandbox = Sandbox::new();
    let lock = sandbox.project().lock_file();
    drop(ProjectLock::try_acquire(&sandbox.project()).expect("free"));
    assert_eq!(mode(&lock), 0o600, "created private");
    // Older versions made it 0644, which let any user open it and hold the lock.
    fs::set_permissions(&lock, fs::Permissions::from_mode(0o644)).expect("chmod");
    drop(ProjectLock::try_acquire(&sandbox.project()).expect("free"));
    assert_eq!(mode(&lock), 0o600, "narrowed");
}

#[test]
fn a_project_folder_that_does_not_exist_is_an_error() {
    let sandbox = Sandbox::new();
    let missing = lumigator_conf::ProjectPaths::new(&sandbox.home().join("no-such-project"));
    let err = ProjectLock::try_acquire(&missing).expect_err("nowhere to put the lock");
    assert!(matches!(&err, Error::Io { action: "open", .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("{}: cannot open: ", missing.lock_file().display())), "{err}");
}
