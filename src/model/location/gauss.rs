//! Gaussian location attention over normalized source positions and its three rules for the
//! mean `μ_t` (equations in [`super`]): `location` (Dubois et al. 2020), `onestep` and
//! `monotonic` (Ray Chowdhury & Caragea 2023). Run as a scan over target steps, since `μ_t`
//! reads the previous step's expected position `μ̄_{t-1}`.

use super::super::layers::Linear;
use super::super::ops::Kernels;
use super::super::params::Params;
use super::{sigmoid, LocMemory, LocState};
use candle_core::{Result, Tensor};

/// How `μ_t` follows from `ρ_t` and `μ̄_{t-1}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `clamp(stair(ρ1)·Δ + σ(ρ2)·μ̄ + σ(ρ3))` (Dubois et al.'s location attention).
    Dubois,
    /// `σ(5ρ)·Δ + μ̄` (OneStep).
    Sigmoid,
    /// `(γ·relu(ρ) + (1 − γ)·σ(5ρ))·Δ + μ̄`, `γ = σ(β)` (MonoAttn's `controlled_relu`).
    Controlled,
}

impl Rule {
    /// Entries of `ρ` per head.
    pub fn rho_width(self) -> usize {
        match self {
            Rule::Dubois => 3,
            Rule::Sigmoid | Rule::Controlled => 1,
        }
    }
}

/// `W_z, b_z: d → d` (heads contiguous), `w_σ (H, d_h)`, `W_ρ (H, d_h, k)`, and `β (1)` for
/// [`Rule::Controlled`].
#[derive(Clone, Debug)]
pub struct Gauss {
    pub rule: Rule,
    pub heads: usize,
    pub z: Linear,
    pub w_sigma: Tensor,
    pub w_rho: Tensor,
    pub beta: Option<Tensor>,
}

/// The stair `⌊x⌋ + σ(20(x − ⌊x⌋ − ½))` (the code's `softstair`, temperature 20); `⌊x⌋` is a
/// constant of the graph (its derivative is 0 wherever it exists).
pub fn stair(x: &Tensor) -> Result<Tensor> {
    let f = x.detach().floor()?;
    f.clone() + sigmoid(&((x - &f)?.affine(20.0, -10.0)?))?
}

/// The leaky clamp of `x` to [0, 1] with slope 0.01 outside: `max(0.01x, min(x, 1 + 0.01x))`.
pub fn leaky_clamp(x: &Tensor) -> Result<Tensor> {
    let lo = (x * 0.01)?;
    let hi = x.affine(0.01, 1.0)?;
    lo.maximum(&x.minimum(&hi)?)
}

impl Gauss {
    /// `{name}.{z, w_sigma, w_rho[, beta]}`: `z` with PyTorch's linear init, `w_σ`, `W_ρ`
    /// Xavier-uniform as the code's `(H, d_h, k)` tensors, `β = 20`.
    pub fn load(params: &mut Params, name: &str, rule: Rule, d: usize, heads: usize) -> Result<Self> {
        let (dh, k) = (d / heads, rule.rho_width());
        let z = Linear::load(params, &format!("{name}.z"), d, d)?;
        let w_sigma = params.uniform(&format!("{name}.w_sigma"), &[heads, dh], (6.0 / (dh + heads) as f64).sqrt())?;
        let bound = (6.0 / (k * (dh + heads)) as f64).sqrt();
        let w_rho = params.uniform(&format!("{name}.w_rho"), &[heads, dh, k], bound)?;
        let beta =
            (rule == Rule::Controlled).then(|| params.constant(&format!("{name}.beta"), &[1], 20.0)).transpose()?;
        Ok(Gauss { rule, heads, z, w_sigma, w_rho, beta })
    }

    pub fn param_count(rule: Rule, d: usize, _heads: usize) -> usize {
        d * d + d + d + d * rule.rho_width() + (rule == Rule::Controlled) as usize
    }

    /// `μ (B, H, 1, 1)` from `rho (B, H, 1, k)`, `prev = μ̄ (B, H, 1, 1)` and `Δ (B, 1, 1, 1)`.
    pub fn mu(&self, rho: &Tensor, prev: &Tensor, delta: &Tensor) -> Result<Tensor> {
        let r = |i: usize| rho.narrow(3, i, 1);
        let step = match self.rule {
            Rule::Dubois => {
                let m = stair(&r(0)?)?.broadcast_mul(delta)?;
                let m = (m + sigmoid(&r(1)?)?.mul(prev)?)?;
                return leaky_clamp(&(m + sigmoid(&r(2)?)?)?);
            }
            Rule::Sigmoid => sigmoid(&(r(0)? * 5.0)?)?,
            Rule::Controlled => {
                let Some(beta) = &self.beta else { candle_core::bail!("monotonic attention without β") };
                let g = sigmoid(beta)?.reshape((1, 1, 1, 1))?;
                let r0 = r(0)?;
                (r0.relu()?.broadcast_mul(&g)? + sigmoid(&(&r0 * 5.0)?)?.broadcast_mul(&g.affine(-1.0, 1.0)?)?)?
            }
        };
        step.broadcast_mul(delta)? + prev
    }

    /// The weights `(B, H, T, S)` of queries `x (B, T, d)`, continuing from `state.prev`;
    /// `mix`: the gate `m (B, 1, T, 1)` and content weights `(B, H, T, S)` to blend in.
    pub fn scan(
        &self,
        x: &Tensor,
        mem: &LocMemory,
        state: &mut LocState,
        mix: Option<(&Tensor, &Tensor)>,
        k: Kernels,
    ) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let (h, kw) = (self.heads, self.rule.rho_width());
        let dh = d / h;
        let z = self.z.forward(x, k)?.reshape((b, t, h, dh))?.transpose(1, 2)?.contiguous()?; // (B, H, T, d_h)
        let sig = z.broadcast_matmul(&self.w_sigma.reshape((1, h, dh, 1))?)?; // (B, H, T, 1)
        let sigma = (sig.relu()? + 0.27)?.broadcast_mul(&mem.inv_len)?;
        let two_s2 = (sigma.sqr()? * 2.0)?;
        let rho = z.broadcast_matmul(&self.w_rho.reshape((1, h, dh, kw))?)?; // (B, H, T, k)
        let mut prev = match &state.prev {
            Some(p) => p.clone(),
            None => Tensor::zeros((b, h, 1, 1), x.dtype(), x.device())?,
        };
        let mut out = Vec::with_capacity(t);
        for i in 0..t {
            let mu = self.mu(&rho.narrow(2, i, 1)?, &prev, &mem.delta)?; // (B, H, 1, 1)
            let logits = mem.pos.broadcast_sub(&mu)?.sqr()?.broadcast_div(&two_s2.narrow(2, i, 1)?)?.neg()?;
            let loc = super::softmax(&logits, mem.bias.as_ref(), k)?; // (B, H, 1, S)
            let a = match mix {
                Some((m, c)) => {
                    let m = m.narrow(2, i, 1)?;
                    (loc.broadcast_mul(&m)? + c.narrow(2, i, 1)?.broadcast_mul(&m.affine(-1.0, 1.0)?)?)?
                }
                None => loc,
            };
            prev = a.broadcast_mul(&mem.pos)?.sum_keepdim(3)?;
            out.push(a);
        }
        state.prev = Some(prev);
        Tensor::cat(&out, 2)
    }

    pub fn detached(&self) -> Self {
        Gauss {
            rule: self.rule,
            heads: self.heads,
            z: self.z.detached(),
            w_sigma: self.w_sigma.detach(),
            w_rho: self.w_rho.detach(),
            beta: self.beta.as_ref().map(Tensor::detach),
        }
    }
}
