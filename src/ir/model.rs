//! Model architectures.

pub use super::head::Head;
pub use super::recurrent::{
    Activation, LstmCfg, LstmSeq2seq, LstmStyle, RnnAttention, RnnCfg, StackRnnCfg, TapeRnnCfg,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "snake_case")]
pub enum Arch {
    Transformer(TransformerCfg),
    /// A stacked LSTM (`lstm { layers, hidden, embed }`), the recurrent baseline of the
    /// Chomsky-hierarchy benchmark (Delétang et al. 2023).
    Lstm(LstmCfg),
    /// A vanilla (Elman) RNN, `rnn { hidden, activation }` (Delétang et al. 2023's `rnn`).
    Rnn(RnnCfg),
    /// An RNN controller with a differentiable stack (Joulin & Mikolov 2015; the benchmark's
    /// `stack_rnn`), `stack_rnn { hidden, activation, cell, depth }`.
    StackRnn(StackRnnCfg),
    /// An RNN controller with a differentiable circular tape (the benchmark's `tape_rnn`),
    /// `tape_rnn { hidden, activation, cell, size }`.
    TapeRnn(TapeRnnCfg),
    /// `rasp_compiled { }`: the task's RASP target (`target = rasp P.sop`) compiled to
    /// transformer weights (`crate::rasp_compile`, tracr-style) over the task's alphabet, up to
    /// the split's longest training length, as the starting point of training
    /// (`crate::model::compiled`). Its architecture and weights come from the compiler.
    RaspCompiled(RaspCompiledCfg),
}

/// `rasp_compiled { }` has no settings: the checker fills in what the compiler made of the
/// experiment's task and split (all zero/empty until then), so the IR shows the architecture.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaspCompiledCfg {
    /// The longest input compiled for: the split's longest training length.
    pub max_len: usize,
    /// Residual width.
    pub d: usize,
    /// Rows of the compiled position table (the sink, the program's BOS and the input).
    pub max_pos: usize,
    /// Per layer: each head's (query/key width, value width), and the MLP's hidden units.
    pub layers: Vec<CompiledLayer>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledLayer {
    pub heads: Vec<(usize, usize)>,
    pub hidden: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Bidirectional attention (transduce, tag, classify formats).
    Encoder,
    /// Causal attention (lm format).
    Decoder,
    /// Encoder–decoder (`kind = seq2seq`, the `seq2seq` format): `encoder_layers` bidirectional
    /// blocks over the source, `decoder_layers` causal blocks over the target with
    /// cross-attention to the encoder's output (Vaswani et al. 2017); `layers` is unused.
    /// `cross_attention` picks the decoder's attention over the source ([`super::CrossAttn`]).
    Seq2seq {
        encoder_layers: usize,
        decoder_layers: usize,
        #[serde(default, skip_serializing_if = "super::CrossAttn::is_standard")]
        cross_attention: super::CrossAttn,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// LayerNorm before each sublayer, plus a final LayerNorm.
    Pre,
    /// LayerNorm after each residual sum (Vaswani et al. 2017).
    Post,
    /// The first LayerNorm replaces the residual stream, the second is pre-norm:
    /// `x = LN(x); x = x + Attn(x); x = x + FFN(LN(x))`, plus a final LayerNorm — the block of
    /// Lee et al. 2024 (Grokfast, github ironjr/grokfast, `main.py` `Block.forward`).
    Lee,
}

impl Norm {
    /// Whether a final norm follows the last block when the spec does not say: after pre-norm
    /// and Lee blocks (their residual streams are not normalized at the end), not after
    /// post-norm ones (already normalized).
    pub fn final_norm_default(self) -> bool {
        self != Norm::Post
    }
}

/// The feed-forward nonlinearity of a transformer (`activation = ...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FfnActivation {
    /// max(0, x) (Vaswani et al. 2017).
    #[default]
    Relu,
    /// The exact GELU `x·Φ(x) = x/2·(1 + erf(x/√2))` (Hendrycks & Gimpel 2016), PyTorch's
    /// `nn.GELU()` default (`approximate = 'none'`); Lee et al. 2024's MLP.
    Gelu,
}

impl FfnActivation {
    pub fn is_relu(&self) -> bool {
        *self == FfnActivation::Relu
    }
}

/// How the biases of the attention projections (`attn.qkv`, `attn.out`) start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttnBiasInit {
    /// U(±1/√d), PyTorch's `nn.Linear` init, like every other linear layer here.
    #[default]
    Uniform,
    /// Zero: PyTorch's `nn.MultiheadAttention._reset_parameters` (`in_proj_bias` and
    /// `out_proj.bias` set to 0), which Lee et al. 2024's model uses.
    Zero,
    /// No bias parameters at all: Haiku's `hk.MultiHeadAttention`-style projections with
    /// `with_bias = False`, as the Chomsky-hierarchy benchmark's transformer and Ruoss et al.
    /// 2023's use them.
    None,
}

impl AttnBiasInit {
    pub fn is_uniform(&self) -> bool {
        *self == AttnBiasInit::Uniform
    }
}

/// How the attention projections' weights start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttnWeightInit {
    /// U(±1/√d) for `attn.qkv` and `attn.out`, PyTorch's `nn.Linear` init.
    #[default]
    Uniform,
    /// `nn.MultiheadAttention._reset_parameters`: `xavier_uniform_` on the packed input
    /// projection `(3d, d)`, U(±√(6/(d + 3d))), and `nn.Linear`'s U(±1/√d) on `out_proj`
    /// (Lee et al. 2024's model).
    Xavier,
}

impl AttnWeightInit {
    pub fn is_uniform(&self) -> bool {
        *self == AttnWeightInit::Uniform
    }
}

/// A transformer's positional encoding (`position = ...`). What each one computes, with its
/// paper's definition, is documented in `model::positions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Position {
    None,
    /// Vaswani et al. 2017: sin on the first half of the channels, cos on the second, base 10000.
    Sinusoidal,
    /// `sinusoidal(reversed = true)`: the same table read at the Chomsky-hierarchy benchmark's
    /// ids N, N−1, …, 1 for a sequence of N real tokens (Delétang et al. 2023,
    /// `sinusoid_position_encoding(causal = True)`).
    SinusoidalReversed,
    /// A learned table of `max_len` rows.
    Learned {
        max_len: usize,
    },
    /// Rotary embedding of q and k (Su et al. 2021), rotate-half pairing (GPT-NeoX).
    Rope {
        base: f64,
    },
    /// ALiBi (Press et al. 2022); the symmetric benchmark variant in encoders.
    Alibi,
    /// Transformer-XL relative attention (Dai et al. 2019).
    Relative,
    /// T5 relative position buckets (Raffel et al. 2020).
    T5 {
        buckets: usize,
        max_distance: usize,
    },
    /// Randomized positions (Ruoss et al. 2023): `base` reads T sorted distinct positions drawn
    /// from `[0, max_len)` per forward pass; `eval`: evaluation draws too; `per_layer` (rope,
    /// alibi, relative in encoders): every attention layer draws its own, as the reference code
    /// does (false, omitted from the IR's JSON, by default: see `defaults::RANDOMIZED_PER_LAYER`).
    Randomized {
        base: Box<Position>,
        max_len: usize,
        eval: bool,
        #[serde(default, skip_serializing_if = "is_false")]
        per_layer: bool,
    },
    /// Hard-ALiBi (Jelassi et al. 2024): head h < `masked` sees only the last h + 1 tokens.
    HardAlibi {
        masked: usize,
    },
    /// A learned table of `max_position` rows read at per-token ids from the task (Cho et al.
    /// 2024); `random_start` tells the task format to shift training ids randomly.
    Coupled {
        max_position: usize,
        random_start: bool,
    },
}

impl Position {
    pub fn name(&self) -> String {
        match self {
            Position::None => "none".into(),
            Position::Sinusoidal => "sinusoidal".into(),
            Position::SinusoidalReversed => "sinusoidal(reversed = true)".into(),
            Position::Learned { max_len } => format!("learned(max_len = {max_len})"),
            Position::Rope { base } => format!("rope(base = {base})"),
            Position::Alibi => "alibi".into(),
            Position::Relative => "relative".into(),
            Position::T5 { buckets, max_distance } => format!("t5(buckets = {buckets}, max_distance = {max_distance})"),
            Position::Randomized { base, max_len, eval, per_layer } => {
                let layer = if *per_layer { ", per_layer = true" } else { "" };
                format!("randomized({}, max_len = {max_len}, eval = {eval}{layer})", base.name())
            }
            Position::HardAlibi { masked } => format!("hard_alibi(masked = {masked})"),
            Position::Coupled { max_position, random_start } => {
                format!("coupled(max_position = {max_position}, random_start = {random_start})")
            }
        }
    }

    /// The encoding under a `randomized(...)` wrapper, or itself.
    pub fn base(&self) -> &Position {
        match self {
            Position::Randomized { base, .. } => base,
            p => p,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransformerCfg {
    pub kind: ModelKind,
    pub layers: usize,
    pub d_model: usize,
    pub heads: usize,
    /// Hidden width of the feed-forward block.
    pub ffn: usize,
    pub norm: Norm,
    pub dropout: f64,
    pub position: Position,
    /// Multiply token embeddings by sqrt(d_model) (Vaswani et al.; the Chomsky benchmark does).
    pub embed_scale: bool,
    /// LayerNorm (the default, omitted from the IR's JSON) or RMSNorm.
    #[serde(default, skip_serializing_if = "NormType::is_layer_norm")]
    pub norm_type: NormType,
    /// Standard deviation of the token-embedding init, a normal truncated at ±2σ (Haiku's
    /// `TruncatedNormal`); `None` (omitted from the IR's JSON): N(0, 1) like PyTorch's
    /// `nn.Embedding`. The Chomsky benchmark uses 0.02 (`emb_init_scale`) with `embed_scale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_init: Option<f64>,
    /// The feed-forward nonlinearity (ReLU, the default, is omitted from the IR's JSON).
    #[serde(default, skip_serializing_if = "FfnActivation::is_relu")]
    pub activation: FfnActivation,
    /// A final norm after the last block; `None` (omitted from the IR's JSON): the norm
    /// placement's default, [`Norm::final_norm_default`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_norm: Option<bool>,
    /// Whether the output head has a bias (the default, omitted from the IR's JSON).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub head_bias: bool,
    /// How the attention projections' biases start (uniform, the default, omitted).
    #[serde(default, skip_serializing_if = "AttnBiasInit::is_uniform")]
    pub attn_bias_init: AttnBiasInit,
    /// How the attention projections' weights start (uniform, the default, omitted).
    #[serde(default, skip_serializing_if = "AttnWeightInit::is_uniform")]
    pub attn_weight_init: AttnWeightInit,
    /// The output head (a linear map to the output vocabulary, the default, omitted).
    #[serde(default, skip_serializing_if = "Head::is_vocab")]
    pub head: Head,
}

impl TransformerCfg {
    /// Whether the model ends with a norm layer (`final_norm`, else the placement's default).
    pub fn has_final_norm(&self) -> bool {
        self.final_norm.unwrap_or(self.norm.final_norm_default())
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Which normalization every norm layer of a transformer uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormType {
    /// `(x − mean)/sqrt(var + eps)·g + b` (Ba et al. 2016).
    #[default]
    LayerNorm,
    /// `x/sqrt(mean(x²) + eps)·g`, no bias (Zhang & Sennrich 2019).
    RmsNorm,
}

impl NormType {
    pub fn is_layer_norm(&self) -> bool {
        *self == NormType::LayerNorm
    }
}
