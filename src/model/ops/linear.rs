//! `y = x·Wᵀ + b`, optionally followed by ReLU, as one graph node.
//!
//! Forward: the bias is written into the output first and the GEMM accumulates onto it, so the
//! bias costs no extra pass. Backward: dX = G·W, dW = Gᵀ·X (GEMMs reading transposes through
//! strides, no copies) and db = row-sum of G over contiguous rows — instead of candle's
//! generic strided `sum_keepdim` behind `broadcast_add` (DESIGN §7).

use super::{by_dtype, cpu_slice, float_cpu, gemm_ex, tensor, Fl, Host, Mat, MatMut};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

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
    let mut y: Vec<T> = Vec::with_capacity(n * out); // (N, out), each row starts as b
    for _ in 0..n {
        y.extend_from_slice(b);
    }
    let dst = MatMut::at(&mut y, 0, out, 1);
    let lhs = Mat::at(x, 0, inp, 1);
    let wt = Mat::at(w, 0, 1, inp); // Wᵀ (in, out) read through strides
    gemm_ex((n, out, inp), dst, true, lhs, wt, T::one(), true)?;
    if op.relu {
        for v in y.iter_mut() {
            *v = if *v > T::zero() { *v } else { T::zero() };
        }
    }
    let mut dims = xs.1.dims().to_vec();
    *dims.last_mut().expect("checked rank >= 1") = out;
    Ok((T::to_cpu_storage_owned(y), Shape::from(dims)))
}

type Grads = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

fn bwd<T: Fl>(op: &Linear, x: &Tensor, w: &Tensor, b: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Grads> {
    let (out, inp) = w.dims2()?;
    let grad = grad.contiguous()?;
    let (xh, wh, gh) = (Host::new(x, "linear")?, Host::new(w, "linear")?, Host::new(&grad, "linear")?);
    let (xv, wv, g) = (xh.slice::<T>()?, wh.slice::<T>()?, gh.slice::<T>()?);
    let n = g.len().checked_div(out).unwrap_or(0);
    let masked: Vec<T>;
    let g: &[T] = if op.relu {
        let yh = Host::new(res, "linear")?;
        let y = yh.slice::<T>()?;
        masked = g.iter().zip(y).map(|(&g, &y)| if y > T::zero() { g } else { T::zero() }).collect();
        &masked
    } else {
        g
    };
    let gm = Mat::at(g, 0, out, 1); // G (N, out)
    let dx = if x.track_op() {
        let mut dx = vec![T::zero(); n * inp]; // (N, in) = G·W
        let dst = MatMut::at(&mut dx, 0, inp, 1);
        gemm_ex((n, inp, out), dst, false, gm, Mat::at(wv, 0, inp, 1), T::one(), true)?;
        Some(tensor(dx, x.dims())?)
    } else {
        None
    };
    let dw = if w.track_op() {
        let mut dw = vec![T::zero(); out * inp]; // (out, in) = Gᵀ·X
        let gt = Mat::at(g, 0, 1, out);
        let dst = MatMut::at(&mut dw, 0, inp, 1);
        gemm_ex((out, inp, n), dst, false, gt, Mat::at(xv, 0, inp, 1), T::one(), true)?;
        Some(tensor(dw, &[out, inp])?)
    } else {
        None
    };
    let db = if b.track_op() {
        let mut db = vec![T::zero(); out]; // (out,) = Σ_rows G
        for row in g.chunks_exact(out.max(1)) {
            for (d, &v) in db.iter_mut().zip(row) {
                *d += v;
            }
        }
        Some(tensor(db, &[out])?)
    } else {
        None
    };
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
