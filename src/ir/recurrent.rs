//! The recurrent architectures' configurations: the LSTM (with its encoder–decoder form) and
//! the RNN family of the Chomsky-hierarchy benchmark (`rnn`, `stack_rnn`, `tape_rnn`).

use serde::{Deserialize, Serialize};

/// A stacked LSTM: token embedding (`embed` wide) → `layers` LSTM layers of width `hidden`
/// (PyTorch `nn.LSTM` equations and init) → a linear head at every position; or, with
/// `style = haiku`, the Chomsky-hierarchy benchmark's Haiku LSTM (see [`LstmStyle::Haiku`]).
/// Causal by construction, so it serves every task format; it has no dropout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LstmCfg {
    pub layers: usize,
    pub hidden: usize,
    /// Width of the token embedding (defaults to `hidden`; unused by `style = haiku`, which
    /// reads one-hot tokens).
    pub embed: usize,
    /// Wiring and init (PyTorch, the default, is omitted from the IR's JSON).
    #[serde(default, skip_serializing_if = "LstmStyle::is_pytorch")]
    pub style: LstmStyle,
    /// `kind = seq2seq`: an encoder–decoder with attention (`model::rnn_s2s`) for the
    /// `seq2seq` format; `None` for the language-model LSTM (omitted from the IR's JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq2seq: Option<LstmSeq2seq>,
}

/// The decoder of `lstm { kind = seq2seq, attention = ..., input_feeding = ... }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LstmSeq2seq {
    pub attention: RnnAttention,
    /// Luong et al. 2015's input feeding: the previous step's attentional vector joins the
    /// decoder cell's input (always off for `bahdanau`, whose cell reads the context).
    pub input_feeding: bool,
    /// A location variant of Ray Chowdhury & Caragea 2023 in place of `attention`
    /// (`standard`: `attention` decides).
    #[serde(default, skip_serializing_if = "super::CrossAttn::is_standard")]
    pub cross_attention: super::CrossAttn,
}

/// How the recurrent decoder attends over the encoder states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RnnAttention {
    /// No attention: the decoder sees the source only through its initial state.
    None,
    /// Bahdanau et al. 2015: additive score `vᵀ tanh(W_q s_{t-1} + W_k h_j)` queried with the
    /// previous decoder state, the context fed into the cell input.
    Bahdanau,
    /// Luong et al. 2015, "general" score `h_tᵀ W_a h_j` queried with the new decoder state.
    Luong,
}

impl LstmCfg {
    /// Features the first LSTM layer reads: the embedding width, or the one-hot width
    /// `vocab_in` for `style = haiku`.
    pub fn input_width(&self, vocab_in: usize) -> usize {
        match self.style {
            LstmStyle::Pytorch => self.embed,
            LstmStyle::Haiku => vocab_in,
        }
    }
}

/// Which reference LSTM `lstm { ... }` builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LstmStyle {
    /// PyTorch's `nn.LSTM` behind an `nn.Embedding` (N(0, 1)): gate order i, f, g, o, two
    /// biases `b_ih + b_hh`, every weight and bias U(±1/√H), a linear head on `h`.
    #[default]
    Pytorch,
    /// Haiku's `hk.LSTM` as the Chomsky-hierarchy benchmark wires it (Delétang et al. 2023,
    /// `models/rnn.py` `make_rnn`): one-hot tokens (no embedding), one `hk.Linear(4H)` over
    /// `[x; h]` (gate order i, g, f, o), forget gate `σ(z_f + 1)`, weights truncated N(0, 1/fan_in)
    /// with fan_in = in + H, zero bias, and the readout `hk.Linear(relu(h))`.
    Haiku,
}

impl LstmStyle {
    pub fn is_pytorch(&self) -> bool {
        *self == LstmStyle::Pytorch
    }
}

/// The nonlinearity of a vanilla RNN cell, `h_t = act(W·[x_t; m_t] + b + U·h_{t-1} + c)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(0, x): Haiku's `hk.VanillaRNN`, the core of the benchmark's rnn, stack_rnn, tape_rnn.
    Relu,
    /// tanh (Elman 1990; PyTorch's `nn.RNN` default).
    Tanh,
}

impl Activation {
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
        }
    }
}

/// A one-layer vanilla RNN of width `hidden` reading one-hot tokens; readout
/// `W_o·relu(h_t) + b_o` at every position (the benchmark's `make_rnn`). Causal, no dropout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RnnCfg {
    pub hidden: usize,
    pub activation: Activation,
}

/// [`RnnCfg`] plus one stack of `depth` cells of `cell` numbers; the controller reads the top
/// cell, then pushes a value computed from `h_t`, pops or does nothing, with softmax weights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackRnnCfg {
    pub hidden: usize,
    pub activation: Activation,
    /// Numbers per stack cell.
    pub cell: usize,
    /// Cells in the stack (the bottom one falls off on a push).
    pub depth: usize,
}

/// [`RnnCfg`] plus one circular tape of `size` cells of `cell` numbers; the controller reads
/// the cell under the head, writes it, then stays, moves one cell left or right, or jumps by
/// the input length left or right, with softmax weights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapeRnnCfg {
    pub hidden: usize,
    pub activation: Activation,
    /// Numbers per tape cell.
    pub cell: usize,
    /// Cells on the tape.
    pub size: usize,
}
