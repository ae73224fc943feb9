//! The LSTM recurrence with the recurrent weight packed once per call and the batch rows
//! split into blocks that each run every time step on their own (issue 20, item 3).
//!
//! A batch row's recurrence never reads another row, so a block of rows can run all T steps
//! — the `(rows, H) × (H, 4H)` product, then the gate nonlinearities and the cell update
//! while that block's gates are still in cache — with no synchronisation between steps.
//! `W_hh` is packed once into column panels of `NR` (the product's right-hand side, zero
//! padded), so no step repacks it, and each panel stays in L1 while a block's rows pass
//! over it. Backward (BPTT) is split the same way: `dH_s = dZ_{s+1} · W_hh`, then the cell's
//! backward, per block. The layer's other products — `dW_hh`, and for `lstm_rows` the input
//! projection, dX and dW_ih — run on the same tiles ([`product`]), in AVX-512 where the
//! general GEMM crate runs AVX2 kernels.
//!
//! Each product element is summed in one fixed order (start from the destination or zero,
//! then `k = 0, 1, …` by fused multiply-add), whatever the block or the thread, so results
//! do not depend on the thread count. They differ from the general GEMM's in the last bits;
//! the tests check them against it, the reference and finite differences
//! (tests/lstm_recur.rs, tests/lstm.rs).
//!
//! Runs where the CPU has AVX-512F (the tiles are in `lstm_tile`); elsewhere `lstm_kernels`
//! keeps its general-GEMM path.

use super::lstm_kernels::{cell_bwd, cell_fwd, Act, Dims, Seq};
use super::lstm_tile::{self, Tile, MR};
use super::Fl;
use rayon::prelude::*;

/// Batch rows of one task (every step of them runs on one thread).
const ROWS: usize = 32;

/// Whether [`forward`] and [`backward`] run on this CPU (x86-64 with AVX-512F).
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The element types of the packed recurrence: a panel width and the register tile.
pub(super) trait Recur: Fl {
    /// Columns of one packed panel (two 512-bit vectors).
    const NR: usize;
    /// The `rows`-row tile ([`lstm_tile`]).
    ///
    /// # Safety
    /// AVX-512F; the tile's rows and columns in bounds, its panel `k·NR` long.
    unsafe fn tile(rows: usize, t: &Tile<Self>);
}

impl Recur for f32 {
    const NR: usize = 32;
    #[inline(always)]
    unsafe fn tile(rows: usize, t: &Tile<f32>) {
        #[cfg(target_arch = "x86_64")]
        lstm_tile::f32_rows(rows, t);
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("the packed LSTM recurrence ({rows} rows, k = {}) without AVX-512", t.k)
    }
}

impl Recur for f64 {
    const NR: usize = 16;
    #[inline(always)]
    unsafe fn tile(rows: usize, t: &Tile<f64>) {
        #[cfg(target_arch = "x86_64")]
        lstm_tile::f64_rows(rows, t);
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("the packed LSTM recurrence ({rows} rows, k = {}) without AVX-512", t.k)
    }
}

/// The left-hand side and packed right-hand side of one product.
struct Gemm<'a, T> {
    m: usize,
    n: usize,
    k: usize,
    /// Element (r, kk) of the left-hand side is `a[r·ars + kk·acs]`.
    a: &'a [T],
    ars: usize,
    acs: usize,
    /// `ceil(n / NR)` panels of `(k, NR)`, zero padded.
    packed: &'a [T],
}

/// Where a packed operand's rows are: element (kk, j) is `src[row(kk) + j·cs]`, or zero
/// where `row(kk)` is `None`.
pub(super) struct Src<'a, T, F: Fn(usize) -> Option<usize>> {
    pub src: &'a [T],
    pub row: F,
    pub cs: usize,
}

/// Packs the `(k, n)` matrix `b` into `NR`-wide panels (zero padded past column n).
fn pack<T: Recur, F: Fn(usize) -> Option<usize> + Sync>(k: usize, n: usize, b: &Src<'_, T, F>) -> Vec<T> {
    let panels = n.div_ceil(T::NR);
    let mut out = vec![T::zero(); panels * k * T::NR];
    if k == 0 {
        return out;
    }
    // Panels in parallel; within a panel, each row's NR entries in one fixed-length copy (a
    // `memmove` call per row was 12% of a W-LSTM step, with the product's tile copies below).
    out.par_chunks_mut(k * T::NR).enumerate().for_each(|(p, panel)| {
        let (c0, cols) = (p * T::NR, T::NR.min(n - p * T::NR));
        for (kk, dst) in panel.chunks_exact_mut(T::NR).enumerate() {
            match (b.row)(kk) {
                Some(o) if b.cs == 1 => dst[..cols].copy_from_slice(&b.src[o + c0..o + c0 + cols]),
                Some(o) => {
                    for (j, d) in dst[..cols].iter_mut().enumerate() {
                        *d = b.src[o + (c0 + j) * b.cs];
                    }
                }
                None => {}
            }
        }
    });
    out
}

/// Depth of one pass over the panels (a `(KB, NR)` panel slice is 32 KiB in f32: it stays
/// in L1 while every row tile passes over it).
const KB: usize = 256;

/// `dst (m, n) (+)= a (m, k) · packed`, `dst` rows `drs` apart: `KB` deep at a time, all row
/// tiles of a panel slice before the next. Splitting the depth keeps each element's order
/// (the partial sum is stored exactly and the next slice continues from it).
///
/// # Safety
/// AVX-512F.
#[inline(always)]
unsafe fn gemm<T: Recur>(g: Gemm<'_, T>, dst: &mut [T], drs: usize, acc: bool) {
    let (nr, panels) = (T::NR, g.n.div_ceil(T::NR));
    let a_end = (g.m.max(1) - 1) * g.ars + (g.k.max(1) - 1) * g.acs + 1;
    let fits = g.m == 0 || g.k == 0 || (g.a.len() >= a_end && dst.len() >= (g.m - 1) * drs + g.n);
    assert!(fits && g.packed.len() == panels * g.k * nr, "lstm_recur: a product's operands do not fit");
    if g.k == 0 && !acc {
        for r in 0..g.m {
            dst[r * drs..r * drs + g.n].fill(T::zero());
        }
    }
    for k0 in (0..g.k).step_by(KB) {
        let kb = KB.min(g.k - k0);
        for p in 0..panels {
            let (c0, cols) = (p * nr, nr.min(g.n - p * nr));
            let mut r = 0;
            while r < g.m {
                let rows = MR.min(g.m - r);
                let t = Tile {
                    k: kb,
                    a: g.a.as_ptr().add(r * g.ars + k0 * g.acs),
                    ars: g.ars,
                    acs: g.acs,
                    panel: g.packed.as_ptr().add(p * g.k * nr + k0 * nr),
                    d: dst.as_mut_ptr().add(r * drs + c0),
                    drs,
                    cols,
                    acc: acc || k0 > 0,
                };
                T::tile(rows, &t);
                r += rows;
            }
        }
    }
}

/// What every block of rows shares: the sizes and the packed weight.
struct Block<'a, T> {
    z: Dims,
    packed: &'a [T],
}

/// Forward over all steps, h0 = c0 = 0: `gates (B, T, 4H)` holds the pre-activations and
/// leaves as the activated gates; `cells` and `hs (B, T, H)` are written. `w (4H, H)`.
pub(super) fn forward<T: Act>(z: Dims, gates: &mut [T], cells: &mut [T], hs: &mut [T], w: &[T]) {
    let (t, h, h4) = (z.t, z.h, 4 * z.h);
    assert!(available(), "lstm_recur::forward on a CPU without AVX-512F");
    let packed = pack::<T, _>(h, h4, &Src { src: w, row: Some, cs: h }); // W_hhᵀ (H, 4H)
    let blocks = gates.par_chunks_mut(ROWS * t * h4).zip(cells.par_chunks_mut(ROWS * t * h));
    blocks.zip(hs.par_chunks_mut(ROWS * t * h)).for_each(|((g, c), hb)| {
        // SAFETY: AVX-512F was detected above.
        unsafe { fwd_block(&Block { z, packed: &packed }, g, c, hb) }
    });
}

/// One block of rows through every step.
///
/// # Safety
/// AVX-512F.
#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx512f"))]
unsafe fn fwd_block<T: Act>(blk: &Block<'_, T>, g: &mut [T], c: &mut [T], hb: &mut [T]) {
    let (t, h, h4) = (blk.z.t, blk.z.h, 4 * blk.z.h);
    let rows = hb.len() / (t * h);
    for s in 0..t {
        if s > 0 {
            let a = &hb[(s - 1) * h..];
            gemm(
                Gemm { m: rows, n: h4, k: h, a, ars: t * h, acs: 1, packed: blk.packed },
                &mut g[s * h4..],
                t * h4,
                true,
            );
        }
        for ((zb, cb), hr) in g.chunks_exact_mut(t * h4).zip(c.chunks_exact_mut(t * h)).zip(hb.chunks_exact_mut(t * h))
        {
            cell_fwd(s, h, zb, cb, hr);
        }
    }
}

/// What backward reads per block (the batch rows of the forward state and the gradient).
struct Bwd<'a, T> {
    gates: &'a [T],
    cells: &'a [T],
    grad: &'a [T],
}

/// BPTT: writes `dz (B, T, 4H)` = dLoss/dZ from `grad (B, T, H)` = dLoss/dh and the saved
/// gates and cells; `w (4H, H)`.
pub(super) fn backward<T: Act>(z: Dims, w: &[T], gates: &[T], cells: &[T], grad: &[T], dz: &mut [T]) {
    let (t, h, h4) = (z.t, z.h, 4 * z.h);
    assert!(available(), "lstm_recur::backward on a CPU without AVX-512F");
    let packed = pack::<T, _>(h4, h, &Src { src: w, row: |kk| Some(kk * h), cs: 1 }); // W_hh (4H, H)
    let fw = gates.par_chunks(ROWS * t * h4).zip(cells.par_chunks(ROWS * t * h)).zip(grad.par_chunks(ROWS * t * h));
    dz.par_chunks_mut(ROWS * t * h4).zip(fw).for_each(|(d, ((gates, cells), grad))| {
        // SAFETY: AVX-512F was detected above.
        unsafe { bwd_block(&Block { z, packed: &packed }, &Bwd { gates, cells, grad }, d) }
    });
}

/// One block of rows through every step, last to first.
///
/// # Safety
/// AVX-512F.
#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx512f"))]
unsafe fn bwd_block<T: Act>(blk: &Block<'_, T>, fw: &Bwd<'_, T>, d: &mut [T]) {
    let (t, h, h4) = (blk.z.t, blk.z.h, 4 * blk.z.h);
    let rows = fw.grad.len() / (t * h);
    let mut dh_rec = vec![T::zero(); rows * h]; // dLoss/dh_s through step s+1
    let mut dc = vec![T::zero(); rows * h]; // dLoss/dc_s through step s+1
    let zeros = vec![T::zero(); h];
    for s in (0..t).rev() {
        if s + 1 < t {
            let g = Gemm { m: rows, n: h, k: h4, a: &d[(s + 1) * h4..], ars: t * h4, acs: 1, packed: blk.packed };
            gemm(g, &mut dh_rec, h, false);
        }
        for (r, (dzb, dcb)) in d.chunks_exact_mut(t * h4).zip(dc.chunks_exact_mut(h)).enumerate() {
            let seq = Seq {
                gates: &fw.gates[r * t * h4..(r + 1) * t * h4],
                cells: &fw.cells[r * t * h..(r + 1) * t * h],
                grad: &fw.grad[r * t * h..(r + 1) * t * h],
                dh_rec: &dh_rec[r * h..(r + 1) * h],
                zeros: &zeros,
            };
            cell_bwd(s, h, &seq, dcb, dzb);
        }
    }
}

/// Rows of `dst` per task of [`product`].
const P_ROWS: usize = 64;

/// `dst (m, n) (+)= A (m, k) · B (k, n)` with `A (r, kk) = a[r·ars + kk·acs]` and `B` as
/// [`Src`] says (packed first), `dst` row-major: blocks of rows in parallel, each element
/// summed over `kk` in order (from `dst` when `acc`, else from zero).
pub(super) fn product<T: Recur, F: Fn(usize) -> Option<usize> + Sync>(
    (m, n, k): (usize, usize, usize),
    a: &[T],
    (ars, acs): (usize, usize),
    b: &Src<'_, T, F>,
    dst: &mut [T],
    acc: bool,
) {
    assert!(available(), "lstm_recur::product on a CPU without AVX-512F");
    assert!(dst.len() == m * n, "lstm_recur::product: dst has {} elements for ({m}, {n})", dst.len());
    if m == 0 || n == 0 {
        return;
    }
    let packed = pack(k, n, b);
    dst.par_chunks_mut(P_ROWS * n).enumerate().for_each(|(i, d)| {
        let (rows, a) = (d.len() / n, &a[(i * P_ROWS * ars).min(a.len())..]);
        if acs == 1 {
            let g = Gemm { m: rows, n, k, a, ars, acs, packed: &packed };
            // SAFETY: AVX-512F was detected above.
            return unsafe { gemm_block(g, d, n, acc) };
        }
        // A read down its columns (a transposed operand, `acs` far apart): each row tile's
        // `(k, MR)` block is copied contiguous first, so the tile reads it in order.
        for (r0, dt) in (0..rows).step_by(MR).zip(d.chunks_mut(MR * n)) {
            let m = dt.len() / n;
            let mut at = vec![T::zero(); k * m];
            if ars == 1 && m == MR {
                // Whole tiles: fixed-length copies (inlined, no memmove call per row).
                for (kk, dst) in at.chunks_exact_mut(MR).enumerate() {
                    let src: &[T; MR] = a[r0 + kk * acs..r0 + kk * acs + MR].try_into().expect("MR entries");
                    dst.copy_from_slice(src);
                }
            } else {
                for (kk, dst) in at.chunks_exact_mut(m).enumerate() {
                    for (r, d) in dst.iter_mut().enumerate() {
                        *d = a[(r0 + r) * ars + kk * acs];
                    }
                }
            }
            let g = Gemm { m, n, k, a: &at, ars: 1, acs: m, packed: &packed };
            // SAFETY: AVX-512F was detected above.
            unsafe { gemm_block(g, dt, n, acc) }
        }
    });
}

/// `dW_hh (4H, H) = Σ_s dZ_sᵀ · H_{s-1}` over all B·T rows (h_{-1} = 0): `dz (B, T, 4H)`
/// read transposed, `hs (B, T, H)` packed shifted one step right.
pub(super) fn grad_w<T: Act>(z: Dims, dz: &[T], hs: &[T]) -> Vec<T> {
    let (t, h, h4, n) = (z.t, z.h, 4 * z.h, z.b * z.t);
    let mut dw = vec![T::zero(); h4 * h];
    let shifted = Src { src: hs, row: |kk: usize| (kk % t != 0).then(|| (kk - 1) * h), cs: 1 };
    product((h4, h, n), dz, (1, h4), &shifted, &mut dw, false);
    dw
}

/// # Safety
/// AVX-512F.
#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx512f"))]
unsafe fn gemm_block<T: Recur>(g: Gemm<'_, T>, d: &mut [T], drs: usize, acc: bool) {
    gemm(g, d, drs, acc)
}
