//! The differentiable memories of the Chomsky-hierarchy benchmark's recurrent models
//! (Delétang et al. 2023): a stack (Joulin & Mikolov 2015) and a circular tape. Each step mixes
//! the memory's cells with the softmax action weights; both are written here as one batched
//! matrix product, `new = A · cells`, where the per-sequence mixing matrix `A` is the
//! action-weighted sum of 0/1 shift matrices (`A = Σ_a p_a·P_a`). That is exactly the
//! benchmark's convex combination of shifted memories, in two graph nodes.
//!
//! **Stack** (`D` cells of width `C`, cell 0 the top; actions push, pop, no-op):
//! with `E = [v; s_0; …; s_{D−1}]` (the push value `v` on top of the old stack),
//!
//! ```text
//! s'_i = p_push·E[i] + p_pop·E[i+2] + p_noop·E[i+1]      (E[j] = 0 for j > D)
//! ```
//!
//! i.e. `s'_0 = p_push·v + p_pop·s_1 + p_noop·s_0` and `s'_i = p_push·s_{i−1} + p_pop·s_{i+1}
//! + p_noop·s_i`; a push drops the bottom cell, a pop brings in zeros.
//!
//! **Tape** (`M` cells of width `C`, the head always at cell 0; five actions): first the head
//! cell is overwritten, `W = [w; m_1; …; m_{M−1}]`, then the tape moves:
//!
//! ```text
//! m'_i = p_stay·W[i] + p_left·W[i+1] + p_right·W[i−1] + p_jl·W[i+L] + p_jr·W[i−L]   (mod M)
//! ```
//!
//! with `L` the sequence's input length (the benchmark's `jnp.roll` of the identity by −1, +1,
//! −L, +L).

use super::ops::{self, Kernels};
use candle_core::{Device, Result, Tensor};

/// Actions of the stack, in the benchmark's order.
pub const STACK_ACTIONS: usize = 3;
/// Actions of the tape: write-stay, left, right, jump left, jump right.
pub const TAPE_ACTIONS: usize = 5;

/// The stack's shift matrices `(3, D·(D+1))` (push, pop, no-op), each `D × (D+1)` row-major,
/// mapping `E (D+1, C)` to the new stack `(D, C)`.
pub fn stack_shifts(depth: usize, dtype: candle_core::DType) -> Result<Tensor> {
    let (d, e) = (depth, depth + 1);
    let mut p = vec![0f64; STACK_ACTIONS * d * e];
    for i in 0..d {
        p[i * e + i] = 1.0; // push: E[i]
        if i + 2 <= d {
            p[d * e + i * e + i + 2] = 1.0; // pop: E[i + 2]
        }
        p[2 * d * e + i * e + i + 1] = 1.0; // no-op: E[i + 1]
    }
    Tensor::from_vec(p, (STACK_ACTIONS, d * e), &Device::Cpu)?.to_dtype(dtype)
}

/// One stack step. `stack (B, D, C)`, `push (B, C)`, `probs (B, 3)`, `shifts` from
/// [`stack_shifts`] → the new stack `(B, D, C)`.
pub fn stack_step(stack: &Tensor, push: &Tensor, probs: &Tensor, shifts: &Tensor) -> Result<Tensor> {
    let (b, d, _) = stack.dims3()?;
    let mix = probs.matmul(shifts)?.reshape((b, d, d + 1))?; // (B, D, D+1)
    let ext = Tensor::cat(&[&push.unsqueeze(1)?, stack], 1)?; // (B, D+1, C)
    mix.matmul(&ext) // (B, D, C)
}

/// The tape's move matrices for each sequence: `(B, 5, M·M)`, each `M × M` row-major, for
/// input lengths `lens` (one per sequence).
pub fn tape_moves(size: usize, lens: &[usize], dtype: candle_core::DType) -> Result<Tensor> {
    let m = size;
    let mut p = vec![0f64; lens.len() * TAPE_ACTIONS * m * m];
    for (bi, &len) in lens.iter().enumerate() {
        let l = len % m;
        // Source cell of row i under each action: stay, left, right, jump left, jump right.
        let src = |a: usize, i: usize| match a {
            0 => i,
            1 => (i + 1) % m,
            2 => (i + m - 1) % m,
            3 => (i + l) % m,
            _ => (i + m - l) % m,
        };
        for a in 0..TAPE_ACTIONS {
            let base = (bi * TAPE_ACTIONS + a) * m * m;
            for i in 0..m {
                p[base + i * m + src(a, i)] = 1.0;
            }
        }
    }
    Tensor::from_vec(p, (lens.len(), TAPE_ACTIONS, m * m), &Device::Cpu)?.to_dtype(dtype)
}

/// One tape step. `tape (B, M, C)`, `write (B, C)`, `probs (B, 5)`, `moves` from
/// [`tape_moves`] → the new tape `(B, M, C)`.
pub fn tape_step(tape: &Tensor, write: &Tensor, probs: &Tensor, moves: &Tensor) -> Result<Tensor> {
    let (b, m, _) = tape.dims3()?;
    let mix = probs.unsqueeze(1)?.matmul(moves)?.reshape((b, m, m))?; // (B, M, M)
    let w = write.unsqueeze(1)?; // (B, 1, C)
    let written = if m > 1 { Tensor::cat(&[&w, &tape.narrow(1, 1, m - 1)?], 1)? } else { w }; // (B, M, C)
    mix.matmul(&written) // (B, M, C)
}

/// Softmax over the last dim with the chosen kernels (the fused one has its own backward).
pub fn softmax(x: &Tensor, k: Kernels) -> Result<Tensor> {
    match k {
        Kernels::Fused => ops::softmax_last_dim(x),
        Kernels::Reference => ops::softmax_ref(x),
    }
}
