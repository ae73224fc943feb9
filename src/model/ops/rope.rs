//! Rotary position embedding (RoPE; Su et al. 2021, RoFormer §3.4) of the Q and K channels of
//! a packed `qkv (B, T, 3D)`, as one graph node.
//!
//! Convention: **rotate-half** (GPT-NeoX, Hugging Face `rotate_half`): within each head of width
//! `dh`, channel `c < dh/2` is paired with channel `c + dh/2`, and the pair of a token with
//! position id `p` is rotated by the angle `p·θ_c`, `θ_c = base^(−2c/dh)`:
//!
//! `y_c = x_c·cos(pθ_c) − x_{c+dh/2}·sin(pθ_c)`, `y_{c+dh/2} = x_{c+dh/2}·cos(pθ_c) + x_c·sin(pθ_c)`.
//!
//! RoFormer writes the pairs as neighbours `(2c, 2c+1)` (GPT-J, and the Ruoss et al. 2023
//! code); the two differ by a fixed permutation of each head's channels, which the learned Q/K
//! projection absorbs, so both give the same model family. In both, `⟨R_p q, R_p' k⟩` depends on
//! `p − p'` only. V is passed through unchanged. The backward pass rotates the gradient by the
//! opposite angle (a rotation's inverse is its transpose).

use super::{by_dtype, cpu_slice, float_cpu, tensor, Fl, Host};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use std::sync::Arc;

/// Rotation angles for one forward pass: `cos`, `sin` of `p·θ_c`, `(rows, dh/2)` row-major,
/// where `rows` is `T` (one position vector shared by the batch) or `B·T` (one per token).
#[derive(Clone, Debug)]
pub struct Rotary {
    pub heads: usize,
    /// `dh/2`.
    pub half: usize,
    pub rows: usize,
    pub cos: Arc<Vec<f64>>,
    pub sin: Arc<Vec<f64>>,
}

impl Rotary {
    /// Angles for position ids `ids` (one row each), heads of width `dh` (even), base `base`.
    pub fn new(ids: &[u32], heads: usize, dh: usize, base: f64) -> Self {
        let half = dh / 2;
        let theta: Vec<f64> = (0..half).map(|c| base.powf(-2.0 * c as f64 / dh as f64)).collect();
        let (mut cos, mut sin) = (Vec::with_capacity(ids.len() * half), Vec::with_capacity(ids.len() * half));
        for &p in ids {
            for &th in &theta {
                let (s, c) = (p as f64 * th).sin_cos();
                cos.push(c);
                sin.push(s);
            }
        }
        Rotary { heads, half, rows: ids.len(), cos: Arc::new(cos), sin: Arc::new(sin) }
    }

    /// Checks the tables against `qkv (B, T, 3D)`; returns (B, T, D).
    fn dims(&self, dims: &[usize]) -> Result<(usize, usize, usize)> {
        let (b, t, d) = match *dims {
            [b, t, d3] if d3 % 3 == 0 => (b, t, d3 / 3),
            _ => bail!("rope: qkv {dims:?} must be (B, T, 3·D)"),
        };
        if self.heads == 0 || d != self.heads * 2 * self.half {
            bail!("rope: D = {d} must be heads ({}) × 2 × {}", self.heads, self.half)
        }
        if self.rows != t && self.rows != b * t {
            bail!("rope: {} position rows for a ({b}, {t}) batch", self.rows)
        }
        Ok((b, t, d))
    }

    /// Rotates the Q and K channels of `x` into `out` (V copied); `sign = −1` rotates back.
    fn apply<T: Fl>(&self, x: &[T], out: &mut [T], (b, t, d): (usize, usize, usize), sign: f64) {
        let (half, dh) = (self.half, 2 * self.half);
        for bi in 0..b {
            for ti in 0..t {
                let r = if self.rows == t { ti } else { bi * t + ti };
                let (cos, sin) = (&self.cos[r * half..(r + 1) * half], &self.sin[r * half..(r + 1) * half]);
                let off = (bi * t + ti) * 3 * d;
                let (xr, or) = (&x[off..off + 3 * d], &mut out[off..off + 3 * d]);
                for head in 0..2 * self.heads {
                    let h0 = head * dh; // Q heads, then K heads
                    for c in 0..half {
                        let (co, si) = (T::from_f64(cos[c]), T::from_f64(sign * sin[c]));
                        let (x1, x2) = (xr[h0 + c], xr[h0 + half + c]);
                        or[h0 + c] = x1 * co - x2 * si;
                        or[h0 + half + c] = x2 * co + x1 * si;
                    }
                }
                or[2 * d..].copy_from_slice(&xr[2 * d..]);
            }
        }
    }
}

struct Rope(Rotary);

fn fwd<T: Fl>(op: &Rope, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
    let z = op.0.dims(l.dims())?;
    let x = cpu_slice::<T>(s, l, "rope")?;
    let mut out = vec![T::zero(); x.len()];
    op.0.apply(x, &mut out, z, 1.0);
    Ok((T::to_cpu_storage_owned(out), l.shape().clone()))
}

fn bwd<T: Fl>(op: &Rope, grad: &Tensor) -> Result<Tensor> {
    let z = op.0.dims(grad.dims())?;
    let grad = grad.contiguous()?;
    let gh = Host::new(&grad, "rope")?;
    let g = gh.slice::<T>()?;
    let mut out = vec![T::zero(); g.len()];
    op.0.apply(g, &mut out, z, -1.0);
    tensor(out, grad.dims())
}

impl CustomOp1 for Rope {
    fn name(&self) -> &'static str {
        "algen-rope"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s.dtype(), "rope", fwd(self, s, l))
    }

    fn bwd(&self, _qkv: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        by_dtype!(grad.dtype(), "rope", bwd(self, grad)).map(Some)
    }
}

/// Fused RoPE: `qkv (B, T, 3D)` → the same with Q and K rotated by `rot`'s angles.
pub fn rope(qkv: &Tensor, rot: &Rotary) -> Result<Tensor> {
    rot.dims(qkv.dims())?;
    float_cpu(qkv, "rope")?;
    qkv.contiguous()?.apply_op1(Rope(rot.clone()))
}

/// [`rope`] from plain candle ops: split heads into halves, `x·cos ∓ x_other·sin`, concatenate.
pub fn rope_ref(qkv: &Tensor, rot: &Rotary) -> Result<Tensor> {
    let (b, t, d) = rot.dims(qkv.dims())?;
    let (h, half) = (rot.heads, rot.half);
    let bp = if rot.rows == t { 1 } else { b };
    let table = |v: &Arc<Vec<f64>>| -> Result<Tensor> {
        Tensor::from_vec(v.to_vec(), (bp, t, 1, half), qkv.device())?.to_dtype(qkv.dtype())
        // (B|1, T, 1, dh/2)
    };
    let (cos, sin) = (table(&rot.cos)?, table(&rot.sin)?);
    let turn = |x: Tensor| -> Result<Tensor> {
        let x = x.reshape((b, t, h, 2 * half))?; // (B, T, H, dh)
        let (x1, x2) = (x.narrow(3, 0, half)?, x.narrow(3, half, half)?);
        let y1 = (x1.broadcast_mul(&cos)? - x2.broadcast_mul(&sin)?)?;
        let y2 = (x2.broadcast_mul(&cos)? + x1.broadcast_mul(&sin)?)?;
        Tensor::cat(&[y1, y2], 3)?.reshape((b, t, d)) // (B, T, D)
    };
    let q = turn(qkv.narrow(2, 0, d)?)?;
    let k = turn(qkv.narrow(2, d, d)?)?;
    Tensor::cat(&[q, k, qkv.narrow(2, 2 * d, d)?], 2) // (B, T, 3D)
}
