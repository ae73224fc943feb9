//! Bounds on the numbers that size an allocation, checked before anything is built
//! (issue 16, item 4). The bounds on lengths and counts live with the splits
//! ([`super::split::MAX_LEN`] and its neighbours), the universe's size with the universe
//! ([`super::universe::MAX_UNIVERSE`]); this file bounds a model's size.

use super::cx::Cx;
use crate::diag::Diag;
use crate::ir;
use crate::source::Span;

/// The most weights a model may hold: 2^28 f32 weights are 1 GiB, and Adam keeps two more
/// copies (the shipped specs' models hold at most a few million).
pub const MAX_PARAMS: u128 = 1 << 28;

/// About how many weights `arch` holds, ignoring embeddings and biases (u128: no overflow for
/// any field within its own range).
pub fn weights(arch: &ir::Arch) -> u128 {
    let sq = |a: usize, b: usize| a as u128 * b as u128;
    match arch {
        ir::Arch::Transformer(t) => {
            // A seq2seq decoder block adds cross-attention: about one more attention's weights.
            let blocks = match t.kind {
                ir::ModelKind::Seq2seq { encoder_layers, decoder_layers, .. } => {
                    encoder_layers as u128 + 2 * decoder_layers as u128
                }
                _ => t.layers as u128,
            };
            blocks * (4 * sq(t.d_model, t.d_model) + 2 * sq(t.d_model, t.ffn))
        }
        ir::Arch::Lstm(l) => {
            let first = 4 * sq(l.hidden, l.hidden + l.embed);
            let stack = first + (l.layers as u128 - 1) * 8 * sq(l.hidden, l.hidden);
            // An encoder–decoder: two stacks, attention and the attentional layer.
            if l.seq2seq.is_some() {
                2 * stack + 5 * sq(l.hidden, l.hidden)
            } else {
                stack
            }
        }
        ir::Arch::Rnn(r) => sq(r.hidden, r.hidden),
        ir::Arch::StackRnn(s) => sq(s.hidden, s.hidden) + sq(s.depth, s.depth) * s.cell as u128,
        ir::Arch::TapeRnn(t) => sq(t.hidden, t.hidden) + sq(t.size, t.size) * t.cell as u128,
        // Bounded by the compiler itself (`rasp_compile::err::too_large`).
        ir::Arch::RaspCompiled(c) => c.layers.iter().map(|l| 2 * sq(c.d, l.hidden)).sum::<u128>() + sq(c.d, c.d),
    }
}

/// `arch`, or an error at `at` when it holds more than [`MAX_PARAMS`] weights.
pub fn model_fits(cx: &mut Cx, arch: ir::Arch, at: Span) -> Option<ir::Arch> {
    let n = weights(&arch);
    if n <= MAX_PARAMS {
        return Some(arch);
    }
    cx.push(
        Diag::error("algen::check::too_large", format!("this model holds about {n} weights, more than {MAX_PARAMS}"))
            .at(at, "too large to build")
            .help(format!(
                "a model may hold at most {MAX_PARAMS} weights (1 GiB of f32): lower d_model, ffn, hidden or layers"
            )),
    );
    None
}
