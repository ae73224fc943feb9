//! The benchmark's recurrent models (Delétang et al. 2023): `rnn { ... }`,
//! `stack_rnn { ... }` and `tape_rnn { ... }` (defaults in `ir::defaults`, each with its
//! source in the benchmark's code).

use super::cx::Cx;
use super::model::ModelDef;
use crate::ir::{self, defaults};

/// Fields of `rnn { ... }` (see `ir::RnnCfg`).
pub const RNN_FIELDS: &[&str] = &["hidden", "activation"];
/// Fields of `stack_rnn { ... }` (see `ir::StackRnnCfg`).
pub const STACK_RNN_FIELDS: &[&str] = &["hidden", "activation", "cell", "depth"];
/// Fields of `tape_rnn { ... }` (see `ir::TapeRnnCfg`).
pub const TAPE_RNN_FIELDS: &[&str] = &["hidden", "activation", "cell", "size"];

/// Largest stack depth or tape size: every step mixes the whole memory through a
/// `depth × depth` (`size × size`) matrix per sequence, so memory grows with its square.
const MAX_MEMORY: i64 = 1024;

/// An integer field in `1..=hi`, or `default` when absent.
fn int(cx: &mut Cx, m: &ModelDef, name: &str, default: usize, hi: i64) -> Option<usize> {
    m.fields.get(name).map_or(Some(default as i64), |e| cx.int_in(e, 1, hi)).map(|v| v as usize)
}

fn activation(cx: &mut Cx, m: &ModelDef) -> Option<ir::Activation> {
    match m.fields.get("activation") {
        Some(e) => cx.choice(
            e,
            "activation",
            &[("relu", ir::Activation::Relu), ("tanh", ir::Activation::Tanh)],
            "algen::check::unknown_value",
        ),
        None => Some(defaults::RNN_ACTIVATION),
    }
}

/// `rnn { hidden, activation }`.
pub fn rnn(cx: &mut Cx, m: &ModelDef) -> Option<ir::RnnCfg> {
    let hidden = int(cx, m, "hidden", defaults::RNN_HIDDEN, 1 << 20);
    let activation = activation(cx, m);
    Some(ir::RnnCfg { hidden: hidden?, activation: activation? })
}

/// `stack_rnn { hidden, activation, cell, depth }`.
pub fn stack_rnn(cx: &mut Cx, m: &ModelDef) -> Option<ir::StackRnnCfg> {
    let hidden = int(cx, m, "hidden", defaults::RNN_HIDDEN, 1 << 20);
    let activation = activation(cx, m);
    let cell = int(cx, m, "cell", defaults::STACK_CELL, 1 << 20);
    let depth = int(cx, m, "depth", defaults::STACK_DEPTH, MAX_MEMORY);
    Some(ir::StackRnnCfg { hidden: hidden?, activation: activation?, cell: cell?, depth: depth? })
}

/// `tape_rnn { hidden, activation, cell, size }`.
pub fn tape_rnn(cx: &mut Cx, m: &ModelDef) -> Option<ir::TapeRnnCfg> {
    let hidden = int(cx, m, "hidden", defaults::RNN_HIDDEN, 1 << 20);
    let activation = activation(cx, m);
    let cell = int(cx, m, "cell", defaults::TAPE_CELL, 1 << 20);
    let size = int(cx, m, "size", defaults::TAPE_SIZE, MAX_MEMORY);
    Some(ir::TapeRnnCfg { hidden: hidden?, activation: activation?, cell: cell?, size: size? })
}
