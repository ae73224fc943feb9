//! The forward half of the graph-free step: host copies of the weights, and a forward pass
//! that saves what [`super::backward`] reads.

use crate::ir::model::{FfnActivation, Norm};
use crate::model::layers::{AttnCtx, LayerNorm, Linear};
use crate::model::ops::host::{attn_fwd_into, linear_fwd, ln_fwd, zeros, AttnDims};
use crate::model::ops::{gelu_f64, AttnSpec, Fl, LN_EPS};
use crate::model::positions::Ids;
use crate::model::transformer::Transformer;
use candle_core::{bail, Result, Tensor};
use rayon::prelude::*;

/// A linear layer's weights on the host, with the tensors they came from.
pub(super) struct Lin<T> {
    pub w: Vec<T>,
    pub b: Vec<T>,
    pub src: (Tensor, Tensor),
    pub out: usize,
    pub inp: usize,
}

/// A LayerNorm's gain and bias on the host, with their tensors.
pub(super) struct Ln<T> {
    pub g: Vec<T>,
    pub b: Vec<T>,
    pub src: (Tensor, Tensor),
}

pub(super) struct BlockW<T> {
    pub ln1: Ln<T>,
    pub qkv: Lin<T>,
    pub out: Lin<T>,
    pub ln2: Ln<T>,
    pub up: Lin<T>,
    pub down: Lin<T>,
}

/// Every weight of one step. `pos`: the input position table, the row each token reads, and
/// the tensor (a `Var` for learned tables).
pub(super) struct Weights<T> {
    pub tok: (Vec<T>, Tensor),
    pub pos: Option<(Vec<T>, Vec<u32>, Tensor)>,
    pub blocks: Vec<BlockW<T>>,
    pub final_ln: Option<Ln<T>>,
    pub head: Lin<T>,
}

fn host<T: Fl>(t: &Tensor) -> Result<Vec<T>> {
    t.flatten_all()?.to_vec1::<T>()
}

impl<T: Fl> Lin<T> {
    fn of(l: &Linear) -> Result<Self> {
        let (out, inp) = l.weight.dims2()?;
        Ok(Lin { w: host(&l.weight)?, b: host(&l.bias)?, src: (l.weight.clone(), l.bias.clone()), out, inp })
    }
}

impl<T: Fl> Ln<T> {
    fn of(l: &LayerNorm) -> Result<Self> {
        let Some(b) = &l.bias else { bail!("the graph-free step needs LayerNorm (with a bias), not RMSNorm") };
        Ok(Ln { g: host(&l.weight)?, b: host(b)?, src: (l.weight.clone(), b.clone()) })
    }
}

impl<T: Fl> Weights<T> {
    pub fn of(m: &Transformer, pos: &Ids) -> Result<Self> {
        let blocks = m
            .blocks
            .iter()
            .map(|b| {
                Ok(BlockW {
                    ln1: Ln::of(&b.ln1)?,
                    qkv: Lin::of(&b.attn.qkv)?,
                    out: Lin::of(&b.attn.out)?,
                    ln2: Ln::of(&b.ln2)?,
                    up: Lin::of(&b.ffn.up)?,
                    down: Lin::of(&b.ffn.down)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let pos = match m.positions.table(pos, m.tok_embed.dtype())? {
            Some((table, rows)) => Some((host(&table)?, rows, table)),
            None => None,
        };
        Ok(Weights {
            tok: (host(&m.tok_embed)?, m.tok_embed.clone()),
            pos,
            blocks,
            final_ln: m.final_ln.as_ref().map(Ln::of).transpose()?,
            head: Lin::of(m.head.linear()?)?,
        })
    }
}

/// What one block's forward pass keeps for its backward pass.
pub(super) struct Saved<T> {
    /// The block input.
    pub x: Vec<T>,
    /// The attention input when it is not `x` (LN1(x) in pre-norm and Lee blocks).
    pub a_in: Option<Vec<T>>,
    pub qkv: Vec<T>,
    pub probs: Vec<T>,
    pub ctx: Vec<T>,
    /// The stream after the attention residual (post-norm: LN1's input).
    pub r1: Vec<T>,
    /// The feed-forward input (post-norm: LN1(r1), also the residual; else LN2(r1)).
    pub f_in: Vec<T>,
    /// The up projection before GELU (GELU only).
    pub u_pre: Vec<T>,
    /// The hidden activation (after ReLU or GELU).
    pub u: Vec<T>,
    /// Post-norm: LN2's input `f_in + FFN(f_in)`.
    pub r2: Vec<T>,
}

impl<T> Default for Saved<T> {
    fn default() -> Self {
        let e = Vec::new;
        Saved { x: e(), a_in: None, qkv: e(), probs: e(), ctx: e(), r1: e(), f_in: e(), u_pre: e(), u: e(), r2: e() }
    }
}

/// The forward pass's results: per-block saves, the last block's output, the head's input
/// and the logits `(B·T, vocab_out)`.
pub(super) struct Fwd<T> {
    pub z: AttnDims,
    pub blocks: Vec<Saved<T>>,
    pub top: Vec<T>,
    pub head_in: Vec<T>,
    pub logits: Vec<T>,
}

impl<T> Fwd<T> {
    /// Returns the attention-weight buffers to `probs` for the next step.
    pub fn give_back(self, probs: &mut [Vec<T>]) {
        for (s, p) in self.blocks.into_iter().zip(probs.iter_mut()) {
            *p = s.probs;
        }
    }
}

/// The attention spec of `ctx` (what `SelfAttention::core` builds).
pub(super) fn spec(heads: usize, ctx: &AttnCtx) -> AttnSpec {
    AttnSpec {
        heads,
        causal: ctx.causal,
        key_mask: ctx.key_mask.clone(),
        alibi: ctx.alibi.clone(),
        window: ctx.window.clone(),
    }
}

pub(super) fn ln<T: Fl>(l: &Ln<T>, x: &[T]) -> Vec<T> {
    let mut y = zeros(x.len());
    ln_fwd(x, &l.g, &l.b, &mut y, LN_EPS);
    y
}

pub(super) fn lin<T: Fl>(l: &Lin<T>, x: &[T], relu: bool) -> Result<Vec<T>> {
    let n = x.len() / l.inp.max(1);
    let mut y = Vec::with_capacity(n * l.out);
    linear_fwd(x, &l.w, &l.b, (n, l.inp, l.out), relu, &mut y)?;
    Ok(y)
}

fn add<T: Fl>(a: &[T], b: &[T]) -> Vec<T> {
    a.par_iter().with_min_len(1 << 13).zip(b).map(|(&a, &b)| a + b).collect()
}

/// Token embeddings (×scale) plus the position rows, as the `embed` op computes them.
fn embed<T: Fl>(m: &Transformer, w: &Weights<T>, ids: &[u32]) -> Result<Vec<T>> {
    let d = m.cfg.d_model;
    let scale = T::from_f64(if m.cfg.embed_scale { (d as f64).sqrt() } else { 1.0 });
    let tok = &w.tok.0;
    let mut x = vec![T::zero(); ids.len() * d];
    for (i, row) in x.chunks_exact_mut(d).enumerate() {
        let id = ids[i] as usize;
        if id >= m.vocab_in {
            bail!("embed: token id {id} is outside the {} input tokens", m.vocab_in)
        }
        for (o, &e) in row.iter_mut().zip(&tok[id * d..(id + 1) * d]) {
            *o = e * scale;
        }
        if let Some((pos, rows, _)) = &w.pos {
            let p = rows[i] as usize;
            for (o, &e) in row.iter_mut().zip(&pos[p * d..(p + 1) * d]) {
                *o += e;
            }
        }
    }
    Ok(x)
}

/// The whole forward pass on a `(b, t)` batch of token `ids`; each block's attention weights
/// go into the buffer `probs` lends it (and come back with [`Fwd::give_back`]).
pub(super) fn run<T: Fl>(
    m: &Transformer,
    w: &Weights<T>,
    ctx: &AttnCtx,
    (b, t): (usize, usize),
    ids: &[u32],
    probs: &mut Vec<Vec<T>>,
) -> Result<Fwd<T>> {
    let spec = spec(m.cfg.heads, ctx);
    let z = AttnDims::new(&[b, t, 3 * m.cfg.d_model], m.cfg.heads)?;
    let mut x = embed(m, w, ids)?;
    let mut blocks = Vec::with_capacity(w.blocks.len());
    probs.resize_with(w.blocks.len(), Vec::new);
    for (bw, p) in w.blocks.iter().zip(probs.iter_mut()) {
        let (next, saved) = block(m, bw, &spec, z, x, std::mem::take(p))?;
        blocks.push(saved);
        x = next;
    }
    let head_in = match &w.final_ln {
        Some(l) => ln(l, &x),
        None => x.clone(),
    };
    let logits = lin(&w.head, &head_in, false)?;
    Ok(Fwd { z, blocks, top: x, head_in, logits })
}

/// One block: returns its output and what its backward pass needs.
fn block<T: Fl>(
    m: &Transformer,
    w: &BlockW<T>,
    spec: &AttnSpec,
    z: AttnDims,
    x: Vec<T>,
    probs: Vec<T>,
) -> Result<(Vec<T>, Saved<T>)> {
    let mut s = Saved::<T>::default();
    let scale = 1.0 / (z.dh as f64).sqrt();
    let a_in = match m.cfg.norm {
        Norm::Post => None,
        Norm::Pre | Norm::Lee => Some(ln(&w.ln1, &x)),
    };
    let attn_x = a_in.as_deref().unwrap_or(&x);
    s.qkv = lin(&w.qkv, attn_x, false)?;
    s.probs = probs;
    s.ctx = attn_fwd_into(spec, scale, z, &s.qkv, None, Some(&mut s.probs))?;
    let a = lin(&w.out, &s.ctx, false)?;
    s.r1 = match m.cfg.norm {
        Norm::Lee => add(attn_x, &a),
        Norm::Pre | Norm::Post => add(&x, &a),
    };
    s.f_in = match m.cfg.norm {
        Norm::Post => ln(&w.ln1, &s.r1),
        Norm::Pre | Norm::Lee => ln(&w.ln2, &s.r1),
    };
    let f = ffn(m, w, &mut s)?;
    let out = match m.cfg.norm {
        Norm::Post => {
            s.r2 = add(&s.f_in, &f);
            ln(&w.ln2, &s.r2)
        }
        Norm::Pre | Norm::Lee => add(&s.r1, &f),
    };
    s.x = x;
    s.a_in = a_in;
    Ok((out, s))
}

/// The feed-forward sublayer; keeps its hidden activation (and GELU's input) in `s`.
fn ffn<T: Fl>(m: &Transformer, w: &BlockW<T>, s: &mut Saved<T>) -> Result<Vec<T>> {
    let x = &s.f_in;
    match m.cfg.activation {
        FfnActivation::Relu => s.u = lin(&w.up, x, true)?,
        FfnActivation::Gelu => {
            s.u_pre = lin(&w.up, x, false)?;
            s.u = s.u_pre.iter().map(|&v| T::from_f64(gelu_f64(v.to_f64()))).collect();
        }
    }
    lin(&w.down, &s.u, false)
}
