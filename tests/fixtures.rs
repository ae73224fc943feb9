//! Per-stage snapshots for every fixture spec (DESIGN §6: one fixture
//! directory feeds per-stage snapshots).
//!
//! - `parse/ok/*.alg`: the AST.
//! - `check/ok/*.alg`: the IR, sampled data of every task, and the parameter
//!   list of every experiment variant's model.
//! - `parse/err/*.alg`, `check/err/*.alg`: the rendered diagnostics (no colour,
//!   width 80); each must produce at least one error.
//!
//! New fixture files join automatically. Oracle: the snapshots were read and
//! checked by hand against the grammar and the checker's rules.

use algen::{check, diag, model, syntax, task};
use std::path::{Path, PathBuf};

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(Path::new("tests/fixtures").join(dir))
        .unwrap_or_else(|e| panic!("tests/fixtures/{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "alg"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures in {dir}");
    v
}

fn stem(p: &Path) -> String {
    p.file_stem().expect("stem").to_string_lossy().into_owned()
}

/// Loads, parses and checks; returns the rendered diagnostics and the IR.
fn run_front(p: &Path) -> (String, Option<algen::ir::Spec>, usize) {
    let l = syntax::load(p).expect("fixture readable");
    let mut diags = l.diags;
    let c = check::check(&l.files);
    diags.extend(c.diags);
    if let Some(spec) = &c.spec {
        diags.extend(algen::pipeline::validate(spec));
    }
    let errors = diags.iter().filter(|d| !d.warning).count();
    let diags: Vec<diag::Diag> = diags.into_iter().map(|d| d.with_source(&l.sources)).collect();
    (diag::render(&diags, 80, false), c.spec.filter(|_| errors == 0), errors)
}

#[test]
fn parse_ok_ast() {
    for p in fixtures("parse/ok") {
        let text = std::fs::read_to_string(&p).expect("read");
        let ast = syntax::parse_file(0, &text).unwrap_or_else(|d| panic!("{}: {}", p.display(), d.message));
        insta::assert_json_snapshot!(format!("ast_{}", stem(&p)), ast);
    }
}

#[test]
fn err_fixtures_render_diagnostics() {
    for dir in ["parse/err", "check/err"] {
        for p in fixtures(dir) {
            let (rendered, spec, errors) = run_front(&p);
            assert!(errors > 0 && spec.is_none(), "{} should fail", p.display());
            let kind = dir.split('/').next().unwrap_or("x");
            insta::assert_snapshot!(format!("diag_{kind}_{}", stem(&p)), rendered);
        }
    }
}

#[test]
fn check_ok_stages() {
    for p in fixtures("check/ok") {
        let (rendered, spec, errors) = run_front(&p);
        assert_eq!(errors, 0, "{}:\n{rendered}", p.display());
        let spec = spec.expect("checked");
        let name = stem(&p);
        insta::assert_json_snapshot!(format!("ir_{name}"), spec);
        let mut data = String::new();
        for t in &spec.tasks {
            for len in [1, 4] {
                for ex in task::generate(t, "fixture", len, 0, 3).expect("labels") {
                    let i: Vec<&str> = ex.input.iter().map(|&x| t.alphabet[x as usize].as_str()).collect();
                    let o: Vec<String> = ex.target.iter().map(|&x| t.output_text(x)).collect();
                    data.push_str(&format!("{} len {len}: {:?} -> {:?}\n", t.name, i, o));
                }
            }
        }
        insta::assert_snapshot!(format!("data_{name}"), data);
        let mut params = String::new();
        for e in &spec.experiments {
            let t = spec.task(&e.task).expect("task");
            let v = task::vocab(t);
            let io = model::ModelIo { vocab_in: v.input.len(), vocab_out: v.output.len() };
            for var in &e.variants {
                let (_, ps) = model::build_task(&var.model.arch, t, &v.input, &v.output, 0, candle_core::DType::F32)
                    .expect("build");
                assert_eq!(ps.count(), model::param_count(&var.model.arch, io), "param_count formula");
                params.push_str(&format!("{} / {} ({} parameters)\n", e.name, var.label, ps.count()));
                for (n, shape) in ps.list() {
                    params.push_str(&format!("  {n} {shape:?}\n"));
                }
            }
        }
        insta::assert_snapshot!(format!("params_{name}"), params);
    }
}

/// Every `algen::AREA::NAME` code written in the sources (a string literal, a `code(...)`
/// attribute, an `error[...]` line) is listed in `diag::CODES`: the registry is complete, so
/// `Diag::error`'s debug assertion cannot fire on a code that some path emits.
#[test]
fn every_emitted_code_is_listed() {
    let mut files = vec![std::path::PathBuf::from("src")];
    let mut missing = vec![];
    let mut found = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).expect("read src").map(|e| e.expect("entry").path()));
            continue;
        }
        if p.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("read source");
        for code in emitted_codes(&text) {
            found += 1;
            if !diag::CODES.iter().any(|(c, _)| *c == code) {
                missing.push(format!("{}: {code}", p.display()));
            }
        }
    }
    assert!(found > 50, "the scan found only {found} codes");
    assert!(missing.is_empty(), "codes missing from diag::CODES:\n{}", missing.join("\n"));
}

/// The `algen::AREA::NAME` codes in `text` that follow `"`, `code(` or `[`.
fn emitted_codes(text: &str) -> Vec<String> {
    let mut out = vec![];
    for (i, _) in text.match_indices("algen::") {
        let before = &text[..i];
        if !(before.ends_with('"') || before.ends_with("code(") || before.ends_with('[')) {
            continue;
        }
        let code: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == ':')
            .collect();
        if code.matches("::").count() == 2 && !code.ends_with(':') {
            out.push(code);
        }
    }
    out
}

#[test]
fn the_code_scan_sees_each_spelling() {
    let text = r#"Diag::error("algen::check::a", ..) #[diagnostic(code(algen::task::b))] "error[algen::run::c]: " algen::diag::Diag"#;
    assert_eq!(emitted_codes(text), ["algen::check::a", "algen::task::b", "algen::run::c"]);
}

#[test]
fn diagnostic_codes_are_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for (code, _) in diag::CODES {
        assert!(seen.insert(*code), "duplicate code {code}");
        assert!(code.starts_with("algen::"), "{code}");
    }
}
