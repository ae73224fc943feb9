//! Cross-attention of the encoder–decoder transformer ([`super::seq2seq`]): queries from the
//! decoder's stream, keys and values from the encoder's output. Built from the project's own
//! ops (fused linear, [`super::ops::softmax_last_dim`] with its backward, candle matmuls),
//! never candle-nn's; padded source keys get the additive score bias [`MASKED`], whose softmax
//! weight is exactly 0 in f32 and f64. `standard` attention has no positions; the other
//! `cross_attention` options ([`super::location`]) add relative or location terms, and the
//! location-only ones have no query and key projections.

use super::layers::Linear;
use super::location::{self, LocMemory, Location};
use super::ops::Kernels;
use super::params::Params;
use crate::ir::model::AttnBiasInit;
use crate::ir::CrossAttn;
use candle_core::{bail, Result, Tensor};

/// The score bias of a hidden key.
pub const MASKED: f64 = -1e9;

/// Multi-head attention of queries `x (B, T, d)` over a memory `(B, S, d)`: `q: d → d`,
/// packed `kv: d → 2d` ([K | V], heads contiguous), `out: d → d`; without content scores
/// (location-only variants) no `q` and `kv: d → d` (V only).
#[derive(Clone, Debug)]
pub struct CrossAttention {
    pub q: Option<Linear>,
    pub kv: Linear,
    pub out: Linear,
    pub heads: usize,
    pub loc: Option<Location>,
}

/// A memory's keys (where the variant has them) and values, `(B, H, S, dh)` each: computed
/// once per source and reused by every decoding step (the cross-attention cache); location
/// variants add their [`LocMemory`] (whose scan state advances with every call, so a memory
/// serves one teacher-forced pass or one decoding).
#[derive(Clone, Debug)]
pub struct Memory {
    pub k: Option<Tensor>,
    pub v: Tensor,
    pub loc: Option<LocMemory>,
}

impl CrossAttention {
    pub(crate) fn load(
        params: &mut Params,
        name: &str,
        d: usize,
        heads: usize,
        bias: AttnBiasInit,
        kind: CrossAttn,
    ) -> Result<Self> {
        let mut lin = |n: &str, out: usize| match bias {
            AttnBiasInit::Uniform => Linear::load(params, &format!("{name}.{n}"), out, d),
            AttnBiasInit::Zero => Linear::load_zero_bias(params, &format!("{name}.{n}"), out, d),
            AttnBiasInit::None => Linear::load_no_bias(params, &format!("{name}.{n}"), out, d),
        };
        let content = location::traits(kind).content;
        let q = if content { Some(lin("q", d)?) } else { None };
        let kv = lin("kv", if content { 2 * d } else { d })?;
        let out = lin("out", d)?;
        let loc = Location::load(params, name, kind, d, heads)?;
        Ok(CrossAttention { q, kv, out, heads, loc })
    }

    /// The keys and values of `mem (B, S, d)`; `lens`: each source's real length (a prefix;
    /// `None`: all `S`).
    pub fn memory(&self, mem: &Tensor, lens: Option<&[usize]>, k: Kernels) -> Result<Memory> {
        let (b, s, d) = mem.dims3()?;
        let all = vec![s; b];
        let (mem, loc) = match &self.loc {
            Some(l) => {
                let (m, lm) = l.prepare(mem, lens.unwrap_or(&all), k)?;
                (m, Some(lm))
            }
            None => (mem.clone(), None),
        };
        let s = mem.dim(1)?;
        let kv = self.kv.forward(&mem, k)?; // (B, S, 2d) or (B, S, d)
        let parts = kv.dim(2)? / d;
        let kv = kv.reshape((b, s, parts, self.heads, d / self.heads))?.permute((2, 0, 3, 1, 4))?; // (2|1, B, H, S, dh)
        let v = kv.get(parts - 1)?.contiguous()?;
        let keys = if parts == 2 { Some(kv.get(0)?.contiguous()?) } else { None };
        Ok(Memory { k: keys, v, loc })
    }

    /// `x (B, T, d)` attending over `mem`; `bias (B, 1, 1, S)` hides padded keys of the
    /// standard memory (a location memory has its own) → `(B, T, d)`.
    pub fn forward(&self, x: &Tensor, mem: &Memory, bias: Option<&Tensor>, k: Kernels) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let dh = d / self.heads;
        let q = match &self.q {
            Some(q) => Some(q.forward(x, k)?.reshape((b, t, self.heads, dh))?.transpose(1, 2)?.contiguous()?), // (B, H, T, dh)
            None => None,
        };
        let p = match (&self.loc, &mem.loc, &q, &mem.k) {
            (None, _, Some(q), Some(keys)) => location::softmax(&location::scores(q, keys)?, bias, k)?,
            (Some(l), Some(lm), q, keys) => l.weights(x, q.as_ref(), keys.as_ref(), lm, k)?,
            _ => bail!("cross-attention: the memory does not fit the layer"),
        }; // (B, H, T, S)
        let c = p.matmul(&mem.v)?.transpose(1, 2)?.reshape((b, t, d))?; // (B, T, d)
        self.out.forward(&c, k)
    }

    pub(crate) fn detached(&self) -> Self {
        CrossAttention {
            q: self.q.as_ref().map(Linear::detached),
            kv: self.kv.detached(),
            out: self.out.detached(),
            heads: self.heads,
            loc: self.loc.as_ref().map(Location::detached),
        }
    }
}
