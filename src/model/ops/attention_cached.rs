//! Attention over a key/value cache: the inference path of greedy decoding.
//!
//! A decoder that has already processed `len` tokens keeps, per layer, their keys and values
//! in a [`KvLayer`] (`(B, cap, D)` host buffers, allocated once for the whole decode). Each
//! step projects only the `n` new tokens; [`attention_cached`] appends their K and V to the
//! cache and lets each new query (absolute position `len + r`) attend causally over the
//! cache, with the same masking rules (ALiBi, windows) as [`super::attention`]. So decoding
//! m tokens after a prompt costs O(m·T) attention work instead of O(m·T²) for re-running the
//! whole prefix. No autograd: inputs are detached and the result is a fresh tensor.

use super::attention_kernels::{add_alibi, visible, Dims};
use super::{by_dtype, float_cpu, gemm, softmax_row, tensor, AttnSpec, Fl, Host, Mat, MatMut};
use candle_core::{bail, DType, Result, Tensor};
use rayon::prelude::*;
use std::any::Any;

/// One layer's cached keys and values: `(B, cap, D)` each, the first `len` rows per batch
/// element filled.
pub struct KvLayer {
    b: usize,
    d: usize,
    cap: usize,
    len: usize,
    dtype: DType,
    k: Box<dyn Any + Send + Sync>, // Vec<T>
    v: Box<dyn Any + Send + Sync>,
}

impl KvLayer {
    /// An empty cache for `b` sequences of up to `cap` tokens of width `d`, in `dtype`.
    pub fn new(b: usize, cap: usize, d: usize, dtype: DType) -> Result<Self> {
        fn bufs<T: Fl>(n: usize) -> Result<(Box<dyn Any + Send + Sync>, Box<dyn Any + Send + Sync>)> {
            Ok((Box::new(vec![T::zero(); n]), Box::new(vec![T::zero(); n])))
        }
        let (k, v) = by_dtype!(dtype, "kv cache", bufs(b * cap * d))?;
        Ok(KvLayer { b, d, cap, len: 0, dtype, k, v })
    }

    /// Tokens cached so far (per sequence).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// `qkv_new (B, n, 3D)` of the tokens at positions `cache.len() .. + n` → their attention
/// context `(B, n, D)` over every cached token; appends their keys and values to `cache`.
/// `spec.causal` must be set (a cache only makes sense for decoders); padding masks and
/// additive bias tensors are not supported here (callers fall back to the full forward).
/// ALiBi position ids, if any, are one vector shared by the batch, indexed by cache slot.
pub fn attention_cached(qkv_new: &Tensor, cache: &mut KvLayer, spec: &AttnSpec) -> Result<Tensor> {
    let dtype = float_cpu(qkv_new, "attention_cached")?;
    let z = Dims::new(qkv_new.dims(), spec.heads)?;
    if !spec.causal || spec.key_mask.is_some() {
        bail!("attention_cached: needs a causal spec without a padding mask")
    }
    if dtype != cache.dtype || z.b != cache.b || z.d != cache.d {
        bail!(
            "attention_cached: qkv {:?} {dtype:?} does not fit the cache ({}, _, {})",
            qkv_new.dims(),
            cache.b,
            cache.d
        )
    }
    if cache.len + z.t > cache.cap {
        bail!("attention_cached: {} + {} tokens exceed the cache capacity {}", cache.len, z.t, cache.cap)
    }
    if let Some(p) = spec.alibi.as_ref().and_then(|a| a.positions.as_ref()) {
        if p.len() < cache.len + z.t {
            bail!("attention_cached: {} ALiBi positions for {} tokens (one shared vector)", p.len(), cache.len + z.t)
        }
    }
    let qkv_new = qkv_new.contiguous()?;
    let host = Host::new(&qkv_new, "attention_cached")?;
    let out = by_dtype!(dtype, "attention_cached", run(spec, z, &host, cache))?;
    cache.len += z.t;
    tensor_of(out, (z.b, z.t, z.d))
}

fn tensor_of(out: Box<dyn Any>, dims: (usize, usize, usize)) -> Result<Tensor> {
    let dims = [dims.0, dims.1, dims.2];
    match out.downcast::<Vec<f32>>() {
        Ok(v) => tensor(*v, &dims),
        Err(out) => match out.downcast::<Vec<f64>>() {
            Ok(v) => tensor(*v, &dims),
            Err(_) => bail!("attention_cached: unsupported dtype"),
        },
    }
}

fn run<T: Fl>(spec: &AttnSpec, z: Dims, host: &Host, cache: &mut KvLayer) -> Result<Box<dyn Any>> {
    let qkv = host.slice::<T>()?;
    let (n, d, cap, len) = (z.t, z.d, cache.cap, cache.len);
    let (Some(kc), Some(vc)) = (cache.k.downcast_mut::<Vec<T>>(), cache.v.downcast_mut::<Vec<T>>()) else {
        bail!("attention_cached: cache dtype mismatch")
    };
    let mut out = vec![T::zero(); z.b * n * d];
    let scale = T::from_f64(1.0 / (z.dh as f64).sqrt());
    out.par_chunks_mut(n * d)
        .zip(kc.par_chunks_mut(cap * d).zip(vc.par_chunks_mut(cap * d)))
        .enumerate()
        .try_for_each(|(bi, (out_b, (k_b, v_b)))| {
            let rows = &qkv[bi * n * 3 * d..(bi + 1) * n * 3 * d];
            for r in 0..n {
                let src = &rows[r * 3 * d..(r + 1) * 3 * d];
                k_b[(len + r) * d..(len + r + 1) * d].copy_from_slice(&src[d..2 * d]);
                v_b[(len + r) * d..(len + r + 1) * d].copy_from_slice(&src[2 * d..]);
            }
            one(spec, z, scale, len, rows, k_b, v_b, out_b)
        })?;
    Ok(Box::new(out))
}

/// One sequence: queries `rows (n, 3D)` at positions `len..len + n` over `k_b`, `v_b (cap, D)`.
#[allow(clippy::too_many_arguments)]
fn one<T: Fl>(
    spec: &AttnSpec,
    z: Dims,
    scale: T,
    len: usize,
    rows: &[T],
    k_b: &[T],
    v_b: &[T],
    out_b: &mut [T],
) -> Result<()> {
    let (n, d, dh) = (z.t, z.d, z.dh);
    let total = len + n;
    let mut block = vec![T::zero(); n * total]; // scores (n, total)
    for h in 0..z.h {
        let (klo, khi) = (visible(spec, total, h, len).0, visible(spec, total, h, total - 1).1);
        let q = Mat::at(rows, h * dh, 3 * d, 1); // (n, dh)
        let kt = Mat::at(k_b, klo * d + h * dh, 1, d); // (dh, keys)
        gemm((n, khi - klo, dh), MatMut::at(&mut block, klo, total, 1), q, kt, scale)?;
        let slope = spec.alibi.as_ref().map(|a| (T::from_f64(a.slopes[h]), T::from_f64(a.slopes[h] * a.before)));
        let pos = spec.alibi.as_ref().and_then(|a| a.positions.as_deref().map(Vec::as_slice));
        for (r, row) in block.chunks_exact_mut(total).enumerate() {
            let i = len + r;
            let (lo, hi) = visible(spec, total, h, i);
            if let Some((m, before)) = slope {
                add_alibi(&mut row[lo..hi], lo, i, m, before, pos);
            }
            softmax_row(&mut row[lo..hi], None);
            row[klo..lo].fill(T::zero());
            row[hi..khi].fill(T::zero());
        }
        let p = Mat::at(&block, klo, total, 1);
        let v = Mat::at(v_b, klo * d + h * dh, d, 1); // (keys, dh)
        gemm((n, dh, khi - klo), MatMut::at(out_b, h * dh, d, 1), p, v, T::one())?;
    }
    Ok(())
}
