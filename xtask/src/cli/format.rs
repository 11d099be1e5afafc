//! The output formats of the tasks that print results (a leaf: every argument module uses it).

use clap::ValueEnum;

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people, on stderr (findings) or stdout (listings)
    #[default]
    Text,
    /// For scripts: one JSON document on stdout, errors included, with a "schema" field
    Json,
}
