//! Cost figures of a model: its parameter count ([`param_count`]) and the matmul FLOPs of a
//! training step ([`flops_per_step`]), per architecture, from the checked configuration alone.

use super::{compiled, memory, rnn_s2s, seq2seq, ModelIo};
use crate::ir::model::{Arch, Head, LstmStyle, NormType, Position};

/// Number of scalar parameters [`build`] creates (equal to `Params::count`, tested).
///
/// Transformer, with `n = 2` parameters per channel of a LayerNorm (gain, bias) or `n = 1` for
/// RMSNorm (gain): `V_in·d` + positions + `L·(4d² + 2d·ffn + 5d + 2n·d + ffn)`
/// + (with a final norm: `n·d`) + `V_out·d` + (with a head bias: `V_out`); a pointer head
/// (`head = pointer`) has `2d² + d` instead of the last two.
///
/// Positions: `max_len·d` (learned, also under `randomized`), `max_position·d` (coupled),
/// `buckets·H` (t5), `L·(d² + 2d)` (relative: `W_r` and `u, v` per layer), else 0.
///
/// LSTM (embedding width E, hidden H, L layers): `V_in·E` + `4H·(E + H) + 8H`
/// + `(L − 1)·(4H·2H + 8H)` + `V_out·H + V_out` (PyTorch's `nn.LSTM` count: two biases);
/// `style = haiku`: no embedding, E = V_in (one-hot), one bias per layer (`4H`, not `8H`).
///
/// Recurrent (width H, cell C, no cell for `rnn`): core `H·(V_in + C) + H·H + 2H`, head
/// `V_out·H + V_out`, plus the memory's layers: stack `(C + 3)·(H + 1)`; tape
/// `64·(H + 1) + 64·65 + C·65 + 5·(H + 1)` (the (64, 64) write MLP and the action layer).
pub fn param_count(arch: &Arch, io: ModelIo) -> usize {
    match arch {
        Arch::RaspCompiled(c) => compiled::param_count(c, io.vocab_in, io.vocab_out),
        Arch::Transformer(c) if seq2seq::depths(c).is_some() => seq2seq::param_count(c, io),
        Arch::Transformer(c) => {
            let (d, f) = (c.d_model, c.ffn);
            let pos = match c.position.base() {
                Position::Learned { max_len } => max_len * d,
                Position::Coupled { max_position, .. } => max_position * d,
                Position::T5 { buckets, .. } => buckets * c.heads,
                Position::Relative => c.layers * (d * d + 2 * d),
                _ => 0,
            };
            let n = if c.norm_type == NormType::RmsNorm { 1 } else { 2 };
            // Attention 4d² (+ 4d biases), feed-forward 2df + f + d, two norms.
            let attn_bias = if c.attn_bias_init == crate::ir::AttnBiasInit::None { 0 } else { 4 * d };
            let layer = 4 * d * d + attn_bias + 2 * d * f + d + 2 * n * d + f;
            let final_ln = if c.has_final_norm() { n * d } else { 0 };
            let head = match (c.head, c.head_bias) {
                (Head::Pointer, _) => 2 * d * d + d,
                (Head::Vocab, bias) => io.vocab_out * d + if bias { io.vocab_out } else { 0 },
            };
            io.vocab_in * d + pos + c.layers * layer + final_ln + head
        }
        Arch::Lstm(c) if c.seq2seq.is_some() => rnn_s2s::param_count(c, io),
        Arch::Lstm(c) => {
            let (e, h) = (c.input_width(io.vocab_in), c.hidden);
            let (embed, biases) = match c.style {
                LstmStyle::Pytorch => (io.vocab_in * e, 8 * h),
                LstmStyle::Haiku => (0, 4 * h),
            };
            let layer = |inp: usize| 4 * h * (inp + h) + biases;
            let rest = c.layers.saturating_sub(1) * layer(h);
            embed + layer(e) + rest + io.vocab_out * h + io.vocab_out
        }
        Arch::Rnn(_) | Arch::StackRnn(_) | Arch::TapeRnn(_) => {
            let r = recurrent_dims(arch);
            let (h, c) = (r.hidden, r.cell);
            let lin = |out: usize, inp: usize| out * (inp + 1);
            let mem = match arch {
                Arch::StackRnn(_) => lin(c, h) + lin(memory::STACK_ACTIONS, h),
                Arch::TapeRnn(_) => {
                    let [m0, m1] = crate::ir::defaults::TAPE_MLP;
                    lin(m0, h) + lin(m1, m0) + lin(c, m1) + lin(memory::TAPE_ACTIONS, h)
                }
                _ => 0,
            };
            h * (io.vocab_in + c) + h * h + 2 * h + mem + lin(io.vocab_out, h)
        }
    }
}

/// Approximate FLOPs of one training step (forward + backward) on a `(batch, seq_len)` batch.
///
/// Counts matmul FLOPs only (2 per multiply-add). Forward per token:
/// `L·(8d² + 4d·ffn + 4T·d) + 2d·V_out` — QKV (6d²) and output (2d²) projections, the two
/// feed-forward matmuls (4d·ffn), attention scores QKᵀ and weighted sum PV (2T·d each, full
/// T×T even when causal), and the head. Backward ≈ 2× forward, so a step ≈ 3× forward
/// (Kaplan et al. 2020, §2.1). Embedding lookups, norms and softmax are ignored.
/// A pointer head costs `4d² + 2T·d` per token instead of `2d·V_out` (`W1`, `W2`, and `v` over
/// the `T` candidates; `tanh` ignored). `relative` attention (also randomized) adds per token and layer `2d² + 2H·T·d`: the
/// projection `W_rᵀ(q_i + v)` (2d² over all heads) and its product with every key's
/// `d` sinusoid features, per head (see `positions::relative`).
///
/// LSTM (E = V_in for `style = haiku`): forward per token `8H·(E + H) + (L − 1)·8H·2H + 2H·V_out` — per layer the input
/// projection (2·4H·in) and the recurrent product (2·4H·H) — and the head; gate
/// nonlinearities are ignored. A step ≈ 3× forward, as above.
///
/// Recurrent: forward per token `2H·(V_in + C + H)` (the fused core step, one-hot included)
/// `+ 2H·V_out`, plus the memory: stack `2H·(C + 3) + 2·3·D(D+1) + 2·D(D+1)·C` (heads, mixing
/// matrix, mixing); tape `2·(64H + 64·64 + 64C + 5H) + 2·5·M² + 2·M²·C`.
pub fn flops_per_step(arch: &Arch, io: ModelIo, batch: usize, seq_len: usize) -> u64 {
    match arch {
        Arch::RaspCompiled(c) => compiled::flops_per_step(c, io.vocab_out, batch, seq_len),
        Arch::Transformer(c) if seq2seq::depths(c).is_some() => seq2seq::flops_per_step(c, io, batch, seq_len),
        Arch::Transformer(c) => {
            let (d, f, t) = (c.d_model as u64, c.ffn as u64, seq_len as u64);
            let rel = if c.position.base() == &Position::Relative { 2 * d * d + 2 * c.heads as u64 * t * d } else { 0 };
            let head = match c.head {
                Head::Pointer => 4 * d * d + 2 * t * d,
                Head::Vocab => 2 * d * io.vocab_out as u64,
            };
            let per_token = c.layers as u64 * (8 * d * d + 4 * d * f + 4 * t * d + rel) + head;
            3 * batch as u64 * t * per_token
        }
        Arch::Lstm(c) if c.seq2seq.is_some() => rnn_s2s::flops_per_step(c, io, batch, seq_len),
        Arch::Lstm(c) => {
            let (e, h) = (c.input_width(io.vocab_in) as u64, c.hidden as u64);
            let rest = c.layers.saturating_sub(1) as u64 * 8 * h * 2 * h;
            let per_token = 8 * h * (e + h) + rest + 2 * h * io.vocab_out as u64;
            3 * batch as u64 * seq_len as u64 * per_token
        }
        Arch::Rnn(_) | Arch::StackRnn(_) | Arch::TapeRnn(_) => {
            let r = recurrent_dims(arch);
            let (h, c, n) = (r.hidden as u64, r.cell as u64, r.slots as u64);
            let mem = match arch {
                Arch::StackRnn(_) => 2 * h * (c + 3) + 6 * n * (n + 1) + 2 * n * (n + 1) * c,
                Arch::TapeRnn(_) => 2 * (64 * h + 64 * 64 + 64 * c + 5 * h) + 10 * n * n + 2 * n * n * c,
                _ => 0,
            };
            let per_token = 2 * h * (io.vocab_in as u64 + c + h) + 2 * h * io.vocab_out as u64 + mem;
            3 * batch as u64 * seq_len as u64 * per_token
        }
    }
}

/// Width, cell width and memory slots (depth or size) of a recurrent architecture.
struct RecurrentDims {
    hidden: usize,
    cell: usize,
    slots: usize,
}

fn recurrent_dims(arch: &Arch) -> RecurrentDims {
    match arch {
        Arch::Rnn(c) => RecurrentDims { hidden: c.hidden, cell: 0, slots: 0 },
        Arch::StackRnn(c) => RecurrentDims { hidden: c.hidden, cell: c.cell, slots: c.depth },
        Arch::TapeRnn(c) => RecurrentDims { hidden: c.hidden, cell: c.cell, slots: c.size },
        _ => RecurrentDims { hidden: 0, cell: 0, slots: 0 },
    }
}
