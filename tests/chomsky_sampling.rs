//! Sampling of the 15 Chomsky-hierarchy tasks of `specs/lib/chomsky.alg` (Delétang et al.,
//! ICLR 2023; issue 9): input lengths, vocabularies, output lengths, operand splits, the special
//! rules of each builtin, and determinism per seed.
//!
//! Oracle: the sampling rules of the benchmark's code (`tasks/*/*.py` at commit 8084451),
//! quoted next to each check.

mod common;

use algen::ir::Spec;
use algen::task;
use common::chomsky::{get, library, NAMES};
use std::collections::{BTreeMap, BTreeSet};

/// Draws `n` examples of `name` at each length, checking lengths, vocabularies and labels.
fn draws(lib: &Spec, name: &str, lens: &[usize], n: usize) -> BTreeMap<usize, Vec<task::Example>> {
    let t = get(lib, name);
    let mut out = BTreeMap::new();
    for &len in lens {
        let ex = task::generate(t, "test", len, 7, n).unwrap_or_else(|e| panic!("{name} len {len}: {e}"));
        for e in &ex {
            let want = if name == "modular_arithmetic" && len % 2 == 0 { len - 1 } else { len };
            assert_eq!(e.input.len(), want, "{name} len {len}: {:?}", e.input);
            assert!(e.input.iter().all(|&i| (i as usize) < t.alphabet.len()), "{name}: {:?}", e.input);
            assert!(e.target.iter().all(|&o| (o as usize) < t.outputs.len()), "{name}: {:?}", e.target);
            assert_eq!(task::label(t, &e.input).unwrap(), e.target);
        }
        out.insert(len, ex);
    }
    out
}

#[test]
fn sampling_lengths_vocabularies_and_output_lengths() {
    let lib = library();
    let lens: Vec<usize> = (1..=12).chain([41, 100]).collect();
    for name in NAMES {
        for (len, ex) in draws(&lib, name, &lens, 40) {
            for e in ex {
                let n = e.input.len();
                let want = match name {
                    "stack_manipulation" | "binary_addition" => n + 1,
                    "binary_multiplication" | "reverse_string" | "odds_first" | "bucket_sort" => n,
                    "duplicate_string" => 2 * n,
                    "compute_sqrt" => n.div_ceil(2),
                    _ => 1,
                };
                assert_eq!(e.target.len(), want, "{name} len {len}");
            }
        }
    }
}

#[test]
fn sampling_is_deterministic_per_seed() {
    let lib = library();
    for name in NAMES {
        let t = get(&lib, name);
        let a = task::generate(t, "train", 20, 3, 30).unwrap();
        assert_eq!(a, task::generate(t, "train", 20, 3, 30).unwrap(), "{name}: same seed");
        assert_ne!(a, task::generate(t, "train", 20, 4, 30).unwrap(), "{name}: another seed");
    }
}

#[test]
fn binary_operands_split_as_the_benchmark() {
    let lib = library();
    // N = 10: |a| uniform in 1..=8, |b| = 9 - |a|, both operands non-zero.
    for name in ["binary_addition", "binary_multiplication"] {
        let ex = &draws(&lib, name, &[10], 1600)[&10];
        let mut counts = BTreeMap::new();
        for e in ex {
            let sep = e.input.iter().position(|&t| t == 2).expect("separator");
            assert_eq!(e.input.iter().filter(|&&t| t == 2).count(), 1);
            assert!(e.input[..sep].contains(&1) && e.input[sep + 1..].contains(&1), "{:?}", e.input);
            *counts.entry(sep).or_insert(0) += 1;
        }
        assert_eq!(counts.keys().copied().collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>(), "{name}");
        // 200 expected per length; a uniform draw stays within ±60 (4.5 sd)
        assert!(counts.values().all(|&c| (140..=260).contains(&c)), "{name}: {counts:?}");
        // N = 1: always [0] (randint(0, 1)); N = 2: [0,0], [1,0], [0,1], never [1,1].
        let short = draws(&lib, name, &[1, 2], 300);
        assert!(short[&1].iter().all(|e| e.input == [0]));
        let twos: BTreeSet<Vec<u32>> = short[&2].iter().map(|e| e.input.clone()).collect();
        assert_eq!(twos, [vec![0, 0], vec![0, 1], vec![1, 0]].into_iter().collect());
    }
}

#[test]
fn special_sampling_rules() {
    let lib = library();
    // stack_manipulation: the stack part (leading bits) has 1..=N-1 tokens, all of them seen.
    let ex = &draws(&lib, "stack_manipulation", &[8], 800)[&8];
    let parts: BTreeSet<usize> = ex.iter().map(|e| e.input.iter().position(|&t| t >= 2).unwrap()).collect();
    assert_eq!(parts, (1..=7).collect());
    // modular_arithmetic: odd lengths, digits at even positions, the three operators, no blank.
    for e in &draws(&lib, "modular_arithmetic", &[6, 9], 200)[&6] {
        assert!(e.input.iter().enumerate().all(|(i, &t)| if i % 2 == 0 { t <= 4 } else { (5..=7).contains(&t) }));
    }
    let ops: BTreeSet<u32> =
        draws(&lib, "modular_arithmetic", &[9], 200)[&9].iter().flat_map(|e| e.input.clone()).collect();
    assert_eq!(ops, (0..=7).collect());
    // brackets: `*` appears, `x` never; lengths 1..4 are d, -d, (d), (-d).
    let b = draws(&lib, "modular_arithmetic_brackets", &[1, 2, 3, 4, 30], 200);
    let toks: BTreeSet<u32> = b[&30].iter().flat_map(|e| e.input.clone()).collect();
    assert_eq!(toks, (0..=9).collect());
    assert!(b[&2].iter().all(|e| e.input[0] == 6) && b[&4].iter().all(|e| e.input[..2] == [8, 6]));
    // solve_equation: one x and `= d` at the end; below 3 all zeros.
    let s = draws(&lib, "solve_equation", &[2, 3, 25], 200);
    assert!(s[&2].iter().all(|e| e.input == [0, 0] && e.target == [0]));
    for e in &s[&25] {
        assert_eq!(e.input.iter().filter(|&&t| t == 9).count(), 1, "{:?}", e.input);
        assert_eq!(e.input[23], 10);
        assert!(!e.input.contains(&7) || e.input.contains(&8));
    }
    // missing_duplicate_string: one hole, the pad exactly when N is odd.
    let m = draws(&lib, "missing_duplicate_string", &[1, 10, 11], 200);
    assert!(m[&1].iter().all(|e| e.input == [1] && e.target == [1]));
    for (n, es) in [(10usize, &m[&10]), (11, &m[&11])] {
        for e in es {
            assert_eq!(e.input.iter().filter(|&&t| t == 2).count(), 1);
            assert_eq!(e.input.last() == Some(&3), n % 2 == 1);
        }
    }
    // compute_sqrt: never zero.
    assert!(draws(&lib, "compute_sqrt", &[1, 3], 100).values().flatten().all(|e| e.input.contains(&1)));
}
