//! `run`: a command with the resolved configuration in its environment, like `dotenvx run`. The
//! values go from memory to the child (no build/.env, no second parse), so what the command sees is
//! exactly what `config-show --reveal` lists.

use lumigator_conf::config::KeyAccess;

use crate::cli::RunArgs;
use crate::context::Context;
use crate::env_step;
use crate::error::TaskError;
use crate::runner::{Cmd, exit_code};
use crate::signals;
use crate::ui::plural;

/// `run`.
pub fn run(ctx: &Context, args: &RunArgs) -> Result<(), TaskError> {
    // The key is created when missing, as a start creates it: the command gets the key every later
    // start will use (it is never replaced), not an empty one that Lumigator cannot work with.
    let access = if ctx.dry_run { KeyAccess::ReadOnly } else { KeyAccess::CreateIfMissing };
    let config = env_step::load_checked(ctx, access)?;
    let replaced = env_step::replaced_in_caller(&config.resolved);
    if !replaced.is_empty() {
        ctx.ui.warning(format!(
            "the configuration replaces {} of your environment for this command: {} (set values in \
             ~/.lumigator/user.conf instead)",
            plural(replaced.len(), "variable"),
            replaced.join(", ")
        ));
    }
    // The command runs where it was asked for, not in the project: `run -- pytest` tests this folder.
    let cwd = std::env::current_dir()
        .map_err(|err| TaskError::Io { what: "cannot find the current folder".to_string(), reason: err.to_string() })?;
    let cmd = Cmd::from_argv(&cwd, &args.command).envs(env_step::child_env(&config.resolved));
    if ctx.dry_run {
        if !config.has_key {
            ctx.ui.out(format!("would create a new secret key at {}\n", ctx.user.key_file.display()));
        }
        ctx.print_plan(&[cmd]);
        return Ok(());
    }
    // Ctrl-C reaches the command directly (same process group) and SIGTERM is passed on to it;
    // either way we wait for it and exit with its status.
    signals::defer_interruptions();
    let status = ctx.runner.run(&cmd)?;
    // The command's own output is its report: nothing more is printed, only its status returned.
    if status.success() { Ok(()) } else { Err(TaskError::Reported(exit_code(status))) }
}
