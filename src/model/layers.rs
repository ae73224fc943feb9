//! Layers: config/params → `load` → `forward`. Each layer holds plain tensors (the Vars'
//! tensors while training, detached copies for evaluation) and runs either the fused ops or
//! their decomposed references ([`Kernels`]).

use super::ops::{self, AttnSpec, Kernels};
use super::params::Params;
use super::positions::relative::{Frame, RelAttn};
use crate::ir::model::{AttnBiasInit, AttnWeightInit, FfnActivation, NormType};
use candle_core::{bail, Result, Tensor};
use std::sync::Arc;

/// `y = x·Wᵀ + b`, weight `(out, in)`, bias `(out)`.
#[derive(Clone, Debug)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Linear {
    pub fn new(weight: Tensor, bias: Tensor) -> Self {
        Linear { weight, bias }
    }

    /// `{name}.weight`, `{name}.bias` with PyTorch's default init.
    pub fn load(params: &mut Params, name: &str, out: usize, inp: usize) -> Result<Self> {
        let (weight, bias) = params.linear(name, out, inp)?;
        Ok(Linear { weight, bias })
    }

    /// `{name}.weight` with PyTorch's default init and no bias parameter (`nn.Linear(...,
    /// bias = False)`): the bias is a constant zero tensor outside the registry, which the
    /// fused op gives no gradient.
    pub fn load_no_bias(params: &mut Params, name: &str, out: usize, inp: usize) -> Result<Self> {
        let weight = params.uniform(&format!("{name}.weight"), &[out, inp], 1.0 / (inp.max(1) as f64).sqrt())?;
        let bias = Tensor::zeros(out, params.dtype(), weight.device())?;
        Ok(Linear { weight, bias })
    }

    /// `{name}.weight` with PyTorch's default init and `{name}.bias` = 0.
    pub fn load_zero_bias(params: &mut Params, name: &str, out: usize, inp: usize) -> Result<Self> {
        let weight = params.uniform(&format!("{name}.weight"), &[out, inp], 1.0 / (inp.max(1) as f64).sqrt())?;
        let bias = params.constant(&format!("{name}.bias"), &[out], 0.0)?;
        Ok(Linear { weight, bias })
    }

    /// `(.., in)` → `(.., out)`.
    pub fn forward(&self, x: &Tensor, k: Kernels) -> Result<Tensor> {
        self.run(x, false, k)
    }

    /// `relu(x·Wᵀ + b)`, fused into the same node.
    pub fn forward_relu(&self, x: &Tensor, k: Kernels) -> Result<Tensor> {
        self.run(x, true, k)
    }

    fn run(&self, x: &Tensor, relu: bool, k: Kernels) -> Result<Tensor> {
        match k {
            Kernels::Fused => ops::linear(x, &self.weight, &self.bias, relu),
            Kernels::Reference => ops::linear_ref(x, &self.weight, &self.bias, relu),
        }
    }

    pub fn detached(&self) -> Self {
        Linear { weight: self.weight.detach(), bias: self.bias.detach() }
    }
}

/// A norm layer over the last dim, eps = [`ops::LN_EPS`]: LayerNorm with gain `weight (d)`
/// and `bias (d)`, or RMSNorm (`bias = None`) with gain `weight (d)` only.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl LayerNorm {
    /// `{name}.weight` and `{name}.bias` (LayerNorm) or `{name}.weight` alone (RMSNorm).
    pub fn load(params: &mut Params, name: &str, d: usize, norm: NormType) -> Result<Self> {
        Ok(match norm {
            NormType::LayerNorm => {
                let (weight, bias) = params.layer_norm(name, d)?;
                LayerNorm { weight, bias: Some(bias) }
            }
            NormType::RmsNorm => LayerNorm { weight: params.rms_norm(name, d)?, bias: None },
        })
    }

    pub fn forward(&self, x: &Tensor, k: Kernels) -> Result<Tensor> {
        match (&self.bias, k) {
            (Some(b), Kernels::Fused) => ops::layer_norm(x, &self.weight, b),
            (Some(b), Kernels::Reference) => ops::layer_norm_ref(x, &self.weight, b),
            (None, Kernels::Fused) => ops::rms_norm(x, &self.weight),
            (None, Kernels::Reference) => ops::rms_norm_ref(x, &self.weight),
        }
    }

    pub fn detached(&self) -> Self {
        LayerNorm { weight: self.weight.detach(), bias: self.bias.as_ref().map(Tensor::detach) }
    }
}

/// Position-wise feed-forward: `down(act(up(x)))`, `d → ffn → d` (Vaswani et al. 2017), act
/// ReLU (fused into `up`) or the exact GELU.
#[derive(Clone, Debug)]
pub struct FeedForward {
    pub up: Linear,
    pub down: Linear,
    pub activation: FfnActivation,
}

impl FeedForward {
    pub fn load(params: &mut Params, name: &str, d: usize, ffn: usize) -> Result<Self> {
        let up = Linear::load(params, &format!("{name}.up"), ffn, d)?;
        let down = Linear::load(params, &format!("{name}.down"), d, ffn)?;
        Ok(FeedForward { up, down, activation: FfnActivation::Relu })
    }

    /// The same layer with nonlinearity `activation`.
    pub fn with_activation(self, activation: FfnActivation) -> Self {
        FeedForward { activation, ..self }
    }

    /// `(B, T, d)` → `(B, T, d)`.
    pub fn forward(&self, x: &Tensor, k: Kernels) -> Result<Tensor> {
        let h = match (self.activation, k) {
            (FfnActivation::Relu, _) => self.up.forward_relu(x, k)?, // (B, T, ffn)
            (FfnActivation::Gelu, Kernels::Fused) => ops::gelu(&self.up.forward(x, k)?)?,
            (FfnActivation::Gelu, Kernels::Reference) => ops::gelu_ref(&self.up.forward(x, k)?)?,
        };
        self.down.forward(&h, k) // (B, T, d)
    }

    pub fn detached(&self) -> Self {
        FeedForward { up: self.up.detached(), down: self.down.detached(), activation: self.activation }
    }
}

/// A hook applied to the packed projections `qkv (B, T, 3D)` before attention (e.g. RoPE
/// rotating the Q and K channels by position).
pub type QkvTransform = Arc<dyn Fn(&Tensor) -> Result<Tensor> + Send + Sync>;

/// What one forward pass tells every attention layer.
#[derive(Clone, Default)]
pub struct AttnCtx {
    /// Hide keys after the query (decoder).
    pub causal: bool,
    /// `(B·T)` 1 = real key, 0 = padding.
    pub key_mask: Option<Arc<Vec<f32>>>,
    /// Additive score bias `(H, T, T)` or `(B, H, T, T)`, shared by all layers (T5 buckets).
    pub bias: Option<Tensor>,
    /// The RoPE-style hook on `qkv`.
    pub qkv_transform: Option<QkvTransform>,
    /// ALiBi slopes, computed inside the attention kernel.
    pub alibi: Option<ops::Alibi>,
    /// Per-head windows (Hard-ALiBi), see [`AttnSpec::window`].
    pub window: Option<Arc<Vec<usize>>>,
    /// Position features for layers with Transformer-XL relative attention
    /// ([`SelfAttention::rel`]), which add their own per-layer score bias.
    pub relative: Option<Frame>,
    pub kernels: Kernels,
}

impl AttnCtx {
    /// The context of sequences `start..start + len` of a `(b, t)` batch: per-sequence masks,
    /// ids, biases and position features narrowed to those rows.
    fn rows(&self, start: usize, len: usize, (b, t): (usize, usize)) -> Result<AttnCtx> {
        fn slice<T: Clone>(v: &Arc<Vec<T>>, r: std::ops::Range<usize>) -> Arc<Vec<T>> {
            Arc::new(v[r].to_vec())
        }
        let r = start * t..(start + len) * t;
        let mut c = self.clone();
        c.key_mask = self.key_mask.as_ref().map(|m| slice(m, r.clone()));
        if let Some(a) = c.alibi.as_mut() {
            a.positions = a.positions.as_ref().map(|p| if p.len() == b * t { slice(p, r.clone()) } else { p.clone() });
        }
        c.bias = self
            .bias
            .as_ref()
            .map(|x| if x.rank() == 4 { x.narrow(0, start, len) } else { Ok(x.clone()) })
            .transpose()?;
        c.relative = self.relative.as_ref().map(|f| f.rows(start, len)).transpose()?;
        Ok(c)
    }
}

/// Score elements (B·H·T·T) above which a pass without gradients through relative attention
/// runs its batch in chunks: the layer's per-sequence score bias would otherwise hold all of
/// them at once (8 GB in f32 at B = 256, H = 8, T = 1000).
const REL_CHUNK: usize = 1 << 24;

/// Multi-head self-attention with one packed input projection `qkv: d → 3d` ([Q | K | V],
/// heads contiguous inside each) and an output projection `out: d → d`; optionally
/// Transformer-XL relative-attention parameters (`rel`).
#[derive(Clone, Debug)]
pub struct SelfAttention {
    pub qkv: Linear,
    pub out: Linear,
    pub heads: usize,
    pub rel: Option<RelAttn>,
}

impl SelfAttention {
    pub fn load(params: &mut Params, name: &str, d: usize, heads: usize) -> Result<Self> {
        Self::load_with(params, name, d, heads, (AttnBiasInit::Uniform, AttnWeightInit::Uniform), false)
    }

    /// [`SelfAttention::load`] with the projections' biases and weights initialized by
    /// `init`, plus relative attention `{name}.rel.{weight, u, v}` when `relative`. Each
    /// projection draws its weight, then its bias (the order of `nn.Linear`), so the default
    /// init draws the same numbers as [`Linear::load`].
    pub fn load_with(
        params: &mut Params,
        name: &str,
        d: usize,
        heads: usize,
        init: (AttnBiasInit, AttnWeightInit),
        relative: bool,
    ) -> Result<Self> {
        let (bias, weight) = init;
        let linear_bound = 1.0 / (d.max(1) as f64).sqrt();
        let qkv_bound = match weight {
            AttnWeightInit::Uniform => linear_bound,
            AttnWeightInit::Xavier => (6.0 / (d + 3 * d).max(1) as f64).sqrt(),
        };
        let mut proj = |name: String, out: usize, bound: f64| -> Result<Linear> {
            let w = params.uniform(&format!("{name}.weight"), &[out, d], bound)?;
            let b = match bias {
                AttnBiasInit::Uniform => params.uniform(&format!("{name}.bias"), &[out], linear_bound)?,
                AttnBiasInit::Zero => params.constant(&format!("{name}.bias"), &[out], 0.0)?,
                AttnBiasInit::None => Tensor::zeros(out, params.dtype(), w.device())?,
            };
            Ok(Linear::new(w, b))
        };
        let qkv = proj(format!("{name}.qkv"), 3 * d, qkv_bound)?;
        let out = proj(format!("{name}.out"), d, linear_bound)?;
        let rel = if relative { Some(RelAttn::load(params, &format!("{name}.rel"), d, heads)?) } else { None };
        Ok(SelfAttention { qkv, out, heads, rel })
    }

    /// `(B, T, d)` → `(B, T, d)`.
    pub fn forward(&self, x: &Tensor, ctx: &AttnCtx) -> Result<Tensor> {
        let k = ctx.kernels;
        let mut qkv = self.qkv.forward(x, k)?; // (B, T, 3d)
        if let Some(f) = &ctx.qkv_transform {
            qkv = f(&qkv)?;
        }
        let (b, t) = (qkv.dim(0)?, qkv.dim(1)?);
        let per_seq = self.heads * t * t;
        let a = if self.rel.is_some() && !qkv.track_op() && b * per_seq > REL_CHUNK {
            let n = (REL_CHUNK / per_seq).max(1);
            let parts = (0..b)
                .step_by(n)
                .map(|s| self.core(&qkv.narrow(0, s, n.min(b - s))?, &ctx.rows(s, n.min(b - s), (b, t))?))
                .collect::<Result<Vec<_>>>()?;
            Tensor::cat(&parts, 0)? // (B, T, d)
        } else {
            self.core(&qkv, ctx)?
        };
        self.out.forward(&a, k) // (B, T, d)
    }

    /// The attention core on projected `qkv (B, T, 3d)`: relative-attention bias (if any) plus
    /// the context's terms, then the fused kernel or its reference → `(B, T, d)`.
    fn core(&self, qkv: &Tensor, ctx: &AttnCtx) -> Result<Tensor> {
        let rel = match (&self.rel, &ctx.relative) {
            (Some(r), Some(f)) => Some(r.bias(qkv, f, self.heads)?), // (B, H, T, T)
            (Some(_), None) => bail!("relative attention: the forward pass has no position frame"),
            _ => None,
        };
        let bias = match (rel, &ctx.bias) {
            (Some(r), Some(b)) => Some(r.broadcast_add(b)?),
            (r, b) => r.or_else(|| b.clone()),
        };
        let spec = AttnSpec {
            heads: self.heads,
            causal: ctx.causal,
            key_mask: ctx.key_mask.clone(),
            alibi: ctx.alibi.clone(),
            window: ctx.window.clone(),
        };
        match ctx.kernels {
            Kernels::Fused => ops::attention(qkv, &spec, bias.as_ref()), // (B, T, d)
            Kernels::Reference => ops::attention_ref(qkv, &spec, bias.as_ref()),
        }
    }

    pub fn detached(&self) -> Self {
        SelfAttention {
            qkv: self.qkv.detached(),
            out: self.out.detached(),
            heads: self.heads,
            rel: self.rel.as_ref().map(RelAttn::detached),
        }
    }
}
