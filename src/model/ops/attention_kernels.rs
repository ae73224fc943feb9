//! Host kernels of the fused attention core (see `attention.rs` for the contract): per
//! (batch, head) GEMMs on strided views of the packed `qkv`, the masked row softmax, and the
//! backward `dS = P ⊙ (dP − rowdot(dP, P))`.

use super::attention::AttnSpec;
use super::{gemm, rowdot, softmax_row, Fl, Mat, MatMut};
use candle_core::{bail, Result};
use rayon::prelude::*;

/// Sizes: batch, time, model width, heads, head width.
#[derive(Clone, Copy)]
pub(super) struct Dims {
    pub b: usize,
    pub t: usize,
    pub d: usize,
    pub h: usize,
    pub dh: usize,
}

impl Dims {
    /// Sizes of a packed `qkv (B, T, 3D)` split into `heads`.
    pub fn new(qkv: &[usize], heads: usize) -> Result<Dims> {
        let h = heads;
        match *qkv {
            [b, t, d3] if d3 % 3 == 0 && h > 0 && (d3 / 3) % h == 0 => Ok(Dims { b, t, d: d3 / 3, h, dh: d3 / 3 / h }),
            _ => bail!("attention: qkv {qkv:?} must be (B, T, 3·D) with D divisible by {h} heads"),
        }
    }

    fn d3(&self) -> usize {
        3 * self.d
    }
}

/// Bias slice of (batch, head), if any: `(data, per_batch)`.
fn bias_at<T>(bias: Option<(&[T], bool)>, z: Dims, bi: usize, hi: usize) -> Option<&[T]> {
    bias.map(|(data, per_batch)| {
        let idx = if per_batch { bi * z.h + hi } else { hi };
        &data[idx * z.t * z.t..(idx + 1) * z.t * z.t]
    })
}

/// Queries per block in the forward pass: a block's scores (`QB × T`) stay in L2 at T = 1000.
const QB: usize = 64;

/// Forward: returns ctx (B, T, D) and, when `save`, P (B, H, T, T) for backward. Batch
/// elements run in parallel (rayon); each one's arithmetic is the same whatever thread runs
/// it, so results are bit-identical to a sequential run. Without `save` only a `QB × T`
/// block of scores per thread exists at a time.
pub(super) fn forward<T: Fl>(
    op: &AttnSpec,
    scale: f64,
    z: Dims,
    qkv: &[T],
    bias: Option<(&[T], bool)>,
    save: bool,
) -> Result<(Vec<T>, Option<Vec<T>>)> {
    let (t, d) = (z.t, z.d);
    let mut out = vec![T::zero(); z.b * t * d]; // (B, T, D)
    let mut probs = save.then(|| vec![T::zero(); z.b * z.h * t * t]); // (B, H, T, T)
    if z.b == 0 || t == 0 {
        return Ok((out, probs));
    }
    let scale = T::from_f64(scale);
    let run = |bi: usize, out_b: &mut [T], probs_b: Option<&mut [T]>| {
        forward_one(op, scale, z, qkv, bias, bi, out_b, probs_b)
    };
    match probs.as_mut() {
        Some(p) => out
            .par_chunks_mut(t * d)
            .zip(p.par_chunks_mut(z.h * t * t))
            .enumerate()
            .try_for_each(|(bi, (out_b, probs_b))| run(bi, out_b, Some(probs_b)))?,
        None => out.par_chunks_mut(t * d).enumerate().try_for_each(|(bi, out_b)| run(bi, out_b, None))?,
    }
    Ok((out, probs))
}

/// The keys query `i` of head `h` may see: `lo..hi` (before the padding mask). Causal:
/// `j <= i`; a window `w > 0`: the last `w` positions up to the query, `i − w < j <= i`.
#[inline]
pub(super) fn visible(op: &AttnSpec, t: usize, h: usize, i: usize) -> (usize, usize) {
    let w = op.window.as_ref().map_or(0, |w| w[h]);
    if w > 0 {
        ((i + 1).saturating_sub(w), i + 1)
    } else if op.causal {
        (0, i + 1)
    } else {
        (0, t)
    }
}

/// One batch element: `out_b (T, D)` and, when saving, `probs_b (H, T, T)`; queries are
/// processed in blocks of [`QB`] rows over the keys the block can see.
#[allow(clippy::too_many_arguments)]
fn forward_one<T: Fl>(
    op: &AttnSpec,
    scale: T,
    z: Dims,
    qkv: &[T],
    bias: Option<(&[T], bool)>,
    bi: usize,
    out_b: &mut [T],
    mut probs_b: Option<&mut [T]>,
) -> Result<()> {
    let (t, d, d3, dh) = (z.t, z.d, z.d3(), z.dh);
    let keep: Option<Vec<T>> =
        op.key_mask.as_ref().map(|m| m[bi * t..(bi + 1) * t].iter().map(|&v| T::from_f64(v as f64)).collect());
    let mut scratch = if probs_b.is_none() { vec![T::zero(); QB.min(t) * t] } else { vec![] };
    let base = bi * t * d3;
    for hi in 0..z.h {
        let bias_h = bias_at(bias, z, bi, hi);
        let slope = op.alibi.as_ref().map(|a| (T::from_f64(a.slopes[hi]), T::from_f64(a.slopes[hi] * a.before)));
        for i0 in (0..t).step_by(QB) {
            let i1 = (i0 + QB).min(t);
            let (klo, khi) = (visible(op, t, hi, i0).0, visible(op, t, hi, i1 - 1).1);
            let block: &mut [T] = match probs_b.as_deref_mut() {
                Some(p) => &mut p[(hi * t + i0) * t..(hi * t + i1) * t],
                None => &mut scratch[..(i1 - i0) * t],
            }; // (rows, T), row stride T
            let q = Mat::at(qkv, base + i0 * d3 + hi * dh, d3, 1); // (rows, dh)
            let kt = Mat::at(qkv, base + klo * d3 + d + hi * dh, 1, d3); // (dh, keys)
            gemm((i1 - i0, khi - klo, dh), MatMut::at(block, klo, t, 1), q, kt, scale)?;
            for (r, row) in block.chunks_exact_mut(t).enumerate() {
                let i = i0 + r;
                let (lo, hi_) = visible(op, t, hi, i);
                if let Some(b) = bias_h {
                    for (s, &b) in row[lo..hi_].iter_mut().zip(&b[i * t + lo..i * t + hi_]) {
                        *s += b;
                    }
                }
                if let Some((m, before)) = slope {
                    add_alibi(&mut row[lo..hi_], lo, i, m, before);
                }
                softmax_row(&mut row[lo..hi_], keep.as_ref().map(|k| &k[lo..hi_]));
                row[klo..lo].fill(T::zero());
                row[hi_..khi].fill(T::zero());
            }
            let p = Mat::at(block, klo, t, 1); // (rows, keys)
            let v = Mat::at(qkv, base + klo * d3 + 2 * d + hi * dh, d3, 1); // (keys, dh)
            let dst = MatMut::at(out_b, i0 * d + hi * dh, d, 1);
            gemm((i1 - i0, dh, khi - klo), dst, p, v, T::one())?;
        }
    }
    Ok(())
}

/// ALiBi bias of query `i` on keys `lo..lo + row.len()`: `m·(−|i − j|) + m·before·[j < i]`.
#[inline]
pub(super) fn add_alibi<T: Fl>(row: &mut [T], lo: usize, i: usize, m: T, m_before: T) {
    for (k, s) in row.iter_mut().enumerate() {
        let j = lo + k;
        let dist = T::from_f64(i.abs_diff(j) as f64);
        *s += -(m * dist) + if j < i { m_before } else { T::zero() };
    }
}

/// Backward: d(qkv) (B, T, 3D) and, when `want_bias`, d(bias) in the bias layout.
pub(super) fn backward<T: Fl>(
    scale: f64,
    z: Dims,
    qkv: &[T],
    probs: &[T],
    g: &[T],
    bias_len: Option<(usize, bool)>,
) -> Result<(Vec<T>, Option<Vec<T>>)> {
    let (t, d3) = (z.t, z.d3());
    let scale = T::from_f64(scale);
    let mut dqkv = vec![T::zero(); z.b * t * d3];
    if bias_len.is_none() && z.b > 0 && t > 0 {
        // No bias gradient to accumulate across the batch: batch elements are independent.
        dqkv.par_chunks_mut(t * d3).enumerate().try_for_each(|(bi, dq_b)| {
            let mut ds = vec![T::zero(); t * t];
            backward_one(scale, z, qkv, probs, g, bi, dq_b, &mut ds, None)
        })?;
        return Ok((dqkv, None));
    }
    let mut dbias = bias_len.map(|(n, _)| vec![T::zero(); n]);
    let mut ds = vec![T::zero(); t * t]; // (T, T) scratch: dP, then dS
    for (bi, dq_b) in dqkv.chunks_exact_mut(t * d3).enumerate() {
        let db = dbias.as_deref_mut().zip(bias_len.map(|(_, per_batch)| per_batch));
        backward_one(scale, z, qkv, probs, g, bi, dq_b, &mut ds, db)?;
    }
    Ok((dqkv, dbias))
}

/// One batch element's `d(qkv) (T, 3D)` into `dq_b`; adds its bias gradient into `dbias`
/// (`(data, per_batch)`) when given. `ds` is a `(T, T)` scratch buffer.
#[allow(clippy::too_many_arguments)]
fn backward_one<T: Fl>(
    scale: T,
    z: Dims,
    qkv: &[T],
    probs: &[T],
    g: &[T],
    bi: usize,
    dq_b: &mut [T],
    ds: &mut [T],
    mut dbias: Option<(&mut [T], bool)>,
) -> Result<()> {
    let (t, d, d3) = (z.t, z.d, z.d3());
    let base = bi * t * d3;
    for hi in 0..z.h {
        let p = &probs[(bi * z.h + hi) * t * t..][..t * t];
        let gh = Mat::at(g, bi * t * d + hi * z.dh, d, 1); // dctx (T, dh)
        let vt = Mat::at(qkv, base + 2 * d + hi * z.dh, 1, d3); // Vᵀ (dh, T)
        gemm((t, t, z.dh), MatMut::at(ds, 0, t, 1), gh, vt, T::one())?;
        for (dsr, pr) in ds.chunks_exact_mut(t).zip(p.chunks_exact(t)) {
            let dot = rowdot(dsr, pr); // dS = P ⊙ (dP − rowdot(dP, P))
            for (s, &p) in dsr.iter_mut().zip(pr) {
                *s = p * (*s - dot);
            }
        }
        if let Some((db, per_batch)) = dbias.as_mut() {
            let idx = if *per_batch { bi * z.h + hi } else { hi };
            for (a, &s) in db[idx * t * t..(idx + 1) * t * t].iter_mut().zip(ds.iter()) {
                *a += s;
            }
        }
        let dsm = Mat::at(ds, 0, t, 1);
        let ds_t = Mat::at(ds, 0, 1, t); // dSᵀ
        let k = Mat::at(qkv, base + d + hi * z.dh, d3, 1);
        let q = Mat::at(qkv, base + hi * z.dh, d3, 1);
        gemm((t, z.dh, t), MatMut::at(dq_b, hi * z.dh, d3, 1), dsm, k, scale)?; // dQ = scale · dS K
        gemm((t, z.dh, t), MatMut::at(dq_b, d + hi * z.dh, d3, 1), ds_t, q, scale)?; // dK = scale · dSᵀ Q
        let pt = Mat::at(p, 0, 1, t);
        gemm((t, z.dh, t), MatMut::at(dq_b, 2 * d + hi * z.dh, d3, 1), pt, gh, T::one())?;
        // dV = Pᵀ dctx
    }
    Ok(())
}
