//! `y = x·Wᵀ + b`, optionally followed by ReLU, as one graph node.
//!
//! Forward: the bias is written into the output first and the GEMM accumulates onto it, so the
//! bias costs no extra pass. Backward: dX = G·W, dW = Gᵀ·X (GEMMs reading transposes through
//! strides, no copies) and db = row-sum of G over contiguous rows — instead of candle's
//! generic strided `sum_keepdim` behind `broadcast_add` (DESIGN §7).

use super::{by_dtype, cpu_slice, float_cpu, gemm_ex, tensor, Fl, Host, Mat, MatMut};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

struct Linear {
    relu: bool,
}

fn fwd<T: Fl>(
    op: &Linear,
    xs: (&CpuStorage, &Layout),
    ws: (&CpuStorage, &Layout),
    bs: (&CpuStorage, &Layout),
) -> Result<(CpuStorage, Shape)> {
    let x = cpu_slice::<T>(xs.0, xs.1, "linear")?; // (N, in)
    let w = cpu_slice::<T>(ws.0, ws.1, "linear")?; // (out, in)
    let b = cpu_slice::<T>(bs.0, bs.1, "linear")?; // (out,)
    let (out, inp) = ws.1.shape().dims2()?;
    let n = x.len().checked_div(inp).unwrap_or(0);
    let mut y: Vec<T> = Vec::with_capacity(n * out); // (N, out)
    rows_fwd(x, w, b, (n, inp, out), op.relu, &mut y)?;
    let mut dims = xs.1.dims().to_vec();
    *dims.last_mut().expect("checked rank >= 1") = out;
    Ok((T::to_cpu_storage_owned(y), Shape::from(dims)))
}

/// `y (N, out) = x (N, in) · wᵀ + b`, then ReLU when `relu` (`y` is cleared and refilled;
/// shared by the graph op and the graph-free training step, `model::step`).
pub(crate) fn rows_fwd<T: Fl>(
    x: &[T],
    w: &[T],
    b: &[T],
    (n, inp, out): (usize, usize, usize),
    relu: bool,
    y: &mut Vec<T>,
) -> Result<()> {
    y.clear();
    if out == 0 || n == 0 {
        return Ok(());
    }
    if b.len() != out {
        bail!("linear: bias of {} for {out} outputs", b.len())
    }
    // Each row starts as b (written straight into the spare capacity, by the thread pool);
    // the GEMM accumulates onto it.
    y.reserve(n * out);
    y.spare_capacity_mut()[..n * out].par_chunks_mut(ROWS * out).for_each(|yb| {
        for row in yb.chunks_exact_mut(out) {
            for (d, &v) in row.iter_mut().zip(b) {
                d.write(v);
            }
        }
    });
    // SAFETY: the capacity is at least n·out, and the loop above wrote all of 0..n·out
    // (whole rows of `out`, each from the `out` entries of b).
    unsafe { y.set_len(n * out) };
    let dst = MatMut::at(y, 0, out, 1);
    let lhs = Mat::at(x, 0, inp, 1);
    let wt = Mat::at(w, 0, 1, inp); // Wᵀ (in, out) read through strides
    gemm_ex((n, out, inp), dst, true, lhs, wt, T::one(), true)?;
    if relu {
        y.par_chunks_mut(ROWS * out).for_each(|yb| {
            for v in yb.iter_mut() {
                *v = if *v > T::zero() { *v } else { T::zero() };
            }
        });
    }
    Ok(())
}

/// Backward of [`rows_fwd`] for an output gradient `g (N, out)` (already masked by the
/// ReLU, see [`relu_mask`]): `dx = G·W` when asked, `dw = Gᵀ·X`, `db = Σ_rows G`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rows_bwd<T: Fl>(
    x: &[T],
    w: &[T],
    g: &[T],
    (n, inp, out): (usize, usize, usize),
    dx: Option<&mut [T]>,
    dw: &mut [T],
    db: Option<&mut [T]>,
) -> Result<()> {
    let gm = Mat::at(g, 0, out, 1); // G (N, out)
    if let Some(dx) = dx {
        gemm_ex((n, inp, out), MatMut::at(dx, 0, inp, 1), false, gm, Mat::at(w, 0, inp, 1), T::one(), true)?;
    }
    let gt = Mat::at(g, 0, 1, out);
    gemm_ex((out, inp, n), MatMut::at(dw, 0, inp, 1), false, gt, Mat::at(x, 0, inp, 1), T::one(), true)?;
    if let Some(db) = db {
        db.fill(T::zero());
        // Column sums per fixed block of rows, then the blocks in order: the same bits on any
        // number of threads.
        let out = out.max(1);
        let blocks: Vec<Vec<T>> = g
            .par_chunks(ROWS * out)
            .map(|gb| {
                let mut s = vec![T::zero(); out];
                for row in gb.chunks_exact(out) {
                    for (d, &v) in s.iter_mut().zip(row) {
                        *d += v;
                    }
                }
                s
            })
            .collect();
        for s in blocks {
            for (d, v) in db.iter_mut().zip(s) {
                *d += v;
            }
        }
    }
    Ok(())
}

/// Rows per parallel task of the row-wise loops here.
const ROWS: usize = 64;

/// `g ⊙ [y > 0]`: the gradient through a ReLU whose output was `y`.
pub(crate) fn relu_mask<T: Fl>(g: &[T], y: &[T], out: &mut Vec<T>) {
    out.clear();
    out.par_extend(g.par_iter().with_min_len(1 << 13).zip(y).map(|(&g, &y)| if y > T::zero() { g } else { T::zero() }));
}

type Grads = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

fn bwd<T: Fl>(op: &Linear, x: &Tensor, w: &Tensor, b: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Grads> {
    let (out, inp) = w.dims2()?;
    let grad = grad.contiguous()?;
    let (xh, wh, gh) = (Host::new(x, "linear")?, Host::new(w, "linear")?, Host::new(&grad, "linear")?);
    let (xv, wv, g) = (xh.slice::<T>()?, wh.slice::<T>()?, gh.slice::<T>()?);
    let n = g.len().checked_div(out).unwrap_or(0);
    let mut masked: Vec<T> = Vec::new();
    let g: &[T] = if op.relu {
        let yh = Host::new(res, "linear")?;
        relu_mask(g, yh.slice::<T>()?, &mut masked);
        &masked
    } else {
        g
    };
    let mut dx = x.track_op().then(|| vec![T::zero(); n * inp]); // (N, in) = G·W
    let mut dw = vec![T::zero(); out * inp]; // (out, in) = Gᵀ·X
    let mut db = b.track_op().then(|| vec![T::zero(); out]); // (out,) = Σ_rows G
    rows_bwd(xv, wv, g, (n, inp, out), dx.as_deref_mut(), &mut dw, db.as_deref_mut())?;
    let dx = dx.map(|v| tensor(v, x.dims())).transpose()?;
    let dw = w.track_op().then(|| tensor(dw, &[out, inp])).transpose()?;
    let db = db.map(|v| tensor(v, &[out])).transpose()?;
    Ok((dx, dw, db))
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "algen-linear"
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
        by_dtype!(s1.dtype(), "linear", fwd(self, (s1, l1), (s2, l2), (s3, l3)))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, b: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Grads> {
        by_dtype!(x.dtype(), "linear", bwd(self, x, w, b, res, grad))
    }
}

fn check(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<()> {
    match (x.dims().last(), w.dims()) {
        (Some(&i), &[o, wi]) if i == wi && b.dims() == [o] => Ok(()),
        _ => bail!(
            "linear: x {:?}, weight {:?}, bias {:?} do not fit (x: (.., in), weight: (out, in), bias: (out))",
            x.dims(),
            w.dims(),
            b.dims()
        ),
    }
}

/// `x (.., in) · wᵀ (in, out) + b (out)` → `(.., out)`, then ReLU when `relu`; one node.
pub fn linear(x: &Tensor, w: &Tensor, b: &Tensor, relu: bool) -> Result<Tensor> {
    check(x, w, b)?;
    float_cpu(x, "linear")?;
    x.contiguous()?.apply_op3(&w.contiguous()?, &b.contiguous()?, Linear { relu })
}

/// Reference: `broadcast_matmul` + `broadcast_add` (+ `relu`), plain candle ops.
pub fn linear_ref(x: &Tensor, w: &Tensor, b: &Tensor, relu: bool) -> Result<Tensor> {
    check(x, w, b)?;
    let y = x.broadcast_matmul(&w.t()?)?.broadcast_add(b)?; // (.., out)
    if relu {
        y.relu()
    } else {
        Ok(y)
    }
}
