//! Host kernels shared by the fused ops: a vectorizable `exp`, lane-split sums, a masked
//! row softmax, and a bounds-checked wrapper over the `gemm` crate (the same GEMM candle's
//! CPU matmul uses, here with arbitrary row/column strides so that heads are read and
//! written in place without copies).

use super::Fl;
use candle_core::{bail, Result};
use rayon::prelude::*;

/// `exp(x)` for f32 without a libm call, so loops over slices auto-vectorize.
///
/// Cephes `expf`: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two constants for an exact
/// product), a degree-7 polynomial for e^r evaluated with fused multiply-adds, and 2^n built
/// in the exponent bits. `mul_add` is exactly rounded everywhere (one FMA instruction in the
/// AVX2+FMA build, libm's `fmaf` otherwise), so every build gives the same bits. Relative
/// error below 2e-7 (tested against `f32::exp`). Inputs below -87.33 give 0 (so a -inf bias yields an
/// exact zero weight), above 88.37 saturate at e^88.37.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const MAGIC: f32 = 12_582_912.0; // 1.5·2^23: (t + MAGIC) - MAGIC rounds t to an integer
    let xc = x.clamp(-87.33, 88.37);
    let n = (xc * std::f32::consts::LOG2_E + MAGIC) - MAGIC;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, xc));
    let mut p = 1.987_569_1e-4f32;
    p = p.mul_add(r, 1.398_199_9e-3);
    p = p.mul_add(r, 8.333_452e-3);
    p = p.mul_add(r, 4.166_579_6e-2);
    p = p.mul_add(r, 1.666_666_5e-1);
    p = p.mul_add(r, 0.5); // Cephes: 5.0000001201e-1, which rounds to 0.5 in f32
    let e = (p * r).mul_add(r, r) + 1.0;
    // SAFETY: after the clamp n is an integer in [-126, 127], so the conversion is exact.
    let ni: i32 = unsafe { n.to_int_unchecked() };
    let scale = f32::from_bits(((ni + 127) as u32) << 23);
    if x < -87.33 {
        0.0
    } else {
        e * scale
    }
}

/// Sum with eight independent accumulators (vectorizes; also more accurate than a chain).
#[inline(always)]
pub(crate) fn sum<T: Fl>(xs: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i];
        }
    }
    let mut s = T::zero();
    for a in acc {
        s += a;
    }
    for &x in rest {
        s += x;
    }
    s
}

/// Σ a[i]·b[i] with eight accumulators.
#[inline]
pub(crate) fn rowdot<T: Fl>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = T::zero();
    for v in acc {
        s += v;
    }
    for (&x, &y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// In place, `row <- softmax(row)` over the entries whose `keep` is 1; entries whose `keep` is
/// 0 become 0. A row with nothing kept (or only -inf) becomes all zeros, never NaN.
/// f32 rows run an AVX2+FMA build of the same code when the CPU has it (see [`Fl`]).
#[inline]
pub(crate) fn softmax_row<T: Fl>(row: &mut [T], keep: Option<&[T]>) {
    T::softmax_row(row, keep)
}

/// The portable softmax body; `#[inline(always)]` so that a `target_feature` caller compiles
/// it (and the `exp` inside) with its own instruction set.
#[inline(always)]
pub(crate) fn softmax_row_generic<T: Fl>(row: &mut [T], keep: Option<&[T]>) {
    let ninf = T::neg_infinity();
    let max = match keep {
        None => max8(row),
        Some(k) => row.iter().zip(k).fold(ninf, |m, (&x, &k)| if k > T::zero() && x > m { x } else { m }),
    };
    if max == ninf {
        row.fill(T::zero());
        return;
    }
    // Map loops vectorize; the 8-lane sum keeps a fixed summation order.
    for x in row.iter_mut() {
        *x = T::exp1(*x - max);
    }
    if let Some(k) = keep {
        for (x, &k) in row.iter_mut().zip(k) {
            *x *= k;
        }
    }
    let inv = T::one() / sum(row);
    for x in row.iter_mut() {
        *x *= inv;
    }
}

/// The largest element (-inf for an empty slice), with eight lanes so that it vectorizes.
#[inline(always)]
fn max8<T: Fl>(xs: &[T]) -> T {
    let mut acc = [T::neg_infinity(); 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] };
        }
    }
    let mut m = T::neg_infinity();
    for &x in acc.iter().chain(rest) {
        if x > m {
            m = x;
        }
    }
    m
}

/// [`softmax_row_generic`] for f32 compiled with AVX2 and FMA (8 lanes for exp, max, sum).
///
/// # Safety
/// The CPU must support AVX2 and FMA ([`has_avx2_fma`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn softmax_row_avx2(row: &mut [f32], keep: Option<&[f32]>) {
    softmax_row_generic(row, keep)
}

/// Whether the AVX2+FMA builds of the f32 kernels may run (detected once, cached by std).
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A read-only strided matrix view: element (i, j) is `data[off + i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub off: usize,
    pub rs: usize,
    pub cs: usize,
}

/// A writable strided matrix view.
pub(crate) struct MatMut<'a, T> {
    pub data: &'a mut [T],
    pub off: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T> Mat<'a, T> {
    pub fn at(data: &'a [T], off: usize, rs: usize, cs: usize) -> Self {
        Mat { data, off, rs, cs }
    }
}

impl<'a, T> MatMut<'a, T> {
    pub fn at(data: &'a mut [T], off: usize, rs: usize, cs: usize) -> Self {
        MatMut { data, off, rs, cs }
    }
}

fn in_bounds(len: usize, off: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> bool {
    rows == 0 || cols == 0 || off + (rows - 1) * rs + (cols - 1) * cs < len
}

/// `dst (m×n) = alpha · lhs (m×k) · rhs (k×n)`, single-threaded (small per-head products).
pub(crate) fn gemm<T: Fl>(
    mnk: (usize, usize, usize),
    dst: MatMut<'_, T>,
    lhs: Mat<'_, T>,
    rhs: Mat<'_, T>,
    alpha: T,
) -> Result<()> {
    gemm_ex(mnk, dst, false, lhs, rhs, alpha, false)
}

/// `dst (m×n) = [dst +] alpha · lhs (m×k) · rhs (k×n)`, accumulating when `acc`.
/// `threads` lets gemm split large products over candle's thread count.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_ex<T: Fl>(
    (m, n, k): (usize, usize, usize),
    dst: MatMut<'_, T>,
    acc: bool,
    lhs: Mat<'_, T>,
    rhs: Mat<'_, T>,
    alpha: T,
    threads: bool,
) -> Result<()> {
    let ok = in_bounds(dst.data.len(), dst.off, m, n, dst.rs, dst.cs)
        && in_bounds(lhs.data.len(), lhs.off, m, k, lhs.rs, lhs.cs)
        && in_bounds(rhs.data.len(), rhs.off, k, n, rhs.rs, rhs.cs);
    if !ok {
        bail!("gemm: a strided view exceeds its buffer ({m}x{n}x{k})")
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !acc {
            for i in 0..m {
                for j in 0..n {
                    dst.data[dst.off + i * dst.rs + j * dst.cs] = T::zero();
                }
            }
        }
        return Ok(());
    }
    let par =
        if threads { gemm::Parallelism::Rayon(candle_core::utils::get_num_threads()) } else { gemm::Parallelism::None };
    // SAFETY: every view was checked to lie inside its slice; `dst` is a unique borrow, so
    // it cannot alias `lhs` or `rhs`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr().add(dst.off),
            dst.cs as isize,
            dst.rs as isize,
            acc,
            lhs.data.as_ptr().add(lhs.off),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr().add(rhs.off),
            rhs.cs as isize,
            rhs.rs as isize,
            T::one(),
            alpha,
            false,
            false,
            false,
            par,
        );
    }
    Ok(())
}

/// `n` zeros. Large buffers are written by the thread pool: a training step's activation and
/// gradient buffers run to megabytes, and `vec![0; n]` zeroes them (and faults their pages
/// in) on the calling thread while the other threads wait — 16% of a W step's samples before.
pub(crate) fn zeros<T: Fl>(n: usize) -> Vec<T> {
    let mut v = Vec::new();
    zero_fill(&mut v, n);
    v
}

/// `v` set to `n` zeros, reusing its capacity; large buffers are written by the thread pool
/// (see [`zeros`]).
pub(crate) fn zero_fill<T: Fl>(v: &mut Vec<T>, n: usize) {
    v.clear();
    if n < 1 << 15 {
        v.resize(n, T::zero());
        return;
    }
    v.reserve(n);
    v.spare_capacity_mut()[..n].par_chunks_mut(1 << 14).for_each(|c| {
        for x in c {
            x.write(T::zero());
        }
    });
    // SAFETY: the capacity is at least n, and the loop above initialized elements 0..n.
    unsafe { v.set_len(n) }
}
