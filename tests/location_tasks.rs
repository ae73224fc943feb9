//! The diagnostic tasks of Ray Chowdhury & Caragea 2023 in `specs/lib/location.alg`, checked
//! against their generators' definitions (preprocess/process_*.py of
//! github.com/JRC1995/MonotonicLocationAttention): ReCopy writes digit d `num2repeat(d)` times
//! (1 for d ≤ 3, 3 for 4..=6, 5 for 7..=9), Reverse ReCopy the same blocks last digit first,
//! and the Inv tasks swap source and target.

use algen::ir::{Spec, Task};
use algen::task::{self, Example};

fn spec() -> Spec {
    match algen::pipeline::load(std::path::Path::new("specs/lib/location.alg")) {
        Ok(l) => l.spec,
        Err(_) => panic!("specs/lib/location.alg does not check"),
    }
}

fn digits(t: &Task, ids: &[u32]) -> Vec<u32> {
    ids.iter().map(|&i| t.alphabet[i as usize].parse().unwrap()).collect()
}

fn out_digits(t: &Task, ids: &[u32]) -> Vec<u32> {
    ids.iter().map(|&i| t.outputs[i as usize].parse().unwrap()).collect()
}

fn repeat(d: u32) -> usize {
    match d {
        0..=3 => 1,
        4..=6 => 3,
        _ => 5,
    }
}

fn recopy(xs: &[u32]) -> Vec<u32> {
    xs.iter().flat_map(|&d| std::iter::repeat_n(d, repeat(d))).collect()
}

fn reverse_recopy(xs: &[u32]) -> Vec<u32> {
    xs.iter().rev().flat_map(|&d| std::iter::repeat_n(d, repeat(d))).collect()
}

fn draws(t: &Task, len: usize) -> Vec<Example> {
    let es = task::generate(t, "test", len, 7, 50).expect("draws");
    assert!(es.iter().all(|e| e.input.len() == len));
    es
}

#[test]
fn recopy_and_reverse_recopy_follow_the_generators() {
    let spec = spec();
    for (name, f) in [("recopy", recopy as fn(&[u32]) -> Vec<u32>), ("reverse_recopy", reverse_recopy)] {
        let t = spec.task(name).unwrap();
        for len in [5, 10, 100] {
            for e in draws(t, len) {
                assert_eq!(out_digits(t, &e.target), f(&digits(t, &e.input)), "{name} at {len}");
            }
        }
    }
    // Every digit occurs (the sampler covers the alphabet).
    let t = spec.task("recopy").unwrap();
    let seen: std::collections::BTreeSet<u32> = draws(t, 30).iter().flat_map(|e| digits(t, &e.input)).collect();
    assert_eq!(seen.len(), 10);
}

#[test]
fn inverse_tasks_take_the_expanded_digits_back() {
    let spec = spec();
    for (name, f) in [("inv_recopy", recopy as fn(&[u32]) -> Vec<u32>), ("inv_reverse_recopy", reverse_recopy)] {
        let t = spec.task(name).unwrap();
        for len in [5, 12, 60] {
            for e in draws(t, len) {
                let source = digits(t, &e.input);
                let target = out_digits(t, &e.target);
                assert_eq!(f(&target), source, "{name}: the source expands the target");
            }
        }
    }
}

#[test]
fn copy_and_reverse_copy() {
    let spec = spec();
    let t = spec.task("reverse_copy").unwrap();
    for e in draws(t, 10) {
        let mut rev = digits(t, &e.input);
        rev.reverse();
        assert_eq!(out_digits(t, &e.target), rev);
    }
    let t = spec.task("copy").unwrap();
    for e in draws(t, 10) {
        assert_eq!(out_digits(t, &e.target), digits(t, &e.input));
    }
}

/// The six long-lookup tables as the authors' data files give them (single-table rows of
/// LongLookupTables' train.tsv): `TABLES[i][v]` is `t{i+1}` applied to the 3-bit value `v`.
const TABLES: [[u8; 8]; 6] = [
    [0b011, 0b001, 0b110, 0b010, 0b101, 0b000, 0b100, 0b111],
    [0b001, 0b100, 0b011, 0b101, 0b110, 0b000, 0b010, 0b111],
    [0b000, 0b100, 0b011, 0b110, 0b101, 0b001, 0b010, 0b111],
    [0b011, 0b100, 0b111, 0b010, 0b001, 0b110, 0b000, 0b101],
    [0b100, 0b001, 0b110, 0b010, 0b000, 0b101, 0b011, 0b111],
    [0b101, 0b000, 0b111, 0b001, 0b010, 0b011, 0b100, 0b110],
];

/// The value and every intermediate result of `words` = value, table names, `.`.
fn lookup(words: &[String]) -> Vec<String> {
    let mut v = u8::from_str_radix(&words[0], 2).expect("a 3-bit value");
    let mut out = vec![format!("{v:03b}")];
    assert_eq!(words.last().map(String::as_str), Some("."));
    for t in &words[1..words.len() - 1] {
        let i: usize = t.strip_prefix('t').and_then(|n| n.parse().ok()).expect("a table name");
        v = TABLES[i - 1][v as usize];
        out.push(format!("{v:03b}"));
    }
    out
}

#[test]
fn lookup_tables_apply_left_to_right() {
    let spec = spec();
    let t = spec.task("lookup").unwrap();
    let words = |ids: &[u32], names: &[String]| ids.iter().map(|&i| names[i as usize].clone()).collect::<Vec<_>>();
    for len in [3, 6, 11] {
        for e in draws(t, len) {
            let input = words(&e.input, &t.alphabet);
            assert_eq!(words(&e.target, &t.outputs), lookup(&input), "at {len}: {input:?}");
        }
    }
    // Three rows of the authors' files (train.tsv; longer_seen_5.tsv, 9 tables), labelled by
    // the grammar.
    for (src, want) in [
        ("101 t2 t2 t5 t6 t5 .", "101 000 001 001 000 100"),
        ("101 t3 t2 t3 t6 t5 t5 t6 t5 t5 .", "101 001 100 101 011 010 110 100 000 100"),
        ("000 t6 t3 t1 t4 t6 t4 t4 t1 t3 .", "000 101 001 001 100 010 111 101 000 000"),
    ] {
        let input: Vec<&str> = src.split(' ').collect();
        let got = task::label_tokens(t, &input).expect("labels");
        assert_eq!(got.join(" "), want);
        let owned: Vec<String> = input.iter().map(|s| s.to_string()).collect();
        assert_eq!(lookup(&owned).join(" "), want);
    }
}
