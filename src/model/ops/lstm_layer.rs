//! A whole LSTM layer as one graph node: the input projection and the recurrence
//! ([`super::lstm`]) fused, so that the `(B, T, 4H)` pre-activations and their gradient never
//! become candle tensors (no output copy, no zeroed gradient buffer and add per edge in
//! backward, DESIGN §7). Two inputs:
//!
//! - [`lstm_tokens`]: token ids and a `(V, 4H)` table of each token's projection (the first
//!   layer, see `model::lstm`); gates start as table rows, and backward sums dZ per token
//!   into the table's gradient (the embedding op's scatter, in the same order).
//! - [`lstm_rows`]: rows `x (B, T, in)` and `[W_ih | b] (4H, in + 1)`; gates start as
//!   `x·W_ihᵀ + b` (the linear op's kernel), and backward gives dX = dZ·W_ih,
//!   dW_ih = dZᵀ·X, db = Σ_rows dZ (the linear op's kernel).
//!
//! Same arithmetic, in the same order, as the separate nodes (`embed` or `linear`, then
//! `lstm`): results are bit-identical to them (tests/lstm.rs).

use super::linear::{rows_bwd, rows_fwd};
use super::lstm_kernels::{backward, forward, Act, Dims, Fwd, State};
use super::lstm_recur::{self, Src};
use super::{cpu_slice, float_cpu, tensor, Host};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

struct Layer {
    /// `Some(ids)`: input is token ids into a table (op 2); `None`: rows (op 3).
    ids: Option<Arc<Vec<u32>>>,
    bt: (usize, usize),
    save: bool,
    /// The saved forward state: activated gates `(B, T, 4H)` and cell states `(B, T, H)`.
    saved: Mutex<Option<(CpuStorage, CpuStorage)>>,
}

/// `[W_ih | b] (4H, in + 1)` → `W_ih (4H, in)` and `b (4H)` as separate host vectors.
fn split_wb<T: Copy>(wb: &[T], inp: usize) -> (Vec<T>, Vec<T>) {
    let (mut w, mut b) = (Vec::with_capacity(wb.len()), Vec::new());
    for row in wb.chunks_exact(inp + 1) {
        w.extend_from_slice(&row[..inp]);
        b.push(row[inp]);
    }
    (w, b)
}

impl Layer {
    fn dims(&self, w_hh: &[usize]) -> Result<Dims> {
        match w_hh {
            &[h4, h] if h > 0 && h4 == 4 * h => Ok(Dims { b: self.bt.0, t: self.bt.1, h }),
            _ => bail!("lstm layer: w_hh {w_hh:?} must be (4H, H), H > 0"),
        }
    }

    /// The pre-activations `(B, T, 4H)`: table rows by id, or `x·W_ihᵀ + b`.
    fn preact<T: Act>(&self, z: Dims, input: &[T], wb: Option<&[T]>) -> Result<Vec<T>> {
        let h4 = 4 * z.h;
        match (&self.ids, wb) {
            (Some(ids), _) => {
                if let Some(&id) = ids.iter().find(|&&id| (id as usize + 1) * h4 > input.len()) {
                    bail!("lstm layer: token id {id} is outside the {}-row input table", input.len() / h4.max(1))
                }
                let mut g = T::pool().take(0, T::zero());
                g.reserve(ids.len() * h4);
                let rows = g.spare_capacity_mut()[..ids.len() * h4].par_chunks_mut(h4).zip(ids.par_iter());
                rows.for_each(|(dst, &id)| {
                    for (d, &v) in dst.iter_mut().zip(&input[id as usize * h4..(id as usize + 1) * h4]) {
                        d.write(v);
                    }
                });
                // SAFETY: the capacity is at least ids.len()·h4, and every row of h4 was
                // written above (the ids were checked to name rows of `input`).
                unsafe { g.set_len(ids.len() * h4) };
                Ok(g)
            }
            (None, Some(wb)) if lstm_recur::available() => {
                // g = b, then += x·W_ihᵀ with W_ih packed ([W_ih | b] read in place).
                let (inp, n) = (wb.len() / h4 - 1, z.b * z.t);
                let bias: Vec<T> = (0..h4).map(|j| wb[j * (inp + 1) + inp]).collect();
                let mut g = T::pool().take(n * h4, T::zero());
                g.par_chunks_mut(h4).for_each(|row| row.copy_from_slice(&bias));
                let w_t = Src { src: wb, row: Some, cs: inp + 1 }; // W_ihᵀ (in, 4H)
                lstm_recur::product((n, h4, inp), input, (inp, 1), &w_t, &mut g, true);
                Ok(g)
            }
            (None, Some(wb)) => {
                let inp = wb.len() / h4 - 1;
                let (w, b) = split_wb(wb, inp);
                let mut g = T::pool().take(0, T::zero());
                rows_fwd(input, &w, &b, (z.b * z.t, inp, h4), false, &mut g)?;
                Ok(g)
            }
            (None, None) => bail!("lstm layer: rows input without [W_ih | b]"),
        }
    }

    fn fwd<T: Act>(&self, input: &[T], wb: Option<&[T]>, w_hh: (&CpuStorage, &Layout)) -> Result<(CpuStorage, Shape)> {
        let z = self.dims(w_hh.1.dims())?;
        let w = cpu_slice::<T>(w_hh.0, w_hh.1, "lstm layer")?;
        let Fwd { h, gates, cells } = forward(z, self.preact(z, input, wb)?, w, true)?;
        match self.save {
            true => {
                let saved = (T::to_cpu_storage_owned(gates), T::to_cpu_storage_owned(cells));
                *self.saved.lock().expect("lstm layer saved-state lock") = Some(saved);
            }
            false => {
                T::pool().give(gates);
                T::pool().give(cells);
            }
        }
        Ok((T::to_cpu_storage_owned(h), Shape::from((z.b, z.t, z.h))))
    }

    /// dLoss/dZ `(B, T, 4H)` and dW_hh from the output gradient (gates saved or recomputed).
    fn dz<T: Act>(&self, input: &[T], wb: Option<&[T]>, w_hh: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Dz<T>> {
        let z = self.dims(w_hh.dims())?;
        let grad = grad.contiguous()?;
        let (wh, hh, gh) =
            (Host::new(w_hh, "lstm layer")?, Host::new(res, "lstm layer")?, Host::new(&grad, "lstm layer")?);
        let wv = wh.slice::<T>()?;
        let saved = self.saved.lock().expect("lstm layer saved-state lock").take();
        let recomputed;
        let (gates, cells): (&[T], &[T]) = match &saved {
            Some((gates, cells)) => (T::cpu_storage_as_slice(gates)?, T::cpu_storage_as_slice(cells)?),
            None => {
                recomputed = forward(z, self.preact(z, input, wb)?, wv, true)?;
                (&recomputed.gates, &recomputed.cells)
            }
        };
        let state = State { h: hh.slice::<T>()?, gates, cells };
        let (dz, dw) = backward(z, wv, &state, gh.slice::<T>()?, w_hh.track_op(), true)?;
        for v in saved.into_iter().flat_map(|(g, c)| [g, c]).filter_map(T::storage_vec) {
            T::pool().give(v);
        }
        Ok(Dz { z, dz, dw_hh: dw.map(|v| tensor(v, w_hh.dims())).transpose()? })
    }
}

struct Dz<T> {
    z: Dims,
    dz: Vec<T>,
    dw_hh: Option<Tensor>,
}

fn bwd_tokens<T: Act>(op: &Layer, table: &Tensor, w_hh: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Grads2> {
    let th = Host::new(table, "lstm layer")?;
    let Dz { z, dz, dw_hh } = op.dz::<T>(th.slice::<T>()?, None, w_hh, res, grad)?;
    let ids = op.ids.as_ref().expect("token layer");
    let dtable = match table.track_op() {
        true => {
            let h4 = 4 * z.h;
            let mut out = vec![T::zero(); table.elem_count()];
            for (i, gr) in dz.chunks_exact(h4).enumerate() {
                let r = ids[i] as usize;
                for (o, &v) in out[r * h4..(r + 1) * h4].iter_mut().zip(gr) {
                    *o += v * T::one();
                }
            }
            Some(tensor(out, table.dims())?)
        }
        false => None,
    };
    T::pool().give(dz);
    Ok((dtable, dw_hh))
}

type Grads2 = (Option<Tensor>, Option<Tensor>);
type Grads3 = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

fn bwd_rows<T: Act>(op: &Layer, x: &Tensor, wb: &Tensor, w_hh: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Grads3> {
    let (xh, wbh) = (Host::new(x, "lstm layer")?, Host::new(wb, "lstm layer")?);
    let (xv, wbv) = (xh.slice::<T>()?, wbh.slice::<T>()?);
    let Dz { z, dz, dw_hh } = op.dz::<T>(xv, Some(wbv), w_hh, res, grad)?;
    let (h4, inp, n) = (4 * z.h, x.dims()[2], z.b * z.t);
    let mut dx = x.track_op().then(|| vec![T::zero(); n * inp]);
    let (mut dw, mut db) = (vec![T::zero(); h4 * inp], vec![T::zero(); h4]);
    match lstm_recur::available() {
        true => {
            // dX = dZ·W_ih, dW_ih = dZᵀ·X, db = Σ_rows dZ (rows in order).
            if let Some(dx) = dx.as_deref_mut() {
                let w = Src { src: wbv, row: |kk| Some(kk * (inp + 1)), cs: 1 }; // W_ih (4H, in)
                lstm_recur::product((n, inp, h4), &dz, (h4, 1), &w, dx, false);
            }
            if wb.track_op() {
                let x = Src { src: xv, row: |kk| Some(kk * inp), cs: 1 }; // X (B·T, in)
                lstm_recur::product((h4, inp, n), &dz, (1, h4), &x, &mut dw, false);
                for row in dz.chunks_exact(h4) {
                    for (d, &v) in db.iter_mut().zip(row) {
                        *d += v;
                    }
                }
            }
        }
        false => {
            let (w, _) = split_wb(wbv, inp);
            rows_bwd(xv, &w, &dz, (n, inp, h4), dx.as_deref_mut(), &mut dw, Some(&mut db))?;
        }
    }
    T::pool().give(dz);
    let dwb = match wb.track_op() {
        true => {
            let mut v = Vec::with_capacity(h4 * (inp + 1));
            for (row, &b) in dw.chunks_exact(inp.max(1)).zip(&db) {
                v.extend_from_slice(&row[..inp]);
                v.push(b);
            }
            Some(tensor(v, wb.dims())?)
        }
        false => None,
    };
    Ok((dx.map(|v| tensor(v, x.dims())).transpose()?, dwb, dw_hh))
}

impl CustomOp2 for Layer {
    fn name(&self) -> &'static str {
        "algen-lstm-tokens"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        match s1.dtype() {
            DType::F32 => self.fwd::<f32>(cpu_slice(s1, l1, "lstm layer")?, None, (s2, l2)),
            DType::F64 => self.fwd::<f64>(cpu_slice(s1, l1, "lstm layer")?, None, (s2, l2)),
            dt => bail!("lstm layer: unsupported dtype {dt:?} (f32 or f64)"),
        }
    }

    fn bwd(&self, table: &Tensor, w_hh: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Grads2> {
        match table.dtype() {
            DType::F32 => bwd_tokens::<f32>(self, table, w_hh, res, grad),
            DType::F64 => bwd_tokens::<f64>(self, table, w_hh, res, grad),
            dt => bail!("lstm layer: unsupported dtype {dt:?} (f32 or f64)"),
        }
    }
}

impl CustomOp3 for Layer {
    fn name(&self) -> &'static str {
        "algen-lstm-rows"
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
        match s1.dtype() {
            DType::F32 => {
                self.fwd::<f32>(cpu_slice(s1, l1, "lstm layer")?, Some(cpu_slice(s2, l2, "lstm layer")?), (s3, l3))
            }
            DType::F64 => {
                self.fwd::<f64>(cpu_slice(s1, l1, "lstm layer")?, Some(cpu_slice(s2, l2, "lstm layer")?), (s3, l3))
            }
            dt => bail!("lstm layer: unsupported dtype {dt:?} (f32 or f64)"),
        }
    }

    fn bwd(&self, x: &Tensor, wb: &Tensor, w_hh: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Grads3> {
        match x.dtype() {
            DType::F32 => bwd_rows::<f32>(self, x, wb, w_hh, res, grad),
            DType::F64 => bwd_rows::<f64>(self, x, wb, w_hh, res, grad),
            dt => bail!("lstm layer: unsupported dtype {dt:?} (f32 or f64)"),
        }
    }
}

fn same_dtype(a: &Tensor, w_hh: &Tensor) -> Result<()> {
    float_cpu(a, "lstm layer")?;
    if a.dtype() != w_hh.dtype() {
        bail!("lstm layer: input is {:?} but w_hh is {:?}", a.dtype(), w_hh.dtype())
    }
    Ok(())
}

/// First layer: `table (V, 4H)` of each token's `x·W_ihᵀ + b`, `ids` (`B·T`, row-major),
/// `w_hh (4H, H)` → `h (B, T, H)`, h0 = c0 = 0.
pub fn lstm_tokens(table: &Tensor, ids: &[u32], bt: (usize, usize), w_hh: &Tensor) -> Result<Tensor> {
    same_dtype(table, w_hh)?;
    let (v, h4) = table.dims2()?;
    if ids.len() != bt.0 * bt.1 || w_hh.dims().first() != Some(&h4) {
        bail!(
            "lstm layer: {} ids for ({}, {}), table {:?}, w_hh {:?}",
            ids.len(),
            bt.0,
            bt.1,
            table.dims(),
            w_hh.dims()
        )
    }
    if let Some(&bad) = ids.iter().find(|&&i| i as usize >= v) {
        bail!("lstm layer: token id {bad} is outside the vocabulary of {v} tokens")
    }
    let save = table.track_op() || w_hh.track_op();
    let op = Layer { ids: Some(Arc::new(ids.to_vec())), bt, save, saved: Mutex::new(None) };
    table.contiguous()?.apply_op2(&w_hh.contiguous()?, op)
}

/// Later layers: `x (B, T, in)`, `[W_ih | b] (4H, in + 1)`, `w_hh (4H, H)` → `h (B, T, H)`.
pub fn lstm_rows(x: &Tensor, wb: &Tensor, w_hh: &Tensor) -> Result<Tensor> {
    same_dtype(x, w_hh)?;
    let (b, t, inp) = x.dims3()?;
    if wb.dims() != [w_hh.dims()[0], inp + 1] || wb.dtype() != x.dtype() {
        bail!("lstm layer: x {:?}, [W_ih | b] {:?}, w_hh {:?} do not fit", x.dims(), wb.dims(), w_hh.dims())
    }
    let save = x.track_op() || wb.track_op() || w_hh.track_op();
    let op = Layer { ids: None, bt: (b, t), save, saved: Mutex::new(None) };
    x.contiguous()?.apply_op3(&wb.contiguous()?, &w_hh.contiguous()?, op)
}
