//! Shared pieces of the small-head attention kernels ([`super::attention_eval`],
//! [`super::attention_train`]): 16-key chunks, cache-line-aligned buffers, the key/value
//! transposes, lane masks and lane sums.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Keys per chunk (one 512-bit vector of f32).
pub(super) const KC: usize = 16;

/// Whether the CPU runs the small-head kernels (AVX-512F and FMA).
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Head widths the small-head kernels are built for.
pub(super) fn covers_dims(dh: usize) -> bool {
    matches!(dh, 4 | 8 | 16)
}

/// Whether a strided view of `rows × cols` from `off` (row stride `rs`) lies in `len`
/// elements.
pub(super) fn fits(off: usize, rows: usize, cols: usize, rs: usize, len: usize) -> bool {
    rows == 0 || off + (rows - 1) * rs + cols <= len
}

/// Sixteen f32 on a 64-byte boundary: one cache line, one aligned 512-bit load.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct Line([f32; KC]);

/// A zeroed f32 buffer of whole cache lines (so 16-key chunks never straddle two lines).
pub(super) struct Lines(Vec<Line>);

impl Lines {
    /// At least `n` zeros, rounded up to whole lines.
    pub(super) fn zeros(n: usize) -> Lines {
        Lines(vec![Line([0.0; KC]); n.div_ceil(KC)])
    }
}

impl std::ops::Deref for Lines {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `Line` is `repr(C)` over `[f32; 16]` with no padding, so the lines are
        // `16·len` consecutive, initialized f32.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast(), self.0.len() * KC) }
    }
}

impl std::ops::DerefMut for Lines {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`, and the borrow is unique.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast(), self.0.len() * KC) }
    }
}

/// `src` rows `(T, DH)` (row stride `rs`) transposed to `(DH, tp)`, zero padded (`tp` a
/// multiple of 16, so every row starts a cache line). With AVX-512, sixteen rows at a time
/// by gathers.
pub(super) fn transpose<const DH: usize>(src: &[f32], off: usize, rs: usize, t: usize, tp: usize) -> Lines {
    assert!((t == 0 || off + (t - 1) * rs + DH <= src.len()) && t <= tp, "transpose: rows out of bounds");
    let mut out = Lines::zeros(DH * tp);
    #[cfg(target_arch = "x86_64")]
    if available() && rs * KC < i32::MAX as usize {
        // SAFETY: AVX-512F is available; every row read lies in `src` (asserted above) and
        // every chunk written in `out` (t ≤ tp, DH rows of tp).
        unsafe { gather_rows::<DH>(src, off, rs, t, tp, &mut out) };
        return out;
    }
    for j in 0..t {
        let row = &src[off + j * rs..off + j * rs + DH];
        for (c, &x) in row.iter().enumerate() {
            out[c * tp + j] = x;
        }
    }
    out
}

/// Lanes `0..n` of a chunk (all sixteen when `n ≥ 16`).
#[inline(always)]
pub(super) fn lanes(n: usize) -> u16 {
    if n >= KC {
        u16::MAX
    } else {
        (1u16 << n) - 1
    }
}

/// [`transpose`]'s body: for each chunk of sixteen rows, one masked gather per column.
///
/// # Safety
/// AVX-512F; rows `0..t` of `src` from `off` (stride `rs`, `DH` wide) in bounds; `out` holds
/// `DH · tp` floats with `t ≤ tp`; `16·rs` fits an i32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gather_rows<const DH: usize>(src: &[f32], off: usize, rs: usize, t: usize, tp: usize, out: &mut [f32]) {
    let idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(rs as i32),
    );
    let op = out.as_mut_ptr();
    for j0 in (0..t).step_by(KC) {
        let m = lanes(t - j0);
        let base = src.as_ptr().add(off + j0 * rs);
        for c in 0..DH {
            let v = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), m, idx, base.add(c));
            _mm512_storeu_ps(op.add(c * tp + j0), v);
        }
    }
}

/// Per 16-key chunk, the lanes whose key is real (all lanes when there is no mask; lanes past
/// `t` are never real).
pub(super) fn chunk_masks(keep: Option<&[f32]>, t: usize, chunks: usize) -> Vec<u16> {
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

/// `out[c] = k · Σ_lanes acc[c]` for the `DH` accumulators, in one fixed tree of lane sums
/// (eight accumulators at a time, transposed as they are added).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
pub(super) unsafe fn reduce_into<const DH: usize>(acc: &[__m512; DH], k: f32, out: &mut [f32]) {
    assert!(out.len() >= DH);
    let z = _mm512_setzero_ps();
    for (g, o) in acc.chunks(8).zip(out.chunks_mut(8)) {
        let v: [__m512; 8] = std::array::from_fn(|c| if c < g.len() { g[c] } else { z });
        let sums = _mm256_mul_ps(reduce8(v), _mm256_set1_ps(k));
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), sums);
        o.copy_from_slice(&lanes[..o.len()]);
    }
}

/// The lane sums of eight vectors, in order: halves, then quarters, then pairs are added
/// while the vectors are interleaved, so that 8 sums cost about 20 instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn reduce8(a: [__m512; 8]) -> __m256 {
    // 1: [aₖ quarters 0+2, 1+3 | aₖ₊₁ quarters 0+2, 1+3].
    let h = |x: __m512, y: __m512| {
        _mm512_add_ps(_mm512_shuffle_f32x4::<0b01_00_01_00>(x, y), _mm512_shuffle_f32x4::<0b11_10_11_10>(x, y))
    };
    let (s01, s23, s45, s67) = (h(a[0], a[1]), h(a[2], a[3]), h(a[4], a[5]), h(a[6], a[7]));
    // 2: quarter k holds four partial sums of aₖ (and of aₖ₊₄ in the second vector).
    let q = |x: __m512, y: __m512| {
        _mm512_add_ps(_mm512_shuffle_f32x4::<0b10_00_10_00>(x, y), _mm512_shuffle_f32x4::<0b11_01_11_01>(x, y))
    };
    let (r0, r4) = (q(s01, s23), q(s45, s67));
    // 3: quarter k: [aₖ pair sums ×2 | aₖ₊₄ pair sums ×2]; 4: adjacent lanes added.
    let v = _mm512_add_ps(_mm512_shuffle_ps::<0b01_00_01_00>(r0, r4), _mm512_shuffle_ps::<0b11_10_11_10>(r0, r4));
    let w = _mm512_add_ps(v, _mm512_permute_ps::<0b10_11_00_01>(v));
    // aₖ sits in lane 4k, aₖ₊₄ in lane 4k + 2.
    let idx = _mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    _mm512_castps512_ps256(_mm512_permutexvar_ps(idx, w))
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// `reduce8` returns each vector's lane sum, in order (integers: exact in any order).
    #[test]
    fn reduce8_sums_each_vector() {
        if !available() {
            eprintln!("SKIPPED: no AVX-512F on this CPU");
            return;
        }
        let vals: Vec<[f32; KC]> =
            (0..8).map(|v| std::array::from_fn(|l| ((v * 37 + l * 11) % 29) as f32 - 9.0)).collect();
        let want: Vec<f32> = vals.iter().map(|v| v.iter().sum()).collect();
        let mut got = [0f32; 8];
        // SAFETY: AVX-512F and FMA are available (checked above); every buffer holds its lanes.
        unsafe {
            let a: [__m512; 8] = std::array::from_fn(|v| _mm512_loadu_ps(vals[v].as_ptr()));
            _mm256_storeu_ps(got.as_mut_ptr(), reduce8(a));
        }
        assert_eq!(got.to_vec(), want);
    }
}
