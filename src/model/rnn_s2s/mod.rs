//! The recurrent encoder–decoder with attention, `lstm { kind = seq2seq, attention = bahdanau |
//! luong | none }`, for the `seq2seq` format: the baseline Lake & Baroni (2018) and most SCAN
//! papers report.
//!
//! - One token embedding `(V_in, E)` read by both sides (the format's shared vocabulary).
//! - Encoder: `layers` LSTM layers ([`LstmLayer`], the fused `ops::lstm_tokens` /
//!   `ops::lstm_rows`) over `input <eos>`. Source padding is at the row ends, so it never
//!   reaches a real position; each layer's state at its row's last real position is read
//!   exactly (a one-hot selection) and becomes that decoder layer's initial `h` (`c` starts
//!   at 0: the fused encoder op returns `h` only).
//! - Decoder: `layers` LSTM cells ([`cell::step`]) stepped over `<sep> target` (teacher
//!   forcing in training, its own argmax at evaluation: [`decode::greedy`]). Step t:
//!   1. `x_t = embed(y_{t-1})`;
//!   2. [`Query::Previous`] attention (Bahdanau): the context of `s_{t-1}` joins the input,
//!      `[x_t; c_t]`; Luong with `input_feeding`: `[x_t; h̃_{t-1}]` (`h̃_{-1}` = 0);
//!   3. the cells run bottom to top; the top state is `h_t`;
//!   4. [`Query::Current`] attention (Luong) reads `h_t`;
//!   5. with attention the output is the attentional vector `h̃_t = tanh(W_c [c_t; h_t])`
//!      (Luong's; also used for Bahdanau in place of his maxout layer), else `h_t`;
//!      `logits = head(h̃_t)`.
//!
//! The decoder's attention is a [`StepAttention`] (see [`attention`] for the interface, which
//! location-based variants implement). Padded source positions get weight exactly 0. No
//! dropout and no bidirectional encoder (yet).

pub mod attention;
pub mod cell;
pub mod decode;

pub use attention::{AttnState, Memory, Query, StepAttention};

use super::layers::Linear;
use super::location::step::LocStep;
use super::lstm::{right_padded, LstmLayer};
use super::ops::{self, Kernels};
use super::params::Params;
use super::transformer::token_ids;
use crate::ir::model::{LstmCfg, LstmSeq2seq, LstmStyle, RnnAttention};
use candle_core::{bail, DType, Result, Tensor};
use std::sync::Arc;

/// A loaded recurrent encoder–decoder (or detached copies of its weights).
#[derive(Clone, Debug)]
pub struct RnnSeq2seq {
    pub cfg: LstmCfg,
    pub s2s: LstmSeq2seq,
    pub vocab_in: usize,
    pub vocab_out: usize,
    /// `(V_in, E)`.
    pub tok_embed: Tensor,
    pub encoder: Vec<LstmLayer>,
    pub decoder: Vec<LstmLayer>,
    pub attention: Option<Arc<dyn StepAttention>>,
    /// `W_c (H, He + H)` of the attentional vector (with attention).
    pub combine: Option<Linear>,
    pub head: Linear,
    pub kernels: Kernels,
}

/// The decoder's state between steps.
#[derive(Clone, Debug)]
pub struct DecState {
    /// Per layer `(B, H)`.
    pub h: Vec<Tensor>,
    pub c: Vec<Tensor>,
    /// Luong's input feeding: the previous attentional vector `(B, H)`.
    pub feed: Option<Tensor>,
    pub attn: AttnState,
}

/// Extra decoder-input features besides the embedding: the context (Bahdanau) or the fed
/// attentional vector (Luong with input feeding).
fn feed_width(s: &LstmSeq2seq, hidden: usize) -> usize {
    match s.attention {
        _ if !s.cross_attention.is_standard() => hidden,
        RnnAttention::Bahdanau => hidden,
        RnnAttention::Luong if s.input_feeding => hidden,
        _ => 0,
    }
}

impl RnnSeq2seq {
    /// Creates, in order: `tok_embed`, `encoder.lstm.{i}`, `decoder.lstm.{i}`, `attention.*`,
    /// `combine`, `head` (PyTorch inits, as [`super::Lstm`]).
    pub fn load(params: &mut Params, cfg: &LstmCfg, vocab_in: usize, vocab_out: usize) -> Result<Self> {
        let Some(s2s) = cfg.seq2seq else { bail!("rnn seq2seq: the configuration is not `kind = seq2seq`") };
        let (h, e) = (cfg.hidden, cfg.embed);
        if cfg.layers == 0 || h == 0 || e == 0 || vocab_in == 0 || vocab_out == 0 || cfg.style != LstmStyle::Pytorch {
            bail!("rnn seq2seq: layers {}, hidden {h}, embed {e}, vocabularies and style must fit", cfg.layers)
        }
        let tok_embed = params.embedding("tok_embed", vocab_in, e)?;
        let stack = |params: &mut Params, side: &str, first: usize| -> Result<Vec<LstmLayer>> {
            (0..cfg.layers)
                .map(|i| {
                    let inp = if i == 0 { first } else { h };
                    let (w_ih, w_hh, b_ih, b_hh) = params.lstm(&format!("{side}.lstm.{i}"), h, inp)?;
                    Ok(LstmLayer { w_ih, w_hh, b_ih, b_hh })
                })
                .collect()
        };
        let encoder = stack(params, "encoder", e)?;
        let decoder = stack(params, "decoder", e + feed_width(&s2s, h))?;
        let attention: Option<Arc<dyn StepAttention>> = match s2s.attention {
            _ if !s2s.cross_attention.is_standard() => {
                Some(Arc::new(LocStep::load(params, "attention", s2s.cross_attention, h)?))
            }
            RnnAttention::None => None,
            RnnAttention::Bahdanau => Some(Arc::new(attention::Bahdanau::load(params, "attention", h, h, h)?)),
            RnnAttention::Luong => Some(Arc::new(attention::Luong::load(params, "attention", h, h)?)),
        };
        let combine = attention.as_ref().map(|_| Linear::load(params, "combine", h, 2 * h)).transpose()?;
        let head = Linear::load(params, "head", vocab_out, h)?;
        let kernels = Kernels::Fused;
        Ok(RnnSeq2seq {
            cfg: cfg.clone(),
            s2s,
            vocab_in,
            vocab_out,
            tok_embed,
            encoder,
            decoder,
            attention,
            combine,
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
    /// `source (B, S)`; pads: 1 = real, 0 = padding, at the row ends.
    pub fn forward(
        &self,
        source: &Tensor,
        source_pad: Option<&Tensor>,
        tokens: &Tensor,
        pad: Option<&Tensor>,
    ) -> Result<Tensor> {
        Ok(self.run(source, source_pad, tokens, pad)?.0)
    }

    /// [`RnnSeq2seq::forward`] and the attention weights `(B, S)` of every step (none without
    /// attention).
    pub fn run(
        &self,
        source: &Tensor,
        source_pad: Option<&Tensor>,
        tokens: &Tensor,
        pad: Option<&Tensor>,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let (b, t, ids) = token_ids(tokens)?;
        if let Some(p) = pad {
            right_padded(p, b, t)?;
        }
        let (mem, mut st) = self.encode(source, source_pad)?;
        if mem.states.dim(0)? != b {
            bail!("rnn seq2seq: {} sources for {b} target rows", mem.states.dim(0)?)
        }
        let x = self.embed(&ids, (b, t))?; // (B, T, E)
        let (mut logits, mut weights) = (Vec::with_capacity(t), Vec::new());
        for s in 0..t {
            let (l, w) = self.step(&x.narrow(1, s, 1)?.squeeze(1)?, &mem, &mut st)?;
            logits.push(l);
            weights.extend(w);
        }
        if logits.is_empty() {
            return Ok((
                Tensor::zeros((b, 0, self.vocab_out), self.tok_embed.dtype(), self.tok_embed.device())?,
                weights,
            ));
        }
        Ok((Tensor::stack(&logits, 1)?, weights))
    }

    /// Embedding rows of `ids` → `(B, T, E)`.
    pub(crate) fn embed(&self, ids: &[u32], bt: (usize, usize)) -> Result<Tensor> {
        match self.kernels {
            Kernels::Fused => ops::embed(&self.tok_embed, ids, bt, 1.0, None),
            Kernels::Reference => ops::embed_ref(&self.tok_embed, ids, bt, 1.0, None),
        }
    }

    /// The encoder over `source (B, S)`: the decoder's [`Memory`] (prepared by its attention)
    /// and its initial state.
    pub fn encode(&self, source: &Tensor, source_pad: Option<&Tensor>) -> Result<(Memory, DecState)> {
        let (b, s, ids) = token_ids(source)?;
        let lens = match source_pad {
            Some(p) => {
                right_padded(p, b, s)?;
                let v = p.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
                v.chunks_exact(s.max(1)).map(|r| r.iter().filter(|&&x| x != 0.0).count()).collect()
            }
            None => vec![s; b],
        };
        if lens.iter().any(|&l| l == 0) {
            bail!("rnn seq2seq: every source row needs a real token")
        }
        let k = self.kernels;
        let mut x = match k {
            Kernels::Fused => self.encoder[0].forward_tokens(&self.tok_embed, &ids, (b, s))?,
            Kernels::Reference => self.encoder[0].forward(&self.embed(&ids, (b, s))?, k)?,
        }; // (B, S, H)
        let sel: Vec<f64> =
            lens.iter().flat_map(|&l| (0..s).map(move |j| if j + 1 == l { 1.0 } else { 0.0 })).collect();
        let sel = Tensor::from_vec(sel, (b, 1, s), x.device())?.to_dtype(x.dtype())?;
        let last = |x: &Tensor| sel.matmul(x)?.squeeze(1); // (B, H): each row's last real state
        let mut h = vec![last(&x)?];
        for layer in &self.encoder[1..] {
            x = layer.forward(&x, k)?;
            h.push(last(&x)?);
        }
        let zeros = h[0].zeros_like()?;
        let mut mem = Memory::new(x, lens)?;
        if let Some(a) = &self.attention {
            mem.keys = a.prepare(&mem.states, &mem.lens, k)?;
        }
        let feed = (self.s2s.attention == RnnAttention::Luong && self.s2s.input_feeding).then(|| zeros.clone());
        let c = vec![zeros; h.len()];
        Ok((mem, DecState { h, c, feed, attn: AttnState::default() }))
    }

    /// One decoder step on the embedded previous tokens `x (B, E)`: logits `(B, vocab_out)`
    /// and the attention weights `(B, S)` (with attention); advances `st`.
    pub fn step(&self, x: &Tensor, mem: &Memory, st: &mut DecState) -> Result<(Tensor, Option<Tensor>)> {
        let k = self.kernels;
        let attn = self.attention.as_deref();
        let mut attended = None;
        let mut inp = match attn {
            Some(a) if a.query() == Query::Previous => {
                let top = st.h.last().expect("at least one layer");
                let r = a.step(top, mem, &st.attn, k)?;
                let inp = Tensor::cat(&[x, &r.context], 1)?;
                attended = Some(r);
                inp
            }
            _ => match &st.feed {
                Some(f) => Tensor::cat(&[x, f], 1)?,
                None => x.clone(),
            },
        };
        for (l, layer) in self.decoder.iter().enumerate() {
            let (h, c) = cell::step(layer, &inp, &st.h[l], &st.c[l], k)?;
            (st.h[l], st.c[l]) = (h.clone(), c);
            inp = h;
        }
        if let Some(a) = attn.filter(|a| a.query() == Query::Current) {
            attended = Some(a.step(&inp, mem, &st.attn, k)?);
        }
        let (out, weights) = match (attended, &self.combine) {
            (Some(r), Some(w_c)) => {
                st.attn = r.state;
                (w_c.forward(&Tensor::cat(&[&r.context, &inp], 1)?, k)?.tanh()?, Some(r.weights))
            }
            _ => (inp, None),
        };
        if st.feed.is_some() {
            st.feed = Some(out.clone());
        }
        Ok((self.head.forward(&out, k)?, weights))
    }

    /// A copy with detached weights (sharing storage), for evaluation.
    pub fn detached(&self) -> Self {
        RnnSeq2seq {
            cfg: self.cfg.clone(),
            tok_embed: self.tok_embed.detach(),
            encoder: self.encoder.iter().map(LstmLayer::detached).collect(),
            decoder: self.decoder.iter().map(LstmLayer::detached).collect(),
            attention: self.attention.as_ref().map(|a| a.detached()),
            combine: self.combine.as_ref().map(Linear::detached),
            head: self.head.detached(),
            ..*self
        }
    }
}

/// Scalars [`RnnSeq2seq::load`] creates (equal to `Params::count`, tested), with E = embed,
/// H = hidden, L layers and F the decoder's extra input (H for Bahdanau and for Luong with
/// input feeding, else 0): `V_in·E` + encoder `4H(E + H) + 8H + (L − 1)(8H² + 8H)` + decoder
/// the same with `E + F` + attention (Bahdanau `2H² + 2H`, Luong `H²`, a location variant
/// [`LocStep::param_count`]) + `W_c` `2H² + H` (with attention) + head `V_out·H + V_out`.
pub fn param_count(c: &LstmCfg, io: super::ModelIo) -> usize {
    let Some(s) = &c.seq2seq else { return 0 };
    let (e, h) = (c.embed, c.hidden);
    let stack = |first: usize| 4 * h * (first + h) + 8 * h + c.layers.saturating_sub(1) * (8 * h * h + 8 * h);
    let attn = match s.attention {
        _ if !s.cross_attention.is_standard() => LocStep::param_count(s.cross_attention, h) + 2 * h * h + h,
        RnnAttention::None => 0,
        RnnAttention::Bahdanau => 2 * h * h + 2 * h + 2 * h * h + h,
        RnnAttention::Luong => h * h + 2 * h * h + h,
    };
    io.vocab_in * e + stack(e) + stack(e + feed_width(s, h)) + attn + io.vocab_out * h + io.vocab_out
}

/// Approximate matmul FLOPs of one training step with sources and targets of `seq_len`
/// tokens: per source token the encoder's `8H(E + H) + (L − 1)·16H²`, per target token the
/// decoder's `8H(E + F + H) + (L − 1)·16H²`, the attention (`4SH`, plus `2H²`-sized query
/// projections and `4H²` for `W_c`) and the head `2H·V_out`; a step ≈ 3× forward.
pub fn flops_per_step(c: &LstmCfg, io: super::ModelIo, batch: usize, seq_len: usize) -> u64 {
    let Some(s) = &c.seq2seq else { return 0 };
    let (e, h, t) = (c.embed as u64, c.hidden as u64, seq_len as u64);
    let rest = c.layers.saturating_sub(1) as u64 * 16 * h * h;
    let f = feed_width(s, c.hidden) as u64;
    let attn = if s.attention == RnnAttention::None { 0 } else { 4 * t * h + 6 * h * h };
    let src = 8 * h * (e + h) + rest;
    let tgt = 8 * h * (e + f + h) + rest + attn + 2 * h * io.vocab_out as u64;
    3 * batch as u64 * t * (src + tgt)
}
