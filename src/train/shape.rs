//! What a model reads of a task's examples: the sequence length of an input length, the
//! position ids (coupled or default) and their largest value, and whether training applies
//! dropout.

use crate::ir::{Arch, Position, Task, Variant};
use crate::task::{self, Coupling, Vocab};

/// The model's sequence length for inputs of length `len` (input plus query
/// slots or target; for `seq2seq` the longer of source and decoder tokens), measured on one
/// example; `len` when it cannot be labelled.
pub fn seq_len(task: &Task, vocab: &Vocab, len: usize) -> usize {
    task::generate(task, "sample", len, 0, 1)
        .ok()
        .and_then(|v| v.first().map(|e| task::encode(task, vocab, e)))
        .map(|e| e.tokens.len().max(e.source.map_or(0, |s| s.len()))) // seq2seq: the longer side
        .unwrap_or(len)
}

/// Whether (and how) `arch` reads the task's position ids: models with coupled positions
/// (Cho et al. 2024) do, with their table size and random start; every other scheme reads the
/// default ids `0..n`, so a sweep over `position` compares coupled ids with the plain ones.
/// `coupled(max_position = N)` is a table of N rows, so ids (random starts included) stay
/// at most N − 1. The match is exhaustive on purpose: a new position scheme must decide here.
pub fn coupling(arch: &Arch) -> Option<Coupling> {
    match arch {
        Arch::Transformer(c) => match c.position {
            Position::Coupled { max_position, random_start } => {
                Some(Coupling { max_position: max_position.saturating_sub(1) as u32, random_start })
            }
            Position::None
            | Position::Sinusoidal
            | Position::SinusoidalReversed
            | Position::Learned { .. }
            | Position::Rope { .. }
            | Position::Alibi
            | Position::Relative
            | Position::T5 { .. }
            | Position::Randomized { .. }
            | Position::HardAlibi { .. } => None,
        },
        Arch::Lstm(_) | Arch::Rnn(_) | Arch::StackRnn(_) | Arch::TapeRnn(_) | Arch::RaspCompiled(_) => None,
    }
}

/// The largest position id the model reads for inputs of length `len` at evaluation: the
/// format's largest coupled id (start 1) when the task supplies coupled ids, else
/// `seq_len − 1` (the default ids `0..T`). `pipeline::validate` checks position tables
/// against it.
pub fn max_position_id(task: &Task, vocab: &Vocab, len: usize) -> usize {
    match task.format.max_coupled_id(len) {
        Some(id) => id,
        None => seq_len(task, vocab, len).saturating_sub(1),
    }
}

/// Whether the variant's model applies dropout in training.
pub(super) fn has_dropout(v: &Variant) -> bool {
    match &v.model.arch {
        crate::ir::Arch::Transformer(c) => c.dropout > 0.0,
        crate::ir::Arch::Lstm(_)
        | crate::ir::Arch::Rnn(_)
        | crate::ir::Arch::StackRnn(_)
        | crate::ir::Arch::TapeRnn(_)
        | crate::ir::Arch::RaspCompiled(_) => false,
    }
}
