//! The gated interpolation of the encodings and their reversal (the paper's bi-directional
//! encodings; the code's `mix_forward_reverse`): row `b` with `L_b` real positions (a prefix)
//! reads `ē_j = e_{L_b − 1 − j}` for `j < L_b` (padding stays where it is), and
//! `g·e + (1 − g)·ē` with `g = σ(5·(w_g·mean_{j<L_b} e_j + b_g))` per row.

use super::super::layers::Linear;
use super::super::ops::Kernels;
use super::sigmoid;
use candle_core::{bail, Result, Tensor};

/// `x (B, S, d)` with each row's first `lens[b]` positions reversed (the rest unchanged).
pub fn reversed(x: &Tensor, lens: &[usize]) -> Result<Tensor> {
    let (b, s, d) = x.dims3()?;
    if lens.len() != b || lens.iter().any(|&l| l > s) {
        bail!("reverse: lengths {lens:?} do not fit ({b}, {s})")
    }
    let mut idx = Vec::with_capacity(b * s);
    for (r, &l) in lens.iter().enumerate() {
        idx.extend((0..s).map(|j| (r * s + if j < l { l - 1 - j } else { j }) as u32));
    }
    let idx = Tensor::from_vec(idx, b * s, x.device())?;
    x.reshape((b * s, d))?.index_select(&idx, 0)?.reshape((b, s, d))
}

/// The mean of each row's first `lens[b]` positions of `x (B, S, d)` → `(B, d)`.
pub fn mean_real(x: &Tensor, lens: &[usize]) -> Result<Tensor> {
    let (b, s, _) = x.dims3()?;
    let w: Vec<f64> =
        lens.iter().flat_map(|&l| (0..s).map(move |j| if j < l { 1.0 / l.max(1) as f64 } else { 0.0 })).collect();
    let w = Tensor::from_vec(w, (b, 1, s), x.device())?.to_dtype(x.dtype())?;
    w.matmul(x)?.squeeze(1)
}

/// `g·x + (1 − g)·reversed(x)` with the row's gate `g` from `dir` (see the module docs).
pub fn mix(x: &Tensor, lens: &[usize], dir: &Linear, k: Kernels) -> Result<Tensor> {
    let b = x.dim(0)?;
    let g = sigmoid(&(dir.forward(&mean_real(x, lens)?, k)? * 5.0)?)?.reshape((b, 1, 1))?; // (B, 1, 1)
    let r = reversed(x, lens)?;
    (x.broadcast_mul(&g)? + r.broadcast_mul(&g.affine(-1.0, 1.0)?)?)?.contiguous()
}
