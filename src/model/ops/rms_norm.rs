//! RMSNorm over the last dimension (Zhang & Sennrich 2019), fused forward and backward:
//! `y = x / sqrt(mean(x²) + eps) · gamma` (no centring, no bias). candle-nn's `rms_norm` has
//! no backward (DESIGN §7).
//!
//! Backward, with `r = 1/sqrt(mean(x²) + eps)`, `x̂ = x·r` and `dy = G ⊙ gamma`:
//! `dx = r·(dy − x̂·mean(dy ⊙ x̂))`, `dgamma = Σ_rows G ⊙ x̂`.

use super::{by_dtype, cpu_slice, float_cpu, rowdot, tensor, Fl, Host, LN_EPS};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, D};

struct RmsNorm {
    eps: f64,
}

/// 1/sqrt(mean(x²) + eps) of one row.
fn rrms<T: Fl>(x: &[T], eps: f64) -> T {
    let ms = rowdot(x, x) / T::from_f64(x.len() as f64);
    T::one() / (ms + T::from_f64(eps)).sqrt_()
}

fn fwd<T: Fl>(op: &RmsNorm, xs: (&CpuStorage, &Layout), gs: (&CpuStorage, &Layout)) -> Result<(CpuStorage, Shape)> {
    let x = cpu_slice::<T>(xs.0, xs.1, "rms_norm")?;
    let gamma = cpu_slice::<T>(gs.0, gs.1, "rms_norm")?;
    let d = gamma.len();
    let mut y = vec![T::zero(); x.len()];
    if d > 0 {
        for (yr, xr) in y.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
            let r = rrms(xr, op.eps);
            for ((y, &x), &g) in yr.iter_mut().zip(xr).zip(gamma) {
                *y = x * r * g;
            }
        }
    }
    Ok((T::to_cpu_storage_owned(y), xs.1.shape().clone()))
}

fn bwd<T: Fl>(op: &RmsNorm, x: &Tensor, gamma: &Tensor, grad: &Tensor) -> Result<(Tensor, Tensor)> {
    let grad = grad.contiguous()?;
    let dims = x.dims().to_vec();
    let (xh, gmh, gh) = (Host::new(x, "rms_norm")?, Host::new(gamma, "rms_norm")?, Host::new(&grad, "rms_norm")?);
    let (x, gm, g) = (xh.slice::<T>()?, gmh.slice::<T>()?, gh.slice::<T>()?);
    let d = gm.len().max(1);
    let inv_d = T::one() / T::from_f64(d as f64);
    let (mut dx, mut dgamma) = (vec![T::zero(); x.len()], vec![T::zero(); d]);
    let (mut xhat, mut dy) = (vec![T::zero(); d], vec![T::zero(); d]);
    for ((dxr, xr), gr) in dx.chunks_exact_mut(d).zip(x.chunks_exact(d)).zip(g.chunks_exact(d)) {
        let r = rrms(xr, op.eps);
        for j in 0..d {
            xhat[j] = xr[j] * r;
            dy[j] = gr[j] * gm[j];
            dgamma[j] += gr[j] * xhat[j];
        }
        let m = rowdot(&dy, &xhat) * inv_d;
        for j in 0..d {
            dxr[j] = r * (dy[j] - xhat[j] * m);
        }
    }
    Ok((tensor(dx, &dims)?, tensor(dgamma, &[d])?))
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "algen-rms-norm"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s1.dtype(), "rms_norm", fwd(self, (s1, l1), (s2, l2)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dx, dg) = by_dtype!(x.dtype(), "rms_norm", bwd(self, x, gamma, grad))?;
        Ok((x.track_op().then_some(dx), gamma.track_op().then_some(dg)))
    }
}

fn check(x: &Tensor, gamma: &Tensor) -> Result<()> {
    if x.rank() == 0 || gamma.dims() != [x.dims().last().copied().unwrap_or(0)] {
        bail!("rms_norm: x {:?} needs gamma of shape [last dim], got {:?}", x.dims(), gamma.dims())
    }
    Ok(())
}

/// `x / sqrt(mean(x²) + eps) · gamma` over the last dim (eps = [`LN_EPS`]); one node.
pub fn rms_norm(x: &Tensor, gamma: &Tensor) -> Result<Tensor> {
    check(x, gamma)?;
    float_cpu(x, "rms_norm")?;
    x.contiguous()?.apply_op2(&gamma.contiguous()?, RmsNorm { eps: LN_EPS })
}

/// Reference RMSNorm from plain candle ops.
pub fn rms_norm_ref(x: &Tensor, gamma: &Tensor) -> Result<Tensor> {
    check(x, gamma)?;
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    x.broadcast_div(&(ms + LN_EPS)?.sqrt()?)?.broadcast_mul(gamma)
}
