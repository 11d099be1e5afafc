//! The stack tasks: the Makefile's Compose targets and `local-logs`. The work is in
//! [`crate::stack`], which other tasks share; this layer tells the user where Lumigator is once a
//! start in the background is done, and what comes next.

use crate::cli::{ComposeArgs, LogsArgs};
use crate::compose::{Action, ComposeTarget};
use crate::context::Context;
use crate::error::TaskError;
use crate::stack;

/// A compose task (`start-lumigator`, `stop-lumigator`, ...).
pub fn run(ctx: &Context, target: ComposeTarget, args: &ComposeArgs) -> Result<(), TaskError> {
    let detached = matches!(target.spec().action, Action::Up { detach: true, .. });
    if !detached || ctx.dry_run {
        // Nothing to report beyond the progress lines: a stop, a foreground stack, a plan.
        return stack::run_target(ctx, target, args);
    }
    let ran = stack::run(ctx, target, args)?;
    let mut text = String::new();
    text.push_str(if ran.ready_after.is_some() {
        "Lumigator is ready"
    } else {
        "Lumigator is starting (not checked whether it is ready)"
    });
    if ran.addresses.is_empty() {
        text.push_str(". The stack publishes no address.\n");
    } else {
        text.push_str(":\n");
        let width = ran.addresses.iter().map(|a| a.what.len()).max().unwrap_or(0);
        for address in &ran.addresses {
            text.push_str(&format!("  {:<width$}  {}\n", address.what, address.url));
        }
    }
    let stop = target.stop_task().name();
    text.push_str(&format!("Logs: cargo xtask local-logs [SERVICE...] --follow\nStop: cargo xtask {stop}\n"));
    ctx.ui.out(text);
    Ok(())
}

/// `local-logs`.
pub fn logs(ctx: &Context, args: &LogsArgs) -> Result<(), TaskError> {
    stack::logs(ctx, args)
}
