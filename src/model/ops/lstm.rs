//! The LSTM recurrence (Hochreiter & Schmidhuber 1997, with a forget gate; PyTorch's
//! `nn.LSTM` equations) over a whole sequence as one graph node.
//!
//! Input is the input projection for every step, `xproj (B, T, 4H) = x·W_ihᵀ + b_ih + b_hh`,
//! computed outside the recurrence as one large GEMM (`lstm_layer` fuses the two into one node,
//! which is what `model::lstm` uses), and the recurrent
//! weight `w_hh (4H, H)`. With h0 = c0 = 0 and gate order i, f, g, o:
//!
//! ```text
//! z_t = xproj_t + h_{t-1}·W_hhᵀ          (B, 4H), one GEMM per step over the batch
//! i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh(z_g)
//! c_t = f·c_{t-1} + i·g;  h_t = o·tanh(c_t)
//! ```
//!
//! Output is `h (B, T, H)` for every step. The activated gates and cell states are kept for
//! backward when a gradient can flow (like attention's probabilities); otherwise they are
//! recomputed if backward ever asks. Backward is backpropagation through time: one GEMM per
//! step for dh through W_hh, and one GEMM over all steps for dW_hh.
//!
//! On a CPU with AVX-512 the recurrence runs packed (`lstm_recur`): `W_hh` packed once per
//! call, and blocks of batch rows that each run every step (product, gates, cell) with no
//! synchronisation between steps; [`lstm_general`] keeps the per-step GEMM over the batch.

use super::lstm_kernels::{backward, forward, Act, Dims, Fwd, State};
use super::{float_cpu, tensor, Host};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor};
use std::sync::Mutex;

/// The saved forward state: activated gates `(B, T, 4H)` and cell states `(B, T, H)`.
type Saved = (CpuStorage, CpuStorage);

struct Lstm {
    /// Whether the recurrence may run packed (`lstm_recur`); false: the general GEMM per step.
    packed: bool,
    save: bool,
    saved: Mutex<Option<Saved>>,
}

fn dims(x: &[usize], w: &[usize]) -> Result<Dims> {
    match (x, w) {
        (&[b, t, h4], &[wh4, h]) if h > 0 && h4 == 4 * h && wh4 == h4 => Ok(Dims { b, t, h }),
        _ => bail!("lstm: xproj {x:?} and w_hh {w:?} do not fit (xproj: (B, T, 4H), w_hh: (4H, H), H > 0)"),
    }
}

impl Lstm {
    fn fwd<T: Act>(&self, xs: (&CpuStorage, &Layout), ws: (&CpuStorage, &Layout)) -> Result<(CpuStorage, Shape)> {
        let z = dims(xs.1.dims(), ws.1.dims())?;
        let x = super::cpu_slice::<T>(xs.0, xs.1, "lstm")?;
        let w = super::cpu_slice::<T>(ws.0, ws.1, "lstm")?;
        let Fwd { h, gates, cells } = forward(z, x.to_vec(), w, self.packed)?;
        if self.save {
            let saved = (T::to_cpu_storage_owned(gates), T::to_cpu_storage_owned(cells));
            *self.saved.lock().expect("lstm saved-state lock") = Some(saved);
        }
        Ok((T::to_cpu_storage_owned(h), Shape::from((z.b, z.t, z.h))))
    }

    fn bwd<T: Act>(&self, x: &Tensor, w: &Tensor, res: &Tensor, grad: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let z = dims(x.dims(), w.dims())?;
        let grad = grad.contiguous()?;
        let (xh, wh, hh, gh) =
            (Host::new(x, "lstm")?, Host::new(w, "lstm")?, Host::new(res, "lstm")?, Host::new(&grad, "lstm")?);
        let (xv, wv, g) = (xh.slice::<T>()?, wh.slice::<T>()?, gh.slice::<T>()?);
        // Taken, not cloned: a backward pass calls this once; a second one recomputes.
        let saved = self.saved.lock().expect("lstm saved-state lock").take();
        let recomputed;
        let (gates, cells): (&[T], &[T]) = match &saved {
            Some((gates, cells)) => (T::cpu_storage_as_slice(gates)?, T::cpu_storage_as_slice(cells)?),
            None => {
                recomputed = forward(z, xv.to_vec(), wv, self.packed)?;
                (&recomputed.gates, &recomputed.cells)
            }
        };
        let state = State { h: hh.slice::<T>()?, gates, cells };
        let (dx, dw) = backward(z, wv, &state, g, w.track_op(), self.packed)?;
        let dw = dw.map(|v| tensor(v, w.dims())).transpose()?;
        Ok((tensor(dx, x.dims())?, dw))
    }
}

impl CustomOp2 for Lstm {
    fn name(&self) -> &'static str {
        "algen-lstm"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        match s1.dtype() {
            DType::F32 => self.fwd::<f32>((s1, l1), (s2, l2)),
            DType::F64 => self.fwd::<f64>((s1, l1), (s2, l2)),
            dt => bail!("lstm: unsupported dtype {dt:?} (f32 or f64)"),
        }
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dx, dw) = match x.dtype() {
            DType::F32 => self.bwd::<f32>(x, w, res, grad)?,
            DType::F64 => self.bwd::<f64>(x, w, res, grad)?,
            dt => bail!("lstm: unsupported dtype {dt:?} (f32 or f64)"),
        };
        Ok((x.track_op().then_some(dx), dw))
    }
}

fn check(xproj: &Tensor, w_hh: &Tensor) -> Result<Dims> {
    if xproj.dtype() != w_hh.dtype() {
        bail!("lstm: xproj is {:?} but w_hh is {:?}", xproj.dtype(), w_hh.dtype())
    }
    dims(xproj.dims(), w_hh.dims())
}

/// Fused LSTM recurrence: `xproj (B, T, 4H)`, `w_hh (4H, H)` → `h (B, T, H)`, h0 = c0 = 0.
/// Where the CPU has FMA (x86-64 AVX2 or AVX-512) the recurrence runs with `W_hh` packed
/// once and blocks of batch rows stepping through time on their own (`lstm_recur`).
pub fn lstm(xproj: &Tensor, w_hh: &Tensor) -> Result<Tensor> {
    lstm_with(xproj, w_hh, true)
}

/// [`lstm`] with one general GEMM over the whole batch per time step (the path of CPUs
/// without FMA): the check of the packed recurrence (tests/lstm_recur.rs).
pub fn lstm_general(xproj: &Tensor, w_hh: &Tensor) -> Result<Tensor> {
    lstm_with(xproj, w_hh, false)
}

fn lstm_with(xproj: &Tensor, w_hh: &Tensor, packed: bool) -> Result<Tensor> {
    check(xproj, w_hh)?;
    float_cpu(xproj, "lstm")?;
    let save = xproj.track_op() || w_hh.track_op();
    let op = Lstm { packed, save, saved: Mutex::new(None) };
    xproj.contiguous()?.apply_op2(&w_hh.contiguous()?, op)
}

/// σ(x) = 1 / (1 + exp(−x)) from plain candle ops (each with a backward).
fn sigmoid_ref(x: &Tensor) -> Result<Tensor> {
    (x.neg()?.exp()? + 1.0)?.recip()
}

/// Reference LSTM from plain candle ops, step by step (autograd differentiates it).
pub fn lstm_ref(xproj: &Tensor, w_hh: &Tensor) -> Result<Tensor> {
    let Dims { b, t, h } = check(xproj, w_hh)?;
    let mut hp = Tensor::zeros((b, h), xproj.dtype(), xproj.device())?; // (B, H)
    let mut c = hp.clone(); // (B, H)
    let wt = w_hh.t()?; // (H, 4H)
    let mut outs = Vec::with_capacity(t);
    for s in 0..t {
        let z = (xproj.narrow(1, s, 1)?.squeeze(1)? + hp.matmul(&wt)?)?; // (B, 4H)
        let i = sigmoid_ref(&z.narrow(1, 0, h)?)?;
        let f = sigmoid_ref(&z.narrow(1, h, h)?)?;
        let g = z.narrow(1, 2 * h, h)?.tanh()?;
        let o = sigmoid_ref(&z.narrow(1, 3 * h, h)?)?;
        c = ((f * c)? + (i * g)?)?;
        hp = (o * c.tanh()?)?;
        outs.push(hp.clone());
    }
    if outs.is_empty() {
        return Tensor::zeros((b, 0, h), xproj.dtype(), xproj.device());
    }
    Tensor::stack(&outs, 1) // (B, T, H)
}
