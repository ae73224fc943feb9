//! RASP: primitives, standard library, parser precedence, diagnostics and
//! the `algen rasp` command.
//!
//! Oracles: every expected value below is a hand computation from the
//! semantics of the original interpreter (tech-srl/RASP: `select(keys,
//! queries, op)` has one row per query and entry `key[k] op query[q]`;
//! `aggregate` gives the default for an empty row, the value itself for one
//! selected position, Python's `sum(...)*1.0/n` for several; Python's rules
//! for `round`, `/`, `%`, `==` between ints and floats), and for the library
//! from its definitions in the original's `rasplib.rasp`.

mod common;

use algen::rasp::{self, jsonl};
use algen::source::SourceMap;
use serde_json::{json, Value as Json};
use std::sync::Arc;

fn compile(src: &str) -> rasp::Program {
    let text: Arc<str> = src.into();
    match rasp::compile(0, src, 0, text) {
        Ok(p) => p,
        Err(d) => panic!("does not compile: {:?}", d.iter().map(|d| d.message.clone()).collect::<Vec<_>>()),
    }
}

/// The s-op `sop` of `src` on `input` (a JSON string or list), as JSON values.
fn run(src: &str, sop: &str, input: Json) -> Result<Vec<Json>, String> {
    let p = compile(src);
    let mut ev = p.evaluator(sop, None).map_err(|d| d.message)?;
    let toks = jsonl::tokens(&mut ev, &input)?;
    let out = ev.eval(&toks).map_err(|e| e.message)?.to_vec();
    Ok(jsonl::to_json(&ev, &out).as_array().unwrap().clone())
}

fn ok(src: &str, input: &str) -> Json {
    Json::Array(run(src, "x", json!(input)).unwrap_or_else(|e| panic!("{src} on {input:?}: {e}")))
}

fn fails(src: &str, input: Json) -> String {
    match run(src, "x", input.clone()) {
        Ok(v) => panic!("{src} on {input}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// Rows of the selector `s` on `input`, as strings of 0/1 (row = query).
fn matrix(src: &str, input: &str) -> Vec<String> {
    let p = compile(src);
    let mut ev = p.selector("s").expect("a selector named s");
    let toks = jsonl::tokens(&mut ev, &json!(input)).unwrap();
    let m = ev.matrix(&toks).unwrap();
    m.iter().map(|r| r.iter().map(|b| if *b { '1' } else { '0' }).collect()).collect()
}

// ---------------------------------------------------------------- selectors

#[test]
fn select_rows_are_queries_and_entries_compare_key_to_query() {
    // [q][k] = k < q
    assert_eq!(matrix("s = select(indices, indices, <);", "abc"), ["000", "100", "110"]);
    assert_eq!(matrix("s = select(indices, indices, >=);", "abc"), ["111", "011", "001"]);
    assert_eq!(matrix("s = select(indices, 1, ==);", "abc"), ["010", "010", "010"]);
    assert_eq!(matrix("s = select(indices, 1, !=);", "abc"), ["101", "101", "101"]);
    // strings compare lexicographically: keys b a b
    assert_eq!(matrix("s = select(tokens, tokens, <);", "bab"), ["010", "000", "010"]);
    assert_eq!(matrix("s = select(tokens, tokens, ==);", "bab"), ["101", "010", "101"]);
    // ints and floats compare exactly: 1 == 1.0
    assert_eq!(matrix("s = select(indices, 1.0, ==);", "ab"), ["01", "01"]);
}

#[test]
fn selectors_combine_with_and_or_not() {
    let lt = "s = select(indices, indices, <=) and not select(indices, indices, ==);";
    assert_eq!(matrix(lt, "abc"), ["000", "100", "110"]);
    let or = "s = select(indices, 0, ==) or select(indices, indices, ==);";
    assert_eq!(matrix(or, "abc"), ["100", "110", "101"]);
    assert_eq!(matrix("s = full_s;", "ab"), ["11", "11"]);
}

#[test]
fn selectors_wider_than_one_word() {
    let input: String = "ab".repeat(40); // 80 positions: two words per row
    let rows = matrix("s = select(indices, indices, <);", &input);
    assert_eq!(rows[79].chars().filter(|c| *c == '1').count(), 79);
    let w = ok("x = selector_width(select(tokens, tokens, ==));", &input);
    assert!(w.as_array().unwrap().iter().all(|v| *v == json!(40)));
}

// ---------------------------------------------------------------- aggregate

#[test]
fn aggregate_empty_one_and_several() {
    // row 0 empty -> 0; row 1 one value (int, unchanged); row 2 mean of 0, 1 (float)
    assert_eq!(ok("x = aggregate(select(indices, indices, <), indices);", "abc"), json!([0, 0, 0.5]));
    assert_eq!(ok("x = aggregate(select(indices, indices, <), tokens, \"-\");", "ab"), json!(["-", "a"]));
    assert_eq!(ok("x = aggregate(full_s, indicator(tokens == \"a\"));", "ab"), json!([0.5, 0.5]));
    // one selected value keeps its type, booleans included
    assert_eq!(ok("x = aggregate(select(indices, 0, ==), tokens == \"a\");", "ab"), json!([true, true]));
}

#[test]
fn aggregate_mean_sums_in_key_order_like_python() {
    // sum([0.1, 0.2, 0.3]) = 0.6000000000000001; / 3 = 0.20000000000000004
    let out = run("x = aggregate(full_s, tokens_float);", "x", json!([0.1, 0.2, 0.3])).unwrap();
    assert_eq!(out[0].as_f64().unwrap().to_bits(), 0.20000000000000004f64.to_bits());
    // ints sum exactly, then divide: (1 + 2) / 2
    assert_eq!(run("x = aggregate(full_s, tokens_int);", "x", json!([1, 2])).unwrap(), [json!(1.5), json!(1.5)]);
}

#[test]
fn aggregate_of_several_non_numbers_is_an_error() {
    fails("x = aggregate(full_s, tokens);", json!("ab"));
    fails("x = aggregate(full_s, tokens);", json!("aa")); // equal strings too
    fails("x = aggregate(full_s, tokens == \"a\");", json!("ab")); // booleans are not numbers
                                                                   // a one-token input selects one value: no mean, no error
    assert_eq!(ok("x = aggregate(full_s, tokens);", "a"), json!(["a"]));
    // the default 0 mixed with strings makes an ill-typed sequence
    fails("x = aggregate(select(indices, indices, <), tokens);", json!("ab"));
}

// ---------------------------------------------------------------- elementwise

#[test]
fn arithmetic_follows_python() {
    assert_eq!(ok("x = indices / 2;", "abc"), json!([0.0, 0.5, 1.0]));
    assert_eq!(ok("x = indices + 0.5;", "ab"), json!([0.5, 1.5]));
    assert_eq!(ok("x = (indices - 1) % 3;", "ab"), json!([2, 0]));
    assert_eq!(ok("x = 3 * indices - indices ^ 2;", "abc"), json!([0, 2, 2]));
    assert_eq!(ok("x = -indices;", "ab"), json!([0, -1]));
    assert_eq!(ok("x = \"<\" + tokens + \">\";", "ab"), json!(["<a>", "<b>"]));
    fails("x = 1 / indices;", json!("ab")); // division by zero
    fails("x = tokens < 1;", json!("ab")); // strings do not order against numbers
    assert_eq!(ok("x = tokens == 1;", "ab"), json!([false, false])); // but compare unequal
}

#[test]
fn round_is_half_to_even_and_gives_ints() {
    let out = run("x = round(tokens_float);", "x", json!([0.5, 1.5, 2.5, -0.5, 2.6])).unwrap();
    assert_eq!(out, [json!(0), json!(2), json!(2), json!(0), json!(3)]);
    // Python: round(-1.5) = -2, round(-2.5) = -2, round(0.49999999999999994) = 0,
    // round(4503599627370497.0) = 4503599627370497 (2^52 + 1: already an integer).
    let out = run("x = round(tokens_float);", "x", json!([-1.5, -2.5, 0.49999999999999994, 4503599627370497.0]));
    assert_eq!(out.unwrap(), [json!(-2), json!(-2), json!(0), json!(4503599627370497i64)]);
}

/// Nodes that depend on the length alone (`select(indices, indices, <)` here) are kept
/// between inputs of one length; one evaluator fed lengths 3, 3, 5, 3, 1, 5 must give what
/// a fresh evaluator gives for each input. `sort` (stable, by key) is the oracle's shape:
/// out[i] = the i-th smallest token.
#[test]
fn reused_evaluator_matches_fresh_ones_across_lengths() {
    let src = "before = select(tokens_str, tokens_str, <) or (select(tokens_str, tokens_str, ==) and select(indices, indices, <));
        n = selector_width(before); x = aggregate(select(n, indices, ==), tokens_str);";
    let p = compile(src);
    let mut reused = p.evaluator("x", None).expect("x");
    for input in ["cab", "bba", "edcba", "aaa", "z", "abcab"] {
        let fresh = run(src, "x", json!(input)).unwrap();
        let toks = jsonl::tokens(&mut reused, &json!(input)).unwrap();
        let out = reused.eval(&toks).unwrap().to_vec();
        let got = jsonl::to_json(&reused, &out);
        assert_eq!(got, Json::Array(fresh.clone()), "{input}");
        let mut sorted: Vec<char> = input.chars().collect();
        sorted.sort();
        assert_eq!(got, json!(sorted.iter().map(|c| c.to_string()).collect::<Vec<_>>()), "{input}");
    }
}

/// `x` of `src` on the JSON list `input` (ints, floats or strings as given).
fn on(src: &str, input: Json) -> Result<Vec<Json>, String> {
    run(src, "x", input)
}

/// The evaluator's tight loops (two numeric columns, two inline-string columns, rounding a
/// float column) hand over to the per-atom path wherever Python's rules need it, with the
/// same results and errors. Expected values: Python 3 (`2**62 * 2` is an int beyond
/// algen's 64 bits: an error; `9007199254740993 == 9007199254740992.0` is False because
/// Python compares ints and floats exactly; `"a" + "abcdefg"` is 8 bytes, longer than an
/// inline string; `round(1e19)` does not fit in 64 bits; `round(nan)` is a ValueError).
#[test]
fn fast_elementwise_paths_fall_back_exactly() {
    assert_eq!(on("x = tokens_int * 2;", json!([3, -4])).unwrap(), [json!(6), json!(-8)]);
    let e = on("x = tokens_int * 2;", json!([3, 4611686018427387904i64])).unwrap_err();
    assert!(e.contains("integer overflow"), "{e}");
    let e = on("x = -tokens_int;", json!([1, i64::MIN])).unwrap_err();
    assert!(e.contains("integer overflow"), "{e}");
    assert_eq!(on("x = tokens_int + 0.5;", json!([1, -2])).unwrap(), [json!(1.5), json!(-1.5)]);
    let big = on("x = tokens_int == 9007199254740992.0;", json!([9007199254740993i64, 9007199254740992i64]));
    assert_eq!(big.unwrap(), [json!(false), json!(true)]);
    let big = on("x = tokens_int < 9007199254740992.0;", json!([9007199254740991i64, 9007199254740993i64]));
    assert_eq!(big.unwrap(), [json!(true), json!(false)]);
    assert_eq!(on("x = 6 / tokens_int;", json!([3, 4])).unwrap(), [json!(2.0), json!(1.5)]);
    let e = on("x = 6 / tokens_int;", json!([3, 0])).unwrap_err();
    assert!(e.contains("division by zero"), "{e}");
    assert_eq!(on("x = tokens + tokens;", json!("ab")).unwrap(), [json!("aa"), json!("bb")]);
    assert_eq!(on("x = tokens + \"abcdefg\";", json!("ab")).unwrap(), [json!("aabcdefg"), json!("babcdefg")]);
    assert_eq!(on("x = tokens + tokens;", json!(["abcd", "e"])).unwrap(), [json!("abcdabcd"), json!("ee")]);
    // indices * 0.5 is a float column (0, 0.5, 1, 1.5): rounded half to even.
    assert_eq!(ok("x = round(indices * 0.5);", "abcd"), json!([0, 0, 1, 2]));
    let e = on("x = round(tokens_float);", json!([0.5, 1e19])).unwrap_err();
    assert!(e.contains("integer overflow"), "{e}");
    let e = on("x = round(tokens_float);", json!(["2.5", "nan"])).unwrap_err();
    assert!(e.contains("NaN"), "{e}");
    assert_eq!(ok("x = \"T\" if indices == 0 else \"P\";", "abc"), json!(["T", "P", "P"]));
    // A column mixing ints and floats: round(2.5) = 2, ints unchanged; a NaN among ints fails.
    assert_eq!(ok("y = indices if indices > 0 else 2.5; x = round(y);", "abc"), json!([2, 1, 2]));
    let e = on("y = tokens_float if indices > 0 else 0; x = round(y);", json!(["1.5", "nan"])).unwrap_err();
    assert!(e.contains("NaN"), "{e}");
}

/// One evaluator whose input falls off a fast path (an overflow) and back: each result is
/// what a fresh evaluator gives (the buffers and column kinds of the failed input do not
/// leak into the next).
#[test]
fn reused_evaluator_recovers_after_a_fallback() {
    let src = "y = tokens_int * 2; x = round(y / 4) + y;";
    let p = compile(src);
    let mut ev = p.evaluator("x", None).expect("x");
    for input in [json!([1, 2]), json!([4611686018427387904i64, 1]), json!([3, 6]), json!([1.5, 2])] {
        let fresh = on(src, input.clone());
        let toks = jsonl::tokens(&mut ev, &input).unwrap();
        let got = ev.eval(&toks).map(|o| o.to_vec()).map_err(|e| e.message);
        let got = got.map(|o| jsonl::to_json(&ev, &o).as_array().unwrap().clone());
        assert_eq!(got, fresh, "{input}");
    }
    // Python: y = [6, 12]; round(1.5) = 2, round(3.0) = 3 -> [8, 15].
    assert_eq!(on(src, json!([3, 6])).unwrap(), [json!(8), json!(15)]);
}

#[test]
fn sequences_mix_ints_and_floats_but_not_strings() {
    assert_eq!(ok("x = indices if indices > 0 else 0.5;", "abc"), json!([0.5, 1, 2]));
    assert_eq!(ok("x = \"F\" if indices == 0 else 1;", "a"), json!(["F"]));
    fails("x = \"F\" if indices == 0 else 1;", json!("ab"));
}

#[test]
fn truthiness_not_and_or_indicator() {
    assert_eq!(ok("x = not indices;", "ab"), json!([true, false]));
    assert_eq!(ok("x = indices and tokens == \"b\";", "abb"), json!([false, true, true]));
    assert_eq!(ok("x = indices or 0;", "ab"), json!([false, true]));
    assert_eq!(ok("x = indicator(tokens == \"a\");", "ab"), json!([1, 0]));
    // `not` binds tighter than `==`: (not indices) == False
    assert_eq!(ok("x = not indices == False;", "ab"), json!([false, true]));
}

#[test]
fn membership_and_lookups() {
    assert_eq!(ok("x = tokens in [\"a\", \"c\"];", "abc"), json!([true, false, true]));
    assert_eq!(ok("x = \"b\" in tokens;", "ab"), json!([true, true]));
    assert_eq!(ok("x = \"z\" in tokens;", "ab"), json!([false, false]));
    assert_eq!(ok("x = {\"a\": 1, \"b\": 2}[tokens];", "ab"), json!([1, 2]));
    assert_eq!(ok("x = [10, 20, 30][indices];", "abc"), json!([10, 20, 30]));
    fails("x = {\"a\": 1}[tokens];", json!("ab"));
    // `atom in list` is an atom (True), added to an int s-op as 1
    assert_eq!(ok("b = \"b\" in [\"a\", \"b\"];\nx = indices + b;", "ab"), json!([1, 2]));
}

#[test]
fn indexing_an_sop_reads_one_position_everywhere() {
    assert_eq!(ok("x = tokens[1];", "abc"), json!(["b", "b", "b"]));
    assert_eq!(ok("x = tokens[-1];", "abc"), json!(["c", "c", "c"]));
    assert_eq!(ok("x = tokens[5];", "abc"), json!([0, 0, 0])); // nothing selected: 0
}

#[test]
fn inputs() {
    assert_eq!(ok("x = tokens_int + 1;", "12"), json!([2, 3]));
    fails("x = tokens_int;", json!("1a"));
    assert_eq!(ok("x = tokens_bool;", "a"), json!([true]));
    assert_eq!(run("x = tokens_asis;", "x", json!([1, 2.5])).unwrap(), [json!(1), json!(2.5)]);
    assert_eq!(run("x = tokens;", "x", json!([1, true])).unwrap(), [json!("1"), json!("True")]);
    fails("x = tokens_asis;", json!([1, "a"]));
    fails("x = indices;", json!(""));
    fails("x = indices;", json!([]));
}

// ---------------------------------------------------------------- library

#[test]
fn standard_library() {
    assert_eq!(ok("x = length;", "abc"), json!([3, 3, 3]));
    assert_eq!(ok("x = selector_width(select(tokens, tokens, ==));", "aba"), json!([2, 1, 2]));
    assert_eq!(ok("x = has_focus(select(indices, indices, <));", "abc"), json!([false, true, true]));
    assert_eq!(ok("x = count(tokens, \"a\");", "aba"), json!([2, 2, 2]));
    assert_eq!(ok("x = contains(tokens, \"b\");", "aa"), json!([false, false]));
    assert_eq!(ok("x = max(indices, 1);", "abc"), json!([1, 1, 2]));
    assert_eq!(ok("x = min(indices, 1);", "abc"), json!([0, 1, 1]));
    assert_eq!(ok("x = average(indices);", "abc"), json!([1.0, 1.0, 1.0]));
    assert_eq!(ok("x = load_from_location(tokens, 2);", "abc"), json!(["c", "c", "c"]));
    assert_eq!(ok("x = shift(tokens, 1, \"_\");", "abc"), json!(["_", "a", "b"]));
    assert_eq!(ok("x = mark_last_instance(tokens, \"a\");", "aba"), json!([false, false, true]));
    // the original's head (6dd1016): no *earlier* position holds the value
    assert_eq!(ok("x = mark_first_instance(tokens, \"a\");", "aba"), json!([true, false, false]));
    assert_eq!(ok("x = mark_first_instance(tokens, \"a\");", "aa"), json!([true, false]));
    assert_eq!(ok("x = sort(tokens, tokens);", "cab"), json!(["a", "b", "c"]));
    assert_eq!(ok("x = sort(indices, tokens);", "bab"), json!([1, 0, 2])); // stable
    assert_eq!(matrix("s = select_from_last(tokens, \"a\");", "aba"), ["001", "001", "001"]);
    assert_eq!(matrix("s = select_from_first(tokens, \"a\");", "aba"), ["100", "100", "100"]);
    assert_eq!(matrix("s = select_from_first(tokens, \"a\");", "baa"), ["010", "010", "010"]);
    assert_eq!(matrix("s = select_next_identical(tokens);", "aab"), ["010", "000", "000"]);
}

#[test]
fn definitions_functions_loops_and_lists() {
    let src = r#"
        def outer(x) {
            k = 2;
            def inner(y) { return y * k; }   # a closure over k
            return inner(x), inner(x) + 1;
        }
        a, b = outer(indices);
        total = 0;
        for v in [1, 2, 3] { total = total + v; }
        d = {"p": 1, "q": 2};
        keys = [k for k in d];
        pairs = zip([1, 2], [3, 4]);
        n = len(range(5)) + pairs[1][0];
        x = a + b + total + n + len(keys);
    "#;
    // a = 2i, b = 2i + 1, total = 6, n = 5 + 2, len(keys) = 2
    assert_eq!(ok(src, "ab"), json!([16, 20]));
}

#[test]
fn private_names_are_not_outputs() {
    let p = compile("_x = indices; y = _x + 1;");
    assert!(p.evaluator("y", None).is_ok());
    let e = p.evaluator("_x", None).unwrap_err();
    assert_eq!(e.code, "algen::check::rasp_output");
    let e = p.evaluator("z", None).unwrap_err();
    assert!(e.help.unwrap().contains("`y`"));
}

// ---------------------------------------------------------------- parser

#[test]
fn parser_precedence_quirks() {
    let lines = [
        "x = not a == b;",
        "x = not a in l;",
        "x = a + b in l;",
        "x = a if c else b in l;",
        "x = a if c else b if d else e;",
        "x = a if b in l else c;",
        "x = a and b or c;",
        "x = a == b and c;",
        "x = a < b < c;",
        "x = -a ^ b;",
        "x = a ^ b ^ c;",
        "x = a * b % c;",
        "x = a % b * c;",
        "x = a + b % c;",
        "x = a - b - c;",
        "x = round(a) + indicator(b) * 2;",
        "x = f(a)[0];",
        "x = select(a, b, !=) and not s;",
        "x = aggregate(s, v, \"-\") + 1.5;",
        "x = [y * 2 for y in l];",
        "x = {k: v for k, v in z};",
        "x = {\"a\": 1, 2: [3]};",
    ];
    let mut out = String::new();
    for l in lines {
        let p = rasp::parse::parse(0, l, 0).unwrap_or_else(|d| panic!("{l}: {}", d.message));
        let rasp::ast::Stmt::Assign { values, .. } = &p.stmts[0] else { panic!("{l}") };
        out.push_str(&format!("{l:<34} {}\n", values[0]));
    }
    insta::assert_snapshot!("rasp_precedence", out);
}

// ---------------------------------------------------------------- diagnostics

fn diagnostics(src: &str) -> String {
    let text: Arc<str> = src.into();
    let mut sources = SourceMap::new();
    let id = sources.add("bad.rasp", src);
    let diags = match rasp::compile(id, src, 0, text) {
        Ok(_) => panic!("{src}: expected diagnostics"),
        Err(d) => d,
    };
    let diags: Vec<_> = diags.into_iter().map(|d| d.with_source(&sources)).collect();
    algen::diag::render(&diags, 80, false)
}

#[test]
fn diagnostics_for_bad_programs() {
    let cases = [
        ("not_equal", "x = a != b;"),
        ("missing_semicolon", "x = indices\ny = x;"),
        ("unknown_name", "x = lenght + 1;"),
        ("reserved", "length = 3;\ndef f(indices) { return 1; }"),
        ("selector_as_sop", "s = select(indices, indices, ==);\ny = s + 1;"),
        ("aggregate_selector", "s = select(indices, indices, ==);\ny = aggregate(s, s);"),
        ("selector_and_sop", "y = select(indices, indices, ==) and tokens;"),
        ("indicator_atom", "y = indicator(1);"),
        ("arity", "def f(a) { return a; }\ny = f(1, 2);"),
        ("load", "load \"lib\";"),
        ("list_index", "l = [1];\ny = l[3];\nz = y + 1;"),
    ];
    for (name, src) in cases {
        insta::assert_snapshot!(format!("rasp_diag_{name}"), diagnostics(src), src);
    }
}

// ---------------------------------------------------------------- command

fn algen(args: &[&str], stdin: &str) -> std::process::Output {
    common::cli::algen_with_stdin(args, stdin)
}

#[test]
fn command_evaluates_json_lines_in_order() {
    let stdin = "{\"input\": \"§cab\"}\n{\"input\": \"\"}\n{\"input\": [\"§\", \"b\", \"a\"]}\nnot json\n";
    let o = algen(&["rasp", "tests/data/rasp/sort_bos.rasp", "--eval", "result"], stdin);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<Json> =
        String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], json!({"input": "§cab", "output": ["§", "a", "b", "c"]}));
    assert!(lines[1]["error"].is_string() && lines[1]["input"] == json!(""));
    assert_eq!(lines[2]["output"], json!(["§", "a", "b"]));
    assert!(lines[3]["error"].as_str().unwrap().contains("invalid JSON"));
}

#[test]
fn command_exit_codes() {
    let dir = std::env::temp_dir().join(format!("algen-rasp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.rasp");
    std::fs::write(&bad, "x = select(indices, indices, ==) + 1;\n").unwrap();
    let o = algen(&["rasp", bad.to_str().unwrap(), "--eval", "x"], "");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("algen::check::rasp_type"), "{err}");
    let o = algen(&["rasp", "tests/data/rasp/reverse.rasp", "--eval", "revrse"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `reverse`?"));
    let o = algen(&["rasp", "tests/data/rasp/reverse.rasp"], "");
    assert_eq!(o.status.code(), Some(2));
    let o = algen(&["rasp", "no/such/file.rasp", "--eval", "x"], "");
    assert_eq!(o.status.code(), Some(2));
}

/// `bos = "§"` in specs/rasp_hist.alg: the program sees `§ a a b` (hist = 2 2 1 at the
/// tokens), and so does the encoder, whose input starts with the BOS token (id after `<q>`)
/// where no loss or score applies. Without it, a position-free encoder cannot tell `ab`
/// from `aabb`: attention averages, so it sees proportions, not counts.
#[test]
fn bos_starts_the_program_input_and_the_model_input() {
    let Ok(loaded) = algen::pipeline::load(std::path::Path::new("specs/rasp_hist.alg")) else { panic!("spec loads") };
    let spec = loaded.spec;
    let t = spec.task("histogram").expect("task");
    assert_eq!(t.bos(), Some("§"));
    let v = algen::task::vocab(t);
    assert_eq!(v.input, ["a", "b", "c", "d", "<q>", "§"]);
    let input = vec![0, 0, 1]; // a a b
    let target = algen::task::label(t, &input).expect("labels");
    assert_eq!(target.iter().map(|&o| t.outputs[o as usize].as_str()).collect::<Vec<_>>(), ["2", "2", "1"]);
    let enc = algen::task::encode(t, &v, &algen::task::Example { input, target });
    assert_eq!(enc.tokens, [5, 0, 0, 1]);
    assert_eq!(enc.targets, [0, 1, 1, 0]); // output ids of "2", "2", "1"
    assert_eq!(enc.loss_mask, [0.0, 1.0, 1.0, 1.0]);
    assert_eq!(enc.score_mask, enc.loss_mask);
}
