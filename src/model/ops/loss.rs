//! Masked cross-entropy over the last dimension as one graph node:
//! `loss = Σ_i m_i · (logsumexp(x_i) − x_i[y_i]) / Σ_i m_i` (0 when Σ m = 0),
//! with backward `dx_i = g · m_i / Σm · (softmax(x_i) − onehot(y_i))`.

use super::{by_dtype, cpu_slice, float_cpu, sum, tensor, Fl, Host};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor, D};
use std::sync::Arc;

struct CrossEntropy {
    targets: Arc<Vec<u32>>,
    mask: Arc<Vec<f32>>,
}

/// `row <- softmax(row)` in place; returns logsumexp of the original row.
fn softmax_lse<T: Fl>(row: &mut [T]) -> T {
    let max = row.iter().fold(T::neg_infinity(), |m, &x| if x > m { x } else { m });
    for x in row.iter_mut() {
        *x = T::exp1(*x - max);
    }
    let s = sum(row);
    let inv = T::one() / s;
    for x in row.iter_mut() {
        *x *= inv;
    }
    max + s.ln_()
}

fn fwd<T: Fl>(op: &CrossEntropy, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
    let x = cpu_slice::<T>(s, l, "cross_entropy")?;
    let v = l.dims().last().copied().unwrap_or(1).max(1);
    let loss = rows_loss(x, v, &op.targets, &op.mask);
    Ok((T::to_cpu_storage_owned(vec![loss]), Shape::from(())))
}

/// The masked mean cross-entropy of `x (N, v)` as `T` (summed in f64; the kernel of both the
/// graph op and the graph-free training step, `model::step`).
pub(crate) fn rows_loss<T: Fl>(x: &[T], v: usize, targets: &[u32], mask: &[f32]) -> T {
    let mut scratch = vec![T::zero(); v];
    let mut total = 0f64;
    for (i, row) in x.chunks_exact(v).enumerate() {
        let m = mask[i];
        if m == 0.0 {
            continue;
        }
        scratch.copy_from_slice(row);
        let lse = softmax_lse(&mut scratch);
        total += m as f64 * (lse - row[targets[i] as usize]).to_f64();
    }
    T::from_f64(total / denom(mask))
}

/// `dx = g · m_i / Σm · (softmax(x_i) − onehot(y_i))` for an upstream gradient `g` (1 for the
/// loss itself); masked rows get zeros.
pub(crate) fn rows_grad<T: Fl>(x: &[T], v: usize, targets: &[u32], mask: &[f32], g: f64, dx: &mut [T]) {
    let g = g / denom(mask);
    for (i, (dr, row)) in dx.chunks_exact_mut(v).zip(x.chunks_exact(v)).enumerate() {
        let m = mask[i];
        if m == 0.0 {
            dr.fill(T::zero());
            continue;
        }
        dr.copy_from_slice(row);
        softmax_lse(dr);
        dr[targets[i] as usize] -= T::one();
        let w = T::from_f64(g * m as f64);
        for d in dr.iter_mut() {
            *d *= w;
        }
    }
}

/// Σ mask, or 1 when it is 0.
fn denom(mask: &[f32]) -> f64 {
    let s: f64 = mask.iter().map(|&m| m as f64).sum();
    if s == 0.0 {
        1.0
    } else {
        s
    }
}

fn bwd<T: Fl>(op: &CrossEntropy, logits: &Tensor, grad: &Tensor) -> Result<Tensor> {
    let g = grad.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    let xh = Host::new(logits, "cross_entropy")?;
    let x = xh.slice::<T>()?;
    let v = logits.dims().last().copied().unwrap_or(1).max(1);
    let mut dx = vec![T::zero(); x.len()];
    rows_grad(x, v, &op.targets, &op.mask, g, &mut dx);
    tensor(dx, logits.dims())
}

impl CustomOp1 for CrossEntropy {
    fn name(&self) -> &'static str {
        "algen-cross-entropy"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s.dtype(), "cross_entropy", fwd(self, s, l))
    }

    fn bwd(&self, logits: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        by_dtype!(logits.dtype(), "cross_entropy", bwd(self, logits, grad)).map(Some)
    }
}

/// Checks sizes and that every unmasked target is inside the vocabulary; returns V.
fn check(logits: &Tensor, targets: &[u32], mask: &[f32]) -> Result<usize> {
    let Some(&v) = logits.dims().last() else { bail!("cross_entropy: logits must have a class dimension") };
    let n = logits.elem_count() / v.max(1);
    if targets.len() != n || mask.len() != n {
        bail!(
            "cross_entropy: logits {:?} need {n} targets and mask entries, got {} and {}",
            logits.dims(),
            targets.len(),
            mask.len()
        )
    }
    if let Some((&t, _)) = targets.iter().zip(mask).find(|(&t, &m)| m != 0.0 && t as usize >= v) {
        bail!("cross_entropy: target {t} is outside the {v} classes")
    }
    Ok(v)
}

/// Fused masked mean cross-entropy: logits `(.., V)`, row-major `targets` and `mask`
/// (one per row; masked rows may hold any target) → scalar.
pub fn cross_entropy(logits: &Tensor, targets: &[u32], mask: &[f32]) -> Result<Tensor> {
    check(logits, targets, mask)?;
    float_cpu(logits, "cross_entropy")?;
    let op = CrossEntropy { targets: Arc::new(targets.to_vec()), mask: Arc::new(mask.to_vec()) };
    logits.contiguous()?.apply_op1(op)
}

/// Reference: log-softmax from plain candle ops, `gather`, masked mean.
pub fn cross_entropy_ref(logits: &Tensor, targets: &[u32], mask: &[f32]) -> Result<Tensor> {
    let v = check(logits, targets, mask)?;
    let n = targets.len();
    let dev = logits.device();
    let x = logits.reshape((n, v))?; // (N, V)
    let xs = x.broadcast_sub(&x.max_keepdim(D::Minus1)?.detach())?;
    let logp = xs.broadcast_sub(&xs.exp()?.sum_keepdim(D::Minus1)?.log()?)?; // (N, V)
    let safe: Vec<u32> = targets.iter().zip(mask).map(|(&t, &m)| if m == 0.0 { 0 } else { t }).collect();
    let nll = logp.gather(&Tensor::from_vec(safe, (n, 1), dev)?, 1)?.neg()?.squeeze(1)?; // (N,)
    let m = Tensor::new(mask, dev)?.to_dtype(logits.dtype())?;
    let denom = denom(mask);
    (nll * m)?.sum_all()? / denom
}
