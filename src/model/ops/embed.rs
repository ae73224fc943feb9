//! Token embedding lookup, scaling and position addition as one graph node:
//! `out[b, t] = scale · tok[ids[b, t]] + pos[pos_ids[b, t]]`.
//!
//! The position table may be a learned parameter (it then gets a gradient) or a constant
//! (e.g. sinusoidal rows; no gradient is computed for it). Position ids are explicit per token,
//! which is what coupled or randomized positions need.

use super::{by_dtype, cpu_slice, float_cpu, tensor, Fl, Host};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use std::sync::Arc;

struct Embed {
    ids: Arc<Vec<u32>>,
    pos_ids: Arc<Vec<u32>>,
    bt: (usize, usize),
    scale: f64,
}

fn fwd<T: Fl>(
    op: &Embed,
    tok: (&CpuStorage, &Layout),
    pos: Option<(&CpuStorage, &Layout)>,
) -> Result<(CpuStorage, Shape)> {
    let table = cpu_slice::<T>(tok.0, tok.1, "embed")?; // (V, D)
    let (_, d) = tok.1.shape().dims2()?;
    let pos = match pos {
        Some((s, l)) => Some(cpu_slice::<T>(s, l, "embed")?), // (P, D)
        None => None,
    };
    let scale = T::from_f64(op.scale);
    let mut out = vec![T::zero(); op.ids.len() * d]; // (B·T, D)
    for (i, row) in out.chunks_exact_mut(d.max(1)).enumerate() {
        let id = op.ids[i] as usize;
        for (o, &e) in row.iter_mut().zip(&table[id * d..(id + 1) * d]) {
            *o = e * scale;
        }
        if let Some(pos) = pos {
            let p = op.pos_ids[i] as usize;
            for (o, &e) in row.iter_mut().zip(&pos[p * d..(p + 1) * d]) {
                *o += e;
            }
        }
    }
    Ok((T::to_cpu_storage_owned(out), Shape::from((op.bt.0, op.bt.1, d))))
}

/// Scatter-add of the output gradient rows into a zeroed (rows, D) table.
fn scatter<T: Fl>(g: &[T], ids: &[u32], rows: usize, d: usize, scale: T) -> Result<Tensor> {
    let mut out = vec![T::zero(); rows * d];
    for (i, gr) in g.chunks_exact(d.max(1)).enumerate() {
        let r = ids[i] as usize;
        for (o, &v) in out[r * d..(r + 1) * d].iter_mut().zip(gr) {
            *o += v * scale;
        }
    }
    tensor(out, &[rows, d])
}

fn bwd<T: Fl>(
    op: &Embed,
    tok: &Tensor,
    pos: Option<&Tensor>,
    grad: &Tensor,
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let grad = grad.contiguous()?;
    let gh = Host::new(&grad, "embed")?;
    let g = gh.slice::<T>()?;
    let (v, d) = tok.dims2()?;
    let dtok = match tok.track_op() {
        true => Some(scatter(g, &op.ids, v, d, T::from_f64(op.scale))?),
        false => None,
    };
    let dpos = match pos {
        Some(p) if p.track_op() => Some(scatter(g, &op.pos_ids, p.dims()[0], d, T::one())?),
        _ => None,
    };
    Ok((dtok, dpos))
}

impl CustomOp1 for Embed {
    fn name(&self) -> &'static str {
        "algen-embed"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s.dtype(), "embed", fwd(self, (s, l), None))
    }

    fn bwd(&self, tok: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(by_dtype!(tok.dtype(), "embed", bwd(self, tok, None, grad))?.0)
    }
}

impl CustomOp2 for Embed {
    fn name(&self) -> &'static str {
        "algen-embed-pos"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s1.dtype(), "embed", fwd(self, (s1, l1), Some((s2, l2))))
    }

    fn bwd(
        &self,
        tok: &Tensor,
        pos: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        by_dtype!(tok.dtype(), "embed", bwd(self, tok, Some(pos), grad))
    }
}

/// Checks ids against the table sizes; returns D.
fn check(table: &Tensor, ids: &[u32], bt: (usize, usize), pos: Option<(&Tensor, &[u32])>) -> Result<usize> {
    let (v, d) = table.dims2()?;
    if ids.len() != bt.0 * bt.1 {
        bail!("embed: {} ids for a ({}, {}) batch", ids.len(), bt.0, bt.1)
    }
    if let Some(&bad) = ids.iter().find(|&&i| i as usize >= v) {
        bail!("embed: token id {bad} is outside the vocabulary of {v} tokens")
    }
    if let Some((p, pids)) = pos {
        let (rows, pd) = p.dims2()?;
        if pd != d || pids.len() != ids.len() {
            bail!(
                "embed: position table {:?} / {} position ids do not fit tokens ({v}, {d}) x {}",
                p.dims(),
                pids.len(),
                ids.len()
            )
        }
        if let Some(&bad) = pids.iter().find(|&&i| i as usize >= rows) {
            bail!("embed: position {bad} is outside the position table of {rows} rows")
        }
    }
    Ok(d)
}

/// `scale · table[ids] (+ pos_table[pos_ids])` → `(B, T, D)`; one node, fused backward.
/// `ids` and `pos_ids` are row-major `B·T`.
pub fn embed(
    table: &Tensor,
    ids: &[u32],
    bt: (usize, usize),
    scale: f64,
    pos: Option<(&Tensor, &[u32])>,
) -> Result<Tensor> {
    check(table, ids, bt, pos)?;
    float_cpu(table, "embed")?;
    let op = Embed { ids: Arc::new(ids.to_vec()), pos_ids: Arc::new(pos.map_or(vec![], |p| p.1.to_vec())), bt, scale };
    match pos {
        None => table.contiguous()?.apply_op1(op),
        Some((p, _)) => table.contiguous()?.apply_op2(&p.contiguous()?, op),
    }
}

/// Reference: `index_select` + affine + add from plain candle ops.
pub fn embed_ref(
    table: &Tensor,
    ids: &[u32],
    bt: (usize, usize),
    scale: f64,
    pos: Option<(&Tensor, &[u32])>,
) -> Result<Tensor> {
    let d = check(table, ids, bt, pos)?;
    let dev = table.device();
    let mut x = (table.index_select(&Tensor::new(ids, dev)?, 0)? * scale)?; // (B·T, D)
    if let Some((p, pids)) = pos {
        x = (x + p.index_select(&Tensor::new(pids, dev)?, 0)?)?;
    }
    x.reshape((bt.0, bt.1, d))
}
