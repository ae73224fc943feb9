//! Relative-position cross-attention scores (Dai et al. 2019's decomposition, as the paper's
//! `relative` and `bi_relative` variants use it): for query step `t` and source position `j`,
//! `s_tj = ((q_t + u)·k_j + (q_t + v)·W_r R(j − t)) / √d_h`, with `R(o)` the sinusoid of the
//! offset (`sin(o·f_i)` then `cos(o·f_i)`, `f_i = 10000^(−2i/d)`), `W_r: d → d` (heads
//! contiguous) and `u, v (H, d_h)` learned, starting at 0. The scores depend on positions only
//! through the offsets `j − t`.

use super::super::params::Params;
use candle_core::{Result, Tensor};

/// `W_r (d, d)`, `u (H, d_h)`, `v (H, d_h)`.
#[derive(Clone, Debug)]
pub struct Rel {
    pub w: Tensor,
    pub u: Tensor,
    pub v: Tensor,
}

/// The sinusoid `R(o)` of width `d`.
pub fn sinusoid(o: f64, d: usize) -> Vec<f64> {
    let half = d / 2;
    let mut r = vec![0.0; d];
    for i in 0..half {
        let f = 10000f64.powf(-2.0 * i as f64 / d as f64);
        r[i] = (o * f).sin();
        r[half + i] = (o * f).cos();
    }
    r
}

impl Rel {
    /// `{name}.w` (PyTorch's linear init), `{name}.u`, `{name}.v` (zeros).
    pub fn load(params: &mut Params, name: &str, d: usize, heads: usize) -> Result<Self> {
        let w = params.uniform(&format!("{name}.w"), &[d, d], 1.0 / (d as f64).sqrt())?;
        let u = params.constant(&format!("{name}.u"), &[heads, d / heads], 0.0)?;
        let v = params.constant(&format!("{name}.v"), &[heads, d / heads], 0.0)?;
        Ok(Rel { w, u, v })
    }

    pub fn param_count(d: usize) -> usize {
        d * d + 2 * d
    }

    /// Scores `(B, H, T, S)` of queries `q (B, H, T, d_h)` at steps `t0..t0 + T` over keys
    /// `(B, H, S, d_h)` at positions `0..S`.
    pub fn scores(&self, q: &Tensor, keys: &Tensor, t0: usize) -> Result<Tensor> {
        let (_, h, t, dh) = q.dims4()?;
        let s = keys.dim(2)?;
        let d = h * dh;
        let u = self.u.reshape((1, h, 1, dh))?;
        let v = self.v.reshape((1, h, 1, dh))?;
        let content = super::scores(&q.broadcast_add(&u)?, keys)?; // (B, H, T, S)
        let mut e = Vec::with_capacity(t * s * d);
        for i in 0..t {
            for j in 0..s {
                e.extend(sinusoid(j as f64 - (t0 + i) as f64, d));
            }
        }
        let e = Tensor::from_vec(e, (t * s, d), q.device())?.to_dtype(q.dtype())?;
        let p = e.matmul(&self.w.t()?)?.reshape((t, s, h, dh))?.permute((2, 0, 3, 1))?.contiguous()?; // (H, T, d_h, S)
        let qv = q.broadcast_add(&v)?.permute((1, 2, 0, 3))?.contiguous()?; // (H, T, B, d_h)
        let pos = qv.matmul(&p)?.permute((2, 0, 1, 3))?; // (B, H, T, S)
        content + (pos * (1.0 / (dh as f64).sqrt()))?
    }

    pub fn detached(&self) -> Self {
        Rel { w: self.w.detach(), u: self.u.detach(), v: self.v.detach() }
    }
}
