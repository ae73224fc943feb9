//! Machine targets (`target = run(M)`) and their scratchpads, between the task's token ids and
//! the machine's symbol ids ([`crate::turing`]).

use super::label::LabelError;
use super::vocab::SEP;
use crate::ir::{MachineTask, Task};
use crate::turing::{self, RunError};

/// Input ids (into `task.alphabet`) -> the machine's symbol ids.
fn symbols(task: &Task, mt: &MachineTask, input: &[u32]) -> Result<Vec<u32>, LabelError> {
    input
        .iter()
        .map(|&i| {
            let tok = task.alphabet.get(i as usize).ok_or_else(|| LabelError::InputId {
                task: task.name.clone(),
                id: i,
                alphabet_len: task.alphabet.len(),
                span: task.span,
            })?;
            mt.machine.symbol_id(tok).ok_or_else(|| LabelError::UnknownInput {
                task: task.name.clone(),
                token: tok.clone(),
                alphabet: mt.machine.symbols.join(" "),
                span: task.span,
            })
        })
        .collect()
}

fn run_error(task: &Task, input: &[u32], e: RunError) -> LabelError {
    let shown: Vec<&str> = input.iter().map(|&i| task.alphabet.get(i as usize).map_or("?", |s| s.as_str())).collect();
    LabelError::Eval { task: task.name.clone(), input: shown.join(" "), message: e.to_string(), span: task.span }
}

/// Answer symbol ids -> output ids.
fn outputs(task: &Task, mt: &MachineTask, out: &[u32]) -> Result<Vec<u32>, LabelError> {
    out.iter()
        .map(|&s| {
            let tok = &mt.machine.symbols[s as usize];
            task.outputs.iter().position(|o| o == tok).map(|i| i as u32).ok_or_else(|| LabelError::UnknownOutput {
                task: task.name.clone(),
                token: tok.clone(),
                outputs: task.outputs.join(" "),
                span: task.span,
            })
        })
        .collect()
}

/// The run's answer on `input` (ids into the alphabet), as output ids.
pub fn label(task: &Task, mt: &MachineTask, input: &[u32]) -> Result<Vec<u32>, LabelError> {
    let syms = symbols(task, mt, input)?;
    let out = turing::run(&mt.machine, &syms).map_err(|e| run_error(task, input, e))?;
    outputs(task, mt, &out)
}

/// The scratchpad tokens of `task` on `input` (each step ending with `<sep>`); empty when the
/// task has none.
pub fn scratchpad(task: &Task, input: &[u32]) -> Result<Vec<String>, LabelError> {
    let Some(mt) = task.machine() else { return Ok(vec![]) };
    let Some(sp) = &mt.scratchpad else { return Ok(vec![]) };
    let syms = symbols(task, mt, input)?;
    let (toks, _) = turing::scratch::write(&mt.machine, sp, &syms, SEP).map_err(|e| run_error(task, input, e))?;
    Ok(toks)
}

/// The scratchpad's vocabulary (without `<sep>`), in a fixed order; empty without one.
pub fn scratch_tokens(task: &Task) -> Vec<String> {
    match task.machine() {
        Some(MachineTask { machine, scratchpad: Some(sp) }) => turing::scratch::tokens(machine, sp.style),
        _ => vec![],
    }
}
