//! The builtin tasks of the Chomsky-hierarchy benchmark (Delétang et al., ICLR 2023, "Neural
//! Networks and the Chomsky Hierarchy") whose sampling is special: `input = chomsky(NAME)`.
//!
//! A builtin draws its inputs and labels them itself ([`crate::task::chomsky`]); this file holds
//! what the checker needs to know about it — its token ids, output ids, format and end token —
//! as the defaults of the fields a spec may leave out. Token ids and sizes are the reference
//! implementation's (github.com/google-deepmind/neural_networks_chomsky_hierarchy, `tasks/`):
//! e.g. `modular_arithmetic` has `input_size = modulus + 4 = 9` with the blank `_` (id 8) that
//! its sampler never draws, `modular_arithmetic_brackets` has `input_size = modulus + 6 = 11`
//! with `x` (id 10) unused. The uniform-string tasks of the benchmark (`parity_check`,
//! `reverse_string`, …) need no builtin: they are target expressions (`specs/lib/chomsky.alg`).

use super::task::Format;
use serde::{Deserialize, Serialize};

/// A builtin benchmark task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chomsky {
    ModularArithmetic,
    StackManipulation,
    ModularArithmeticBrackets,
    SolveEquation,
    MissingDuplicateString,
    BinaryAddition,
    BinaryMultiplication,
    ComputeSqrt,
}

impl Chomsky {
    pub const ALL: &'static [Chomsky] = &[
        Chomsky::ModularArithmetic,
        Chomsky::StackManipulation,
        Chomsky::ModularArithmeticBrackets,
        Chomsky::SolveEquation,
        Chomsky::MissingDuplicateString,
        Chomsky::BinaryAddition,
        Chomsky::BinaryMultiplication,
        Chomsky::ComputeSqrt,
    ];

    /// The benchmark's name of the task.
    pub fn name(self) -> &'static str {
        match self {
            Chomsky::ModularArithmetic => "modular_arithmetic",
            Chomsky::StackManipulation => "stack_manipulation",
            Chomsky::ModularArithmeticBrackets => "modular_arithmetic_brackets",
            Chomsky::SolveEquation => "solve_equation",
            Chomsky::MissingDuplicateString => "missing_duplicate_string",
            Chomsky::BinaryAddition => "binary_addition",
            Chomsky::BinaryMultiplication => "binary_multiplication",
            Chomsky::ComputeSqrt => "compute_sqrt",
        }
    }

    pub fn lookup(name: &str) -> Option<Chomsky> {
        Chomsky::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// The default input tokens; input id `i` is the `i`-th (the benchmark's one-hot index).
    pub fn alphabet(self) -> &'static [&'static str] {
        match self {
            Chomsky::ModularArithmetic => &["0", "1", "2", "3", "4", "+", "-", "*", "_"],
            Chomsky::StackManipulation => &["0", "1", "pop", "push0", "push1"],
            Chomsky::ModularArithmeticBrackets => &["0", "1", "2", "3", "4", "+", "-", "*", "(", ")", "x"],
            Chomsky::SolveEquation => &["0", "1", "2", "3", "4", "+", "-", "(", ")", "x", "="],
            Chomsky::MissingDuplicateString => &["0", "1", "?", "#"],
            Chomsky::BinaryAddition => &["0", "1", "+"],
            Chomsky::BinaryMultiplication => &["0", "1", "*"],
            Chomsky::ComputeSqrt => &["0", "1"],
        }
    }

    /// The default output tokens; output id `i` is the `i`-th (`2` ends a result where there is
    /// an end token).
    pub fn outputs(self) -> &'static [&'static str] {
        match self {
            Chomsky::ModularArithmetic | Chomsky::ModularArithmeticBrackets | Chomsky::SolveEquation => {
                &["0", "1", "2", "3", "4"]
            }
            Chomsky::StackManipulation | Chomsky::BinaryAddition | Chomsky::BinaryMultiplication => &["0", "1", "2"],
            Chomsky::MissingDuplicateString | Chomsky::ComputeSqrt => &["0", "1"],
        }
    }

    /// One label (`classify`: one query slot) or a sequence (`transduce`), as the benchmark's
    /// `output_length` is 1 or not.
    pub fn format(self) -> Format {
        match self {
            Chomsky::ModularArithmetic
            | Chomsky::ModularArithmeticBrackets
            | Chomsky::SolveEquation
            | Chomsky::MissingDuplicateString => Format::Classify,
            _ => Format::Transduce,
        }
    }

    /// The output id that ends the result: scoring stops after it (the benchmark's
    /// `accuracy_mask`), for the three tasks with a termination token.
    pub fn end_token(self) -> Option<u32> {
        match self {
            Chomsky::StackManipulation | Chomsky::BinaryAddition | Chomsky::BinaryMultiplication => Some(2),
            _ => None,
        }
    }

    /// The output length for input length `n` (the benchmark's `output_length`).
    pub fn output_len(self, n: usize) -> usize {
        match self {
            Chomsky::StackManipulation | Chomsky::BinaryAddition => n + 1,
            Chomsky::BinaryMultiplication => n,
            Chomsky::ComputeSqrt => n.div_ceil(2),
            _ => 1,
        }
    }
}
