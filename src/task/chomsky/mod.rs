//! The builtin tasks of the Chomsky-hierarchy benchmark (Delétang et al., ICLR 2023):
//! [`sample`] draws an input of a given length as the reference implementation does
//! (github.com/google-deepmind/neural_networks_chomsky_hierarchy, `tasks/`), [`label`] computes
//! the benchmark's output ids for any input the task defines and says why an input is not one.
//!
//! Token and output ids, formats and end tokens: [`crate::ir::Chomsky`]. Every convention is
//! written down in `specs/lib/chomsky.alg` too. Groups:
//! - [`strings`]: `modular_arithmetic`, `stack_manipulation`, `missing_duplicate_string`;
//! - [`brackets`]: `modular_arithmetic_brackets`, `solve_equation` (the recursive grammar);
//! - [`binary`]: `binary_addition`, `binary_multiplication`, `compute_sqrt` (on [`bits`]).
//!
//! Randomness: only `gen_range` over `u32` ranges of the stream's ChaCha8 generator, so the
//! draws are the same on every machine ([`super::generate`]). The distributions are the
//! benchmark's; its random streams (numpy, Python, JAX) are not reproduced.

mod binary;
mod bits;
mod brackets;
mod strings;

use crate::ir::Chomsky;
use rand::Rng;

/// Draws an input of `n` tokens (for `modular_arithmetic`, `n − 1` when `n` is even).
pub fn sample<R: Rng>(kind: Chomsky, n: usize, rng: &mut R) -> Vec<u32> {
    if n == 0 {
        return vec![];
    }
    match kind {
        Chomsky::ModularArithmetic => strings::arithmetic_sample(n, rng),
        Chomsky::StackManipulation => strings::stack_sample(n, rng),
        Chomsky::MissingDuplicateString => strings::missing_sample(n, rng),
        Chomsky::ModularArithmeticBrackets => brackets::brackets_sample(n, rng),
        Chomsky::SolveEquation => brackets::equation_sample(n, rng),
        Chomsky::BinaryAddition => binary::addition_sample(n, rng),
        Chomsky::BinaryMultiplication => binary::multiplication_sample(n, rng),
        Chomsky::ComputeSqrt => binary::sqrt_sample(n, rng),
    }
}

/// The benchmark's output ids for `input`, or why `input` is not an input of the task.
pub fn label(kind: Chomsky, input: &[u32]) -> Result<Vec<u32>, String> {
    if input.is_empty() {
        return Err("the benchmark has no inputs of length 0".into());
    }
    let size = kind.alphabet().len();
    if let Some(i) = input.iter().position(|&t| t as usize >= size) {
        return Err(format!("token {} at position {i} is not an input id (0..{size})", input[i]));
    }
    match kind {
        Chomsky::ModularArithmetic => strings::arithmetic_label(input),
        Chomsky::StackManipulation => strings::stack_label(input),
        Chomsky::MissingDuplicateString => strings::missing_label(input),
        Chomsky::ModularArithmeticBrackets => brackets::brackets_label(input),
        Chomsky::SolveEquation => brackets::equation_label(input),
        Chomsky::BinaryAddition => binary::addition_label(input),
        Chomsky::BinaryMultiplication => binary::multiplication_label(input),
        Chomsky::ComputeSqrt => binary::sqrt_label(input),
    }
}

/// A uniform draw from `0..k`.
fn draw<R: Rng>(rng: &mut R, k: usize) -> u32 {
    rng.gen_range(0..k as u32)
}

/// `l` uniform bits, not all zero: an operand uniform over 1..2^l (the benchmark's
/// `randint(1, 2**l - 1)`), by rejection.
fn nonzero_bits<R: Rng>(rng: &mut R, l: usize) -> Vec<u32> {
    loop {
        let v: Vec<u32> = (0..l).map(|_| draw(rng, 2)).collect();
        if v.contains(&1) || l == 0 {
            return v;
        }
    }
}
