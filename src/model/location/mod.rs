//! Location-based cross-attention (Ray Chowdhury & Caragea 2023, "Monotonic Location Attention
//! for Length Generalization", ICML; Dubois et al. 2020, "Location Attention for Extrapolation
//! to Longer Sequences"), the `cross_attention = ...` options of an encoder–decoder transformer
//! ([`crate::ir::CrossAttn`]) and of a recurrent one ([`step`]). Equations read from the paper and its code's configurations
//! (github.com/JRC1995/MonotonicLocationAttention, `models/attentions/*`); names as in the paper.
//!
//! Notation: decoder query `x_t` (the cross-attention sublayer's input at target step `t`),
//! encodings `e_1..e_S` of a source with `L` real positions, heads `h` of width `d_h`,
//! `q_t = W_q x_t`, `k_j = W_k e_j`, `v_j = W_v e_j`; `c_t = Σ_j a_tj v_j` then `W_o c_t`.
//!
//! - **Memory.** Every variant but `standard` prepends a learned start vector `e_0 = START`
//!   (the paper's `<SOS>` encoding; the source already ends with `<eos>`), so `L` counts it.
//! - **Bi-directional encodings** (`bi_relative`, `onestep`, `monotonic` and their mixes): with
//!   the reversal `ē_j = e_{L-1-j}` (`j < L`) and a gate from the mean encoding `ē = mean_j e_j`,
//!   `g = σ(5·(w_g·ē + b_g))`, keys and values read `g·e_j + (1 − g)·ē_j` ([`reverse`]).
//! - **standard:** `a_tj = softmax_j(q_t·k_j / √d_h)`.
//! - **relative** (Dai et al. 2019's form): `s_tj = ((q_t + u)·k_j + (q_t + v)·W_r R(j − t)) / √d_h`,
//!   `R` the sinusoid of the offset, `u`, `v` learned per head; `a = softmax(s)` ([`relative`]).
//! - **bi_relative:** relative attention over the gated forward/reversed encodings.
//! - **Location attention** ([`gauss`]): positions normalized `p_j = j / max(1, L − 1)`, step
//!   size `Δ = 1/max(1, L − 1)`; from `z_t = W_z x_t + b_z` per head, `σ_t = (relu(w_σ·z_t) + 0.27)/L`,
//!   `ρ_t = W_ρ z_t`; the mean `μ_t` moves from the previous attention's expected position
//!   `μ̄_{t-1} = Σ_j a_{t-1,j} p_j` (`μ̄_{-1} = 0`), and
//!   `a_tj = softmax_j(−(p_j − μ_t)² / (2σ_t²))` over the real positions.
//!   - `location` (Dubois et al.): `μ_t = clamp(stair(ρ_t1)·Δ + σ(ρ_t2)·μ̄_{t-1} + σ(ρ_t3))`,
//!     `stair(x) = ⌊x⌋ + σ(20(x − ⌊x⌋ − ½))`, clamp the leaky one to [0, 1] (slope 0.01).
//!   - `onestep`: `μ_t = σ(5ρ_t)·Δ + μ̄_{t-1}` — a step of less than one position, never left.
//!   - `monotonic` (MonoAttn): `μ_t = (γ·relu(ρ_t) + (1 − γ)·σ(5ρ_t))·Δ + μ̄_{t-1}`,
//!     `γ = σ(β)`, `β` learned from 20 — any step ≥ 0.
//! - **Mix** (`mix_*`): `a_t = m_t·a^loc_t + (1 − m_t)·a^content_t`, `m_t = σ(w_m·x_t + b_m)`;
//!   `μ̄` reads the mixed attention (the code's default `position_past = False`).
//!
//! Hosts: the seq2seq transformer's cross-attention ([`super::cross_attention`], query `x_t`
//! the decoder's stream, `H` heads) and the recurrent encoder–decoder ([`step`], the paper's
//! setting with an LSTM for its GRU: query the previous decoder state, one head).
//!
//! Differences from the paper's setting: the direction gate reads the mean encoding, not
//! the encoder's last state; `START` is added after the encoder, not before;
//! the Gaussian is normalized by a softmax (the code divides `exp` by its sum + 1e-20, which
//! gives 0 everywhere when every term underflows); weights and values use the transformer's
//! per-head projections (no extra value transform); location-only variants have no query and
//! key projections.
//!
//! The sequential variants are a scan over target steps inside the sublayer; the scan's
//! state (the step index and `μ̄`) lives in the memory ([`LocMemory`]), so the teacher-forced
//! pass (all steps in one call) and cached decoding (one step per call) run the same code.

pub mod gauss;
pub mod relative;
pub mod reverse;
pub mod step;

use super::layers::Linear;
use super::ops::{self, Kernels};
use super::params::Params;
use crate::ir::CrossAttn;
use candle_core::{bail, DType, Result, Tensor};
use std::cell::RefCell;

/// Which parts a variant has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traits {
    /// Content scores `q·k` (and so query and key projections).
    pub content: bool,
    /// The relative-position term.
    pub relative: bool,
    /// The gated forward/reversed encodings.
    pub reversed: bool,
    /// The Gaussian location attention and its rule for `μ`.
    pub rule: Option<gauss::Rule>,
    /// The content/location mix gate.
    pub mix: bool,
}

/// The parts of `kind`.
pub fn traits(kind: CrossAttn) -> Traits {
    use gauss::Rule::*;
    use CrossAttn::*;
    let t = |content, relative, reversed, rule, mix| Traits { content, relative, reversed, rule, mix };
    match kind {
        Standard => t(true, false, false, None, false),
        Relative => t(true, true, false, None, false),
        BiRelative => t(true, true, true, None, false),
        Location => t(false, false, false, Some(Dubois), false),
        MixLocation => t(true, false, false, Some(Dubois), true),
        OneStep => t(false, false, true, Some(Sigmoid), false),
        MixOneStep => t(true, false, true, Some(Sigmoid), true),
        Monotonic => t(false, false, true, Some(Controlled), false),
        MixMonotonic => t(true, false, true, Some(Controlled), true),
    }
}

/// The parameters a non-standard variant adds to a cross-attention layer.
#[derive(Clone, Debug)]
pub struct Location {
    pub kind: CrossAttn,
    pub heads: usize,
    /// `START (d)`.
    pub start: Tensor,
    pub rel: Option<relative::Rel>,
    pub gauss: Option<gauss::Gauss>,
    /// `w_m, b_m`: `d → 1`.
    pub mix: Option<Linear>,
    /// `w_g, b_g`: `d → 1`.
    pub dir: Option<Linear>,
}

/// The scan's state: target steps seen so far and `μ̄` of the last one `(B, H, 1, 1)`.
#[derive(Clone, Debug, Default)]
pub struct LocState {
    pub step: usize,
    pub prev: Option<Tensor>,
}

/// What a location variant reads besides keys and values: the augmented memory's real
/// lengths `L` (with `START`), its padding bias `(B, 1, 1, S + 1)`, normalized positions
/// `p (B, 1, 1, S + 1)`, `Δ` and `1/L` `(B, 1, 1, 1)`, and the scan's state.
#[derive(Clone, Debug)]
pub struct LocMemory {
    pub lens: Vec<usize>,
    pub bias: Option<Tensor>,
    pub pos: Tensor,
    pub delta: Tensor,
    pub inv_len: Tensor,
    pub state: RefCell<LocState>,
}

impl Location {
    /// The parameters of `kind` (none for `standard`), named `{name}.{start, rel.*, loc.*,
    /// mix, dir}`.
    pub fn load(params: &mut Params, name: &str, kind: CrossAttn, d: usize, heads: usize) -> Result<Option<Self>> {
        if kind == CrossAttn::Standard {
            return Ok(None);
        }
        let t = traits(kind);
        let start = params.normal(&format!("{name}.start"), &[d], 1.0 / (d as f64).sqrt())?;
        let rel = t.relative.then(|| relative::Rel::load(params, &format!("{name}.rel"), d, heads)).transpose()?;
        let gauss = match t.rule {
            Some(rule) => Some(gauss::Gauss::load(params, &format!("{name}.loc"), rule, d, heads)?),
            None => None,
        };
        let mix = t.mix.then(|| Linear::load(params, &format!("{name}.mix"), 1, d)).transpose()?;
        let dir = t.reversed.then(|| Linear::load(params, &format!("{name}.dir"), 1, d)).transpose()?;
        Ok(Some(Location { kind, heads, start, rel, gauss, mix, dir }))
    }

    /// Scalars [`Self::load`] creates for `kind` (0 for `standard`).
    pub fn param_count(kind: CrossAttn, d: usize, heads: usize) -> usize {
        if kind == CrossAttn::Standard {
            return 0;
        }
        let t = traits(kind);
        let rel = if t.relative { relative::Rel::param_count(d) } else { 0 };
        let loc = t.rule.map_or(0, |r| gauss::Gauss::param_count(r, d, heads));
        d + rel + loc + (d + 1) * (t.mix as usize + t.reversed as usize)
    }

    /// The encodings `x (B, S, d)` the keys and values read — `START` prepended, forward and
    /// reversed mixed where the variant does — and the memory's [`LocMemory`]; `lens` are the
    /// sources' real lengths (a prefix of each row).
    pub fn prepare(&self, x: &Tensor, lens: &[usize], k: Kernels) -> Result<(Tensor, LocMemory)> {
        let (b, s, d) = x.dims3()?;
        let start = self.start.reshape((1, 1, d))?.broadcast_as((b, 1, d))?;
        let x = Tensor::cat(&[&start, x], 1)?.contiguous()?; // (B, S + 1, d)
        let lens: Vec<usize> = lens.iter().map(|&l| l + 1).collect();
        let x = match &self.dir {
            Some(dir) => reverse::mix(&x, &lens, dir, k)?,
            None => x,
        };
        let mem = loc_memory(&lens, s + 1, x.dtype(), x.device())?;
        Ok((x, mem))
    }

    /// The attention weights `(B, H, T, S)` of queries `x (B, T, d)` (content queries `q
    /// (B, H, T, d_h)` and keys `keys (B, H, S, d_h)` where the variant has them); advances the
    /// memory's state by `T` steps.
    pub fn weights(
        &self,
        x: &Tensor,
        q: Option<&Tensor>,
        keys: Option<&Tensor>,
        mem: &LocMemory,
        k: Kernels,
    ) -> Result<Tensor> {
        let t = x.dim(1)?;
        let mut state = mem.state.borrow_mut();
        let content = match (q, keys) {
            (Some(q), Some(kk)) if self.rel.is_none() => Some(softmax(&scores(q, kk)?, mem.bias.as_ref(), k)?),
            _ => None,
        };
        let a = if let Some(rel) = &self.rel {
            let (Some(q), Some(kk)) = (q, keys) else { bail!("relative attention needs queries and keys") };
            let s = rel.scores(q, kk, state.step)?;
            softmax(&s, mem.bias.as_ref(), k)?
        } else if let Some(g) = &self.gauss {
            let m = self.mix.as_ref().map(|m| sigmoid(&m.forward(x, k)?.unsqueeze(1)?)).transpose()?; // (B, 1, T, 1)
            let mix = match (&m, &content) {
                (Some(m), Some(c)) => Some((m, c)),
                _ => None,
            };
            g.scan(x, mem, &mut state, mix, k)?
        } else {
            bail!("cross-attention {:?} has neither relative nor location parameters", self.kind)
        };
        state.step += t;
        Ok(a)
    }

    pub fn detached(&self) -> Self {
        Location {
            kind: self.kind,
            heads: self.heads,
            start: self.start.detach(),
            rel: self.rel.as_ref().map(relative::Rel::detached),
            gauss: self.gauss.as_ref().map(gauss::Gauss::detached),
            mix: self.mix.as_ref().map(Linear::detached),
            dir: self.dir.as_ref().map(Linear::detached),
        }
    }
}

/// The [`LocMemory`] of rows with `lens` real positions out of `s`.
pub fn loc_memory(lens: &[usize], s: usize, dtype: DType, dev: &candle_core::Device) -> Result<LocMemory> {
    let b = lens.len();
    let mut pos = Vec::with_capacity(b * s);
    let mut bias = Vec::with_capacity(b * s);
    for &l in lens {
        let step = 1.0 / (l.max(2) - 1) as f64;
        pos.extend((0..s).map(|j| j as f64 * step));
        bias.extend((0..s).map(|j| if j < l { 0.0 } else { super::cross_attention::MASKED }));
    }
    let t = |v: Vec<f64>, shape: (usize, usize, usize, usize)| Tensor::from_vec(v, shape, dev)?.to_dtype(dtype);
    let padded = lens.iter().any(|&l| l < s);
    Ok(LocMemory {
        lens: lens.to_vec(),
        bias: padded.then(|| t(bias, (b, 1, 1, s))).transpose()?,
        pos: t(pos, (b, 1, 1, s))?,
        delta: t(lens.iter().map(|&l| 1.0 / (l.max(2) - 1) as f64).collect(), (b, 1, 1, 1))?,
        inv_len: t(lens.iter().map(|&l| 1.0 / l.max(1) as f64).collect(), (b, 1, 1, 1))?,
        state: RefCell::new(LocState::default()),
    })
}

/// The real length of each row of a `(B, S)` mask (1 = real), which must be a prefix.
pub fn prefix_lens(mask: &[f32], s: usize) -> Result<Vec<usize>> {
    let mut lens = Vec::with_capacity(mask.len() / s.max(1));
    for row in mask.chunks(s.max(1)) {
        let l = row.iter().take_while(|&&v| v > 0.0).count();
        if row[l..].iter().any(|&v| v > 0.0) {
            bail!("cross-attention: source padding must follow the real tokens")
        }
        lens.push(l);
    }
    Ok(lens)
}

/// `q·kᵀ/√d_h`: `(B, H, T, d_h)` × `(B, H, S, d_h)` → `(B, H, T, S)`.
pub fn scores(q: &Tensor, keys: &Tensor) -> Result<Tensor> {
    let dh = q.dim(3)?;
    q.contiguous()?.matmul(&keys.transpose(2, 3)?.contiguous()?)? * (1.0 / (dh as f64).sqrt())
}

/// Softmax over the last dim after adding `bias (B, 1, 1, S)` (the project's op with backward).
pub fn softmax(s: &Tensor, bias: Option<&Tensor>, k: Kernels) -> Result<Tensor> {
    let s = match bias {
        Some(b) => s.broadcast_add(b)?,
        None => s.clone(),
    };
    match k {
        Kernels::Fused => ops::softmax_last_dim(&s),
        Kernels::Reference => ops::softmax_ref(&s),
    }
}

/// `σ(x) = (tanh(x/2) + 1)/2`, stable for any `x` (plain candle ops, autograd-correct).
pub fn sigmoid(x: &Tensor) -> Result<Tensor> {
    ((x * 0.5)?.tanh()? + 1.0)? * 0.5
}
