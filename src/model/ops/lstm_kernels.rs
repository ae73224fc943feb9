//! Host kernels of the fused LSTM recurrence (see `lstm.rs` for the contract): one GEMM per
//! time step over the whole batch, `Z_t = X_t + H_{t-1}·W_hhᵀ` written in place into the gate
//! buffer, the gate nonlinearities row by row, and backpropagation through time.
//!
//! Every reduction has a fixed order (GEMMs split only over output blocks, element-wise work
//! per row), so results do not depend on the thread count.

use super::{exp_f32, gemm_ex, Fl, Mat, MatMut};
use candle_core::Result;

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

/// Element types with the gate nonlinearities, applied to whole slices so that the f32 loops
/// vectorize ([`exp_f32`] has no libm call).
pub(super) trait Act: Fl {
    /// `x <- 1 / (1 + exp(-x))`.
    fn sigmoid_slice(xs: &mut [Self]);
    /// `x <- tanh(x)`.
    fn tanh_slice(xs: &mut [Self]);
}

impl Act for f32 {
    fn sigmoid_slice(xs: &mut [f32]) {
        for x in xs.iter_mut() {
            *x = 1.0 / (1.0 + exp_f32(-*x));
        }
    }

    /// `tanh|x| = (1 − e)/(1 + e)` with `e = exp(−2|x|)` ∈ (0, 1] (no overflow), sign of x.
    /// Absolute error below 2e-7.
    fn tanh_slice(xs: &mut [f32]) {
        for x in xs.iter_mut() {
            let e = exp_f32(-2.0 * x.abs());
            *x = ((1.0 - e) / (1.0 + e)).copysign(*x);
        }
    }
}

impl Act for f64 {
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

/// Forward over all steps with h0 = c0 = 0. `xproj (B, T, 4H)`, `w (4H, H)`.
pub(super) fn forward<T: Act>(z: Dims, xproj: &[T], w: &[T]) -> Result<Fwd<T>> {
    let (t, h, h4) = (z.t, z.h, z.h4());
    let mut gates = xproj.to_vec(); // (B, T, 4H): pre-activations, then gates in place
    let mut hs = vec![T::zero(); z.b * t * h]; // (B, T, H)
    let mut cells = vec![T::zero(); z.b * t * h]; // (B, T, H)
    if z.b == 0 || t == 0 {
        return Ok(Fwd { h: hs, gates, cells });
    }
    let mut tanh_c = vec![T::zero(); h];
    for s in 0..t {
        if s > 0 {
            // Z_s (B, 4H) += H_{s-1} (B, H) · W_hhᵀ (H, 4H), rows strided by T in both buffers.
            let dst = MatMut::at(&mut gates, s * h4, t * h4, 1);
            let lhs = Mat::at(&hs, (s - 1) * h, t * h, 1);
            let wt = Mat::at(w, 0, 1, h);
            gemm_ex((z.b, h4, h), dst, true, lhs, wt, T::one(), true)?;
        }
        for bi in 0..z.b {
            let row = (bi * t + s) * h;
            let zr = &mut gates[row * 4..row * 4 + h4];
            T::sigmoid_slice(&mut zr[..2 * h]); // i, f
            T::tanh_slice(&mut zr[2 * h..3 * h]); // g
            T::sigmoid_slice(&mut zr[3 * h..]); // o
            let (ifg, o) = zr.split_at(3 * h);
            let (i, f, g) = (&ifg[..h], &ifg[h..2 * h], &ifg[2 * h..]);
            let (prev, cur) = cells.split_at_mut(row);
            let c = &mut cur[..h];
            if s > 0 {
                let cp = &prev[row - h..];
                for j in 0..h {
                    c[j] = f[j] * cp[j] + i[j] * g[j];
                }
            } else {
                for j in 0..h {
                    c[j] = i[j] * g[j];
                }
            }
            tanh_c.copy_from_slice(c);
            T::tanh_slice(&mut tanh_c);
            for ((hv, &o), &tc) in hs[row..row + h].iter_mut().zip(o).zip(&tanh_c) {
                *hv = o * tc;
            }
        }
    }
    Ok(Fwd { h: hs, gates, cells })
}

/// Backpropagation through time. `grad (B, T, H)` is dLoss/dh; returns `dxproj (B, T, 4H)`
/// (= dZ, since xproj enters Z additively) and, when `want_w`, `dw (4H, H)`.
pub(super) fn backward<T: Act>(
    z: Dims,
    w: &[T],
    fwd: &State<'_, T>,
    grad: &[T],
    want_w: bool,
) -> Result<(Vec<T>, Option<Vec<T>>)> {
    let (t, h, h4) = (z.t, z.h, z.h4());
    let mut dz = vec![T::zero(); z.b * t * h4]; // (B, T, 4H)
    if z.b == 0 || t == 0 {
        return Ok((dz, want_w.then(|| vec![T::zero(); h4 * h])));
    }
    let mut dh_rec = vec![T::zero(); z.b * h]; // (B, H): dLoss/dh_s through step s+1
    let mut dc = vec![T::zero(); z.b * h]; // (B, H): dLoss/dc_s through step s+1
    let mut tanh_c = vec![T::zero(); h];
    for s in (0..t).rev() {
        if s + 1 < t {
            // dH_s (B, H) = dZ_{s+1} (B, 4H) · W_hh (4H, H).
            let dst = MatMut::at(&mut dh_rec, 0, h, 1);
            let lhs = Mat::at(&dz, (s + 1) * h4, t * h4, 1);
            gemm_ex((z.b, h, h4), dst, false, lhs, Mat::at(w, 0, h, 1), T::one(), true)?;
        }
        for bi in 0..z.b {
            let row = (bi * t + s) * h;
            let a = &fwd.gates[row * 4..row * 4 + h4];
            let (i, f, g, o) = (&a[..h], &a[h..2 * h], &a[2 * h..3 * h], &a[3 * h..]);
            let c = &fwd.cells[row..row + h];
            let cp = (s > 0).then(|| &fwd.cells[row - h..row]);
            tanh_c.copy_from_slice(c);
            T::tanh_slice(&mut tanh_c);
            let gr = &grad[row..row + h];
            let (dhr, dcr) = (&dh_rec[bi * h..(bi + 1) * h], &mut dc[bi * h..(bi + 1) * h]);
            let d = &mut dz[row * 4..row * 4 + h4];
            let one = T::one();
            for j in 0..h {
                let dh = gr[j] + dhr[j];
                let tc = tanh_c[j];
                let dcj = dcr[j] + dh * o[j] * (one - tc * tc);
                let cpj = cp.map_or(T::zero(), |p| p[j]);
                d[j] = dcj * g[j] * i[j] * (one - i[j]); // d pre-activation of i
                d[h + j] = dcj * cpj * f[j] * (one - f[j]); // f
                d[2 * h + j] = dcj * i[j] * (one - g[j] * g[j]); // g
                d[3 * h + j] = dh * tc * o[j] * (one - o[j]); // o
                dcr[j] = dcj * f[j];
            }
        }
    }
    let dw = want_w.then(|| grad_w(z, &dz, fwd.h)).transpose()?;
    Ok((dz, dw))
}

/// `dW_hh (4H, H) = Σ_s dZ_sᵀ · H_{s-1}` as one GEMM over all B·T rows, against the
/// outputs shifted one step right (zero at s = 0, where h0 = 0).
fn grad_w<T: Act>(z: Dims, dz: &[T], hs: &[T]) -> Result<Vec<T>> {
    let (t, h, h4) = (z.t, z.h, z.h4());
    let mut shifted = vec![T::zero(); z.b * t * h]; // (B, T, H): h_{s-1}
    for bi in 0..z.b {
        let base = bi * t * h;
        shifted[base + h..base + t * h].copy_from_slice(&hs[base..base + (t - 1) * h]);
    }
    let mut dw = vec![T::zero(); h4 * h];
    let n = z.b * t;
    let dzt = Mat::at(dz, 0, 1, h4); // dZᵀ (4H, B·T) read through strides
    gemm_ex((h4, h, n), MatMut::at(&mut dw, 0, h, 1), false, dzt, Mat::at(&shifted, 0, h, 1), T::one(), true)?;
    Ok(dw)
}
