//! Scratchpads: a machine's run written out as tokens, between the `lm` separator and the
//! answer (`input <sep> scratchpad answer <eos>`). Every step of a scratchpad ends with the
//! separator token `sep` (the `lm` format's `<sep>`), so the answer is what follows the last
//! separator.
//!
//! Configurations are numbered from 0 (the start) to the halt. The configuration styles write
//! configuration 0, every `every`-th one whose state is in `at` (any state when `at` is
//! empty), and the halting one. On the tape window see [`super`].
//!
//! | style | one step | example (binary increment of `1011`, head on the last `1`) |
//! |---|---|---|
//! | `turing_program` | `[state] cells <sep>`, the head's cell as its marked variant | `carry 1 0 1 ^1 _ <sep>` |
//! | `trace` | `state : cells <sep>`, a `^` token before the head's cell | `carry : 1 0 1 ^ 1 _ <sep>` |
//! | `tail` | `state read : write move next <sep>`, one per rule applied | `carry 1 : 0 L carry <sep>` |
//!
//! `turing_program` (Hou et al. 2024) writes the state only when the machine has more than one
//! non-halting state. The marked variant of a digit `0`–`9` is the letter `a`–`j` (so each
//! snapshot has one token per cell), unless one of those letters is itself a tape symbol; any
//! other symbol `s` is marked as `^s` (one token). `tail` (Hua et al. 2025, TAIL) writes every
//! rule application: the operands it reads (state, symbol under the head), then the atomic
//! action (symbol written, move `L`/`R`/`S`), then the state it writes.

use super::{Exec, RunError};
use crate::ir::{Machine, Scratchpad, Style};

/// The head marker of the `trace` style, and the prefix of marked symbols.
pub const HEAD: &str = "^";
/// Separates the operands read from the action in `tail` and the state from the tape in `trace`.
pub const COLON: &str = ":";

/// The marked variant of every symbol, by symbol id (see the module docs).
pub fn marked(m: &Machine) -> Vec<String> {
    let letters = (b'a'..=b'j').all(|c| m.symbol_id(&(c as char).to_string()).is_none());
    m.symbols
        .iter()
        .map(|s| match s.as_bytes() {
            [d @ b'0'..=b'9'] if letters => ((b'a' + (d - b'0')) as char).to_string(),
            _ => format!("{HEAD}{s}"),
        })
        .collect()
}

/// Whether the `turing_program` style writes the state.
pub fn shows_state(m: &Machine) -> bool {
    m.working_states() > 1
}

/// Every token a scratchpad of `style` may contain, except the separator; fixed order.
pub fn tokens(m: &Machine, style: Style) -> Vec<String> {
    let mut v: Vec<String> = vec![];
    match style {
        Style::TuringProgram => {
            if shows_state(m) {
                v.extend(m.states.iter().cloned());
            }
            v.extend(m.symbols.iter().cloned());
            v.extend(marked(m));
        }
        Style::Trace => {
            v.extend(m.states.iter().cloned());
            v.push(COLON.into());
            v.push(HEAD.into());
            v.extend(m.symbols.iter().cloned());
        }
        Style::Tail => {
            v.extend(m.states.iter().cloned());
            v.extend(m.symbols.iter().cloned());
            v.push(COLON.into());
            v.extend(["L", "R", "S"].map(String::from));
        }
    }
    let mut seen = std::collections::HashSet::new();
    v.retain(|t| seen.insert(t.clone()));
    v
}

/// The scratchpad of `m` on `input` (symbol ids), each step ending with `sep`, and the run's
/// answer (symbol ids).
pub fn write(m: &Machine, sp: &Scratchpad, input: &[u32], sep: &str) -> Result<(Vec<String>, Vec<u32>), RunError> {
    let mut e = Exec::new(m, input);
    let mut out = vec![];
    let marks = if sp.style == Style::TuringProgram { marked(m) } else { vec![] };
    let every = sp.every.max(1) as u64;
    let keep = |e: &Exec| {
        e.steps == 0 || e.halted() || (e.steps % every == 0 && (sp.at.is_empty() || sp.at.contains(&e.state)))
    };
    if sp.style != Style::Tail {
        config(&e, sp.style, &marks, sep, &mut out);
    }
    while !e.halted() {
        let (state, read) = (e.state, e.read());
        let a = e.step()?;
        if sp.style == Style::Tail {
            let name = |q: u32| m.states[q as usize].clone();
            let sym = |s: u32| m.symbols[s as usize].clone();
            out.extend([name(state), sym(read), COLON.into(), sym(a.write), a.mv.name().into(), name(a.next)]);
            out.push(sep.into());
        } else if keep(&e) {
            config(&e, sp.style, &marks, sep, &mut out);
        }
    }
    Ok((out, e.output()?))
}

/// One configuration in a configuration style.
fn config(e: &Exec, style: Style, marks: &[String], sep: &str, out: &mut Vec<String>) {
    let m = e.m;
    let (cells, head) = e.window();
    let state = m.states[e.state as usize].clone();
    match style {
        Style::TuringProgram => {
            if shows_state(m) {
                out.push(state);
            }
            for (i, &c) in cells.iter().enumerate() {
                out.push(if i == head { marks[c as usize].clone() } else { m.symbols[c as usize].clone() });
            }
        }
        _ => {
            out.push(state);
            out.push(COLON.into());
            for (i, &c) in cells.iter().enumerate() {
                if i == head {
                    out.push(HEAD.into());
                }
                out.push(m.symbols[c as usize].clone());
            }
        }
    }
    out.push(sep.into());
}
