//! The parameter registry: every trainable tensor, in creation order, initialized
//! deterministically from one seeded ChaCha8 stream on the host.
//!
//! candle's own `randn`/`rand` are not seeded (DESIGN §5 wants "same spec + seed = identical
//! numbers"), and candle-nn's `VarMap` is a hash map (no stable order), hence this registry.
//! Values are drawn as f64 and rounded to the registry's dtype, so an f32 and an f64 model
//! built from one seed hold the same numbers up to rounding.
//!
//! Initializers (PyTorch defaults, `torch.nn.Linear.reset_parameters` / `nn.Embedding` /
//! `nn.LayerNorm`):
//! - linear weight (out, in) and bias (out): U(−1/√in, 1/√in);
//! - embedding table: N(0, 1) (Box–Muller over the stream's uniforms);
//! - LayerNorm: gain 1, bias 0;
//! - LSTM layer (`torch.nn.LSTM.reset_parameters`): every weight and bias U(−1/√H, 1/√H);
//! - Haiku's `hk.Linear` (the benchmark's recurrent models): weight N(0, 1/fan_in) truncated
//!   at two standard deviations, bias 0 ([`Params::haiku_weight`]).

use candle_core::{bail, DType, Device, Result, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Trainable tensors in creation order, with the RNG that initializes the next one.
pub struct Params {
    pub vars: Vec<(String, Var)>,
    rng: ChaCha8Rng,
    dtype: DType,
    /// Put in front of every name registered ([`Params::scoped`]).
    prefix: String,
}

impl Params {
    /// An empty registry whose initializers draw from `ChaCha8Rng::seed_from_u64(seed)`.
    pub fn new(seed: u64, dtype: DType) -> Self {
        Params { vars: Vec::new(), rng: ChaCha8Rng::seed_from_u64(seed), dtype, prefix: String::new() }
    }

    /// Runs `f` with every name it registers prefixed by `prefix` (e.g. `encoder.`), so a part
    /// built by shared code (a position table) gets a name of its own.
    pub fn scoped<R>(&mut self, prefix: &str, f: impl FnOnce(&mut Params) -> R) -> R {
        let inner = format!("{}{prefix}", self.prefix);
        let outer = std::mem::replace(&mut self.prefix, inner);
        let r = f(self);
        self.prefix = outer;
        r
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Registers `values` (row-major, f64) as a new variable named `name`.
    pub fn push(&mut self, name: &str, shape: &[usize], values: Vec<f64>) -> Result<Tensor> {
        let name = &format!("{}{name}", self.prefix);
        if self.vars.iter().any(|(n, _)| n == name) {
            bail!("parameter {name:?} is defined twice")
        }
        if values.len() != shape.iter().product::<usize>() {
            bail!("parameter {name:?}: {} values for shape {shape:?}", values.len())
        }
        let var = match self.dtype {
            DType::F64 => Var::from_vec(values, shape, &Device::Cpu)?,
            DType::F32 => Var::from_vec(values.iter().map(|&v| v as f32).collect::<Vec<f32>>(), shape, &Device::Cpu)?,
            dt => bail!("parameters must be f32 or f64, not {dt:?}"),
        };
        let t = var.as_tensor().clone(); // same id as the Var: gradients are found by it
        self.vars.push((name.to_string(), var));
        Ok(t)
    }

    /// U(−bound, bound) entries.
    pub fn uniform(&mut self, name: &str, shape: &[usize], bound: f64) -> Result<Tensor> {
        let n = shape.iter().product();
        let values = (0..n).map(|_| bound * (2.0 * self.rng.gen::<f64>() - 1.0)).collect();
        self.push(name, shape, values)
    }

    /// N(0, std²) entries by Box–Muller: z = √(−2 ln u₁)·(cos, sin)(2π u₂), u₁ ∈ (0, 1].
    pub fn normal(&mut self, name: &str, shape: &[usize], std: f64) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let mut values = Vec::with_capacity(n + 1);
        while values.len() < n {
            let u1 = 1.0 - self.rng.gen::<f64>();
            let u2 = self.rng.gen::<f64>();
            let r = (-2.0 * u1.ln()).sqrt();
            let a = std::f64::consts::TAU * u2;
            values.push(std * r * a.cos());
            values.push(std * r * a.sin());
        }
        values.truncate(n);
        self.push(name, shape, values)
    }

    /// N(0, std²) truncated to ±2·std (a draw outside is redrawn), like Haiku's
    /// `TruncatedNormal(stddev)` (which samples the unit truncated normal and scales it).
    pub fn truncated_normal(&mut self, name: &str, shape: &[usize], std: f64) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let mut values = Vec::with_capacity(n);
        while values.len() < n {
            let u1 = 1.0 - self.rng.gen::<f64>();
            let u2 = self.rng.gen::<f64>();
            let r = (-2.0 * u1.ln()).sqrt();
            let a = std::f64::consts::TAU * u2;
            for z in [r * a.cos(), r * a.sin()] {
                if z.abs() <= 2.0 && values.len() < n {
                    values.push(std * z);
                }
            }
        }
        self.push(name, shape, values)
    }

    /// A weight `(out, inp)` initialized as Haiku's `hk.Linear` does: truncated N(0, 1/fan_in)
    /// with `fan_in` given (it may exceed `inp` when one layer is stored in parts).
    pub fn haiku_weight(&mut self, name: &str, out: usize, inp: usize, fan_in: usize) -> Result<Tensor> {
        self.truncated_normal(name, &[out, inp], 1.0 / (fan_in.max(1) as f64).sqrt())
    }

    /// Entries all equal to `value`.
    pub fn constant(&mut self, name: &str, shape: &[usize], value: f64) -> Result<Tensor> {
        self.push(name, shape, vec![value; shape.iter().product()])
    }

    /// `{name}.weight (out, inp)` and `{name}.bias (out)`, both U(±1/√inp).
    pub fn linear(&mut self, name: &str, out: usize, inp: usize) -> Result<(Tensor, Tensor)> {
        let bound = 1.0 / (inp.max(1) as f64).sqrt();
        let w = self.uniform(&format!("{name}.weight"), &[out, inp], bound)?;
        let b = self.uniform(&format!("{name}.bias"), &[out], bound)?;
        Ok((w, b))
    }

    /// One LSTM layer of width `hidden` reading `inp` features: `{name}.w_ih (4H, inp)`,
    /// `{name}.w_hh (4H, H)`, `{name}.b_ih (4H)`, `{name}.b_hh (4H)`, all U(±1/√H) (PyTorch).
    pub fn lstm(&mut self, name: &str, hidden: usize, inp: usize) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
        let (h4, bound) = (4 * hidden, 1.0 / (hidden.max(1) as f64).sqrt());
        let w_ih = self.uniform(&format!("{name}.w_ih"), &[h4, inp], bound)?;
        let w_hh = self.uniform(&format!("{name}.w_hh"), &[h4, hidden], bound)?;
        let b_ih = self.uniform(&format!("{name}.b_ih"), &[h4], bound)?;
        let b_hh = self.uniform(&format!("{name}.b_hh"), &[h4], bound)?;
        Ok((w_ih, w_hh, b_ih, b_hh))
    }

    /// `{name}.weight (n, d)`, N(0, 1).
    pub fn embedding(&mut self, name: &str, n: usize, d: usize) -> Result<Tensor> {
        self.normal(&format!("{name}.weight"), &[n, d], 1.0)
    }

    /// `{name}.weight (d)` = 1 and `{name}.bias (d)` = 0.
    pub fn layer_norm(&mut self, name: &str, d: usize) -> Result<(Tensor, Tensor)> {
        Ok((self.constant(&format!("{name}.weight"), &[d], 1.0)?, self.constant(&format!("{name}.bias"), &[d], 0.0)?))
    }

    /// `{name}.weight` = 1 (an RMSNorm gain; no bias).
    pub fn rms_norm(&mut self, name: &str, d: usize) -> Result<Tensor> {
        self.constant(&format!("{name}.weight"), &[d], 1.0)
    }

    /// Every variable, in creation order (for the optimizer).
    pub fn all(&self) -> Vec<Var> {
        self.vars.iter().map(|(_, v)| v.clone()).collect()
    }

    /// Names and variables, in creation order.
    pub fn named(&self) -> &[(String, Var)] {
        &self.vars
    }

    /// The variable named `name`.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Total number of scalar parameters.
    pub fn count(&self) -> usize {
        self.vars.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Names and shapes, in creation order (stable; snapshot-tested).
    pub fn list(&self) -> Vec<(String, Vec<usize>)> {
        self.vars.iter().map(|(n, v)| (n.clone(), v.dims().to_vec())).collect()
    }
}
