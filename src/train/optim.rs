//! Optimizers and gradient clipping, on candle `Var`s.
//!
//! Adam (Kingma & Ba 2015, Alg. 1) with optional L2 weight decay added to the
//! gradient, and AdamW (Loshchilov & Hutter 2019, Alg. 2) with decoupled
//! weight decay `θ ← θ − lr·λ·θ`. Both use bias-corrected moments:
//! `m̂ = m/(1−β1^t)`, `v̂ = v/(1−β2^t)`, `θ ← θ − lr·m̂/(√v̂ + ε)`.

use crate::ir::{Optimizer, OptimizerKind};
use candle_core::{backprop::GradStore, Result, Tensor, Var};

pub struct Adam {
    cfg: Optimizer,
    vars: Vec<Var>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    /// Steps taken.
    pub t: usize,
}

impl Adam {
    pub fn new(cfg: &Optimizer, vars: Vec<Var>) -> Result<Self> {
        let m = vars.iter().map(|v| v.as_tensor().zeros_like()).collect::<Result<Vec<_>>>()?;
        let v = m.clone();
        Ok(Adam { cfg: cfg.clone(), vars, m, v, t: 0 })
    }

    /// One update from `grads` (a parameter without a gradient is left alone).
    pub fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        self.t += 1;
        let (b1, b2) = self.cfg.betas;
        let lr = self.cfg.lr * lr_scale;
        let c1 = 1.0 - b1.powi(self.t as i32);
        let c2 = 1.0 - b2.powi(self.t as i32);
        for i in 0..self.vars.len() {
            let var = &self.vars[i];
            let Some(g) = grads.get(var.as_tensor()) else { continue };
            let theta = var.as_tensor();
            let g = if self.cfg.kind == OptimizerKind::Adam && self.cfg.weight_decay != 0.0 {
                (g + (theta * self.cfg.weight_decay)?)?
            } else {
                g.clone()
            };
            let m = ((&self.m[i] * b1)? + (&g * (1.0 - b1))?)?;
            let v = ((&self.v[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let update = ((&m * (lr / c1))? / ((&v * (1.0 / c2))?.sqrt()? + self.cfg.eps)?)?;
            let mut next = (theta - update)?;
            if self.cfg.kind == OptimizerKind::AdamW && self.cfg.weight_decay != 0.0 {
                next = (next - (theta * (lr * self.cfg.weight_decay))?)?;
            }
            var.set(&next)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }
}

/// The global L2 norm of all gradients.
pub fn grad_norm(grads: &GradStore, vars: &[Var]) -> Result<f64> {
    let mut total = 0f64;
    for v in vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            total += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        }
    }
    Ok(total.sqrt())
}

/// Scales every gradient by `min(1, max_norm / norm)` (global-norm clipping,
/// Pascanu et al. 2013; as `torch.nn.utils.clip_grad_norm_`). Returns the norm before clipping.
pub fn clip_global_norm(grads: &mut GradStore, vars: &[Var], max_norm: f64) -> Result<f64> {
    let norm = grad_norm(grads, vars)?;
    let scale = max_norm / (norm + 1e-6);
    if scale < 1.0 {
        for v in vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                let scaled = (g * scale)?;
                grads.insert(v.as_tensor(), scaled);
            }
        }
    }
    Ok(norm)
}
