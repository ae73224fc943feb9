//! Fused CPU ops with hand-written backward, and the decomposed reference of each.
//!
//! Why: candle-nn's fused `layer_norm`, `rms_norm` and `softmax_last_dim` have no backward
//! (DESIGN §7), and every candle graph node costs a zeroed gradient buffer plus an add in
//! backward. Each op here is one graph node (`CustomOp1/2/3` with `bwd`) whose forward and
//! backward run on host slices, in f32 or f64. Every fused op has a reference built from plain
//! autograd-correct candle ops (`*_ref`); `tests/model.rs` compares both and checks both
//! against finite differences.
//!
//! | op | fused | reference |
//! |---|---|---|
//! | softmax over the last dim | [`softmax_last_dim`] | [`softmax_ref`] |
//! | LayerNorm | [`layer_norm`] | [`layer_norm_ref`] |
//! | RMSNorm | [`rms_norm`] | [`rms_norm_ref`] |
//! | linear (+ bias, + optional ReLU) | [`linear`] | [`linear_ref`] |
//! | exact (erf) GELU | [`gelu`] | [`gelu_ref`] |
//! | multi-head attention core (scale, bias, mask, softmax, PV) | [`attention`] | [`attention_ref`] |
//! | attention of new tokens over a key/value cache (decoding, no autograd) | [`attention_cached`] | [`attention`] |
//! | attention inference for heads of width 4/8/16 (f32, AVX-512; no weights kept) | inside [`attention`] when nothing needs its gradient | [`attention`]'s blocked path |
//! | attention training (forward keeping P, backward) for heads of width 4/8/16 (f32, AVX-512) | inside [`attention`] and the graph-free step | [`attention`]'s blocked path |
//! | token + position embedding | [`embed`] | [`embed_ref`] |
//! | masked cross-entropy | [`cross_entropy`] | [`cross_entropy_ref`] |
//! | dropout | [`dropout`] | (mask multiply) |
//! | LSTM recurrence over a sequence (gates, cell, BPTT; packed on AVX-512) | [`lstm`], [`lstm_general`] | [`lstm_ref`] |
//! | LSTM layer: input projection (token table or rows) + recurrence | [`lstm_tokens`], [`lstm_rows`] | [`embed`] / [`linear`] + [`lstm`] |
//! | rotary position embedding of Q and K | [`rope`] | [`rope_ref`] |

mod attention;
mod attention_cached;
mod attention_eval;
mod attention_kernels;
mod attention_simd;
mod attention_train;
mod dropout;
mod embed;
mod gelu;
mod kernels;
mod layer_norm;
mod linear;
mod loss;
mod lstm;
mod lstm_kernels;
mod lstm_layer;
mod lstm_recur;
mod lstm_tile;
mod rms_norm;
mod rope;
mod softmax;

pub use attention::{attention, attention_ref, Alibi, AttnSpec};
pub use attention_cached::{attention_cached, KvLayer};
pub use dropout::{dropout, dropout_mask};
pub use embed::{embed, embed_ref};
pub use gelu::{gelu, gelu_f64, gelu_grad_f64, gelu_ref};
pub use kernels::exp_f32;
pub use layer_norm::{layer_norm, layer_norm_ref, LN_EPS};
pub use linear::{linear, linear_ref};
pub use loss::{cross_entropy, cross_entropy_ref};
pub use lstm::{lstm, lstm_general, lstm_ref};
pub use lstm_layer::{lstm_rows, lstm_tokens};
pub use rms_norm::{rms_norm, rms_norm_ref};
pub use rope::{rope, rope_ref, Rotary};
pub use softmax::{softmax_last_dim, softmax_ref};

use candle_core::{bail, CpuStorage, DType, Layout, Result, Storage, StorageRef, Tensor, WithDType};

/// Which implementation of each op a layer runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kernels {
    /// One custom op per fused block (the default; fast on CPU).
    #[default]
    Fused,
    /// Decomposed candle ops (slow, for tests and cross-checks).
    Reference,
}

/// Element types the fused ops run on: f32 (training) and f64 (gradient checks).
pub(crate) trait Fl: WithDType + std::ops::Neg<Output = Self> {
    fn ln_(self) -> Self;
    fn sqrt_(self) -> Self;
    fn neg_infinity() -> Self;
    /// `exp(x)`; vectorizable for f32 (see [`exp_f32`]).
    fn exp1(x: Self) -> Self;
    /// The masked row softmax of [`kernels::softmax_row`]; f32 picks an AVX2 build at run time.
    fn softmax_row(row: &mut [Self], keep: Option<&[Self]>) {
        kernels::softmax_row_generic(row, keep)
    }
    /// Runs one head with the small-head inference kernel ([`attention_eval`]) if it covers
    /// this element type; `false` (nothing written) otherwise.
    fn eval_head(_a: attention_eval::EvalHead<'_, Self>) -> bool {
        false
    }
    /// Runs one head's forward keeping its weights in `probs` with the small-head training
    /// kernel ([`attention_train`]) if it covers this element type; `false` otherwise.
    fn train_head(_a: attention_eval::EvalHead<'_, Self>, _probs: &mut [Self]) -> bool {
        false
    }
    /// Runs one head's backward with the small-head training kernel if it covers this
    /// element type; `false` (nothing written) otherwise.
    fn train_back(_b: attention_train::BackHead<'_, Self>) -> bool {
        false
    }
}

impl Fl for f32 {
    fn ln_(self) -> Self {
        self.ln()
    }
    fn sqrt_(self) -> Self {
        self.sqrt()
    }
    fn neg_infinity() -> Self {
        f32::NEG_INFINITY
    }
    #[inline(always)]
    fn exp1(x: Self) -> Self {
        exp_f32(x)
    }
    fn softmax_row(row: &mut [Self], keep: Option<&[Self]>) {
        #[cfg(target_arch = "x86_64")]
        if kernels::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { kernels::softmax_row_avx2(row, keep) };
        }
        kernels::softmax_row_generic(row, keep)
    }
    fn eval_head(a: attention_eval::EvalHead<'_, Self>) -> bool {
        attention_eval::head(a);
        true
    }
    fn train_head(a: attention_eval::EvalHead<'_, Self>, probs: &mut [Self]) -> bool {
        attention_train::forward(a, probs);
        true
    }
    fn train_back(b: attention_train::BackHead<'_, Self>) -> bool {
        attention_train::backward(b);
        true
    }
}

impl Fl for f64 {
    fn ln_(self) -> Self {
        self.ln()
    }
    fn sqrt_(self) -> Self {
        self.sqrt()
    }
    fn neg_infinity() -> Self {
        f64::NEG_INFINITY
    }
    #[inline(always)]
    fn exp1(x: Self) -> Self {
        x.exp()
    }
}

/// Runs `$f::<f32>` or `$f::<f64>` by `$dtype`; other dtypes are an error naming `$op`.
macro_rules! by_dtype {
    ($dtype:expr, $op:expr, $f:ident($($arg:expr),*)) => {
        match $dtype {
            candle_core::DType::F32 => $f::<f32>($($arg),*),
            candle_core::DType::F64 => $f::<f64>($($arg),*),
            dt => candle_core::bail!("{}: unsupported dtype {dt:?} (f32 or f64)", $op),
        }
    };
}
pub(crate) use by_dtype;

/// The elements of a contiguous CPU storage, as seen through `layout`.
pub(crate) fn cpu_slice<'a, T: WithDType>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&T::cpu_storage_as_slice(s)?[a..b]),
        None => bail!("{op}: input must be contiguous (layout {l:?})"),
    }
}

/// A read lock on a contiguous CPU tensor, lending its elements (used in `bwd`).
pub(crate) struct Host<'a> {
    guard: StorageRef<'a>,
    start: usize,
    end: usize,
}

impl<'a> Host<'a> {
    pub(crate) fn new(t: &'a Tensor, op: &str) -> Result<Self> {
        let (guard, l) = t.storage_and_layout();
        let Some((start, end)) = l.contiguous_offsets() else {
            bail!("{op}: tensor must be contiguous (layout {l:?})")
        };
        Ok(Host { guard, start, end })
    }

    pub(crate) fn slice<T: WithDType>(&self) -> Result<&[T]> {
        match &*self.guard {
            Storage::Cpu(s) => Ok(&T::cpu_storage_as_slice(s)?[self.start..self.end]),
            _ => bail!("algen's fused ops run on the CPU only"),
        }
    }
}

/// A host vector as a CPU tensor (moved, not copied).
pub(crate) fn tensor<T: WithDType>(v: Vec<T>, dims: &[usize]) -> Result<Tensor> {
    Tensor::from_vec(v, dims, &candle_core::Device::Cpu)
}

/// Checks that `t` is a float tensor on the CPU and returns its dtype.
pub(crate) fn float_cpu(t: &Tensor, op: &str) -> Result<DType> {
    if !t.device().is_cpu() {
        bail!("{op}: fused ops run on the CPU; use Kernels::Reference elsewhere")
    }
    match t.dtype() {
        d @ (DType::F32 | DType::F64) => Ok(d),
        d => bail!("{op}: unsupported dtype {d:?} (f32 or f64)"),
    }
}

pub(crate) use kernels::{gemm, gemm_ex, rowdot, softmax_row, sum, zero_fill, zeros, Mat, MatMut};

/// Slice-level kernels shared by the graph ops above and the graph-free training step
/// (`model::step`), so that both compute the same numbers.
pub(crate) mod host {
    pub(crate) use super::attention_kernels::{backward as attn_bwd, forward_into as attn_fwd_into, Dims as AttnDims};
    pub(crate) use super::kernels::zeros;
    pub(crate) use super::layer_norm::{rows_bwd as ln_bwd, rows_fwd as ln_fwd};
    pub(crate) use super::linear::{relu_mask, rows_bwd as linear_bwd, rows_fwd as linear_fwd};
    pub(crate) use super::loss::{rows_grad as ce_grad, rows_loss as ce_loss};
}
