//! The exact GELU, `gelu(x) = x·Φ(x) = x/2·(1 + erf(x/√2))` (Hendrycks & Gimpel 2016), as
//! PyTorch's `nn.GELU()` computes it by default (`approximate = 'none'`), with a backward.
//!
//! Why not candle's `gelu_erf`: its backward writes 1/√(2π) as `0.398942`, a relative error of
//! 7·10⁻⁷ in every gradient. Here `gelu'(x) = Φ(x) + x·φ(x)` with φ the standard normal
//! density, evaluated in f64 (erf from `candle_core::cpu::erf`, which is libm's) and rounded
//! to the tensor's dtype.

use super::{by_dtype, cpu_slice, float_cpu, tensor, Fl, Host};
use candle_core::backend::BackendStorage;
use candle_core::cpu::erf::erf_f64 as erf;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// Φ(x), the standard normal distribution function.
fn phi_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x * FRAC_1_SQRT_2))
}

/// The exact GELU of one number.
pub fn gelu_f64(x: f64) -> f64 {
    x * phi_cdf(x)
}

/// Its derivative: Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
pub fn gelu_grad_f64(x: f64) -> f64 {
    phi_cdf(x) + x * (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

struct Gelu;

fn fwd<T: Fl>(s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
    let x = cpu_slice::<T>(s, l, "gelu")?;
    let y: Vec<T> = x.iter().map(|&v| T::from_f64(gelu_f64(v.to_f64()))).collect();
    Ok((T::to_cpu_storage_owned(y), l.shape().clone()))
}

/// dx = g ⊙ gelu'(x).
fn bwd<T: Fl>(arg: &Tensor, grad: &Tensor) -> Result<Tensor> {
    let (arg, grad) = (arg.contiguous()?, grad.contiguous()?);
    let (xh, gh) = (Host::new(&arg, "gelu")?, Host::new(&grad, "gelu")?);
    let (x, g) = (xh.slice::<T>()?, gh.slice::<T>()?);
    let dx: Vec<T> = x.iter().zip(g).map(|(&x, &g)| T::from_f64(g.to_f64() * gelu_grad_f64(x.to_f64()))).collect();
    tensor(dx, arg.dims())
}

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "algen-gelu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s.dtype(), "gelu", fwd(s, l))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        by_dtype!(arg.dtype(), "gelu", bwd(arg, grad)).map(Some)
    }
}

/// The exact GELU, elementwise; one graph node with an exact backward.
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    float_cpu(x, "gelu")?;
    x.contiguous()?.apply_op1(Gelu)
}

/// Reference: `x·(1 + erf(x/√2))/2` from plain candle ops (candle's `erf` backward is
/// `2/√π·e^(−x²)` in full precision).
pub fn gelu_ref(x: &Tensor) -> Result<Tensor> {
    let cdf = ((x * FRAC_1_SQRT_2)?.erf()? + 1.0)? * 0.5;
    x * cdf?
}
