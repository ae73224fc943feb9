//! The training kernels of the fused attention core for small heads (f32, head width 4, 8 or
//! 16, AVX-512): one (batch, head) pair's forward that keeps the weights `P`, and its
//! backward.
//!
//! With a head width of 8 and W's lengths (tens of tokens), the blocked path spends its time
//! in GEMM calls whose inner dimension is 8 or whose operands are a few rows: packing and
//! edge kernels, not multiplication. Here, as in [`super::attention_eval`], keys and values
//! are transposed once per head to `(dh, T)` (zero padded to 16-key chunks), and each query
//! row runs over its keys sixteen at a time in registers:
//! - forward: scores `(scale·q)·k` with the causal limit and padding mask (`-inf`), their
//!   maximum, `e = 2^((s − max)·log2 e)` with the sum and `Σ e·v`, then `P = e / Σ e` written
//!   to the row of `probs` (every entry: hidden keys get 0) and the context `Σ e·v / Σ e`;
//! - backward, from `P` alone (hidden keys have `P = 0`, so no mask is needed):
//!   `dP = dctx·Vᵀ`, `D = Σ_j P·dP`, `dS = P ⊙ (dP − D)`, `dQ = scale·dS·K`,
//!   `dK += scale·dSᵀ·Q` and `dV += Pᵀ·dctx` (the last two accumulated per key in `(dh, T)`
//!   buffers and transposed back at the end).
//!
//! `P` has the layout of the blocked path (`(T, T)`, row stride `T`), so either forward
//! pairs with either backward. Each output is summed in one fixed order: results are
//! bit-identical whatever the thread count, and equal the blocked path's up to rounding.

use super::attention_eval::{exp2_16, EvalHead};
use super::attention_simd::{available, chunk_masks, covers_dims, fits, lanes, reduce_into, transpose, Lines, KC};

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// One (batch, head) backward task: Q, K, V as strided views of the packed `qkv`, the
/// head's weights `P (T, T)`, the context gradient rows, and where dQ, dK, dV go.
pub(crate) struct BackHead<'a, T> {
    pub t: usize,
    pub dh: usize,
    pub scale: T,
    /// Element `(i, c)` of Q at `qkv[q_off + i·rs + c]`; K and V at `k_off`, `v_off`.
    pub qkv: &'a [T],
    pub rs: usize,
    pub q_off: usize,
    pub k_off: usize,
    pub v_off: usize,
    /// `P (T, T)`, row stride `T`.
    pub probs: &'a [T],
    /// dctx `(i, c)` at `g[g_off + i·g_rs + c]`.
    pub g: &'a [T],
    pub g_off: usize,
    pub g_rs: usize,
    /// dQ `(i, c)` at `out[dq_off + i·o_rs + c]`, dK at `dk_off`, dV at `dv_off` (overwritten).
    pub out: &'a mut [T],
    pub dq_off: usize,
    pub dk_off: usize,
    pub dv_off: usize,
    pub o_rs: usize,
}

/// Whether [`backward`] runs a head of width `dh` on this CPU (no score-bias gradient).
pub(crate) fn covers_backward(dh: usize) -> bool {
    covers_dims(dh) && available()
}

/// Forward of one head, keeping `P` in `probs (T, T)`. Call only when
/// [`super::attention_eval::covers`] said yes.
pub(super) fn forward(a: EvalHead<'_, f32>, probs: &mut [f32]) {
    assert!(a.runnable() && probs.len() >= a.t * a.t, "attention_train: operands out of bounds or kernel unavailable");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F and FMA are available and every view is in bounds (asserted above).
    unsafe {
        match a.dh {
            4 => fwd::<4>(a, probs),
            8 => fwd::<8>(a, probs),
            _ => fwd::<16>(a, probs),
        }
    }
}

/// Backward of one head. Call only when [`covers_backward`] said yes.
pub(super) fn backward(b: BackHead<'_, f32>) {
    let n = b.qkv.len();
    let outs = [b.dq_off, b.dk_off, b.dv_off];
    assert!(
        [b.q_off, b.k_off, b.v_off].iter().all(|&o| fits(o, b.t, b.dh, b.rs, n))
            && fits(b.g_off, b.t, b.dh, b.g_rs, b.g.len())
            && outs.iter().all(|&o| fits(o, b.t, b.dh, b.o_rs, b.out.len()))
            && b.probs.len() >= b.t * b.t
            && b.o_rs * KC < i32::MAX as usize
            && covers_backward(b.dh),
        "attention_train: operands out of bounds or kernel unavailable"
    );
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F and FMA are available and every view is in bounds (asserted above).
    unsafe {
        match b.dh {
            4 => bwd::<4>(b),
            8 => bwd::<8>(b),
            _ => bwd::<16>(b),
        }
    }
}

/// Query rows whose dot products with the keys run together: four independent chains of
/// fused multiply-adds per key chunk, so that their latency is hidden.
const R: usize = 4;

/// The forward for head width `DH`: scores for [`R`] query rows at a time, then per row the
/// softmax, `P` and the context.
///
/// # Safety
/// AVX-512F and FMA; the views in `a` and `probs` in bounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn fwd<const DH: usize>(a: EvalHead<'_, f32>, probs: &mut [f32]) {
    let t = a.t;
    let chunks = t.div_ceil(KC);
    let tp = chunks * KC;
    let kt = transpose::<DH>(a.qkv, a.k_off, a.rs, t, tp);
    let vt = transpose::<DH>(a.qkv, a.v_off, a.rs, t, tp);
    let masks = chunk_masks(a.keep, t, chunks);
    let vtp = vt.as_ptr();
    let mut e = Lines::zeros(R * tp);
    let log2e = _mm512_set1_ps(std::f32::consts::LOG2_E);
    for i0 in (0..t).step_by(R) {
        let rows = R.min(t - i0);
        let nch = if a.causal { (i0 + rows).div_ceil(KC) } else { chunks };
        let mut q = [[0f32; DH]; R];
        for (r, q) in q.iter_mut().enumerate().take(rows) {
            for (x, &y) in q.iter_mut().zip(&a.qkv[a.q_off + (i0 + r) * a.rs..][..DH]) {
                *x = a.scale * y;
            }
        }
        let vmax = scores::<DH>(&q, &kt, tp, &masks, a.causal.then_some(i0), nch, &mut e);
        for (r, vmax) in vmax.iter().enumerate().take(rows) {
            let i = i0 + r;
            let row = &mut probs[i * t..(i + 1) * t];
            let ctx = &mut a.out[a.o_off + i * a.o_rs..][..DH];
            let max = _mm512_reduce_max_ps(*vmax);
            if max == f32::NEG_INFINITY {
                // The query sees no key: zero weights and context, as the row softmax gives.
                row.fill(0.0);
                ctx.fill(0.0);
                continue;
            }
            let ep = e.as_mut_ptr().add(r * tp);
            let mlog = _mm512_set1_ps(max * std::f32::consts::LOG2_E);
            let (mut acc, mut sum) = ([_mm512_setzero_ps(); DH], _mm512_setzero_ps());
            for ch in 0..nch {
                let j0 = ch * KC;
                let w = exp2_16(_mm512_fmsub_ps(_mm512_load_ps(ep.add(j0)), log2e, mlog));
                _mm512_store_ps(ep.add(j0), w);
                sum = _mm512_add_ps(sum, w);
                for (c, acc) in acc.iter_mut().enumerate() {
                    *acc = _mm512_fmadd_ps(w, _mm512_load_ps(vtp.add(c * tp + j0)), *acc);
                }
            }
            // The row maximum contributes 2^0 = 1, so the sum is at least 1.
            let inv = 1.0 / _mm512_reduce_add_ps(sum);
            let vinv = _mm512_set1_ps(inv);
            let rp = row.as_mut_ptr();
            for ch in 0..nch {
                let j0 = ch * KC;
                let w = _mm512_mul_ps(_mm512_load_ps(ep.add(j0)), vinv);
                _mm512_mask_storeu_ps(rp.add(j0), lanes(t - j0), w);
            }
            row[(nch * KC).min(t)..].fill(0.0);
            reduce_into(&acc, inv, ctx);
        }
    }
}

/// Scores of [`R`] query rows (`q` scaled; with `causal = Some(i0)` row `r` is query
/// `i0 + r`) over the first `nch` key chunks into the rows of `e` (row stride `tp`), `-inf`
/// where the key is hidden; returns each row's running maximum.
///
/// # Safety
/// AVX-512F and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn scores<const DH: usize>(
    q: &[[f32; DH]; R],
    kt: &[f32],
    tp: usize,
    masks: &[u16],
    causal: Option<usize>,
    nch: usize,
    e: &mut [f32],
) -> [__m512; R] {
    assert!(nch * KC <= tp && kt.len() >= DH * tp && e.len() >= R * tp && masks.len() >= nch);
    let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
    let (ktp, ep) = (kt.as_ptr(), e.as_mut_ptr());
    let mut vmax = [ninf; R];
    for ch in 0..nch {
        let j0 = ch * KC;
        let mut s = [_mm512_setzero_ps(); R];
        for c in 0..DH {
            let k = _mm512_load_ps(ktp.add(c * tp + j0));
            for (s, q) in s.iter_mut().zip(q) {
                *s = _mm512_fmadd_ps(_mm512_set1_ps(q[c]), k, *s);
            }
        }
        for (r, (s, vmax)) in s.iter().zip(&mut vmax).enumerate() {
            let mut m = masks[ch];
            if let Some(i0) = causal {
                m &= lanes((i0 + r + 1).saturating_sub(j0));
            }
            let v = if m == u16::MAX { *s } else { _mm512_mask_blend_ps(m, ninf, *s) };
            _mm512_store_ps(ep.add(r * tp + j0), v);
            *vmax = _mm512_max_ps(*vmax, v);
        }
    }
    vmax
}

/// Query rows per backward block: the block's `P` and `dS` rows (`QB × T`) stay in L2.
const QB: usize = 64;

/// The backward for head width `DH`, in blocks of [`QB`] query rows: first, [`R`] rows at a time,
/// `dP`, `D`, `dS` (kept for the block) and `dQ`; then, sixteen keys at a time with the
/// accumulators in registers, `dKᵀ += (scale·Q)ᵀ·dS` and `dVᵀ += dctxᵀ·P` over the block.
///
/// # Safety
/// AVX-512F and FMA; the views in `b` in bounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn bwd<const DH: usize>(b: BackHead<'_, f32>) {
    let t = b.t;
    let chunks = t.div_ceil(KC);
    let tp = chunks * KC;
    let kt = transpose::<DH>(b.qkv, b.k_off, b.rs, t, tp);
    let vt = transpose::<DH>(b.qkv, b.v_off, b.rs, t, tp);
    let (mut dkt, mut dvt) = (Lines::zeros(DH * tp), Lines::zeros(DH * tp));
    let rows_max = QB.min(t);
    let (mut pb, mut sb) = (Lines::zeros(rows_max * tp), Lines::zeros(rows_max * tp));
    let (mut qs, mut gs) = (vec![0f32; rows_max * DH], vec![0f32; rows_max * DH]);
    let ktp = kt.as_ptr();
    for i0 in (0..t).step_by(QB) {
        let rows = QB.min(t - i0);
        for r0 in (0..rows).step_by(R) {
            let n = R.min(rows - r0);
            for r in r0..r0 + n {
                let i = i0 + r;
                for (x, &y) in qs[r * DH..(r + 1) * DH].iter_mut().zip(&b.qkv[b.q_off + i * b.rs..][..DH]) {
                    *x = b.scale * y;
                }
                gs[r * DH..(r + 1) * DH].copy_from_slice(&b.g[b.g_off + i * b.g_rs..][..DH]);
            }
            let dot = dp_rows::<DH>(
                &b.probs[(i0 + r0) * t..],
                t,
                n,
                &gs[r0 * DH..],
                &vt,
                &mut pb[r0 * tp..],
                &mut sb[r0 * tp..],
            );
            for (r, dot) in (r0..r0 + n).zip(dot) {
                let (pr, sr) = (pb.as_ptr().add(r * tp), sb.as_mut_ptr().add(r * tp));
                // dS = P ⊙ (dP − D) and dQ = scale·dS·K.
                let dsum = _mm512_set1_ps(_mm512_reduce_add_ps(dot));
                let mut acc = [_mm512_setzero_ps(); DH];
                for ch in 0..chunks {
                    let j0 = ch * KC;
                    let ds = _mm512_mul_ps(_mm512_load_ps(pr.add(j0)), _mm512_sub_ps(_mm512_load_ps(sr.add(j0)), dsum));
                    _mm512_store_ps(sr.add(j0), ds);
                    for (c, acc) in acc.iter_mut().enumerate() {
                        *acc = _mm512_fmadd_ps(ds, _mm512_load_ps(ktp.add(c * tp + j0)), *acc);
                    }
                }
                reduce_into(&acc, b.scale, &mut b.out[b.dq_off + (i0 + r) * b.o_rs..][..DH]);
            }
        }
        for ch in 0..chunks {
            outer::<DH>(dkt.as_mut_ptr(), &sb, &qs, rows, tp, ch * KC);
            outer::<DH>(dvt.as_mut_ptr(), &pb, &gs, rows, tp, ch * KC);
        }
    }
    // dKᵀ and dVᵀ back to rows, sixteen keys at a time by scatters (masked past t).
    let idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(b.o_rs as i32),
    );
    let op = b.out.as_mut_ptr();
    for j0 in (0..t).step_by(KC) {
        let m = lanes(t - j0);
        for c in 0..DH {
            let (dk, dv) =
                (_mm512_load_ps(dkt.as_ptr().add(c * tp + j0)), _mm512_load_ps(dvt.as_ptr().add(c * tp + j0)));
            _mm512_mask_i32scatter_ps::<4>(op.add(b.dk_off + j0 * b.o_rs + c), m, idx, dk);
            _mm512_mask_i32scatter_ps::<4>(op.add(b.dv_off + j0 * b.o_rs + c), m, idx, dv);
        }
    }
}

/// For `n ≤ R` query rows together (their `P` rows at `probs`, row stride `t`; their context
/// gradients in `g`, `DH` each): `dP = dctx·Vᵀ` into the rows of `dp` and `P` copied into
/// the rows of `p` (row stride `tp`, zero past `t`), and each row's `Σ P·dP` on 16 lanes.
///
/// # Safety
/// AVX-512F and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn dp_rows<const DH: usize>(
    probs: &[f32],
    t: usize,
    n: usize,
    g: &[f32],
    vt: &[f32],
    p: &mut [f32],
    dp: &mut [f32],
) -> [__m512; R] {
    let tp = t.div_ceil(KC) * KC;
    assert!((1..=R).contains(&n) && probs.len() >= (n - 1) * t + t && g.len() >= n * DH && vt.len() >= DH * tp);
    assert!(p.len() >= n * tp && dp.len() >= n * tp);
    let mut gv = [[0f32; DH]; R];
    for (r, gv) in gv.iter_mut().enumerate().take(n) {
        gv.copy_from_slice(&g[r * DH..(r + 1) * DH]);
    }
    let (pp, vtp) = (probs.as_ptr(), vt.as_ptr());
    let (po, dpo) = (p.as_mut_ptr(), dp.as_mut_ptr());
    let mut dot = [_mm512_setzero_ps(); R];
    for j0 in (0..tp).step_by(KC) {
        let mut d = [_mm512_setzero_ps(); R];
        for c in 0..DH {
            let v = _mm512_load_ps(vtp.add(c * tp + j0));
            for (d, g) in d.iter_mut().zip(&gv) {
                *d = _mm512_fmadd_ps(_mm512_set1_ps(g[c]), v, *d);
            }
        }
        for r in 0..n {
            let pv = _mm512_maskz_loadu_ps(lanes(t - j0), pp.add(r * t + j0));
            _mm512_store_ps(po.add(r * tp + j0), pv);
            _mm512_store_ps(dpo.add(r * tp + j0), d[r]);
            dot[r] = _mm512_fmadd_ps(pv, d[r], dot[r]);
        }
    }
    dot
}

/// `acc[c, j0..j0 + 16] += Σ_r x[r, j0..j0 + 16] · w[r, c]` over `rows` rows, with the
/// sixteen-key slices of the `DH` accumulator rows (row stride `tp`) held in registers.
///
/// # Safety
/// AVX-512F and FMA; `acc` holds `DH · tp` floats, on a 64-byte boundary like `x`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn outer<const DH: usize>(acc: *mut f32, x: &[f32], w: &[f32], rows: usize, tp: usize, j0: usize) {
    assert!(j0 + KC <= tp && x.len() >= rows * tp && w.len() >= rows * DH);
    let mut a: [__m512; DH] = std::array::from_fn(|c| _mm512_load_ps(acc.add(c * tp + j0)));
    let (xp, wp) = (x.as_ptr(), w.as_ptr());
    for r in 0..rows {
        let xv = _mm512_load_ps(xp.add(r * tp + j0));
        for (c, a) in a.iter_mut().enumerate() {
            *a = _mm512_fmadd_ps(xv, _mm512_set1_ps(*wp.add(r * DH + c)), *a);
        }
    }
    for (c, a) in a.iter().enumerate() {
        _mm512_store_ps(acc.add(c * tp + j0), *a);
    }
}
