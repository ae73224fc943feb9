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
mod count;
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

pub use count::{flops_per_step, param_count};
pub use lstm::Lstm;
pub use ops::Kernels;
pub use params::Params;
pub use rnn::Recurrent;
pub use rnn_s2s::RnnSeq2seq;
pub use seq2seq::Seq2seq;
pub use transformer::Transformer;

use crate::ir::model::Arch;
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
