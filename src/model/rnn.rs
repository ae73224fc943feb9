//! The benchmark's vanilla-RNN family (Delétang et al. 2023, `models/rnn.py`,
//! `stack_rnn.py`, `tape_rnn.py`): `rnn`, `stack_rnn` and `tape_rnn`, one controller with an
//! optional differentiable memory ([`super::memory`]).
//!
//! Every step reads the one-hot token `x_t` and, with a memory, the cell under its head `r_t`
//! (the stack's top, the tape's current cell; zero at t = 0):
//!
//! ```text
//! h_t = act(W_in·[x_t; r_t] + b_in + W_hh·h_{t−1} + b_hh)        h_0 = 0, act = relu | tanh
//! logits_t = W_o·relu(h_t) + b_o                                 (make_rnn's readout)
//! ```
//!
//! then updates the memory from `h_t`: the stack pushes `v_t = W_v·h_t + b_v` with weights
//! `softmax(W_a·h_t + b_a)` over (push, pop, no-op); the tape writes
//! `w_t = MLP(h_t)` (Linear 64, ReLU, Linear 64, ReLU, Linear C) and moves with weights
//! `softmax(W_a·h_t + b_a)` over (stay, left, right, jump −L, jump +L), L = the input length.
//! Memories start at zero. Initialization is Haiku's `hk.Linear` (truncated N(0, 1/fan_in)
//! weights, zero biases; `W_in`'s fan-in is the one-hot width plus the cell width).
//!
//! Input projection: `W_in·x_t` for a one-hot `x_t` is a column of `W_in`; each step computes
//! `[x_t; r_t; h_{t−1}]·[W_in | W_hh]ᵀ + b` as one fused linear (+ ReLU) node, the one-hot part
//! costing `V` extra columns. The memory update is two batched matmuls per step.
//!
//! Layout: like the LSTM, outputs at every position; the `transduce` format's query slots
//! follow the input, so the outputs read there have seen the whole input. Padding must be at
//! the row ends. The tape's jump length L is the number of tokens before the first query
//! token ([`Recurrent::with_query`]), or the row's real length when no query id is known.

use super::layers::Linear;
use super::lstm::right_padded;
use super::memory::{self, STACK_ACTIONS, TAPE_ACTIONS};
use super::ops::Kernels;
use super::params::Params;
use super::transformer::token_ids;
use crate::ir::defaults::TAPE_MLP;
use crate::ir::model::{Activation, Arch};
use candle_core::{bail, DType, Device, Result, Tensor};

/// The memory a controller drives, with its memory-specific layers.
#[derive(Clone, Debug)]
pub enum Memory {
    None,
    /// `push (C, H)` and `actions (3, H)` heads.
    Stack {
        cell: usize,
        depth: usize,
        push: Linear,
        actions: Linear,
    },
    /// `mlp` (64, H), (64, 64), (C, 64) and `actions (5, H)`.
    Tape {
        cell: usize,
        size: usize,
        mlp: [Linear; 3],
        actions: Linear,
    },
}

impl Memory {
    fn cell(&self) -> usize {
        match self {
            Memory::None => 0,
            Memory::Stack { cell, .. } | Memory::Tape { cell, .. } => *cell,
        }
    }

    fn detached(&self) -> Self {
        match self {
            Memory::None => Memory::None,
            Memory::Stack { cell, depth, push, actions } => {
                Memory::Stack { cell: *cell, depth: *depth, push: push.detached(), actions: actions.detached() }
            }
            Memory::Tape { cell, size, mlp, actions } => Memory::Tape {
                cell: *cell,
                size: *size,
                mlp: [mlp[0].detached(), mlp[1].detached(), mlp[2].detached()],
                actions: actions.detached(),
            },
        }
    }
}

/// A loaded `rnn`, `stack_rnn` or `tape_rnn`.
#[derive(Clone, Debug)]
pub struct Recurrent {
    pub arch: Arch,
    pub vocab_in: usize,
    pub vocab_out: usize,
    pub hidden: usize,
    pub activation: Activation,
    /// `W_in (H, V_in + C)`, reading `[one-hot x_t; r_t]`.
    pub w_in: Tensor,
    pub b_in: Tensor,
    /// `W_hh (H, H)`.
    pub w_hh: Tensor,
    pub b_hh: Tensor,
    pub memory: Memory,
    /// `W_o (V_out, H)`, `b_o`.
    pub head: Linear,
    pub kernels: Kernels,
    /// The query token's id (the tape's jump length is the input before it).
    pub query: Option<u32>,
}

/// `{name}.weight (out, inp)` and `{name}.bias (out)` initialized like Haiku's `hk.Linear`.
fn hk_linear(params: &mut Params, name: &str, out: usize, inp: usize) -> Result<Linear> {
    let weight = params.haiku_weight(&format!("{name}.weight"), out, inp, inp)?;
    let bias = params.constant(&format!("{name}.bias"), &[out], 0.0)?;
    Ok(Linear::new(weight, bias))
}

impl Recurrent {
    /// Creates the parameters, in order: `core.{w_in, b_in, w_hh, b_hh}`, the memory's layers
    /// (`stack.push`, `stack.actions` or `tape.mlp.{0,1,2}`, `tape.actions`), `head`.
    pub fn load(params: &mut Params, arch: &Arch, vocab_in: usize, vocab_out: usize) -> Result<Self> {
        let (hidden, activation, kind, cell, slots) = match arch {
            Arch::Rnn(c) => (c.hidden, c.activation, 0, 0, 0),
            Arch::StackRnn(c) => (c.hidden, c.activation, 1, c.cell, c.depth),
            Arch::TapeRnn(c) => (c.hidden, c.activation, 2, c.cell, c.size),
            _ => bail!("not a recurrent architecture: {arch:?}"),
        };
        if hidden == 0 || (kind > 0 && (cell == 0 || slots == 0)) {
            bail!("recurrent model: hidden = {hidden}, cell = {cell}, depth/size = {slots} must be positive")
        }
        if vocab_in == 0 || vocab_out == 0 {
            bail!("recurrent model: empty vocabulary (in {vocab_in}, out {vocab_out})")
        }
        let h = hidden;
        let w_in = params.haiku_weight("core.w_in", h, vocab_in + cell, vocab_in + cell)?;
        let b_in = params.constant("core.b_in", &[h], 0.0)?;
        let w_hh = params.haiku_weight("core.w_hh", h, h, h)?;
        let b_hh = params.constant("core.b_hh", &[h], 0.0)?;
        let memory = match kind {
            1 => Memory::Stack {
                cell,
                depth: slots,
                push: hk_linear(params, "stack.push", cell, h)?,
                actions: hk_linear(params, "stack.actions", STACK_ACTIONS, h)?,
            },
            2 => {
                let [m0, m1] = TAPE_MLP;
                let mlp = [
                    hk_linear(params, "tape.mlp.0", m0, h)?,
                    hk_linear(params, "tape.mlp.1", m1, m0)?,
                    hk_linear(params, "tape.mlp.2", cell, m1)?,
                ];
                Memory::Tape { cell, size: slots, mlp, actions: hk_linear(params, "tape.actions", TAPE_ACTIONS, h)? }
            }
            _ => Memory::None,
        };
        let head = hk_linear(params, "head", vocab_out, h)?;
        let (arch, kernels) = (arch.clone(), Kernels::Fused);
        Ok(Recurrent {
            arch,
            vocab_in,
            vocab_out,
            hidden,
            activation,
            w_in,
            b_in,
            w_hh,
            b_hh,
            memory,
            head,
            kernels,
            query: None,
        })
    }

    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// The same model, told which input id is the query token (see the module doc).
    pub fn with_query(mut self, query: Option<u32>) -> Self {
        self.query = query;
        self
    }

    /// A copy with detached weights (evaluation without autograd bookkeeping).
    pub fn detached(&self) -> Self {
        let d = |t: &Tensor| t.detach();
        Recurrent {
            w_in: d(&self.w_in),
            b_in: d(&self.b_in),
            w_hh: d(&self.w_hh),
            b_hh: d(&self.b_hh),
            memory: self.memory.detached(),
            head: self.head.detached(),
            ..self.clone()
        }
    }

    fn linear(&self, x: &Tensor, l: &Linear, relu: bool) -> Result<Tensor> {
        if relu {
            l.forward_relu(x, self.kernels)
        } else {
            l.forward(x, self.kernels)
        }
    }

    /// `tokens (B, T) u32` → logits `(B, T, vocab_out)`; `pad (B, T)`: 1 = real, right-padded.
    pub fn forward_at(&self, tokens: &Tensor, pad: Option<&Tensor>) -> Result<Tensor> {
        let (b, t, ids) = token_ids(tokens)?;
        if let Some(p) = pad {
            right_padded(p, b, t)?;
        }
        if let Some(&bad) = ids.iter().find(|&&i| i as usize >= self.vocab_in) {
            bail!("recurrent model: token {bad} is outside the input vocabulary of {}", self.vocab_in)
        }
        let (v, c, dt, dev) = (self.vocab_in, self.memory.cell(), self.w_in.dtype(), &Device::Cpu);
        let core = Linear::new(Tensor::cat(&[&self.w_in, &self.w_hh], 1)?, (&self.b_in + &self.b_hh)?); // (H, V+C+H)
        let relu = self.activation == Activation::Relu;
        let mut h = Tensor::zeros((b, self.hidden), dt, dev)?; // (B, H)
        let mut state = State::new(self, b, t, &ids, pad)?;
        let mut outs = Vec::with_capacity(t);
        for s in 0..t {
            let x = one_hot(&ids, b, t, s, v, dt)?; // (B, V)
            let r = match &state.read {
                Some(r) if c > 0 => Tensor::cat(&[&x, r, &h], 1)?,
                _ => Tensor::cat(&[&x, &h], 1)?,
            }; // (B, V+C+H)
            h = if relu { self.linear(&r, &core, true)? } else { self.linear(&r, &core, false)?.tanh()? }; // (B, H)
            state.step(self, &h)?;
            outs.push(h.clone());
        }
        let hs = Tensor::stack(&outs, 1)?; // (B, T, H)
        let hs = if relu { hs } else { hs.relu()? }; // relu(h) = h for a ReLU cell
        self.head.forward(&hs, self.kernels) // (B, T, V_out)
    }
}

/// One-hot rows of step `s`: `(B, V)`.
fn one_hot(ids: &[u32], b: usize, t: usize, s: usize, v: usize, dt: DType) -> Result<Tensor> {
    let mut x = vec![0f32; b * v];
    for bi in 0..b {
        x[bi * v + ids[bi * t + s] as usize] = 1.0;
    }
    Tensor::from_vec(x, (b, v), &Device::Cpu)?.to_dtype(dt)
}

/// The memory while unrolling: its cells, the constant shift matrices, and the read cell.
struct State {
    cells: Option<Tensor>,
    shifts: Option<Tensor>,
    read: Option<Tensor>,
}

impl State {
    fn new(m: &Recurrent, b: usize, t: usize, ids: &[u32], pad: Option<&Tensor>) -> Result<Self> {
        let (dt, dev) = (m.w_in.dtype(), &Device::Cpu);
        let (cells, shifts) = match &m.memory {
            Memory::None => return Ok(State { cells: None, shifts: None, read: None }),
            Memory::Stack { cell, depth, .. } => {
                (Tensor::zeros((b, *depth, *cell), dt, dev)?, memory::stack_shifts(*depth, dt)?)
            }
            Memory::Tape { cell, size, .. } => {
                let lens = input_lengths(ids, b, t, pad, m.query)?;
                (Tensor::zeros((b, *size, *cell), dt, dev)?, memory::tape_moves(*size, &lens, dt)?)
            }
        };
        let read = Tensor::zeros((b, m.memory.cell()), dt, dev)?;
        Ok(State { cells: Some(cells), shifts: Some(shifts), read: Some(read) })
    }

    /// Updates the memory from `h (B, H)` and reads the cell under the head.
    fn step(&mut self, m: &Recurrent, h: &Tensor) -> Result<()> {
        let (Some(cells), Some(shifts)) = (&self.cells, &self.shifts) else { return Ok(()) };
        let next = match &m.memory {
            Memory::None => return Ok(()),
            Memory::Stack { push, actions, .. } => {
                let v = m.linear(h, push, false)?; // (B, C)
                let p = memory::softmax(&m.linear(h, actions, false)?, m.kernels)?; // (B, 3)
                memory::stack_step(cells, &v, &p, shifts)?
            }
            Memory::Tape { mlp, actions, .. } => {
                let z = m.linear(h, &mlp[0], true)?;
                let z = m.linear(&z, &mlp[1], true)?;
                let w = m.linear(&z, &mlp[2], false)?; // (B, C)
                let p = memory::softmax(&m.linear(h, actions, false)?, m.kernels)?; // (B, 5)
                memory::tape_step(cells, &w, &p, shifts)?
            }
        };
        self.read = Some(next.narrow(1, 0, 1)?.squeeze(1)?); // (B, C)
        self.cells = Some(next);
        Ok(())
    }
}

/// Per row: the tokens before the first `query` token, else the real (unpadded) length.
fn input_lengths(ids: &[u32], b: usize, t: usize, pad: Option<&Tensor>, query: Option<u32>) -> Result<Vec<usize>> {
    let real = match pad {
        Some(p) => p.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?,
        None => vec![1.0; b * t],
    };
    Ok((0..b)
        .map(|bi| {
            let row = &ids[bi * t..(bi + 1) * t];
            let n = real[bi * t..(bi + 1) * t].iter().filter(|&&x| x != 0.0).count();
            query.and_then(|q| row[..n].iter().position(|&x| x == q)).unwrap_or(n)
        })
        .collect())
}
