//! Softmax over the last dimension, with a backward (candle-nn's `softmax_last_dim` has none).

use super::{by_dtype, cpu_slice, float_cpu, rowdot, softmax_row, tensor, Fl, Host};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, D};

struct Softmax;

fn fwd<T: Fl>(s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
    let x = cpu_slice::<T>(s, l, "softmax")?;
    let n = l.dims().last().copied().unwrap_or(1);
    let mut y = x.to_vec();
    if n > 0 {
        for row in y.chunks_exact_mut(n) {
            softmax_row(row, None);
        }
    }
    Ok((T::to_cpu_storage_owned(y), l.shape().clone()))
}

/// dx = y ⊙ (g − Σ_j g_j y_j), row by row.
fn bwd<T: Fl>(res: &Tensor, grad: &Tensor) -> Result<Tensor> {
    let grad = grad.contiguous()?;
    let (yh, gh) = (Host::new(res, "softmax")?, Host::new(&grad, "softmax")?);
    let (y, g) = (yh.slice::<T>()?, gh.slice::<T>()?);
    let n = res.dims().last().copied().unwrap_or(1).max(1);
    let mut dx = vec![T::zero(); y.len()];
    for ((dx, y), g) in dx.chunks_exact_mut(n).zip(y.chunks_exact(n)).zip(g.chunks_exact(n)) {
        let dot = rowdot(g, y);
        for ((d, &y), &g) in dx.iter_mut().zip(y).zip(g) {
            *d = y * (g - dot);
        }
    }
    tensor(dx, res.dims())
}

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "algen-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s.dtype(), "softmax", fwd(s, l))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        by_dtype!(res.dtype(), "softmax", bwd(res, grad)).map(Some)
    }
}

/// Numerically stable softmax over the last dimension; one graph node with a fused backward.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    float_cpu(x, "softmax")?;
    x.contiguous()?.apply_op1(Softmax)
}

/// Reference: `exp(x - max) / Σ exp(x - max)` from plain candle ops (autograd-correct).
pub fn softmax_ref(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach(); // the shift does not change the value
    let e = x.broadcast_sub(&max)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}
