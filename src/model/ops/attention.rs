//! The multi-head attention core as one graph node:
//! `ctx_h = softmax(scale · Q_h K_hᵀ + bias_h, masked) · V_h` for every head h.
//!
//! Input is the packed projection `qkv (B, T, 3D)` = [Q | K | V], head h of Q at channels
//! `h·dh .. (h+1)·dh`; output is `ctx (B, T, D)` with heads side by side — exactly what the
//! output projection reads. Heads are read and written in place through GEMM strides, so the
//! usual split-heads / merge-heads transposes (and their copies and graph nodes) disappear.
//! The attention weights P are kept for backward when a gradient can flow (like PyTorch's
//! `save_for_backward`); otherwise they are dropped after the forward.
//!
//! Masking: key j is visible to query i when `key_mask[b, j] = 1`, if causal `j <= i`, and, for
//! a head with a window `w > 0`, `i − w < j <= i` (Hard-ALiBi, Jelassi et al. 2024). Hidden keys
//! get weight exactly 0; a query that sees no key gets a zero context (no NaN). Only the
//! visible block of keys is computed, so a causal model does about half the work.
//!
//! Score biases, added to the scaled scores: `bias` (H, T, T) or (B, H, T, T), the hook for
//! relative and other learned or tabulated schemes (it receives a gradient when tracked), and
//! ALiBi slopes (Press et al. 2022), computed in the kernel without a T×T tensor.

use super::{by_dtype, float_cpu, softmax_ref, tensor, Fl, Host};
use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use std::sync::{Arc, Mutex};

use super::attention_kernels::{backward, forward, Dims};

/// How to attend: head count, causality, which keys are real, and in-kernel position terms.
#[derive(Clone, Debug, Default)]
pub struct AttnSpec {
    pub heads: usize,
    pub causal: bool,
    /// `(B·T)` row-major, 1 = real key, 0 = padding (hidden); only 0 and 1 are meaningful.
    /// `None`: every key is real.
    pub key_mask: Option<Arc<Vec<f32>>>,
    /// ALiBi score bias, per head.
    pub alibi: Option<Alibi>,
    /// Per-head attention windows (`heads` entries; 0 = no window): head h sees only the last
    /// `w_h` positions up to and including the query.
    pub window: Option<Arc<Vec<usize>>>,
}

/// ALiBi (Press et al. 2022): head h adds `m_h·(−|p_i − p_j|) + m_h·before·[p_j < p_i]` to the
/// score of query i on key j, where `p` are the tokens' position ids (the indices `0..T`
/// unless `positions` says otherwise). Causal models use `before = 0` (the bias
/// `−m_h·(i − j)`); the Chomsky-hierarchy benchmark's bidirectional variant uses `before = 0.5`.
#[derive(Clone, Debug, PartialEq)]
pub struct Alibi {
    /// `m_h`, one per head.
    pub slopes: Arc<Vec<f64>>,
    pub before: f64,
    /// Position ids `p`: `None` = the indices; `T` entries = one vector shared by the batch;
    /// `B·T` entries = one row per sequence (row-major). With a key/value cache
    /// ([`super::attention_cached`]): one shared vector covering every cached and new token.
    pub positions: Option<Arc<Vec<u32>>>,
}

impl Alibi {
    /// ALiBi at the token indices with `slopes` and `before`.
    pub fn new(slopes: Vec<f64>, before: f64) -> Self {
        Alibi { slopes: Arc::new(slopes), before, positions: None }
    }

    /// The position ids of sequence `bi` (of `t` tokens), if any.
    pub(super) fn row(&self, bi: usize, t: usize) -> Option<&[u32]> {
        self.positions.as_ref().map(|p| if p.len() == t { &p[..] } else { &p[bi * t..(bi + 1) * t] })
    }

    /// The standard slopes `m_h = 2^(−8(h+1)/H)`, h = 0..H (for H a power of two; Press et al.).
    pub fn standard_slopes(heads: usize) -> Vec<f64> {
        (1..=heads).map(|h| 2f64.powf(-8.0 * h as f64 / heads as f64)).collect()
    }
}

struct Attn {
    spec: AttnSpec,
    scale: f64,
    save: bool,
    probs: Mutex<Option<CpuStorage>>, // (B, H, T, T) saved in forward for backward
}

impl Attn {
    fn dims(&self, qkv: &[usize]) -> Result<Dims> {
        Dims::new(qkv, self.spec.heads)
    }

    fn fwd<T: Fl>(
        &self,
        s: &CpuStorage,
        l: &Layout,
        bias: Option<(&CpuStorage, &Layout)>,
    ) -> Result<(CpuStorage, Shape)> {
        let z = self.dims(l.dims())?;
        let qkv = super::cpu_slice::<T>(s, l, "attention")?;
        let bias = match bias {
            Some((bs, bl)) => Some((super::cpu_slice::<T>(bs, bl, "attention")?, bl.dims().len() == 4)),
            None => None,
        };
        let (out, probs) = forward(&self.spec, self.scale, z, qkv, bias, self.save)?;
        if let Some(p) = probs {
            *self.probs.lock().expect("attention probs lock") = Some(T::to_cpu_storage_owned(p));
        }
        Ok((T::to_cpu_storage_owned(out), Shape::from((z.b, z.t, z.d))))
    }

    fn bwd<T: Fl>(&self, qkv: &Tensor, bias: Option<&Tensor>, grad: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let z = self.dims(qkv.dims())?;
        let grad = grad.contiguous()?;
        let (xh, gh) = (Host::new(qkv, "attention")?, Host::new(&grad, "attention")?);
        let bh = bias.map(|b| Host::new(b, "attention")).transpose()?;
        let (x, g) = (xh.slice::<T>()?, gh.slice::<T>()?);
        let bias_s = match (&bh, bias) {
            (Some(h), Some(b)) => Some((h.slice::<T>()?, b.rank() == 4)),
            _ => None,
        };
        let want_bias = bias.filter(|b| b.track_op()).map(|b| (b.elem_count(), b.rank() == 4));
        let saved = self.probs.lock().expect("attention probs lock");
        let recomputed;
        let probs: &[T] = match saved.as_ref() {
            Some(p) => T::cpu_storage_as_slice(p)?,
            None => {
                recomputed = forward(&self.spec, self.scale, z, x, bias_s, true)?.1.unwrap_or_default();
                &recomputed
            }
        };
        let (dqkv, dbias) = backward(self.scale, z, x, probs, g, want_bias)?;
        let dbias = match (dbias, bias) {
            (Some(v), Some(b)) => Some(tensor(v, b.dims())?),
            _ => None,
        };
        Ok((tensor(dqkv, qkv.dims())?, dbias))
    }
}

impl CustomOp1 for Attn {
    fn name(&self) -> &'static str {
        "algen-attention"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s.dtype(), "attention", fwd_dispatch(self, s, l, None))
    }

    fn bwd(&self, qkv: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (dqkv, _) = by_dtype!(qkv.dtype(), "attention", bwd_dispatch(self, qkv, None, grad))?;
        Ok(qkv.track_op().then_some(dqkv))
    }
}

impl CustomOp2 for Attn {
    fn name(&self) -> &'static str {
        "algen-attention-bias"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        by_dtype!(s1.dtype(), "attention", fwd_dispatch(self, s1, l1, Some((s2, l2))))
    }

    fn bwd(
        &self,
        qkv: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dqkv, dbias) = by_dtype!(qkv.dtype(), "attention", bwd_dispatch(self, qkv, Some(bias), grad))?;
        Ok((qkv.track_op().then_some(dqkv), dbias))
    }
}

fn fwd_dispatch<T: Fl>(
    op: &Attn,
    s: &CpuStorage,
    l: &Layout,
    bias: Option<(&CpuStorage, &Layout)>,
) -> Result<(CpuStorage, Shape)> {
    op.fwd::<T>(s, l, bias)
}

fn bwd_dispatch<T: Fl>(
    op: &Attn,
    qkv: &Tensor,
    bias: Option<&Tensor>,
    grad: &Tensor,
) -> Result<(Tensor, Option<Tensor>)> {
    op.bwd::<T>(qkv, bias, grad)
}

/// Validates shapes shared by the fused and the reference path.
fn check(qkv: &Tensor, spec: &AttnSpec, bias: Option<&Tensor>) -> Result<(usize, usize, usize)> {
    let z = Dims::new(qkv.dims(), spec.heads)?;
    if let Some(m) = &spec.key_mask {
        if m.len() != z.b * z.t {
            bail!("attention: key mask has {} entries, expected B·T = {}", m.len(), z.b * z.t)
        }
    }
    if let Some(a) = &spec.alibi {
        if a.slopes.len() != z.h || a.slopes.iter().any(|m| !m.is_finite()) {
            bail!("attention: ALiBi needs {} finite slopes, got {:?}", z.h, a.slopes)
        }
        if let Some(p) = &a.positions {
            if p.len() != z.t && p.len() != z.b * z.t {
                bail!("attention: {} ALiBi positions, expected T = {} or B·T = {}", p.len(), z.t, z.b * z.t)
            }
        }
    }
    if let Some(w) = &spec.window {
        if w.len() != z.h {
            bail!("attention: {} windows for {} heads", w.len(), z.h)
        }
    }
    if let Some(b) = bias {
        let (h, t) = (z.h, z.t);
        if b.dims() != [h, t, t] && b.dims() != [z.b, h, t, t] {
            bail!("attention: bias {:?} must be (H, T, T) = ({h}, {t}, {t}) or (B, H, T, T)", b.dims())
        }
    }
    Ok((z.b, z.t, z.d))
}

/// Fused attention core: `qkv (B, T, 3D)` → `ctx (B, T, D)`, scale 1/sqrt(D/H).
pub fn attention(qkv: &Tensor, spec: &AttnSpec, bias: Option<&Tensor>) -> Result<Tensor> {
    let (_, _, d) = check(qkv, spec, bias)?;
    float_cpu(qkv, "attention")?;
    let save = qkv.track_op() || bias.is_some_and(|b| b.track_op());
    let scale = 1.0 / ((d / spec.heads) as f64).sqrt();
    let op = Attn { spec: spec.clone(), scale, save, probs: Mutex::new(None) };
    match bias {
        None => qkv.contiguous()?.apply_op1(op),
        Some(b) => qkv.contiguous()?.apply_op2(&b.contiguous()?, op),
    }
}

/// Reference attention from plain candle ops: split heads, scores, additive bias and ALiBi,
/// additive mask, softmax, zeroing of fully hidden rows, weighted sum, merge heads.
pub fn attention_ref(qkv: &Tensor, spec: &AttnSpec, bias: Option<&Tensor>) -> Result<Tensor> {
    let (b, t, d) = check(qkv, spec, bias)?;
    let (h, dh) = (spec.heads, d / spec.heads);
    let split = |i: usize| qkv.narrow(2, i * d, d)?.reshape((b, t, h, dh))?.transpose(1, 2)?.contiguous(); // (B, H, T, dh)
    let (q, k, v) = (split(0)?, split(1)?, split(2)?);
    let mut s = (q.matmul(&k.t()?)? * (1.0 / (dh as f64).sqrt()))?; // (B, H, T, T)
    if let Some(bias) = bias {
        s = s.broadcast_add(bias)?;
    }
    if let Some(a) = &spec.alibi {
        s = s.broadcast_add(&alibi_ref(a, b, h, t)?.to_dtype(qkv.dtype())?)?;
    }
    let mut keep = vec![0f32; b * h * t * t]; // (B, H, T, T)
    for bi in 0..b {
        for hi in 0..h {
            let w = spec.window.as_ref().map_or(0, |w| w[hi]);
            for i in 0..t {
                for j in 0..t {
                    let real = spec.key_mask.as_ref().map_or(1.0, |m| m[bi * t + j]);
                    let hidden = (spec.causal && j > i) || (w > 0 && (j > i || i - j >= w));
                    keep[((bi * h + hi) * t + i) * t + j] = if hidden { 0.0 } else { real };
                }
            }
        }
    }
    let keep = Tensor::from_vec(keep, (b, h, t, t), qkv.device())?.to_dtype(qkv.dtype())?;
    let hide = ((&keep - 1.0)? * 1e9)?; // 0 where visible, -1e9 where hidden
    let p = (softmax_ref(&(s + hide)?)? * keep)?; // (B, H, T, T)
    p.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d)) // (B, T, D)
}

/// The ALiBi bias `(B, H, T, T)` (f64) written out, for [`attention_ref`].
fn alibi_ref(a: &Alibi, b: usize, h: usize, t: usize) -> Result<Tensor> {
    let mut ab = vec![0f64; b * h * t * t]; // (B, H, T, T)
    for bi in 0..b {
        let p = |i: usize| a.row(bi, t).map_or(i as i64, |p| p[i] as i64);
        for (hi, &m) in a.slopes.iter().enumerate() {
            for i in 0..t {
                for j in 0..t {
                    let before = if p(j) < p(i) { a.before } else { 0.0 };
                    ab[((bi * h + hi) * t + i) * t + j] = m * (before - p(i).abs_diff(p(j)) as f64);
                }
            }
        }
    }
    Tensor::from_vec(ab, (b, h, t, t), &candle_core::Device::Cpu)
}
