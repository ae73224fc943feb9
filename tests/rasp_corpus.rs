//! The reference corpus (tests/data/rasp, copied from ../shared/data/rasp):
//! 14 programs from the RASP paper and the interpreter's README, 30 inputs
//! each, with the outputs that the original interpreter (tech-srl/RASP,
//! commit 61dde62) computed. Every output must be reproduced exactly: ints
//! as ints, floats bit for bit, strings, booleans; inputs the interpreter
//! rejected must fail here too. One test runs them all and names every
//! mismatch.

use algen::rasp::{self, jsonl};
use serde_json::Value as Json;
use std::path::Path;
use std::sync::Arc;

/// Exact equality: an int never equals a float, floats compare by bits.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(p), Some(q)) => p == q && x.is_f64() == y.is_f64(),
            _ => x.is_f64() && y.is_f64() && x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits),
        },
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        _ => a == b,
    }
}

fn run_program(dir: &Path, name: &str, mismatches: &mut Vec<String>) -> usize {
    let text: Arc<str> = std::fs::read_to_string(dir.join(format!("{name}.rasp"))).unwrap().into();
    let program = match rasp::compile(0, &text, 0, text.clone()) {
        Ok(p) => p,
        Err(d) => {
            mismatches
                .push(format!("{name}: does not compile: {:?}", d.iter().map(|d| &d.message).collect::<Vec<_>>()));
            return 0;
        }
    };
    let mut ev = program.evaluator("result", None).expect("result is an s-op");
    let lines = std::fs::read_to_string(dir.join(format!("{name}.jsonl"))).unwrap();
    let mut count = 0;
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        count += 1;
        let want: Json = serde_json::from_str(line).unwrap();
        let got: Json = serde_json::from_str(&jsonl::answer(&mut ev, line)).expect("the answer is JSON");
        let input = &want["input"];
        let expect_error = want.get("error").is_some_and(|e| !e.is_null());
        match (expect_error, got.get("output"), got.get("error")) {
            (true, _, Some(_)) => {}
            (true, Some(out), _) => mismatches.push(format!("{name} {input}: expected an error, got {out}")),
            (false, Some(out), _) if same(out, &want["output"]) => {}
            (false, Some(out), _) => mismatches.push(format!("{name} {input}: expected {}, got {out}", want["output"])),
            (false, None, err) => {
                mismatches.push(format!("{name} {input}: expected {}, got error {err:?}", want["output"]))
            }
            (true, None, None) => mismatches.push(format!("{name} {input}: malformed answer {got}")),
        }
    }
    count
}

/// The programs (`NAME.rasp`) of a corpus folder, sorted.
fn programs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".rasp").map(String::from))
        .collect();
    names.sort();
    names
}

#[test]
fn every_reference_program_reproduces_the_original_interpreter() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rasp");
    let names = programs(&dir);
    assert_eq!(names.len(), 14, "the corpus has 14 programs");
    let mut mismatches = vec![];
    let mut inputs = 0;
    for name in &names {
        inputs += run_program(&dir, name, &mut mismatches);
    }
    assert_eq!(inputs, 14 * 30, "30 inputs per program");
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

/// tests/data/rasplib: one program per function of the original's standard
/// library (`RASP_support/rasplib.rasp` at its head, 61dde62, which includes
/// 6dd1016 "Fix rasplib functions average and mark_first_instance"), 21
/// inputs each, outputs recorded with that interpreter (see the README there).
#[test]
fn every_library_function_matches_the_original_head() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rasplib");
    let names = programs(&dir);
    assert_eq!(names.len(), 16, "one program per library function");
    let mut mismatches = vec![];
    let mut inputs = 0;
    for name in &names {
        inputs += run_program(&dir, name, &mut mismatches);
    }
    assert_eq!(inputs, 16 * 21, "21 inputs per program");
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}
