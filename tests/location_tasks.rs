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
