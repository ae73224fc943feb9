//! Models: `ir::Arch` + vocabulary sizes → a candle graph ([`build`]), its parameters
//! ([`Params`], in creation order, seeded), the masked loss ([`cross_entropy_masked`]) and
//! cost figures ([`param_count`], [`flops_per_step`]).
//!
//! Layout: [`params`] (registry and init), [`ops`] (fused CPU ops with hand-written backward
//! and their decomposed references), [`layers`] (Linear, LayerNorm, FeedForward,
//! SelfAttention), [`positions`], [`transformer`], [`lstm`], [`rnn`] (`rnn`, `stack_rnn`,
//! `tape_rnn`, with the differentiable memories of [`memory`]).
//!
//! Evaluation: use [`Net::detached`] (candle has no no-grad mode; DESIGN §7).

pub mod compiled;
pub mod cross_attention;
pub mod decode;
pub mod decode_s2s;
pub mod layers;
pub mod location;
pub mod lstm;
pub mod memory;
pub mod ops;
pub mod params;
pub mod pointer;
pub mod positions;
pub mod rnn;
pub mod rnn_s2s;
pub mod seq2seq;
pub mod step;
pub mod transformer;

pub use lstm::Lstm;
pub use ops::Kernels;
pub use params::Params;
pub use rnn::Recurrent;
pub use rnn_s2s::RnnSeq2seq;
pub use seq2seq::Seq2seq;
pub use transformer::Transformer;

use crate::ir::model::{Arch, Head, LstmStyle, NormType, Position};
use candle_core::{bail, DType, Result, Tensor};
use rand_chacha::ChaCha8Rng;

/// Vocabulary sizes a task gives the model: input tokens and output classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelIo {
    pub vocab_in: usize,
    pub vocab_out: usize,
}

/// A built network.
#[derive(Clone, Debug)]
pub enum Net {
    Transformer(Transformer),
    Lstm(Lstm),
    /// `rnn`, `stack_rnn` or `tape_rnn`.
    Recurrent(Recurrent),
    /// `rasp_compiled { }`: a compiled RASP program ([`compiled`]).
    Compiled(compiled::CompiledNet),
    /// `transformer { kind = seq2seq }` ([`seq2seq`]): reads a source ([`Net::forward_s2s`]).
    Seq2seq(Seq2seq),
    /// `lstm { kind = seq2seq }` ([`rnn_s2s`]): reads a source ([`Net::forward_s2s`]).
    RnnSeq2seq(RnnSeq2seq),
}

impl Net {
    /// `tokens (B, T) u32` → logits `(B, T, vocab_out)`. `pad (B, T)`: 1 = real token,
    /// 0 = padding (padded keys are masked; the LSTM needs padding at the row ends).
    /// Dropout is active only with `dropout_rng` (the LSTM has none).
    pub fn forward(
        &self,
        tokens: &Tensor,
        pad: Option<&Tensor>,
        dropout_rng: Option<&mut ChaCha8Rng>,
    ) -> Result<Tensor> {
        self.forward_at(tokens, pad, None, dropout_rng)
    }

    /// [`Net::forward`] with explicit position ids (`B·T` row-major; default `0..T` per row).
    pub fn forward_at(
        &self,
        tokens: &Tensor,
        pad: Option<&Tensor>,
        positions: Option<&[u32]>,
        dropout_rng: Option<&mut ChaCha8Rng>,
    ) -> Result<Tensor> {
        match self {
            Net::Transformer(t) => t.forward_at(tokens, pad, positions, dropout_rng),
            Net::Lstm(l) => l.forward_at(tokens, pad, positions),
            Net::Recurrent(r) => r.forward_at(tokens, pad),
            Net::Compiled(c) => c.forward(tokens, pad),
            Net::Seq2seq(_) | Net::RnnSeq2seq(_) => bail!("a seq2seq model reads a source: use Net::forward_s2s"),
        }
    }

    /// Teacher-forced logits `(B, T, vocab_out)` of an encoder–decoder given `source (B, S)` and
    /// the decoder's `tokens (B, T)` (pads: 1 = real); an error for other networks.
    pub fn forward_s2s(
        &self,
        source: &Tensor,
        source_pad: Option<&Tensor>,
        tokens: &Tensor,
        pad: Option<&Tensor>,
        dropout_rng: Option<&mut ChaCha8Rng>,
    ) -> Result<Tensor> {
        match self {
            Net::Seq2seq(m) => m.forward(source, source_pad, tokens, pad, dropout_rng),
            Net::RnnSeq2seq(m) => m.forward(source, source_pad, tokens, pad),
            _ => bail!("only a seq2seq model reads a source"),
        }
    }

    /// Restarts the stream of randomized positions (`randomized(..)`; Ruoss et al. 2023) that
    /// this network and its clones draw from at every forward pass; a no-op for other models.
    pub fn seed_positions(&self, seed: u64) {
        if let Net::Transformer(t) = self {
            t.positions.seed(seed);
        }
    }

    /// The training stream of randomized positions: its position (words drawn), or `None`
    /// when this network does not randomize (saved in checkpoints).
    pub fn positions_word_pos(&self) -> Option<u128> {
        match self {
            Net::Transformer(t) => t.positions.randomizer().map(|r| r.word_pos()),
            Net::Lstm(_) | Net::Recurrent(_) | Net::Compiled(_) | Net::Seq2seq(_) | Net::RnnSeq2seq(_) => None,
        }
    }

    /// Moves the randomized-position stream to a saved position (no-op without one).
    pub fn set_positions_word_pos(&self, pos: u128) {
        if let Net::Transformer(t) = self {
            if let Some(r) = t.positions.randomizer() {
                r.set_word_pos(pos);
            }
        }
    }

    /// T sorted distinct randomized positions for a sequence of `len` tokens, drawn now, or
    /// `None` when this network does not randomize. Decoding draws once for the whole sequence
    /// and passes prefixes of the draw as explicit ids, so every step sees the same positions.
    pub fn draw_positions(&self, len: usize) -> Result<Option<Vec<u32>>> {
        match self {
            Net::Transformer(t) => t.positions.draw(len),
            Net::Lstm(_) | Net::Recurrent(_) | Net::Compiled(_) | Net::Seq2seq(_) | Net::RnnSeq2seq(_) => Ok(None),
        }
    }

    /// The copy to evaluate with: [`Net::detached`], and randomized positions drawn from their
    /// own stream seeded with `seed` (or not randomized, for `randomized(.., eval = false)`), so
    /// evaluating never changes the training draws.
    pub fn evaluation(&self, seed: u64) -> Net {
        match self {
            Net::Transformer(t) => Net::Transformer(t.evaluation(seed)),
            Net::Lstm(l) => Net::Lstm(l.detached()),
            Net::Recurrent(r) => Net::Recurrent(r.detached()),
            Net::Compiled(c) => Net::Compiled(c.detached()),
            Net::Seq2seq(m) => Net::Seq2seq(m.detached()),
            Net::RnnSeq2seq(m) => Net::RnnSeq2seq(m.detached()),
        }
    }

    /// A copy with detached weights (sharing storage, so it follows optimizer updates) for
    /// evaluation without autograd bookkeeping.
    pub fn detached(&self) -> Net {
        match self {
            Net::Transformer(t) => Net::Transformer(t.detached()),
            Net::Lstm(l) => Net::Lstm(l.detached()),
            Net::Recurrent(r) => Net::Recurrent(r.detached()),
            Net::Compiled(c) => Net::Compiled(c.detached()),
            Net::Seq2seq(m) => Net::Seq2seq(m.detached()),
            Net::RnnSeq2seq(m) => Net::RnnSeq2seq(m.detached()),
        }
    }

    /// The input id of the task's query token (`transduce`, `classify`, `pointer`), which the
    /// tape RNN needs for its jump length (the input before the queries) and a pointer head
    /// masks out; other networks ignore it.
    pub fn with_query(self, query: Option<u32>) -> Net {
        match self {
            Net::Recurrent(r) => Net::Recurrent(r.with_query(query)),
            Net::Transformer(t) => Net::Transformer(t.with_query(query)),
            n => n,
        }
    }

    /// The same network running the fused ops or their references.
    pub fn with_kernels(self, kernels: Kernels) -> Net {
        match self {
            Net::Transformer(t) => Net::Transformer(t.with_kernels(kernels)),
            Net::Lstm(l) => Net::Lstm(l.with_kernels(kernels)),
            Net::Recurrent(r) => Net::Recurrent(r.with_kernels(kernels)),
            // Plain candle ops with autograd only.
            Net::Compiled(c) => Net::Compiled(c),
            Net::Seq2seq(m) => Net::Seq2seq(m.with_kernels(kernels)),
            Net::RnnSeq2seq(m) => Net::RnnSeq2seq(m.with_kernels(kernels)),
        }
    }
}

/// Builds `arch` in f32 with parameters initialized from `seed` (see [`Params`]); randomized
/// positions are drawn from a stream of the same seed ([`Net::seed_positions`]).
pub fn build(arch: &Arch, io: ModelIo, seed: u64) -> Result<(Net, Params)> {
    build_with(arch, io, seed, DType::F32)
}

/// [`build`] in a chosen float dtype (f64 for gradient checks).
pub fn build_with(arch: &Arch, io: ModelIo, seed: u64, dtype: DType) -> Result<(Net, Params)> {
    let mut params = Params::new(seed, dtype);
    let net = match arch {
        Arch::Transformer(cfg) if seq2seq::depths(cfg).is_some() => {
            Net::Seq2seq(Seq2seq::load(&mut params, cfg, io.vocab_in, io.vocab_out)?)
        }
        Arch::Transformer(cfg) => Net::Transformer(Transformer::load(&mut params, cfg, io.vocab_in, io.vocab_out)?),
        Arch::Lstm(cfg) if cfg.seq2seq.is_some() => {
            Net::RnnSeq2seq(RnnSeq2seq::load(&mut params, cfg, io.vocab_in, io.vocab_out)?)
        }
        Arch::Lstm(cfg) => Net::Lstm(Lstm::load(&mut params, cfg, io.vocab_in, io.vocab_out)?),
        Arch::Rnn(_) | Arch::StackRnn(_) | Arch::TapeRnn(_) => {
            Net::Recurrent(Recurrent::load(&mut params, arch, io.vocab_in, io.vocab_out)?)
        }
        Arch::RaspCompiled(_) => bail!("a rasp_compiled model is built from its task: use model::build_task"),
    };
    net.seed_positions(seed);
    Ok((net, params))
}

/// Builds `arch` for `task`, whose model vocabularies are `input` and `outputs` (task::vocab):
/// a `rasp_compiled` model compiles the task's RASP target ([`compiled::load`]), every other
/// architecture is [`build_with`].
pub fn build_task(
    arch: &Arch,
    task: &crate::ir::Task,
    input: &[String],
    outputs: &[String],
    seed: u64,
    dtype: DType,
) -> Result<(Net, Params)> {
    let Arch::RaspCompiled(cfg) = arch else {
        return build_with(arch, ModelIo { vocab_in: input.len(), vocab_out: outputs.len() }, seed, dtype);
    };
    let Some(crate::ir::Expr { kind: crate::ir::ExprKind::Rasp(r), .. }) = task.target() else {
        bail!("task `{}` has no RASP target to compile", task.name)
    };
    let mut params = Params::new(seed, dtype);
    let net = compiled::load(&mut params, r, cfg, &task.alphabet, input, outputs)?;
    Ok((Net::Compiled(net), params))
}

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

/// Host copies of `targets` (u32) and `mask` for `n` tokens (the graph-free step's inputs).
pub(crate) fn loss_inputs_of(targets: &Tensor, mask: &Tensor, n: usize) -> Result<(Vec<u32>, Vec<f32>)> {
    if targets.elem_count() != n || mask.elem_count() != n {
        bail!(
            "cross_entropy_masked: {n} tokens need as many targets and mask entries, got {:?} and {:?}",
            targets.dims(),
            mask.dims()
        )
    }
    if targets.dtype() != DType::U32 {
        bail!("cross_entropy_masked: targets must be u32, got {:?}", targets.dtype())
    }
    let t = targets.flatten_all()?.to_vec1::<u32>()?;
    let m = mask.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    Ok((t, m))
}

/// Host copies of `targets (B, T) u32` and `mask (B, T)`, checked against `logits (B, T, V)`.
fn loss_inputs(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<(Vec<u32>, Vec<f32>)> {
    let lead = &logits.dims()[..logits.rank().saturating_sub(1)];
    if logits.rank() != 3 || targets.dims() != lead || mask.dims() != lead {
        bail!(
            "cross_entropy_masked: logits {:?} must be (B, T, V) with targets {:?} and mask {:?} (B, T)",
            logits.dims(),
            targets.dims(),
            mask.dims()
        )
    }
    loss_inputs_of(targets, mask, targets.elem_count())
}

/// `Σ mask·nll / Σ mask` over `logits (B, T, V)`, `targets (B, T) u32`, `mask (B, T)`
/// (0 when the mask is all zero): a scalar, one fused node with its backward.
pub fn cross_entropy_masked(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (t, m) = loss_inputs(logits, targets, mask)?;
    ops::cross_entropy(logits, &t, &m)
}

/// [`cross_entropy_masked`] from plain candle ops (the reference).
pub fn cross_entropy_masked_ref(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (t, m) = loss_inputs(logits, targets, mask)?;
    ops::cross_entropy_ref(logits, &t, &m)
}
