//! Greedy decoding of the encoder–decoder transformer ([`super::seq2seq`]) with caches: the
//! encoder runs once, every decoder layer's cross-attention keys and values are computed once
//! from its output ([`super::seq2seq::Memory`]), and every decoder layer keeps the keys and
//! values of its self-attention in a [`KvLayer`], so step m projects one token and attends over
//! m cached keys and the source. Position ids are the steps `0, 1, …` (RoPE rotates q and k
//! once; ALiBi is computed in the cached kernel by cache slot; sinusoidal and learned rows are
//! read per step), as in the teacher-forced pass, so both compute the same logits.

use super::decode::attend;
use super::ops::KvLayer;
use super::positions::Ids;
use super::seq2seq::{argmax_rows, Seq2seq};
use candle_core::{bail, Result, Tensor};

/// What [`greedy`] returns: the generated tokens per row, and the logits `(B, vocab_out)` of
/// every step (the test of cached against recomputed decoding reads them).
pub struct Decoded {
    pub tokens: Vec<Vec<u32>>,
    pub logits: Vec<Tensor>,
}

impl Decoded {
    /// The empty result of decoding `steps` tokens for every row of `source`, and whether
    /// there is anything to decode (rows and steps); then `source` must be `(B, S)`. Shared by
    /// both encoder–decoders' greedy decoding.
    pub(crate) fn begin(source: &Tensor, steps: usize) -> Result<(Decoded, bool)> {
        let b = source.dim(0)?;
        let out = Decoded { tokens: vec![Vec::with_capacity(steps); b], logits: Vec::with_capacity(steps) };
        if b == 0 || steps == 0 {
            return Ok((out, false));
        }
        if source.rank() != 2 {
            bail!("decode: the source must be (B, S), got {:?}", source.dims())
        }
        Ok((out, true))
    }
}

/// Decodes `steps` tokens greedily (argmax over the whole vocabulary) for every row of
/// `source (B, S)` (`source_pad`: 1 = real), starting from `start` (the format's `<sep>`).
/// `m` should be detached ([`Seq2seq::detached`]).
pub fn greedy(m: &Seq2seq, source: &Tensor, source_pad: Option<&Tensor>, start: u32, steps: usize) -> Result<Decoded> {
    let (mut out, any) = Decoded::begin(source, steps)?;
    if !any {
        return Ok(out);
    }
    let b = source.dim(0)?;
    let (mem, bias) = m.encode(source, source_pad, None)?;
    let dtype = m.tok_embed.dtype();
    let mut caches =
        (0..m.decoder.len()).map(|_| KvLayer::new(b, steps, m.cfg.d_model, dtype)).collect::<Result<Vec<_>>>()?;
    let mut tokens = vec![start; b];
    for step in 0..steps {
        let pos = Ids::repeated(&[step as u32], b)?;
        let mut x = m.embed(&m.dec_pos, &tokens, &pos)?; // (B, 1, d)
        let mut ctx = m.ctx(&m.dec_pos, true, None, &pos)?;
        if let Some(a) = ctx.alibi.as_mut() {
            a.positions = None; // the cached kernel reads ALiBi positions by cache slot
        }
        for ((blk, cache), mem) in m.decoder.iter().zip(caches.iter_mut()).zip(&mem) {
            let attn = |a: &super::layers::SelfAttention, x: &Tensor| attend(a, x, cache, &ctx);
            x = blk.forward(x, m.cfg.norm, attn, mem, bias.as_ref(), m.kernels, |y| Ok(y.clone()))?;
        }
        let logits = m.logits(&x)?.squeeze(1)?; // (B, V)
        tokens = argmax_rows(&logits)?;
        for (o, &t) in out.tokens.iter_mut().zip(&tokens) {
            o.push(t);
        }
        out.logits.push(logits);
    }
    Ok(out)
}
