//! The register tiles of the packed LSTM recurrence (`lstm_recur`), AVX-512:
//! `d (R, cols) (+)= a (R, k) · panel (k, NR)` with `R ≤ 8` rows and `NR` = two vectors of
//! columns (32 f32, 16 f64), the accumulators in registers. Each element is summed in one
//! order: the destination (or zero), then `k = 0, 1, …` by fused multiply-add.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Rows of a full tile.
pub(super) const MR: usize = 8;

/// One tile's operands (raw pointers: the caller checks every row and column is in bounds).
pub(super) struct Tile<T> {
    pub k: usize,
    /// Row `r`, column `kk` at `a + r·ars + kk·acs`.
    pub a: *const T,
    pub ars: usize,
    pub acs: usize,
    /// `(k, NR)` row-major, zero padded past the last column.
    pub panel: *const T,
    /// Row `r`, column `j < cols` at `d + r·drs + j`.
    pub d: *mut T,
    pub drs: usize,
    pub cols: usize,
    /// Add to `d` (true) or overwrite it.
    pub acc: bool,
}

/// Lanes `0..n` of a 16-lane mask.
#[cfg(target_arch = "x86_64")]
fn mask16(n: usize) -> u16 {
    if n >= 16 {
        u16::MAX
    } else {
        (1u16 << n) - 1
    }
}

/// # Safety
/// AVX-512F; `t`'s rows `0..R` and columns `0..cols` in bounds, the panel `k·32` long.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_f32<const R: usize>(t: &Tile<f32>) {
    let (m0, m1) = (mask16(t.cols), mask16(t.cols.saturating_sub(16)));
    let mut c = [[_mm512_setzero_ps(); 2]; R];
    if t.acc {
        for (r, cr) in c.iter_mut().enumerate() {
            let d = t.d.wrapping_add(r * t.drs);
            cr[0] = _mm512_maskz_loadu_ps(m0, d);
            cr[1] = _mm512_maskz_loadu_ps(m1, d.wrapping_add(16));
        }
    }
    for kk in 0..t.k {
        let b0 = _mm512_loadu_ps(t.panel.add(kk * 32));
        let b1 = _mm512_loadu_ps(t.panel.add(kk * 32 + 16));
        for (r, cr) in c.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*t.a.add(r * t.ars + kk * t.acs));
            cr[0] = _mm512_fmadd_ps(av, b0, cr[0]);
            cr[1] = _mm512_fmadd_ps(av, b1, cr[1]);
        }
    }
    for (r, cr) in c.iter().enumerate() {
        let d = t.d.wrapping_add(r * t.drs);
        _mm512_mask_storeu_ps(d, m0, cr[0]);
        _mm512_mask_storeu_ps(d.wrapping_add(16), m1, cr[1]);
    }
}

/// # Safety
/// AVX-512F; `t`'s rows `0..R` and columns `0..cols` in bounds, the panel `k·16` long.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_f64<const R: usize>(t: &Tile<f64>) {
    let (m0, m1) = (mask16(t.cols) as u8, mask16(t.cols.saturating_sub(8)) as u8);
    let mut c = [[_mm512_setzero_pd(); 2]; R];
    if t.acc {
        for (r, cr) in c.iter_mut().enumerate() {
            let d = t.d.wrapping_add(r * t.drs);
            cr[0] = _mm512_maskz_loadu_pd(m0, d);
            cr[1] = _mm512_maskz_loadu_pd(m1, d.wrapping_add(8));
        }
    }
    for kk in 0..t.k {
        let b0 = _mm512_loadu_pd(t.panel.add(kk * 16));
        let b1 = _mm512_loadu_pd(t.panel.add(kk * 16 + 8));
        for (r, cr) in c.iter_mut().enumerate() {
            let av = _mm512_set1_pd(*t.a.add(r * t.ars + kk * t.acs));
            cr[0] = _mm512_fmadd_pd(av, b0, cr[0]);
            cr[1] = _mm512_fmadd_pd(av, b1, cr[1]);
        }
    }
    for (r, cr) in c.iter().enumerate() {
        let d = t.d.wrapping_add(r * t.drs);
        _mm512_mask_storeu_pd(d, m0, cr[0]);
        _mm512_mask_storeu_pd(d.wrapping_add(8), m1, cr[1]);
    }
}

/// Runs the `rows`-row tile (1 ≤ rows ≤ [`MR`]) for the element type.
macro_rules! by_rows {
    ($f:ident, $rows:expr, $t:expr) => {
        match $rows {
            8 => $f::<8>($t),
            7 => $f::<7>($t),
            6 => $f::<6>($t),
            5 => $f::<5>($t),
            4 => $f::<4>($t),
            3 => $f::<3>($t),
            2 => $f::<2>($t),
            _ => $f::<1>($t),
        }
    };
}

/// # Safety
/// AVX-512F; the tile's `rows` rows and `cols` columns in bounds, the panel `k·32` long.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn f32_rows(rows: usize, t: &Tile<f32>) {
    by_rows!(tile_f32, rows, t)
}

/// # Safety
/// AVX-512F; the tile's `rows` rows and `cols` columns in bounds, the panel `k·16` long.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn f64_rows(rows: usize, t: &Tile<f64>) {
    by_rows!(tile_f64, rows, t)
}
