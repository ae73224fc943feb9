//! LayerNorm over the last dimension (Ba et al. 2016), fused forward and backward.
//! candle-nn's `LayerNorm::forward` has no backward (DESIGN §7).

use super::{by_dtype, cpu_slice, float_cpu, rowdot, sum, tensor, Fl, Host};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, D};
use rayon::prelude::*;

/// PyTorch's `nn.LayerNorm` default epsilon, added to the (biased) variance.
pub const LN_EPS: f64 = 1e-5;

struct LayerNorm {
    eps: f64,
}

/// Mean and 1/sqrt(var + eps) of one row (two passes, biased variance).
fn moments<T: Fl>(x: &[T], eps: f64) -> (T, T) {
    let n = T::from_f64(x.len() as f64);
    let mean = sum(x) / n;
    let mut var = T::zero();
    for &v in x {
        var += (v - mean) * (v - mean);
    }
    let var = var / n;
    (mean, T::one() / (var + T::from_f64(eps)).sqrt_())
}

fn fwd<T: Fl>(
    op: &LayerNorm,
    xs: (&CpuStorage, &Layout),
    gs: (&CpuStorage, &Layout),
    bs: (&CpuStorage, &Layout),
) -> Result<(CpuStorage, Shape)> {
    let x = cpu_slice::<T>(xs.0, xs.1, "layer_norm")?;
    let gamma = cpu_slice::<T>(gs.0, gs.1, "layer_norm")?;
    let beta = cpu_slice::<T>(bs.0, bs.1, "layer_norm")?;
    let mut y = vec![T::zero(); x.len()];
    rows_fwd(x, gamma, beta, &mut y, op.eps);
    Ok((T::to_cpu_storage_owned(y), xs.1.shape().clone()))
}

/// LayerNorm of each `gamma.len()`-wide row of `x` into `y` (the kernel of both the graph op
/// and the graph-free training step, `model::step`).
pub(crate) fn rows_fwd<T: Fl>(x: &[T], gamma: &[T], beta: &[T], y: &mut [T], eps: f64) {
    let d = gamma.len();
    if d == 0 {
        return;
    }
    y.par_chunks_mut(ROWS * d).zip(x.par_chunks(ROWS * d)).for_each(|(yb, xb)| {
        for (yr, xr) in yb.chunks_exact_mut(d).zip(xb.chunks_exact(d)) {
            let (mean, rstd) = moments(xr, eps);
            for (((y, &x), &g), &b) in yr.iter_mut().zip(xr).zip(gamma).zip(beta) {
                *y = (x - mean) * rstd * g + b;
            }
        }
    });
}

/// Rows per parallel task of [`rows_fwd`] and [`rows_bwd`]. The blocks are fixed whatever
/// the thread count, and `rows_bwd` adds the blocks' `dgamma`/`dbeta` sums in block order,
/// so results do not depend on the number of threads.
const ROWS: usize = 64;

/// Backward of [`rows_fwd`] (moments recomputed from `x`): writes `dx`, adds into `dgamma`
/// and `dbeta` (summed over rows within each block of [`ROWS`] rows, then over the blocks in
/// order).
pub(crate) fn rows_bwd<T: Fl>(x: &[T], gm: &[T], g: &[T], dx: &mut [T], dgamma: &mut [T], dbeta: &mut [T], eps: f64) {
    let d = gm.len().max(1);
    let inv_d = T::one() / T::from_f64(d as f64);
    let blocks: Vec<(Vec<T>, Vec<T>)> = dx
        .par_chunks_mut(ROWS * d)
        .zip(x.par_chunks(ROWS * d))
        .zip(g.par_chunks(ROWS * d))
        .map(|((dxb, xb), gb)| {
            let (mut dgb, mut dbb) = (vec![T::zero(); d], vec![T::zero(); d]);
            let (mut xhat, mut dy) = (vec![T::zero(); d], vec![T::zero(); d]);
            for ((dxr, xr), gr) in dxb.chunks_exact_mut(d).zip(xb.chunks_exact(d)).zip(gb.chunks_exact(d)) {
                let (mean, rstd) = moments(xr, eps);
                for j in 0..d {
                    xhat[j] = (xr[j] - mean) * rstd;
                    dy[j] = gr[j] * gm[j];
                    dgb[j] += gr[j] * xhat[j];
                    dbb[j] += gr[j];
                }
                let a = sum(&dy) * inv_d;
                let b = rowdot(&dy, &xhat) * inv_d;
                for j in 0..d {
                    dxr[j] = rstd * (dy[j] - a - xhat[j] * b);
                }
            }
            (dgb, dbb)
        })
        .collect();
    for (dgb, dbb) in blocks {
        for (a, b) in dgamma.iter_mut().zip(dgb) {
            *a += b;
        }
        for (a, b) in dbeta.iter_mut().zip(dbb) {
            *a += b;
        }
    }
}

/// Gradients of x, gamma and beta (recomputing the row moments from x).
fn bwd<T: Fl>(op: &LayerNorm, x: &Tensor, gamma: &Tensor, grad: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let grad = grad.contiguous()?;
    let dims = x.dims().to_vec();
    let (xh, gmh, gh) = (Host::new(x, "layer_norm")?, Host::new(gamma, "layer_norm")?, Host::new(&grad, "layer_norm")?);
    let (x, gm, g) = (xh.slice::<T>()?, gmh.slice::<T>()?, gh.slice::<T>()?);
    let d = gm.len().max(1);
    let (mut dx, mut dgamma, mut dbeta) = (vec![T::zero(); x.len()], vec![T::zero(); d], vec![T::zero(); d]);
    rows_bwd(x, gm, g, &mut dx, &mut dgamma, &mut dbeta, op.eps);
    Ok((tensor(dx, &dims)?, tensor(dgamma, &[d])?, tensor(dbeta, &[d])?))
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "algen-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s1.dtype(), "layer_norm", fwd(self, (s1, l1), (s2, l2), (s3, l3)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dx, dg, db) = by_dtype!(x.dtype(), "layer_norm", bwd(self, x, gamma, grad))?;
        let keep = |t: &Tensor, g: Tensor| t.track_op().then_some(g);
        Ok((keep(x, dx), keep(gamma, dg), keep(beta, db)))
    }
}

fn check(x: &Tensor, gamma: &Tensor, beta: &Tensor) -> Result<()> {
    let d = x.dims().last().copied();
    if x.rank() == 0 || gamma.dims() != [d.unwrap_or(0)] || beta.dims() != gamma.dims() {
        bail!(
            "layer_norm: x {:?} needs gamma and beta of shape [last dim], got {:?} and {:?}",
            x.dims(),
            gamma.dims(),
            beta.dims()
        )
    }
    Ok(())
}

/// `(x - mean) / sqrt(var + eps) * gamma + beta` over the last dim; one node, fused backward.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor) -> Result<Tensor> {
    check(x, gamma, beta)?;
    float_cpu(x, "layer_norm")?;
    x.contiguous()?.apply_op3(&gamma.contiguous()?, &beta.contiguous()?, LayerNorm { eps: LN_EPS })
}

/// Reference LayerNorm from plain candle ops (what `candle_nn::ops::layer_norm_slow` does).
pub fn layer_norm_ref(x: &Tensor, gamma: &Tensor, beta: &Tensor) -> Result<Tensor> {
    check(x, gamma, beta)?;
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?; // (.., D)
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    let xhat = xc.broadcast_div(&(var + LN_EPS)?.sqrt()?)?;
    xhat.broadcast_mul(gamma)?.broadcast_add(beta)
}
