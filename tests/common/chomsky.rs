//! The Chomsky-hierarchy library (`specs/lib/chomsky.alg`) for the tests that read it.

use algen::ir::{Spec, Task};
use algen::pipeline;

/// The 15 task names, in the benchmark's order (R, DCF, CS).
pub const NAMES: [&str; 15] = [
    "even_pairs",
    "parity_check",
    "cycle_navigation",
    "modular_arithmetic",
    "stack_manipulation",
    "reverse_string",
    "modular_arithmetic_brackets",
    "solve_equation",
    "duplicate_string",
    "missing_duplicate_string",
    "odds_first",
    "binary_addition",
    "binary_multiplication",
    "compute_sqrt",
    "bucket_sort",
];

pub fn library() -> Spec {
    match pipeline::load(std::path::Path::new("specs/lib/chomsky.alg")) {
        Ok(l) => l.spec,
        Err(_) => panic!("specs/lib/chomsky.alg does not check"),
    }
}

pub fn get<'a>(lib: &'a Spec, name: &str) -> &'a Task {
    lib.task(name).unwrap_or_else(|| panic!("no task {name}"))
}
