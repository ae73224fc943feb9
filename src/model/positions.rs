//! Positional information added to the token embeddings.
//!
//! Every scheme here is *additive at the input*: it maps each token's position id to a row
//! that [`crate::model::ops::embed`] adds to the (scaled) token embedding. Position ids are
//! explicit per token (default `0..T` in every row), so coupled or randomized ids (Cho et al.
//! 2024; Ruoss et al. 2023) only change the ids. Schemes that act inside attention (ALiBi,
//! relative buckets: an additive score bias; RoPE: a rotation of q and k) plug into
//! [`crate::model::layers::AttnCtx`] instead and leave this module's kinds as they are.

use super::params::Params;
use crate::ir::model::Position;
use candle_core::{bail, DType, Device, Result, Tensor};

/// A loaded position scheme.
#[derive(Clone, Debug)]
pub enum Positions {
    None,
    /// Fixed sin/cos table, see [`sinusoidal`].
    Sinusoidal {
        d: usize,
    },
    /// A learned `(max_len, d)` table (`pos_embed.weight`), N(0, 1) at init like the token table.
    Learned {
        table: Tensor,
        max_len: usize,
    },
}

/// Sinusoidal positions (Vaswani et al. 2017, §3.5) in the **concatenated** layout: for
/// position p and i in 0..d/2, with ω_i = 10000^(−2i/d),
///
/// `PE[p, i] = sin(p·ω_i)` (first half) and `PE[p, d/2 + i] = cos(p·ω_i)` (second half),
///
/// rather than the paper's interleaved sin/cos channels: the same features with the channels
/// permuted ("sin half and cos half concatenated", as the IR documents `Position::Sinusoidal`).
/// Returns the row-major `(n, d)` table; `d` must be even.
pub fn sinusoidal(n: usize, d: usize) -> Vec<f64> {
    let half = d / 2;
    let mut pe = vec![0.0; n * d];
    for p in 0..n {
        for i in 0..half {
            let w = 10000f64.powf(-2.0 * i as f64 / d as f64);
            let a = p as f64 * w;
            pe[p * d + i] = a.sin();
            pe[p * d + half + i] = a.cos();
        }
    }
    pe
}

/// Position ids `0..t` for each of `b` rows, row-major.
pub fn default_ids(b: usize, t: usize) -> Vec<u32> {
    (0..b).flat_map(|_| 0..t as u32).collect()
}

impl Positions {
    /// Creates the scheme's parameters (if any) in `params`.
    pub fn load(params: &mut Params, pos: &Position, d: usize) -> Result<Self> {
        Ok(match pos {
            Position::None => Positions::None,
            Position::Sinusoidal => {
                if !d.is_multiple_of(2) {
                    bail!("sinusoidal positions need an even d_model, got {d}")
                }
                Positions::Sinusoidal { d }
            }
            Position::Learned { max_len } => {
                let table = params.embedding("pos_embed", *max_len, d)?;
                Positions::Learned { table, max_len: *max_len }
            }
        })
    }

    /// The table whose rows `ids` select, or `None` when nothing is added. Errors (rather
    /// than panics) when an id is beyond a learned table.
    pub fn table(&self, ids: &[u32], t: usize, dtype: DType) -> Result<Option<Tensor>> {
        let max_id = ids.iter().copied().max().map_or(0, |m| m as usize);
        match self {
            Positions::None => Ok(None),
            Positions::Sinusoidal { d } => {
                let n = max_id + 1;
                let pe = Tensor::from_vec(sinusoidal(n, *d), (n, *d), &Device::Cpu)?;
                Ok(Some(pe.to_dtype(dtype)?))
            }
            Positions::Learned { table, max_len } => {
                if max_id >= *max_len {
                    bail!(
                        "position {max_id} is beyond the learned position table (max_len = {max_len}); \
                         sequence length {t} needs max_len >= {}: raise `position = learned(max_len = ..)`",
                        max_id + 1
                    )
                }
                Ok(Some(table.clone()))
            }
        }
    }

    /// The same scheme with detached parameters.
    pub fn detached(&self) -> Self {
        match self {
            Positions::Learned { table, max_len } => Positions::Learned { table: table.detach(), max_len: *max_len },
            other => other.clone(),
        }
    }
}
