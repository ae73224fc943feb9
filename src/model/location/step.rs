//! The location variants in the recurrent encoder–decoder (`lstm { kind = seq2seq,
//! cross_attention = ... }`), the paper's own setting (a GRU there, an LSTM here): one head of
//! width `H` (the paper's `heads = 1`), queried with the previous decoder state `s_{t-1}`
//! ([`Query::Previous`]; the context joins the cell input, as the paper's decoder does), over
//! the encoder states with `START` prepended (and mixed with their reversal where the variant
//! does). Content scores use `W_q s_{t-1}` and `W_k h_j` (no biases, scaled by `1/√H`, the
//! paper's dot-product attention); values are the (mixed) states themselves.
//!
//! The state between steps is the interface's [`AttnState`]: the step index and the previous
//! weights `(B, S + 1)` (index 0 is `START`), from which `μ̄_{t-1} = Σ_j a_{t-1,j} p_j` follows.

use super::super::layers::Linear;
use super::super::ops::Kernels;
use super::super::params::Params;
use super::super::rnn_s2s::attention::{Attended, AttnState, Memory, Query, StepAttention};
use super::{loc_memory, traits, LocState, Location};
use crate::ir::CrossAttn;
use candle_core::{bail, Result, Tensor};
use std::sync::Arc;

/// A location-variant [`StepAttention`] (see the module docs).
#[derive(Clone, Debug)]
pub struct LocStep {
    pub loc: Location,
    /// `W_q, W_k (H, H)` where the variant has content scores.
    pub qk: Option<(Linear, Linear)>,
}

impl LocStep {
    /// `{name}.{w_q, w_k}` (PyTorch's linear init, no biases) and the variant's parameters
    /// ([`Location::load`] with one head of width `hidden`).
    pub fn load(params: &mut Params, name: &str, kind: CrossAttn, hidden: usize) -> Result<Self> {
        let qk = if traits(kind).content {
            let q = Linear::load_no_bias(params, &format!("{name}.w_q"), hidden, hidden)?;
            Some((q, Linear::load_no_bias(params, &format!("{name}.w_k"), hidden, hidden)?))
        } else {
            None
        };
        let Some(loc) = Location::load(params, name, kind, hidden, 1)? else {
            bail!("rnn seq2seq: `standard` cross-attention is the `attention` field's")
        };
        Ok(LocStep { loc, qk })
    }

    /// Scalars [`Self::load`] creates.
    pub fn param_count(kind: CrossAttn, hidden: usize) -> usize {
        let qk = if traits(kind).content { 2 * hidden * hidden } else { 0 };
        qk + Location::param_count(kind, hidden, 1)
    }
}

impl StepAttention for LocStep {
    fn query(&self) -> Query {
        Query::Previous
    }

    /// The values `(B, S + 1, H)` (`START`, mixed with the reversal where the variant does),
    /// followed along the last dim by the keys `W_k` of them where the variant has content.
    fn prepare(&self, states: &Tensor, lens: &[usize], k: Kernels) -> Result<Option<Tensor>> {
        let (values, _) = self.loc.prepare(states, lens, k)?;
        Ok(Some(match &self.qk {
            Some((_, w_k)) => Tensor::cat(&[&values, &w_k.forward(&values, k)?], 2)?,
            None => values,
        }))
    }

    fn step(&self, query: &Tensor, mem: &Memory, state: &AttnState, k: Kernels) -> Result<Attended> {
        let Some(prepared) = &mem.keys else { bail!("rnn seq2seq: the memory was not prepared") };
        let (b, s1, _) = prepared.dims3()?;
        let h = query.dim(1)?;
        let values = prepared.narrow(2, 0, h)?;
        let lens: Vec<usize> = mem.lens.iter().map(|&l| l + 1).collect();
        let lm = loc_memory(&lens, s1, query.dtype(), query.device())?;
        let prev = match &state.prev {
            Some(w) => Some(w.reshape((b, 1, 1, s1))?.broadcast_mul(&lm.pos)?.sum_keepdim(3)?), // (B, 1, 1, 1)
            None => None,
        };
        *lm.state.borrow_mut() = LocState { step: state.step, prev };
        let x = query.unsqueeze(1)?; // (B, 1, H)
        let (q, keys) = match &self.qk {
            Some((w_q, _)) => {
                let q = w_q.forward(&x, k)?.unsqueeze(1)?; // (B, 1, 1, H)
                (Some(q), Some(prepared.narrow(2, h, h)?.unsqueeze(1)?)) // (B, 1, S + 1, H)
            }
            None => (None, None),
        };
        let a = self.loc.weights(&x, q.as_ref(), keys.as_ref(), &lm, k)?.reshape((b, 1, s1))?;
        let context = a.matmul(&values.contiguous()?)?.squeeze(1)?; // (B, H)
        let weights = a.squeeze(1)?;
        Ok(Attended {
            context,
            weights: weights.clone(),
            state: AttnState { step: state.step + 1, prev: Some(weights) },
        })
    }

    fn detached(&self) -> Arc<dyn StepAttention> {
        let qk = self.qk.as_ref().map(|(q, kk)| (q.detached(), kk.detached()));
        Arc::new(LocStep { loc: self.loc.detached(), qk })
    }
}
