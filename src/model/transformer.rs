//! The transformer (Vaswani et al. 2017): token embedding (optionally ×√d) + positions,
//! `layers` blocks of self-attention and feed-forward with residuals and LayerNorm
//! (post-norm: `x = LN(x + f(x))`; pre-norm: `x = x + f(LN(x))`; Lee et al. 2024's block:
//! `x = LN(x); x = x + Attn(x); x = x + FFN(LN(x))`), an optional final LN (by default after
//! pre-norm and Lee blocks), and a linear head (with or without bias) to `vocab_out` logits at
//! every position, or with `head = pointer` a pointer head whose logits at every position are
//! over the row's input positions ([`super::pointer`]). Encoder = bidirectional attention,
//! decoder = causal attention.
//!
//! Dropout (rate `cfg.dropout`, only when a dropout RNG is passed) is applied to the embedding
//! sum and to each sublayer output before its residual add, as in Vaswani et al. §5.4;
//! attention weights are not dropped.

use super::layers::{AttnCtx, FeedForward, LayerNorm, Linear, SelfAttention};
use super::ops::{self, Kernels};
use super::params::Params;
use super::pointer::{self, Pointer};
use super::positions::{Ids, Positions};
use crate::ir::model::{Head, ModelKind, Norm, TransformerCfg};
use candle_core::{bail, DType, Result, Tensor};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// One block: attention and feed-forward sublayers with their LayerNorms.
#[derive(Clone, Debug)]
pub struct Block {
    pub ln1: LayerNorm,
    pub attn: SelfAttention,
    pub ln2: LayerNorm,
    pub ffn: FeedForward,
}

/// A loaded transformer. Holds the parameters' tensors (or detached copies, see
/// [`Transformer::detached`]).
#[derive(Clone, Debug)]
pub struct Transformer {
    pub cfg: TransformerCfg,
    pub vocab_in: usize,
    pub vocab_out: usize,
    pub tok_embed: Tensor,
    pub positions: Positions,
    pub blocks: Vec<Block>,
    pub final_ln: Option<LayerNorm>,
    pub head: OutputHead,
    pub kernels: Kernels,
    /// The input id of the task's query token, which a pointer head never points at.
    pub query: Option<u32>,
}

/// The last layer of a transformer (`head = vocab | pointer`).
#[derive(Clone, Debug)]
pub enum OutputHead {
    /// A linear map to `vocab_out` logits.
    Vocab(Linear),
    /// Attention over the input positions ([`super::pointer`]).
    Pointer(Pointer),
}

impl OutputHead {
    /// The linear head, or an error for a pointer head (which the graph-free step and cached
    /// decoding do not run).
    pub fn linear(&self) -> Result<&Linear> {
        match self {
            OutputHead::Vocab(l) => Ok(l),
            OutputHead::Pointer(_) => bail!("a pointer head has no output vocabulary"),
        }
    }

    fn detached(&self) -> Self {
        match self {
            OutputHead::Vocab(l) => OutputHead::Vocab(l.detached()),
            OutputHead::Pointer(p) => OutputHead::Pointer(p.detached()),
        }
    }
}

fn validate(cfg: &TransformerCfg, vocab_in: usize, vocab_out: usize) -> Result<()> {
    let (d, h) = (cfg.d_model, cfg.heads);
    if d == 0 || h == 0 || d % h != 0 {
        bail!("transformer: d_model = {d} must be a positive multiple of heads = {h}")
    }
    if cfg.ffn == 0 {
        bail!("transformer: ffn must be positive")
    }
    if !(0.0..1.0).contains(&cfg.dropout) {
        bail!("transformer: dropout = {} must be in [0, 1)", cfg.dropout)
    }
    if vocab_in == 0 || (vocab_out == 0 && cfg.head == Head::Vocab) {
        bail!("transformer: empty vocabulary (in {vocab_in}, out {vocab_out})")
    }
    Ok(())
}

impl Transformer {
    /// Creates the parameters in `params` (names in [`Params::list`] order:
    /// `tok_embed`, `pos_embed` (learned, coupled) or `rel_bias` (t5),
    /// `layers.{i}.{ln1, attn.qkv, attn.out, attn.rel (relative), ln2, ffn.up, ffn.down}`,
    /// `final_ln` (when [`TransformerCfg::has_final_norm`]), `head` (`head.bias` unless
    /// `head_bias = false`), or with `head = pointer` `pointer.{w1, w2, v}` instead).
    pub fn load(params: &mut Params, cfg: &TransformerCfg, vocab_in: usize, vocab_out: usize) -> Result<Self> {
        validate(cfg, vocab_in, vocab_out)?;
        let d = cfg.d_model;
        let tok_embed = match cfg.embed_init {
            Some(std) => params.truncated_normal("tok_embed.weight", &[vocab_in, d], std)?,
            None => params.embedding("tok_embed", vocab_in, d)?,
        };
        let positions = Positions::load(params, cfg)?;
        let relative = positions.relative();
        let mut blocks = Vec::with_capacity(cfg.layers);
        for i in 0..cfg.layers {
            let p = format!("layers.{i}");
            blocks.push(Block {
                ln1: LayerNorm::load(params, &format!("{p}.ln1"), d, cfg.norm_type)?,
                attn: SelfAttention::load_with(
                    params,
                    &format!("{p}.attn"),
                    d,
                    cfg.heads,
                    (cfg.attn_bias_init, cfg.attn_weight_init),
                    relative,
                )?,
                ln2: LayerNorm::load(params, &format!("{p}.ln2"), d, cfg.norm_type)?,
                ffn: FeedForward::load(params, &format!("{p}.ffn"), d, cfg.ffn)?.with_activation(cfg.activation),
            });
        }
        let final_ln = match cfg.has_final_norm() {
            true => Some(LayerNorm::load(params, "final_ln", d, cfg.norm_type)?),
            false => None,
        };
        let head = match (cfg.head, cfg.head_bias) {
            (Head::Pointer, _) => OutputHead::Pointer(Pointer::load(params, "pointer", d)?),
            (Head::Vocab, true) => OutputHead::Vocab(Linear::load(params, "head", vocab_out, d)?),
            (Head::Vocab, false) => OutputHead::Vocab(Linear::load_no_bias(params, "head", vocab_out, d)?),
        };
        let cfg = cfg.clone();
        Ok(Transformer {
            cfg,
            vocab_in,
            vocab_out,
            tok_embed,
            positions,
            blocks,
            final_ln,
            head,
            kernels: Kernels::Fused,
            query: None,
        })
    }

    /// The same model told the task's query token (a pointer head masks its positions out).
    pub fn with_query(mut self, query: Option<u32>) -> Self {
        self.query = query;
        self
    }

    /// The same model running `kernels`.
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// `tokens (B, T) u32` → logits `(B, T, vocab_out)` (a pointer head: `(B, T, T)`, over
    /// the row's positions); `pad (B, T)`: 1 = real, 0 = padding
    /// (padded keys are hidden from every query); dropout only when `dropout_rng` is given;
    /// explicit position ids (`B·T`, row-major; default `0..T`, or a randomized draw for
    /// `randomized(..)` schemes, see [`Positions::ids`]). [`crate::model::Net::forward`]
    /// is the entry point without position ids.
    pub fn forward_at(
        &self,
        tokens: &Tensor,
        pad: Option<&Tensor>,
        positions: Option<&[u32]>,
        dropout_rng: Option<&mut ChaCha8Rng>,
    ) -> Result<Tensor> {
        let (b, t, ids) = token_ids(tokens)?;
        let key_mask = pad.map(|p| key_mask(p, b, t)).transpose()?;
        let pos = self.positions.ids(positions, key_mask.as_deref().map(Vec::as_slice), b, t)?;
        let mut rng = dropout_rng;
        let p = self.cfg.dropout;
        let k = self.kernels;
        let x = self.embed(&ids, &pos)?; // (B, T, d)
        let mut x = ops::dropout(&x, p, rng.as_deref_mut())?;
        let ctx = self.attn_ctx(key_mask.clone(), &pos)?;
        let per_layer = positions.is_none() && self.positions.per_layer();
        for (i, blk) in self.blocks.iter().enumerate() {
            let fresh; // randomized(.., per_layer = true): layers after the first draw anew
            let ctx = if per_layer && i > 0 {
                let mask = key_mask.as_deref().map(Vec::as_slice);
                fresh = self.attn_ctx(key_mask.clone(), &self.positions.ids(None, mask, b, t)?)?;
                &fresh
            } else {
                &ctx
            };
            x = match self.cfg.norm {
                Norm::Pre => {
                    let a = blk.attn.forward(&blk.ln1.forward(&x, k)?, ctx)?;
                    let x = (x + ops::dropout(&a, p, rng.as_deref_mut())?)?;
                    let f = blk.ffn.forward(&blk.ln2.forward(&x, k)?, k)?;
                    (x + ops::dropout(&f, p, rng.as_deref_mut())?)?
                }
                Norm::Post => {
                    let a = blk.attn.forward(&x, ctx)?;
                    let x = blk.ln1.forward(&(x + ops::dropout(&a, p, rng.as_deref_mut())?)?, k)?;
                    let f = blk.ffn.forward(&x, k)?;
                    blk.ln2.forward(&(x + ops::dropout(&f, p, rng.as_deref_mut())?)?, k)?
                }
                Norm::Lee => {
                    let x = blk.ln1.forward(&x, k)?; // the normed stream is the residual
                    let a = blk.attn.forward(&x, ctx)?;
                    let x = (x + ops::dropout(&a, p, rng.as_deref_mut())?)?;
                    let f = blk.ffn.forward(&blk.ln2.forward(&x, k)?, k)?;
                    (x + ops::dropout(&f, p, rng.as_deref_mut())?)?
                }
            }; // (B, T, d)
        }
        if let Some(ln) = &self.final_ln {
            x = ln.forward(&x, k)?;
        }
        match &self.head {
            OutputHead::Vocab(head) => head.forward(&x, k), // (B, T, vocab_out)
            OutputHead::Pointer(ptr) => {
                let cand = pointer::candidates(&ids, key_mask.as_deref().map(Vec::as_slice), self.query);
                ptr.forward(&x, &cand, k) // (B, T, T)
            }
        }
    }

    /// What every attention layer of this model is told for one forward pass at position ids
    /// `pos`: causality, padding, and the position scheme's in-attention terms. Shared by
    /// [`Self::forward_at`] and cached decoding (`model::decode`), so both attend alike.
    pub fn attn_ctx(&self, key_mask: Option<Arc<Vec<f32>>>, pos: &Ids) -> Result<AttnCtx> {
        let causal = self.cfg.kind == ModelKind::Decoder;
        let mut ctx = AttnCtx { causal, key_mask, kernels: self.kernels, ..AttnCtx::default() };
        self.positions.attend(&mut ctx, pos, self.tok_embed.dtype())?;
        Ok(ctx)
    }

    /// Token embeddings (×√d when `embed_scale`) plus positions: `(B, T, d)`.
    pub(crate) fn embed(&self, ids: &[u32], pos: &Ids) -> Result<Tensor> {
        let scale = if self.cfg.embed_scale { (self.cfg.d_model as f64).sqrt() } else { 1.0 };
        let bt = (pos.b, pos.t);
        let table = self.positions.table(pos, self.tok_embed.dtype())?;
        let pos = table.as_ref().map(|(tb, rows)| (tb, &rows[..]));
        match self.kernels {
            Kernels::Fused => ops::embed(&self.tok_embed, ids, bt, scale, pos),
            Kernels::Reference => ops::embed_ref(&self.tok_embed, ids, bt, scale, pos),
        }
    }

    /// The copy to evaluate with: [`Self::detached`], and randomized positions drawn from a
    /// stream of its own seeded with `seed` (or none, for `randomized(.., eval = false)`).
    pub fn evaluation(&self, seed: u64) -> Self {
        Transformer { positions: self.positions.evaluation(seed), ..self.detached() }
    }

    /// A copy whose weights are detached tensors sharing the parameters' storage: no autograd
    /// bookkeeping (DESIGN §7), and it sees later in-place optimizer updates (`Var::set`).
    pub fn detached(&self) -> Self {
        let blocks = self
            .blocks
            .iter()
            .map(|b| Block {
                ln1: b.ln1.detached(),
                attn: b.attn.detached(),
                ln2: b.ln2.detached(),
                ffn: b.ffn.detached(),
            })
            .collect();
        Transformer {
            cfg: self.cfg.clone(),
            vocab_in: self.vocab_in,
            vocab_out: self.vocab_out,
            tok_embed: self.tok_embed.detach(),
            positions: self.positions.detached(),
            blocks,
            final_ln: self.final_ln.as_ref().map(LayerNorm::detached),
            head: self.head.detached(),
            kernels: self.kernels,
            query: self.query,
        }
    }
}

/// `(B, T)` u32 tokens → (B, T, row-major ids).
pub(crate) fn token_ids(tokens: &Tensor) -> Result<(usize, usize, Vec<u32>)> {
    if tokens.dtype() != DType::U32 {
        bail!("tokens must be u32, got {:?}", tokens.dtype())
    }
    let (b, t) = match tokens.dims() {
        &[b, t] if b > 0 && t > 0 => (b, t),
        dims => bail!("tokens must be a non-empty (B, T) tensor, got shape {dims:?}"),
    };
    Ok((b, t, tokens.flatten_all()?.to_vec1::<u32>()?))
}

/// `pad (B, T)` (any float/int dtype) → key mask, nonzero = real token.
pub(crate) fn key_mask(pad: &Tensor, b: usize, t: usize) -> Result<Arc<Vec<f32>>> {
    if pad.dims() != [b, t] {
        bail!("pad mask {:?} must match tokens ({b}, {t})", pad.dims())
    }
    let v = pad.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    Ok(Arc::new(v.into_iter().map(|m| if m != 0.0 { 1.0 } else { 0.0 }).collect()))
}
