//! SCAN (Lake & Baroni 2018) from `specs/lib/scan.alg`: the enumeration and the benchmark's
//! splits reproduce the reference files exactly, as multisets.
//!
//! Oracle: the files of github.com/brendenlake/SCAN (commit c4b756c; `shared/data/scan/`
//! holds copies). The tests keep only each file's line count and the SHA-256 of its lines
//! sorted bytewise, each ending in `\n` (`LC_ALL=C sort FILE | sha256sum`), so they run on a
//! plain clone.

use algen::ir::{Spec, Task};
use algen::pipeline;
use algen::task::{self, Example};
use sha2::{Digest, Sha256};
use std::process::Command;

const SPEC: &str = "specs/lib/scan.alg";

/// (file, lines, SHA-256 of the sorted lines).
const TASKS: (&str, usize, &str) =
    ("tasks.txt", 20910, "6be4b39bc8bf3a20be810b6991250d0493e608560609db6765dd679e1ed1c98e");
const TRAIN_LENGTH: (&str, usize, &str) =
    ("tasks_train_length.txt", 16990, "7ffb97f45029871c94bede7e723f7a4aa179eb99fe2b977a18283310422c719d");
const TEST_LENGTH: (&str, usize, &str) =
    ("tasks_test_length.txt", 3920, "3297fd0b676c391f7bc3a7385aa66a7fdf64f6f8e81ad584810c1d4ebd0eaa2c");
const TRAIN_JUMP: (&str, usize, &str) =
    ("tasks_train_addprim_jump.txt", 14670, "0683daacfdce23cf8ed6f5077feda21785e93ac82e0d11363a9280b7b0c6561e");
const TEST_JUMP: (&str, usize, &str) =
    ("tasks_test_addprim_jump.txt", 7706, "522454c6280eab957dfc4ea9579ef1d780a716ac34df09619970e1d98822d7e2");

fn spec() -> Spec {
    match pipeline::load(std::path::Path::new(SPEC)) {
        Ok(l) => l.spec,
        Err(_) => panic!("{SPEC} does not check"),
    }
}

/// `IN: words OUT: actions`, the files' line format.
fn line(t: &Task, e: &Example) -> String {
    let i: Vec<&str> = e.input.iter().map(|&x| t.alphabet[x as usize].as_str()).collect();
    let o: Vec<&str> = e.target.iter().map(|&x| t.outputs[x as usize].as_str()).collect();
    format!("IN: {} OUT: {}", i.join(" "), o.join(" "))
}

fn assert_file(t: &Task, examples: &[Example], (file, lines, sha): (&str, usize, &str)) {
    let mut v: Vec<String> = examples.iter().map(|e| line(t, e)).collect();
    v.sort();
    let mut h = Sha256::new();
    for l in &v {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v.len(), lines, "{file}: line count");
    assert_eq!(got, sha, "{file}: SHA-256 of the sorted lines");
}

#[test]
fn enumeration_is_tasks_txt() {
    let spec = spec();
    let t = spec.task("scan").expect("task scan");
    let all = task::grammar::enumerate(t).expect("finite");
    assert_file(t, &all, TASKS);
}

#[test]
fn length_split_is_the_benchmark_s() {
    let spec = spec();
    let t = spec.task("scan").expect("task");
    let p = task::split_universe(t, spec.split("scan_length").expect("split"), 0).expect("parts");
    assert_file(t, &p.train, TRAIN_LENGTH);
    assert_file(t, &p.test, TEST_LENGTH);
}

#[test]
fn addprim_jump_split_is_the_benchmark_s() {
    let spec = spec();
    let t = spec.task("scan").expect("task");
    let p = task::split_universe(t, spec.split("scan_addprim_jump").expect("split"), 0).expect("parts");
    assert_file(t, &p.train, TRAIN_JUMP);
    assert_file(t, &p.test, TEST_JUMP);
}

/// The template splits (Loula et al. 2018) and the add-primitive "turn left" split, written
/// with `contains(input, [w1, w2, ...])` in specs/lib/scan.alg. Oracle: the number of lines
/// of `shared/data/scan/tasks.txt` whose command holds the phrase (a Python scan of the
/// file's words, e.g. 1,208 commands hold "turn left" besides the bare "turn left"), and
/// every command with the phrase in test, every other one in train.
#[test]
fn template_splits_count_the_phrases() {
    let spec = spec();
    let t = spec.task("scan").expect("task");
    let has = |e: &Example, p: &[&str]| {
        let w: Vec<&str> = e.input.iter().map(|&x| t.alphabet[x as usize].as_str()).collect();
        w.windows(p.len()).any(|x| x == p)
    };
    let prim = ["walk", "look", "run", "jump"];
    let cases: [(&str, usize, usize, Vec<Vec<&str>>); 5] = [
        ("scan_jump_around_right", 19701, 1209, vec![vec!["jump", "around", "right"]]),
        ("scan_around_right", 16290, 4620, prim.iter().map(|u| vec![*u, "around", "right"]).collect()),
        ("scan_opposite_right", 16290, 4620, prim.iter().map(|u| vec![*u, "opposite", "right"]).collect()),
        ("scan_right", 16290, 4620, prim.iter().map(|u| vec![*u, "right"]).collect()),
        ("scan_addprim_turn_left", 19702, 1208, vec![vec!["turn", "left"]]),
    ];
    for (name, train, test, phrases) in cases {
        let p = task::split_universe(t, spec.split(name).expect("split"), 0).expect("parts");
        assert_eq!((p.train.len(), p.test.len()), (train, test), "{name}: train / test");
        let held = |e: &Example| phrases.iter().any(|ph| has(e, ph));
        assert!(p.test.iter().all(held), "{name}: every test command holds the phrase");
        let bare_turn_left = |e: &Example| e.input.len() == 2 && has(e, &["turn", "left"]);
        assert!(p.train.iter().all(|e| !held(e) || bare_turn_left(e)), "{name}: no training command holds it");
    }
}

#[test]
fn simple_split_is_a_disjoint_80_20_partition() {
    let spec = spec();
    let t = spec.task("scan").expect("task");
    let s = spec.split("scan_simple").expect("split");
    let p = task::split_universe(t, s, 0).expect("parts");
    assert_eq!((p.train.len(), p.test.len()), (16728, 4182)); // round(0.8 · 20910)
    let mut all: Vec<String> = p.train.iter().chain(&p.test).map(|e| line(t, e)).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 20910, "train and test are disjoint and cover every command");
    // Drawn by the run's seed: the same seed gives the same split, another seed another one.
    assert_eq!(task::split_universe(t, s, 0).expect("again").train, p.train);
    assert_ne!(task::split_universe(t, s, 1).expect("seed 1").train, p.train);
}

#[test]
fn labels_parse_commands() {
    let spec = spec();
    let t = spec.task("scan").expect("task");
    // Lake & Baroni 2018, Fig. 1: "jump twice after walk left" -> LTURN WALK JUMP JUMP.
    let out = task::label_tokens(t, &["jump", "twice", "after", "walk", "left"]).expect("label");
    assert_eq!(out, ["I_TURN_LEFT", "I_WALK", "I_JUMP", "I_JUMP"]);
    let out = task::label_tokens(t, &["turn", "around", "right"]).expect("label");
    assert_eq!(out, ["I_TURN_RIGHT"; 4]);
    assert!(task::label_tokens(t, &["jump", "jump"]).is_err(), "not a command");
}

#[test]
fn sampled_commands_snapshot() {
    let spec = spec();
    let t = spec.task("scan").expect("task");
    let mut text = String::new();
    for len in [1, 2, 3, 5, 9] {
        for e in task::generate(t, "snapshot", len, 7, 2).expect("sample") {
            text.push_str(&format!("len {len}: {}\n", line(t, &e)));
        }
    }
    insta::assert_snapshot!("scan_sampled", text);
}

#[test]
fn recursive_grammar_samples_within_its_depth() {
    let src = r#"grammar nest { max_depth = 6
        E = "(" x:E ")" => "open" x "close" | "x" => "leaf" }"#;
    let ast = algen::syntax::parse_file(0, src).expect("parses");
    let c = algen::check::check(&[(0, ast)]);
    let spec = c.spec.expect("checks");
    let t = spec.task("nest").expect("task");
    assert!(task::grammar::enumerate(t).is_err(), "recursive: not enumerable");
    for len in [1, 3, 11] {
        for e in task::generate(t, "s", len, 0, 3).expect("sample") {
            assert_eq!(e.input.len(), len);
            assert_eq!(e.target.len(), len, "one output per word here");
        }
    }
    // Depth 6 allows at most 5 nestings: 11 words.
    assert!(task::generate(t, "s", 13, 0, 1).is_err());
}

fn algen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_algen")).args(args).output().expect("runs")
}

#[test]
fn cli_sample_all_lists_every_command() {
    let o = algen(&["sample", SPEC, "-t", "scan", "--all", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 20910);
    let first: serde_json::Value = serde_json::from_str(lines[0]).expect("json");
    assert!(first["input"].is_array() && first["output"].is_array(), "{first}");
}

#[test]
fn cli_sample_split_parts() {
    let count = |part: &str| {
        let o = algen(&["sample", SPEC, "-t", "scan", "--all", "--split", "scan_addprim_jump", "--part", part]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).expect("utf-8").lines().filter(|l| !l.is_empty()).count()
    };
    assert_eq!(count("train"), 14670);
    assert_eq!(count("test"), 7706);
    // Bad usage exits 2: a part without a split, an unknown split, an unknown part.
    let o = algen(&["sample", SPEC, "-t", "scan", "--all", "--part", "train"]);
    assert_eq!(o.status.code(), Some(2));
    let o = algen(&["sample", SPEC, "-t", "scan", "--all", "--split", "scan_lenght", "--part", "test"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("scan_length"), "did-you-mean");
    let o = algen(&["sample", SPEC, "-t", "scan", "--all", "--split", "scan_length", "--part", "dev"]);
    assert_eq!(o.status.code(), Some(2));
}

fn checked_task(src: &str, name: &str) -> Spec {
    let ast = algen::syntax::parse_file(0, src).expect("parses");
    let spec = algen::check::check(&[(0, ast)]).spec.expect("checks");
    assert!(spec.task(name).is_some());
    spec
}

/// Exact-length draws of a recursive grammar follow the top-down process conditioned on the
/// length: the same distribution as drawing derivations until one has that length.
#[test]
fn recursive_grammar_draws_lengths_as_rejection_does() {
    let spec = checked_task(
        r#"grammar tree { max_depth = 4
        S = x:S y:S => "L" x y "R" | x:S "c" => x "C" | "a" => "a" | "b" => "b" }"#,
        "tree",
    );
    let t = spec.task("tree").unwrap();
    let n = 20_000;
    let count = |es: Vec<Example>| {
        let mut m = std::collections::BTreeMap::<Vec<u32>, f64>::new();
        for e in es {
            assert_eq!(e.input.len(), 3);
            *m.entry(e.target).or_default() += 1.0 / n as f64;
        }
        m
    };
    let exact = count(task::generate(t, "s", 3, 0, n).expect("draws"));
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
    let mut rejected = vec![];
    while rejected.len() < n {
        let e = task::grammar::sample(t, &mut rng).expect("samples");
        if e.input.len() == 3 {
            rejected.push(e);
        }
    }
    let rejected = count(rejected);
    // The derivations are not equally likely under the process (nor their sentences): a
    // sampler uniform over derivations or splits would not pass.
    let (lo, hi) = exact.values().fold((1.0f64, 0.0f64), |(lo, hi), &p| (lo.min(p), hi.max(p)));
    assert!(hi > 2.0 * lo, "{exact:?}");
    assert_eq!(exact.keys().collect::<Vec<_>>(), rejected.keys().collect::<Vec<_>>());
    for (k, p) in &exact {
        let q = rejected[k];
        assert!((p - q).abs() < 0.012, "{k:?}: exact {p:.4}, rejection {q:.4}");
    }
}

/// A long sentence that rejection almost never hits: a list of 100 words, each level
/// stopping with probability 1/2.
#[test]
fn recursive_grammar_draws_long_sentences() {
    let spec = checked_task(
        r#"grammar list { max_depth = 120
        S = d:D s:S => d s | D
        D = "1" => "1" | "4" => "4" * 3 }"#,
        "list",
    );
    let t = spec.task("list").unwrap();
    for e in task::generate(t, "s", 100, 0, 5).expect("draws") {
        assert_eq!(e.input.len(), 100);
        let four = t.alphabet.iter().position(|a| a == "4").unwrap() as u32;
        let fours = e.input.iter().filter(|&&w| w == four).count();
        assert_eq!(e.target.len(), 100 + 2 * fours, "every 4 written three times");
    }
    // The n-th word's `D` is n + 1 levels deep: depth 120 allows 119 words, not 120.
    assert!(task::generate(t, "s", 119, 0, 1).is_ok());
    let err = task::generate(t, "s", 120, 0, 1).unwrap_err().to_string();
    assert!(err.contains("no sentence of 120 words"), "{err}");
}
