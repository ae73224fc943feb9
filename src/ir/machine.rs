//! Turing machines (`machine NAME { ... }`) and the Turing-program scratchpads of tasks
//! (`target = run(M)`, `scratchpad = trace(M, style = ...)`), as the checker leaves them.
//! [`crate::turing`] runs them and writes their scratchpads.

use crate::source::Span;
use serde::{Deserialize, Serialize};

/// A deterministic one-tape Turing machine. Symbol id 0 is the blank.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub name: String,
    /// Tape symbols; `symbols[0]` is the blank.
    pub symbols: Vec<String>,
    pub states: Vec<String>,
    pub start: u32,
    /// `halting[q]`: the machine stops on entering state `q`.
    pub halting: Vec<bool>,
    /// The transition table, row-major `[state][symbol]`; `None` where no rule applies
    /// (a run that reaches such a pair fails for that input).
    pub table: Vec<Option<Action>>,
    /// What the run's answer is, read from the tape at halt.
    pub output: Output,
    /// Runs longer than this fail for that input.
    pub max_steps: StepLimit,
    #[serde(skip)]
    pub span: Span,
}

/// One rule's right-hand side: write `write`, move, enter `next`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub write: u32,
    pub mv: Move,
    pub next: u32,
}

/// Head moves: left, right, stay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Move {
    L,
    R,
    S,
}

impl Move {
    pub fn name(self) -> &'static str {
        match self {
            Move::L => "L",
            Move::R => "R",
            Move::S => "S",
        }
    }
}

/// How the answer is read from the tape at halt (always skipping blanks, left to right).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// `output = nonblank`: every non-blank cell.
    Nonblank,
    /// `output = right_of("#")`: the non-blank cells right of the last `#`.
    RightOf(u32),
    /// `output = left_of("=")`: the non-blank cells left of the first `=`.
    LeftOf(u32),
}

/// A step limit polynomial in the input length n: `limit(n) = Σ coeffs[i]·nⁱ`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepLimit {
    pub coeffs: Vec<u64>,
}

impl StepLimit {
    /// The limit for an input of length `n` (saturating).
    pub fn at(&self, n: usize) -> u64 {
        let n = n as u64;
        self.coeffs.iter().rev().fold(0u64, |acc, &c| acc.saturating_mul(n).saturating_add(c))
    }
}

impl Machine {
    /// The rule for `(state, symbol)`, if any.
    pub fn rule(&self, state: u32, symbol: u32) -> Option<Action> {
        self.table.get(state as usize * self.symbols.len() + symbol as usize).copied().flatten()
    }
    /// How many states do not halt (the Turing-program style writes the state only when > 1).
    pub fn working_states(&self) -> usize {
        self.halting.iter().filter(|h| !**h).count()
    }
    pub fn symbol_id(&self, s: &str) -> Option<u32> {
        self.symbols.iter().position(|x| x == s).map(|i| i as u32)
    }
}

/// A task whose target is `run(M)`: the machine, and the scratchpad written before the answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineTask {
    pub machine: Machine,
    pub scratchpad: Option<Scratchpad>,
}

/// `scratchpad = trace(M, style = turing_program, every = k, at = [q1, q2])`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scratchpad {
    pub style: Style,
    /// Write every k-th configuration (1 = all); the first and the last are always written.
    pub every: usize,
    /// When not empty: write only configurations whose state is one of these (plus the
    /// first and the last).
    pub at: Vec<u32>,
}

/// The scratchpad styles; their token formats are documented in [`crate::turing::scratch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// Hou et al. 2024: successive tape snapshots, the head cell marked.
    TuringProgram,
    /// Instantaneous descriptions `state : tape` with a head marker.
    Trace,
    /// TAIL (Hua et al. 2025): per step the operands read, the action, the state written.
    Tail,
}

impl Style {
    pub fn name(self) -> &'static str {
        match self {
            Style::TuringProgram => "turing_program",
            Style::Trace => "trace",
            Style::Tail => "tail",
        }
    }
}
