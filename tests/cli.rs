//! End-to-end tests of the `algen` binary (DESIGN §4): exit codes (0 ok,
//! 1 spec or run failed, 2 bad usage), diagnostics on stderr, and the JSON
//! interfaces of `label`, `sample` and `compile`.
//!
//! Oracles: `reverse` over "01" reverses its input (hand computation: the
//! reverse of `0 1 1` is `1 1 0`); `five_mistakes.alg` contains exactly five
//! mistakes, each marked by a comment; exit codes are those of DESIGN §4.
//! Training runs use `--steps 2` on a tiny spec so that the file stays fast.

mod common;

use common::cli::algen_with_stdin;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

const REVERSE: &str = "specs/reverse.alg";

/// `algen ARGS` run from the package root, without colour, stdin closed.
fn algen(args: &[&str]) -> Output {
    algen_with_stdin(args, "")
}

/// `algen ARGS` with `stdin` piped in.
fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code (not killed by a signal)")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

/// Asserts the exit code, showing both streams when it differs.
fn assert_exit(o: &Output, want: i32, what: &str) {
    assert_eq!(code(o), want, "{what}: exit code\n--- stdout\n{}\n--- stderr\n{}", stdout(o), stderr(o));
}

/// A fresh, empty directory under the system temp dir, unique per call.
fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "algen-cli-{name}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Removes a temp dir on drop (also when the test panics).
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn json_lines(s: &str) -> Vec<Json> {
    s.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}"))).collect()
}

// ------------------------------------------------------------------ check

#[test]
fn check_ok_spec_is_silent() {
    let o = algen(&["check", REVERSE]);
    assert_exit(&o, 0, "check reverse.alg");
    assert_eq!(stdout(&o), "", "stdout");
    assert_eq!(stderr(&o), "", "stderr");
}

#[test]
fn check_reports_all_five_mistakes() {
    let o = algen(&["check", "tests/fixtures/check/err/five_mistakes.alg"]);
    assert_exit(&o, 1, "check five_mistakes.alg");
    assert_eq!(stdout(&o), "", "diagnostics go to stderr");
    let err = stderr(&o);
    let codes: Vec<&str> = err.lines().map(str::trim).filter(|l| l.starts_with("algen::check::")).collect();
    assert_eq!(
        codes,
        [
            "algen::check::unknown_function",
            "algen::check::unknown_value",
            "algen::check::bad_range",
            "algen::check::heads_divide",
            "algen::check::unknown_field"
        ],
        "one diagnostic per marked mistake, in file order\n{err}"
    );
    assert_eq!(err.matches("algen::check::").count(), 5, "five codes in all\n{err}");
    assert_eq!(
        err.lines().filter(|l| l.trim_start().starts_with("help:")).count(),
        5,
        "each diagnostic has a help line\n{err}"
    );
    assert!(err.trim_end().ends_with("5 errors found"), "{err}");
    assert!(!err.contains('\u{1b}'), "no colour codes when stderr is not a terminal");
    insta::assert_snapshot!("check_five_mistakes_stderr", err);
}

#[test]
fn check_several_files_fails_if_any_fails() {
    let o = algen(&["check", REVERSE, "tests/fixtures/check/err/heads_divide.alg"]);
    assert_exit(&o, 1, "one good file, one bad");
    assert!(stderr(&o).contains("algen::check::heads_divide"), "{}", stderr(&o));
}

#[test]
fn commands_on_a_broken_spec_exit_1() {
    let bad = "tests/fixtures/check/err/heads_divide.alg";
    for args in [
        &["compile", bad][..],
        &["sample", bad, "-t", "t"],
        &["label", bad, "-t", "t"],
        &["run", bad, "--steps", "1", "--out", "/nonexistent/never-written"],
    ] {
        let o = algen(args);
        assert_exit(&o, 1, &args.join(" "));
        assert!(stderr(&o).contains("algen::check::heads_divide"), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), "", "{args:?}");
    }
}

// ------------------------------------------------------------------ usage errors (exit 2)

#[test]
fn missing_file_is_a_usage_error() {
    for cmd in [
        &["check", "no/such/spec.alg"][..],
        &["run", "no/such/spec.alg", "--steps", "1"],
        &["sample", "no/such/spec.alg", "-t", "x"],
        &["compile", "no/such/spec.alg"],
    ] {
        let o = algen(cmd);
        assert_exit(&o, 2, &cmd.join(" "));
        let err = stderr(&o);
        assert!(err.contains("cannot read") && err.contains("no/such/spec.alg"), "{cmd:?}: {err}");
        assert_eq!(stdout(&o), "", "{cmd:?}");
    }
}

#[test]
fn bad_usage_exits_2() {
    let cases: &[&[&str]] = &[
        &["frobnicate", REVERSE],
        &["check"],
        &["check", REVERSE, "--frobnicate"],
        &["run", REVERSE, "--steps", "0"],
        &["run", REVERSE, "--steps", "many"],
        &["run", REVERSE, "--kernels", "graph"],
        &["sample", REVERSE, "-t", "reverse", "--len", "abc"],
        &["sample", REVERSE, "-t", "reverse", "--len", "0"],
        &["sample", REVERSE],
        &["label", REVERSE],
    ];
    for args in cases {
        let o = algen(args);
        assert_exit(&o, 2, &args.join(" "));
        assert!(!stderr(&o).is_empty(), "{args:?}: a message on stderr");
        assert_eq!(stdout(&o), "", "{args:?}");
    }
}

#[test]
fn unknown_task_suggests_a_name() {
    for cmd in ["label", "sample"] {
        let o = algen(&[cmd, REVERSE, "-t", "revers"]);
        assert_exit(&o, 2, cmd);
        let err = stderr(&o);
        assert!(err.contains("`revers`") && err.contains("did you mean `reverse`?"), "{cmd}: {err}");
    }
}

// ------------------------------------------------------------------ label

#[test]
fn label_ids_in_ids_out() {
    let o = algen_with_stdin(&["label", REVERSE, "-t", "reverse"], "{\"input\":[0,1,1]}\n");
    assert_exit(&o, 0, "label");
    assert_eq!(stdout(&o), "{\"input\":[0,1,1],\"output\":[1,1,0]}\n");
}

#[test]
fn label_tokens_in_tokens_out() {
    let o = algen_with_stdin(
        &["label", REVERSE, "-t", "reverse"],
        "{\"input\":[\"0\",\"1\",\"1\"]}\n{\"input\":\"011\"}\n",
    );
    assert_exit(&o, 0, "label");
    assert_eq!(
        stdout(&o),
        "{\"input\":[\"0\",\"1\",\"1\"],\"output\":[\"1\",\"1\",\"0\"]}\n{\"input\":\"011\",\"output\":\"110\"}\n"
    );
}

#[test]
fn label_bad_lines_get_an_error_and_later_lines_go_on() {
    let input = [
        r#"{"input":[1,0,0]}"#,
        r#"{"input":["0","2"]}"#, // a token outside the alphabet
        r#"not json"#,
        r#"{"input":[0,7]}"#, // an id outside the alphabet
        r#"{"inputs":[0]}"#,  // no "input" field
        r#"{"input":"10"}"#,
    ]
    .join("\n");
    let o = algen_with_stdin(&["label", REVERSE, "-t", "reverse"], &(input + "\n"));
    assert_exit(&o, 0, "label with bad lines");
    let lines = json_lines(&stdout(&o));
    assert_eq!(lines.len(), 6, "one reply per input line\n{}", stdout(&o));
    assert_eq!(lines[0], serde_json::json!({"input": [1, 0, 0], "output": [0, 0, 1]}));
    for (i, l) in lines.iter().enumerate().skip(1).take(4) {
        assert!(l.get("error").and_then(Json::as_str).is_some_and(|e| !e.is_empty()), "line {i}: {l}");
        assert!(l.get("output").is_none(), "line {i} has no output: {l}");
    }
    assert_eq!(lines[1]["input"], serde_json::json!(["0", "2"]), "the input is echoed");
    assert!(lines[1]["error"].as_str().unwrap_or("").contains('2'), "names the bad token: {}", lines[1]);
    assert!(lines[3]["error"].as_str().unwrap_or("").contains('7'), "names the bad id: {}", lines[3]);
    assert_eq!(
        lines[5],
        serde_json::json!({"input": "10", "output": "01"}),
        "processing goes on in order; a string in, a string out"
    );
}

// ------------------------------------------------------------------ sample

fn sample(seed: &str) -> Vec<Json> {
    let o = algen(&["sample", REVERSE, "-t", "reverse", "--len", "5", "-n", "3", "--seed", seed, "--json"]);
    assert_exit(&o, 0, "sample");
    json_lines(&stdout(&o))
}

#[test]
fn sample_json_is_seeded_and_correct() {
    let a = sample("7");
    assert_eq!(a.len(), 3);
    for ex in &a {
        let input: Vec<&str> =
            ex["input"].as_array().expect("input list").iter().map(|v| v.as_str().expect("token string")).collect();
        let output: Vec<&str> =
            ex["output"].as_array().expect("output list").iter().map(|v| v.as_str().expect("token string")).collect();
        assert_eq!(input.len(), 5, "{ex}");
        assert!(input.iter().all(|t| *t == "0" || *t == "1"), "{ex}");
        let reversed: Vec<&str> = input.iter().rev().copied().collect();
        assert_eq!(output, reversed, "{ex}");
    }
    assert_eq!(sample("7"), a, "same seed, same examples");
    assert_ne!(sample("8"), a, "another seed, other examples");
}

#[test]
fn sample_text_form() {
    let o = algen(&["sample", REVERSE, "-t", "reverse", "--len", "4", "-n", "2", "--seed", "1"]);
    assert_exit(&o, 0, "sample");
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 2, "{out}");
    for l in out.lines() {
        let (i, t) = l.split_once(" -> ").unwrap_or_else(|| panic!("`IN -> OUT`: {l}"));
        assert_eq!(i.len(), 4, "{l}");
        assert_eq!(t, i.chars().rev().collect::<String>(), "{l}");
    }
}

// ------------------------------------------------------------------ compile

#[test]
fn compile_prints_ir_and_model_costs() {
    let o = algen(&["compile", REVERSE]);
    assert_exit(&o, 0, "compile");
    let j: Json = serde_json::from_str(&stdout(&o)).expect("compile prints JSON");
    assert!(j["ir"].is_object(), "has the IR");
    assert_eq!(j["ir"]["experiments"][0]["name"], "reverse_pe");
    let models = j["models"].as_array().expect("models list");
    assert_eq!(models.len(), 3, "one entry per variant of the position sweep");
    for m in models {
        assert!(m["params"].as_u64().is_some_and(|p| p > 0), "{m}");
        assert!(m["flops_per_step"].as_u64().is_some_and(|f| f > 0), "{m}");
    }
    let o = algen(&["compile", REVERSE, "-e", "nosuch"]);
    assert_exit(&o, 2, "compile -e nosuch");
}

// ------------------------------------------------------------------ run

/// A spec small enough to train and evaluate in well under a second per run:
/// three variants, one seed each. Reversing strings of length 5..=6 over four
/// tokens cannot be learned in 2 steps, so the `expect` fails (chance level
/// is 4^-5 per sequence).
const TINY: &str = r#"
task rev { alphabet = "0123", input = string(alphabet), target = reverse(input), format = transduce }
split s { train = len 1..=4, test = len 5..=6, count = 4 }
experiment tiny {
  task = rev
  model = transformer { layers = 1, d_model = 8, heads = 2, ffn = 16, position = sweep [none, sinusoidal, learned(max_len = 32)] }
  split = s
  train { steps = 1000, batch = 4, seeds = 1 }
  eval { every = 0 }
  expect all test.sequence_accuracy >= 0.99
}
"#;

#[test]
fn run_writes_results_even_when_expect_fails() {
    let dir = temp_dir("run");
    let _cleanup = Cleanup(dir.clone());
    let spec = dir.join("tiny.alg");
    std::fs::write(&spec, TINY).expect("write spec");
    let out = dir.join("out");
    let o = algen(&["run", path_str(&spec), "--steps", "2", "--out", path_str(&out)]);
    assert_exit(&o, 1, "the expectation cannot hold after 2 steps");
    assert!(stderr(&o).contains("algen::run::expect"), "{}", stderr(&o));
    // Rendered like a check error: the `expect` line of the spec, labelled with the value.
    assert!(stderr(&o).contains("expect all test.sequence_accuracy >= 0.99"), "{}", stderr(&o));
    assert!(stderr(&o).contains("the value is "), "{}", stderr(&o));
    assert!(!stderr(&o).contains("error["), "no hand-written error lines: {}", stderr(&o));
    let exp = out.join("tiny");
    for f in ["results.json", "report.md", "accuracy_by_length.svg"] {
        assert!(exp.join(f).is_file(), "{f} written");
    }
    let results: Json = serde_json::from_str(&std::fs::read_to_string(exp.join("results.json")).expect("read results"))
        .expect("results.json is JSON");
    let runs = results["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3, "3 variants x 1 seed");
    for r in runs {
        assert!(r["timing"]["train_steps_per_s"].is_number(), "train_steps_per_s present: {}", r["timing"]);
        assert_eq!(r["final_eval"]["step"], 2, "--steps overrides the spec's 1000");
    }
    let metrics: Vec<PathBuf> = std::fs::read_dir(exp.join("runs"))
        .expect("runs/ dir")
        .map(|e| e.expect("entry").path().join("metrics.jsonl"))
        .collect();
    assert_eq!(metrics.len(), 3, "one run dir per run");
    for m in &metrics {
        let text = std::fs::read_to_string(m).unwrap_or_else(|e| panic!("{}: {e}", m.display()));
        assert!(!json_lines(&text).is_empty(), "{} has records", m.display());
    }
    // `report` re-renders from results.json alone.
    std::fs::remove_file(exp.join("report.md")).expect("remove report");
    let o = algen(&["report", path_str(&exp)]);
    assert_exit(&o, 0, "report");
    assert!(exp.join("report.md").is_file(), "report.md re-rendered");
}

/// `--kernels reference` trains through candle's autograd with the decomposed ops: the same
/// losses as the default (graph-free step, fused kernels) up to rounding; a model the
/// graph-free step does not cover (dropout) says so once per run in the log.
#[test]
fn run_kernels_reference_agrees_and_fallback_is_logged() {
    let dir = temp_dir("kernels");
    let _cleanup = Cleanup(dir.clone());
    let spec = dir.join("tiny.alg");
    std::fs::write(&spec, TINY).expect("write spec");
    let loss_of = |kernels: &str| -> Vec<f64> {
        let out = dir.join(kernels);
        let o = algen(&["run", path_str(&spec), "--steps", "3", "--kernels", kernels, "--out", path_str(&out)]);
        assert_exit(&o, 1, "the expectation fails, the runs finish");
        let results: Json =
            serde_json::from_str(&std::fs::read_to_string(out.join("tiny/results.json")).unwrap()).unwrap();
        results["runs"].as_array().unwrap().iter().map(|r| r["final_eval"]["train_loss"].as_f64().unwrap()).collect()
    };
    let (fused, reference) = (loss_of("fused"), loss_of("reference"));
    assert_eq!(fused.len(), 3);
    for (a, b) in fused.iter().zip(&reference) {
        assert!((a - b).abs() <= 1e-5 * a.abs(), "fused {a} vs reference {b}");
    }
    let dropout = dir.join("dropout.alg");
    std::fs::write(&dropout, TINY.replace("ffn = 16,", "ffn = 16, dropout = 0.1,")).unwrap();
    let out = dir.join("dropout_out");
    let o = algen(&["run", path_str(&dropout), "--steps", "2", "--out", path_str(&out)]);
    assert_exit(&o, 1, "the expectation fails, the runs finish");
    let notes = stderr(&o).matches("does not cover dropout").count();
    assert_eq!(notes, 3, "one note per run: {}", stderr(&o));
}

/// A run that diverges and an output folder that cannot be written end with their coded
/// diagnostics (with help lines) and exit 1; the diverged run's results are kept.
#[test]
fn run_time_failures_have_codes_and_help() {
    let dir = temp_dir("runtime_codes");
    let _cleanup = Cleanup(dir.clone());
    let spec = dir.join("tiny.alg");
    let text = TINY.replace(
        "train { steps = 1000, batch = 4, seeds = 1 }",
        "train { steps = 20, batch = 4, seeds = 1, optimizer = adam(lr = 1e30) }",
    );
    assert_ne!(text, TINY, "the learning rate was replaced");
    std::fs::write(&spec, text).expect("write spec");
    let out = dir.join("out");
    let o = algen(&["run", path_str(&spec), "-q", "--out", path_str(&out)]);
    assert_exit(&o, 1, "diverged");
    assert!(stderr(&o).contains("algen::run::diverged"), "{}", stderr(&o));
    assert!(stderr(&o).contains("lower the learning rate"), "help line: {}", stderr(&o));
    assert!(out.join("tiny/results.json").is_file(), "results so far are kept");
    let file = dir.join("a_file");
    std::fs::write(&file, "").unwrap();
    let o = algen(&["run", path_str(&spec), "-q", "--steps", "1", "--out", path_str(&file.join("x"))]);
    assert_exit(&o, 1, "unwritable output");
    assert!(stderr(&o).contains("algen::run::io"), "{}", stderr(&o));
    assert!(stderr(&o).contains("help: check that the output folder"), "{}", stderr(&o));
}

#[test]
fn run_unknown_experiment_is_a_usage_error() {
    let dir = temp_dir("run-e");
    let _cleanup = Cleanup(dir.clone());
    let spec = dir.join("tiny.alg");
    std::fs::write(&spec, TINY).expect("write spec");
    let out = dir.join("out");
    let o = algen(&["run", path_str(&spec), "-e", "nosuch", "--steps", "1", "--out", path_str(&out)]);
    assert_exit(&o, 2, "run -e nosuch");
    assert!(stderr(&o).contains("`nosuch`"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing written");
    let o = algen(&["run", path_str(&spec), "-e", "tiyn", "--steps", "1", "--out", path_str(&out)]);
    assert_exit(&o, 2, "run -e tiyn");
}

#[test]
fn report_on_missing_dir_is_a_usage_error() {
    let dir = temp_dir("report");
    let _cleanup = Cleanup(dir.clone());
    let o = algen(&["report", path_str(&dir.join("nothing"))]);
    assert_exit(&o, 2, "report on a missing dir");
}

/// A target that fails on one input length: `sample` reports it as a coded diagnostic at the
/// target's span, rendered like a check error (not a hand-written `error[...]` line).
#[test]
fn sample_renders_a_failing_target_at_its_span() {
    let dir = temp_dir("sample-fail");
    let _cleanup = Cleanup(dir.clone());
    let spec = dir.join("fail7.alg");
    let text = "task t { alphabet = \"01\", input = string(alphabet), target = [len(input) / (len(input) - 7) * 0], format = classify, outputs = \"01\" }\n";
    std::fs::write(&spec, text).expect("write spec");
    assert_exit(&algen(&["sample", path_str(&spec), "-t", "t", "--len", "3", "-n", "2"]), 0, "defined below length 7");
    let o = algen(&["sample", path_str(&spec), "-t", "t", "--len", "7", "-n", "2"]);
    assert_exit(&o, 1, "division by zero at length 7");
    let err = stderr(&o);
    assert!(err.contains("algen::task::eval") && err.contains("division by zero"), "{err}");
    assert!(err.contains("fail7.alg:1:63") && err.contains("fails here"), "the target's span: {err}");
    assert!(!err.contains("error["), "{err}");
}

// ------------------------------------------------------------------ source files (issue 16, item 19)

/// A byte-order mark is skipped; a non-UTF-8 spec, import or RASP file is a coded diagnostic
/// naming the file and the byte; `/dev/zero` is refused at the size cap, not read to the end.
#[test]
fn source_files_bom_utf8_and_size() {
    let dir = temp_dir("sources");
    let _c = Cleanup(dir.clone());
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    };
    let spec = std::fs::read(REVERSE).expect("reverse spec");
    let bom = write("bom.alg", &[b"\xEF\xBB\xBF".as_slice(), &spec].concat());
    assert_exit(&algen(&["check", path_str(&bom)]), 0, "a spec with a BOM");

    let bad = write("bad.alg", b"let x = 1;\nlet y = \"\xff\";\n");
    let o = algen(&["check", path_str(&bad)]);
    assert_exit(&o, 1, "a non-UTF-8 spec");
    let err = stderr(&o);
    assert!(err.contains("algen::import::not_utf8") && err.contains("bad.alg") && err.contains("byte 20"), "{err}");

    let imp = write("imp.alg", b"import \"bad.alg\";\n");
    let err = stderr(&algen(&["check", path_str(&imp)]));
    assert!(err.contains("algen::import::not_utf8") && err.contains("imported here"), "{err}");

    let zero = write("zero.alg", b"import \"/dev/zero\";\n");
    let t = std::time::Instant::now();
    let o = algen(&["check", path_str(&zero)]);
    assert_exit(&o, 1, "import of /dev/zero");
    assert!(stderr(&o).contains("algen::import::too_large") && stderr(&o).contains("16 MiB"), "{}", stderr(&o));
    assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());
    let err = stderr(&algen(&["check", "/dev/zero"]));
    assert!(err.contains("algen::import::too_large") && err.contains("/dev/zero"), "{err}");

    let rasp_bad = write("bad.rasp", b"x = tokens;\n# \xc3\n");
    let o = algen(&["rasp", path_str(&rasp_bad), "--eval", "x"]);
    assert_exit(&o, 1, "a non-UTF-8 RASP file");
    assert!(stderr(&o).contains("algen::import::not_utf8") && stderr(&o).contains("line 2"), "{}", stderr(&o));
    let rasp_bom = write("bom.rasp", b"\xEF\xBB\xBFx = tokens;\n");
    let o = algen_with_stdin(&["rasp", path_str(&rasp_bom), "--eval", "x"], "{\"input\": \"ab\"}\n");
    assert_exit(&o, 0, "a RASP file with a BOM");
    assert_eq!(json_lines(&stdout(&o))[0]["output"], serde_json::json!(["a", "b"]));
}
