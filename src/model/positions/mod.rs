//! Positional encodings: where each token is, told to a transformer.
//!
//! Every forward pass first fixes the tokens' **position ids** ([`Ids`], one per token): the
//! ids the caller passes (coupled ids from the task format), else a randomized draw
//! ([`randomized`]), else the benchmark's reversed ids (`sinusoidal(reversed = true)`), else
//! `0..T` in every row. The encoding then reads the ids in one of two places:
//!
//! | `position =` | where | definition |
//! |---|---|---|
//! | `none` | — | no position information (causal masking alone may still reveal order) |
//! | `sinusoidal` | input | [`sinusoidal`] row of each id added to the token embedding (Vaswani et al. 2017) |
//! | `sinusoidal(reversed = true)` | input | the same at ids N, N−1, …, 1 for N real tokens (Delétang et al. 2023) |
//! | `learned(max_len)` | input | a learned `(max_len, d)` table `pos_embed.weight`, N(0, 1) |
//! | `coupled(max_position)` | input | a learned `(max_position, d)` table at the task's ids (Cho et al. 2024) |
//! | `rope(base)` | q, k | rotation by `p·base^(−2c/dh)`, rotate-half pairs ([`crate::model::ops::rope`]; Su et al. 2021) |
//! | `alibi` | scores | `−m_h·|p_i − p_j|`, plus `0.5·m_h` when the key precedes the query in encoders ([`crate::model::ops::Alibi`]; Press et al. 2022) |
//! | `relative` | scores | Transformer-XL terms ([`relative`]; Dai et al. 2019) |
//! | `t5(buckets, max_distance)` | scores | learned bias per relative-position bucket ([`t5`]; Raffel et al. 2020) |
//! | `hard_alibi(masked = k)` | mask | head h < k sees only the last h + 1 tokens (Jelassi et al. 2024) |
//! | `randomized(base, max_len)` | ids | `base` at T sorted distinct ids drawn from `[0, max_len)` (Ruoss et al. 2023) |
//!
//! ALiBi slopes are the standard `m_h = 2^(−8(h+1)/H)`. Decoders use ALiBi's causal form
//! `−m_h·(i − j)`; encoders the Chomsky-hierarchy benchmark's symmetric form
//! `m_h·(−|i − j| + 0.5·[j < i])`. Hard-ALiBi heads h ≥ k have no position information
//! (ALiBi slope 0, no window); its windows count tokens, not ids.

pub mod randomized;
pub mod relative;
pub mod t5;

use super::layers::AttnCtx;
use super::ops::{self, Alibi, Kernels, Rotary};
use super::params::Params;
use crate::ir::model::{ModelKind, Position, TransformerCfg};
use candle_core::{bail, DType, Device, Result, Tensor};
use randomized::Randomizer;
use std::sync::Arc;
use t5::T5Bias;

/// Sinusoidal positions (Vaswani et al. 2017, §3.5) in the **concatenated** layout: for
/// position p and i in 0..d/2, with ω_i = 10000^(−2i/d),
///
/// `PE[p, i] = sin(p·ω_i)` (first half) and `PE[p, d/2 + i] = cos(p·ω_i)` (second half),
///
/// rather than the paper's interleaved sin/cos channels: the same features with the channels
/// permuted ("sin half and cos half concatenated", as in the Chomsky-hierarchy and Ruoss et al.
/// code). Returns the row-major `(n, d)` table of positions `0..n`; `d` must be even.
pub fn sinusoidal(n: usize, d: usize) -> Vec<f64> {
    sinusoidal_at(&(0..n as u32).collect::<Vec<_>>(), d)
}

/// [`sinusoidal`] rows of the positions `ids`, `(ids.len(), d)`.
pub fn sinusoidal_at(ids: &[u32], d: usize) -> Vec<f64> {
    let half = d / 2;
    let mut pe = vec![0.0; ids.len() * d];
    for (r, &p) in ids.iter().enumerate() {
        for i in 0..half {
            let w = 10000f64.powf(-2.0 * i as f64 / d as f64);
            let (s, c) = (p as f64 * w).sin_cos();
            pe[r * d + i] = s;
            pe[r * d + half + i] = c;
        }
    }
    pe
}

/// Position ids `0..t` for each of `b` rows, row-major.
pub fn default_ids(b: usize, t: usize) -> Vec<u32> {
    (0..b).flat_map(|_| 0..t as u32).collect()
}

/// The position ids of one forward pass: `B·T`, row-major.
#[derive(Clone, Debug)]
pub struct Ids {
    pub ids: Vec<u32>,
    pub b: usize,
    pub t: usize,
    /// Every row holds the same ids.
    pub shared: bool,
    /// Every row holds `0..T`.
    pub indices: bool,
}

impl Ids {
    pub fn new(ids: Vec<u32>, b: usize, t: usize) -> Result<Self> {
        if ids.len() != b * t {
            bail!("transformer: {} position ids for a ({b}, {t}) batch", ids.len())
        }
        let shared = (1..b).all(|r| ids[r * t..(r + 1) * t] == ids[..t]);
        let indices = shared && ids[..t].iter().enumerate().all(|(i, &p)| p as usize == i);
        Ok(Ids { ids, b, t, shared, indices })
    }

    /// One vector for every row.
    pub fn repeated(row: &[u32], b: usize) -> Result<Self> {
        Ids::new(row.iter().copied().cycle().take(b * row.len()).collect(), b, row.len())
    }

    /// The ids of row `r`.
    pub fn row(&self, r: usize) -> &[u32] {
        &self.ids[r * self.t..(r + 1) * self.t]
    }

    /// The first row when shared, else all rows (the layout of [`Alibi::positions`] and
    /// [`Rotary`] tables).
    fn compact(&self) -> &[u32] {
        if self.shared {
            self.row(0)
        } else {
            &self.ids
        }
    }
}

/// What a scheme adds at the input.
#[derive(Clone, Debug)]
enum Input {
    None,
    Sinusoidal,
    /// A learned table (`learned` or `coupled`).
    Table {
        table: Tensor,
        rows: usize,
        coupled: bool,
    },
}

/// A loaded position scheme: its input table, in-attention terms and randomizer. Relative
/// attention's per-layer parameters live in the layers ([`relative::RelAttn`]).
#[derive(Clone, Debug)]
pub struct Positions {
    pub scheme: Position,
    kind: ModelKind,
    d: usize,
    heads: usize,
    input: Input,
    t5: Option<T5Bias>,
    randomizer: Option<Randomizer>,
}

impl Positions {
    /// Creates the scheme's parameters (`pos_embed.weight` or `rel_bias.weight`) in `params`.
    pub fn load(params: &mut Params, cfg: &TransformerCfg) -> Result<Self> {
        let (d, heads, scheme) = (cfg.d_model, cfg.heads, &cfg.position);
        let base = scheme.base();
        let name = scheme.name();
        let even = |w: usize, what: &str| match w % 2 {
            0 => Ok(()),
            _ => Err(candle_core::Error::Msg(format!("{name} positions need an even {what}, got {w}"))),
        };
        let table = |params: &mut Params, rows: usize, coupled: bool| -> Result<Input> {
            Ok(Input::Table { table: params.embedding("pos_embed", rows, d)?, rows, coupled })
        };
        let input = match base {
            Position::Sinusoidal | Position::SinusoidalReversed => {
                even(d, "d_model")?;
                Input::Sinusoidal
            }
            Position::Learned { max_len } => table(params, *max_len, false)?,
            Position::Coupled { max_position, .. } => table(params, *max_position, true)?,
            Position::Rope { .. } => {
                even(d / heads, "head width d_model/heads")?;
                Input::None
            }
            Position::Relative => {
                even(d, "d_model")?;
                Input::None
            }
            _ => Input::None,
        };
        let t5 = match base {
            Position::T5 { buckets, max_distance } => {
                let bidirectional = cfg.kind == ModelKind::Encoder;
                Some(T5Bias::load(params, (*buckets, *max_distance), heads, d, bidirectional)?)
            }
            _ => None,
        };
        if let Position::HardAlibi { masked } = base {
            if *masked > heads {
                bail!("hard_alibi(masked = {masked}) masks more heads than the model's {heads}")
            }
        }
        let randomizer = match scheme {
            Position::Randomized { max_len, eval, .. } => Some(Randomizer::new(*max_len, *eval, 0)),
            _ => None,
        };
        Ok(Positions { scheme: scheme.clone(), kind: cfg.kind, d, heads, input, t5, randomizer })
    }

    /// Whether the layers carry Transformer-XL relative attention.
    pub fn relative(&self) -> bool {
        *self.scheme.base() == Position::Relative
    }

    /// Whether every attention layer draws its own randomized ids in this copy
    /// (`randomized(.., per_layer = true)`, and this copy randomizes).
    pub fn per_layer(&self) -> bool {
        self.randomizer.is_some() && matches!(self.scheme, Position::Randomized { per_layer: true, .. })
    }

    /// The randomizer, for `randomized(...)` schemes that randomize in this copy.
    pub fn randomizer(&self) -> Option<&Randomizer> {
        self.randomizer.as_ref()
    }

    /// T sorted distinct randomized positions, or `None` when this copy does not randomize.
    pub fn draw(&self, t: usize) -> Result<Option<Vec<u32>>> {
        self.randomizer.as_ref().map(|r| r.draw(t)).transpose()
    }

    /// The ids of a `(b, t)` forward pass (see the module doc for the order of precedence);
    /// `key_mask (B·T)`: 1 = real token (for the reversed ids).
    pub fn ids(&self, explicit: Option<&[u32]>, key_mask: Option<&[f32]>, b: usize, t: usize) -> Result<Ids> {
        if let Some(p) = explicit {
            return Ids::new(p.to_vec(), b, t);
        }
        if let Some(drawn) = self.draw(t)? {
            return Ids::repeated(&drawn, b);
        }
        if self.scheme == Position::SinusoidalReversed {
            let mut ids = Vec::with_capacity(b * t);
            for r in 0..b {
                let n = key_mask.map_or(t, |m| m[r * t..(r + 1) * t].iter().filter(|&&v| v != 0.0).count());
                ids.extend((0..t).map(|i| n.saturating_sub(i) as u32)); // N, N−1, …, 1, then 0 on padding
            }
            return Ids::new(ids, b, t);
        }
        Ids::new(default_ids(b, t), b, t)
    }

    /// The input table and the row of it each token reads, or `None` when nothing is added.
    /// Errors (rather than panics) when an id is beyond a learned table.
    pub fn table(&self, ids: &Ids, dtype: DType) -> Result<Option<(Tensor, Vec<u32>)>> {
        match &self.input {
            Input::None => Ok(None),
            Input::Sinusoidal => {
                // Rows for the distinct ids only (a randomized draw may reach max_len).
                let (rows, at) = if ids.indices {
                    ((0..ids.t as u32).collect(), ids.ids.clone())
                } else {
                    let mut rows = ids.ids.clone();
                    rows.sort_unstable();
                    rows.dedup();
                    let at = ids.ids.iter().map(|p| rows.binary_search(p).unwrap_or(0) as u32).collect();
                    (rows, at)
                };
                let pe = Tensor::from_vec(sinusoidal_at(&rows, self.d), (rows.len(), self.d), &Device::Cpu)?;
                Ok(Some((pe.to_dtype(dtype)?, at)))
            }
            Input::Table { table, rows, coupled } => {
                let max_id = ids.ids.iter().copied().max().map_or(0, |m| m as usize);
                if max_id >= *rows {
                    if *coupled {
                        bail!(
                            "position id {max_id} is beyond the coupled position table (max_position = {rows}): \
                             raise `coupled(max_position = ..)` to at least {}",
                            max_id + 1
                        )
                    }
                    bail!(
                        "position {max_id} is beyond the learned position table (max_len = {rows}); \
                         sequence length {} needs max_len >= {}: raise `position = learned(max_len = ..)`",
                        ids.t,
                        max_id + 1
                    )
                }
                Ok(Some((table.clone(), ids.ids.clone())))
            }
        }
    }

    /// Fills the in-attention terms of `ctx` for one forward pass at `ids`.
    pub fn attend(&self, ctx: &mut AttnCtx, ids: &Ids, dtype: DType) -> Result<()> {
        let positions = (!ids.indices).then(|| Arc::new(ids.compact().to_vec()));
        let before = if self.kind == ModelKind::Encoder { 0.5 } else { 0.0 };
        match self.scheme.base() {
            Position::Alibi => {
                ctx.alibi = Some(Alibi { positions, ..Alibi::new(Alibi::standard_slopes(self.heads), before) })
            }
            Position::HardAlibi { masked } => {
                ctx.window = Some(Arc::new((0..self.heads).map(|h| if h < *masked { h + 1 } else { 0 }).collect()))
            }
            Position::Rope { base } => {
                let rot = Rotary::new(ids.compact(), self.heads, self.d / self.heads, *base);
                let k = ctx.kernels;
                ctx.qkv_transform = Some(Arc::new(move |qkv: &Tensor| match k {
                    Kernels::Fused => ops::rope(qkv, &rot),
                    Kernels::Reference => ops::rope_ref(qkv, &rot),
                }));
            }
            Position::Relative => ctx.relative = Some(relative::Frame::new(ids, self.d, dtype)?),
            Position::T5 { .. } => ctx.bias = self.t5.as_ref().map(|t| t.bias(ids)).transpose()?,
            _ => {}
        }
        Ok(())
    }

    /// Whether cached decoding ([`crate::model::decode`]) reproduces this scheme: not when the
    /// ids of earlier tokens change with the length (reversed), or the scheme needs a
    /// score-bias tensor over all keys (relative, t5). Coupled ids come from the task and stay
    /// fixed as the sequence grows, so the cache holds them (the caller passes them).
    pub fn cacheable(&self) -> bool {
        match self.scheme.base() {
            Position::None | Position::Sinusoidal | Position::Learned { .. } => true,
            Position::Rope { .. } | Position::Alibi | Position::HardAlibi { .. } | Position::Coupled { .. } => true,
            Position::SinusoidalReversed | Position::Relative | Position::T5 { .. } => false,
            Position::Randomized { .. } => false, // not nested (the checker forbids it)
        }
    }

    /// Restarts the randomized-position stream (shared by every clone) from `seed`.
    pub fn seed(&self, seed: u64) {
        if let Some(r) = &self.randomizer {
            r.reseed(seed);
        }
    }

    /// The same scheme with detached parameters (sharing the randomizer).
    pub fn detached(&self) -> Self {
        let input = match &self.input {
            Input::Table { table, rows, coupled } => {
                Input::Table { table: table.detach(), rows: *rows, coupled: *coupled }
            }
            other => other.clone(),
        };
        Positions { input, t5: self.t5.as_ref().map(T5Bias::detached), ..self.clone() }
    }

    /// The evaluation copy: detached; a randomized scheme draws from its own stream seeded with
    /// `seed` when it randomizes at evaluation (`eval = true`), else reads `0..T`.
    pub fn evaluation(&self, seed: u64) -> Self {
        let randomizer = self.randomizer.as_ref().filter(|r| r.eval).map(|r| r.fork(seed));
        Positions { randomizer, ..self.detached() }
    }
}
