//! The inference kernel of the fused attention core for small heads (f32, head width 4, 8
//! or 16, AVX-512): one (batch, head) pair's context without materializing the weights.
//!
//! Evaluation at long lengths is where attention costs most (W evaluates at 1000 tokens:
//! 8 heads × 1000² scores per layer), and with a head width of 8 a GEMM per query block
//! spends its time packing operands rather than multiplying. Here keys and values are
//! transposed once per head (`(dh, T)`, zero padded to whole 16-key chunks), and each group
//! of four queries runs three passes over its keys, all in L1/L2:
//! 1. scores `s = (scale·q)·k` sixteen keys at a time, with the running maximum over the keys
//!    the query may see (causal limit and padding mask; hidden keys score `-inf`);
//! 2. `e = exp(s − max)` ([`exp_f32`], the same function as the softmax) and its sum;
//! 3. `Σ_j e_j v_j` with the head's value rows, then one multiplication by `1 / Σ e`.
//!
//! Results equal [`super::attention_kernels`]' up to rounding (the scale is applied to the
//! query, and the normalization after the value product); each output is summed in one fixed
//! order, so runs are bit-identical whatever the thread count. A query that sees no key gets a
//! zero context, as with the softmax. Not covered (the caller keeps its blocked GEMM path):
//! f64, other head widths, ALiBi, windows, score biases, and training (which needs the weights).

use super::attention::AttnSpec;
use super::kernels::{exp_f32, sum};

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Keys per chunk (one 512-bit vector of f32).
const KC: usize = 16;
/// Queries per group in the score pass.
const QG: usize = 4;

/// One (batch, head) task: queries and keys/values as strided views of the packed
/// `qkv (B, T, 3D)`, the output rows, and the key mask.
pub(crate) struct EvalHead<'a, T> {
    pub t: usize,
    pub dh: usize,
    pub scale: T,
    pub causal: bool,
    /// Element `(i, c)` of Q at `qkv[q_off + i·rs + c]`; K and V at `k_off`, `v_off`.
    pub qkv: &'a [T],
    pub rs: usize,
    pub q_off: usize,
    pub k_off: usize,
    pub v_off: usize,
    /// 1 = real key, 0 = padding (`T` entries), if any.
    pub keep: Option<&'a [T]>,
    /// Output `(i, c)` at `out[o_off + i·o_rs + c]`.
    pub out: &'a mut [T],
    pub o_off: usize,
    pub o_rs: usize,
}

/// Whether [`head`] runs this attention on this CPU.
pub(crate) fn covers(op: &AttnSpec, dh: usize, has_bias: bool) -> bool {
    matches!(dh, 4 | 8 | 16) && !has_bias && op.alibi.is_none() && op.window.is_none() && available()
}

fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs one head (see the module doc). Call only when [`covers`] said yes.
pub(super) fn head(a: EvalHead<'_, f32>) {
    let in_bounds = |off: usize, rows: usize, cols: usize, rs: usize, len: usize| {
        rows == 0 || off + (rows - 1) * rs + cols <= len
    };
    let n = a.qkv.len();
    assert!(
        [a.q_off, a.k_off, a.v_off].iter().all(|&o| in_bounds(o, a.t, a.dh, a.rs, n))
            && in_bounds(a.o_off, a.t, a.dh, a.o_rs, a.out.len())
            && a.keep.is_none_or(|k| k.len() >= a.t)
            && covers_dims(a.dh)
            && available(),
        "attention_eval: operands out of bounds or kernel unavailable"
    );
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F and FMA are available and every view is in bounds (asserted above).
    unsafe {
        match a.dh {
            4 => run::<4, 4>(a),
            8 => run::<8, 2>(a),
            _ => run::<16, 1>(a),
        }
    }
}

fn covers_dims(dh: usize) -> bool {
    matches!(dh, 4 | 8 | 16)
}

/// `src` rows `(T, DH)` (row stride `rs`) transposed to `(DH, tp)`, zero padded.
fn transpose<const DH: usize>(src: &[f32], off: usize, rs: usize, t: usize, tp: usize) -> Vec<f32> {
    let mut out = vec![0f32; DH * tp];
    for j in 0..t {
        let row = &src[off + j * rs..off + j * rs + DH];
        for (c, &x) in row.iter().enumerate() {
            out[c * tp + j] = x;
        }
    }
    out
}

/// Per 16-key chunk, the lanes whose key is real (all lanes when there is no mask; lanes past
/// `t` are never real).
fn chunk_masks(keep: Option<&[f32]>, t: usize, chunks: usize) -> Vec<u16> {
    (0..chunks)
        .map(|ch| {
            let mut m = 0u16;
            for l in 0..KC {
                let j = ch * KC + l;
                if j < t && keep.is_none_or(|k| k[j] > 0.0) {
                    m |= 1 << l;
                }
            }
            m
        })
        .collect()
}

/// The kernel for head width `DH`; `RC` queries share each value load in pass 3.
///
/// # Safety
/// AVX-512F and FMA; the views in `a` in bounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run<const DH: usize, const RC: usize>(mut a: EvalHead<'_, f32>) {
    let t = a.t;
    let chunks = t.div_ceil(KC);
    let tp = chunks * KC;
    let kt = transpose::<DH>(a.qkv, a.k_off, a.rs, t, tp);
    let vt = transpose::<DH>(a.qkv, a.v_off, a.rs, t, tp);
    let masks = chunk_masks(a.keep, t, chunks);
    let mut e = vec![0f32; QG * tp]; // scores, then exp, of one group
    for i0 in (0..t).step_by(QG) {
        let rows = QG.min(t - i0);
        // Keys the group may see: all, or (causal) up to its last query.
        let khi = if a.causal { i0 + rows } else { t };
        let nch = khi.div_ceil(KC);
        let mut max = [f32::NEG_INFINITY; QG];
        scores::<DH>(&a, &kt, tp, &masks, i0, rows, nch, &mut e, &mut max);
        let mut inv = [0f32; QG];
        for r in 0..rows {
            let row = &mut e[r * tp..r * tp + nch * KC];
            if max[r] == f32::NEG_INFINITY {
                row.fill(0.0);
                continue;
            }
            for x in row.iter_mut() {
                *x = exp_f32(*x - max[r]);
            }
            inv[r] = 1.0 / sum(row);
        }
        for r0 in (0..rows).step_by(RC) {
            weigh::<DH, RC>(&mut a, &vt, tp, &e, r0, (rows - r0).min(RC), nch, i0, &inv);
        }
    }
}

/// Pass 1: `e[r, j] = scale·q_r·k_j` for the group's `rows` queries over `nch` chunks, `-inf`
/// where the key is hidden; `max[r]` the largest visible score.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn scores<const DH: usize>(
    a: &EvalHead<'_, f32>,
    kt: &[f32],
    tp: usize,
    masks: &[u16],
    i0: usize,
    rows: usize,
    nch: usize,
    e: &mut [f32],
    max: &mut [f32; QG],
) {
    let mut q = [[0f32; DH]; QG];
    for (r, qr) in q.iter_mut().enumerate().take(rows) {
        let src = &a.qkv[a.q_off + (i0 + r) * a.rs..][..DH];
        for (x, &y) in qr.iter_mut().zip(src) {
            *x = a.scale * y;
        }
    }
    let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut vmax = [ninf; QG];
    let (ktp, ep) = (kt.as_ptr(), e.as_mut_ptr());
    for ch in 0..nch {
        let j0 = ch * KC;
        let mut acc = [_mm512_setzero_ps(); QG];
        for c in 0..DH {
            let k = _mm512_loadu_ps(ktp.add(c * tp + j0));
            for r in 0..QG {
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(q[r][c]), k, acc[r]);
            }
        }
        for r in 0..rows {
            let mut m = masks[ch];
            if a.causal {
                // Query i0 + r sees keys j <= i0 + r.
                let lim = (i0 + r + 1).saturating_sub(j0);
                if lim < KC {
                    m &= (1u16 << lim) - 1;
                }
            }
            let s = _mm512_mask_blend_ps(m, ninf, acc[r]);
            _mm512_storeu_ps(ep.add(r * tp + j0), s);
            vmax[r] = _mm512_max_ps(vmax[r], s);
        }
    }
    for r in 0..rows {
        let mut lanes = [0f32; KC];
        _mm512_storeu_ps(lanes.as_mut_ptr(), vmax[r]);
        max[r] = lanes.iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
    }
}

/// Pass 3: the context of queries `i0 + r0 .. + rows` as `inv_r · Σ_j e[r, j]·v_j`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn weigh<const DH: usize, const RC: usize>(
    a: &mut EvalHead<'_, f32>,
    vt: &[f32],
    tp: usize,
    e: &[f32],
    r0: usize,
    rows: usize,
    nch: usize,
    i0: usize,
    inv: &[f32; QG],
) {
    let mut acc = [[_mm512_setzero_ps(); DH]; RC];
    let (vp, ep) = (vt.as_ptr(), e.as_ptr());
    for ch in 0..nch {
        let j0 = ch * KC;
        let mut w = [_mm512_setzero_ps(); RC];
        for (r, wr) in w.iter_mut().enumerate().take(rows) {
            *wr = _mm512_loadu_ps(ep.add((r0 + r) * tp + j0));
        }
        for c in 0..DH {
            let v = _mm512_loadu_ps(vp.add(c * tp + j0));
            for r in 0..RC {
                acc[r][c] = _mm512_fmadd_ps(w[r], v, acc[r][c]);
            }
        }
    }
    let mut lanes = [0f32; KC];
    for r in 0..rows {
        let i = i0 + r0 + r;
        for c in 0..DH {
            _mm512_storeu_ps(lanes.as_mut_ptr(), acc[r][c]);
            a.out[a.o_off + i * a.o_rs + c] = hsum(&lanes) * inv[r0 + r];
        }
    }
}

/// The sum of 16 lanes as a fixed pairwise tree.
#[inline(always)]
fn hsum(l: &[f32; KC]) -> f32 {
    let mut h = [0f32; 8];
    for i in 0..8 {
        h[i] = l[i] + l[i + 8];
    }
    let q = [h[0] + h[4], h[1] + h[5], h[2] + h[6], h[3] + h[7]];
    (q[0] + q[2]) + (q[1] + q[3])
}
