//! Tasks that are rows of a table: a `ValueEnum` whose variants are the tasks (their doc comments
//! are the help lines) becomes one subcommand per variant. The compose tasks are such a table
//! ([`crate::compose::ComposeTarget`]): what each runs is a `match` over the same enum, so a new
//! row is a variant and a match arm, both checked by the compiler, instead of a name typed in
//! several lists.

use std::fmt::Debug;

use clap::error::ErrorKind;
use clap::{ArgMatches, Command, FromArgMatches, Subcommand, ValueEnum};

/// An enum whose variants are tasks.
pub trait TaskTable: ValueEnum + Copy + Debug + Send + Sync + 'static {
    /// The arguments the tasks take (parsed per task, since tasks of one table may differ).
    type Args: Debug;

    /// The task's longer help, shown by `cargo xtask <task> --help`.
    fn long_about(self) -> Option<&'static str>;

    /// Adds the task's arguments to its subcommand.
    fn augment_args(self, cmd: Command) -> Command;

    /// Reads the task's arguments back.
    fn args_from(self, matches: &ArgMatches) -> Result<Self::Args, clap::Error>;
}

/// One task of table `T` with its arguments, as parsed from the command line.
#[derive(Debug)]
pub struct Table<T: TaskTable> {
    /// Which task.
    pub task: T,
    /// Its arguments.
    pub args: T::Args,
}

impl<T: TaskTable> FromArgMatches for Table<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        // As a flattened subcommand, we get the parent's matches: the task is its subcommand.
        let (name, sub) = matches.subcommand().ok_or_else(|| clap::Error::new(ErrorKind::MissingSubcommand))?;
        let task = T::from_str(name, false).map_err(|_| clap::Error::new(ErrorKind::InvalidSubcommand))?;
        Ok(Table { args: task.args_from(sub)?, task })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<T: TaskTable> Subcommand for Table<T> {
    fn augment_subcommands(mut cmd: Command) -> Command {
        for task in T::value_variants() {
            let Some(value) = task.to_possible_value() else { continue };
            // The arguments are added only when this task is the one parsed (clap's `defer`): every
            // run builds the whole command tree, and most of it would be the other tasks' options.
            // The deferred function is given the subcommand itself, and finds its task by name.
            let mut sub = Command::new(value.get_name().to_string()).defer(|cmd| {
                let name = cmd.get_name().to_string();
                let about = cmd.get_about().cloned();
                let long_about = cmd.get_long_about().cloned();
                match T::from_str(&name, false) {
                    // The arguments' derive sets the command's about from their struct's doc
                    // comment; the task's own help is put back after it.
                    Ok(task) => {
                        let cmd = task.augment_args(cmd);
                        let cmd = match about {
                            Some(about) => cmd.about(about),
                            None => cmd,
                        };
                        match long_about {
                            Some(long_about) => cmd.long_about(long_about),
                            None => cmd,
                        }
                    }
                    Err(_) => cmd,
                }
            });
            if let Some(help) = value.get_help() {
                sub = sub.about(help.clone());
            }
            if let Some(long) = task.long_about() {
                let short = value.get_help().map(|h| h.to_string()).unwrap_or_default();
                sub = sub.long_about(format!("{short}\n\n{long}"));
            }
            cmd = cmd.subcommand(sub);
        }
        cmd
    }

    fn augment_subcommands_for_update(cmd: Command) -> Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        T::from_str(name, false).is_ok()
    }
}
