//! A stacked LSTM (Hochreiter & Schmidhuber 1997; PyTorch `nn.LSTM` equations, gate order
//! i, f, g, o): token embedding → `layers` LSTM layers → a linear head to `vocab_out` logits at
//! every position, like the transformer's output. The recurrent baseline of the
//! Chomsky-hierarchy benchmark (Delétang et al. 2023).
//!
//! Each layer is one graph node (`ops::lstm_rows`): its input projection for all steps as one
//! GEMM (`x·W_ihᵀ + b_ih + b_hh`), then the recurrence, h0 = c0 = 0. The first layer's input is
//! a token's row (embedding or one-hot), so its projection is a `(V, 4H)` table looked up per
//! position ([`LstmLayer::forward_tokens`], `ops::lstm_tokens`).
//!
//! `style = haiku` (the Chomsky-hierarchy benchmark's `hk.LSTM` in `make_rnn`) keeps the
//! same recurrence with its wiring: the first layer reads one-hot tokens (no embedding), each
//! layer has one bias (zero) and the forget gate adds a constant 1 (`σ(z_f + 1)`), every
//! weight is truncated N(0, 1/fan_in) with fan_in = in + H (one `hk.Linear(4H)` over
//! `[x; h]`), and the head reads `relu(h)`. Haiku orders the gates i, g, f, o; algen stores
//! them i, f, g, o (PyTorch's order, the fused op's), so a Haiku weight `(in + H, 4H)` maps to
//! `[w_ih | w_hh]ᵀ` after swapping the g and f row blocks. The math is the same.
//!
//! Padding: an LSTM reads left to right, so padding at the end of a row (how `task::batch`
//! pads) never influences a real position; the `pad` mask is checked to be right-padding and
//! otherwise not used. There is no dropout and no positional encoding (order comes from the
//! recurrence).

use super::layers::Linear;
use super::ops::{self, Kernels};
use super::params::Params;
use super::transformer::token_ids;
use crate::ir::model::{LstmCfg, LstmStyle};
use candle_core::{bail, DType, Result, Tensor};

/// One LSTM layer's weights (PyTorch names and shapes).
#[derive(Clone, Debug)]
pub struct LstmLayer {
    /// Input weight `(4H, in)`.
    pub w_ih: Tensor,
    /// Recurrent weight `(4H, H)`.
    pub w_hh: Tensor,
    /// Input and recurrent biases `(4H)`; only their sum matters, both are kept so that the
    /// parameter count and the init distribution match PyTorch. A haiku-style layer has one
    /// bias (`b_ih`) and `b_hh` is the constant forget-gate offset (1 on the f rows), not a
    /// parameter.
    pub b_ih: Tensor,
    pub b_hh: Tensor,
}

impl LstmLayer {
    /// A haiku-style layer `lstm.{i}.{w_ih, w_hh, bias}` (see the module doc).
    fn haiku(params: &mut Params, name: &str, hidden: usize, inp: usize) -> Result<Self> {
        let (h4, fan_in) = (4 * hidden, inp + hidden);
        let w_ih = params.haiku_weight(&format!("{name}.w_ih"), h4, inp, fan_in)?;
        let w_hh = params.haiku_weight(&format!("{name}.w_hh"), h4, hidden, fan_in)?;
        let b_ih = params.constant(&format!("{name}.bias"), &[h4], 0.0)?;
        let forget: Vec<f64> = (0..h4).map(|r| if (hidden..2 * hidden).contains(&r) { 1.0 } else { 0.0 }).collect();
        let b_hh = Tensor::from_vec(forget, h4, w_ih.device())?.to_dtype(params.dtype())?;
        Ok(LstmLayer { w_ih, w_hh, b_ih, b_hh })
    }

    /// `(B, T, in)` → `(B, T, H)`.
    pub fn forward(&self, x: &Tensor, k: Kernels) -> Result<Tensor> {
        let bias = (&self.b_ih + &self.b_hh)?; // (4H)
        match k {
            Kernels::Fused => ops::lstm_rows(x, &Tensor::cat(&[&self.w_ih, &bias.unsqueeze(1)?], 1)?, &self.w_hh),
            Kernels::Reference => ops::lstm_ref(&ops::linear_ref(x, &self.w_ih, &bias, false)?, &self.w_hh),
        }
    }

    /// The first layer reading tokens: `rows (V, in)` are the input rows a token can have (the
    /// embedding table, or the identity for one-hot input) and `ids` the `B·T` token ids.
    /// `x·W_ihᵀ + b` takes only V distinct values, so it is computed once per vocabulary row,
    /// `(V, 4H)`, and looked up per position: the same dot products as projecting every
    /// position, without the `(B·T, in) × (in, 4H)` GEMM forward and its two GEMMs backward
    /// (the lookup's backward sums dZ per token; `W_ih`'s and the rows' gradients are then
    /// `(V, 4H)`-sized products). `(B, T)` → `(B, T, H)`.
    pub fn forward_tokens(&self, rows: &Tensor, ids: &[u32], bt: (usize, usize)) -> Result<Tensor> {
        let bias = (&self.b_ih + &self.b_hh)?; // (4H)
        let table = ops::linear(rows, &self.w_ih, &bias, false)?; // (V, 4H)
        ops::lstm_tokens(&table, ids, bt, &self.w_hh)
    }

    pub(crate) fn detached(&self) -> Self {
        LstmLayer {
            w_ih: self.w_ih.detach(),
            w_hh: self.w_hh.detach(),
            b_ih: self.b_ih.detach(),
            b_hh: self.b_hh.detach(),
        }
    }
}

/// A loaded LSTM. Holds the parameters' tensors (or detached copies, see [`Lstm::detached`]).
#[derive(Clone, Debug)]
pub struct Lstm {
    pub cfg: LstmCfg,
    pub vocab_in: usize,
    pub vocab_out: usize,
    /// Token embedding `(vocab_in, embed)`; `None` for one-hot input (`style = haiku`).
    pub tok_embed: Option<Tensor>,
    pub layers: Vec<LstmLayer>,
    pub head: Linear,
    pub kernels: Kernels,
}

fn validate(cfg: &LstmCfg, vocab_in: usize, vocab_out: usize) -> Result<()> {
    if cfg.layers == 0 || cfg.hidden == 0 || cfg.embed == 0 {
        bail!("lstm: layers = {}, hidden = {}, embed = {} must be positive", cfg.layers, cfg.hidden, cfg.embed)
    }
    if vocab_in == 0 || vocab_out == 0 {
        bail!("lstm: empty vocabulary (in {vocab_in}, out {vocab_out})")
    }
    Ok(())
}

impl Lstm {
    /// Creates the parameters in `params`, in this order. PyTorch style: `tok_embed.weight`
    /// N(0, 1); `lstm.{i}.{w_ih, w_hh, b_ih, b_hh}` U(±1/√H) (PyTorch's `nn.LSTM` init); `head`
    /// (PyTorch's `nn.Linear` init). Haiku style: `lstm.{i}.{w_ih, w_hh, bias}` and `head`,
    /// initialized as `hk.Linear` (truncated N(0, 1/fan_in) weights, zero biases).
    pub fn load(params: &mut Params, cfg: &LstmCfg, vocab_in: usize, vocab_out: usize) -> Result<Self> {
        validate(cfg, vocab_in, vocab_out)?;
        let haiku = cfg.style == LstmStyle::Haiku;
        let tok_embed = match haiku {
            true => None,
            false => Some(params.embedding("tok_embed", vocab_in, cfg.embed)?),
        };
        let mut layers = Vec::with_capacity(cfg.layers);
        for i in 0..cfg.layers {
            let (name, inp) = (format!("lstm.{i}"), if i == 0 { cfg.input_width(vocab_in) } else { cfg.hidden });
            layers.push(match haiku {
                true => LstmLayer::haiku(params, &name, cfg.hidden, inp)?,
                false => {
                    let (w_ih, w_hh, b_ih, b_hh) = params.lstm(&name, cfg.hidden, inp)?;
                    LstmLayer { w_ih, w_hh, b_ih, b_hh }
                }
            });
        }
        let head = match haiku {
            true => Linear::new(
                params.haiku_weight("head.weight", vocab_out, cfg.hidden, cfg.hidden)?,
                params.constant("head.bias", &[vocab_out], 0.0)?,
            ),
            false => Linear::load(params, "head", vocab_out, cfg.hidden)?,
        };
        Ok(Lstm { cfg: cfg.clone(), vocab_in, vocab_out, tok_embed, layers, head, kernels: Kernels::Fused })
    }

    /// The same model running `kernels`.
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// `tokens (B, T) u32` → logits `(B, T, vocab_out)`. `pad (B, T)`: 1 = real, 0 = padding,
    /// which must come after every real token of its row (see the module doc). `positions`
    /// (`B·T` ids) are accepted for interface parity and not used.
    pub fn forward_at(&self, tokens: &Tensor, pad: Option<&Tensor>, positions: Option<&[u32]>) -> Result<Tensor> {
        let (b, t, ids) = token_ids(tokens)?;
        if let Some(p) = pad {
            right_padded(p, b, t)?;
        }
        if let Some(p) = positions.filter(|p| p.len() != b * t) {
            bail!("lstm: {} position ids for a ({b}, {t}) batch", p.len())
        }
        let k = self.kernels;
        let mut x = match k {
            Kernels::Fused => self.layers[0].forward_tokens(&self.input_rows()?, &ids, (b, t))?,
            Kernels::Reference => {
                let x = match &self.tok_embed {
                    Some(e) => ops::embed_ref(e, &ids, (b, t), 1.0, None)?,
                    None => one_hot(&ids, (b, t), self.vocab_in, self.head.weight.dtype())?,
                }; // (B, T, embed or vocab_in)
                self.layers[0].forward(&x, k)?
            }
        }; // (B, T, H)
        for layer in &self.layers[1..] {
            x = layer.forward(&x, k)?; // (B, T, H)
        }
        if self.cfg.style == LstmStyle::Haiku {
            x = x.relu()?; // make_rnn's readout reads relu(h)
        }
        self.head.forward(&x, k) // (B, T, vocab_out)
    }

    /// The rows the first layer reads per token id: the embedding table `(V, embed)`, or the
    /// identity `(V, V)` for one-hot input (`style = haiku`; ids are checked by the lookup).
    pub fn input_rows(&self) -> Result<Tensor> {
        match &self.tok_embed {
            Some(e) => Ok(e.clone()),
            None => Tensor::eye(self.vocab_in, self.head.weight.dtype(), &candle_core::Device::Cpu),
        }
    }

    /// A copy whose weights are detached tensors sharing the parameters' storage: no autograd
    /// bookkeeping (DESIGN §7), and it sees later in-place optimizer updates.
    pub fn detached(&self) -> Self {
        Lstm {
            cfg: self.cfg.clone(),
            vocab_in: self.vocab_in,
            vocab_out: self.vocab_out,
            tok_embed: self.tok_embed.as_ref().map(Tensor::detach),
            layers: self.layers.iter().map(LstmLayer::detached).collect(),
            head: self.head.detached(),
            kernels: self.kernels,
        }
    }
}

/// Row-major token ids → one-hot rows `(B, T, vocab)` of `dtype` (ids checked in range).
fn one_hot(ids: &[u32], (b, t): (usize, usize), vocab: usize, dtype: DType) -> Result<Tensor> {
    let mut v = vec![0f64; ids.len() * vocab];
    for (i, &id) in ids.iter().enumerate() {
        if id as usize >= vocab {
            bail!("lstm: token id {id} is outside the input vocabulary of {vocab}")
        }
        v[i * vocab + id as usize] = 1.0;
    }
    Tensor::from_vec(v, (b, t, vocab), &candle_core::Device::Cpu)?.to_dtype(dtype)
}

/// Checks that `pad (B, T)` marks a prefix of each row as real (what makes ignoring it exact).
pub(crate) fn right_padded(pad: &Tensor, b: usize, t: usize) -> Result<()> {
    if pad.dims() != [b, t] {
        bail!("pad mask {:?} must match tokens ({b}, {t})", pad.dims())
    }
    let v = pad.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    for (r, row) in v.chunks_exact(t).enumerate() {
        if row.windows(2).any(|w| w[0] == 0.0 && w[1] != 0.0) {
            bail!("row {r} of the pad mask has a real token after padding; recurrent models need right padding")
        }
    }
    Ok(())
}
