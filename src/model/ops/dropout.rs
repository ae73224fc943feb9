//! Inverted dropout (Srivastava et al. 2014) with a mask drawn on the host from the caller's
//! seeded RNG, so that training is reproducible; candle's own RNG is not seeded.

use super::{by_dtype, cpu_slice, float_cpu, tensor, Fl};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

struct Dropout {
    keep: Arc<Vec<bool>>,
    scale: f64,
}

fn apply<T: Fl>(op: &Dropout, x: &[T]) -> Vec<T> {
    let s = T::from_f64(op.scale);
    x.iter().zip(op.keep.iter()).map(|(&v, &k)| if k { v * s } else { T::zero() }).collect()
}

fn fwd<T: Fl>(op: &Dropout, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
    let x = cpu_slice::<T>(s, l, "dropout")?;
    Ok((T::to_cpu_storage_owned(apply(op, x)), l.shape().clone()))
}

fn bwd<T: Fl>(op: &Dropout, grad: &Tensor) -> Result<Tensor> {
    let grad = grad.contiguous()?;
    let h = super::Host::new(&grad, "dropout")?;
    tensor(apply(op, h.slice::<T>()?), grad.dims())
}

impl CustomOp1 for Dropout {
    fn name(&self) -> &'static str {
        "algen-dropout"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s.dtype(), "dropout", fwd(self, s, l))
    }

    fn bwd(&self, _x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        by_dtype!(grad.dtype(), "dropout", bwd(self, grad)).map(Some)
    }
}

/// `n` keep flags, each false with probability `p`, drawn in order from `rng`.
pub fn dropout_mask(n: usize, p: f64, rng: &mut ChaCha8Rng) -> Vec<bool> {
    (0..n).map(|_| rng.gen::<f64>() >= p).collect()
}

/// Zeroes each element with probability `p` and scales the rest by 1/(1-p).
/// Identity when `rng` is `None` (evaluation) or `p == 0`.
pub fn dropout(x: &Tensor, p: f64, rng: Option<&mut ChaCha8Rng>) -> Result<Tensor> {
    if !(0.0..1.0).contains(&p) {
        bail!("dropout: rate {p} must be in [0, 1)")
    }
    let Some(rng) = rng.filter(|_| p > 0.0) else {
        return Ok(x.clone());
    };
    float_cpu(x, "dropout")?;
    let keep = Arc::new(dropout_mask(x.elem_count(), p, rng));
    x.contiguous()?.apply_op1(Dropout { keep, scale: 1.0 / (1.0 - p) })
}
