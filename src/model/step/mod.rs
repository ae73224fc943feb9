//! The graph-free training step of the transformer: one forward pass that keeps exactly the
//! activations the backward pass needs, a hand-written backward per block (LayerNorm, QKV,
//! attention, output projection, residuals, feed-forward) and the loss, with no candle
//! autograd graph on the hot path.
//!
//! Why: with every layer already a fused op, what a step still paid for was the graph —
//! a zeroed gradient buffer and an add per edge, candle's elementwise residual adds and copies
//! (each a round trip through its thread pool), and an allocation per intermediate. Here the
//! step runs the *same* slice kernels as the graph ops (`ops::host`), in the same order, so
//! it computes the same numbers as [`super::Transformer::forward_at`] +
//! [`super::cross_entropy_masked`] + `backward` (`tests/step.rs` checks it bit for bit,
//! against the reference kernels, and against finite differences in f64).
//!
//! Covered: encoder and decoder, pre/post/Lee norm with LayerNorm, ReLU and GELU, every
//! position scheme that acts at the input or through ALiBi/windows (none, sinusoidal,
//! learned, coupled, randomized, alibi, hard_alibi), padding masks, biased or unbiased
//! projections and head. Not covered (the trainer falls back to the autograd path and says so
//! once, [`unsupported`]): dropout, RMSNorm, RoPE, relative and T5 attention, per-layer
//! randomized positions, a pointer head, the reference kernels.

mod backward;
mod forward;

use super::ops::Kernels;
use super::positions::Ids;
use super::transformer::{key_mask, token_ids, Transformer};
use crate::ir::model::NormType;
use candle_core::{bail, DType, Result, Tensor, Var};

/// What one step returns: the loss, each `Var`'s gradient (in the order of `vars`; `None` for
/// a variable the model does not use) and the logits `(B, T, vocab_out)`.
pub struct StepOut {
    pub loss: f64,
    pub grads: Vec<Option<Vec<f64>>>,
    pub logits: Tensor,
}

/// Buffers kept from one step to the next: each layer's attention weights `(B, H, T, T)`,
/// tens of megabytes that a fresh allocation would fault in page by page at every step.
#[derive(Default)]
pub struct Workspace {
    probs32: Vec<Vec<f32>>,
    probs64: Vec<Vec<f64>>,
}

/// The element types the step runs in, with their workspace buffers.
trait Elem: super::ops::Fl {
    fn probs(ws: &mut Workspace) -> &mut Vec<Vec<Self>>;
}

impl Elem for f32 {
    fn probs(ws: &mut Workspace) -> &mut Vec<Vec<f32>> {
        &mut ws.probs32
    }
}

impl Elem for f64 {
    fn probs(ws: &mut Workspace) -> &mut Vec<Vec<f64>> {
        &mut ws.probs64
    }
}

/// Why `m` cannot take the graph-free step, or `None` when it can.
pub fn unsupported(m: &Transformer) -> Option<String> {
    let cfg = &m.cfg;
    let reason = if m.kernels != Kernels::Fused {
        "the reference kernels were asked for"
    } else if cfg.dropout > 0.0 {
        "dropout"
    } else if cfg.norm_type == NormType::RmsNorm {
        "RMSNorm"
    } else if m.positions.relative() {
        "relative attention"
    } else if m.positions.per_layer() {
        "per-layer randomized positions"
    } else if matches!(m.head, crate::model::transformer::OutputHead::Pointer(_)) {
        "a pointer head"
    } else if !m.tok_embed.device().is_cpu() {
        "a non-CPU device"
    } else {
        match Ids::new(vec![0], 1, 1).and_then(|ids| m.attn_ctx(None, &ids)) {
            Ok(c) if c.qkv_transform.is_some() => "rotary positions",
            Ok(c) if c.bias.is_some() || c.relative.is_some() => "an attention score bias (t5, relative)",
            Ok(_) => return None,
            Err(e) => return Some(format!("its attention context failed: {e}")),
        }
    };
    Some(format!("the graph-free training step does not cover {reason}; this run uses the autograd path"))
}

/// One training step of `m` on a batch: forward, masked mean cross-entropy, backward.
/// `tokens (B, T) u32`, `pad (B, T)` (1 = real), explicit position ids (`B·T`) or the
/// scheme's own, `targets (B, T) u32`, `mask (B, T)`; `vars` are the trained variables.
#[allow(clippy::too_many_arguments)]
pub fn train_step(
    ws: &mut Workspace,
    m: &Transformer,
    vars: &[Var],
    tokens: &Tensor,
    pad: Option<&Tensor>,
    positions: Option<&[u32]>,
    targets: &Tensor,
    mask: &Tensor,
) -> Result<StepOut> {
    if let Some(why) = unsupported(m) {
        bail!("{why}")
    }
    match m.tok_embed.dtype() {
        DType::F32 => step::<f32>(ws, m, vars, tokens, pad, positions, targets, mask),
        DType::F64 => step::<f64>(ws, m, vars, tokens, pad, positions, targets, mask),
        dt => bail!("the graph-free training step runs in f32 or f64, not {dt:?}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn step<T: Elem>(
    ws: &mut Workspace,
    m: &Transformer,
    vars: &[Var],
    tokens: &Tensor,
    pad: Option<&Tensor>,
    positions: Option<&[u32]>,
    targets: &Tensor,
    mask: &Tensor,
) -> Result<StepOut> {
    let (b, t, ids) = token_ids(tokens)?;
    let keys = pad.map(|p| key_mask(p, b, t)).transpose()?;
    let pos = m.positions.ids(positions, keys.as_deref().map(Vec::as_slice), b, t)?;
    let ctx = m.attn_ctx(keys, &pos)?;
    let (tg, mk) = super::loss_inputs_of(targets, mask, b * t)?;
    if let Some(&bad) = tg.iter().zip(&mk).find(|(&y, &w)| w != 0.0 && y as usize >= m.vocab_out).map(|(y, _)| y) {
        bail!("cross_entropy: target {bad} is outside the {} classes", m.vocab_out)
    }
    let w = forward::Weights::<T>::of(m, &pos)?;
    let mut fw = forward::run(m, &w, &ctx, (b, t), &ids, T::probs(ws))?;
    let loss = super::ops::host::ce_loss(&fw.logits, m.vocab_out, &tg, &mk);
    let mut g = backward::Grads::zeros(&w);
    backward::run(m, &w, &ctx, &fw, (&tg, &mk), &ids, &mut g)?;
    let logits = Tensor::from_vec(std::mem::take(&mut fw.logits), (b, t, m.vocab_out), &candle_core::Device::Cpu)?;
    fw.give_back(T::probs(ws));
    Ok(StepOut { loss: loss.to_f64(), grads: g.into_slots(m, &w, vars), logits })
}
