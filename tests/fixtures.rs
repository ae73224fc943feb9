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
                    let o: Vec<&str> = ex.target.iter().map(|&x| t.outputs[x as usize].as_str()).collect();
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
                let (_, ps) = model::build(&var.model.arch, io, 0).expect("build");
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

#[test]
fn diagnostic_codes_are_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for (code, _) in diag::CODES {
        assert!(seen.insert(*code), "duplicate code {code}");
        assert!(code.starts_with("algen::"), "{code}");
    }
}
