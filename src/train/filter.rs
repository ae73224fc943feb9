//! Gradient filters of Grokfast (Lee et al. 2024), applied per parameter to the host
//! gradients between backward and the optimizer step. Pure state machines over `f64` vectors.
//!
//! - `grokfast_ema(alpha, lamb)` (their Algorithm 2): μ₀ = g₀; then μ ← α·μ + (1−α)·g;
//!   the gradient becomes g + λ·μ (μ updated first, with the current g).
//! - `grokfast_ma(window, lamb)` (their Algorithm 1): the last `window` raw gradients are
//!   kept (the current one included); once `window` of them were seen the gradient becomes
//!   g + λ·mean(them); before that it is left unchanged.

use crate::ir::GradFilter;

/// A filter's running state; one slot per parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Ema {
        alpha: f64,
        lamb: f64,
        mu: Vec<Option<Vec<f64>>>,
    },
    /// `ring[p][k]`: raw gradient `k mod window` of parameter `p`; `seen` counts steps.
    Ma {
        window: usize,
        lamb: f64,
        ring: Vec<Vec<Vec<f64>>>,
        seen: usize,
    },
}

impl Filter {
    /// A fresh filter for `n_params` parameters.
    pub fn new(cfg: &GradFilter, n_params: usize) -> Filter {
        match *cfg {
            GradFilter::GrokfastEma { alpha, lamb } => Filter::Ema { alpha, lamb, mu: vec![None; n_params] },
            GradFilter::GrokfastMa { window, lamb } => {
                Filter::Ma { window, lamb, ring: vec![Vec::new(); n_params], seen: 0 }
            }
        }
    }

    /// Filters `grads` in place (`None` entries are parameters without a gradient).
    pub fn apply(&mut self, grads: &mut [Option<Vec<f64>>]) {
        match self {
            Filter::Ema { alpha, lamb, mu } => {
                for (g, m) in grads.iter_mut().zip(mu.iter_mut()) {
                    let Some(g) = g else { continue };
                    let m = m.get_or_insert_with(|| g.clone()); // μ₀ = g₀
                    if m.len() == g.len() {
                        for (mk, gk) in m.iter_mut().zip(g.iter_mut()) {
                            *mk = *alpha * *mk + (1.0 - *alpha) * *gk;
                            *gk += *lamb * *mk;
                        }
                    }
                }
            }
            Filter::Ma { window, lamb, ring, seen } => {
                let slot = *seen % *window;
                *seen += 1;
                let full = *seen >= *window;
                for (g, r) in grads.iter_mut().zip(ring.iter_mut()) {
                    let Some(g) = g else { continue };
                    if r.len() < *window {
                        r.push(g.clone());
                    } else {
                        r[slot].clone_from(g);
                    }
                    if full {
                        // Row by row (sequential memory), each element summed in ring order.
                        let scale = *lamb / *window as f64;
                        let mut sum = vec![0.0; g.len()];
                        for row in r.iter() {
                            for (s, x) in sum.iter_mut().zip(row) {
                                *s += x;
                            }
                        }
                        for (gk, s) in g.iter_mut().zip(&sum) {
                            *gk += scale * s;
                        }
                    }
                }
            }
        }
    }
}
