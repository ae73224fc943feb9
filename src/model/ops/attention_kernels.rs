//! Host kernels of the fused attention core (see `attention.rs` for the contract): per
//! (batch, head) GEMMs on strided views of the packed `qkv`, the masked row softmax, and the
//! backward `dS = P ⊙ (dP − rowdot(dP, P))`.

use super::attention::AttnSpec;
use super::attention_eval::{self, EvalHead};
use super::attention_train::{self, BackHead};
use super::{gemm, rowdot, softmax_row, zero_fill, zeros, Fl, Mat, MatMut};
use candle_core::{bail, Result};
use rayon::prelude::*;

/// Sizes: batch, time, model width, heads, head width.
#[derive(Clone, Copy)]
pub(crate) struct Dims {
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

/// Forward: returns ctx (B, T, D) and, when `save`, P (B, H, T, T) for backward. Work is
/// spread over threads by batch element, or by head when the batch has fewer elements than
/// there are threads (e.g. one long sequence). Each (batch, head) pair's arithmetic is the
/// same whatever thread runs it, so results are bit-identical to a sequential run. Without
/// `save` only a `QB × T` block of scores per task exists at a time.
pub(crate) fn forward<T: Fl>(
    op: &AttnSpec,
    scale: f64,
    z: Dims,
    qkv: &[T],
    bias: Option<(&[T], bool)>,
    save: bool,
) -> Result<(Vec<T>, Option<Vec<T>>)> {
    let mut probs = save.then(Vec::new);
    let out = forward_into(op, scale, z, qkv, bias, probs.as_mut())?;
    Ok((out, probs))
}

/// [`forward`] writing P into `probs` (resized to `(B, H, T, T)`; a buffer kept from an
/// earlier step is reused, which spares the page faults of a fresh tens-of-megabytes
/// allocation), or keeping no P when `None`.
pub(crate) fn forward_into<T: Fl>(
    op: &AttnSpec,
    scale: f64,
    z: Dims,
    qkv: &[T],
    bias: Option<(&[T], bool)>,
    mut probs: Option<&mut Vec<T>>,
) -> Result<Vec<T>> {
    let (t, d, dh) = (z.t, z.d, z.dh);
    let mut out = zeros(z.b * t * d); // (B, T, D)
    if let Some(p) = probs.as_deref_mut() {
        // Causal and windowed rows of the blocked path write only the keys their query block
        // can see, so the buffer starts zeroed (in parallel, within the capacity kept from
        // earlier steps). Otherwise every entry is written below.
        if op.causal || op.window.is_some() {
            zero_fill(p, z.b * z.h * t * t);
        } else {
            p.resize(z.b * z.h * t * t, T::zero());
        }
    }
    if z.b == 0 || t == 0 {
        return Ok(out);
    }
    let scale = T::from_f64(scale);
    let cx = Fwd { op, scale, z, qkv, bias };
    if z.b >= rayon::current_num_threads() {
        let run = |bi: usize, out_b: &mut [T], mut probs_b: Option<&mut [T]>| -> Result<()> {
            let keep = cx.keep(bi);
            for hi in 0..z.h {
                let p = probs_b.as_deref_mut().map(|p| &mut p[hi * t * t..(hi + 1) * t * t]);
                cx.head(bi, hi, keep.as_deref(), MatMut::at(out_b, hi * dh, d, 1), p)?;
            }
            Ok(())
        };
        match probs.as_deref_mut() {
            Some(p) => out
                .par_chunks_mut(t * d)
                .zip(p.par_chunks_mut(z.h * t * t))
                .enumerate()
                .try_for_each(|(bi, (out_b, probs_b))| run(bi, out_b, Some(probs_b)))?,
            None => out.par_chunks_mut(t * d).enumerate().try_for_each(|(bi, out_b)| run(bi, out_b, None))?,
        }
        return Ok(out);
    }
    // Few sequences: heads in parallel, each writing its (T, dh) context to a scratch slab.
    let mut slab = vec![T::zero(); z.h * t * dh]; // (H, T, dh)
    for bi in 0..z.b {
        let keep = cx.keep(bi);
        let keep = keep.as_deref();
        match probs.as_deref_mut() {
            Some(p) => slab
                .par_chunks_mut(t * dh)
                .zip(p[bi * z.h * t * t..(bi + 1) * z.h * t * t].par_chunks_mut(t * t))
                .enumerate()
                .try_for_each(|(hi, (s, p))| cx.head(bi, hi, keep, MatMut::at(s, 0, dh, 1), Some(p)))?,
            None => slab
                .par_chunks_mut(t * dh)
                .enumerate()
                .try_for_each(|(hi, s)| cx.head(bi, hi, keep, MatMut::at(s, 0, dh, 1), None))?,
        }
        for (hi, s) in slab.chunks_exact(t * dh).enumerate() {
            for (i, row) in s.chunks_exact(dh).enumerate() {
                out[(bi * t + i) * d + hi * dh..][..dh].copy_from_slice(row);
            }
        }
    }
    Ok(out)
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

/// What every (batch, head) task of the forward pass reads.
struct Fwd<'a, T> {
    op: &'a AttnSpec,
    scale: T,
    z: Dims,
    qkv: &'a [T],
    bias: Option<(&'a [T], bool)>,
}

impl<T: Fl> Fwd<'_, T> {
    /// Batch element `bi`'s key mask as `T` (1 = real), if any.
    fn keep(&self, bi: usize) -> Option<Vec<T>> {
        let t = self.z.t;
        self.op.key_mask.as_ref().map(|m| m[bi * t..(bi + 1) * t].iter().map(|&v| T::from_f64(v as f64)).collect())
    }

    /// Head `hi` of batch element `bi`: its context `(T, dh)` into `dst` and, when saving, its
    /// weights `(T, T)` into `probs`; queries in blocks of [`QB`] rows over the keys the
    /// block can see.
    fn head(
        &self,
        bi: usize,
        hi: usize,
        keep: Option<&[T]>,
        dst: MatMut<'_, T>,
        mut probs: Option<&mut [T]>,
    ) -> Result<()> {
        let (op, z) = (self.op, self.z);
        let (t, d, d3, dh) = (z.t, z.d, z.d3(), z.dh);
        let base = bi * t * d3;
        let bias_h = bias_at(self.bias, z, bi, hi);
        if dst.cs == 1 && attention_eval::covers(op, dh, bias_h.is_some()) {
            let a = EvalHead {
                t,
                dh,
                scale: self.scale,
                causal: op.causal,
                qkv: self.qkv,
                rs: d3,
                q_off: base + hi * dh,
                k_off: base + d + hi * dh,
                v_off: base + 2 * d + hi * dh,
                keep,
                out: &mut *dst.data,
                o_off: dst.off,
                o_rs: dst.rs,
            };
            let done = match probs.as_deref_mut() {
                None => T::eval_head(a),
                Some(p) => T::train_head(a, p),
            };
            if done {
                return Ok(());
            }
        }
        let slope = op.alibi.as_ref().map(|a| (T::from_f64(a.slopes[hi]), T::from_f64(a.slopes[hi] * a.before)));
        let pos = op.alibi.as_ref().and_then(|a| a.row(bi, t));
        let mut scratch = if probs.is_none() { vec![T::zero(); QB.min(t) * t] } else { vec![] };
        for i0 in (0..t).step_by(QB) {
            let i1 = (i0 + QB).min(t);
            let (klo, khi) = (visible(op, t, hi, i0).0, visible(op, t, hi, i1 - 1).1);
            let block: &mut [T] = match probs.as_deref_mut() {
                Some(p) => &mut p[i0 * t..i1 * t],
                None => &mut scratch[..(i1 - i0) * t],
            }; // (rows, T), row stride T
            let q = Mat::at(self.qkv, base + i0 * d3 + hi * dh, d3, 1); // (rows, dh)
            let kt = Mat::at(self.qkv, base + klo * d3 + d + hi * dh, 1, d3); // (dh, keys)
            gemm((i1 - i0, khi - klo, dh), MatMut::at(block, klo, t, 1), q, kt, self.scale)?;
            for (r, row) in block.chunks_exact_mut(t).enumerate() {
                let i = i0 + r;
                let (lo, hi_) = visible(op, t, hi, i);
                if let Some(b) = bias_h {
                    for (s, &b) in row[lo..hi_].iter_mut().zip(&b[i * t + lo..i * t + hi_]) {
                        *s += b;
                    }
                }
                if let Some((m, before)) = slope {
                    add_alibi(&mut row[lo..hi_], lo, i, m, before, pos);
                }
                softmax_row(&mut row[lo..hi_], keep.map(|k| &k[lo..hi_]));
                row[klo..lo].fill(T::zero());
                row[hi_..khi].fill(T::zero());
            }
            let p = Mat::at(block, klo, t, 1); // (rows, keys)
            let v = Mat::at(self.qkv, base + klo * d3 + 2 * d + hi * dh, d3, 1); // (keys, dh)
            let rows = MatMut::at(&mut *dst.data, dst.off + i0 * dst.rs, dst.rs, dst.cs);
            gemm((i1 - i0, dh, khi - klo), rows, p, v, T::one())?;
        }
        Ok(())
    }
}

/// ALiBi bias of query `i` on keys `lo..lo + row.len()`: `m·(−|p_i − p_j|) + m·before·[p_j < p_i]`
/// with `p` the position ids `pos` (the indices when `None`).
#[inline]
pub(super) fn add_alibi<T: Fl>(row: &mut [T], lo: usize, i: usize, m: T, m_before: T, pos: Option<&[u32]>) {
    match pos {
        None => {
            for (k, s) in row.iter_mut().enumerate() {
                let j = lo + k;
                let dist = T::from_f64(i.abs_diff(j) as f64);
                *s += -(m * dist) + if j < i { m_before } else { T::zero() };
            }
        }
        Some(p) => {
            let pi = p[i];
            for (s, &pj) in row.iter_mut().zip(&p[lo..]) {
                let dist = T::from_f64(pi.abs_diff(pj) as f64);
                *s += -(m * dist) + if pj < pi { m_before } else { T::zero() };
            }
        }
    }
}

/// Backward: d(qkv) (B, T, 3D) and, when `bias_len` = `(len, per_batch)`, d(bias) in the
/// bias layout. Parallel by batch element, or — with few batch elements or a bias gradient to
/// accumulate — by head (each head owns its bias-gradient rows); the summation order is fixed,
/// so results are bit-identical to a sequential run.
pub(crate) fn backward<T: Fl>(
    scale: f64,
    z: Dims,
    qkv: &[T],
    probs: &[T],
    g: &[T],
    bias_len: Option<(usize, bool)>,
) -> Result<(Vec<T>, Option<Vec<T>>)> {
    let (t, d3, dh) = (z.t, z.d3(), z.dh);
    let cx = Bwd { scale: T::from_f64(scale), z, qkv, probs, g };
    let mut dqkv = zeros(z.b * t * d3);
    let mut dbias = bias_len.map(|(n, _)| vec![T::zero(); n]);
    if z.b == 0 || t == 0 {
        return Ok((dqkv, dbias));
    }
    if bias_len.is_none() && z.b >= rayon::current_num_threads() {
        dqkv.par_chunks_mut(t * d3).enumerate().try_for_each(|(bi, dq_b)| {
            let mut ds = vec![T::zero(); t * t];
            (0..z.h).try_for_each(|hi| cx.head(bi, hi, dq_b, (hi * dh, d3), &mut ds, None))
        })?;
        return Ok((dqkv, None));
    }
    let per_batch = bias_len.is_some_and(|(_, pb)| pb);
    let mut slab = vec![T::zero(); z.h * t * 3 * dh]; // (H, T, 3·dh): head h's [dQ | dK | dV]
    for bi in 0..z.b {
        let heads = slab.par_chunks_mut(t * 3 * dh).enumerate();
        match dbias.as_mut() {
            Some(db) => {
                let db = if per_batch { &mut db[bi * z.h * t * t..(bi + 1) * z.h * t * t] } else { &mut db[..] };
                heads.zip(db.par_chunks_mut(t * t)).try_for_each(|((hi, sl), db)| {
                    let mut ds = vec![T::zero(); t * t];
                    cx.head(bi, hi, sl, (0, 3 * dh), &mut ds, Some(db))
                })?
            }
            None => heads.try_for_each(|(hi, sl)| {
                let mut ds = vec![T::zero(); t * t];
                cx.head(bi, hi, sl, (0, 3 * dh), &mut ds, None)
            })?,
        }
        for (hi, sl) in slab.chunks_exact(t * 3 * dh).enumerate() {
            for (i, row) in sl.chunks_exact(3 * dh).enumerate() {
                let dst = &mut dqkv[(bi * t + i) * d3..(bi * t + i + 1) * d3];
                for part in 0..3 {
                    dst[part * z.d + hi * dh..][..dh].copy_from_slice(&row[part * dh..(part + 1) * dh]);
                }
            }
        }
    }
    Ok((dqkv, dbias))
}

/// What every (batch, head) task of the backward pass reads.
struct Bwd<'a, T> {
    scale: T,
    z: Dims,
    qkv: &'a [T],
    probs: &'a [T],
    g: &'a [T],
}

impl<T: Fl> Bwd<'_, T> {
    /// Head `hi` of batch element `bi`: writes dQ, dK, dV `(T, dh)` into `dst` at columns
    /// `col`, `col + sep`, `col + 2·sep` (row stride `3·sep` for the packed layout, or
    /// `3·dh` for a head slab), and adds the head's score gradient into `dbias (T, T)` when
    /// given. `ds` is a `(T, T)` scratch buffer.
    fn head(
        &self,
        bi: usize,
        hi: usize,
        dst: &mut [T],
        (col, stride): (usize, usize),
        ds: &mut [T],
        dbias: Option<&mut [T]>,
    ) -> Result<()> {
        let z = self.z;
        let (t, d, d3, dh) = (z.t, z.d, z.d3(), z.dh);
        let sep = stride / 3; // D in the packed layout, dh in a slab
        let base = bi * t * d3;
        let p = &self.probs[(bi * z.h + hi) * t * t..][..t * t];
        if dbias.is_none() && attention_train::covers_backward(dh) {
            let b = BackHead {
                t,
                dh,
                scale: self.scale,
                qkv: self.qkv,
                rs: d3,
                q_off: base + hi * dh,
                k_off: base + d + hi * dh,
                v_off: base + 2 * d + hi * dh,
                probs: p,
                g: self.g,
                g_off: bi * t * d + hi * dh,
                g_rs: d,
                out: &mut *dst,
                dq_off: col,
                dk_off: col + sep,
                dv_off: col + 2 * sep,
                o_rs: stride,
            };
            if T::train_back(b) {
                return Ok(());
            }
        }
        let gh = Mat::at(self.g, bi * t * d + hi * dh, d, 1); // dctx (T, dh)
        let vt = Mat::at(self.qkv, base + 2 * d + hi * dh, 1, d3); // Vᵀ (dh, T)
        gemm((t, t, dh), MatMut::at(ds, 0, t, 1), gh, vt, T::one())?;
        for (dsr, pr) in ds.chunks_exact_mut(t).zip(p.chunks_exact(t)) {
            let dot = rowdot(dsr, pr); // dS = P ⊙ (dP − rowdot(dP, P))
            for (s, &p) in dsr.iter_mut().zip(pr) {
                *s = p * (*s - dot);
            }
        }
        if let Some(db) = dbias {
            for (a, &s) in db.iter_mut().zip(ds.iter()) {
                *a += s;
            }
        }
        let (dsm, ds_t) = (Mat::at(ds, 0, t, 1), Mat::at(ds, 0, 1, t)); // dS, dSᵀ
        let k = Mat::at(self.qkv, base + d + hi * dh, d3, 1);
        let q = Mat::at(self.qkv, base + hi * dh, d3, 1);
        gemm((t, dh, t), MatMut::at(dst, col, stride, 1), dsm, k, self.scale)?; // dQ = scale · dS K
        gemm((t, dh, t), MatMut::at(dst, col + sep, stride, 1), ds_t, q, self.scale)?; // dK = scale · dSᵀ Q
        let pt = Mat::at(p, 0, 1, t);
        gemm((t, dh, t), MatMut::at(dst, col + 2 * sep, stride, 1), pt, gh, T::one())
        // dV = Pᵀ dctx
    }
}
