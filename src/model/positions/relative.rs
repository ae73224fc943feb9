//! Transformer-XL relative attention (Dai et al. 2019, §3.3, eq. for `A^rel_{i,j}`).
//!
//! The score of query i on key j in head h is
//!
//! `A_ij = q_i·k_j + q_i·W_r R(p_i − p_j) + u·k_j + v·W_r R(p_i − p_j)`   (terms a, b, c, d)
//!
//! with `q, k` the head's projected query and key, `R(δ)` the sinusoidal embedding of the
//! offset δ (width d_model, sin half then cos half, ω_c = 10000^(−2c/d_model), exactly as the
//! paper's `PositionalEmbedding`), `W_r` a learned `(d_model, d_model)` map whose output rows
//! `h·dh..(h+1)·dh` are head h's relative keys, and `u, v` learned per head (`(H, dh)` each).
//! Per layer, as Transformer-XL's `untie_r` setting and Ruoss et al. 2023's code (every
//! attention module owns its `relpos_contentbias`, `relpos_relativebias` and `Linear`).
//! Init: `W_r` like a linear layer (U(±1/√d)), `u, v` N(0, 0.02²) as Ruoss et al.
//!
//! The whole score is scaled by 1/√dh. The fused attention kernel computes `scale·q_i·k_j`; the
//! other terms enter as its additive bias `(B, H, T, T)`, built here from candle ops so that
//! gradients reach q, k, u, v and W_r.
//!
//! **Offsets of both signs, exactly.** Rather than the paper's "relative shift" of a
//! `(T, 2T−1)` matrix (whose published variants clamp or wrap offsets), the terms b + d are
//! computed in factored form for *any* position ids: with `a = W_rᵀ (q_i + v)` split into its
//! sin half `a_s` and cos half `a_c`, and the angle-difference identities,
//!
//! `a·R(p_i − p_j) = Σ_c a_s,c sin((p_i−p_j)ω_c) + a_c,c cos((p_i−p_j)ω_c)
//!                 = [a_s ⊙ sin_i + a_c ⊙ cos_i, a_c ⊙ sin_i − a_s ⊙ cos_i] · [cos_j, sin_j]`,
//!
//! one matmul per head over d_model features. It is exact for negative and positive offsets
//! and for randomized (sparse) position ids, whose offsets form no band.

use super::Ids;
use crate::model::params::Params;
use candle_core::{DType, Device, Result, Tensor};

/// One layer's relative-attention parameters.
#[derive(Clone, Debug)]
pub struct RelAttn {
    /// `W_r (d_model, d_model)`, output rows grouped by head.
    pub w_r: Tensor,
    /// Content bias `u (H, dh)`.
    pub u: Tensor,
    /// Position bias `v (H, dh)`.
    pub v: Tensor,
}

/// The sinusoid features of one forward pass's position ids, shared by all layers.
#[derive(Clone, Debug)]
pub struct Frame {
    /// `sin(p_i ω_c)`, `cos(p_i ω_c)`: `(B or 1, 1, T, d/2)`.
    sin: Tensor,
    cos: Tensor,
    /// `[cos_j, sin_j]ᵀ`: `(B or 1, 1, d, T)`.
    keys: Tensor,
}

impl Frame {
    /// Features of `ids` for a model of width `d` (even), in `dtype`.
    pub fn new(ids: &Ids, d: usize, dtype: DType) -> Result<Self> {
        let (t, half) = (ids.t, d / 2);
        let groups = if ids.shared { 1 } else { ids.b };
        let omega: Vec<f64> = (0..half).map(|c| 10000f64.powf(-2.0 * c as f64 / d as f64)).collect();
        let (mut sin, mut cos) = (Vec::with_capacity(groups * t * half), Vec::with_capacity(groups * t * half));
        for g in 0..groups {
            for &p in ids.row(g) {
                for &w in &omega {
                    let (s, c) = (p as f64 * w).sin_cos();
                    sin.push(s);
                    cos.push(c);
                }
            }
        }
        let shape = (groups, 1, t, half);
        let sin = Tensor::from_vec(sin, shape, &Device::Cpu)?.to_dtype(dtype)?;
        let cos = Tensor::from_vec(cos, shape, &Device::Cpu)?.to_dtype(dtype)?;
        let keys = Tensor::cat(&[&cos, &sin], 3)?.transpose(2, 3)?.contiguous()?; // (G, 1, d, T)
        Ok(Frame { sin, cos, keys })
    }
}

impl Frame {
    /// The features of sequences `start..start + len` (the same frame when shared).
    pub fn rows(&self, start: usize, len: usize) -> Result<Frame> {
        if self.sin.dim(0)? == 1 {
            return Ok(self.clone());
        }
        let n = |x: &Tensor| x.narrow(0, start, len);
        Ok(Frame { sin: n(&self.sin)?, cos: n(&self.cos)?, keys: n(&self.keys)? })
    }
}

impl RelAttn {
    /// `{name}.weight (d, d)`, `{name}.u (H, dh)`, `{name}.v (H, dh)`.
    pub fn load(params: &mut Params, name: &str, d: usize, heads: usize) -> Result<Self> {
        let w_r = params.uniform(&format!("{name}.weight"), &[d, d], 1.0 / (d as f64).sqrt())?;
        let u = params.normal(&format!("{name}.u"), &[heads, d / heads], 0.02)?;
        let v = params.normal(&format!("{name}.v"), &[heads, d / heads], 0.02)?;
        Ok(RelAttn { w_r, u, v })
    }

    /// The additive score bias `scale·(b + c + d)` of the module doc, `(B, H, T, T)`, from the
    /// layer's packed projections `qkv (B, T, 3D)`.
    pub fn bias(&self, qkv: &Tensor, f: &Frame, heads: usize) -> Result<Tensor> {
        let (b, t, d3) = qkv.dims3()?;
        let (d, h) = (d3 / 3, heads);
        let (dh, half) = (d / h, d / 2);
        let split = |i: usize| qkv.narrow(2, i * d, d)?.reshape((b, t, h, dh))?.transpose(1, 2)?.contiguous(); // (B, H, T, dh)
        let (q, k) = (split(0)?, split(1)?);
        let uk = k.broadcast_matmul(&self.u.reshape((1, h, dh, 1))?)?.transpose(2, 3)?; // u·k_j: (B, H, 1, T)
        let qv = q.broadcast_add(&self.v.reshape((1, h, 1, dh))?)?; // (B, H, T, dh)
        let a = qv.broadcast_matmul(&self.w_r.reshape((1, h, dh, d))?)?; // W_rᵀ(q_i + v): (B, H, T, d)
        let (a_s, a_c) = (a.narrow(3, 0, half)?, a.narrow(3, half, half)?);
        let x1 = (a_s.broadcast_mul(&f.sin)? + a_c.broadcast_mul(&f.cos)?)?;
        let x2 = (a_c.broadcast_mul(&f.sin)? - a_s.broadcast_mul(&f.cos)?)?;
        let pos = Tensor::cat(&[x1, x2], 3)?.broadcast_matmul(&f.keys)?; // (q_i + v)·W_r R(p_i − p_j): (B, H, T, T)
        pos.broadcast_add(&uk)? * (1.0 / (dh as f64).sqrt())
    }

    pub fn detached(&self) -> Self {
        RelAttn { w_r: self.w_r.detach(), u: self.u.detach(), v: self.v.detach() }
    }
}
