//! Diagnostic codes (issue 23, error quality): every code a spec can cause (parse, import,
//! check) has a fixture under tests/fixtures/ that causes it, every diagnostic the fixtures
//! cause has a help line, every run-time code is exercised by a test (or is listed below as
//! not yet), and README's list of codes is the registry [`algen::diag::CODES`], generated:
//! `ALGEN_UPDATE_README=1 cargo test --test codes` rewrites it.

use algen::diag::{Diag, CODES};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn alg_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            alg_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "alg") {
            out.push(p);
        }
    }
}

/// Every diagnostic of a spec file, as `algen check` finds them.
fn diagnostics(path: &Path) -> Vec<Diag> {
    let Ok(l) = algen::syntax::load(path) else { return vec![] };
    let mut diags = l.diags;
    let checked = algen::check::check(&l.files);
    diags.extend(checked.diags);
    if let Some(spec) = &checked.spec {
        diags.extend(algen::pipeline::validate(spec));
    }
    diags
}

/// Spec codes no fixture can cause, and the test that causes them instead.
const NOT_BY_FIXTURE: &[(&str, &str)] = &[("algen::import::too_large", "tests/cli.rs")];

#[test]
fn every_spec_code_has_a_fixture_and_every_diagnostic_a_help_line() {
    let mut files = vec![];
    for dir in ["tests/fixtures/parse/err", "tests/fixtures/check/err", "tests/fixtures/check/ok"] {
        alg_files(&root().join(dir), &mut files);
    }
    files.sort();
    let mut seen = BTreeSet::new();
    let mut no_help = vec![];
    for f in &files {
        for d in diagnostics(f) {
            seen.insert(d.code);
            if d.help.as_deref().is_none_or(|h| h.trim().is_empty()) {
                no_help.push(format!("{}: {} {}", f.display(), d.code, d.message));
            }
        }
    }
    assert!(no_help.is_empty(), "diagnostics without a help line:\n{}", no_help.join("\n"));
    let spec_code = |c: &str| ["algen::parse::", "algen::import::", "algen::check::"].iter().any(|p| c.starts_with(p));
    let mut missing = vec![];
    for (code, _) in CODES.iter().filter(|(c, _)| spec_code(c)) {
        match NOT_BY_FIXTURE.iter().find(|(c, _)| c == code) {
            Some((_, test)) => assert!(read(test).contains(code), "{test} does not cause {code}"),
            None if !seen.contains(code) => missing.push(*code),
            None => {}
        }
    }
    assert!(missing.is_empty(), "codes no fixture causes: {missing:?}");
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

/// Run-time codes (runs, labelling, JSON lines) that no test causes yet. The test below fails
/// when one of them gets a test (remove it here) or when another code loses its test.
const UNTESTED: &[&str] = &[
    "algen::rasp_compile::too_large",
    "algen::run::label",
    "algen::run::resume_results",
    "algen::run::checkpoint",
    "algen::run::preempted",
    "algen::run::model",
    "algen::task::grammar",
    "algen::task::empty_alphabet",
];

#[test]
fn every_run_time_code_is_tested_or_listed() {
    let mut tests = String::new();
    for e in std::fs::read_dir(root().join("tests")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("codes.rs") {
            tests.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    // A reviewed snapshot that shows the code also proves a test produces it (e.g. the
    // diagnostics of the RASP compiler's fixtures, `tests/rasp_compile.rs`).
    let mut snaps = String::new();
    for e in std::fs::read_dir(root().join("tests/snapshots")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "snap") {
            snaps.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    let in_snapshot = |c: &str| {
        snaps.match_indices(c).any(|(i, _)| {
            let next = snaps[i + c.len()..].chars().next();
            !next.is_some_and(|ch| ch.is_alphanumeric() || ch == '_' || ch == ':')
        })
    };
    let spec_code = |c: &str| ["algen::parse::", "algen::import::", "algen::check::"].iter().any(|p| c.starts_with(p));
    let untested: Vec<&str> = CODES
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !spec_code(c) && !tests.contains(&format!("\"{c}\"")) && !in_snapshot(c))
        .collect();
    assert_eq!(untested, UNTESTED, "run-time codes without a test");
}

/// README's table of codes, from the registry.
fn codes_table() -> String {
    let mut t = String::from("| code | meaning |\n|---|---|\n");
    for (code, meaning) in CODES {
        t.push_str(&format!("| `{code}` | {} |\n", meaning.replace('|', "\\|")));
    }
    t
}

#[test]
fn readme_lists_the_registry() {
    let (begin, end) = ("<!-- codes:begin -->\n", "<!-- codes:end -->");
    let readme = read("README.md");
    let (Some(b), Some(e)) = (readme.find(begin), readme.find(end)) else { panic!("README lacks the codes markers") };
    let fresh = format!("{}{begin}{}{}", &readme[..b], codes_table(), &readme[e..]);
    if std::env::var_os("ALGEN_UPDATE_README").is_some() {
        std::fs::write(root().join("README.md"), &fresh).unwrap();
    }
    assert!(fresh == readme, "README's list of codes is stale: run ALGEN_UPDATE_README=1 cargo test --test codes");
}
