//! Optimizers and gradient clipping, on candle `Var`s.
//!
//! Adam (Kingma & Ba 2015, Alg. 1) with optional L2 weight decay added to the
//! gradient, and AdamW (Loshchilov & Hutter 2019, Alg. 2) with decoupled
//! weight decay `θ ← θ − lr·λ·θ`. Both use bias-corrected moments:
//! `m̂ = m/(1−β1^t)`, `v̂ = v/(1−β2^t)`, `θ ← θ − lr·m̂/(√v̂ + ε)`.

use crate::ir::{Optimizer, OptimizerKind};
use candle_core::{backprop::GradStore, DType, Result, Tensor, Var};
use rayon::prelude::*;

pub struct Adam {
    cfg: Optimizer,
    vars: Vec<Var>,
    /// Parameters, first and second moments, on the host (f64 for any dtype).
    theta: Vec<Vec<f64>>,
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
    /// Steps taken.
    pub t: usize,
}

impl Adam {
    pub fn new(cfg: &Optimizer, vars: Vec<Var>) -> Result<Self> {
        let theta = vars.iter().map(|v| host(v.as_tensor())).collect::<Result<Vec<_>>>()?;
        let m: Vec<Vec<f64>> = theta.iter().map(|t| vec![0.0; t.len()]).collect();
        let v = m.clone();
        Ok(Adam { cfg: cfg.clone(), vars, theta, m, v, t: 0 })
    }

    /// One update from `grads` (a parameter without a gradient is left alone).
    /// The arithmetic runs in f64 on the host, one pass per parameter, and the
    /// result is written back into the `Var` once: no graph nodes, no
    /// per-operation tensors.
    pub fn step(&mut self, grads: &GradStore, lr_scale: f64) -> Result<()> {
        let host_grads = host_grads(grads, &self.vars)?;
        self.step_host(&host_grads, lr_scale)
    }

    /// One update from gradients already on the host (one entry per parameter, `None` for a
    /// parameter without a gradient), e.g. after a gradient filter ([`super::filter`]).
    pub fn step_host(&mut self, grads: &[Option<Vec<f64>>], lr_scale: f64) -> Result<()> {
        self.t += 1;
        let (b1, b2) = self.cfg.betas;
        let lr = self.cfg.lr * lr_scale;
        let c1 = 1.0 - b1.powi(self.t as i32);
        let c2 = 1.0 - b2.powi(self.t as i32);
        let (eps, wd) = (self.cfg.eps, self.cfg.weight_decay);
        let l2 = if self.cfg.kind == OptimizerKind::Adam { wd } else { 0.0 };
        let decoupled = if self.cfg.kind == OptimizerKind::AdamW { lr * wd } else { 0.0 };
        for i in 0..self.vars.len() {
            let Some(g) = grads.get(i).and_then(|g| g.as_ref()) else { continue };
            let (theta, m, v) = (&mut self.theta[i], &mut self.m[i], &mut self.v[i]);
            if g.len() != theta.len() {
                candle_core::bail!("adam: a gradient of {} values for a parameter of {}", g.len(), theta.len())
            }
            // Element by element, so splitting the parameter among threads changes no bit.
            let parts = theta.par_chunks_mut(CHUNK).zip(m.par_chunks_mut(CHUNK)).zip(v.par_chunks_mut(CHUNK));
            parts.zip(g.par_chunks(CHUNK)).for_each(|(((theta, m), v), g)| {
                for k in 0..theta.len() {
                    let gk = g[k] + l2 * theta[k];
                    m[k] = b1 * m[k] + (1.0 - b1) * gk;
                    v[k] = b2 * v[k] + (1.0 - b2) * gk * gk;
                    let update = lr * (m[k] / c1) / ((v[k] / c2).sqrt() + eps);
                    theta[k] = theta[k] - update - decoupled * theta[k];
                }
            });
            let t = self.vars[i].as_tensor();
            let next = Tensor::from_vec(theta.clone(), t.shape(), t.device())?.to_dtype(t.dtype())?;
            self.vars[i].set(&next)?;
        }
        Ok(())
    }
}

/// Parameter values per parallel task of the update.
const CHUNK: usize = 1 << 13;

/// The parameters' optimizer state: `(theta, m, v)` per parameter, all f64 (for checkpoints).
impl Adam {
    pub fn state(&self) -> (&[Vec<f64>], &[Vec<f64>], &[Vec<f64>]) {
        (&self.theta, &self.m, &self.v)
    }

    /// Restores a saved state (shapes must match) and writes the parameters back into the `Var`s.
    pub fn restore(&mut self, theta: Vec<Vec<f64>>, m: Vec<Vec<f64>>, v: Vec<Vec<f64>>, t: usize) -> Result<()> {
        let ok =
            |x: &[Vec<f64>]| x.len() == self.theta.len() && x.iter().zip(&self.theta).all(|(a, b)| a.len() == b.len());
        if !ok(&theta) || !ok(&m) || !ok(&v) {
            candle_core::bail!("the checkpoint's optimizer state does not fit this model")
        }
        (self.theta, self.m, self.v, self.t) = (theta, m, v, t);
        for (var, th) in self.vars.iter().zip(&self.theta) {
            let tt = var.as_tensor();
            var.set(&Tensor::from_vec(th.clone(), tt.shape(), tt.device())?.to_dtype(tt.dtype())?)?;
        }
        Ok(())
    }
}

/// Every parameter's gradient on the host as f64 (`None` where it has none).
pub fn host_grads(grads: &GradStore, vars: &[Var]) -> Result<Vec<Option<Vec<f64>>>> {
    vars.iter().map(|v| grads.get(v.as_tensor()).map(host).transpose()).collect()
}

/// A tensor's values as f64 on the host.
fn host(t: &Tensor) -> Result<Vec<f64>> {
    t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()
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

/// [`clip_global_norm`] on host gradients (f64 sums of squares): scales every gradient by
/// `min(1, max_norm / (norm + 1e-6))`; returns the norm before clipping.
pub fn clip_host(grads: &mut [Option<Vec<f64>>], max_norm: f64) -> f64 {
    let norm = grads.iter().flatten().flat_map(|g| g.iter()).map(|&x| x * x).sum::<f64>().sqrt();
    let scale = max_norm / (norm + 1e-6);
    if scale < 1.0 {
        for x in grads.iter_mut().flatten().flat_map(|g| g.iter_mut()) {
            *x *= scale;
        }
    }
    norm
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
