//! The recurrent decoder's attention, one decoding step at a time, behind [`StepAttention`].
//!
//! # The interface (stable: other attention variants plug in here)
//!
//! - [`StepAttention::prepare`] runs once per source on the encoder states `(B, S, He)` and
//!   may precompute anything per source position (e.g. projected keys); the result lives in
//!   [`Memory::keys`].
//! - [`StepAttention::query`] says which decoder state queries: [`Query::Previous`] (the top
//!   layer's `s_{t-1}` before the cell runs; its context joins the cell input) or
//!   [`Query::Current`] (the new `h_t` after the cell; Luong).
//! - [`StepAttention::step`]`(query (B, Hd), memory, state)` returns the context `(B, He)`,
//!   the weights `(B, S)` and the next [`AttnState`]. The state carries the step index and the
//!   previous step's weights, which location-based variants need.
//! - Scores become weights through [`attend`]: the padded source positions get the additive
//!   bias [`MASKED`], so their weight is exactly 0 in f32 and f64, and the weights of the real
//!   positions sum to 1. Every variant should end in [`attend`].
//!
//! Variants here: [`Bahdanau`] (additive, `vᵀ tanh(W_q s_{t-1} + W_k h_j)`) and [`Luong`]
//! (the "general" score `h_tᵀ W_a h_j`). A new variant is a type implementing
//! [`StepAttention`] (in its own file), a value of `ir::model::RnnAttention`, its word in the
//! checker's `attention` choice (`check/lstm_s2s.rs`) and one arm in `RnnSeq2seq::load`; the
//! decoder, greedy decoding and evaluation need no change. Widths: the decoder and the
//! encoder states are both `hidden` wide today (`He = Hd = H`).

use super::super::cross_attention::MASKED;
use super::super::layers::Linear;
use super::super::ops::{self, Kernels};
use super::super::params::Params;
use candle_core::{bail, Result, Tensor};
use std::fmt::Debug;
use std::sync::Arc;

/// What the decoder attends over: one source batch's encoder states and padding.
#[derive(Clone, Debug)]
pub struct Memory {
    /// Encoder states `(B, S, He)`.
    pub states: Tensor,
    /// Score bias `(B, S)`: 0 at real positions, [`MASKED`] at padding.
    pub bias: Tensor,
    /// Real length of each source row (padding is at the row ends).
    pub lens: Vec<usize>,
    /// What [`StepAttention::prepare`] computed from `states`, if anything.
    pub keys: Option<Tensor>,
}

impl Memory {
    /// The memory of `states (B, S, He)` whose row `i` has `lens[i]` real positions.
    pub fn new(states: Tensor, lens: Vec<usize>) -> Result<Self> {
        let (b, s, _) = states.dims3()?;
        if lens.len() != b || lens.iter().any(|&l| l == 0 || l > s) {
            bail!("rnn seq2seq: source lengths {lens:?} do not fit {b} rows of {s} positions")
        }
        let v: Vec<f64> = lens.iter().flat_map(|&l| (0..s).map(move |j| if j < l { 0.0 } else { MASKED })).collect();
        let bias = Tensor::from_vec(v, (b, s), states.device())?.to_dtype(states.dtype())?;
        Ok(Memory { states, bias, lens, keys: None })
    }
}

/// What one attention step carries to the next.
#[derive(Clone, Debug, Default)]
pub struct AttnState {
    /// The decoding step about to run (0 for the first target token).
    pub step: usize,
    /// The previous step's weights `(B, S)`; `None` before the first step.
    pub prev: Option<Tensor>,
}

/// One step's result.
#[derive(Clone, Debug)]
pub struct Attended {
    /// `(B, He)`.
    pub context: Tensor,
    /// `(B, S)`: exactly 0 on padding, summing to 1 over the real positions.
    pub weights: Tensor,
    pub state: AttnState,
}

/// Which decoder state queries the memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// The top layer's previous state `s_{t-1}`, before the cell; the context joins the cell
    /// input (Bahdanau).
    Previous,
    /// The new top state `h_t`, after the cell (Luong).
    Current,
}

/// A per-step attention of the recurrent decoder (see the module doc).
pub trait StepAttention: Debug + Send + Sync {
    fn query(&self) -> Query;
    /// Per-source precomputation over `states (B, S, He)` whose rows have `lens` real
    /// positions (stored in [`Memory::keys`]).
    fn prepare(&self, states: &Tensor, lens: &[usize], k: Kernels) -> Result<Option<Tensor>>;
    /// `query (B, Hd)` over `mem` at `state`.
    fn step(&self, query: &Tensor, mem: &Memory, state: &AttnState, k: Kernels) -> Result<Attended>;
    /// The same attention with detached weights (for evaluation).
    fn detached(&self) -> Arc<dyn StepAttention>;
}

/// Scores `(B, S)` → masked softmax weights, the context `Σ_j a_j h_j` and the next state.
pub fn attend(scores: &Tensor, mem: &Memory, state: &AttnState, k: Kernels) -> Result<Attended> {
    let scores = (scores + &mem.bias)?;
    let weights = match k {
        Kernels::Fused => ops::softmax_last_dim(&scores)?,
        Kernels::Reference => ops::softmax_ref(&scores)?,
    }; // (B, S)
    let context = weights.unsqueeze(1)?.matmul(&mem.states)?.squeeze(1)?; // (B, He)
    let state = AttnState { step: state.step + 1, prev: Some(weights.clone()) };
    Ok(Attended { context, weights, state })
}

fn keys(mem: &Memory) -> Result<&Tensor> {
    match &mem.keys {
        Some(k) => Ok(k),
        None => bail!("rnn seq2seq: the memory was not prepared by its attention"),
    }
}

/// Bahdanau et al. 2015: `e_tj = vᵀ tanh(W_q s_{t-1} + b + W_k h_j)`, width `A`.
#[derive(Clone, Debug)]
pub struct Bahdanau {
    /// `W_q (A, Hd)` with the bias `b (A)`.
    pub w_q: Linear,
    /// `W_k (A, He)`, no bias.
    pub w_k: Linear,
    /// `v (A, 1)`.
    pub v: Tensor,
}

impl Bahdanau {
    /// `{name}.{w_q, w_k, v}`, PyTorch's `nn.Linear` init (`v`: U(±1/√A)).
    pub fn load(params: &mut Params, name: &str, width: usize, dec: usize, enc: usize) -> Result<Self> {
        let w_q = Linear::load(params, &format!("{name}.w_q"), width, dec)?;
        let w_k = Linear::load_no_bias(params, &format!("{name}.w_k"), width, enc)?;
        let v = params.uniform(&format!("{name}.v"), &[width, 1], 1.0 / (width as f64).sqrt())?;
        Ok(Bahdanau { w_q, w_k, v })
    }
}

impl StepAttention for Bahdanau {
    fn query(&self) -> Query {
        Query::Previous
    }

    fn prepare(&self, states: &Tensor, _lens: &[usize], k: Kernels) -> Result<Option<Tensor>> {
        Ok(Some(self.w_k.forward(states, k)?)) // (B, S, A)
    }

    fn step(&self, query: &Tensor, mem: &Memory, state: &AttnState, k: Kernels) -> Result<Attended> {
        let q = self.w_q.forward(query, k)?.unsqueeze(1)?; // (B, 1, A)
        let e = keys(mem)?.broadcast_add(&q)?.tanh()?; // (B, S, A)
        let scores = e.broadcast_matmul(&self.v)?.squeeze(2)?; // (B, S)
        attend(&scores, mem, state, k)
    }

    fn detached(&self) -> Arc<dyn StepAttention> {
        Arc::new(Bahdanau { w_q: self.w_q.detached(), w_k: self.w_k.detached(), v: self.v.detach() })
    }
}

/// Luong et al. 2015, "general": `e_tj = h_tᵀ W_a h_j`.
#[derive(Clone, Debug)]
pub struct Luong {
    /// `W_a (Hd, He)`, no bias.
    pub w_a: Linear,
}

impl Luong {
    /// `{name}.w_a`, PyTorch's `nn.Linear` init.
    pub fn load(params: &mut Params, name: &str, dec: usize, enc: usize) -> Result<Self> {
        Ok(Luong { w_a: Linear::load_no_bias(params, &format!("{name}.w_a"), dec, enc)? })
    }
}

impl StepAttention for Luong {
    fn query(&self) -> Query {
        Query::Current
    }

    fn prepare(&self, states: &Tensor, _lens: &[usize], k: Kernels) -> Result<Option<Tensor>> {
        Ok(Some(self.w_a.forward(states, k)?)) // (B, S, Hd): W_a h_j
    }

    fn step(&self, query: &Tensor, mem: &Memory, state: &AttnState, k: Kernels) -> Result<Attended> {
        let scores = keys(mem)?.matmul(&query.unsqueeze(2)?)?.squeeze(2)?; // (B, S)
        attend(&scores, mem, state, k)
    }

    fn detached(&self) -> Arc<dyn StepAttention> {
        Arc::new(Luong { w_a: self.w_a.detached() })
    }
}
