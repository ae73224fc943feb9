//! One LSTM step of the recurrent decoder (PyTorch's `nn.LSTMCell` equations, gate order
//! i, f, g, o) from the project's fused linear and plain candle ops, each with a backward:
//!
//! ```text
//! z = x·W_ihᵀ + b_ih + b_hh + h·W_hhᵀ
//! c' = σ(z_f)·c + σ(z_i)·tanh(z_g);  h' = σ(z_o)·tanh(c')
//! ```

use super::super::lstm::LstmLayer;
use super::super::ops::{self, Kernels};
use candle_core::{Result, Tensor};

/// σ(x) = 1 / (1 + exp(−x)).
fn sigmoid(x: &Tensor) -> Result<Tensor> {
    (x.neg()?.exp()? + 1.0)?.recip()
}

/// `x (B, in)`, state `h, c (B, H)` → the next `(h, c)`.
pub fn step(layer: &LstmLayer, x: &Tensor, h: &Tensor, c: &Tensor, k: Kernels) -> Result<(Tensor, Tensor)> {
    let bias = (&layer.b_ih + &layer.b_hh)?;
    let xz = match k {
        Kernels::Fused => ops::linear(x, &layer.w_ih, &bias, false)?,
        Kernels::Reference => ops::linear_ref(x, &layer.w_ih, &bias, false)?,
    }; // (B, 4H)
    let z = (xz + h.matmul(&layer.w_hh.t()?)?)?;
    let n = h.dim(1)?;
    let i = sigmoid(&z.narrow(1, 0, n)?)?;
    let f = sigmoid(&z.narrow(1, n, n)?)?;
    let g = z.narrow(1, 2 * n, n)?.tanh()?;
    let o = sigmoid(&z.narrow(1, 3 * n, n)?)?;
    let c = ((f * c)? + (i * g)?)?;
    let h = (o * c.tanh()?)?;
    Ok((h, c))
}
