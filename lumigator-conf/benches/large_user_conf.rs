//! How the parser scales: a 1 MB and a 10 MB `user.conf` (every form of entry, see
//! `support/big_conf.rs`), and one 1 MB / 10 MB line of `${UNSET:-x}` references, the shape that
//! used to be quadratic. Ten times the input should take about ten times as long.
//!
//! Run with `cargo bench -p lumigator-conf --bench large_user_conf`.

use std::path::Path;

use lumigator_conf::{ConfFile, MergedConfig, ResolvedConfig};

#[path = "support/big_conf.rs"]
mod big_conf;

const MB: usize = 1 << 20;

fn main() {
    divan::main();
}

fn path() -> &'static Path {
    Path::new("user.conf")
}

/// `ConfFile::parse` alone: decoding, lines, quotes, escapes, `${...}` syntax.
#[divan::bench(args = [MB, 10 * MB], sample_count = 10, sample_size = 1)]
fn parse(bencher: divan::Bencher, size: usize) {
    let (text, _) = big_conf::mixed(size);
    bencher.counter(divan::counter::BytesCount::new(text.len())).bench(|| ConfFile::parse(path(), text.as_bytes()));
}

/// Parse, merge and resolve: what `config-generate-env` does with the file before checking it.
#[divan::bench(args = [MB, 10 * MB], sample_count = 10, sample_size = 1)]
fn parse_and_resolve(bencher: divan::Bencher, size: usize) {
    let (text, _) = big_conf::mixed(size);
    bencher.counter(divan::counter::BytesCount::new(text.len())).bench(|| {
        let file = ConfFile::parse(path(), text.as_bytes()).expect("parses");
        let merged = MergedConfig::merge(&file, None, None, Path::new("lumigator.key"));
        ResolvedConfig::resolve(&merged, &|_| None).expect("resolves")
    });
}

/// A single entry of references, parsed and resolved.
#[divan::bench(args = [MB, 10 * MB], sample_count = 10, sample_size = 1)]
fn one_line_of_references(bencher: divan::Bencher, size: usize) {
    let text = big_conf::one_line_of_references(size);
    bencher.counter(divan::counter::BytesCount::new(text.len())).bench(|| {
        let file = ConfFile::parse(path(), text.as_bytes()).expect("parses");
        let merged = MergedConfig::merge(&file, None, None, Path::new("lumigator.key"));
        ResolvedConfig::resolve(&merged, &|_| None).expect("resolves")
    });
}
