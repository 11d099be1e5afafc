//! The env-file dialect against Docker Compose itself: a corpus of tricky lines whose expected values
//! were observed from Compose v2 (`corpus/regen-expected.sh`), and (opt-in, run in CI) the real
//! `docker compose config` reading the same files and our output. The malformed files are in
//! `malformed`.

use std::collections::BTreeMap;
use std::fs;

use lumigator_conf::render::render_env;

use crate::support::compose::compose_view;
use crate::support::{corpus, load_file as load, values};

fn expected(name: &str) -> BTreeMap<String, String> {
    serde_json::from_str(&fs::read_to_string(corpus(name)).expect("expected values")).expect("valid JSON")
}

#[test]
fn tricky_corpus_gives_the_values_compose_gives() {
    let expected = expected("tricky.expected.json");
    assert!(expected.len() >= 40, "the corpus keeps at least 40 lines");
    let config = load(&corpus("tricky.conf")).expect("the corpus parses");
    assert_eq!(values(&config), expected);
    assert!(config.warnings.is_empty(), "no undefined variables: {:?}", config.warnings);
}

#[test]
fn a_leading_byte_order_mark_is_ignored() {
    assert_eq!(values(&load(&corpus("bom.conf")).expect("parses")), expected("bom.expected.json"));
}

#[test]
fn rendered_values_read_back_unchanged() {
    let config = load(&corpus("tricky.conf")).expect("the corpus parses");
    let dir = tempfile::tempdir().expect("temp dir");
    let written = dir.path().join(".env");
    fs::write(&written, render_env(&config)).expect("write");
    let reread = load(&written).expect("our output parses");
    assert_eq!(values(&reread), values(&config));
}

#[test]
#[ignore = "needs Docker Compose v2 (`docker compose` or `docker-compose`); .ci/run installs it and runs this"]
fn compose_reads_the_corpus_as_we_do() {
    let ours = values(&load(&corpus("tricky.conf")).expect("parses"));
    let keys: Vec<String> = ours.keys().cloned().collect();
    assert_eq!(compose_view(&corpus("tricky.conf"), &keys), ours);
    let bom = values(&load(&corpus("bom.conf")).expect("parses"));
    assert_eq!(compose_view(&corpus("bom.conf"), &bom.keys().cloned().collect::<Vec<_>>()), bom);
}

#[test]
#[ignore = "needs Docker Compose v2 (`docker compose` or `docker-compose`); .ci/run installs it and runs this"]
fn compose_reads_our_rendered_env_file_back_exactly() {
    let config = load(&corpus("tricky.conf")).expect("parses");
    let dir = tempfile::tempdir().expect("temp dir");
    let written = dir.path().join(".env");
    fs::write(&written, render_env(&config)).expect("write");
    let ours = values(&config);
    assert_eq!(compose_view(&written, &ours.keys().cloned().collect::<Vec<_>>()), ours);
}
