//! The model's token layout for a task.
//!
//! - Encoder formats (`transduce`, `tag`, `classify`, `pointer`): model input ids are
//!   the task's input ids (`alphabet`) followed by the query token `<q>` and, for a RASP
//!   target with `bos`, the BOS token; model output ids are the task's output ids (`outputs`).
//!   `pointer` is laid out the same way and has no outputs: its classes are input positions.
//! - `lm` (decoder): one shared vocabulary, `alphabet`, then the `outputs`
//!   not already in it (in order), then `<sep>` and `<eos>`; input and output
//!   lists are the same. Alphabet ids keep their values; a task output id
//!   maps through [`Vocab::model_output`]. A task with a machine scratchpad puts the
//!   scratchpad's tokens ([`super::machine::scratch_tokens`]) not already there before `<sep>`.
//! - `seq2seq`: the `lm` layout (the source, the decoder's tokens and its outputs share it).
//! - Arithmetic formats (`addition`, `multiplication`; decoder): the same shared layout with `=`
//!   in the place of `<sep>`, then `<eos>`, then the index hint tokens if any
//!   ([`super::arith::hint_tokens`]): digits `0`–`9` are ids 0–9, the operator is 10, `=` is 11,
//!   `<eos>` is 12.

use crate::ir::{Format, Task};

pub const QUERY: &str = "<q>";
pub const SEP: &str = "<sep>";
pub const EOS: &str = "<eos>";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    pub format: Format,
    /// Model input tokens; model input id `i` is `input[i]`.
    pub input: Vec<String>,
    /// Model output tokens; model output id `i` is `output[i]`.
    pub output: Vec<String>,
    /// The query token's model input id (encoder formats).
    pub query: Option<u32>,
    /// `<sep>`'s id in the shared vocabulary (`lm`; `=` in the arithmetic formats).
    pub sep: Option<u32>,
    /// `<eos>`'s id in the shared vocabulary (`lm`).
    pub eos: Option<u32>,
    /// Model output id of each task output id (`task.outputs[i]`).
    pub output_ids: Vec<u32>,
}

/// The token layout of `task`'s format.
pub fn vocab(task: &Task) -> Vocab {
    if !task.format.shares_vocab() {
        let mut input = task.alphabet.clone();
        input.push(QUERY.to_string());
        input.extend(task.bos().map(str::to_string));
        return Vocab {
            format: task.format,
            query: Some(task.alphabet.len() as u32),
            input,
            output: task.outputs.clone(),
            sep: None,
            eos: None,
            output_ids: (0..task.outputs.len() as u32).collect(),
        };
    }
    let mut shared = task.alphabet.clone();
    let mut output_ids = Vec::with_capacity(task.outputs.len());
    for o in &task.outputs {
        match shared.iter().position(|s| s == o) {
            Some(i) => output_ids.push(i as u32),
            None => {
                output_ids.push(shared.len() as u32);
                shared.push(o.clone());
            }
        }
    }
    for t in super::machine::scratch_tokens(task) {
        if !shared.contains(&t) {
            shared.push(t);
        }
    }
    let sep = shared.len() as u32;
    shared.push(if task.format.is_arith() { super::arith::EQUALS } else { SEP }.to_string());
    shared.push(EOS.to_string());
    shared.extend(super::arith::hint_tokens(task.format));
    Vocab {
        format: task.format,
        input: shared.clone(),
        output: shared,
        query: None,
        sep: Some(sep),
        eos: Some(sep + 1),
        output_ids,
    }
}

impl Vocab {
    /// The model output id of task output id `task_out`.
    pub fn model_output(&self, task_out: u32) -> Option<u32> {
        self.output_ids.get(task_out as usize).copied()
    }
    /// The task output id of model output id `model_out`, if it is one.
    pub fn task_output(&self, model_out: u32) -> Option<u32> {
        self.output_ids.iter().position(|&m| m == model_out).map(|i| i as u32)
    }
    /// The shared-vocabulary id of token `tok` (decoder formats).
    pub fn id_of(&self, tok: &str) -> Option<u32> {
        self.input.iter().position(|t| t == tok).map(|i| i as u32)
    }
    /// The text of model output id `id` (`"?"` when out of range).
    pub fn output_text(&self, id: u32) -> &str {
        self.output.get(id as usize).map_or("?", |s| s.as_str())
    }
}
