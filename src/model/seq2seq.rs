//! The encoder–decoder transformer (Vaswani et al. 2017), `transformer { kind = seq2seq,
//! encoder_layers = N, decoder_layers = M }`, for the `seq2seq` format.
//!
//! - One token embedding (the format's shared vocabulary) read by both sides, each with its own
//!   position scheme instance: the encoder's is bidirectional (ALiBi's symmetric variant), the
//!   decoder's causal; a learned table is one per side (`encoder.pos_embed`, `decoder.pos_embed`).
//! - Encoder: `N` blocks of [`Block`] (non-causal self-attention, source padding hidden), and a
//!   final norm when the placement has one ([`crate::ir::TransformerCfg::has_final_norm`]).
//! - Decoder: `M` [`DecBlock`]s — causal self-attention, cross-attention to the encoder output
//!   (no positions; source padding hidden), feed-forward — each sublayer with the transformer's
//!   norm placement (pre, post or Lee), then the final norm and the head.
//!
//! Cross-attention ([`super::cross_attention`]) is built from the project's own ops (fused
//! linear, [`ops::softmax_last_dim`] with its backward, candle matmuls), never candle-nn's.
//! Padding enters as an additive score bias of [`MASKED`] on hidden keys, whose softmax weight
//! is exactly 0 in f32 and f64.
//! Training is teacher-forced ([`Seq2seq::forward`]); evaluation decodes greedily with key/value
//! caches ([`super::decode_s2s`]). The graph-free step does not cover this model.

pub use super::cross_attention::{CrossAttention, Memory, MASKED};
use super::layers::{AttnCtx, FeedForward, LayerNorm, Linear, SelfAttention};
use super::ops::{self, Kernels};
use super::params::Params;
use super::positions::{Ids, Positions};
use super::transformer::{key_mask, token_ids, Block};
use crate::ir::model::{AttnBiasInit, ModelKind, Norm, TransformerCfg};
use crate::ir::CrossAttn;
use candle_core::{bail, Result, Tensor, D};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// A decoder block: causal self-attention, cross-attention, feed-forward, with their norms.
#[derive(Clone, Debug)]
pub struct DecBlock {
    pub ln1: LayerNorm,
    pub attn: SelfAttention,
    pub ln_cross: LayerNorm,
    pub cross: CrossAttention,
    pub ln2: LayerNorm,
    pub ffn: FeedForward,
}

impl DecBlock {
    /// One block on `x (B, T, d)` under `norm`: `attn` is the self-attention (full or cached),
    /// `drop` the dropout of each sublayer's output.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        x: Tensor,
        norm: Norm,
        mut attn: impl FnMut(&SelfAttention, &Tensor) -> Result<Tensor>,
        mem: &Memory,
        bias: Option<&Tensor>,
        k: Kernels,
        mut drop: impl FnMut(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let cross = |x: &Tensor| self.cross.forward(x, mem, bias, k);
        Ok(match norm {
            Norm::Pre => {
                let x = (&x + drop(&attn(&self.attn, &self.ln1.forward(&x, k)?)?)?)?;
                let x = (&x + drop(&cross(&self.ln_cross.forward(&x, k)?)?)?)?;
                (&x + drop(&self.ffn.forward(&self.ln2.forward(&x, k)?, k)?)?)?
            }
            Norm::Post => {
                let x = self.ln1.forward(&(&x + drop(&attn(&self.attn, &x)?)?)?, k)?;
                let x = self.ln_cross.forward(&(&x + drop(&cross(&x)?)?)?, k)?;
                self.ln2.forward(&(&x + drop(&self.ffn.forward(&x, k)?)?)?, k)?
            }
            Norm::Lee => {
                let x = self.ln1.forward(&x, k)?;
                let x = (&x + drop(&attn(&self.attn, &x)?)?)?;
                let x = (&x + drop(&cross(&self.ln_cross.forward(&x, k)?)?)?)?;
                (&x + drop(&self.ffn.forward(&self.ln2.forward(&x, k)?, k)?)?)?
            }
        })
    }

    fn detached(&self) -> Self {
        DecBlock {
            ln1: self.ln1.detached(),
            attn: self.attn.detached(),
            ln_cross: self.ln_cross.detached(),
            cross: self.cross.detached(),
            ln2: self.ln2.detached(),
            ffn: self.ffn.detached(),
        }
    }
}

/// A loaded encoder–decoder transformer (see the module docs).
#[derive(Clone, Debug)]
pub struct Seq2seq {
    pub cfg: TransformerCfg,
    pub vocab_in: usize,
    pub vocab_out: usize,
    pub tok_embed: Tensor,
    pub enc_pos: Positions,
    pub dec_pos: Positions,
    pub encoder: Vec<Block>,
    pub enc_ln: Option<LayerNorm>,
    pub decoder: Vec<DecBlock>,
    pub final_ln: Option<LayerNorm>,
    pub head: Linear,
    pub kernels: Kernels,
}

/// `encoder_layers` and `decoder_layers` of a seq2seq configuration.
pub fn depths(cfg: &TransformerCfg) -> Option<(usize, usize)> {
    match cfg.kind {
        ModelKind::Seq2seq { encoder_layers, decoder_layers, .. } => Some((encoder_layers, decoder_layers)),
        ModelKind::Encoder | ModelKind::Decoder => None,
    }
}

/// The `cross_attention` of a seq2seq configuration (`standard` for any other kind).
pub fn cross_kind(cfg: &TransformerCfg) -> CrossAttn {
    match cfg.kind {
        ModelKind::Seq2seq { cross_attention, .. } => cross_attention,
        ModelKind::Encoder | ModelKind::Decoder => CrossAttn::Standard,
    }
}

impl Seq2seq {
    /// Creates the parameters, in order: `tok_embed`, `encoder.{pos_embed, layers.{i}.{ln1,
    /// attn, ln2, ffn}, final_ln}`, `decoder.{pos_embed, layers.{i}.{ln1, attn, ln_cross,
    /// cross.{q, kv, out}, ln2, ffn}, final_ln}`, `head` (final norms where the placement has
    /// them; `pos_embed` for learned positions).
    pub fn load(params: &mut Params, cfg: &TransformerCfg, vocab_in: usize, vocab_out: usize) -> Result<Self> {
        let Some((ne, nd)) = depths(cfg) else { bail!("seq2seq: the configuration is not `kind = seq2seq`") };
        let (d, h) = (cfg.d_model, cfg.heads);
        if d == 0 || h == 0 || d % h != 0 || cfg.ffn == 0 || ne == 0 || nd == 0 || vocab_in == 0 || vocab_out == 0 {
            bail!("seq2seq: d_model {d}, heads {h}, ffn {}, layers {ne}/{nd} and vocabularies must fit", cfg.ffn)
        }
        let tok_embed = match cfg.embed_init {
            Some(std) => params.truncated_normal("tok_embed.weight", &[vocab_in, d], std)?,
            None => params.embedding("tok_embed", vocab_in, d)?,
        };
        let side = |kind| TransformerCfg { kind, ..cfg.clone() };
        let init = (cfg.attn_bias_init, cfg.attn_weight_init);
        let cross = cross_kind(cfg);
        let norm = |params: &mut Params, name: &str| LayerNorm::load(params, name, d, cfg.norm_type);
        let ffn = |params: &mut Params, name: &str| -> Result<FeedForward> {
            Ok(FeedForward::load(params, name, d, cfg.ffn)?.with_activation(cfg.activation))
        };
        let (enc_pos, encoder, enc_ln) = params.scoped("encoder.", |p| -> Result<_> {
            let pos = Positions::load(p, &side(ModelKind::Encoder))?;
            let mut blocks = Vec::with_capacity(ne);
            for i in 0..ne {
                let n = format!("layers.{i}");
                blocks.push(Block {
                    ln1: norm(p, &format!("{n}.ln1"))?,
                    attn: SelfAttention::load_with(p, &format!("{n}.attn"), d, h, init, false)?,
                    ln2: norm(p, &format!("{n}.ln2"))?,
                    ffn: ffn(p, &format!("{n}.ffn"))?,
                });
            }
            let ln = cfg.has_final_norm().then(|| norm(p, "final_ln")).transpose()?;
            Ok((pos, blocks, ln))
        })?;
        let (dec_pos, decoder, final_ln) = params.scoped("decoder.", |p| -> Result<_> {
            let pos = Positions::load(p, &side(ModelKind::Decoder))?;
            let mut blocks = Vec::with_capacity(nd);
            for i in 0..nd {
                let n = format!("layers.{i}");
                blocks.push(DecBlock {
                    ln1: norm(p, &format!("{n}.ln1"))?,
                    attn: SelfAttention::load_with(p, &format!("{n}.attn"), d, h, init, false)?,
                    ln_cross: norm(p, &format!("{n}.ln_cross"))?,
                    cross: CrossAttention::load(p, &format!("{n}.cross"), d, h, cfg.attn_bias_init, cross)?,
                    ln2: norm(p, &format!("{n}.ln2"))?,
                    ffn: ffn(p, &format!("{n}.ffn"))?,
                });
            }
            let ln = cfg.has_final_norm().then(|| norm(p, "final_ln")).transpose()?;
            Ok((pos, blocks, ln))
        })?;
        let head = match cfg.head_bias {
            true => Linear::load(params, "head", vocab_out, d)?,
            false => Linear::load_no_bias(params, "head", vocab_out, d)?,
        };
        let cfg = cfg.clone();
        let kernels = Kernels::Fused;
        Ok(Seq2seq {
            cfg,
            vocab_in,
            vocab_out,
            tok_embed,
            enc_pos,
            dec_pos,
            encoder,
            enc_ln,
            decoder,
            final_ln,
            head,
            kernels,
        })
    }

    /// The same model running `kernels`.
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// Teacher-forced logits `(B, T, vocab_out)` of the decoder's `tokens (B, T)` given
    /// `source (B, S)`; `*_pad`: 1 = real, 0 = padding. Dropout only with `dropout_rng`.
    pub fn forward(
        &self,
        source: &Tensor,
        source_pad: Option<&Tensor>,
        tokens: &Tensor,
        pad: Option<&Tensor>,
        dropout_rng: Option<&mut ChaCha8Rng>,
    ) -> Result<Tensor> {
        let mut rng = dropout_rng;
        let (mem, bias) = self.encode(source, source_pad, rng.as_deref_mut())?;
        let (b, t, ids) = token_ids(tokens)?;
        let mask = pad.map(|p| key_mask(p, b, t)).transpose()?;
        let pos = self.dec_pos.ids(None, None, b, t)?;
        let p = self.cfg.dropout;
        let mut x = ops::dropout(&self.embed(&self.dec_pos, &ids, &pos)?, p, rng.as_deref_mut())?;
        let ctx = self.ctx(&self.dec_pos, true, mask, &pos)?;
        for (blk, m) in self.decoder.iter().zip(&mem) {
            let attn = |a: &SelfAttention, x: &Tensor| a.forward(x, &ctx);
            let drop = |y: &Tensor| ops::dropout(y, p, rng.as_deref_mut());
            x = blk.forward(x, self.cfg.norm, attn, m, bias.as_ref(), self.kernels, drop)?;
        }
        self.logits(&x)
    }

    /// The encoder's output over `source (B, S)` as every decoder layer's [`Memory`], and the
    /// cross-attention bias `(B, 1, 1, S)` hiding padded keys (`None` without padding).
    pub fn encode(
        &self,
        source: &Tensor,
        source_pad: Option<&Tensor>,
        rng: Option<&mut ChaCha8Rng>,
    ) -> Result<(Vec<Memory>, Option<Tensor>)> {
        let mut rng = rng;
        let (b, s, ids) = token_ids(source)?;
        let mask = source_pad.map(|p| key_mask(p, b, s)).transpose()?.filter(|m| m.iter().any(|&v| v == 0.0));
        let pos = self.enc_pos.ids(None, None, b, s)?;
        let (p, k) = (self.cfg.dropout, self.kernels);
        let mut x = ops::dropout(&self.embed(&self.enc_pos, &ids, &pos)?, p, rng.as_deref_mut())?;
        let ctx = self.ctx(&self.enc_pos, false, mask.clone(), &pos)?;
        for blk in &self.encoder {
            x = match self.cfg.norm {
                Norm::Pre => {
                    let x = (&x
                        + ops::dropout(&blk.attn.forward(&blk.ln1.forward(&x, k)?, &ctx)?, p, rng.as_deref_mut())?)?;
                    (&x + ops::dropout(&blk.ffn.forward(&blk.ln2.forward(&x, k)?, k)?, p, rng.as_deref_mut())?)?
                }
                Norm::Post => {
                    let x = blk
                        .ln1
                        .forward(&(&x + ops::dropout(&blk.attn.forward(&x, &ctx)?, p, rng.as_deref_mut())?)?, k)?;
                    blk.ln2.forward(&(&x + ops::dropout(&blk.ffn.forward(&x, k)?, p, rng.as_deref_mut())?)?, k)?
                }
                Norm::Lee => {
                    let x = blk.ln1.forward(&x, k)?;
                    let x = (&x + ops::dropout(&blk.attn.forward(&x, &ctx)?, p, rng.as_deref_mut())?)?;
                    (&x + ops::dropout(&blk.ffn.forward(&blk.ln2.forward(&x, k)?, k)?, p, rng.as_deref_mut())?)?
                }
            }; // (B, S, d)
        }
        if let Some(ln) = &self.enc_ln {
            x = ln.forward(&x, k)?;
        }
        let lens = mask.as_ref().map(|m| super::location::prefix_lens(m, s)).transpose()?;
        let mem =
            self.decoder.iter().map(|blk| blk.cross.memory(&x, lens.as_deref(), k)).collect::<Result<Vec<_>>>()?;
        let bias = match mask {
            Some(m) => {
                let v: Vec<f64> = m.iter().map(|&r| if r > 0.0 { 0.0 } else { MASKED }).collect();
                Some(Tensor::from_vec(v, (b, 1, 1, s), x.device())?.to_dtype(x.dtype())?)
            }
            None => None,
        };
        Ok((mem, bias))
    }

    /// Final norm and head on the decoder's stream `(B, T, d)` → `(B, T, vocab_out)`.
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        let x = match &self.final_ln {
            Some(ln) => ln.forward(x, self.kernels)?,
            None => x.clone(),
        };
        self.head.forward(&x, self.kernels)
    }

    /// Token embeddings (×√d when `embed_scale`) plus the side's positions: `(B, T, d)`.
    pub(crate) fn embed(&self, side: &Positions, ids: &[u32], pos: &Ids) -> Result<Tensor> {
        let scale = if self.cfg.embed_scale { (self.cfg.d_model as f64).sqrt() } else { 1.0 };
        let table = side.table(pos, self.tok_embed.dtype())?;
        let at = table.as_ref().map(|(tb, rows)| (tb, &rows[..]));
        match self.kernels {
            Kernels::Fused => ops::embed(&self.tok_embed, ids, (pos.b, pos.t), scale, at),
            Kernels::Reference => ops::embed_ref(&self.tok_embed, ids, (pos.b, pos.t), scale, at),
        }
    }

    /// The self-attention context of one side at `pos`.
    pub(crate) fn ctx(
        &self,
        side: &Positions,
        causal: bool,
        mask: Option<Arc<Vec<f32>>>,
        pos: &Ids,
    ) -> Result<AttnCtx> {
        let mut ctx = AttnCtx { causal, key_mask: mask, kernels: self.kernels, ..AttnCtx::default() };
        side.attend(&mut ctx, pos, self.tok_embed.dtype())?;
        Ok(ctx)
    }

    /// A copy with detached weights (sharing storage), for evaluation.
    pub fn detached(&self) -> Self {
        Seq2seq {
            cfg: self.cfg.clone(),
            tok_embed: self.tok_embed.detach(),
            enc_pos: self.enc_pos.detached(),
            dec_pos: self.dec_pos.detached(),
            encoder: self
                .encoder
                .iter()
                .map(|b| Block {
                    ln1: b.ln1.detached(),
                    attn: b.attn.detached(),
                    ln2: b.ln2.detached(),
                    ffn: b.ffn.detached(),
                })
                .collect(),
            enc_ln: self.enc_ln.as_ref().map(LayerNorm::detached),
            decoder: self.decoder.iter().map(DecBlock::detached).collect(),
            final_ln: self.final_ln.as_ref().map(LayerNorm::detached),
            head: self.head.detached(),
            ..*self
        }
    }
}

/// Argmax over the last dim of `(B, V)` logits.
pub(crate) fn argmax_rows(logits: &Tensor) -> Result<Vec<u32>> {
    logits.argmax(D::Minus1)?.flatten_all()?.to_vec1::<u32>()
}

/// Scalars [`Seq2seq::load`] creates (equal to `Params::count`, tested), with `n` parameters
/// per norm channel (2 LayerNorm, 1 RMSNorm) and `a = 4d` attention-projection biases per
/// attention (0 without biases): `V_in·d` + `2·max_len·d` (learned positions, one table per
/// side) + `N·(4d² + a + 2df + f + d + 2nd)` + `M·(8d² + 2a + 2df + f + d + 3nd)` + final norms
/// `2nd` (where the placement has them) + `V_out·d` (+ `V_out` with a head bias); a
/// `cross_attention` other than `standard` changes each decoder block's count by
/// [`super::location::Location::param_count`] (less the query and key projections where it
/// has none).
pub fn param_count(c: &TransformerCfg, io: super::ModelIo) -> usize {
    let Some((ne, nd)) = depths(c) else { return 0 };
    let (d, f) = (c.d_model, c.ffn);
    let pos = match c.position {
        crate::ir::Position::Learned { max_len } => 2 * max_len * d,
        _ => 0,
    };
    let n = if c.norm_type == crate::ir::NormType::RmsNorm { 1 } else { 2 };
    let a = if c.attn_bias_init == AttnBiasInit::None { 0 } else { 4 * d };
    let ffn = 2 * d * f + f + d;
    let enc = 4 * d * d + a + ffn + 2 * n * d;
    let kind = cross_kind(c);
    let (h, content) = (c.heads.max(1), super::location::traits(kind).content);
    // Location-only cross-attention has no query and key projections (2d² and 2d biases less).
    let no_qk = if content { 0 } else { 2 * d * d + a / 2 };
    let dec = 8 * d * d + 2 * a + ffn + 3 * n * d - no_qk + super::location::Location::param_count(kind, d, h);
    let finals = if c.has_final_norm() { 2 * n * d } else { 0 };
    let head_bias = if c.head_bias { io.vocab_out } else { 0 };
    io.vocab_in * d + pos + ne * enc + nd * dec + finals + io.vocab_out * d + head_bias
}

/// Approximate matmul FLOPs of one training step with sources and targets of `seq_len` tokens
/// (the transformer's rule, [`super::flops_per_step`]): per source token `N·(8d² + 4df + 4Sd)`
/// plus the cross keys and values `M·4d²`; per target token `M·(8d² + 4df + 4Td + 4d² + 4Sd)`
/// (self-attention, feed-forward, cross q/out projections and scores) and the head `2d·V_out`;
/// a step ≈ 3× forward.
pub fn flops_per_step(c: &TransformerCfg, io: super::ModelIo, batch: usize, seq_len: usize) -> u64 {
    let Some((ne, nd)) = depths(c) else { return 0 };
    let (d, f, t) = (c.d_model as u64, c.ffn as u64, seq_len as u64);
    let src = ne as u64 * (8 * d * d + 4 * d * f + 4 * t * d) + nd as u64 * 4 * d * d;
    let tgt = nd as u64 * (12 * d * d + 4 * d * f + 8 * t * d) + 2 * d * io.vocab_out as u64;
    3 * batch as u64 * t * (src + tgt)
}
