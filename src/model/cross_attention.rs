//! Cross-attention of the encoder–decoder transformer ([`super::seq2seq`]): queries from the
//! decoder's stream, keys and values from the encoder's output, no positions. Built from the
//! project's own ops (fused linear, [`ops::softmax_last_dim`] with its backward, candle
//! matmuls), never candle-nn's; padded source keys get the additive score bias [`MASKED`],
//! whose softmax weight is exactly 0 in f32 and f64.

use super::layers::Linear;
use super::ops::{self, Kernels};
use super::params::Params;
use crate::ir::model::AttnBiasInit;
use candle_core::{Result, Tensor};

/// The score bias of a hidden key.
pub const MASKED: f64 = -1e9;

/// Multi-head attention of queries `x (B, T, d)` over a memory `(B, S, d)`: `q: d → d`,
/// packed `kv: d → 2d` ([K | V], heads contiguous), `out: d → d`.
#[derive(Clone, Debug)]
pub struct CrossAttention {
    pub q: Linear,
    pub kv: Linear,
    pub out: Linear,
    pub heads: usize,
}

/// A memory's keys and values, `(B, H, S, dh)` each: computed once per source and reused by
/// every decoding step (the cross-attention cache).
#[derive(Clone, Debug)]
pub struct Memory {
    pub k: Tensor,
    pub v: Tensor,
}

impl CrossAttention {
    pub(crate) fn load(params: &mut Params, name: &str, d: usize, heads: usize, bias: AttnBiasInit) -> Result<Self> {
        let mut lin = |n: &str, out: usize| match bias {
            AttnBiasInit::Uniform => Linear::load(params, &format!("{name}.{n}"), out, d),
            AttnBiasInit::Zero => Linear::load_zero_bias(params, &format!("{name}.{n}"), out, d),
            AttnBiasInit::None => Linear::load_no_bias(params, &format!("{name}.{n}"), out, d),
        };
        Ok(CrossAttention { q: lin("q", d)?, kv: lin("kv", 2 * d)?, out: lin("out", d)?, heads })
    }

    /// The keys and values of `mem (B, S, d)`.
    pub fn memory(&self, mem: &Tensor, k: Kernels) -> Result<Memory> {
        let (b, s, d) = mem.dims3()?;
        let kv = self.kv.forward(mem, k)?; // (B, S, 2d)
        let kv = kv.reshape((b, s, 2, self.heads, d / self.heads))?.permute((2, 0, 3, 1, 4))?; // (2, B, H, S, dh)
        Ok(Memory { k: kv.get(0)?.contiguous()?, v: kv.get(1)?.contiguous()? })
    }

    /// `x (B, T, d)` attending over `mem`; `bias (B, 1, 1, S)` hides padded keys → `(B, T, d)`.
    pub fn forward(&self, x: &Tensor, mem: &Memory, bias: Option<&Tensor>, k: Kernels) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let dh = d / self.heads;
        let q = self.q.forward(x, k)?.reshape((b, t, self.heads, dh))?.transpose(1, 2)?.contiguous()?; // (B, H, T, dh)
        let kt = mem.k.transpose(2, 3)?.contiguous()?; // (B, H, dh, S)
        let mut scores = (q.matmul(&kt)? * (1.0 / (dh as f64).sqrt()))?; // (B, H, T, S)
        if let Some(bias) = bias {
            scores = scores.broadcast_add(bias)?;
        }
        let p = match k {
            Kernels::Fused => ops::softmax_last_dim(&scores)?,
            Kernels::Reference => ops::softmax_ref(&scores)?,
        };
        let c = p.matmul(&mem.v)?.transpose(1, 2)?.reshape((b, t, d))?; // (B, T, d)
        self.out.forward(&c, k)
    }

    pub(crate) fn detached(&self) -> Self {
        CrossAttention { q: self.q.detached(), kv: self.kv.detached(), out: self.out.detached(), heads: self.heads }
    }
}
