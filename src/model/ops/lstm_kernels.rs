//! Host kernels of the fused LSTM recurrence (see `lstm.rs` for the contract): one GEMM per
//! time step over the whole batch, `Z_t = X_t + H_{t-1}·W_hhᵀ` written in place into the gate
//! buffer, the gate nonlinearities row by row, and backpropagation through time. Where the
//! CPU has AVX-512, `forward` and `backward` hand the recurrence to `lstm_recur` instead.
//!
//! Every reduction has a fixed order (GEMMs split only over output blocks, element-wise work
//! per batch row, rows in parallel), so results do not depend on the thread count.

use super::{exp_f32, gemm_ex, lstm_recur, Mat, MatMut};
use candle_core::{CpuStorage, Result};
use rayon::prelude::*;
use std::sync::Mutex;

/// Sizes: batch, time, hidden width.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dims {
    pub b: usize,
    pub t: usize,
    pub h: usize,
}

impl Dims {
    fn h4(&self) -> usize {
        4 * self.h
    }
}

/// Reusable host buffers of the LSTM ops (gates, cells and their gradients, `(B, T, 4H)` and
/// `(B, T, H)`): a training step frees and re-allocates the same large buffers at every layer,
/// and fresh ones cost page faults on zeroed pages. A taken buffer is cleared and filled, so
/// its old contents never reach a result.
pub(super) struct Pool<T>(Mutex<Vec<Vec<T>>>);

/// Buffers kept per element type, and the largest kept (so that one evaluation at a long
/// length does not pin its buffers).
const POOL_KEEP: usize = 6;
const POOL_MAX_BYTES: usize = 64 << 20;

static POOL_F32: Pool<f32> = Pool(Mutex::new(Vec::new()));
static POOL_F64: Pool<f64> = Pool(Mutex::new(Vec::new()));

impl<T: Copy + Send + Sync> Pool<T> {
    /// A vector of `n` copies of `fill`, reusing a kept buffer when there is one (large ones
    /// filled by the thread pool).
    pub fn take(&self, n: usize, fill: T) -> Vec<T> {
        let mut v = self.0.lock().map(|mut p| p.pop()).ok().flatten().unwrap_or_default();
        v.clear();
        if n < 1 << 15 {
            v.resize(n, fill);
            return v;
        }
        v.reserve(n);
        v.spare_capacity_mut()[..n].par_chunks_mut(1 << 14).for_each(|c| {
            for x in c {
                x.write(fill);
            }
        });
        // SAFETY: the capacity is at least n and the loop above wrote elements 0..n.
        unsafe { v.set_len(n) };
        v
    }

    /// Keeps `v` for a later [`Pool::take`] (or drops it when the pool is full or it is large).
    pub fn give(&self, v: Vec<T>) {
        if v.capacity() * std::mem::size_of::<T>() <= POOL_MAX_BYTES {
            if let Ok(mut p) = self.0.lock() {
                if p.len() < POOL_KEEP {
                    p.push(v);
                }
            }
        }
    }
}

/// Element types with the gate nonlinearities, applied to whole slices so that the f32 loops
/// vectorize ([`exp_f32`] has no libm call), and their buffer [`Pool`].
pub(super) trait Act: super::lstm_recur::Recur {
    /// The buffer pool of this element type.
    fn pool() -> &'static Pool<Self>;
    /// The vector inside a storage of this element type.
    fn storage_vec(s: CpuStorage) -> Option<Vec<Self>>;
    /// `x <- 1 / (1 + exp(-x))`.
    fn sigmoid_slice(xs: &mut [Self]);
    /// `x <- tanh(x)`.
    fn tanh_slice(xs: &mut [Self]);
}

impl Act for f32 {
    fn pool() -> &'static Pool<f32> {
        &POOL_F32
    }

    fn storage_vec(s: CpuStorage) -> Option<Vec<f32>> {
        match s {
            CpuStorage::F32(v) => Some(v),
            _ => None,
        }
    }

    fn sigmoid_slice(xs: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if super::kernels::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { sigmoid_avx2(xs) };
        }
        sigmoid_f32(xs)
    }

    fn tanh_slice(xs: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if super::kernels::has_avx2_fma() {
            // SAFETY: as above.
            return unsafe { tanh_avx2(xs) };
        }
        tanh_f32(xs)
    }
}

#[inline(always)]
fn sigmoid_f32(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = 1.0 / (1.0 + exp_f32(-*x));
    }
}

/// `tanh|x| = (1 − e)/(1 + e)` with `e = exp(−2|x|)` ∈ (0, 1] (no overflow), sign of x.
/// Absolute error below 2e-7.
#[inline(always)]
fn tanh_f32(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        let e = exp_f32(-2.0 * x.abs());
        *x = ((1.0 - e) / (1.0 + e)).copysign(*x);
    }
}

/// [`sigmoid_f32`] compiled with AVX2 and FMA: `exp_f32`'s fused multiply-adds become
/// instructions instead of libm calls, and the loop vectorizes. Same bits (`mul_add` is
/// exactly rounded either way).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sigmoid_avx2(xs: &mut [f32]) {
    sigmoid_f32(xs)
}

/// [`tanh_f32`] compiled with AVX2 and FMA (see [`sigmoid_avx2`]).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tanh_avx2(xs: &mut [f32]) {
    tanh_f32(xs)
}

impl Act for f64 {
    fn pool() -> &'static Pool<f64> {
        &POOL_F64
    }

    fn storage_vec(s: CpuStorage) -> Option<Vec<f64>> {
        match s {
            CpuStorage::F64(v) => Some(v),
            _ => None,
        }
    }

    fn sigmoid_slice(xs: &mut [f64]) {
        for x in xs.iter_mut() {
            *x = 1.0 / (1.0 + (-*x).exp());
        }
    }

    fn tanh_slice(xs: &mut [f64]) {
        for x in xs.iter_mut() {
            *x = x.tanh();
        }
    }
}

/// What the forward pass produces: the outputs `h (B, T, H)`, the activated gates
/// `[i | f | g | o]` `(B, T, 4H)` and the cell states `c (B, T, H)`.
pub(super) struct Fwd<T> {
    pub h: Vec<T>,
    pub gates: Vec<T>,
    pub cells: Vec<T>,
}

/// The forward state backward reads (borrowed from the saved or recomputed [`Fwd`]).
pub(super) struct State<'a, T> {
    pub h: &'a [T],
    pub gates: &'a [T],
    pub cells: &'a [T],
}

/// Forward over all steps with h0 = c0 = 0. `xproj (B, T, 4H)` (taken: it becomes the gate
/// buffer), `w (4H, H)`. `packed`: run [`lstm_recur`] where the CPU can (otherwise one
/// general GEMM per step over the whole batch).
pub(super) fn forward<T: Act>(z: Dims, xproj: Vec<T>, w: &[T], packed: bool) -> Result<Fwd<T>> {
    let (t, h, h4) = (z.t, z.h, z.h4());
    let mut gates = xproj; // (B, T, 4H): pre-activations, then gates in place
    let mut hs = vec![T::zero(); z.b * t * h]; // (B, T, H)
    let mut cells = T::pool().take(z.b * t * h, T::zero()); // (B, T, H)
    if z.b == 0 || t == 0 {
        return Ok(Fwd { h: hs, gates, cells });
    }
    if packed && lstm_recur::available() {
        lstm_recur::forward(z, &mut gates, &mut cells, &mut hs, w);
        return Ok(Fwd { h: hs, gates, cells });
    }
    for s in 0..t {
        if s > 0 {
            // Z_s (B, 4H) += H_{s-1} (B, H) · W_hhᵀ (H, 4H), rows strided by T in both buffers.
            let dst = MatMut::at(&mut gates, s * h4, t * h4, 1);
            let lhs = Mat::at(&hs, (s - 1) * h, t * h, 1);
            let wt = Mat::at(w, 0, 1, h);
            gemm_ex((z.b, h4, h), dst, true, lhs, wt, T::one(), true)?;
        }
        // Batch elements in parallel: each row's arithmetic is independent of the thread.
        gates
            .par_chunks_mut(t * h4)
            .zip(cells.par_chunks_mut(t * h))
            .zip(hs.par_chunks_mut(t * h))
            .for_each(|((zb, cb), hb)| cell_fwd(s, h, zb, cb, hb));
    }
    Ok(Fwd { h: hs, gates, cells })
}

/// Step `s` of one sequence (`zb (T, 4H)`, `cb`, `hb (T, H)`): activates row s of the gates
/// in place, then writes `c_s = f·c_{s-1} + i·g` and `h_s = o·tanh(c_s)`.
pub(super) fn cell_fwd<T: Act>(s: usize, h: usize, zb: &mut [T], cb: &mut [T], hb: &mut [T]) {
    let zr = &mut zb[s * 4 * h..(s + 1) * 4 * h];
    T::sigmoid_slice(&mut zr[..2 * h]); // i, f
    T::tanh_slice(&mut zr[2 * h..3 * h]); // g
    T::sigmoid_slice(&mut zr[3 * h..]); // o
    let (i, rest) = zr.split_at(h);
    let (f, rest) = rest.split_at(h);
    let (g, o) = rest.split_at(h);
    let (prev, cur) = cb.split_at_mut(s * h);
    let c = &mut cur[..h];
    if s > 0 {
        let cp = &prev[(s - 1) * h..];
        for ((((c, &cp), &f), &i), &g) in c.iter_mut().zip(cp).zip(f).zip(i).zip(g) {
            *c = f * cp + i * g;
        }
    } else {
        for ((c, &i), &g) in c.iter_mut().zip(i).zip(g) {
            *c = i * g;
        }
    }
    let hr = &mut hb[s * h..(s + 1) * h];
    hr.copy_from_slice(c);
    T::tanh_slice(hr);
    for (hv, &o) in hr.iter_mut().zip(o) {
        *hv *= o;
    }
}

/// Backpropagation through time. `grad (B, T, H)` is dLoss/dh; returns `dxproj (B, T, 4H)`
/// (= dZ, since xproj enters Z additively) and, when `want_w`, `dw (4H, H)`.
pub(super) fn backward<T: Act>(
    z: Dims,
    w: &[T],
    fwd: &State<'_, T>,
    grad: &[T],
    want_w: bool,
    packed: bool,
) -> Result<(Vec<T>, Option<Vec<T>>)> {
    let (t, h, h4) = (z.t, z.h, z.h4());
    let mut dz = T::pool().take(z.b * t * h4, T::zero()); // (B, T, 4H)
    if z.b == 0 || t == 0 {
        return Ok((dz, want_w.then(|| vec![T::zero(); h4 * h])));
    }
    if packed && lstm_recur::available() {
        lstm_recur::backward(z, w, fwd.gates, fwd.cells, grad, &mut dz);
        let dw = want_w.then(|| lstm_recur::grad_w(z, &dz, fwd.h));
        return Ok((dz, dw));
    }
    let mut dh_rec = vec![T::zero(); z.b * h]; // (B, H): dLoss/dh_s through step s+1
    let mut dc = vec![T::zero(); z.b * h]; // (B, H): dLoss/dc_s through step s+1
    let zeros = vec![T::zero(); h]; // c_{-1}
    for s in (0..t).rev() {
        if s + 1 < t {
            // dH_s (B, H) = dZ_{s+1} (B, 4H) · W_hh (4H, H).
            let dst = MatMut::at(&mut dh_rec, 0, h, 1);
            let lhs = Mat::at(&dz, (s + 1) * h4, t * h4, 1);
            gemm_ex((z.b, h, h4), dst, false, lhs, Mat::at(w, 0, h, 1), T::one(), true)?;
        }
        dz.par_chunks_mut(t * h4).zip(dc.par_chunks_mut(h)).enumerate().for_each(|(bi, (dzb, dcb))| {
            let seq = Seq {
                gates: &fwd.gates[bi * t * h4..(bi + 1) * t * h4],
                cells: &fwd.cells[bi * t * h..(bi + 1) * t * h],
                grad: &grad[bi * t * h..(bi + 1) * t * h],
                dh_rec: &dh_rec[bi * h..(bi + 1) * h],
                zeros: &zeros,
            };
            cell_bwd(s, h, &seq, dcb, dzb)
        });
    }
    let dw = want_w.then(|| grad_w(z, &dz, fwd.h)).transpose()?;
    Ok((dz, dw))
}

/// One sequence's forward state and incoming gradients, as backward reads them at a step.
pub(super) struct Seq<'a, T> {
    /// `(T, 4H)` activated gates.
    pub gates: &'a [T],
    /// `(T, H)` cell states.
    pub cells: &'a [T],
    /// `(T, H)` dLoss/dh from the layer above.
    pub grad: &'a [T],
    /// `(H)` dLoss/dh_s through step s+1.
    pub dh_rec: &'a [T],
    /// `(H)` zeros, the cell state before step 0.
    pub zeros: &'a [T],
}

/// Step `s` of one sequence: row s of `dzb (T, 4H)` = dLoss/dZ_s; `dc (H)` carries
/// dLoss/dc_s in and leaves as dLoss/dc_{s-1} through the forget gate.
pub(super) fn cell_bwd<T: Act>(s: usize, h: usize, q: &Seq<'_, T>, dc: &mut [T], dzb: &mut [T]) {
    let a = &q.gates[s * 4 * h..(s + 1) * 4 * h];
    let (i, f, g, o) = (&a[..h], &a[h..2 * h], &a[2 * h..3 * h], &a[3 * h..4 * h]);
    let cp = if s > 0 { &q.cells[(s - 1) * h..s * h] } else { &q.zeros[..h] };
    let gr = &q.grad[s * h..(s + 1) * h];
    let (dhr, dc) = (&q.dh_rec[..h], &mut dc[..h]);
    let d = &mut dzb[s * 4 * h..(s + 1) * 4 * h];
    let (di, rest) = d.split_at_mut(h);
    let (df, rest) = rest.split_at_mut(h);
    let (dg, d_o) = rest.split_at_mut(h);
    d_o.copy_from_slice(&q.cells[s * h..(s + 1) * h]);
    T::tanh_slice(d_o); // tanh(c_s), overwritten by dZ_o below
    let one = T::one();
    for j in 0..h {
        let tc = d_o[j];
        let dh = gr[j] + dhr[j];
        let dcj = dc[j] + dh * o[j] * (one - tc * tc);
        di[j] = dcj * g[j] * i[j] * (one - i[j]);
        df[j] = dcj * cp[j] * f[j] * (one - f[j]);
        dg[j] = dcj * i[j] * (one - g[j] * g[j]);
        d_o[j] = dh * tc * o[j] * (one - o[j]);
        dc[j] = dcj * f[j];
    }
}

/// `dW_hh (4H, H) = Σ_s dZ_sᵀ · H_{s-1}` as one GEMM over all B·T rows, against the
/// outputs shifted one step right (zero at s = 0, where h0 = 0).
fn grad_w<T: Act>(z: Dims, dz: &[T], hs: &[T]) -> Result<Vec<T>> {
    let (t, h, h4) = (z.t, z.h, z.h4());
    let mut shifted = T::pool().take(z.b * t * h, T::zero()); // (B, T, H): h_{s-1}
    for bi in 0..z.b {
        let base = bi * t * h;
        shifted[base + h..base + t * h].copy_from_slice(&hs[base..base + (t - 1) * h]);
    }
    let mut dw = vec![T::zero(); h4 * h];
    let n = z.b * t;
    let dzt = Mat::at(dz, 0, 1, h4); // dZᵀ (4H, B·T) read through strides
    gemm_ex((h4, h, n), MatMut::at(&mut dw, 0, h, 1), false, dzt, Mat::at(&shifted, 0, h, 1), T::one(), true)?;
    T::pool().give(shifted);
    Ok(dw)
}
