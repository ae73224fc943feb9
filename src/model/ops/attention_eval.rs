//! The inference kernel of the fused attention core for small heads (f32, head width 4, 8
//! or 16, AVX-512): one (batch, head) pair's context without materializing the weights.
//!
//! Evaluation at long lengths is where attention costs most (W evaluates at 1000 tokens:
//! 8 heads × 1000² scores per layer), and with a head width of 8 a GEMM per query block
//! spends its time packing operands rather than multiplying. Here keys and values are
//! transposed once per head (`(dh, T)`, zero padded to whole 16-key chunks), and each group
//! of sixteen queries runs two passes over its keys, a block of keys at a time (in L1):
//! 1. scores `s = (scale·q)·k` sixteen keys at a time, with the running maximum over the keys
//!    the query may see (causal limit and padding mask; hidden keys score `-inf`);
//! 2. and 3., in one loop over the chunks: `e = 2^((s − max)·log2 e)` (a cheaper exp than
//!    the softmax's, see [`exp2_16`]), its sum, and `Σ_j e_j v_j` with the head's value rows;
//!    then one multiplication by `1 / Σ e`.
//!
//! Results equal [`super::attention_kernels`]' up to rounding (the scale is applied to the
//! query, and the normalization after the value product); each output is summed in one fixed
//! order, so runs are bit-identical whatever the thread count. A query that sees no key gets a
//! zero context, as with the softmax. Not covered (the caller keeps its blocked GEMM path):
//! f64, other head widths, ALiBi, windows, score biases, and training (which needs the weights).

use super::attention::AttnSpec;
use super::attention_simd::{available, chunk_masks, covers_dims, fits, transpose, Lines, KC};

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Queries per group (the score pass runs them four at a time).
const QG: usize = 16;
/// Chunks per key block (256 keys: 8 KiB of keys or values at head width 8).
const KB: usize = 16;

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

impl EvalHead<'_, f32> {
    /// Every view in bounds, and the kernels run this head width on this CPU (what the
    /// inference and training kernels assert before their unsafe bodies).
    pub(super) fn runnable(&self) -> bool {
        let n = self.qkv.len();
        [self.q_off, self.k_off, self.v_off].iter().all(|&o| fits(o, self.t, self.dh, self.rs, n))
            && fits(self.o_off, self.t, self.dh, self.o_rs, self.out.len())
            && self.keep.is_none_or(|k| k.len() >= self.t)
            && covers_dims(self.dh)
            && available()
    }
}

/// Runs one head (see the module doc). Call only when [`covers`] said yes.
pub(super) fn head(a: EvalHead<'_, f32>) {
    assert!(a.runnable(), "attention_eval: operands out of bounds or kernel unavailable");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F and FMA are available and every view is in bounds (asserted above).
    unsafe {
        match a.dh {
            4 => run::<4>(a),
            8 => run::<8>(a),
            _ => run::<16>(a),
        }
    }
}

/// The kernel for head width `DH`: groups of [`QG`] queries; within a group, keys in blocks
/// of [`KB`] chunks, so that a block of keys (or values) stays in L1 while every query of the
/// group passes over it (the group's scores stream through L2).
///
/// # Safety
/// AVX-512F and FMA; the views in `a` in bounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run<const DH: usize>(a: EvalHead<'_, f32>) {
    let t = a.t;
    let chunks = t.div_ceil(KC);
    let tp = chunks * KC;
    let kt = transpose::<DH>(a.qkv, a.k_off, a.rs, t, tp);
    let vt = transpose::<DH>(a.qkv, a.v_off, a.rs, t, tp);
    let masks = chunk_masks(a.keep, t, chunks);
    let mut s = Lines::zeros(QG * tp); // the group's scores
    let mut state = vec![[_mm512_setzero_ps(); DH]; QG]; // Σ e·v per query, 16 lanes each
    let mut sums = [_mm512_setzero_ps(); QG];
    for i0 in (0..t).step_by(QG) {
        let rows = QG.min(t - i0);
        // Keys the group may see: all, or (causal) up to its last query.
        let nch = (if a.causal { i0 + rows } else { t }).div_ceil(KC);
        let mut q = [[0f32; DH]; QG]; // scaled queries; rows past the last stay 0
        for (r, qr) in q.iter_mut().enumerate().take(rows) {
            for (x, &y) in qr.iter_mut().zip(&a.qkv[a.q_off + (i0 + r) * a.rs..][..DH]) {
                *x = a.scale * y;
            }
        }
        let mut vmax = [_mm512_set1_ps(f32::NEG_INFINITY); QG];
        for kb in (0..nch).step_by(KB) {
            let chs = kb..(kb + KB).min(nch);
            for r0 in (0..QG).step_by(4) {
                let q4 = [q[r0], q[r0 + 1], q[r0 + 2], q[r0 + 3]];
                let vm = &mut vmax[r0..r0 + 4];
                scores4::<DH>(&q4, &kt, tp, &masks, a.causal.then_some(i0 + r0), chs.clone(), &mut s[r0 * tp..], vm);
            }
        }
        // Rows that see no key have max -inf and only -inf scores: subtracting 0 keeps them
        // -inf (exp 0), where -inf − -inf would be NaN.
        let max: [f32; QG] = std::array::from_fn(|r| {
            let m = lane_max(vmax[r]);
            if m > f32::NEG_INFINITY {
                m
            } else {
                0.0
            }
        });
        state.fill([_mm512_setzero_ps(); DH]);
        sums.fill(_mm512_setzero_ps());
        for kb in (0..nch).step_by(KB) {
            let chs = kb..(kb + KB).min(nch);
            for r in 0..rows {
                weigh::<DH>(&vt, tp, &s[r * tp..], max[r], chs.clone(), &mut state[r], &mut sums[r]);
            }
        }
        let mut lanes = [0f32; KC];
        for r in 0..rows {
            _mm512_storeu_ps(lanes.as_mut_ptr(), sums[r]);
            let total = hsum(&lanes);
            let inv = if total > 0.0 { 1.0 / total } else { 0.0 };
            for (c, acc) in state[r].iter().enumerate() {
                _mm512_storeu_ps(lanes.as_mut_ptr(), *acc);
                a.out[a.o_off + (i0 + r) * a.o_rs + c] = hsum(&lanes) * inv;
            }
        }
    }
}

/// The largest of 16 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn lane_max(v: __m512) -> f32 {
    let mut lanes = [0f32; KC];
    _mm512_storeu_ps(lanes.as_mut_ptr(), v);
    lanes.iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// Pass 1 for four queries over the chunks `chs`: `s[r, j] = q_r·k_j` (`q` already scaled),
/// `-inf` where the key is hidden (padding; with `causal = Some(i)`, keys after query
/// `i + r`), and the running maxima `vmax`. `s` starts at the first of the four rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn scores4<const DH: usize>(
    q: &[[f32; DH]; 4],
    kt: &[f32],
    tp: usize,
    masks: &[u16],
    causal: Option<usize>,
    chs: std::ops::Range<usize>,
    s: &mut [f32],
    vmax: &mut [__m512],
) {
    assert!(chs.end * KC <= tp && s.len() >= 3 * tp + chs.end * KC && vmax.len() == 4);
    let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut vm = [vmax[0], vmax[1], vmax[2], vmax[3]];
    let (ktp, sp) = (kt.as_ptr(), s.as_mut_ptr());
    for ch in chs {
        let j0 = ch * KC;
        let mut acc = [_mm512_setzero_ps(); 4];
        for c in 0..DH {
            let k = _mm512_loadu_ps(ktp.add(c * tp + j0));
            for r in 0..4 {
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(q[r][c]), k, acc[r]);
            }
        }
        for r in 0..4 {
            let mut m = masks[ch];
            if let Some(i) = causal {
                // Query i + r sees keys j <= i + r.
                let lim = (i + r + 1).saturating_sub(j0);
                if lim < KC {
                    m &= (1u16 << lim) - 1;
                }
            }
            let v = if m == u16::MAX { acc[r] } else { _mm512_mask_blend_ps(m, ninf, acc[r]) };
            _mm512_storeu_ps(sp.add(r * tp + j0), v);
            vm[r] = _mm512_max_ps(vm[r], v);
        }
    }
    vmax.copy_from_slice(&vm);
}

/// Passes 2 and 3 for one query over the chunks `chs`: `e_j = exp(s_j − max)`, added to the
/// sum, and `e_j v_j` added to `acc` (16 lanes per output column).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn weigh<const DH: usize>(
    vt: &[f32],
    tp: usize,
    s: &[f32],
    max: f32,
    chs: std::ops::Range<usize>,
    acc: &mut [__m512; DH],
    sum: &mut __m512,
) {
    assert!(chs.end * KC <= tp && s.len() >= chs.end * KC);
    let (log2e, m) = (_mm512_set1_ps(std::f32::consts::LOG2_E), _mm512_set1_ps(max * std::f32::consts::LOG2_E));
    let (mut a, mut total) = (*acc, *sum);
    let (vp, sp) = (vt.as_ptr(), s.as_ptr());
    for ch in chs {
        let j0 = ch * KC;
        let w = exp2_16(_mm512_fmsub_ps(_mm512_loadu_ps(sp.add(j0)), log2e, m));
        total = _mm512_add_ps(total, w);
        for (c, a) in a.iter_mut().enumerate() {
            *a = _mm512_fmadd_ps(w, _mm512_loadu_ps(vp.add(c * tp + j0)), *a);
        }
    }
    (*acc, *sum) = (a, total);
}

/// `2^y` on 16 lanes for `y ≤ 0` (and NaN): `y = n + f` with `n` the nearest integer, `2^f`
/// by a degree-5 polynomial (coefficients fitted to minimize the relative error on
/// `[-1/2, 1/2]`), and `·2^n` by `vscalefps`. Relative error below 3e-7 (tested against
/// `f64::exp2`). Below -125.99 (and at -inf) the mask gives exactly 0, so results are never
/// subnormal. The softmax calls it with `y = (s − max)·log2 e` in one fused multiply-add, whose
/// rounding adds `|y|·6e-8` relative: nothing for the weights that matter (`y` near 0) and
/// at most 8e-6 for weights below 2^-126.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(super) unsafe fn exp2_16(y: __m512) -> __m512 {
    const P: [f32; 6] = [1.000_000_1, 0.693_146_94, 0.240_221_2, 0.055_507_135, 0.009_675_541, 0.001_327_646_8];
    let c = _mm512_set1_ps;
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(y);
    let f = _mm512_sub_ps(y, n);
    let mut p = c(P[5]);
    for &k in P[..5].iter().rev() {
        p = _mm512_fmadd_ps(p, f, c(k));
    }
    let keep = _mm512_cmp_ps_mask::<_CMP_NLT_UQ>(y, c(-125.99));
    _mm512_maskz_scalef_ps(keep, p, n)
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

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// `exp2_16` is within 3e-7 of `f64::exp2` for `y` in `[-125.99, 0]` (all the way down,
    /// where the results approach the smallest normal f32), exactly 0 below and at `-inf`, NaN
    /// on NaN.
    #[test]
    fn exp2_16_is_accurate_and_exactly_zero_below_its_range() {
        if !available() {
            eprintln!("SKIPPED: no AVX-512F on this CPU");
            return;
        }
        let mut xs: Vec<f32> = (0..=200_000).map(|i| -125.99 * i as f32 / 200_000.0).collect();
        xs.extend([-0.0, -1e-30, -126.0, -150.0, -1e30, f32::NEG_INFINITY, f32::NAN]);
        xs.resize(xs.len().div_ceil(KC) * KC, -0.5);
        let mut worst = 0f64;
        for chunk in xs.chunks_exact(KC) {
            let mut out = [0f32; KC];
            // SAFETY: AVX-512F and FMA are available (checked above); both buffers hold 16 lanes.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr(), exp2_16(_mm512_loadu_ps(chunk.as_ptr()))) };
            for (&x, &y) in chunk.iter().zip(&out) {
                if x.is_nan() {
                    assert!(y.is_nan());
                } else if x < -125.99 {
                    assert_eq!(y.to_bits(), 0, "2^{x}");
                } else {
                    assert!(y.is_normal(), "2^{x} = {y}");
                    let want = (x as f64).exp2();
                    worst = worst.max(((y as f64 - want) / want).abs());
                }
            }
        }
        assert!(worst < 3e-7, "relative error {worst}");
    }
}
