//! RASP size limits (issue 16, item 7; README "RASP"): a string value holds
//! at most 1 MiB, the new strings of one input at most 64 MiB, an input at
//! most 10,000 tokens, a definition-time list at most a million elements.
//! Going over fails that input (or the definition, with a coded diagnostic)
//! with a message naming the limit: never an abort, never a shortened value.
//!
//! Oracles: the limits as the README states them; Python's `str * int`
//! (a count below 1 gives `''`); hand computation of the sizes (a one-byte
//! token doubled k times has 2^k bytes).

mod common;

use algen::rasp::{self, jsonl};
use serde_json::{json, Value as Json};
use std::sync::Arc;

fn compile(src: &str) -> rasp::Program {
    let text: Arc<str> = src.into();
    rasp::compile(0, src, 0, text).unwrap_or_else(|d| panic!("does not compile: {}", d[0].message))
}

/// The s-op `sop` of `src` on `input`, as JSON values.
fn run(src: &str, sop: &str, input: Json) -> Result<Vec<Json>, String> {
    let p = compile(src);
    let mut ev = p.evaluator(sop, None).map_err(|d| d.message)?;
    let toks = jsonl::tokens(&mut ev, &input)?;
    let out = ev.eval(&toks).map_err(|e| e.message)?.to_vec();
    Ok(jsonl::to_json(&ev, &out).as_array().cloned().unwrap_or_default())
}

fn ok(src: &str, input: &str) -> Json {
    Json::Array(run(src, "x", json!(input)).unwrap_or_else(|e| panic!("{src} on {input:?}: {e}")))
}

fn fails(src: &str, input: Json) -> String {
    match run(src, "x", input.clone()) {
        Ok(v) => panic!("{src}: expected an error, got {} values", v.len()),
        Err(e) => e,
    }
}

fn algen(args: &[&str], stdin: &str) -> std::process::Output {
    common::cli::algen_with_stdin(args, stdin)
}

/// README "RASP": a string value holds at most 1 MiB, an input at most 10,000
/// tokens; going over fails that input with a message naming the limit,
/// never an abort (`s + s` doubled 40 times) and never a shortened string.
#[test]
fn values_over_the_size_limits_fail_the_input() {
    let doubling = "s = tokens;\nfor i in range(40) { s = s + s; }\nx = s;";
    let e = fails(doubling, json!("ab"));
    assert!(e.contains("1048576 bytes per string"), "{e}");
    // 2^20 bytes exactly is still a value; one doubling more is not
    let at_limit = "s = tokens;\nfor i in range(20) { s = s + s; }\nx = indicator(s == tokens);";
    assert_eq!(ok(at_limit, "a"), json!([0]));
    let e = fails("x = tokens * 2000000;", json!("ab"));
    assert!(e.contains("limit"), "not clamped: {e}");
    assert_eq!(ok("x = tokens * 3;", "ab"), json!(["aaa", "bbb"]));
    assert_eq!(ok("x = tokens * -1;", "a"), json!([""]), "Python: a count below 1 gives ''");
    let e = fails("x = indices;", json!("a".repeat(rasp::MAX_INPUT_TOKENS + 1)));
    assert!(e.contains("10000 tokens"), "{e}");
    assert_eq!(run("x = length;", "x", json!("a".repeat(rasp::MAX_INPUT_TOKENS))).unwrap()[0], json!(10_000));
}

/// Many distinct strings of half the limit: the per-input total (64 MiB) stops them.
#[test]
fn the_strings_of_one_input_are_bounded_in_all() {
    let src = "s = tokens;\nfor i in range(18) { s = s + s; }\nx = s;"; // 512 KiB a position
    let distinct: Vec<String> = (0..128).map(|i| format!("t{i:02}")).collect();
    let e = fails(src, json!(distinct));
    assert!(e.contains("per input"), "{e}");
    // the next input starts afresh
    let p = compile(src);
    let mut ev = p.evaluator("x", None).unwrap();
    assert!(jsonl::answer(&mut ev, &json!({ "input": distinct }).to_string()).contains("\"error\""));
    let small = jsonl::answer(&mut ev, r#"{"input": "ab"}"#);
    assert!(small.contains("\"output\""), "{}", &small[..small.len().min(200)]);
}

/// Definition-time values: a string or list over the limits is a coded diagnostic.
#[test]
fn definition_time_values_over_the_limits_are_diagnostics() {
    for src in [
        "s = \"ab\" * 2000000;\nx = tokens;",
        "l = range(1000);\nfor i in range(20) { l = l + l; }\nx = tokens;",
        "l = range(-9223372036854775807, 9223372036854775807);\nx = tokens;",
    ] {
        let text: Arc<str> = src.into();
        let d = rasp::compile(0, src, 0, text).err().unwrap_or_else(|| panic!("{src}: should fail"));
        assert_eq!(d[0].code, "algen::check::rasp_value", "{src}: {}", d[0].message);
    }
    let src = "l = range(0, 9223372036854775807, 4611686018427387904);\nx = tokens;";
    assert!(rasp::compile(0, src, 0, src.into()).is_ok(), "two elements, no overflow");
}

/// `algen check` runs a RASP target on short inputs: a blow-up there is a coded diagnostic.
#[test]
fn check_reports_a_value_blow_up_with_a_code() {
    let spec = "rasp big {\n  s = tokens;\n  for i in range(40) { s = s + s; }\n  x = s;\n}\n\
        task t {\n  alphabet = \"ab\"\n  input = string(alphabet)\n  target = rasp big.x\n  format = tag\n  outputs = [\"a\", \"b\"]\n}\n";
    let dir = std::env::temp_dir().join(format!("algen-rasp-limit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("big.alg");
    std::fs::write(&file, spec).unwrap();
    let o = algen(&["check", file.to_str().unwrap()], "");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("algen::check::target_type"), "{err}");
    let Err(algen::pipeline::LoadError::Diags(_, diags)) = algen::pipeline::load(&file) else {
        panic!("the spec fails to check")
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(diags.len(), 1, "{:?}", diags.iter().map(|d| &d.message).collect::<Vec<_>>());
    assert_eq!(diags[0].code, "algen::check::target_type");
    assert!(diags[0].message.contains("1048576 bytes per string"), "{}", diags[0].message);
}
