//! Turing machines: running them ([`run`], [`Exec`]) and writing their runs as scratchpads
//! ([`scratch`]). Reads only the checked IR ([`crate::ir::Machine`]).
//!
//! **Tape.** The input is written from the head cell rightwards (cell 0 is the first input
//! symbol, or a blank for the empty input), every other cell is blank. The machine starts in
//! `start` and applies the rule of `(state, symbol under the head)` until it enters a halting
//! state; no rule, or more steps than the limit ([`crate::ir::StepLimit`] of the input
//! length), fails the run of that input ([`RunError`]).
//!
//! **Window.** What a scratchpad shows of the tape: the cells from the leftmost to the
//! rightmost of the input cells and of every cell the head has visited so far, blanks
//! included, so the window only ever grows, by one cell at an edge.
//!
//! **Answer.** Read at halt by the machine's [`Output`] rule: the non-blank cells left to
//! right, or only those right of the last marker / left of the first marker.

pub mod scratch;

use crate::ir::{Machine, Move, Output};

/// Why a run failed on one input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("machine `{machine}` did not halt within {limit} steps (the step limit for an input of length {len}; raise `max_steps`)")]
    StepLimit { machine: String, limit: u64, len: usize },
    #[error("machine `{machine}` has no rule for state `{state}` reading `{symbol}` (after {steps} steps)")]
    NoRule { machine: String, state: String, symbol: String, steps: u64 },
    #[error("machine `{machine}` halted without the output marker `{marker}` on its tape")]
    NoMarker { machine: String, marker: String },
}

/// A machine in the middle of a run.
#[derive(Clone, Debug)]
pub struct Exec<'m> {
    pub m: &'m Machine,
    tape: Vec<u32>,
    head: usize,
    pub state: u32,
    pub steps: u64,
    /// The window ([`self`] module docs), as indices into `tape`.
    lo: usize,
    hi: usize,
    limit: u64,
    len: usize,
}

/// Blank cells added at an end of the tape when the head runs off it (amortized growth).
const GROW: usize = 64;

impl<'m> Exec<'m> {
    /// The start configuration on `input` (machine symbol ids).
    pub fn new(m: &'m Machine, input: &[u32]) -> Self {
        let mut tape = vec![0u32; GROW];
        let head = tape.len();
        tape.extend_from_slice(input);
        if input.is_empty() {
            tape.push(0);
        }
        let hi = tape.len() - 1;
        tape.resize(tape.len() + GROW, 0);
        let limit = m.max_steps.at(input.len());
        Exec { m, tape, head, state: m.start, steps: 0, lo: head, hi, limit, len: input.len() }
    }

    pub fn halted(&self) -> bool {
        self.m.halting[self.state as usize]
    }

    /// The symbol under the head.
    pub fn read(&self) -> u32 {
        self.tape[self.head]
    }

    /// The window's cells and the head's index in it.
    pub fn window(&self) -> (&[u32], usize) {
        (&self.tape[self.lo..=self.hi], self.head - self.lo)
    }

    /// Applies one rule; returns it. Fails where no rule applies or the step limit is reached.
    pub fn step(&mut self) -> Result<crate::ir::Action, RunError> {
        if self.steps >= self.limit {
            return Err(RunError::StepLimit { machine: self.m.name.clone(), limit: self.limit, len: self.len });
        }
        let sym = self.tape[self.head];
        let Some(a) = self.m.rule(self.state, sym) else { return Err(self.no_rule(sym)) };
        self.apply(a);
        Ok(a)
    }

    /// Writes, changes state and moves the head as `a` says (growing the tape as needed).
    #[inline]
    fn apply(&mut self, a: crate::ir::Action) {
        self.tape[self.head] = a.write;
        self.state = a.next;
        self.steps += 1;
        match a.mv {
            Move::L => {
                if self.head == 0 {
                    self.grow_left();
                }
                self.head -= 1;
                self.lo = self.lo.min(self.head);
            }
            Move::R => {
                self.head += 1;
                if self.head == self.tape.len() {
                    self.tape.resize(self.tape.len() + GROW.max(self.tape.len() / 2), 0);
                }
                self.hi = self.hi.max(self.head);
            }
            Move::S => {}
        }
    }

    fn grow_left(&mut self) {
        let add = GROW.max(self.tape.len() / 2);
        let mut t = vec![0u32; add];
        t.extend_from_slice(&self.tape);
        self.tape = t;
        self.head += add;
        self.lo += add;
        self.hi += add;
    }

    fn no_rule(&self, sym: u32) -> RunError {
        RunError::NoRule {
            machine: self.m.name.clone(),
            state: self.m.states[self.state as usize].clone(),
            symbol: self.m.symbols[sym as usize].clone(),
            steps: self.steps,
        }
    }

    /// Runs to the halt: [`Exec::step`]'s work in one loop, table and halting flags hoisted.
    pub fn finish(&mut self) -> Result<(), RunError> {
        let nsym = self.m.symbols.len();
        let (table, halting) = (&self.m.table, &self.m.halting);
        while !halting[self.state as usize] {
            if self.steps >= self.limit {
                return Err(RunError::StepLimit { machine: self.m.name.clone(), limit: self.limit, len: self.len });
            }
            let sym = self.tape[self.head];
            let Some(a) = table[self.state as usize * nsym + sym as usize] else { return Err(self.no_rule(sym)) };
            self.apply(a);
        }
        Ok(())
    }

    /// The answer on the tape (see the module docs), as symbol ids.
    pub fn output(&self) -> Result<Vec<u32>, RunError> {
        let cells = &self.tape[..];
        let (from, to) = match self.m.output {
            Output::Nonblank => (0, cells.len()),
            Output::RightOf(x) => match cells.iter().rposition(|&c| c == x) {
                Some(i) => (i + 1, cells.len()),
                None => return Err(self.no_marker(x)),
            },
            Output::LeftOf(x) => match cells.iter().position(|&c| c == x) {
                Some(i) => (0, i),
                None => return Err(self.no_marker(x)),
            },
        };
        Ok(cells[from..to].iter().copied().filter(|&c| c != 0).collect())
    }

    fn no_marker(&self, x: u32) -> RunError {
        RunError::NoMarker { machine: self.m.name.clone(), marker: self.m.symbols[x as usize].clone() }
    }
}

/// Runs `m` on `input` (symbol ids) to the halt; returns the answer's symbol ids.
pub fn run(m: &Machine, input: &[u32]) -> Result<Vec<u32>, RunError> {
    let mut e = Exec::new(m, input);
    e.finish()?;
    e.output()
}

/// [`run`] on symbol names; unknown names are reported as `Err(name)`.
pub fn run_names<S: AsRef<str>>(m: &Machine, input: &[S]) -> Result<Result<Vec<String>, RunError>, String> {
    let ids = ids(m, input)?;
    Ok(run(m, &ids).map(|out| out.iter().map(|&i| m.symbols[i as usize].clone()).collect()))
}

/// Symbol names -> ids; the first unknown name as `Err`.
pub fn ids<S: AsRef<str>>(m: &Machine, input: &[S]) -> Result<Vec<u32>, String> {
    input.iter().map(|s| m.symbol_id(s.as_ref()).ok_or_else(|| s.as_ref().to_string())).collect()
}
