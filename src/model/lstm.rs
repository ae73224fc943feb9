//! A stacked LSTM (Hochreiter & Schmidhuber 1997; PyTorch `nn.LSTM` equations, gate order
//! i, f, g, o): token embedding → `layers` LSTM layers → a linear head to `vocab_out` logits at
//! every position, like the transformer's output. The recurrent baseline of the
//! Chomsky-hierarchy benchmark (Delétang et al. 2023).
//!
//! Each layer computes its input projection for all steps as one GEMM (`ops::linear`,
//! `x·W_ihᵀ + b_ih + b_hh`) and runs the recurrence as one fused node (`ops::lstm`), h0 = c0 = 0.
//!
//! Padding: an LSTM reads left to right, so padding at the end of a row (how `task::batch`
//! pads) never influences a real position; the `pad` mask is checked to be right-padding and
//! otherwise not used. There is no dropout and no positional encoding (order comes from the
//! recurrence).

use super::layers::Linear;
use super::ops::{self, Kernels};
use super::params::Params;
use super::transformer::token_ids;
use crate::ir::model::LstmCfg;
use candle_core::{bail, DType, Result, Tensor};

/// One LSTM layer's weights (PyTorch names and shapes).
#[derive(Clone, Debug)]
pub struct LstmLayer {
    /// Input weight `(4H, in)`.
    pub w_ih: Tensor,
    /// Recurrent weight `(4H, H)`.
    pub w_hh: Tensor,
    /// Input and recurrent biases `(4H)`; only their sum matters, both are kept so that the
    /// parameter count and the init distribution match PyTorch.
    pub b_ih: Tensor,
    pub b_hh: Tensor,
}

impl LstmLayer {
    /// `(B, T, in)` → `(B, T, H)`.
    pub fn forward(&self, x: &Tensor, k: Kernels) -> Result<Tensor> {
        let bias = (&self.b_ih + &self.b_hh)?; // (4H)
        match k {
            Kernels::Fused => ops::lstm(&ops::linear(x, &self.w_ih, &bias, false)?, &self.w_hh),
            Kernels::Reference => ops::lstm_ref(&ops::linear_ref(x, &self.w_ih, &bias, false)?, &self.w_hh),
        }
    }

    fn detached(&self) -> Self {
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
    /// Token embedding `(vocab_in, embed)`.
    pub tok_embed: Tensor,
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
    /// Creates the parameters in `params`, in this order: `tok_embed.weight` N(0, 1);
    /// `lstm.{i}.{w_ih, w_hh, b_ih, b_hh}` U(±1/√H) (PyTorch's `nn.LSTM` init); `head`
    /// (PyTorch's `nn.Linear` init).
    pub fn load(params: &mut Params, cfg: &LstmCfg, vocab_in: usize, vocab_out: usize) -> Result<Self> {
        validate(cfg, vocab_in, vocab_out)?;
        let tok_embed = params.embedding("tok_embed", vocab_in, cfg.embed)?;
        let mut layers = Vec::with_capacity(cfg.layers);
        for i in 0..cfg.layers {
            let inp = if i == 0 { cfg.embed } else { cfg.hidden };
            let (w_ih, w_hh, b_ih, b_hh) = params.lstm(&format!("lstm.{i}"), cfg.hidden, inp)?;
            layers.push(LstmLayer { w_ih, w_hh, b_ih, b_hh });
        }
        let head = Linear::load(params, "head", vocab_out, cfg.hidden)?;
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
            Kernels::Fused => ops::embed(&self.tok_embed, &ids, (b, t), 1.0, None)?,
            Kernels::Reference => ops::embed_ref(&self.tok_embed, &ids, (b, t), 1.0, None)?,
        }; // (B, T, embed)
        for layer in &self.layers {
            x = layer.forward(&x, k)?; // (B, T, H)
        }
        self.head.forward(&x, k) // (B, T, vocab_out)
    }

    /// A copy whose weights are detached tensors sharing the parameters' storage: no autograd
    /// bookkeeping (DESIGN §7), and it sees later in-place optimizer updates.
    pub fn detached(&self) -> Self {
        Lstm {
            cfg: self.cfg.clone(),
            vocab_in: self.vocab_in,
            vocab_out: self.vocab_out,
            tok_embed: self.tok_embed.detach(),
            layers: self.layers.iter().map(LstmLayer::detached).collect(),
            head: self.head.detached(),
            kernels: self.kernels,
        }
    }
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
