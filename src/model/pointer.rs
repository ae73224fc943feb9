//! The pointer head of a pointer network (Vinyals et al. 2015, eq. 3): at every position `i`
//! (a query of `format = pointer`) the logits over the positions `j` of the same row are the
//! additive attention scores
//!
//! ```text
//! u_ij = vᵀ tanh(W1 e_j + W2 d_i)        (W1, W2: d×d, v: d; no biases, as in the paper)
//! ```
//!
//! with `e_j` and `d_i` the transformer's last-layer states (after the final norm) at `j` and
//! `i`; `p(j | i) = softmax_j(u_ij)` over the *candidates* only: positions that are neither
//! padding nor a query token get `u_ij`, every other position a large negative constant
//! ([`MASKED`]), so its probability is 0 and it receives no gradient. The classes are the
//! positions of the row, so the output has `T` columns for a row of `T` tokens and grows with
//! the input; the training loss is the masked cross-entropy over them, and evaluation reads the
//! argmax, the predicted input position.
//!
//! Built from autograd-correct candle ops (broadcast add, `tanh`, the project's linear op): the
//! graph-free training step does not cover it (`model::step::unsupported`), and
//! `tests/pointer.rs` checks its gradients against central finite differences in f64.

use super::layers::Linear;
use super::ops::Kernels;
use super::params::Params;
use candle_core::{bail, Result, Tensor};

/// The logit of a position that is not a candidate (padding, a query): `exp` of it is 0 next
/// to any real score, in f32 and f64.
pub const MASKED: f64 = -1e9;

/// `W1`, `W2` and `v` of the additive pointer.
#[derive(Clone, Debug)]
pub struct Pointer {
    /// `W1`, applied to the candidates' states `e_j`.
    pub w1: Linear,
    /// `W2`, applied to the querying state `d_i`.
    pub w2: Linear,
    /// `vᵀ`, a `(1, d)` map.
    pub v: Linear,
}

impl Pointer {
    /// Creates `{name}.w1`, `{name}.w2` (`(d, d)`) and `{name}.v` (`(1, d)`), U(±1/√d) and
    /// without biases (`2d² + d` parameters).
    pub fn load(params: &mut Params, name: &str, d: usize) -> Result<Self> {
        Ok(Pointer {
            w1: Linear::load_no_bias(params, &format!("{name}.w1"), d, d)?,
            w2: Linear::load_no_bias(params, &format!("{name}.w2"), d, d)?,
            v: Linear::load_no_bias(params, &format!("{name}.v"), 1, d)?,
        })
    }

    /// States `x (B, T, d)` → logits `(B, T, T)`: row `i`, column `j` is `u_ij`, or [`MASKED`]
    /// where `candidate[b·T + j]` is 0.
    pub fn forward(&self, x: &Tensor, candidate: &[f32], k: Kernels) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        if candidate.len() != b * t {
            bail!("pointer: {} candidate flags for a ({b}, {t}) batch", candidate.len())
        }
        let e = self.w1.forward(x, k)?.unsqueeze(1)?; // (B, 1, T_j, d)
        let q = self.w2.forward(x, k)?.unsqueeze(2)?; // (B, T_i, 1, d)
        let s = q.broadcast_add(&e)?.tanh()?; // (B, T_i, T_j, d)
        let u = self.v.forward(&s, k)?.squeeze(3)?; // (B, T_i, T_j)
        let bias: Vec<f64> = candidate.iter().map(|&c| if c > 0.0 { 0.0 } else { MASKED }).collect();
        let bias = Tensor::from_vec(bias, (b, 1, t), x.device())?.to_dtype(x.dtype())?;
        u.broadcast_add(&bias)
    }

    /// A copy with detached weights (evaluation).
    pub fn detached(&self) -> Self {
        Pointer { w1: self.w1.detached(), w2: self.w2.detached(), v: self.v.detached() }
    }
}

/// The candidate flags of a batch: 1 where the token is real (`pad`, when given, is nonzero)
/// and not the query token `query`.
pub fn candidates(ids: &[u32], pad: Option<&[f32]>, query: Option<u32>) -> Vec<f32> {
    ids.iter()
        .enumerate()
        .map(|(i, &id)| {
            let real = pad.is_none_or(|p| p[i] != 0.0);
            if real && Some(id) != query {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}
