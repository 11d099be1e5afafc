//! Holding SIGINT and SIGTERM while a step must not be cut short (writing build/.env, Compose
//! stopping the stack), and stopping between steps once one arrived.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::error::TaskError;

static SIGNAL: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// Catches SIGINT and SIGTERM for the rest of the run: instead of dying halfway through writing a
/// file or while Compose is stopping, the task finishes the step it is in and then stops. Handled
/// signals are reset to their defaults in children, so Compose still receives Ctrl-C normally.
/// Calling it again changes nothing. Tasks that wait for the user (secret-set's prompt) do not
/// call it, so Ctrl-C stops them at once.
pub fn defer_interruptions() {
    SIGNAL.get_or_init(|| {
        let flag = Arc::new(AtomicUsize::new(0));
        for signal in [SIGINT, SIGTERM] {
            // Registration fails only for forbidden signals; these two are always allowed.
            let _ = signal_hook::flag::register_usize(signal, Arc::clone(&flag), signal as usize);
        }
        flag
    });
}

/// The signal received since [`defer_interruptions`], if any.
pub fn interrupted() -> Option<i32> {
    let signal = SIGNAL.get()?.load(Ordering::SeqCst);
    (signal != 0).then_some(signal as i32)
}

/// Whether the last signal received was SIGTERM (passed on to a running child).
pub fn terminated() -> bool {
    interrupted() == Some(SIGTERM)
}

/// Fails with the conventional exit code when a signal arrived, so a task stops between steps.
pub fn stop_if_interrupted() -> Result<(), TaskError> {
    match interrupted() {
        Some(signal) => Err(TaskError::Interrupted(u8::try_from(128 + signal).unwrap_or(130))),
        None => Ok(()),
    }
}

/// Forgets the signal received so far and returns it, for a task that must still clean up after
/// one (stop the stack it started for the tests) before it reports the interruption.
pub fn take_interruption() -> Option<i32> {
    let signal = SIGNAL.get()?.swap(0, Ordering::SeqCst);
    (signal != 0).then_some(signal as i32)
}
