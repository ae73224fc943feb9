//! The 15 Chomsky-hierarchy tasks of `specs/lib/chomsky.alg` (Delétang et al., ICLR 2023;
//! issue 9 items 1–2): labels against hand-worked examples of every edge case, against samples
//! that the original benchmark code produced (tests/data/chomsky/, see its README.md), and
//! `algen label` on the library. Sampling properties: tests/chomsky_sampling.rs.
//!
//! Oracles: the hand computations in the comments; the reference data; the sampling rules of
//! the benchmark's code (`tasks/*/*.py` at commit 8084451).

mod common;

use algen::ir::{Format, Spec};
use algen::task;
use common::chomsky::{get, library, NAMES};
use std::collections::BTreeSet;

/// Asserts `label(task, input) == want` for each pair.
fn labels(lib: &Spec, name: &str, cases: &[(&[u32], &[u32])]) {
    let t = get(lib, name);
    for (input, want) in cases {
        let got = task::label(t, input).unwrap_or_else(|e| panic!("{name} {input:?}: {e}"));
        assert_eq!(got, want.to_vec(), "{name} {input:?}");
    }
}

/// Asserts that each input is refused (an error, not a panic).
fn refuses(lib: &Spec, name: &str, inputs: &[&[u32]]) {
    let t = get(lib, name);
    for input in inputs {
        assert!(task::label(t, input).is_err(), "{name} should refuse {input:?}");
    }
}

#[test]
fn the_library_has_the_benchmarks_names_sizes_and_formats() {
    let lib = library();
    let names: BTreeSet<&str> = lib.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, NAMES.into_iter().collect());
    // (input size, output size) of each task's `input_size` / `output_size` in the benchmark.
    let sizes = [
        (2, 2),
        (2, 2),
        (3, 5),
        (9, 5),
        (5, 3),
        (2, 2),
        (11, 5),
        (11, 5),
        (2, 2),
        (4, 2),
        (2, 2),
        (3, 3),
        (3, 3),
        (2, 2),
        (5, 5),
    ];
    for (name, (i, o)) in NAMES.iter().zip(sizes) {
        let t = get(&lib, name);
        assert_eq!((t.alphabet.len(), t.outputs.len()), (i, o), "{name}");
        // the benchmark's `output_length` is 1 for these (the default of `GeneralizationTask`)
        let single = [
            "even_pairs",
            "parity_check",
            "cycle_navigation",
            "modular_arithmetic",
            "modular_arithmetic_brackets",
            "solve_equation",
            "missing_duplicate_string",
        ]
        .contains(name);
        let want = if single { Format::Classify } else { Format::Transduce };
        assert_eq!(t.format, want, "{name}");
        let ends = ["stack_manipulation", "binary_addition", "binary_multiplication"].contains(name);
        assert_eq!(t.score_until.as_deref(), ends.then_some("2"), "{name}");
    }
}

#[test]
fn regular_tasks_by_hand() {
    let lib = library();
    // 0101001: unequal neighbours at 01,10,01,10,01 = 5 -> 1; 001110: 01,10 = 2 -> 0.
    labels(&lib, "even_pairs", &[(&[0, 1, 0, 1, 0, 0, 1], &[1]), (&[0, 0, 1, 1, 1, 0], &[0]), (&[1], &[0])]);
    // 1010100 has three 1s -> 1; 01111 has four -> 0.
    labels(&lib, "parity_check", &[(&[1, 0, 1, 0, 1, 0, 0], &[1]), (&[0, 1, 1, 1, 1], &[0])]);
    // steps +1 -1 0 -1 -1 = -2 ≡ 3; +1 +1 +1 -1 = 2; a single -1 ≡ 4.
    labels(&lib, "cycle_navigation", &[(&[2, 0, 1, 0, 0], &[3]), (&[2, 2, 2, 0], &[2]), (&[0], &[4])]);
    // 1+2*3 = 7 ≡ 2; 1-1-1 = -1 ≡ 4; 0*1+4*3-2 = 10 ≡ 0; 3-2*4 = -5 ≡ 0; 4 = 4.
    // Blanks (8): 1 _ 2 reads 1 + 2 = 3; _ * 3 reads 0 * 3 = 0; 2 - _ reads 2 - 0 = 2.
    labels(
        &lib,
        "modular_arithmetic",
        &[
            (&[1, 5, 2, 7, 3], &[2]),
            (&[1, 6, 1, 6, 1], &[4]),
            (&[0, 7, 1, 5, 4, 7, 3, 6, 2], &[0]),
            (&[3, 6, 2, 7, 4], &[0]),
            (&[4], &[4]),
            (&[1, 8, 2], &[3]),
            (&[8, 7, 3], &[0]),
            (&[2, 6, 8], &[2]),
        ],
    );
    refuses(&lib, "modular_arithmetic", &[&[], &[1, 5], &[5], &[1, 2, 3], &[1, 5, 9]]);
    refuses(&lib, "even_pairs", &[&[], &[2]]);
}

#[test]
fn stack_manipulation_by_hand() {
    let lib = library();
    labels(
        &lib,
        "stack_manipulation",
        &[
            // the benchmark's examples: 0110 PUSH1 POP POP -> stack 011, top first 110, end, pad to 8
            (&[0, 1, 1, 0, 4, 2, 2], &[1, 1, 0, 2, 0, 0, 0, 0]),
            // 110 POP POP POP -> empty: the end token, then 6 zeros
            (&[1, 1, 0, 2, 2, 2], &[2, 0, 0, 0, 0, 0, 0]),
            // 0 POP POP (ignored on the empty stack) PUSH0 -> [0]
            (&[0, 2, 2, 3], &[0, 2, 0, 0, 0]),
            // N = 1: one bit, no actions
            (&[1], &[1, 2]),
            // 01 PUSH1 PUSH0 -> bottom 0 1 1 0 top -> 0 1 1 0 read top first
            (&[0, 1, 4, 3], &[0, 1, 1, 0, 2]),
        ],
    );
    refuses(&lib, "stack_manipulation", &[&[], &[0, 2, 1], &[5]]);
}

#[test]
fn string_tasks_by_hand() {
    let lib = library();
    labels(&lib, "reverse_string", &[(&[0, 1, 1], &[1, 1, 0]), (&[1], &[1])]);
    labels(&lib, "duplicate_string", &[(&[0, 1], &[0, 1, 0, 1]), (&[1, 0, 1], &[1, 0, 1, 1, 0, 1])]);
    // x = 0 0 1 1 0 1 0 1: x[1::2] = 0 1 1 1, x[::2] = 0 1 0 0. (The benchmark's docstring
    // counts from 1 and writes `0100 0111`; its code takes [1::2] first.) 110 -> 1, then 1 0.
    labels(&lib, "odds_first", &[(&[0, 0, 1, 1, 0, 1, 0, 1], &[0, 1, 1, 1, 0, 1, 0, 0]), (&[1, 1, 0], &[1, 1, 0])]);
    labels(&lib, "bucket_sort", &[(&[1, 0, 2, 0, 4, 1, 1, 2], &[0, 0, 1, 1, 1, 2, 2, 4])]);
    labels(
        &lib,
        "missing_duplicate_string",
        &[
            // 0110 0?10: the hole is position 5, its twin position 1 holds 1
            (&[0, 1, 1, 0, 0, 2, 1, 0], &[1]),
            // 101 1?1 #: hole at 4, twin at 1 holds 0
            (&[1, 0, 1, 1, 2, 1, 3], &[0]),
            // N = 2: s = [0], hole second; N = 1: the fixed input [1]
            (&[0, 2], &[0]),
            (&[2, 1], &[1]),
            (&[1], &[1]),
        ],
    );
    refuses(
        &lib,
        "missing_duplicate_string",
        &[&[0], &[0, 1], &[2, 2], &[0, 1, 1, 1, 2, 1], &[1, 2, 1], &[1, 0, 1, 1, 2, 1, 0], &[3, 2]],
    );
}

#[test]
fn bracket_tasks_by_hand() {
    let lib = library();
    labels(
        &lib,
        "modular_arithmetic_brackets",
        &[
            (&[3], &[3]),
            (&[6, 3], &[2]),                         // -3 ≡ 2
            (&[8, 4, 9], &[4]),                      // (4)
            (&[8, 6, 1, 9], &[4]),                   // (-1) ≡ 4
            (&[8, 1, 6, 6, 2, 9], &[3]),             // (1--2) = 3
            (&[8, 8, 1, 9, 7, 8, 6, 2, 9, 9], &[3]), // ((1)*(-2)) = -2 ≡ 3
            (&[8, 8, 4, 7, 4, 9, 5, 6, 1, 9], &[0]), // ((4*4)+-1) = 16 - 1 = 15 ≡ 0
        ],
    );
    refuses(
        &lib,
        "modular_arithmetic_brackets",
        &[&[10], &[1, 5, 2], &[8, 8, 1, 9, 9], &[8, 1, 5, 2], &[6, 6, 1], &[8, 1, 5, 2, 9, 9], &[8; 40], &[8; 5000]],
    );
    labels(
        &lib,
        "solve_equation",
        &[
            (&[0], &[0]),                    // N < 3: the placeholder
            (&[0, 0], &[0]),                 // N < 3: the placeholder
            (&[9, 10, 4], &[4]),             // x = 4
            (&[6, 9, 10, 2], &[3]),          // -x ≡ 2 -> x = 3
            (&[7, 9, 5, 1, 8, 10, 0], &[4]), // (x+1) ≡ 0 -> x = 4
            (&[7, 3, 6, 9, 8, 10, 1], &[2]), // (3-x) ≡ 1 -> x = 2
            (&[7, 6, 9, 8, 10, 1], &[4]),    // (-x) ≡ 1 -> x = 4
        ],
    );
    refuses(&lib, "solve_equation", &[&[1, 0], &[7, 9, 5, 9, 8, 10, 0], &[7, 1, 5, 1, 8, 10, 2], &[9, 10], &[9, 5, 4]]);
}

#[test]
fn binary_tasks_by_hand() {
    let lib = library();
    labels(
        &lib,
        "binary_addition",
        &[
            // 001 + 01101 little-endian: 4 + 22 = 26 = 01011 LE, end, pad to N + 1 = 10
            (&[0, 0, 1, 2, 0, 1, 1, 0, 1], &[0, 1, 0, 1, 1, 2, 0, 0, 0, 0]),
            // 1 + 1 = 2 = 01 LE
            (&[1, 2, 1], &[0, 1, 2, 0]),
            // high-order zeros of the operands stay in the input, not in the sum: 10 + 10 = 2
            (&[1, 0, 2, 1, 0], &[0, 1, 2, 0, 0, 0]),
            // N = 1 and N = 2: one number without separator, written without high zeros
            (&[0], &[0, 2]),
            (&[0, 1], &[0, 1, 2]),
            (&[0, 0], &[0, 2, 0]),
            (&[1, 0], &[1, 2, 0]),
        ],
    );
    refuses(&lib, "binary_addition", &[&[2, 1, 1], &[1, 1, 2], &[0, 2, 1, 2, 1], &[0, 1, 1], &[0, 2], &[3]]);
    labels(
        &lib,
        "binary_multiplication",
        &[
            // 4 · 22 = 88 = 1011000b = 0001101 LE, end, pad to N = 9
            (&[0, 0, 1, 2, 0, 1, 1, 0, 1], &[0, 0, 0, 1, 1, 0, 1, 2, 0]),
            (&[1, 2, 1], &[1, 2, 0]),
            // 3 · 3 = 9 = 1001 LE
            (&[1, 1, 2, 1, 1], &[1, 0, 0, 1, 2]),
            // N = 1 -> [2], N = 2 -> [0, 2], whatever the bits
            (&[0], &[2]),
            (&[1], &[2]),
            (&[1, 1], &[0, 2]),
        ],
    );
    refuses(&lib, "binary_multiplication", &[&[2, 1, 1], &[2], &[1, 2]]);
    // 100101 = 37 -> 6 = 110 (3 bits); 111 = 7 -> 2 = 10 (2 bits); 1 -> 1; 0 -> 0.
    let ones = vec![1u32; 100]; // 2^100 - 1 -> 2^50 - 1: fifty ones
    let mut pow = vec![1u32]; // 2^100 (101 bits) -> 2^50: a one and fifty zeros
    pow.extend([0; 100]);
    let mut root = vec![1u32];
    root.extend([0; 50]);
    labels(
        &lib,
        "compute_sqrt",
        &[
            (&[1, 0, 0, 1, 0, 1], &[1, 1, 0]),
            (&[1, 1, 1], &[1, 0]),
            (&[1], &[1]),
            (&[0, 0], &[0]),
            (&ones, &[1; 50]),
            (&pow, &root),
        ],
    );
    refuses(&lib, "compute_sqrt", &[&[2], &[]]);
}

/// ⌊√v⌋ for every v < 2^12 and random 40-bit v, against integer search.
#[test]
fn compute_sqrt_matches_integer_search() {
    let lib = library();
    let t = get(&lib, "compute_sqrt");
    let check = |v: u64, n: usize| {
        let input: Vec<u32> = (0..n).rev().map(|i| ((v >> i) & 1) as u32).collect();
        let mut r = (v as f64).sqrt() as u64;
        while r * r > v {
            r -= 1;
        }
        while (r + 1) * (r + 1) <= v {
            r += 1;
        }
        let m = n.div_ceil(2);
        let want: Vec<u32> = (0..m).rev().map(|i| ((r >> i) & 1) as u32).collect();
        assert_eq!(task::label(t, &input).unwrap(), want, "isqrt({v})");
    };
    for v in 0..4096 {
        check(v, 12);
    }
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..500 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check(x >> 24, 40);
    }
}

/// Every line of tests/data/chomsky/TASK.jsonl (the original code's samples) through the
/// labeller; every mismatch is named.
#[test]
fn labels_match_the_original_benchmark_samples() {
    let lib = library();
    let mut bad = vec![];
    for name in NAMES {
        let path = format!("tests/data/chomsky/{name}.jsonl");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let t = get(&lib, name);
        let mut lines = 0;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let j: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let ids = |k: &str| -> Vec<u32> {
                j[k].as_array().expect(k).iter().map(|v| v.as_u64().expect("id") as u32).collect()
            };
            let (input, want) = (ids("input"), ids("output"));
            match task::label(t, &input) {
                Ok(got) if got == want => {}
                Ok(got) => bad.push(format!("{path}:{}: {input:?} -> {got:?}, benchmark {want:?}", i + 1)),
                Err(e) => bad.push(format!("{path}:{}: {input:?} refused ({e}), benchmark {want:?}", i + 1)),
            }
            lines += 1;
        }
        assert!(lines >= 50, "{path}: only {lines} lines");
    }
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn algen_label_on_the_library() {
    let run = |t: &str, stdin: &str| -> Vec<serde_json::Value> {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_algen"))
            .args(["label", "specs/lib/chomsky.alg", "-t", t])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    // [0,1] is one number (2): [0,1,2]; `2 1 1` has an empty first operand: an error line.
    let out = run("binary_addition", "{\"input\":[0,1]}\n{\"input\":[2,1,1]}\n{\"input\":[1,2,1]}\n");
    assert_eq!(out[0]["output"], serde_json::json!([0, 1, 2]));
    assert!(out[1]["error"].as_str().unwrap().contains("operand"), "{}", out[1]);
    assert_eq!(out[2]["output"], serde_json::json!([0, 1, 2, 0]));
    // one label as a list of one id; (x+1) = 0 -> 4
    let out = run("solve_equation", "{\"input\":[7,9,5,1,8,10,0]}\n{\"input\":[99]}\n");
    assert_eq!(out[0]["output"], serde_json::json!([4]));
    assert!(out[1].get("error").is_some() && out[1].get("output").is_none());
    let out = run("parity_check", "{\"input\":[1,1,1]}\n");
    assert_eq!(out[0]["output"], serde_json::json!([1]));
}
