//! The stack tasks: the Makefile's Compose targets and `local-logs`. The work is in
//! [`crate::stack`], which other tasks share.

use crate::cli::ComposeArgs;
use crate::compose::ComposeTarget;
use crate::context::Context;
use crate::error::TaskError;
use crate::stack;

/// A compose task (`start-lumigator`, `stop-lumigator`, ...).
pub fn run(ctx: &Context, target: ComposeTarget, args: &ComposeArgs) -> Result<(), TaskError> {
    stack::run_target(ctx, target, args)
}

/// `local-logs`.
pub fn logs(ctx: &Context) -> Result<(), TaskError> {
    stack::logs(ctx)
}
