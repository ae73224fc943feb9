//! Greedy decoding with a key/value cache for decoder transformers: the evaluation path of
//! `lm` models, without autograd bookkeeping (DESIGN §7).
//!
//! [`greedy`] feeds the prompts once, then one token per step; every layer keeps the keys and
//! values of all tokens seen so far ([`KvLayer`]), so step m costs one token's projections and
//! attention over m cached keys instead of a forward pass over the whole prefix.
//!
//! Positions: each new token gets its absolute position id (its index, or its entry in a
//! randomized draw made once for the whole sequence, see [`crate::model::Net::draw_positions`]),
//! so RoPE rotates its q and k once and the cached keys stay valid; ALiBi and Hard-ALiBi are
//! computed in the cached kernel; coupled ids come from the task format ([`greedy_at`]).
//! Schemes whose earlier ids change with the length (reversed sinusoidal) or that need a
//! score-bias tensor (relative, t5) report [`cacheable`] = false; callers then re-run the
//! full forward.

use super::layers::{AttnCtx, SelfAttention};
use super::ops::{self, AttnSpec, KvLayer};
use super::positions::Ids;
use super::transformer::Transformer;
use crate::ir::model::{ModelKind, Norm};
use candle_core::{bail, Result, Tensor};
use std::sync::Arc;

/// Whether [`greedy`] can decode `t` with a cache (a decoder whose position scheme allows it).
pub fn cacheable(t: &Transformer) -> bool {
    t.cfg.kind == ModelKind::Decoder && t.positions.cacheable()
}

/// Greedy continuation of `prompts` (all of one length) by `steps` tokens each (the argmax
/// over the whole vocabulary at every step). Returns the `steps` new tokens of every row. `t`
/// should be detached ([`Transformer::detached`] or [`Transformer::evaluation`]). A randomized
/// model draws the positions of all `prompt + steps` tokens once, here.
pub fn greedy(t: &Transformer, prompts: &[Vec<u32>], steps: usize) -> Result<Vec<Vec<u32>>> {
    greedy_at(t, prompts, steps, None)
}

/// [`greedy`] with explicit position ids: `ids[r]` gives the id of every token row `r` will
/// feed — its prompt, then the `steps − 1` generated tokens that are fed back — so generated
/// tokens continue the format's rule (coupled ids, Cho et al. 2024). `None`: `0..` as [`greedy`].
pub fn greedy_at(
    t: &Transformer,
    prompts: &[Vec<u32>],
    steps: usize,
    ids: Option<&[Vec<u32>]>,
) -> Result<Vec<Vec<u32>>> {
    let b = prompts.len();
    let t0 = prompts.first().map_or(0, Vec::len);
    if b == 0 || steps == 0 {
        return Ok(vec![vec![]; b]);
    }
    if t0 == 0 || prompts.iter().any(|p| p.len() != t0) {
        bail!("decode: prompts must be non-empty and of one length")
    }
    if !cacheable(t) {
        bail!("decode: this model cannot decode with a key/value cache")
    }
    let fed = t0 + steps - 1;
    if let Some(ids) = ids {
        if ids.len() != b || ids.iter().any(|r| r.len() < fed) {
            bail!("decode: position ids must cover the {fed} tokens fed in each of the {b} rows")
        }
    }
    // The ids of the tokens at sequence positions `from..from + n` of every row.
    let pos = |from: usize, n: usize| -> Vec<u32> {
        match ids {
            Some(ids) => ids.iter().flat_map(|r| r[from..from + n].iter().copied()).collect(),
            None => (0..b).flat_map(|_| from as u32..(from + n) as u32).collect(),
        }
    };
    let dtype = t.tok_embed.dtype();
    let mut caches =
        (0..t.blocks.len()).map(|_| KvLayer::new(b, t0 + steps, t.cfg.d_model, dtype)).collect::<Result<Vec<_>>>()?;
    let mut out = vec![Vec::with_capacity(steps); b];
    let drawn = t.positions.draw(t0 + steps)?;
    let mut tokens: Vec<u32> = prompts.iter().flatten().copied().collect();
    let mut n = t0;
    let mut from = 0; // tokens fed so far per row
    for _ in 0..steps {
        let explicit = ids.map(|_| pos(from, n));
        let next = step(t, &tokens, (b, n), &mut caches, drawn.as_deref(), explicit)?;
        from += n;
        for (o, &tok) in out.iter_mut().zip(&next) {
            o.push(tok);
        }
        (tokens, n) = (next, 1);
    }
    Ok(out)
}

/// Feeds `tokens (B, n)` at the positions after the cached ones: the explicit ids
/// (`B·n`, e.g. a format's coupled ids) when given, else the cache slots or their entries of
/// `drawn`; returns the argmax token of the last position of every row.
fn step(
    t: &Transformer,
    tokens: &[u32],
    (b, n): (usize, usize),
    caches: &mut [KvLayer],
    drawn: Option<&[u32]>,
    explicit: Option<Vec<u32>>,
) -> Result<Vec<u32>> {
    let start = caches.first().map_or(0, KvLayer::len);
    let pos = match explicit {
        Some(e) => Ids::new(e, b, n)?,
        None => {
            let row: Vec<u32> = match drawn {
                Some(d) => d[start..start + n].to_vec(),
                None => (start as u32..(start + n) as u32).collect(),
            };
            Ids::repeated(&row, b)?
        }
    };
    let mut x = t.embed(tokens, &pos)?; // (B, n, d)
    let mut ctx = t.attn_ctx(None, &pos)?;
    if let Some(a) = ctx.alibi.as_mut() {
        // The cached kernel indexes ALiBi positions by cache slot: the whole draw, or the slots.
        a.positions = drawn.map(|d| Arc::new(d.to_vec()));
    }
    let k = t.kernels;
    for (blk, cache) in t.blocks.iter().zip(caches.iter_mut()) {
        x = match t.cfg.norm {
            Norm::Pre => {
                let x = (&x + attend(&blk.attn, &blk.ln1.forward(&x, k)?, cache, &ctx)?)?;
                (&x + blk.ffn.forward(&blk.ln2.forward(&x, k)?, k)?)?
            }
            Norm::Post => {
                let x = blk.ln1.forward(&(&x + attend(&blk.attn, &x, cache, &ctx)?)?, k)?;
                blk.ln2.forward(&(&x + blk.ffn.forward(&x, k)?)?, k)?
            }
            Norm::Lee => {
                let x = blk.ln1.forward(&x, k)?;
                let x = (&x + attend(&blk.attn, &x, cache, &ctx)?)?;
                (&x + blk.ffn.forward(&blk.ln2.forward(&x, k)?, k)?)?
            }
        };
    }
    let mut last = x.narrow(1, n - 1, 1)?; // (B, 1, d)
    if let Some(ln) = &t.final_ln {
        last = ln.forward(&last, k)?;
    }
    let logits = t.head.linear()?.forward(&last, k)?; // (B, 1, V)
    logits.argmax(candle_core::D::Minus1)?.flatten_all()?.to_vec1::<u32>()
}

/// Self-attention of the new tokens `x (B, n, d)` over the cache (their q and k rotated first
/// when the scheme is RoPE). Also the seq2seq decoder's ([`super::decode_s2s`]).
pub(crate) fn attend(a: &SelfAttention, x: &Tensor, cache: &mut KvLayer, ctx: &AttnCtx) -> Result<Tensor> {
    let mut qkv = a.qkv.forward(x, ctx.kernels)?; // (B, n, 3d)
    if let Some(f) = &ctx.qkv_transform {
        qkv = f(&qkv)?;
    }
    let spec =
        AttnSpec { heads: a.heads, causal: true, key_mask: None, alibi: ctx.alibi.clone(), window: ctx.window.clone() };
    let c = ops::attention_cached(&qkv, cache, &spec)?;
    a.out.forward(&c, ctx.kernels)
}
