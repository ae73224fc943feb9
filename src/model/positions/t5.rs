//! T5 relative position buckets (Raffel et al. 2020, §2.1; Mesh TensorFlow
//! `_relative_position_bucket`, Hugging Face `T5Attention._relative_position_bucket`).
//!
//! The score of query i on key j gets a learned scalar per head, `table[bucket(p_j − p_i), h]`.
//! Buckets of the relative position `r = p_j − p_i` (memory minus query):
//! - bidirectional (encoders): half of the buckets for `r > 0`, half for `r <= 0`, on `|r|`;
//! - unidirectional (decoders): `n = max(−r, 0)` (keys after the query share bucket 0);
//! - within the `nb` buckets of a side, `n < nb/2` gets its own bucket `n` (exact), larger `n`
//!   get `nb/2 + ⌊ln(n/(nb/2)) / ln(max_distance/(nb/2)) · (nb − nb/2)⌋`, capped at `nb − 1`
//!   (log-spaced up to `max_distance`, one bucket for everything beyond). Computed in f32 with
//!   the distance ratio's log in f64, as the reference implementations do.
//!
//! One `(buckets, H)` table shared by all layers (T5 computes the bias in the first layer and
//! reuses it), initialized N(0, 1/d_model) (Hugging Face `T5PreTrainedModel._init_weights`).
//! T5 does not scale its scores by 1/√dh; here q·k is scaled as in every other model and the
//! bias is added unscaled.

use super::Ids;
use crate::model::params::Params;
use candle_core::{bail, Result, Tensor};

/// The bucket of relative position `rel = p_key − p_query`.
pub fn bucket(rel: i64, bidirectional: bool, buckets: usize, max_distance: usize) -> usize {
    let (mut nb, mut ret) = (buckets, 0);
    let n = if bidirectional {
        nb /= 2;
        if rel > 0 {
            ret += nb;
        }
        rel.unsigned_abs()
    } else {
        (-rel).max(0) as u64
    };
    let max_exact = nb / 2;
    if n < max_exact as u64 {
        return ret + n as usize;
    }
    let ratio = (max_distance as f64 / max_exact as f64).ln() as f32;
    let large = (n as f32 / max_exact as f32).ln() / ratio * (nb - max_exact) as f32;
    ret + (max_exact + large as usize).min(nb - 1)
}

/// The learned bucket table of a model.
#[derive(Clone, Debug)]
pub struct T5Bias {
    /// `(buckets, H)`.
    pub table: Tensor,
    pub buckets: usize,
    pub max_distance: usize,
    pub bidirectional: bool,
}

impl T5Bias {
    /// `rel_bias.weight (buckets, heads)`.
    pub fn load(params: &mut Params, cfg: (usize, usize), heads: usize, d: usize, bidirectional: bool) -> Result<Self> {
        let (buckets, max_distance) = cfg;
        let nb = if bidirectional { buckets / 2 } else { buckets };
        if nb / 2 == 0 || max_distance <= nb / 2 {
            bail!(
                "t5 positions: {buckets} buckets and max_distance {max_distance} leave no exact or no log-spaced \
                 buckets (needs buckets/{} >= 1 and max_distance > it)",
                if bidirectional { 4 } else { 2 }
            )
        }
        let table = params.normal("rel_bias.weight", &[buckets, heads], 1.0 / (d as f64).sqrt())?;
        Ok(T5Bias { table, buckets, max_distance, bidirectional })
    }

    /// The score bias `(H, T, T)` when the batch shares its positions, else `(B, H, T, T)`.
    pub fn bias(&self, ids: &Ids) -> Result<Tensor> {
        let (t, groups) = (ids.t, if ids.shared { 1 } else { ids.b });
        let mut idx = Vec::with_capacity(groups * t * t);
        for g in 0..groups {
            let p = ids.row(g);
            for i in 0..t {
                for j in 0..t {
                    let rel = p[j] as i64 - p[i] as i64;
                    idx.push(bucket(rel, self.bidirectional, self.buckets, self.max_distance) as u32);
                }
            }
        }
        let h = self.table.dim(1)?;
        let idx = Tensor::from_vec(idx, groups * t * t, self.table.device())?;
        let rows = self.table.index_select(&idx, 0)?; // (G·T·T, H)
        let bias = rows.reshape((groups, t, t, h))?.permute((0, 3, 1, 2))?.contiguous()?; // (G, H, T, T)
        if ids.shared {
            bias.squeeze(0)
        } else {
            Ok(bias)
        }
    }

    pub fn detached(&self) -> Self {
        T5Bias { table: self.table.detach(), ..self.clone() }
    }
}
